"""Where the photo lies in a picture that has more than the photo: frames, caption bands,
the page of a screenshot, the other cells of a collage.

A seller's additions are *flat*: a frame, a band, the background of an app's page and the
gap of a collage are one colour (text and buttons on them are thin or one colour too),
and a fitted-to-square picture's blurred margins are smooth. A photograph's rows are
not. So:

* :func:`content_boxes` peels rows and columns off each side while they are flat (most
  pixels of one colour, or nearly all pixels without a strong step to their
  neighbours) or lie between flat lines of one colour (letters and buttons on a band),
  which removes frames, caption bands, status and app
  bars, the text and buttons under a screenshot's photo, and blurred margins. Rows
  first then columns, and columns first then rows: which comes first matters (a column
  through a screenshot's photo is mostly page), and both orders together turn with
  the picture, so a rotated copy is cut like its original;
* :func:`collage_cells` splits what is left along straight seams: a flat line across the
  whole box (a gap) or a step between two columns or rows that runs along most of it
  (two photos butted together), twice at most, so 2 to 4 cells.

The matcher hashes every region found, as well as the whole picture, and the index
stores the content box of every picture beside its full frame, so a photo on a plain
background, whose own margins are peeled off too, is cut the same way on both sides.
Everything runs on a copy of at most :data:`WORK_SIDE` pixels (about 2 ms).

>>> from PIL import Image, ImageOps
>>> photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (120, 200, 3), dtype=np.uint8))
>>> framed = ImageOps.expand(photo, border=(20, 10, 20, 40), fill="white")
>>> [[round(v, 2) for v in box] for box in content_boxes(framed)]
[[0.08, 0.05, 0.92, 0.77]]
>>> pair = Image.new("RGB", (410, 120), "black")
>>> pair.paste(photo, (0, 0)); pair.paste(photo.rotate(180), (210, 0))
>>> [[round(v, 2) for v in cell] for cell in collage_cells(pair)]
[[0.0, 0.0, 0.48, 1.0], [0.52, 0.0, 1.0, 1.0]]
"""

from __future__ import annotations

import numpy as np
from PIL import Image

Box = tuple[float, float, float, float]  # left, top, right, bottom as fractions of the picture

#: Side of the working copy the regions are found on.
WORK_SIDE = 128
#: Colour distance (largest channel difference) within which a pixel has its line's colour.
SAME_COLOUR = 24
#: Stricter: what a drawn band or page is (JPEG noise aside), for the edge-bound peeling.
EXACT_COLOUR = 10
EXACT_SHARE = 0.85
#: A line is flat when at least this share of its pixels has its dominant colour ...
DOMINANT_SHARE = 0.6
#: ... or when this share has no step above :data:`SMOOTH_STEP` to its neighbours (blur).
SMOOTH_SHARE = 0.97
SMOOTH_STEP = 6
#: Lines that are not flat still belong to a band when a flat line of the band's colour
#: follows within this share of the lines (letters on a caption band, buttons on a page).
BAND_GAP = 0.2
#: A region is kept when it spans at least this share of the picture's width and height.
MIN_SPAN = 0.15
#: A seam between butted photos: a step above :data:`SEAM_STEP` along this share of the
#: line, at least :data:`SEAM_CONTRAST` times as often as along the lines beside it.
SEAM_SHARE = 0.6
SEAM_STEP = 20
SEAM_CONTRAST = 3.0
#: Seams are searched between these shares of the box (cells are not slivers).
SEAM_RANGE = (0.2, 0.8)
#: Boxes closer than this on every side are the same region.
SAME_BOX = 0.02


def shrunk(img: Image.Image, mode: str, side: int) -> Image.Image:
    """``img`` in ``mode``, box-filtered down to at most ``side`` pixels a side."""
    small = img.convert(mode)
    if max(small.size) > side:
        small = small.copy()
        small.thumbnail((side, side), Image.Resampling.BOX)
    return small


def working_copy(img: Image.Image) -> np.ndarray:
    """``img`` as an int16 RGB array of at most :data:`WORK_SIDE` pixels a side."""
    return np.asarray(shrunk(img, "RGB", WORK_SIDE), dtype=np.int16)


def content_boxes(img: Image.Image | np.ndarray, to_edge: bool = False) -> list[Box]:
    """The boxes left once flat lines are peeled off every side, rows first and columns
    first (one box when both agree; none when nothing is flat or less than
    :data:`MIN_SPAN` would be left); ``to_edge``: see :func:`_flat_run`."""
    pixels = working_copy(img) if isinstance(img, Image.Image) else img
    height, width = pixels.shape[:2]
    boxes: list[Box] = []
    for rows_first in (True, False):
        top, bottom, left, right = _peel(pixels, (0, height, 0, width), rows_first, to_edge)
        box = (left / width, top / height, right / width, bottom / height)
        if _spans(box) and not _same(box, (0.0, 0.0, 1.0, 1.0)) and not any(_same(box, b) for b in boxes):
            boxes.append(box)
    return boxes


def collage_cells(img: Image.Image | np.ndarray, depth: int = 2) -> list[Box]:
    """The cells of a collage (after peeling its outer frame), each peeled again; empty
    when no seam is found."""
    pixels = working_copy(img) if isinstance(img, Image.Image) else img
    height, width = pixels.shape[:2]
    outer = _peel(pixels, (0, height, 0, width), True)
    if outer[1] - outer[0] < 16 or outer[3] - outer[2] < 16:
        return []
    cells = _split(pixels, outer, depth)
    if len(cells) < 2:
        return []
    out = []
    for cell in cells:
        top, bottom, left, right = _peel(pixels, cell, True)
        box = (left / width, top / height, right / width, bottom / height)
        if _spans(box):
            out.append(box)
    return out


def photo_regions(img: Image.Image) -> list[Box]:
    """The content boxes (peeled to the flat lines' end, and to the last edge among them)
    and the collage cells of ``img``, without the whole picture and without repeats: the
    extra regions a query is matched with."""
    pixels = working_copy(img)
    found: list[Box] = []
    for box in [*content_boxes(pixels), *content_boxes(pixels, to_edge=True), *collage_cells(pixels)]:
        if not _same(box, (0.0, 0.0, 1.0, 1.0)) and not any(_same(box, b) for b in found):
            found.append(box)
    return found


def cut(img: Image.Image, box: Box) -> Image.Image:
    """The part of ``img`` inside the fractional ``box``."""
    left, top, right, bottom = box
    return img.crop((round(left * img.width), round(top * img.height), round(right * img.width), round(bottom * img.height)))


def _same(a: Box, b: Box) -> bool:
    return all(abs(x - y) <= SAME_BOX for x, y in zip(a, b))


def _spans(box: Box) -> bool:
    return box[2] - box[0] >= MIN_SPAN and box[3] - box[1] >= MIN_SPAN


def _peel(pixels: np.ndarray, box: tuple[int, int, int, int], rows_first: bool,
          to_edge: bool = False) -> tuple[int, int, int, int]:
    """``box`` (top, bottom, left, right) without its flat rows and columns, peeled in two
    rounds (a caption band outside a frame, or a frame outside a band)."""
    top, bottom, left, right = box
    for _ in range(2):
        for rows in ((True, False) if rows_first else (False, True)):
            if bottom - top < 2 or right - left < 2:
                return top, top, left, left
            region = pixels[top:bottom, left:right]
            lines = region if rows else region.transpose(1, 0, 2)
            head, tail = _flat_run(lines, to_edge), _flat_run(lines[::-1], to_edge)
            if rows:
                top, bottom = top + head, max(top + head, bottom - tail)
            else:
                left, right = left + head, max(left + head, right - tail)
    return top, bottom, left, right


def _flat_run(lines: np.ndarray, to_edge: bool = False) -> int:
    """How many of ``lines`` (line, pixel, colour), from the first on, are flat or lie
    inside a flat band (see the module doc); with ``to_edge``, only lines of exactly one
    colour (:data:`EXACT_COLOUR`, :data:`EXACT_SHARE`: what a frame, a band or an app's
    page is, and a photo's sky or wall rarely is) and up to the last step of
    :data:`SEAM_STEP` along :data:`SEAM_SHARE` of the line among them, where they meet
    the photo."""
    dominant = np.median(lines, axis=1)
    tolerance, share = (EXACT_COLOUR, EXACT_SHARE) if to_edge else (SAME_COLOUR, DOMINANT_SHARE)
    one_colour = (np.abs(lines - dominant[:, None]).max(axis=2) <= tolerance).mean(axis=1) >= share
    steps = np.abs(np.diff(lines, axis=1)).max(axis=2) <= SMOOTH_STEP
    smooth = steps.mean(axis=1) >= SMOOTH_SHARE if steps.shape[1] and not to_edge else np.zeros(len(lines), bool)
    gap = max(3, int(BAND_GAP * len(lines)))
    band, peeled = None, 0
    for number in range(len(lines)):
        if one_colour[number] and (band is None or number == peeled or _close(dominant[number], band)):
            band, peeled = dominant[number], number + 1  # letters on a band end where it shows again
        elif smooth[number] and number == peeled:
            band, peeled = None, number + 1  # a blurred margin has no colour of its own
        elif band is None or number - peeled >= gap:
            break
    if to_edge and peeled:
        strong = (np.abs(np.diff(lines[:peeled + 1], axis=0)).max(axis=2) > SEAM_STEP).mean(axis=1) >= SEAM_SHARE
        edges = np.flatnonzero(strong)
        return int(edges[-1]) + 1 if len(edges) else 0
    return peeled


def _close(colour: np.ndarray, other: np.ndarray) -> bool:
    return bool(np.abs(colour - other).max() <= SAME_COLOUR)


def _split(pixels: np.ndarray, box: tuple[int, int, int, int], depth: int) -> list[tuple[int, int, int, int]]:
    """``box`` (top, bottom, left, right) split along its strongest seam, recursively."""
    top, bottom, left, right = box
    if depth == 0 or bottom - top < 16 or right - left < 16:
        return [box]
    region = pixels[top:bottom, left:right]
    for axis in (1, 0):  # columns first: side-by-side collages are the commonest
        seam = _seam(region if axis == 1 else region.transpose(1, 0, 2))
        if seam is None:
            continue
        first, second = seam
        if axis == 1:
            parts = [(top, bottom, left, left + first), (top, bottom, left + second, right)]
        else:
            parts = [(top, top + first, left, right), (top + second, bottom, left, right)]
        return [cell for part in parts for cell in _split(pixels, part, depth - 1)]
    return [box]


def _seam(region: np.ndarray) -> tuple[int, int] | None:
    """Where ``region`` (row, column, colour) splits between two columns: a run of flat
    columns (a gap; returns its first and past-the-last column) or a single column step
    along most of the height; None when there is neither within :data:`SEAM_RANGE`."""
    width = region.shape[1]
    low, high = int(SEAM_RANGE[0] * width), int(SEAM_RANGE[1] * width)
    columns = region.transpose(1, 0, 2)
    dominant = np.median(columns, axis=1, keepdims=True)
    gap = (np.abs(columns - dominant).max(axis=2) <= SAME_COLOUR).mean(axis=1) >= 0.97
    gap_columns = np.flatnonzero(gap[low:high]) + low
    if len(gap_columns):
        middle = gap_columns[np.argmin(np.abs(gap_columns - width / 2))]
        first = middle
        while first > 0 and gap[first - 1]:
            first -= 1
        last = middle
        while last + 1 < width and gap[last + 1]:
            last += 1
        return int(first), int(last) + 1
    steps = (np.abs(np.diff(region, axis=1)).max(axis=2) > SEAM_STEP).mean(axis=0)  # per column boundary
    if len(steps) < 5:
        return None
    around = np.maximum(np.roll(steps, 2), np.roll(steps, -2))
    candidates = [x for x in range(max(low, 2), min(high, len(steps) - 2))
                  if steps[x] >= SEAM_SHARE and steps[x] >= SEAM_CONTRAST * max(around[x], 0.05)]
    if not candidates:
        return None
    best = max(candidates, key=lambda x: steps[x])
    return best + 1, best + 1
