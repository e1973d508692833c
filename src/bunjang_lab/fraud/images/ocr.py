"""Read text written into a picture: find text lines cheaply, clean them up, tesseract.

Tesseract (Korean plus English, one thread) costs a good
fraction of a second per call, so:

* :func:`text_lines` finds likely text lines in a few milliseconds; a picture without any
  is not read at all (recall and skip rate measured in ``docs/images.md``);
* :func:`preprocess` gives tesseract only those lines: greyscale, upscaled to a readable
  height, binarised line by line (Otsu), dark text on white, stacked on one page, which
  reads text on busy photo backgrounds that whole-picture OCR turns into noise;
* :func:`colour_page` gives it the first lines once more, split by colour: overlay text
  is one solid colour, so a colour layer separates letters from a photograph that has
  their grey level (fur, foliage);
* an :class:`OcrEngine` reads the picture once it has lines: :class:`TesseractEngine`
  (the pages above) or PP-OCR's detector and recogniser with tesseract's Korean model
  (:mod:`~bunjang_lab.fraud.images.ppocr`), chosen by name (:func:`make_engine`);
* :class:`Tesseract` runs the ``tesseract`` program itself (pytesseract would import
  pandas, a third of a second per ``score image``), each call bounded in time;
* :class:`Budget` caps the work per picture (lines, page pixels, seconds) and records
  which cap was hit, which ``score image`` reports;
* :class:`OcrCache` stores every result keyed by what the picture looks like (size, pHash
  and a grey fingerprint compared with a tolerance, :func:`fingerprint`), so a picture is
  read once across runs, shards and processes, and a copy with a few pixels changed is
  not read again (SQLite, next to the image index).
"""

from __future__ import annotations

import importlib
import io
import os
import sqlite3
import math
import resource
import subprocess
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np
from PIL import Image

from bunjang_lab.errors import InvalidInput, MissingInput
from bunjang_lab.fraud.images.regions import shrunk

#: Two readings of every page: Korean first reads Hangul best, English first reads the
#: Latin IDs after a Korean word best (``카톡 abc123``); the rules see both, joined.
LANGUAGE_PASSES = ("kor+eng", "eng+kor")
#: Raised whenever preprocessing or the tesseract call changes, so cached text is redone.
OCR_VERSION = 12
#: Text lines are searched on a copy at most this large (pixels, longest side).
DETECT_SIDE = 800
#: Horizontal or vertical grey-level step that counts as a stroke edge.
EDGE_STEP = 28
#: The same for a second pass that finds text on busy photographs (overlay text contrasts
#: with its spot; fur and foliage edges are mostly weaker): the line on 18 of 20 rendered
#: busy-photo pictures and on none of 400 sample pictures without text.
STRONG_EDGE_STEP = 60
#: A text line is upscaled to about this height (pixels) before tesseract reads it.
LINE_HEIGHT = 56
#: A text line crosses at least this many strong steps per line height along a row
#: (letters are about as wide as tall and have 2+ strokes; product edges and fabric have
#: fewer): 7.5 or more on every contact picture of the sample, skip rate in docs/images.md.
MIN_STROKES = 3.0
#: At most this many candidate lines (strong contrast, then largest, first) are read per picture.
MAX_LINES = 8
#: The first this many lines (strong contrast, then largest) are also read split by colour (:func:`colour_page`).
COLOUR_LINES = 3
#: Colour clusters a line is split into (text, its outline or shadow, the photo behind).
LAYER_COLOURS = 4
#: Wall seconds a tesseract call may take per CPU second it is allowed (a loaded machine).
WALL_PER_CPU = 4


def text_lines(img: Image.Image, max_lines: int | None = MAX_LINES) -> list[tuple[float, float, float, float]]:
    """Boxes ``(left, top, right, bottom)`` of likely text lines, those of strong contrast
    first, then largest first; an empty list means "no text here", which is how OCR is
    skipped for most pictures.

    Text is a row of short strokes with many strong edges close together: edges are closed
    into blobs, thin lines (borders, cables) opened away, blobs that are dense in edges,
    wider than tall, filled and crossed by many strokes kept, then grown and merged along
    their line.

    >>> from PIL import ImageDraw, ImageFont
    >>> img = Image.new("RGB", (400, 120), "white")
    >>> ImageDraw.Draw(img).text((20, 40), "kakao: abc123", fill="black",
    ...                          font=ImageFont.truetype(_FONT, 28))
    >>> [round(v) for v in text_lines(img)[0]]
    [22, 45, 224, 67]
    >>> text_lines(Image.new("RGB", (400, 120), "skyblue"))
    []
    """
    rgb = img.convert("RGB")
    scale = min(1.0, DETECT_SIDE / max(rgb.size))
    if scale < 1.0:
        rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.BOX)
    pixels = np.asarray(rgb.convert("L"), dtype=np.int16)
    # on a busy photograph the letters' edges merge with the fur or foliage around them
    # into one big blob the filters drop; overlay text contrasts with its spot, so at a
    # much larger step the letters stay and the photo's edges mostly go: those lines first
    strong = _lines_at(pixels, STRONG_EDGE_STEP)
    lines = strong + [b for b in _lines_at(pixels, EDGE_STEP) if not any(_overlap(b, s) for s in strong)]
    if not lines:
        # text that stands out in colour more than in grey (red on a red retina): strong
        # steps in one colour channel; 4 of 120 rendered busy-photo pictures more, 1 of
        # 300 sample pictures without text (docs/images.md)
        channels = np.asarray(rgb, dtype=np.int16)
        for channel in range(3):
            lines += [b for b in _lines_at(channels[..., channel], STRONG_EDGE_STEP) if not any(_overlap(b, s) for s in lines)]
    return [tuple(v / scale for v in b) for b in lines[:max_lines]]


def _lines_at(pixels: np.ndarray, step: int) -> list:
    """Text lines among the grey-level steps larger than ``step``, largest first."""
    from scipy import ndimage

    edges = np.zeros(pixels.shape, dtype=bool)
    edges[:, 1:] |= np.abs(np.diff(pixels, axis=1)) > step
    edges[1:, :] |= np.abs(np.diff(pixels, axis=0)) > step
    blobs = ndimage.binary_closing(edges, structure=np.ones((3, 9)))
    blobs = ndimage.binary_opening(blobs, structure=np.ones((5, 3)))
    labels, _ = ndimage.label(blobs)
    boxes = []
    for number, (rows, cols) in enumerate(ndimage.find_objects(labels), 1):
        height, width = rows.stop - rows.start, cols.stop - cols.start
        if not 7 <= height <= 150 or width < height:
            continue
        if edges[rows, cols].mean() < 0.12 or (labels[rows, cols] == number).mean() < 0.45:
            continue
        left, right = _grow_along_line(edges[rows].any(axis=0), cols.start, cols.stop, gap=int(1.2 * height) + 2)
        boxes.append((left, rows.start, right, rows.stop))
    # strokes are counted on whole lines: a short word alone can look like a pattern
    lines = [b for b in _merge_lines(boxes) if _strokes_per_height(pixels[b[1]:b[3], b[0]:b[2]], step) >= MIN_STROKES]
    return sorted(lines, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))


def _overlap(box, other) -> bool:
    """Whether two boxes share more than half of the smaller one's height and width."""
    height = min(box[3], other[3]) - max(box[1], other[1])
    width = min(box[2], other[2]) - max(box[0], other[0])
    return (height > 0.5 * min(box[3] - box[1], other[3] - other[1])
            and width > 0.5 * min(box[2] - box[0], other[2] - other[0]))


def text_likelihood(img: Image.Image) -> float:
    """Number of likely text lines (0 means OCR is skipped).

    >>> text_likelihood(Image.new("RGB", (300, 200), "skyblue"))
    0.0
    """
    return float(len(text_lines(img)))


def preprocess(img: Image.Image, boxes=None) -> Image.Image | None:
    """The text lines of ``img`` as one black-on-white page for tesseract, or None.

    Each line is cut out, upscaled to :data:`LINE_HEIGHT`, binarised with its own Otsu
    threshold (text is the minority class of its line) and stacked with white margins.
    """
    boxes = text_lines(img) if boxes is None else boxes
    gray = img.convert("L")
    inks = (grey_ink(*cut_line(gray, box)) for box in sorted(boxes, key=lambda b: (b[1], b[0])))
    return stack_lines([ink for ink in inks if ink is not None])[0]


def grey_ink(line: Image.Image, inner: tuple[slice, slice]) -> np.ndarray | None:
    """The letters of a grey ``line`` (see :func:`cut_line`) as a mask: Otsu's threshold
    and the polarity taken from the box ``inner`` (there text is the minority class),
    ink touching the sides dropped; None for a flat line."""
    from skimage.filters import threshold_otsu

    pixels = np.asarray(line, dtype=np.float64)
    inside = pixels[inner]
    if inside.size == 0 or inside.max() == inside.min():
        return None
    threshold = threshold_otsu(inside)
    ink = pixels < threshold
    if (inside < threshold).mean() > 0.5:  # light text on a dark background
        ink = ~ink
    return _clear_sides(ink)


def colour_page(img: Image.Image, boxes, max_lines: int = COLOUR_LINES) -> Image.Image | None:
    """The first ``max_lines`` of ``boxes`` (the likeliest text, see :func:`text_lines`) split by colour, as one page, or None.

    Text written onto a photograph is one solid colour while the photo behind it spans
    every grey level, so a grey threshold mixes letters with fur or foliage. Each line's
    pixels are clustered in :data:`LAYER_COLOURS` colours (k-means in CIELAB, where
    distances follow perceived colour differences) and every cluster lying mostly inside
    the line (not the background running off its sides) becomes a black-on-white layer:
    one of them holds the letters alone. Given the true text box this reads 16 of 20
    rendered busy-photo pictures, the grey threshold 9 (docs/images.md).
    """
    rgb = img.convert("RGB")
    layers = []
    for box in sorted(boxes[:max_lines], key=lambda b: (b[1], b[0])):
        layers += colour_inks(cut_line(rgb, box)[0])
    return stack_lines(layers)[0]


def colour_inks(line: Image.Image) -> list[np.ndarray]:
    """The colour layers of an RGB ``line`` that lie mostly inside it, as masks (see
    :func:`colour_page`)."""
    from scipy.cluster.vq import kmeans2
    from skimage.color import rgb2lab

    colours = rgb2lab(np.asarray(line, dtype=np.float64) / 255)
    clusters = kmeans2(colours.reshape(-1, 3), LAYER_COLOURS, seed=0, minit="++")[1].reshape(colours.shape[:2])
    layers = []
    for cluster in range(LAYER_COLOURS):
        mask = clusters == cluster
        ink = _clear_sides(mask)
        if ink.sum() >= 0.4 * mask.sum() and ink.mean() >= 0.02:
            layers.append(ink)
    return layers


@dataclass
class Budget:
    """The most OCR work one picture may cost, and which caps it hit (``capped``).

    ``seconds`` are CPU seconds of this process and of tesseract's, not wall time: the
    same picture is read the same way on a loaded machine (on a quiet one they are the
    wall time too)."""

    max_lines: int = MAX_LINES
    max_page_pixels: int = 1_500_000
    seconds: float = 2.5  # with the matching, model load and a step past the cap: 5 s of a whole `score image` at most
    capped: set = field(default_factory=set)
    _started: float | None = field(default=None, repr=False)

    def start(self) -> "Budget":
        self._started = _cpu_seconds()
        return self

    def remaining(self) -> float:
        if self._started is None:
            self.start()
        return self.seconds - (_cpu_seconds() - self._started)


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Word(NamedTuple):
    """A word tesseract read, and where: ``left``, ``right`` and ``middle`` (its vertical centre) in page pixels."""

    text: str
    left: int
    right: int
    middle: float


class Tesseract:
    """The ``tesseract`` program on one page: its text lines or words, or None when it ran out of time."""

    def read(self, page: Image.Image, languages: str, cpu_seconds: float) -> list[str] | None:
        """The lines tesseract reads on ``page`` with ``languages``; None when it needed
        more than ``cpu_seconds`` (the kernel stops it; a wall limit of
        :data:`WALL_PER_CPU` times that backs it up)."""
        # --psm 11 (sparse text): on mixed Korean/Latin lines it misreads less than block modes
        out = self._run(page, ["-l", languages, "--psm", "11"], cpu_seconds)
        return None if out is None else [" ".join(line.split()) for line in out.splitlines() if line.split()]

    def words(self, page: Image.Image, languages: str, cpu_seconds: float) -> list[Word] | None:
        """The words tesseract reads on ``page`` taken as one block of lines (``--psm 6``:
        on stacked single lines it splits fewer Hangul words than sparse text), with
        their places; None as for :meth:`read`."""
        out = self._run(page, ["-l", languages, "--psm", "6", "tsv"], cpu_seconds)
        if out is None:
            return None
        words = []
        for row in out.splitlines()[1:]:
            fields = row.split("\t")  # level, page, block, paragraph, line, word, left, top, width, height, conf, text
            if len(fields) == 12 and fields[0] == "5" and fields[11].strip():
                left, top, width, height = (int(v) for v in fields[6:10])
                words.append(Word(fields[11].strip(), left, left + width, top + height / 2))
        return words

    @staticmethod
    def _run(page: Image.Image, arguments: list[str], cpu_seconds: float) -> str | None:
        buffer = io.BytesIO()
        page.save(buffer, "PNG")
        limit = max(1, math.ceil(cpu_seconds))  # RLIMIT_CPU counts whole seconds
        try:
            done = subprocess.run(["tesseract", "stdin", "stdout", *arguments], input=buffer.getvalue(),
                                  capture_output=True, timeout=WALL_PER_CPU * limit,
                                  env={**os.environ, "OMP_THREAD_LIMIT": "1"},
                                  preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 1)))
        except FileNotFoundError:
            raise MissingInput("tesseract is not installed (make system-deps installs it)") from None
        except subprocess.TimeoutExpired:
            return None
        if done.returncode < 0:  # stopped by the CPU limit
            return None
        return done.stdout.decode("utf-8", "replace")


TESSERACT = Tesseract()


def read_text(img: Image.Image, passes: tuple[str, ...] = LANGUAGE_PASSES, boxes=None,
              colour_lines: int = COLOUR_LINES, budget: Budget | None = None, engine: Tesseract = TESSERACT) -> str:
    """The :func:`read_lines` of ``img`` joined by " / "."""
    return " / ".join(read_lines(img, passes, boxes, colour_lines, budget, engine))


def read_lines(img: Image.Image, passes: tuple[str, ...] = LANGUAGE_PASSES, boxes=None,
               colour_lines: int = COLOUR_LINES, budget: Budget | None = None, engine: Tesseract = TESSERACT) -> list[str]:
    """The text tesseract finds in the text lines of ``img``: for the grey-threshold page
    (:func:`preprocess`) and the colour-split page of the first ``colour_lines`` lines
    (:func:`colour_page`; 0: none), each language pass and their
    :func:`combine_readings`, as the :func:`distinct_lines` of all readings;
    within ``budget`` (default: :class:`Budget`), whose ``capped`` says what was cut."""
    budget = budget if budget is not None else Budget().start()
    boxes = text_lines(img) if boxes is None else boxes
    if len(boxes) > budget.max_lines:
        boxes = boxes[:budget.max_lines]
        budget.capped.add("lines")
    lines: list[str] = []
    for page in (preprocess(img, boxes), colour_page(img, boxes, colour_lines) if colour_lines else None):
        if page is None:
            continue
        if page.width * page.height > budget.max_page_pixels:
            page = page.crop((0, 0, page.width, max(LINE_HEIGHT * 2, budget.max_page_pixels // page.width)))
            budget.capped.add("pixels")
        lines += _read_page(page, passes, budget, engine)
    return distinct_lines(lines)


def distinct_lines(lines: list[str]) -> list[str]:
    """The lines that say something new, in order: each once, and none that another line
    holds whole (spaces aside), since the passes and pages read the same line several
    times and a repeated number would run into its copy for the rules.

    >>> distinct_lines(["카톡 abc123", "abc123", "카톡  abc123", " ", "010 1234", "0101234"])
    ['카톡 abc123', '010 1234']
    """
    keys = ["".join(line.split()) for line in lines]
    out = []
    for i, (line, key) in enumerate(zip(lines, keys)):
        if key and not any(key in other and (len(other) > len(key) or j < i) for j, other in enumerate(keys) if j != i):
            out.append(" ".join(line.split()))
    return out


def _read_page(page: Image.Image, passes: tuple[str, ...], budget: Budget, engine: Tesseract) -> list[str]:
    """The lines of every language pass on ``page``, then the :func:`combine_readings` of
    the first two, line by line."""
    readings = []
    for languages in passes:
        if budget.remaining() <= 0:
            budget.capped.add("seconds")
            break
        lines = engine.read(page, languages, budget.remaining())
        if lines is None:
            budget.capped.add("seconds")
            break
        readings.append(lines)
    out = [line for reading in readings for line in reading]
    if len(readings) == 2 and len(readings[0]) == len(readings[1]):
        out += [combine_readings(k, e) for k, e in zip(*readings)]
    return out


def stack_lines(lines: list[np.ndarray]) -> tuple[Image.Image | None, list[tuple[int, int]]]:
    """Ink masks as black-on-white lines on one page, with white margins, and the rows
    ``(top, bottom)`` each line lies in (None and [] without lines)."""
    if not lines:
        return None, []
    pad = LINE_HEIGHT // 2
    page = Image.new("L", (max(ink.shape[1] for ink in lines) + 2 * pad, sum(ink.shape[0] + pad for ink in lines) + pad), 255)
    y, rows = pad, []
    for ink in lines:
        page.paste(Image.fromarray(np.where(ink, 0, 255).astype(np.uint8)), (pad, y))
        rows.append((y, y + ink.shape[0]))
        y += ink.shape[0] + pad
    return page, rows


def cut_line(img: Image.Image, box) -> tuple[Image.Image, tuple[slice, slice]]:
    """The line ``box`` of ``img`` with a small margin, upscaled to :data:`LINE_HEIGHT`,
    and where the box itself lies in it."""
    left, top, right, bottom = box
    # a small margin: enough that no letter touches the sides (ink touching them is
    # cleared), little enough that the background does not outweigh the banner
    dx, dy = 0.3 * (bottom - top), 0.15 * (bottom - top)
    x0, y0 = max(0, round(left - dx)), max(0, round(top - dy))
    line = img.crop((x0, y0, min(img.width, round(right + dx)), min(img.height, round(bottom + dy))))
    factor = max(1.0, min(6.0, LINE_HEIGHT / max(1.0, bottom - top)))
    line = line.resize((max(1, round(line.width * factor)), max(1, round(line.height * factor))),
                       Image.Resampling.LANCZOS)
    inner = (slice(round((top - y0) * factor), round((bottom - y0) * factor)),
             slice(round((left - x0) * factor), round((right - x0) * factor)))
    return line, inner


def combine_readings(korean_first: str, english_first: str) -> str:
    """The Hangul words of the Korean-first reading, then the other words of the
    English-first one: each pass reads its own script best, and the rules need the
    messenger's name and the ID side by side.

    >>> combine_readings("카톡 00/.789", "Jt gciw.789")
    '카톡 Jt gciw.789'
    """
    hangul = [w for w in korean_first.split() if any("\uac00" <= ch <= "\ud7a3" for ch in w)]
    latin = [w for w in english_first.split() if not any("\uac00" <= ch <= "\ud7a3" for ch in w)]
    return " ".join(hangul + latin)


def _strokes_per_height(box: np.ndarray, step: int) -> float:
    """Grey-level steps larger than ``step`` along the rows at 1/3, 1/2 and 2/3 of a box,
    per box height."""
    height, width = box.shape
    steps = max(int((np.abs(np.diff(box[height * k // 6])) > step).sum()) for k in (2, 3, 4))
    return steps * height / max(1, width)


def _clear_sides(ink: np.ndarray) -> np.ndarray:
    """Drop ink touching the left or right edge of a line: banner borders and photo edges
    there read as "|" or "1" and glue onto phone numbers."""
    from scipy import ndimage

    labels, _ = ndimage.label(ink)
    touching = np.union1d(labels[:, 0], labels[:, -1])
    return ink & ~np.isin(labels, touching[touching > 0])


def _grow_along_line(columns: np.ndarray, left: int, right: int, gap: int) -> tuple[int, int]:
    """Extend ``[left, right)`` while edge columns keep coming within ``gap`` pixels."""
    found = np.flatnonzero(columns)
    while True:
        after = found[(found >= right) & (found < right + gap)]
        before = found[(found < left) & (found >= left - gap)]
        if not len(after) and not len(before):
            return left, right
        if len(after):
            right = int(after.max()) + 1
        if len(before):
            left = int(before.min())


def _merge_lines(boxes: list) -> list:
    """Merge boxes on the same line (overlapping vertically, close horizontally)."""
    merged = True
    while merged:
        merged, out = False, []
        for box in sorted(boxes):
            for i, other in enumerate(out):
                height = max(box[3] - box[1], other[3] - other[1])
                overlap = min(box[3], other[3]) - max(box[1], other[1])
                gap = max(box[0], other[0]) - min(box[2], other[2])
                if overlap > 0.5 * min(box[3] - box[1], other[3] - other[1]) and gap < 1.5 * height:
                    out[i] = (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]), max(box[3], other[3]))
                    merged = True
                    break
            else:
                out.append(box)
        boxes = out
    return boxes


_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


#: Side of the grey fingerprint that keys the OCR cache.
FINGERPRINT_SIDE = 128


def fingerprint(img: Image.Image) -> np.ndarray:
    """The picture in grey at most :data:`FINGERPRINT_SIDE` pixels a side (uint8)."""
    return np.asarray(shrunk(img, "L", FINGERPRINT_SIDE), dtype=np.uint8)


def fingerprint_tolerance(size: tuple[int, int], shape: tuple[int, int]) -> int:
    """How far two fingerprints of pictures of ``size`` may differ anywhere and still be
    the same picture to the cache: what one changed pixel moves a fingerprint cell by at
    most, plus rounding. A changed letter or digit changes several pixels of its cells by
    most of the contrast (a 10 px digit, 2-3 pixels of a 4-pixel cell: twice this);
    cells under 4 pixels (pictures up to about 256 px) must match exactly.

    >>> fingerprint_tolerance((640, 480), (96, 128)), fingerprint_tolerance((100, 80), (80, 100))
    (13, 0)
    """
    cell = size[0] * size[1] / (shape[0] * shape[1])
    return 0 if cell < 4 else 2 + int(np.ceil(255 / cell))


class OcrCache:
    """Recognised text by what the picture looks like, in one SQLite file (safe across
    processes; the table "readings", as the key changed from the file's SHA-256 in format 8;
    a reading is kept per engine): rows of the same size sharing a 16-bit quarter of the pHash are
    candidates, and one whose fingerprint is within :func:`fingerprint_tolerance`
    everywhere is the same picture (a changed pixel, a re-encoding at the same size)."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS readings (version INTEGER, width INTEGER, height INTEGER, q0 INTEGER, "
                       "q1 INTEGER, q2 INTEGER, q3 INTEGER, print BLOB, text TEXT, capped TEXT)")
            db.execute("CREATE INDEX IF NOT EXISTS readings_size ON readings (width, height)")

    def get(self, img: Image.Image, engine: str) -> tuple[str, tuple[str, ...]] | None:
        """The text and the caps its reading hit, of the same picture read before by ``engine``."""
        quarters, printed = _cache_key(img)
        tolerance = fingerprint_tolerance(img.size, printed.shape)
        with self._connect() as db:
            rows = db.execute("SELECT print, text, capped FROM readings WHERE version = ? AND width = ? AND height = ? AND "
                              "(q0 = ? OR q1 = ? OR q2 = ? OR q3 = ?)", (_version(engine), *img.size, *quarters)).fetchall()
        for blob, text, capped in rows:
            stored = np.frombuffer(zlib.decompress(blob), dtype=np.uint8)
            if stored.size == printed.size and np.abs(stored.astype(np.int16) - printed.reshape(-1)).max() <= tolerance:
                return text, tuple(capped.split()) if capped else ()
        return None

    def put(self, img: Image.Image, text: str, capped: tuple[str, ...], engine: str) -> None:
        quarters, printed = _cache_key(img)
        with self._connect() as db:
            db.execute("INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (_version(engine), *img.size, *quarters, zlib.compress(printed.tobytes()), text, " ".join(capped)))

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)


def _version(engine: str) -> str:
    """What a reading was made with: the engine, and :data:`OCR_VERSION` for the rest."""
    return f"{OCR_VERSION}/{engine}"


def _cache_key(img: Image.Image) -> tuple[tuple[int, ...], np.ndarray]:
    from bunjang_lab.fraud.images.hashing import phash

    printed = fingerprint(img)
    value = phash(Image.fromarray(printed))
    return tuple((value >> shift) & 0xFFFF for shift in (48, 32, 16, 0)), printed


class Reading(NamedTuple):
    """What :meth:`Reader.read` found: the ``text``, ``how`` (``"cache"``, ``"skipped"``
    or ``"ocr"``) and the caps of the :class:`Budget` the reading hit."""

    text: str
    how: str
    capped: tuple[str, ...] = ()


class OcrEngine(Protocol):
    """Reads the text of a picture in which :func:`text_lines` found ``boxes``: its lines,
    within ``budget`` (whose ``capped`` it fills). An engine that ``detects`` text lines
    itself is asked about every picture, with no boxes."""

    name: str
    detects: bool

    def read(self, img: Image.Image, boxes: list, budget: Budget) -> list[str]: ...


class TesseractEngine:
    """The lines :func:`text_lines` found, cleaned up and read by tesseract (:func:`read_lines`)."""

    name = "tesseract"
    detects = False

    def read(self, img: Image.Image, boxes: list, budget: Budget) -> list[str]:
        return read_lines(img, boxes=boxes, budget=budget)


#: Engines by the name the ``BUNJANG_OCR_ENGINE`` setting gives (module and class: the
#: PP-OCR ones load onnxruntime, imported only when chosen).
ENGINES = {"tesseract": ("bunjang_lab.fraud.images.ocr", "TesseractEngine"),
           "ppocr": ("bunjang_lab.fraud.images.ppocr", "PpOcrEngine"),
           "ppocr+tesseract": ("bunjang_lab.fraud.images.ppocr", "PpOcrTesseractEngine")}
#: The setting that names the engine.
ENGINE_SETTING = "BUNJANG_OCR_ENGINE"
#: The engine read with unless the setting says otherwise: the best contact recall on
#: busy photos at a cost within the budget (docs/images.md, per-engine table).
DEFAULT_ENGINE = "ppocr+tesseract"


def make_engine(name: str | None = None) -> OcrEngine:
    """The OCR engine called ``name`` (default: the :data:`ENGINE_SETTING` environment
    variable, else :data:`DEFAULT_ENGINE`).

    >>> make_engine("tesseract").name
    'tesseract'
    >>> make_engine("abbyy")
    Traceback (most recent call last):
    ...
    bunjang_lab.errors.InvalidInput: unknown OCR engine 'abbyy' (one of: tesseract, ppocr, ppocr+tesseract)
    """
    name = name or os.environ.get(ENGINE_SETTING) or DEFAULT_ENGINE
    if name not in ENGINES:
        raise InvalidInput(f"unknown OCR engine {name!r} (one of: {', '.join(ENGINES)})")
    module, cls = ENGINES[name]
    return getattr(importlib.import_module(module), cls)()


class Reader:
    """Text of a picture: cached, skipped when :func:`text_lines` finds no text line
    (unless the engine ``detects`` lines itself), read by ``engine`` (default:
    :func:`make_engine`) within a fresh :class:`Budget` otherwise, as its
    :func:`distinct_lines` joined by " / "."""

    def __init__(self, cache: OcrCache | None = None, prefilter: bool = True, budget: Budget | None = None,
                 engine: OcrEngine | None = None):
        self.cache = cache
        self.prefilter = prefilter
        self.budget = budget or Budget()
        self.engine = engine or make_engine()

    def read(self, img: Image.Image) -> Reading:
        if self.cache is not None:
            cached = self.cache.get(img, self.engine.name)
            if cached is not None:
                return Reading(cached[0], "cache", cached[1])
        boxes = [(0, 0, img.width, img.height)]
        if self.prefilter and not self.engine.detects:
            boxes = text_lines(img, max_lines=None)
            if not boxes:
                return Reading("", "skipped")  # not cached: finding no line is cheaper than the lookup
        budget = replace(self.budget, capped=set()).start()
        text = " / ".join(distinct_lines(self.engine.read(img, boxes, budget)))
        capped = tuple(sorted(budget.capped))
        if self.cache is not None:  # capped readings too: sending the picture again costs nothing
            self.cache.put(img, text, capped, self.engine.name)
        return Reading(text, "ocr", capped)
