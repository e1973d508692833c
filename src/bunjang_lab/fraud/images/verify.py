"""Second opinion on a hash match: do the two pictures' colour thumbnails line up?

The hashes are searched loosely (a 10% crop or a watermark moves them by up to 20 bits,
as far as unrelated pictures), so every candidate the index returns is checked here. Each
picture keeps a :data:`SIDE` x :data:`SIDE` RGB thumbnail (aspect ignored). A query is
compared with every way of cutting 0 to 10% (in steps of 5%: the nearest is at most 0.4 px off at the compared size) from each side of the
stored thumbnail, as is and mirrored, by normalised cross-correlation of the colour
values at :data:`COMPARE` x :data:`COMPARE`; the best of the 2 x 81 alignments is the
similarity (1 = the same picture). Colour matters: the simulator's pictures share their
layout (one shape on a blurred background) and differ mostly in hue, which greyscale
hashes and greyscale correlation both miss (measurements in ``docs/images.md``).

>>> from PIL import Image, ImageDraw
>>> img = Image.new("RGB", (120, 90), "navy")
>>> ImageDraw.Draw(img).ellipse((20, 10, 90, 70), fill="orange")
>>> cropped = img.crop((12, 0, 120, 90))  # 10% off the left side
>>> other = Image.new("RGB", (120, 90), "orange")
>>> ImageDraw.Draw(other).rectangle((40, 30, 110, 80), fill="navy")
>>> [round(float(s), 2) for s in similarity(thumbnail(cropped), np.stack([thumbnail(img), thumbnail(other)]))]
[1.0, 0.05]
"""

from __future__ import annotations

import numpy as np
from PIL import Image

#: Thumbnail side stored per picture (3 KB as RGB).
SIDE = 32
#: Side at which the aligned thumbnails are compared.
COMPARE = 16
#: Fractions tried as cut off each side of the stored picture (the crops copies may have).
CUTS = (0.0, 0.05, 0.1)
#: Stored pictures compared at once (bounds the working memory to ~30 MB).
CHUNK = 16


def thumbnail(img: Image.Image) -> np.ndarray:
    """The ``SIDE x SIDE x 3`` uint8 thumbnail :func:`similarity` compares."""
    return np.asarray(img.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BOX), dtype=np.uint8)


def similarity(query: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """Best correlation of the ``query`` thumbnail with each of the ``stored`` ones
    (shape ``(k, SIDE, SIDE, 3)``) over crops of up to 10% per side and mirroring."""
    q = np.einsum("nt,tuc,mu->cnm", _FULL, query.astype(np.float32), _FULL)
    probes = _normalise(np.stack([q, q[..., ::-1]]).reshape(2, -1))  # as is and mirrored
    out = np.empty(len(stored), dtype=np.float32)
    for start in range(0, len(stored), CHUNK):
        block = stored[start:start + CHUNK].astype(np.float32)
        rows = np.tensordot(block, _SPANS, axes=([1], [2]))  # k, u, c, y, n
        aligned = np.tensordot(rows, _SPANS, axes=([1], [2]))  # k, c, y, n, x, m
        aligned = aligned.transpose(0, 2, 4, 1, 3, 5).reshape(len(block), len(_SPANS) ** 2, -1)
        out[start:start + CHUNK] = (_normalise(aligned) @ probes.T).max(axis=(1, 2))
    return out


def _normalise(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    return x / (np.sqrt((x * x).sum(axis=-1, keepdims=True)) + 1e-3)


def _resampling(cut_low: float, cut_high: float) -> np.ndarray:
    """``COMPARE x SIDE`` bilinear weights sampling the span ``[cut_low, 1 - cut_high]``."""
    centres = (cut_low + (np.arange(COMPARE) + 0.5) / COMPARE * (1 - cut_low - cut_high)) * SIDE - 0.5
    centres = np.clip(centres, 0, SIDE - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, SIDE - 1)
    weights = np.zeros((COMPARE, SIDE), dtype=np.float32)
    np.add.at(weights, (np.arange(COMPARE), low), 1 - (centres - low))
    np.add.at(weights, (np.arange(COMPARE), high), centres - low)
    return weights


_FULL = _resampling(0.0, 0.0)
_SPANS = np.stack([_resampling(a, b) for a in CUTS for b in CUTS])  # one per (first, last) cut pair
