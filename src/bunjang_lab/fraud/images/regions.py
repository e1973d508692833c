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
* :func:`band_boxes` peels only the rows, only the columns, or each once: a flat or dark
  photo (the moon, a night sky) is one colour along its edges too, and peeling both ways
  twice cuts into it;
* :func:`colour_boxes` peels each side by its border's colour (a line of exactly one
  colour, then the lines of that colour or with letters and buttons on it): it stops
  where the photo begins even when the photo is flat or dark too (the rocket's night
  under a grey band, a fundus photo's black corners under a red one), as long as the
  photo is not the band's own colour; when it is (a night sky on a dark page), where
  every line has marks (stars) for longer than letters run;
* :func:`centred_box` finds a photo centred on a square of its own blurred copy (what
  apps do to post a photo uncut), by the pair of lines at the same distance from both
  ends where the sharp photo meets the blur, and :func:`blurred_surround` side by side
  (the blurred margins' lines are smooth along their length; or the photo's edge steps
  out of them), on the whole picture and inside each peeled box (a caption band over
  such a square leaves the photo off centre);
* :func:`collage_cells` splits the picture along straight seams at a half or a third of
  it (collage apps use grids of equal cells): a run of flat lines (a gap) or a line
  where neighbouring pixels stop being alike (two photos butted together, also when the
  seam falls between two pixels of the working copy or beside a busy photo: the step is
  weighed against the calmer side's lines), then each part along the other
  axis, so 2 to 4 cells (3 to 6 for rows of three), each also peeled by its gap's colour.

Every region is cut one working line inside its edges (:func:`_inset`): a line of a band
or gap left in a region spoils the verification of a dark photo, a line of the photo
left out is a crop the verification aligns.

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
[[0.0, 0.0, 0.49, 1.0], [0.51, 0.0, 1.0, 1.0]]
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
#: A frame or band meets the photo where a step above :data:`SEAM_STEP` runs along this
#: share of the line.
SEAM_SHARE = 0.6
SEAM_STEP = 20
#: Two photos butted together: neighbouring lines differ on average by :data:`SEAM_STEP`
#: and this many times more than the neighbouring lines around them do.
SEAM_CONTRAST = 3.0
#: The margins of a photo centred on its blurred copy are looked for up to this share of the side.
CENTRED_MARGIN = 0.3
#: A blurred margin's neighbouring pixels differ by at most this much on average along
#: its lines (on the working copy: 1-2; a photo's lines 4 and more).
BLUR_STEP = 3
#: Collage seams are looked for at these fractions of a box, give or take GRID_SLACK.
GRID = (1 / 2, 1 / 3, 2 / 3)
GRID_SLACK = 0.04
#: A collage's gap is at most this share of the side (12 px between cells of 220+ px).
GAP_WIDTH = 0.06
#: Boxes closer than this share of their side on every side are the same region.
SAME_BOX = 0.02
#: Letters on a band or a page, buttons on a page, leave at least this share of their
#: line in the band's colour (large Hangul captions: 30-60%; the edges of two buttons side by side: 16%).
LETTERED_SHARE = 0.1
#: A line of a band or page without letters has at least this share in its colour; a
#: photo as dark as its page has marks (stars) on every line.
CLEAN_SHARE = 0.99
#: Rounds of peeling by colour: a band outside a frame, a frame of two colours.
COLOUR_ROUNDS = 3


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


def band_boxes(img: Image.Image | np.ndarray) -> list[Box]:
    """The boxes left once only the rows, or only the columns, are peeled to the edge, or
    each once: bands over and under a photo (or beside a turned one) whose other sides
    are the photo's own or a frame's, which a second round of peeling would cut into when
    the photo is flat along them (the moon's grey, a night sky)."""
    pixels = working_copy(img) if isinstance(img, Image.Image) else img
    height, width = pixels.shape[:2]
    boxes: list[Box] = []
    for rows_first in (True, False):
        for both in (False, True):
            top, bottom, left, right = _peel(pixels, (0, height, 0, width), rows_first, to_edge=True, both=both, rounds=1)
            box = (left / width, top / height, right / width, bottom / height)
            if _spans(box) and not _same(box, (0.0, 0.0, 1.0, 1.0)) and not any(_same(box, b) for b in boxes):
                boxes.append(box)
    return boxes


def collage_cells(img: Image.Image | np.ndarray) -> list[Box]:
    """The cells of a collage, each without what is left of its gap or frame; empty when no
    seam is found. Collage apps lay photos out on a grid of equal cells (side by side,
    stacked, 2x2, three in a row, one big and two small), so seams are looked for at a
    half or a third of the picture, where a run of flat lines (a gap) or a line where
    neighbouring pixels stop being alike (two photos butted together) lies; then in
    each part along the other axis. Both the parts and their cells are returned, for
    columns first and for rows first."""
    pixels = working_copy(img) if isinstance(img, Image.Image) else img
    height, width = pixels.shape[:2]
    whole = (0, height, 0, width)
    cells = []
    for columns in (True, False):  # both orders: a false seam across one axis loses no cell
        parts = _grid_split(pixels, whole, columns)
        if len(parts) > 1:
            cells += parts + [cell for part in parts for cell in _grid_split(pixels, part, not columns)]
    out: list[Box] = []
    for cell in cells:  # as cut, and without what is left of a gap or frame around it
        for top, bottom, left, right in (cell, _peel(pixels, cell, True, to_edge=True), _peel_colour(pixels, cell, True)):
            box = (left / width, top / height, right / width, bottom / height)
            if _spans(box) and not any(_same(box, b) for b in out):
                out.append(box)
    return out


def colour_boxes(img: Image.Image | np.ndarray) -> list[Box]:
    """The boxes left once each side's additions are peeled off *by their colour*: from
    a border line of exactly one colour inwards, the lines of that colour and the lines
    with letters or buttons on it (:data:`LETTERED_SHARE` of the line at least, another
    line of the colour within :data:`BAND_GAP`), in rounds (a band outside a frame, a
    frame of two colours), rows first and columns first; the box after the first round
    and after the last (the whole picture when nothing peels). Unlike the flatness of :func:`content_boxes`, the colour stops at
    a photo that is flat or dark too (the moon, a night sky, a fundus photo's black
    corners) as long as it is not the band's colour, and captions whose letters fill most
    of a line (the line's median is the letters') stay in their band."""
    pixels = working_copy(img) if isinstance(img, Image.Image) else img
    height, width = pixels.shape[:2]
    boxes: list[Box] = []
    for rows_first in (True, False):
        box, first = (0, height, 0, width), None
        for _ in range(COLOUR_ROUNDS):
            peeled = _peel_colour(pixels, box, rows_first)
            if peeled == box:
                break
            box, first = peeled, first or peeled
        # nothing peeled: the whole picture, which photo_regions cuts a line inside (a
        # border thinner than a working line, a collage's outer gap)
        for top, bottom, left, right in {first, box} - {None}:
            found = (left / width, top / height, right / width, bottom / height)
            if _spans(found) and not any(_same(found, b) for b in boxes):
                boxes.append(found)
    return boxes


def blurred_surround(img: Image.Image | np.ndarray) -> list[Box]:
    """The photo an app put on its own blurred, enlarged copy, found side by side (a
    caption band drawn over the square, or a photo not centred, leaves the margins
    unequal, which :func:`centred_box` needs; and a photo whose edge is as soft as the
    blur has no step there): on each side, the lines from the border whose neighbouring
    pixels differ by at most :data:`BLUR_STEP` on average (blurred), up to
    :data:`CENTRED_MARGIN` of the side; a second box, the line where the photo's edge
    steps out of the blur (:func:`_seam_from_border`); a third, the deeper of the two on
    each side. Empty when no side has either."""
    pixels = working_copy(img) if isinstance(img, Image.Image) else img
    by_blur, by_step = [], []
    for lines in (pixels, pixels.transpose(1, 0, 2)):  # rows, then columns
        count, limit = len(lines), int(CENTRED_MARGIN * len(lines))
        along = np.abs(np.diff(lines, axis=1)).max(axis=2).mean(axis=1) if lines.shape[1] > 1 else np.zeros(count)
        across = np.abs(np.diff(lines, axis=0)).max(axis=2).mean(axis=1)  # between line i and i + 1
        for smooth, change in ((along, across), (along[::-1], across[::-1])):  # from the near border, then the far one
            sharp = np.flatnonzero(smooth[:limit] > BLUR_STEP)
            margin = int(sharp[0]) if len(sharp) else 0
            by_blur.append(margin / count if margin >= 2 else 0.0)
            by_step.append(_seam_from_border(change, limit) / count)
    boxes: list[Box] = []
    # per side, the deeper of the two (a blurred petal is too sharp for the first on one
    # side, a soft edge too weak for the second on the other)
    deeper = [max(blur, step) for blur, step in zip(by_blur, by_step)]
    for top, bottom, left, right in (by_blur, by_step, deeper):
        box = (left, top, 1 - right, 1 - bottom)
        if any((top, bottom, left, right)) and _spans(box) and not any(_same(box, b) for b in boxes):
            boxes.append(box)
    return boxes


def _seam_from_border(change: np.ndarray, limit: int) -> int:
    """The line, up to ``limit`` from the border, where neighbouring lines differ most
    (``change``: between line i and i + 1), by :data:`SEAM_STEP` and
    :data:`SEAM_CONTRAST` times more than the lines between it and the border do (a
    blurred margin: alike, though the photo's soft edge may be too); 0 when none does."""
    best, margin = 0.0, 0
    for k in range(2, limit):
        if change[k - 1] >= SEAM_STEP and change[k - 1] >= SEAM_CONTRAST * (change[:k - 1].mean() + 1) and change[k - 1] > best:
            best, margin = change[k - 1], k
    return margin


def centred_box(img: Image.Image | np.ndarray) -> list[Box]:
    """The photo an app centred on a square of its own blurred, enlarged copy: on each
    axis, the pair of lines at the same distance from both ends (up to
    :data:`CENTRED_MARGIN` of the side) where neighbouring lines differ most, at least
    :data:`SEAM_CONTRAST` times more than the lines outside them do (blurred: alike).
    Empty when neither axis has such margins."""
    pixels = working_copy(img) if isinstance(img, Image.Image) else img
    margins = []
    for lines in (pixels, pixels.transpose(1, 0, 2)):  # rows, then columns
        count = len(lines)
        change = np.abs(np.diff(lines, axis=0)).max(axis=2).mean(axis=1)  # between line i and i + 1
        best, margin = 0.0, 0
        for k in range(2, int(CENTRED_MARGIN * count)):
            edge = min(change[k - 1], change[count - 1 - k])
            outside = np.concatenate([change[:k - 1], change[count - k:]]).mean()
            if edge >= SEAM_STEP and edge >= SEAM_CONTRAST * (outside + 1) and edge > best:
                best, margin = edge, k
        margins.append(margin / count)
    (top, left) = margins
    if not top and not left:
        return []
    return [(left, top, 1 - left, 1 - top)]


def photo_regions(img: Image.Image) -> list[Box]:
    """The content boxes (peeled to the flat lines' end, to the last edge among them, and
    by the borders' colours), the photos on their blurred copies, and the collage cells
    of ``img``, each a working line inside its edges, without the whole picture and
    without repeats: the extra regions a query is matched with."""
    pixels = working_copy(img)
    peeled = [*content_boxes(pixels), *content_boxes(pixels, to_edge=True), *band_boxes(pixels), *colour_boxes(pixels)]
    # a caption band over a photo centred on its blurred copy: the centring shows once the band is off
    centred = [_inside(outer, inner) for outer in peeled
               for inner in [*centred_box(_pixels_in(pixels, outer)), *blurred_surround(_pixels_in(pixels, outer))]]
    found: list[Box] = []
    for box in [*peeled, *centred_box(pixels), *blurred_surround(pixels), *centred, *collage_cells(pixels)]:
        box = _inset(box, *pixels.shape[:2])
        if not _same(box, (0.0, 0.0, 1.0, 1.0)) and not any(_same(box, b) for b in found):
            found.append(box)
    return found


def _inset(box: Box, height: int, width: int) -> Box:
    """``box`` one working line inside each side: the regions are found at
    :data:`WORK_SIDE` pixels, so an edge may keep a line of the band, page or collage
    gap (a 4 px gap is less than a working line), which on a dark or flat photo is much
    of the region's contrast (a listing screenshot's white line under the rocket's
    night: correlation 0.87), while a line of the photo left out is a crop the
    verification's alignment makes up for."""
    left, top, right, bottom = box
    return left + 1 / width, top + 1 / height, right - 1 / width, bottom - 1 / height


def cut(img: Image.Image, box: Box) -> Image.Image:
    """The part of ``img`` inside the fractional ``box``."""
    left, top, right, bottom = box
    return img.crop((round(left * img.width), round(top * img.height), round(right * img.width), round(bottom * img.height)))


def _pixels_in(pixels: np.ndarray, box: Box) -> np.ndarray:
    height, width = pixels.shape[:2]
    return pixels[round(box[1] * height):round(box[3] * height), round(box[0] * width):round(box[2] * width)]


def _inside(outer: Box, inner: Box) -> Box:
    """``inner`` (fractions of ``outer``) as fractions of the whole picture."""
    width, height = outer[2] - outer[0], outer[3] - outer[1]
    return (outer[0] + inner[0] * width, outer[1] + inner[1] * height, outer[0] + inner[2] * width, outer[1] + inner[3] * height)


def _same(a: Box, b: Box) -> bool:
    """Whether the boxes differ by at most :data:`SAME_BOX` of the narrower one's side on
    every side (a collage cell's gap is a few percent of the cell: peeled, it is another
    region)."""
    width, height = min(a[2] - a[0], b[2] - b[0]), min(a[3] - a[1], b[3] - b[1])
    return all(abs(x - y) <= SAME_BOX * side for x, y, side in zip(a, b, (width, height, width, height)))


def _spans(box: Box) -> bool:
    return box[2] - box[0] >= MIN_SPAN and box[3] - box[1] >= MIN_SPAN


def _peel(pixels: np.ndarray, box: tuple[int, int, int, int], rows_first: bool,
          to_edge: bool = False, both: bool = True, rounds: int = 2) -> tuple[int, int, int, int]:
    """``box`` (top, bottom, left, right) without its flat rows and columns (only the
    first of them unless ``both``), peeled in ``rounds`` rounds (two: a caption band
    outside a frame, or a frame outside a band)."""
    top, bottom, left, right = box
    for _ in range(rounds):
        for rows in ((True, False) if rows_first else (False, True))[:2 if both else 1]:
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
    the photo (without such a step: the run of one-colour lines from the border)."""
    gap = max(3, int(BAND_GAP * len(lines)))
    band, peeled = None, 0
    for number, (dominant, one_colour, smooth) in enumerate(_line_figures(lines, to_edge)):
        if one_colour and (band is None or number == peeled or _close(dominant, band)):
            band, peeled = dominant, number + 1  # letters on a band end where it shows again
        elif smooth and number == peeled:
            band, peeled = None, number + 1  # a blurred margin has no colour of its own
        elif band is None or number - peeled >= gap:
            break
    if to_edge and peeled:
        strong = (np.abs(np.diff(lines[:peeled + 1], axis=0)).max(axis=2) > SEAM_STEP).mean(axis=1) >= SEAM_SHARE
        # a dark or flat photo (a night sky, the moon) is one colour too, so the run can
        # cross it to the far side's frame: an addition on one side covers less than half
        edges = np.flatnonzero(strong[:len(lines) // 2])
        if len(edges):
            return int(edges[-1]) + 1
        # no step along most of the line (a dark frame beside a photo dark along much of
        # its edge): the frame is the run of one-colour lines from the border
        return next((number for number, (_, one_colour, _) in enumerate(_line_figures(lines, to_edge))
                     if not one_colour), 0)
    return peeled


def _line_figures(lines: np.ndarray, to_edge: bool):
    """Each line's dominant colour, whether it is of one colour and whether it is smooth
    (:func:`_flat_run`), from the first line on. Worked out in chunks that double, since
    most runs end at the first few lines (four in five at the first) of a picture's ~90."""
    tolerance, share = (EXACT_COLOUR, EXACT_SHARE) if to_edge else (SAME_COLOUR, DOMINANT_SHARE)
    start, size = 0, 8
    while start < len(lines):
        chunk = lines[start:start + size]
        dominant = np.median(chunk, axis=1)
        one_colour = (np.abs(chunk - dominant[:, None]).max(axis=2) <= tolerance).mean(axis=1) >= share
        steps = np.abs(np.diff(chunk, axis=1)).max(axis=2) <= SMOOTH_STEP
        smooth = steps.mean(axis=1) >= SMOOTH_SHARE if steps.shape[1] and not to_edge else np.zeros(len(chunk), bool)
        yield from zip(dominant, one_colour, smooth)
        start, size = start + size, 2 * size


def _peel_colour(pixels: np.ndarray, box: tuple[int, int, int, int], rows_first: bool) -> tuple[int, int, int, int]:
    """``box`` (top, bottom, left, right) without the lines of each border's colour
    (:func:`_colour_run`), rows then columns or the reverse."""
    top, bottom, left, right = box
    for rows in ((True, False) if rows_first else (False, True)):
        if bottom - top < 2 or right - left < 2:
            return top, top, left, left
        region = pixels[top:bottom, left:right]
        lines = region if rows else region.transpose(1, 0, 2)
        head, tail = _colour_run(lines), _colour_run(lines[::-1])
        if rows:
            top, bottom = top + head, max(top + head, bottom - tail)
        else:
            left, right = left + head, max(left + head, right - tail)
    return top, bottom, left, right


def _colour_run(lines: np.ndarray) -> int:
    """How many of ``lines`` (line, pixel, colour), from the first on, are the first
    line's colour (:data:`EXACT_COLOUR` on :data:`EXACT_SHARE` of the line) or carry
    letters on it (:data:`LETTERED_SHARE`) before another line of it, and before a
    stretch of :data:`BAND_GAP` lines none of them clean (:data:`CLEAN_SHARE`: a photo as
    dark as its page); 0 when the first line is not of one colour (the photo reaches the
    border)."""
    colour = np.median(lines[0], axis=0)
    share = (np.abs(lines - colour).max(axis=2) <= EXACT_COLOUR).mean(axis=1)
    if share[0] < EXACT_SHARE:
        return 0
    gap = max(3, int(BAND_GAP * len(lines)))
    peeled, marked_from = 0, None
    for number in range(len(lines)):
        # a dark photo on a page or band of its own colour (stars on a night sky): most of
        # each line is the colour, but every line has marks, for longer than letters run
        if share[number] >= CLEAN_SHARE:
            marked_from = None
        elif marked_from is None:
            marked_from = number
        if marked_from is not None and number - marked_from >= gap:
            return min(peeled, marked_from)
        if share[number] >= EXACT_SHARE:
            peeled = number + 1
        elif share[number] < LETTERED_SHARE or number - peeled >= gap:
            break
    return peeled


def _close(colour: np.ndarray, other: np.ndarray) -> bool:
    return bool(np.abs(colour - other).max() <= SAME_COLOUR)


def _grid_split(pixels: np.ndarray, box: tuple[int, int, int, int], columns: bool) -> list[tuple[int, int, int, int]]:
    """The parts of ``box`` (top, bottom, left, right) between the seams found near the
    :data:`GRID` fractions across its ``columns`` (or rows), for each seam alone and for
    both thirds together (three in a row; when one third's seam is found, the other is
    taken at its third); ``[box]`` when there is none."""
    top, bottom, left, right = box
    region = pixels[top:bottom, left:right]
    lines = region.transpose(1, 0, 2) if columns else region
    if len(lines) < 16 or lines.shape[1] < 8:
        return [box]
    seams = {fraction: _seam_near(lines, fraction) for fraction in GRID}
    spans = {span for seam in seams.values() if seam for span in ((0, seam[0]), (seam[1], len(lines)))}
    if seams[1 / 3] or seams[2 / 3]:  # a row of three whose other seam does not show (alike edges)
        third = round(len(lines) / 3)
        first, second = seams[1 / 3] or (third, third), seams[2 / 3] or (len(lines) - third, len(lines) - third)
        spans |= {(0, first[0]), (first[1], second[0]), (second[1], len(lines))}
    spans = sorted(span for span in spans if span[1] - span[0] >= 4)
    if not spans:
        return [box]
    if columns:
        return [(top, bottom, left + a, left + b) for a, b in spans]
    return [(top + a, top + b, left, right) for a, b in spans]


def _seam_near(lines: np.ndarray, fraction: float) -> tuple[int, int] | None:
    """The seam between ``lines`` (line, pixel, colour) nearest to ``fraction`` of them,
    within :data:`GRID_SLACK`: a run of lines of exactly one colour (a gap; its first and
    past-the-last line), or the boundary where neighbouring lines differ
    :data:`SEAM_CONTRAST` times more than around it, by :data:`SEAM_STEP` at least (two
    photos butted together; the same line twice). None when there is neither."""
    count = len(lines)
    target = fraction * count
    low, high = max(1, int((fraction - GRID_SLACK) * count)), min(count - 1, int(np.ceil((fraction + GRID_SLACK) * count)))
    found = []
    dominant = np.median(lines, axis=1, keepdims=True)
    gap = (np.abs(lines - dominant).max(axis=2) <= EXACT_COLOUR).mean(axis=1) >= 0.97
    inside = np.flatnonzero(gap[low:high]) + low
    if len(inside):
        first = last = int(inside[np.argmin(np.abs(inside - target))])
        while first > 0 and gap[first - 1]:
            first -= 1
        while last + 1 < count and gap[last + 1]:
            last += 1
        if last + 1 - first <= GAP_WIDTH * count:  # wider: a page's or a sky's flat part
            found.append((first, last + 1))
    # between line i and i + 1; and between line i and i + 2, for a seam that falls
    # between two pixels of the working copy, whose line i + 1 then mixes both photos
    # (its step is split in two) and is left out of both cells
    for across in (1, 2):
        change = np.abs(lines[across:] - lines[:-across]).max(axis=2).mean(axis=1)
        best = low - 1 + int(np.argmax(change[low - 1:high]))
        sides = [change[max(0, best - 5 - across):max(0, best - across)], change[best + 1 + across:best + 6 + across]]
        if change[best] < SEAM_STEP or not any(len(side) for side in sides):
            continue
        # beside a busy photo (grass, text) a seam's step is no larger than that photo's own
        # steps between lines: then it is weighed against the calmer side's, and must run
        # along most of the line (an object's edge beside a calm sky crosses a part of it)
        step = np.abs(lines[best + across] - lines[best]).max(axis=1)
        calm = min(float(np.median(side)) for side in sides if len(side))
        if (change[best] >= SEAM_CONTRAST * np.median(np.concatenate(sides))
                or (change[best] >= SEAM_CONTRAST * calm and (step > SEAM_STEP).mean() >= SEAM_SHARE)):
            found.append((best + 1, best + across))
    return min(found, key=lambda seam: abs((seam[0] + seam[1]) / 2 - target), default=None)
