"""Reused photos and text inside images: perceptual hashes, an exact Hamming index, OCR.

``loading`` opens untrusted files safely, ``hashing`` turns a picture into 64-bit
perceptual hashes, ``index`` answers exact Hamming range queries over millions of them,
``ocr`` reads contact details written into a picture, and ``scan`` puts the parts together
into the fraud reasons of ``docs/architecture.md``. See ``docs/images.md``.
"""
