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
#: Candidates aligned at once (150 KB a picture while they are).
BATCH = 64
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
    with _blas().limit(limits=1, user_api="blas"):
        probes, found, aligned = _align(query, stored, boxes, grey, keep_aligned=True)
        return Similarity(found, *_trimmed_correlation(aligned, probes))


def correlation(query: np.ndarray, stored: np.ndarray, grey: bool = False) -> np.ndarray:
    """:attr:`Similarity.correlation` alone (what a hash index verifies its candidates
    with): the search for the best alignment without the figures at that alignment.

    >>> photo, other = np.random.default_rng(2).integers(0, 256, (2, SIDE, SIDE, 3), dtype=np.uint8)
    >>> (correlation(photo[:, ::-1], np.stack([photo, other])) > 0.9).tolist()  # a mirrored copy, another picture
    [True, False]
    """
    with _blas().limit(limits=1, user_api="blas"):
        return _align(query, stored, None, grey, keep_aligned=False)[1]


def _align(query: np.ndarray, stored: np.ndarray, boxes: np.ndarray | None, grey: bool,
           keep_aligned: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The probes (the query as is and mirrored, normalised), each stored picture's best
    correlation with them (see :func:`similarity`) and, with ``keep_aligned``, the
    pictures cut at their best alignment, normalised."""
    query, pictures = (_luminance(query) if grey else query.astype(np.float32)), stored.astype(np.float32)
    if grey:
        pictures = _luminance(pictures)
    if boxes is not None:
        pictures = np.stack([_boxed(picture, box) if np.any(box) else picture for picture, box in zip(pictures, boxes)])
    uncut = np.zeros(1, dtype=np.int64)
    q = _cut(_rows(_planes(query[None]), uncut)[:, 0], uncut).reshape(3, COMPARE, COMPARE)
    probes = _normalise(np.stack([q, q[..., ::-1]]).reshape(2, -1))  # as is and mirrored
    weights = _probe_weights(probes)
    found = np.empty(len(pictures), dtype=np.float32)
    aligned = np.empty((len(pictures), 3 * COMPARE * COMPARE), dtype=np.float32) if keep_aligned else None
    # every candidate at once (one at a time, numpy's calls were most of the time), in
    # batches bounding the memory held (150 KB a picture)
    for start in range(0, len(pictures), BATCH):
        batch = slice(start, start + BATCH)
        found[batch], rows, columns = _best_alignment(pictures[batch], probes, weights)
        if keep_aligned:
            aligned[batch] = _normalise(_cut(rows, columns))
    return probes, found, aligned


def _best_alignment(pictures: np.ndarray, probes: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best correlation of each of ``pictures`` (k, y, x, colour) with the ``probes``:
    the best of the coarse alignments (each side cut by each of :data:`CUTS`), then the
    best of the spans within one :data:`FINE` step of it on either end; with the pictures'
    rows cut by the best row span (:func:`_rows`) and the best column span.

    No alignment is resampled whole: resampling the 162 alignments tried, 768 values each,
    and normalising them was most of the time. Instead the pictures' rows cut by every span
    give the dot products of every (row span, column span) alignment with the probes in
    one product (:func:`_probe_weights`), and their means and norms come from a few sums
    over the pixels (:func:`_span_moments`)."""
    count, picked = len(pictures), np.arange(len(pictures))
    # minus its mean, a picture's alignments keep their correlations (a span's weights sum
    # to 1) and their sums of squares lose what cancels in the norms
    planes = _planes(pictures - pictures.mean(axis=(1, 2, 3), keepdims=True))
    rows = _rows(planes, _EVERY_SPAN)  # k, span, n, colour, x
    products = (rows.reshape(count, len(_EVERY_SPAN), -1) @ weights.T).reshape(count, len(_EVERY_SPAN), -1, len(probes))
    squares, totals = _span_moments(planes)
    values = COMPARE * COMPARE * 3
    means = totals / values
    norms = np.sqrt(np.maximum(squares - values * means * means, 0)) + 1e-3
    correlations = ((products - means[..., None] * probes.sum(axis=1)) / norms[..., None]).max(axis=-1)  # k, row, column
    coarse = correlations[:, _COARSE_SPANS[:, None], _COARSE_SPANS[None, :]].reshape(count, -1).argmax(axis=1)
    row, column = np.divmod(coarse, len(_COARSE_SPANS))
    fine_rows, fine_columns = _fine_spans(_COARSE_SPANS[row]), _fine_spans(_COARSE_SPANS[column])
    fine = correlations[picked[:, None, None], fine_rows[:, :, None], fine_columns[:, None, :]].reshape(count, -1)
    best = fine.argmax(axis=1)
    row, column = fine_rows[picked, best // fine_rows.shape[1]], fine_columns[picked, best % fine_columns.shape[1]]
    return fine[picked, best], rows[picked, row], column


def _planes(pictures: np.ndarray) -> np.ndarray:
    """``pictures`` (k, y, x, colour) as (k, y, colour, x): a row's colours one after the
    other, what every product over the columns runs along."""
    return np.ascontiguousarray(pictures.transpose(0, 1, 3, 2))


def _rows(planes: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Pictures of :func:`_planes` with their rows resampled by each of ``spans`` (indices
    of :data:`_RESAMPLINGS`): (k, spans, COMPARE, colour, x)."""
    matrices = _RESAMPLINGS[spans].reshape(-1, SIDE)
    return (matrices @ planes.reshape(len(planes), SIDE, -1)).reshape(len(planes), len(spans), COMPARE, 3, SIDE)


def _cut(rows: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Rows of :func:`_rows` (k, COMPARE, colour, x), each picture's columns resampled by
    its span of ``spans`` (k): the aligned pictures, (k, colour * COMPARE * COMPARE)."""
    aligned = rows.transpose(0, 2, 1, 3) @ _RESAMPLINGS[spans, None].transpose(0, 1, 3, 2)  # k, colour, n, m
    return aligned.reshape(len(rows), -1)


def _probe_weights(probes: np.ndarray) -> np.ndarray:
    """What a picture's rows (cut by a row span: n, colour, x) are multiplied by to give
    their dot products with each probe once their columns are cut by each column span:
    ``(column spans * probes, COMPARE * 3 * SIDE)``."""
    by_row = probes.reshape(len(probes), 3, COMPARE, COMPARE).transpose(0, 2, 1, 3).reshape(-1, COMPARE)
    # one product per column span, in the layout the rows have: no copy of the 300 KB result
    return (by_row @ _RESAMPLINGS).reshape(len(_RESAMPLINGS) * len(probes), -1)  # span, probe, n, colour, x


def _span_moments(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For pictures of :func:`_planes` cut by every (row span, column span): the sum of
    the squared values and the sum of the values, ``(k, row span, column span)`` each.
    A resampling mixes neighbouring rows (columns) only, so its Gram matrix has a diagonal
    and a first off-diagonal, and the sums of squares come from the sums over the colours
    of each pixel's square and its products with the next pixel down, right and diagonally.
    """
    def products(first, second):
        return np.einsum("kycx,kycx->kyx", first, second)

    own, down = products(planes, planes), products(planes[:, :-1], planes[:, 1:])
    right = products(planes[..., :-1], planes[..., 1:])
    diagonal = products(planes[:, :-1, :, :-1], planes[:, 1:, :, 1:]) + products(planes[:, :-1, :, 1:], planes[:, 1:, :, :-1])
    centre, side = _GRAM_DIAGONAL, _GRAM_NEIGHBOURS
    squares = centre @ own @ centre.T + 2 * (side @ down @ centre.T + centre @ right @ side.T + side @ diagonal @ side.T)
    return squares, _SOURCE_WEIGHTS @ planes.sum(axis=2) @ _SOURCE_WEIGHTS.T


def _fine_spans(coarse: np.ndarray) -> np.ndarray:
    """Per picture, the spans (indices of :data:`_RESAMPLINGS`) within one :data:`FINE` step
    of its best coarse span on either end, first cuts outer: ``(k, 9)``. At the ends of the
    cuts a step is clipped, which repeats a span after its first place: the first best is
    the same span as without repeats."""
    first, last = np.divmod(coarse, len(_STEP_CUTS))
    firsts = np.clip(first[:, None] + _AROUND, 0, len(_STEP_CUTS) - 1)
    lasts = np.clip(last[:, None] + _AROUND, 0, len(_STEP_CUTS) - 1)
    return (firsts[:, :, None] * len(_STEP_CUTS) + lasts[:, None, :]).reshape(len(coarse), -1)


def _trimmed_correlation(aligned: np.ndarray, probes: np.ndarray) -> tuple[np.ndarray, ...]:
    """For each normalised ``aligned`` picture (k, colour * COMPARE * COMPARE): its
    correlation with the better of the ``probes`` without the :data:`TRIM` share of pixels
    that fit worst; the share of the squared misfit those pixels hold; the share of the
    picture's contrast the others hold; the correlation of the two's :func:`_details`."""
    count = len(aligned)
    probe = probes[(aligned @ probes.T).argmax(axis=1)]
    pixels, probe_pixels = aligned.reshape(count, 3, -1), probe.reshape(count, 3, -1)
    misfit = ((pixels - probe_pixels) ** 2).sum(axis=1)
    order = np.argsort(misfit, axis=1)
    cut = round(misfit.shape[1] * (1 - TRIM))
    keep, worst = order[:, None, :cut], order[:, cut:]
    kept = _normalise(np.take_along_axis(pixels, keep, axis=2).reshape(count, -1))
    kept_probe = _normalise(np.take_along_axis(probe_pixels, keep, axis=2).reshape(count, -1))
    contrast = (pixels ** 2).sum(axis=1)
    details, probe_details = _normalise(_details(aligned)), _normalise(_details(probe))
    return ((kept * kept_probe).sum(axis=1),
            np.take_along_axis(misfit, worst, axis=1).sum(axis=1) / (misfit.sum(axis=1) + 1e-9),
            np.take_along_axis(contrast, keep[:, 0], axis=1).sum(axis=1) / (contrast.sum(axis=1) + 1e-9),
            (details * probe_details).sum(axis=1))


def _details(compared: np.ndarray) -> np.ndarray:
    """Flattened ``(colour, COMPARE, COMPARE)`` pictures (k, colour * COMPARE * COMPARE)
    without their coarse layout: each pixel less the mean of its :data:`BLOCK` x
    :data:`BLOCK` block."""
    blocks = compared.reshape(len(compared), 3, COMPARE // BLOCK, BLOCK, COMPARE // BLOCK, BLOCK)
    return (blocks - blocks.mean(axis=(3, 5), keepdims=True)).reshape(len(compared), -1)


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


#: Every cut the alignment tries, as steps of FINE from none to the largest of CUTS.
_STEP_CUTS = np.round(np.arange(round(CUTS[-1] / FINE) + 1) * FINE, 4)
#: The resampling of every span, (first cut, last cut) in steps, first cuts outer:
#: (spans, COMPARE, SIDE); a span is its index here.
_RESAMPLINGS = np.stack([_resampling(float(first), float(last)) for first in _STEP_CUTS for last in _STEP_CUTS])
_EVERY_SPAN = np.arange(len(_RESAMPLINGS))
_COARSE_STEPS = np.searchsorted(_STEP_CUTS, np.round(CUTS, 4))
_COARSE_SPANS = (_COARSE_STEPS[:, None] * len(_STEP_CUTS) + _COARSE_STEPS[None, :]).reshape(-1)
_AROUND = np.arange(-1, 2)  # the fine steps tried around a coarse cut
# what a span's resampling does to sums of squares (its Gram matrix: the diagonal and the
# first off-diagonal, the only ones a resampling between neighbours fills) and to sums (the
# weight of each source row or column)
_GRAMS = np.swapaxes(_RESAMPLINGS, 1, 2) @ _RESAMPLINGS
_GRAM_DIAGONAL = np.ascontiguousarray(np.diagonal(_GRAMS, axis1=1, axis2=2))
_GRAM_NEIGHBOURS = np.ascontiguousarray(np.diagonal(_GRAMS, offset=1, axis1=1, axis2=2))
_SOURCE_WEIGHTS = _RESAMPLINGS.sum(axis=1)
