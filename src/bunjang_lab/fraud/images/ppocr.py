"""PP-OCR's text detector and recogniser as OCR engines (:class:`~bunjang_lab.fraud.images.ocr.OcrEngine`).

The ONNX files of PP-OCRv4 (detector, Chinese-and-Latin recogniser) ship inside the
``rapidocr_onnxruntime`` wheel and run on onnxruntime's CPU provider, one thread: nothing
is downloaded. On contact details drawn straight onto busy photos the detector finds
the line where the grey-edge prefilter's boxes cut it, and the recogniser reads digits
and Latin letters far better than tesseract on the same pictures (``docs/images.md``).
It has no Hangul, though: it drops Korean words or reads them as Chinese characters.
So:

* :class:`PpOcrEngine` reads every detected line with the recogniser alone (Chinese
  characters dropped: Korean listings do not write them, they are misread Hangul);
* :class:`PpOcrTesseractEngine` reads the same lines, then gives tesseract's Korean
  model (Korean alone: with English beside it, it reads clean Hangul as Latin letters)
  every line once more, straightened and split into ink layers (grey threshold
  and colour clusters, :func:`~bunjang_lab.fraud.images.ocr.grey_ink` and
  :func:`~bunjang_lab.fraud.images.ocr.colour_inks`), all on one page and one call:
  per line, the layer whose digits and Latin letters agree best with the recogniser's
  is the clean one, and its Hangul words join the recogniser's reading
  (:func:`~bunjang_lab.fraud.images.ocr.combine_readings`).

Both find the lines themselves, on every picture: the detector finds text the grey-edge
prefilter misses (4 of 120 rendered busy-photo pictures, colour on colour) for about
0.1-0.2 CPU seconds a picture; each model loads on its first use (~40 ms CPU for both),
the recogniser only once a picture has lines. Tesseract is not asked about a region
shaped like one character and read as at most one (:func:`may_hold_words`): those are a
normal photo's only regions. Both keep to the picture's
:class:`~bunjang_lab.fraud.images.ocr.Budget`: the detector sees at most
:data:`DETECT_SIDE` pixels a side, at most ``max_lines`` lines (the largest) are read,
the tesseract page is cut at ``max_page_pixels`` and each step runs only while CPU
seconds remain.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
import unicodedata
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
from PIL import Image

from bunjang_lab.errors import MissingInput
from bunjang_lab.fraud.images import ocr

#: The ONNX files of the ``rapidocr_onnxruntime`` wheel: PP-OCRv4's detector and its
#: Chinese-and-Latin recogniser (the angle classifier is not used: lines are turned a few
#: degrees at most, and the straightening below handles those).
DETECTOR = "ch_PP-OCRv4_det_infer.onnx"
RECOGNISER = "ch_PP-OCRv4_rec_infer.onnx"
#: Longest side of the copy the detector reads (PP-OCR's own default scales the *short*
#: side up to 736, three times the work on a phone photo for no gain in recall here).
DETECT_SIDE = 960
#: The detector's probability above which a pixel is text, and the mean probability a
#: region needs to be kept (PP-OCR's defaults).
TEXT_PROBABILITY = 0.3
REGION_PROBABILITY = 0.5
#: Regions thinner than this (detector pixels) are not text lines (PP-OCR's ``min_size``).
MIN_REGION_SIDE = 3
#: The recogniser reads lines this high, at least this wide for their height, this many at once.
RECOGNISER_HEIGHT = 48
RECOGNISER_MIN_RATIO = 320 / 48
RECOGNISER_BATCH = 6
#: How far a detected text region is grown into its line's box (PP-OCR's 1.6 cuts the
#: tops of Hangul syllables, which tesseract then misreads): Hangul words read on 28
#: rendered busy-photo lines, 0.55 at 1.6, 0.67 at 2.0, 0.54 at 2.4.
UNCLIP = 2.0
#: Longest sides of the pictures read again at twice their size when no line is found:
#: up to half :data:`DETECT_SIDE`, and not thumbnails (the sample's 176 px pictures cost
#: 25 ms CPU each to read without text, 90 ms with a second look at 352 px).
UPSCALED_SIDES = (DETECT_SIDE // 4, DETECT_SIDE // 2)
#: A region found only in a small picture read at twice its size is a line when it is at
#: least this many times wider than high (a contact detail is several characters long).
UPSCALED_LINE_WIDTH = 2.0
#: A grown region narrower than this many times its height has room for one character.
ONE_GLYPH_WIDTH = 1.2
_IDEOGRAPHS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_SYLLABLES = re.compile(r"[\uac00-\ud7a3]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


class PpOcr:
    """The detector and the recogniser, each loaded on its first use and kept for the
    process: a picture in which the detector finds no line never loads the recogniser.

    onnxruntime runs the wheel's ONNX files directly (one thread, no memory arena, no
    graph optimisation);
    ``rapidocr_onnxruntime``'s own Python is not imported: it loads the angle classifier
    too and imports PyYAML and shapely, ~0.2 CPU s per process that ``score image`` does
    not need (docs/images.md, "Bounded cost"), and its detector ignores the side limit it
    is given (pictures up to 2,000 px a side are read whole)."""

    _sessions: dict = {}
    _characters: list[str] | None = None

    @classmethod
    def _session(cls, model: str):
        if model not in cls._sessions:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = options.inter_op_num_threads = 1
            options.enable_cpu_mem_arena = False
            # optimising the graphs costs ~70 ms CPU per process (both models) and, on 20
            # rendered pictures, read them no faster (153 against 154 ms each, same text)
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
            options.log_severity_level = 3
            cls._sessions[model] = onnxruntime.InferenceSession(str(_models() / model), sess_options=options,
                                                                providers=["CPUExecutionProvider"])
        return cls._sessions[model]

    def lines(self, rgb: np.ndarray, max_lines: int) -> tuple[list[np.ndarray], bool]:
        """The text lines of the picture ``rgb`` (H×W×3 uint8), straightened, top to
        bottom, at most ``max_lines`` of them (the largest), and whether more were found."""
        quads = self.detect(rgb)
        capped = len(quads) > max_lines
        if capped:
            quads = sorted(quads, key=lambda q: -_area(q))[:max_lines]
        return [_straightened(rgb, quad) for quad in _reading_order(quads)], capped

    def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        """The detector's text regions of ``rgb``, each a 4×2 float32 quadrilateral
        (top left, top right, bottom right, bottom left) in the picture's pixels.

        A picture of :data:`UPSCALED_SIDES` in which none is found is read again at twice
        its size, for letters under ~16 px, and its regions shaped like a line
        (:data:`UPSCALED_LINE_WIDTH`) are kept: there the detector also takes fur and flat
        drawings for text, in squarish regions (on 150 sample pictures without text, 81
        got one at twice their size and none was twice as wide as high)."""
        height, width = rgb.shape[:2]
        quads = self._detect_at(rgb, min(1.0, DETECT_SIDE / max(height, width)))
        if not quads and UPSCALED_SIDES[0] < max(height, width) <= UPSCALED_SIDES[1]:
            quads = [q for q in self._detect_at(rgb, 2.0) if _side(q, 1) >= UPSCALED_LINE_WIDTH * _side(q, 3)]
        return quads

    def _detect_at(self, rgb: np.ndarray, scale: float) -> list[np.ndarray]:
        import cv2

        height, width = rgb.shape[:2]
        side_h, side_w = (max(32, round(v * scale / 32) * 32) for v in (height, width))
        resized = cv2.resize(rgb, (side_w, side_h), interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_LINEAR)
        pixels = _model_input(resized)[None]
        session = self._session(DETECTOR)
        probability = session.run(None, {session.get_inputs()[0].name: pixels})[0][0, 0]
        quads = [_clipped(np.round(quad * (width / side_w, height / side_h)), width, height)
                 for quad in _regions(probability)]
        return [q for q in quads if min(_side(q, 1), _side(q, 3)) >= MIN_REGION_SIDE + 1]

    def recognise(self, lines: list[np.ndarray]) -> list[tuple[str, np.ndarray]]:
        """What the recogniser reads on each line, as it reads it (see :func:`plain`), and
        the centre of each character read, in the line's pixels: lines of like shape in batches of
        :data:`RECOGNISER_BATCH`, each scaled to :data:`RECOGNISER_HEIGHT` and padded to
        the widest of its batch (PaddleOCR's own way, which its recogniser was trained for)."""
        import cv2

        session = self._session(RECOGNISER)
        if PpOcr._characters is None:
            PpOcr._characters = ["", *session.get_modelmeta().custom_metadata_map["character"].splitlines(), " "]
        ratios = [line.shape[1] / line.shape[0] for line in lines]
        order = np.argsort(ratios, kind="stable")
        out: list[tuple[str, np.ndarray]] = [("", np.zeros(0))] * len(lines)
        for start in range(0, len(lines), RECOGNISER_BATCH):
            batch = order[start:start + RECOGNISER_BATCH]
            width = int(RECOGNISER_HEIGHT * max(RECOGNISER_MIN_RATIO, *(ratios[i] for i in batch)))
            pixels = np.zeros((len(batch), 3, RECOGNISER_HEIGHT, width), dtype=np.float32)
            for row, number in enumerate(batch):
                scaled = min(width, math.ceil(RECOGNISER_HEIGHT * ratios[number]))
                pixels[row, :, :, :scaled] = _model_input(cv2.resize(lines[number], (scaled, RECOGNISER_HEIGHT)))
            best = session.run(None, {session.get_inputs()[0].name: pixels})[0].argmax(axis=2)
            for row, number in enumerate(batch):
                text, steps = _ctc_text(best[row], PpOcr._characters)
                scaled = min(width, math.ceil(RECOGNISER_HEIGHT * ratios[number]))
                # each output step covers width / steps of the padded input
                out[number] = text, (steps + 0.5) * (width / best.shape[1]) * (lines[number].shape[1] / scaled)
        return out


class PpOcrEngine:
    """Detected lines read by PP-OCR's recogniser alone (digits and Latin; no Hangul)."""

    name = "ppocr"
    detects = True

    def __init__(self, ppocr: PpOcr | None = None):
        self.ppocr = ppocr or PpOcr()

    def read(self, img: Image.Image, boxes: list, budget: ocr.Budget) -> list[str]:
        return [plain(reading) for reading, _ in _recognised(self.ppocr, img, budget)[1]]


class PpOcrTesseractEngine:
    """Detected lines read by PP-OCR's recogniser, their Hangul words by tesseract's
    Korean model on the ink layer that agrees best with the recogniser."""

    name = "ppocr+tesseract"
    detects = True

    def __init__(self, ppocr: PpOcr | None = None, tesseract: ocr.Tesseract = ocr.TESSERACT, languages: str = "kor"):
        self.ppocr = ppocr or PpOcr()
        self.tesseract = tesseract
        self.languages = languages

    def read(self, img: Image.Image, boxes: list, budget: ocr.Budget) -> list[str]:
        lines, raw = _recognised(self.ppocr, img, budget)
        hangul = self._hangul(lines, [plain(text) for text, _ in raw], budget,
                              [may_hold_words(line, text) for line, (text, _) in zip(lines, raw)])
        out = []
        for (text, centres), (words, names) in zip(raw, hangul):
            reading, words = reconciled(text, centres, words, names)
            out.append(ocr.combine_readings(" ".join(words), plain(reading)))
        return out

    def _hangul(self, lines: list[np.ndarray], readings: list[str], budget: ocr.Budget,
                wanted: list[bool]) -> list[tuple[list[ocr.Word], list[ocr.Word]]]:
        """Per line, the Hangul words tesseract reads on its best layers and the words of
        :func:`contact_lexicon` it reads on any layer, placed in the line's pixels (none
        for the lines not ``wanted``, which are not given to tesseract)."""
        inks, owners, columns = [], [], []
        for number, line in enumerate(lines):
            if not wanted[number]:
                continue
            layers, inner = _layers(line)
            inks += layers
            owners += [number] * len(layers)
            columns += [inner] * len(layers)
        page, rows = ocr.stack_lines(inks)
        if page is None:
            return [([], []) for _ in lines]
        if page.width * page.height > budget.max_page_pixels:
            rows = [row for row in rows if row[1] * page.width <= budget.max_page_pixels] or rows[:1]
            page = page.crop((0, 0, page.width, rows[-1][1] + ocr.LINE_HEIGHT // 2))
            budget.capped.add("pixels")
        words = self._words(page, budget)
        by_row: list[list[ocr.Word]] = [[] for _ in rows]
        margin = ocr.LINE_HEIGHT // 4
        for word in words:
            for number, (top, bottom) in enumerate(rows):
                if top - margin <= word.middle <= bottom + margin:
                    by_row[number].append(word)
                    break
        layers: list[list[tuple[float, list[ocr.Word]]]] = [[] for _ in lines]
        for row, owner, inner in zip(by_row, owners, columns):
            # page pixels to the line's: the layer starts LINE_HEIGHT // 2 into the page
            # (stack_lines) and holds the line in its columns ``inner``, scaled
            scale = lines[owner].shape[1] / max(1, inner.stop - inner.start)
            offset = ocr.LINE_HEIGHT // 2 + inner.start
            placed = [w._replace(left=round((w.left - offset) * scale), right=round((w.right - offset) * scale))
                      for w in sorted(row, key=lambda w: w.left)]
            layers[owner].append((_agreement(" ".join(w.text for w in placed), readings[owner]), placed))
        out = []
        for found in layers:
            best = max((score for score, _ in found), default=0.0)
            # every layer as clean as the best one (the grey and the letters' colour often
            # tie): each misreads other syllables (on 120 rendered pictures, taking the
            # layers within 0.2 of the best flagged 0.875 of them, these 0.883)
            hangul: dict[str, ocr.Word] = {}
            for score, placed in found:
                for word in placed:
                    if score == best and _HANGUL.search(word.text):
                        hangul.setdefault(word.text, word)
            # and a contact word another layer reads whole (the best layer by its digits
            # often misreads the bank's name that a layer with worse digits gets right)
            kept = "".join(hangul)
            names: dict[str, ocr.Word] = {}
            for word in (word for _, placed in found for word in contact_words(placed)):
                if word.text not in kept:
                    hangul.setdefault(word.text, word)
                # each name where a layer reads it tightest: on a busy layer tesseract's
                # box takes in specks beside it (전화 over an ID's first digit)
                if word.text not in names or word.right - word.left < names[word.text].right - names[word.text].left:
                    names[word.text] = word
            out.append((list(hangul.values()), list(names.values())))
        return out

    def _words(self, page: Image.Image, budget: ocr.Budget) -> list[ocr.Word]:
        if budget.remaining() <= 0:
            budget.capped.add("seconds")
            return []
        words = self.tesseract.words(page, self.languages, budget.remaining())
        if words is None:
            budget.capped.add("seconds")
            return []
        return words


def plain(reading: str) -> str:
    """A recogniser's reading with its Chinese characters dropped (Korean listings do not
    write them: they are misread Hangul) and its full-width punctuation made plain
    (``：`` to ``:``, as the rules expect).

    >>> plain("카톡：abc 龍門 12")
    '카톡:abc 12'
    """
    return " ".join(_IDEOGRAPHS.sub(" ", unicodedata.normalize("NFKC", reading)).split())


def contact_words(words: list[ocr.Word]) -> list[ocr.Word]:
    """The words of :func:`contact_lexicon` in tesseract's ``words`` of one layer (left
    to right), each placed over the words it is read from: read across the spaces
    tesseract puts between syllables (``계 좌 농협``) but not across anything else; a
    word inside a longer one found (토스 in 토스뱅크) is not repeated.

    >>> texts = ["게", "계", "좌", "농협", "10023383-950141", "하", "]", "나"]
    >>> [(w.text, w.left, w.right) for w in contact_words([ocr.Word(t, 10 * i, 10 * i + 8, 9) for i, t in enumerate(texts)])]
    [('계좌', 10, 28), ('농협', 30, 38)]
    """
    found: list[ocr.Word] = []
    run: list[ocr.Word] = []
    for word in [*words, None]:
        if word is not None and _SYLLABLES.fullmatch(word.text):
            run.append(word)
            continue
        spelt = "".join(w.text for w in run)
        syllable_word = [w for w in run for _ in w.text]  # the word each syllable comes from
        for name in contact_lexicon():  # longest first
            start = spelt.find(name)
            if start >= 0 and not any(name in other.text for other in found):
                first, last = syllable_word[start], syllable_word[start + len(name) - 1]
                found.append(first._replace(text=name, right=last.right))
        run = []
    return found


def reconciled(text: str, centres: np.ndarray, hangul: list[ocr.Word], names: list[ocr.Word]) -> tuple[str, list[str]]:
    """The recogniser's reading ``text`` (each character centred at ``centres``) and
    tesseract's ``hangul`` words on one line, each rid of what it reads where the other
    reads its own script: the recogniser reads a Hangul name as Latin letters and digits
    (라인 as ``2ll``) and tesseract reads Latin letters as Hangul syllables (``asnrh731``
    as ``다 7731``), both landing between the name and the ID. So the recogniser's
    characters over tesseract's contact words (``names``) go, then tesseract's other
    Hangul words over a Latin letter or digit the recogniser keeps. Two readings are kept
    whole: a name's box over the middle of a word the recogniser reads running out of it
    on both sides (a layer read ``아디`` over ``dxxzscz187``'s middle) covers nothing, and
    a character within half a character of a box's edge, running on into the word beyond
    it, stays (``은행``'s box over ``1000-996-377675``'s first digit).

    >>> words = [ocr.Word("라인", 0, 25, 9), ocr.Word("다", 50, 60, 9)]
    >>> reconciled("2ll minsu88", np.arange(11) * 10.0, words, words[:1])
    (' minsu88', ['라인'])
    >>> reconciled("dxxzscz187", np.arange(10) * 10.0, [ocr.Word("아디", 35, 65, 9)], [ocr.Word("아디", 35, 65, 9)])
    ('dxxzscz187', ['아디'])
    >>> reconciled("e1000-996", np.arange(9) * 10.0, [ocr.Word("은행", 0, 12, 9)], [ocr.Word("은행", 0, 12, 9)])
    ('1000-996', ['은행'])
    """
    def within(x: float, spans) -> bool:
        return any(word.left <= x <= word.right for word in spans)

    half = float(np.median(np.diff(centres))) / 2 if len(centres) > 1 else 0.0
    covering = [name for name in names if not _over_a_word(text, centres, name)]

    def under_a_name(i: int) -> bool:
        x = centres[i]
        for name in covering:
            if not name.left <= x <= name.right:
                continue
            runs_right = x > name.right - half and i + 1 < len(text) and _latin(text[i + 1]) and centres[i + 1] > name.right
            runs_left = x < name.left + half and i > 0 and _latin(text[i - 1]) and centres[i - 1] < name.left
            if not (runs_right or runs_left):
                return True
        return False

    kept = [(ch, x) for i, (ch, x) in enumerate(zip(text, centres)) if not under_a_name(i)]
    latin = [x for ch, x in kept if _latin(ch)]
    words = [w.text for w in hangul
             if within((w.left + w.right) / 2, names) or not any(w.left <= x <= w.right for x in latin)]
    return "".join(ch for ch, _ in kept), words


def _over_a_word(text: str, centres: np.ndarray, name: ocr.Word) -> bool:
    """Whether the characters the recogniser read under ``name``'s box are the middle of
    one word of its reading that runs on out of the box on both sides in Latin letters or digits."""
    under = [i for i, x in enumerate(centres) if name.left <= x <= name.right]
    if not under or any(ch.isspace() for ch in text[under[0]:under[-1] + 1]):
        return False
    start = text.rfind(" ", 0, under[0]) + 1
    end = text.find(" ", under[-1])
    end = len(text) if end < 0 else end
    return (any(_latin(text[i]) and centres[i] < name.left for i in range(start, under[0]))
            and any(_latin(text[i]) and centres[i] > name.right for i in range(under[-1] + 1, end)))


def _latin(ch: str) -> bool:
    """Whether ``ch`` is a Latin letter or a digit (an ID's or a number's character)."""
    return ch.isascii() and ch.isalnum()


@functools.cache
def contact_lexicon() -> tuple[str, ...]:
    """The Hangul words by which the text rules tell a contact detail, longest first:
    banks' names (:mod:`~bunjang_lab.fraud.rules`), messengers' names
    (:mod:`~bunjang_lab.fraud.patterns`), and the words naming an account, an ID or a phone."""
    from bunjang_lab.fraud import patterns, rules

    names = (*rules.BANK_NAMES, *patterns.KAKAO_WORDS, *patterns.TELEGRAM_WORDS, *patterns.LINE_WORDS,
             *patterns.WECHAT_WORDS, *patterns.WHATSAPP_WORDS, *patterns.ID_MARKER_WORDS,
             "은행", "뱅크", "계좌", "입금", "송금", "이체", "예금주", "전화", "연락처", "문의")
    # the expressions' words as written: optional spaces and look-arounds dropped
    plain = (re.sub(r"\(\?.*?\)| \?", "", name) for name in names)
    return tuple(sorted({word for word in plain if _SYLLABLES.fullmatch(word)}, key=lambda w: (-len(w), w)))


def may_hold_words(line: np.ndarray, reading: str) -> bool:
    """Whether a detected ``line`` the recogniser read as ``reading`` may hold words worth
    tesseract's Korean reading: not when it is shaped like one character (grown by
    :data:`UNCLIP`, one glyph is about as wide as tall, two are 1.4 times wider) *and* read
    as at most one letter or digit. Lines of Hangul alone are often read as nothing at
    all, so the reading alone cannot decide; on the 14 real photos and 30 sample pictures
    without text, the detector's only regions were a cup's rim, a fold and two patterns
    read ``C``, ``L``, ``7``, ``Q`` (0.7-1.13 times wider than tall) and a flag's stars.

    >>> square, wide = np.zeros((40, 42, 3)), np.zeros((40, 70, 3))
    >>> [may_hold_words(square, "C"), may_hold_words(square, "국민"), may_hold_words(wide, "")]
    [False, True, True]
    """
    return line.shape[1] >= ONE_GLYPH_WIDTH * line.shape[0] or sum(ch.isalnum() for ch in reading) >= 2


def _recognised(ppocr: PpOcr, img: Image.Image, budget: ocr.Budget) -> tuple[list[np.ndarray], list[str]]:
    """The picture's detected lines (within ``budget``) and the recogniser's raw readings."""
    if budget.remaining() <= 0:
        budget.capped.add("seconds")
        return [], []
    lines, capped = ppocr.lines(np.asarray(img.convert("RGB")), budget.max_lines)
    if capped:
        budget.capped.add("lines")
    if not lines:
        return [], []
    if budget.remaining() <= 0:
        budget.capped.add("seconds")
        return [], []
    return lines, ppocr.recognise(lines)


def _layers(line: np.ndarray) -> tuple[list[np.ndarray], slice]:
    """A straightened line's ink layers at :data:`~bunjang_lab.fraud.images.ocr.LINE_HEIGHT`:
    its grey threshold and its colour clusters (the detector's box hugs the letters, so
    a margin of the line's own edge pixels is added first), and the columns of the
    layers the line itself spans."""
    pad = max(2, line.shape[0] // 4)
    padded = Image.fromarray(np.pad(line, ((pad, pad), (pad, pad), (0, 0)), mode="edge"))
    box = (pad, pad, pad + line.shape[1], pad + line.shape[0])
    grey_line, inner = ocr.cut_line(padded.convert("L"), box)
    grey = ocr.grey_ink(grey_line, inner)
    return ([grey] if grey is not None else []) + ocr.colour_inks(ocr.cut_line(padded, box)[0]), inner[1]


def _agreement(tesseract_text: str, recognised: str) -> float:
    """How well tesseract's digits and Latin letters on a layer match the recogniser's,
    a little more for each Hangul syllable (lines without any Latin: the layer with most
    Hangul wins).

    >>> _agreement("국민 123-45", "123-45") > _agreement("극 l23-4S", "123-45")
    True
    """
    latin = _NOT_ALNUM.sub("", _HANGUL.sub("", tesseract_text))
    return SequenceMatcher(None, latin, _NOT_ALNUM.sub("", recognised)).ratio() + 0.01 * len(_HANGUL.findall(tesseract_text))


def _models() -> Path:
    """The folder of the ONNX files inside the installed ``rapidocr_onnxruntime`` (found
    without importing the package)."""
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise MissingInput("rapidocr_onnxruntime is not installed (the `ocr` extra ships PP-OCR's models)")
    return Path(spec.submodule_search_locations[0]) / "models"


def _model_input(rgb: np.ndarray) -> np.ndarray:
    """An RGB picture as PP-OCR's models take it: channels first in OpenCV's order (blue,
    green, red: PaddleOCR trains on ``cv2.imread``), scaled to -1..1. Given RGB instead,
    as rapidocr was when handed an array, flagged 0.846 of the 117 development pictures
    the rules flag, 0.889 in this order (docs/images.md)."""
    return (rgb[..., ::-1].astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)


def _regions(probability: np.ndarray) -> list[np.ndarray]:
    """The text regions of the detector's probability map (DB post-processing, as
    PP-OCR does it): pixels above :data:`TEXT_PROBABILITY`, dilated by one, each
    connected region's smallest rectangle kept when its mean probability reaches
    :data:`REGION_PROBABILITY`, then grown by :data:`UNCLIP` (distance area × ratio /
    perimeter) into the rectangle of its line."""
    import cv2
    import pyclipper

    mask = cv2.dilate((probability > TEXT_PROBABILITY).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    regions = []
    for contour in contours:
        rectangle = cv2.minAreaRect(contour)
        if min(rectangle[1]) < MIN_REGION_SIDE:
            continue
        corners = cv2.boxPoints(rectangle)
        if _mean_inside(probability, corners) < REGION_PROBABILITY:
            continue
        distance = cv2.contourArea(corners) * UNCLIP / cv2.arcLength(corners, True)
        offset = pyclipper.PyclipperOffset()
        offset.AddPath(corners.tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
        grown = cv2.minAreaRect(np.array(offset.Execute(distance), dtype=np.float32).reshape(-1, 2))
        if min(grown[1]) < MIN_REGION_SIDE + 2:
            continue
        regions.append(_corners_in_order(cv2.boxPoints(grown)))
    return regions


def _mean_inside(probability: np.ndarray, corners: np.ndarray) -> float:
    """The mean of ``probability`` inside the quadrilateral ``corners``."""
    import cv2

    height, width = probability.shape
    left, top = np.clip(np.floor(corners.min(axis=0)).astype(int), 0, (width - 1, height - 1))
    right, bottom = np.clip(np.ceil(corners.max(axis=0)).astype(int), 0, (width - 1, height - 1))
    mask = np.zeros((bottom - top + 1, right - left + 1), dtype=np.uint8)
    cv2.fillPoly(mask, [(corners - (left, top)).astype(np.int32)], 1)
    return cv2.mean(probability[top:bottom + 1, left:right + 1], mask)[0]


def _corners_in_order(corners: np.ndarray) -> np.ndarray:
    """The four ``corners`` as top left, top right, bottom right, bottom left."""
    by_x = corners[np.argsort(corners[:, 0], kind="stable")]
    (top_left, bottom_left), (top_right, bottom_right) = (sorted(pair.tolist(), key=lambda c: c[1]) for pair in (by_x[:2], by_x[2:]))
    return np.array([top_left, top_right, bottom_right, bottom_left], dtype=np.float32)


def _clipped(quad: np.ndarray, width: int, height: int) -> np.ndarray:
    """``quad`` in whole pixels inside a picture of ``width`` × ``height``."""
    return np.clip(_corners_in_order(quad), 0, (width - 1, height - 1)).astype(np.int32).astype(np.float32)


def _reading_order(quads: list[np.ndarray]) -> list[np.ndarray]:
    """Top to bottom, and left to right among regions whose tops are within 10 pixels."""
    ordered = sorted(quads, key=lambda q: (q[0][1], q[0][0]))
    for i in range(len(ordered) - 1):
        for j in range(i, -1, -1):
            if abs(ordered[j + 1][0][1] - ordered[j][0][1]) < 10 and ordered[j + 1][0][0] < ordered[j][0][0]:
                ordered[j], ordered[j + 1] = ordered[j + 1], ordered[j]
            else:
                break
    return ordered


def _straightened(rgb: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The region ``quad`` of ``rgb`` warped to an upright rectangle (turned a quarter when
    it stands 1.5 times taller than wide: a vertical line)."""
    import cv2

    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    line = cv2.warpPerspective(rgb, cv2.getPerspectiveTransform(quad, target), (width, height),
                               borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    return np.rot90(line) if line.shape[0] >= 1.5 * line.shape[1] else line


def _ctc_text(best: np.ndarray, characters: list[str]) -> tuple[str, np.ndarray]:
    """CTC decoding of the recogniser's most likely class per column: repeats merged,
    blanks (class 0) dropped; and the column each character was read at."""
    kept = np.ones(len(best), dtype=bool)
    kept[1:] = best[1:] != best[:-1]
    steps = np.flatnonzero(kept & (best != 0))
    return "".join(characters[i] for i in best[steps]), steps


def _side(quad: np.ndarray, corner: int) -> float:
    """The length of a quadrilateral's side from its top left corner to ``corner`` (1: the
    top side, its width; 3: the left side, its height)."""
    return float(np.linalg.norm(quad[0] - quad[corner]))


def _area(quad) -> float:
    """Area of a detected quadrilateral (shoelace formula)."""
    x, y = np.asarray(quad, dtype=np.float64).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
