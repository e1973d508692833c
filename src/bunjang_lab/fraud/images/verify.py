"""Second opinion on a hash match: do the two pictures' colour thumbnails line up?

The hashes are searched loosely (a 10% crop or a watermark moves them by up to 20 bits,
as far as unrelated pictures), so every candidate the index returns is checked here. Each
picture keeps a :data:`SIDE` x :data:`SIDE` RGB thumbnail (aspect ignored). A query is
compared with every way of cutting 0 to 10% (in steps of 5%, then of 2.5% around the
best) from each side of the stored thumbnail, as is and mirrored, by normalised
cross-correlation of the colour values at :data:`COMPARE` x :data:`COMPARE`; the best
alignment's correlation is the similarity (1 = the same picture). At that alignment the
correlation is also taken without the 20% worst-fitting pixels (:data:`TRIM`): a text
overlay or a watermark covers a part of the picture, which this ignores, but so does it
with part of an unrelated picture. What tells the two apart is where the misfit lies
(``overlay_share``, the share of the squared misfit in those worst pixels): an overlay
puts nearly all of it on the pixels it covers (0.93-0.98 on the photographs' overlaid
copies whose hashes disagree), an unrelated picture spreads it (at most 0.76 among the
sample's candidates). Except for one case: two different objects on the same plain
background put all their misfit on the objects, so the other pixels must keep some of
the stored picture's contrast (``kept_contrast``: at least 0.15 for the photographs'
overlaid copies, under 0.05 for objects on white). Colour matters: the simulator's
pictures share their layout (one shape on a blurred background) and differ mostly in
hue, which greyscale hashes and greyscale correlation both miss (measurements in
``docs/images.md``).

>>> from PIL import Image, ImageDraw
>>> img = Image.new("RGB", (120, 90), "navy")
>>> ImageDraw.Draw(img).ellipse((20, 10, 90, 70), fill="orange")
>>> cropped = img.crop((12, 0, 120, 90))  # 10% off the left side
>>> other = Image.new("RGB", (120, 90), "orange")
>>> ImageDraw.Draw(other).rectangle((40, 30, 110, 80), fill="navy")
>>> scores = similarity(thumbnail(cropped), np.stack([thumbnail(img), thumbnail(other)]))
>>> [round(float(s), 2) for s in scores.correlation], round(float(scores.trimmed[0]), 2)
([1.0, 0.05], 1.0)
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
from PIL import Image
from threadpoolctl import ThreadpoolController

#: Thumbnail side stored per picture (3 KB as RGB).
SIDE = 32
#: Side at which the aligned thumbnails are compared.
COMPARE = 16
#: Fractions tried as cut off each side of the stored picture (the crops copies may have).
CUTS = (0.0, 0.05, 0.1)
#: Step of the refinement around the best coarse alignment.
FINE = 0.025
#: Share of the compared pixels (the worst-fitting) left out of the trimmed correlation.
TRIM = 0.2
#: Side of the blocks whose means are the coarse layout :func:`_details` takes away.
BLOCK = 4
#: A thumbnail is monochrome when this share of its colour variance lies on one axis.
MONOCHROME = 0.99


def thumbnail(img: Image.Image) -> np.ndarray:
    """The ``SIDE x SIDE x 3`` uint8 thumbnail :func:`similarity` compares."""
    return np.asarray(img.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BOX), dtype=np.uint8)


class Similarity(NamedTuple):
    """Per stored thumbnail: the best ``correlation`` over the alignments, and at that
    alignment the ``trimmed`` correlation (without the :data:`TRIM` worst-fitting pixels),
    the ``overlay_share`` of the squared misfit those pixels hold, the
    ``kept_contrast``, the share of the stored picture's contrast the other pixels hold,
    and the ``detail`` correlation, of the two without their coarse layout
    (:func:`_details`): look-alike pictures (one shape on a blurred background) share the
    layout, a copy shares the details too."""

    correlation: np.ndarray
    trimmed: np.ndarray
    overlay_share: np.ndarray
    kept_contrast: np.ndarray
    detail: np.ndarray | None = None


def similarity(query: np.ndarray, stored: np.ndarray, boxes: np.ndarray | None = None, grey: bool = False) -> Similarity:
    """How well the ``query`` thumbnail lines up with each of the ``stored`` ones (shape
    ``(k, SIDE, SIDE, 3)``) over crops of up to 10% per side and mirroring; ``boxes``
    (``(k, 4)`` fractions cut off the left, top, right and bottom, optional) first cuts
    each stored thumbnail down to the part a deeper crop of the picture keeps; ``grey``
    compares luminance only (for a :func:`monochrome` query: its colours were filtered away).

    >>> photo = Image.fromarray(np.random.default_rng(1).integers(0, 256, (12, 12, 3), np.uint8)).resize((120, 120))
    >>> lower = photo.crop((0, 36, 120, 120))  # a band drew over the top 30%
    >>> scores = similarity(thumbnail(lower), np.stack([thumbnail(photo)] * 2), np.array([[0, 0, 0, 0], [0, 0.3, 0, 0]]))
    >>> [round(float(s), 2) for s in scores.correlation]
    [0.25, 1.0]
    """
    query, pictures = (_luminance(query) if grey else query.astype(np.float32)), stored.astype(np.float32)
    if grey:
        pictures = _luminance(pictures)
    q = _cuts(query, [(0.0, 0.0)], [(0.0, 0.0)]).reshape(3, COMPARE, COMPARE)
    probes = _normalise(np.stack([q, q[..., ::-1]]).reshape(2, -1))  # as is and mirrored
    out = Similarity(*(np.empty(len(stored), dtype=np.float32) for _ in Similarity._fields))
    # The products are tiny: BLAS threads only spin (5x the CPU time of one thread, measured).
    with _blas().limit(limits=1, user_api="blas"):
        if boxes is not None:
            pictures = np.stack([_boxed(picture, box) if np.any(box) else picture for picture, box in zip(pictures, boxes)])
        for number, picture in enumerate(pictures):
            _, rows, columns = _best_alignment(picture, _COARSE, _COARSE, probes)
            out.correlation[number], rows, columns = _best_alignment(picture, _around(rows), _around(columns), probes)
            trimmed = _trimmed_correlation(picture, rows, columns, probes)
            out.trimmed[number], out.overlay_share[number], out.kept_contrast[number], out.detail[number] = trimmed
    return out


def _trimmed_correlation(picture: np.ndarray, rows, columns, probes) -> tuple[float, float, float, float]:
    """Correlation of ``picture`` cut by (``rows``, ``columns``) with the better of the
    ``probes``, without the :data:`TRIM` share of pixels that fit worst; the share of the
    squared misfit those pixels hold; the share of the picture's contrast the others hold."""
    aligned = _normalise(_cuts(picture, [rows], [columns])[0])
    probe = probes[int(np.argmax(probes @ aligned))]
    misfit = ((aligned - probe) ** 2).reshape(3, -1).sum(axis=0)
    order = np.argsort(misfit)
    keep, worst = order[: round(misfit.size * (1 - TRIM))], order[round(misfit.size * (1 - TRIM)):]
    kept = _normalise(np.stack([aligned.reshape(3, -1)[:, keep].reshape(-1), probe.reshape(3, -1)[:, keep].reshape(-1)]))
    contrast = (aligned.reshape(3, -1) ** 2).sum(axis=0)
    details = _normalise(np.stack([_details(aligned), _details(probe)]))
    return (float(kept[0] @ kept[1]), float(misfit[worst].sum() / (misfit.sum() + 1e-9)),
            float(contrast[keep].sum() / (contrast.sum() + 1e-9)), float(details[0] @ details[1]))


def _details(compared: np.ndarray) -> np.ndarray:
    """A flattened ``(colour, COMPARE, COMPARE)`` picture without its coarse layout: each
    pixel less the mean of its :data:`BLOCK` x :data:`BLOCK` block."""
    blocks = compared.reshape(3, COMPARE // BLOCK, BLOCK, COMPARE // BLOCK, BLOCK)
    return (blocks - blocks.mean(axis=(2, 4), keepdims=True)).reshape(-1)


def _best_alignment(picture: np.ndarray, row_spans, column_spans, probes) -> tuple[float, tuple, tuple]:
    """Best score of ``probes`` against ``picture`` cut by each (row span, column span),
    with the spans that gave it; a span is the (first, last) fractions cut off."""
    scores = (_normalise(_cuts(picture, row_spans, column_spans)) @ probes.T).max(axis=1)
    best = int(scores.argmax())
    return float(scores[best]), row_spans[best // len(column_spans)], column_spans[best % len(column_spans)]


def _cuts(picture: np.ndarray, row_spans, column_spans) -> np.ndarray:
    """``picture`` (y, x, colour) cut by every (row span, column span), row spans outer, each
    resampled to (colour, COMPARE, COMPARE) and flattened."""
    by_rows = np.stack([_resampling(*span) for span in row_spans])
    by_columns = np.stack([_resampling(*span) for span in column_spans])
    rows = np.tensordot(picture, by_rows, axes=([0], [2]))  # x, c, span, n
    aligned = np.tensordot(rows, by_columns, axes=([0], [2]))  # c, row span, n, column span, m
    return aligned.transpose(1, 3, 0, 2, 4).reshape(len(row_spans) * len(column_spans), -1)


def _around(span: tuple[float, float]) -> list[tuple[float, float]]:
    """The spans within one :data:`FINE` step of ``span`` on either end."""
    ends = [sorted({round(min(max(cut + step, 0.0), CUTS[-1]), 4) for step in (-FINE, 0.0, FINE)}) for cut in span]
    return [(first, last) for first in ends[0] for last in ends[1]]


def monochrome(thumb: np.ndarray) -> bool:
    """Whether a thumbnail's colours lie along one line (:data:`MONOCHROME` of their
    variance on the first principal axis): grey, sepia, a tint of grey or nearly no
    saturation left, what a seller's colour filter leaves. Colour photographs have
    0.8-0.985 (the 14 photographs of the benchmark), the sample's pictures at most 0.974.

    >>> photo = np.random.default_rng(0).integers(0, 256, (SIDE, SIDE, 3)).astype(np.uint8)
    >>> sepia = (np.asarray([40, 26, 13]) + photo.mean(axis=2, keepdims=True) / 255 * [215, 214, 179]).astype(np.uint8)
    >>> monochrome(photo), monochrome(sepia)
    (False, True)
    """
    pixels = thumb.reshape(-1, 3).astype(np.float64)
    pixels -= pixels.mean(axis=0)
    variances = np.linalg.eigvalsh(pixels.T @ pixels)
    return bool(variances[-1] >= MONOCHROME * max(variances.sum(), 1e-9))


def _luminance(pictures: np.ndarray) -> np.ndarray:
    """``pictures`` (..., colour) with each colour replaced by the luminance (float32)."""
    grey = pictures.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.repeat(grey[..., None], 3, axis=-1)


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    """The process's thread pools, found once (finding them reads the process's memory
    map: 7 ms, more than verifying a view's candidates)."""
    return ThreadpoolController()


def _boxed(picture: np.ndarray, box) -> np.ndarray:
    """``picture`` (y, x, colour) cut to ``box`` and resampled to its own size again."""
    left, top, right, bottom = (float(v) for v in box)
    rows = np.tensordot(_resampling(top, bottom, SIDE), picture, axes=([1], [0]))  # y, x, colour
    return np.tensordot(rows, _resampling(left, right, SIDE), axes=([1], [1])).transpose(0, 2, 1)


def _normalise(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    return x / (np.sqrt((x * x).sum(axis=-1, keepdims=True)) + 1e-3)


@lru_cache(maxsize=None)
def _resampling(cut_low: float, cut_high: float, size: int = COMPARE) -> np.ndarray:
    """``size x SIDE`` bilinear weights sampling the span ``[cut_low, 1 - cut_high]``."""
    centres = (cut_low + (np.arange(size) + 0.5) / size * (1 - cut_low - cut_high)) * SIDE - 0.5
    centres = np.clip(centres, 0, SIDE - 1)
    low = np.floor(centres).astype(int)
    high = np.minimum(low + 1, SIDE - 1)
    weights = np.zeros((size, SIDE), dtype=np.float32)
    np.add.at(weights, (np.arange(size), low), 1 - (centres - low))
    np.add.at(weights, (np.arange(size), high), centres - low)
    return weights


_COARSE = [(first, last) for first in CUTS for last in CUTS]
