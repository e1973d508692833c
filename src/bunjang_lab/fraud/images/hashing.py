"""64-bit perceptual hashes of a picture, as plain unsigned integers.

Two hashes from :mod:`imagehash` are kept per picture: the pHash (low frequencies of the
DCT, robust to recompression, resizing and brightness) is the one the index searches; the
dHash (signs of horizontal gradients) is a second, independent opinion a match must also
satisfy (see ``docs/images.md``). Both are also computed on the mirrored picture, so a
flipped copy matches, and on crops of the borders, so a copy with its borders cut off matches.
A small colour thumbnail (:func:`~bunjang_lab.fraud.images.verify.thumbnail`) rides along
for the verification of loose hash matches.

>>> from PIL import Image, ImageDraw
>>> img = Image.new("RGB", (64, 48), "white")
>>> ImageDraw.Draw(img).rectangle((10, 10, 40, 30), fill="black")
>>> h = hash_image(img)
>>> hamming(h.phash, hash_image(img.resize((32, 24))).phash) <= 4
True
>>> hamming(h.phash_mirror, hash_image(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)).phash)
0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product

import imagehash
import numpy as np
from PIL import Image

#: The crops (left, top, right, bottom fractions cut off) whose hashes are stored next to
#: the full picture's: every combination of cutting 2.5% or 7.5% from each side, so any
#: crop of up to 10% per side is within 2.5% per side of one of them, which the pHash and
#: dHash mostly tolerate; plus even 5% and 10% crops, the commonest (docs/images.md).
CROP_BOXES = (*product((0.025, 0.075), repeat=4), (0.05,) * 4, (0.1,) * 4)
#: Pictures are shrunk to this many pixels on the longest side before hashing: the hashes
#: look at 32x32 (pHash) and 9x8 (dHash) pixels, so more detail only costs time.
HASH_SIDE = 128


@dataclass(frozen=True)
class ImageHashes:
    """The hashes of one picture; ``crops`` holds (pHash, dHash) of each of :data:`CROP_BOXES`,
    ``thumbnail`` the picture's verification thumbnail (None: cannot be verified)."""

    phash: int
    dhash: int
    phash_mirror: int
    dhash_mirror: int
    crops: tuple[tuple[int, int], ...] = ()
    thumbnail: np.ndarray | None = field(default=None, compare=False, repr=False)

    def stored_variants(self) -> list[tuple[int, int]]:
        """The (pHash, dHash) pairs the index stores for this picture: full, then crops."""
        return [(self.phash, self.dhash), *self.crops]

    def query_variants(self) -> list[tuple[int, int]]:
        """The (pHash, dHash) pairs a query searches with: as is, and mirrored."""
        return [(self.phash, self.dhash), (self.phash_mirror, self.dhash_mirror)]


def hash_image(img: Image.Image, crops: tuple[tuple[float, float, float, float], ...] = CROP_BOXES) -> ImageHashes:
    """The hashes of an RGB or greyscale picture (see :class:`ImageHashes`)."""
    from bunjang_lab.fraud.images.verify import thumbnail

    gray = img.convert("L")
    if max(gray.size) > HASH_SIDE:
        gray = gray.copy()
        gray.thumbnail((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX)
    mirrored = gray.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return ImageHashes(
        *_pair(gray),
        *_pair(mirrored),
        crops=tuple(_pair(crop(gray, box)) for box in crops),
        thumbnail=thumbnail(img),
    )


def crop(img: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    """``img`` without the given fractions of its width and height on the left, top,
    right and bottom."""
    width, height = img.size
    left, top, right, bottom = box
    return img.crop((round(width * left), round(height * top), width - round(width * right), height - round(height * bottom)))


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes.

    >>> hamming(0b1011, 0b0001)
    2
    """
    return (int(a) ^ int(b)).bit_count()


def to_int(hash_: imagehash.ImageHash) -> int:
    """An 8x8 :class:`imagehash.ImageHash` as an unsigned 64-bit integer (row-major, MSB first)."""
    return int.from_bytes(np.packbits(hash_.hash.reshape(-1)).tobytes(), "big")


def to_hex(value: int) -> str:
    """The 16-digit hex form used in files and JSON (``imagehash.hex_to_hash`` reads it)."""
    return f"{int(value):016x}"


def _pair(gray: Image.Image) -> tuple[int, int]:
    return to_int(imagehash.phash(gray)), to_int(imagehash.dhash(gray))
