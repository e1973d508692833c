"""Read text written into a picture: a cheap text-presence test, preprocessing, tesseract.

Tesseract (through :mod:`pytesseract`, Korean plus English, one thread) costs about a
second per picture, so three things keep it affordable:

* :func:`text_likelihood` is a few-millisecond test that skips pictures with no
  text-like strokes (recall and skip rate measured in ``docs/images.md``);
* :class:`OcrCache` stores every result keyed by the SHA-256 of the file, so a picture is
  read once across runs, shards and processes (SQLite, next to the image index);
* :func:`preprocess` turns a phone photo into what tesseract reads best: greyscale,
  small text upscaled, a local (Sauvola) threshold, dark text on a light page.

>>> from PIL import Image
>>> text_likelihood(Image.new("RGB", (300, 200), "skyblue")) < TEXT_THRESHOLD
True
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
from PIL import Image

LANGUAGES = "kor+eng"
#: Raised whenever preprocessing or the tesseract call changes, so cached text is redone.
OCR_VERSION = 1
#: :func:`text_likelihood` above which a picture is read (tuned in docs/images.md).
TEXT_THRESHOLD = 0.5
#: Tesseract reads best with letters 20-40 pixels high: small pictures are upscaled so their
#: longest side reaches this, by at most :data:`MAX_UPSCALE`.
TARGET_SIDE = 1600
MAX_UPSCALE = 3.0


def preprocess(img: Image.Image) -> Image.Image:
    """A black-on-white binary picture for tesseract."""
    from skimage.filters import threshold_sauvola

    gray = img.convert("L")
    scale = min(MAX_UPSCALE, TARGET_SIDE / max(gray.size))
    if scale > 1.05:
        gray = gray.resize((round(gray.width * scale), round(gray.height * scale)), Image.Resampling.LANCZOS)
    pixels = np.asarray(gray, dtype=np.float64)
    window = max(15, (min(pixels.shape) // 20) | 1)  # odd, about a text line high
    ink = pixels < threshold_sauvola(pixels, window_size=window, k=0.2)
    if ink.mean() > 0.5:  # light text on a dark background
        ink = ~ink
    return Image.fromarray(np.where(ink, 0, 255).astype(np.uint8))


def read_text(img: Image.Image, languages: str = LANGUAGES) -> str:
    """The text tesseract finds in ``img`` after :func:`preprocess`, whitespace-collapsed."""
    import pytesseract

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # tesseract's OpenMP would take every core
    raw = pytesseract.image_to_string(preprocess(img), lang=languages, config="--psm 11")
    return " ".join(raw.split())


def text_likelihood(img: Image.Image) -> float:
    """A cheap score of how likely ``img`` contains lines of text; see :data:`TEXT_THRESHOLD`.

    Text is many short, high-contrast strokes side by side: on a small greyscale copy,
    count the rows of 8x32-pixel cells with dense strong horizontal gradients that flip
    sign often, and report the strongest cell's density relative to the threshold.
    """
    gray = img.convert("L")
    gray.thumbnail((640, 640), Image.Resampling.BOX)
    pixels = np.asarray(gray, dtype=np.int16)
    dx = np.diff(pixels, axis=1)
    strong = np.abs(dx) > 40
    rising, falling = strong & (dx > 0), strong & (dx < 0)
    h, w = strong.shape
    ch, cw = 8, 32
    h, w = h - h % ch, w - w % cw
    if not h or not w:
        return 0.0
    def cells(mask):
        return mask[:h, :w].reshape(h // ch, ch, w // cw, cw).mean(axis=(1, 3))
    # both edges of a stroke in the same cell: ink on paper, not a single object boundary
    density = np.minimum(cells(rising), cells(falling))
    return float(np.sort(density.ravel())[-3:].mean() / 0.02)


class OcrCache:
    """Recognised text by file SHA-256, in one SQLite file (safe across processes)."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS ocr (key TEXT PRIMARY KEY, version INTEGER, text TEXT)")

    def get(self, key: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT text FROM ocr WHERE key = ? AND version = ?", (key, OCR_VERSION)).fetchone()
        return row[0] if row else None

    def put(self, key: str, text: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO ocr VALUES (?, ?, ?)", (key, OCR_VERSION, text))

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)


class Reader:
    """Text of a picture: cached, skipped when :func:`text_likelihood` says no text.

    ``read(img, key)`` returns ``(text, how)`` where ``how`` is ``"cache"``, ``"skipped"``
    or ``"ocr"``.
    """

    def __init__(self, cache: OcrCache | None = None, prefilter: bool = True):
        self.cache = cache
        self.prefilter = prefilter

    def read(self, img: Image.Image, key: str | None = None) -> tuple[str, str]:
        if self.cache is not None and key is not None:
            cached = self.cache.get(key)
            if cached is not None:
                return cached, "cache"
        if self.prefilter and text_likelihood(img) < TEXT_THRESHOLD:
            text, how = "", "skipped"
        else:
            text, how = read_text(img), "ocr"
        if self.cache is not None and key is not None:
            self.cache.put(key, text)
        return text, how
