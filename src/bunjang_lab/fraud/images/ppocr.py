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
0.1-0.2 CPU seconds a picture, once the models are loaded (half a second, once per
process). Both keep to the picture's :class:`~bunjang_lab.fraud.images.ocr.Budget`: the detector
sees at most :data:`DETECT_SIDE` pixels a side, at most ``max_lines`` lines (the
largest) are read, the tesseract page is cut at ``max_page_pixels`` and each step runs
only while CPU seconds remain.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

import numpy as np
from PIL import Image

from bunjang_lab.fraud.images import ocr

#: Longest side of the copy the detector reads (PP-OCR's own default scales the *short*
#: side up to 736, three times the work on a phone photo for no gain in recall here).
DETECT_SIDE = 960
#: How far a detected text region is grown into its line's box (PP-OCR's 1.6 cuts the
#: tops of Hangul syllables, which tesseract then misreads): Hangul words read on 28
#: rendered busy-photo lines, 0.55 at 1.6, 0.67 at 2.0, 0.54 at 2.4.
UNCLIP = 2.0
_IDEOGRAPHS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


class PpOcr:
    """The detector and recogniser, loaded on first use (about half a second) and kept
    for the process."""

    _engine = None

    @classmethod
    def _loaded(cls):
        if cls._engine is None:
            from rapidocr_onnxruntime import RapidOCR

            cls._engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, det_limit_type="max",
                                   det_limit_side_len=DETECT_SIDE, det_unclip_ratio=UNCLIP)
        return cls._engine

    def lines(self, rgb: np.ndarray, max_lines: int) -> tuple[list[np.ndarray], bool]:
        """The text lines of the picture ``rgb`` (H×W×3 uint8), straightened, top to
        bottom, at most ``max_lines`` of them (the largest), and whether more were found."""
        engine = self._loaded()
        quads, _ = engine.text_det(rgb)
        if quads is None or not len(quads):
            return [], False
        quads = list(quads)
        capped = len(quads) > max_lines
        if capped:
            quads = sorted(quads, key=lambda q: -_area(q))[:max_lines]
        return engine.get_crop_img_list(rgb, engine.sorted_boxes(np.asarray(quads, dtype=np.float32))), capped

    def recognise(self, lines: list[np.ndarray]) -> list[str]:
        """What the recogniser reads on each line, its Chinese characters dropped and its
        full-width punctuation made plain (``：`` to ``:``, as the rules expect)."""
        readings, _ = self._loaded().text_rec(lines)
        return [" ".join(_IDEOGRAPHS.sub(" ", unicodedata.normalize("NFKC", text)).split()) for text, _score in readings]


class PpOcrEngine:
    """Detected lines read by PP-OCR's recogniser alone (digits and Latin; no Hangul)."""

    name = "ppocr"
    detects = True

    def __init__(self, ppocr: PpOcr | None = None):
        self.ppocr = ppocr or PpOcr()

    def read(self, img: Image.Image, boxes: list, budget: ocr.Budget) -> list[str]:
        return _recognised(self.ppocr, img, budget)[1]


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
        lines, readings = _recognised(self.ppocr, img, budget)
        hangul = self._hangul(lines, readings, budget)
        return [ocr.combine_readings(korean, reading) for korean, reading in zip(hangul, readings)]

    def _hangul(self, lines: list[np.ndarray], readings: list[str], budget: ocr.Budget) -> list[str]:
        """Per line, the Hangul words tesseract reads on its best layers ("" when none)."""
        inks, owners = [], []
        for number, line in enumerate(lines):
            for ink in _layers(line):
                inks.append(ink)
                owners.append(number)
        page, rows = ocr.stack_lines(inks)
        if page is None:
            return [""] * len(lines)
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
        layers: list[list[tuple[float, list[str]]]] = [[] for _ in lines]
        for row, owner in zip(by_row, owners):
            text = " ".join(w.text for w in sorted(row, key=lambda w: w.left))
            layers[owner].append((_agreement(text, readings[owner]), [w for w in text.split() if _HANGUL.search(w)]))
        out = []
        for found in layers:
            best = max((score for score, _ in found), default=0.0)
            # every layer as clean as the best one (the grey and the letters' colour often
            # tie): each misreads other syllables (on 120 rendered pictures, taking the
            # layers within 0.2 of the best flagged 0.875 of them, these 0.883)
            out.append(" ".join(dict.fromkeys(w for score, hangul in found if score == best for w in hangul)))
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


def _recognised(ppocr: PpOcr, img: Image.Image, budget: ocr.Budget) -> tuple[list[np.ndarray], list[str]]:
    """The picture's detected lines (within ``budget``) and the recogniser's readings."""
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


def _layers(line: np.ndarray) -> list[np.ndarray]:
    """A straightened line's ink layers at :data:`~bunjang_lab.fraud.images.ocr.LINE_HEIGHT`:
    its grey threshold and its colour clusters (the detector's box hugs the letters, so
    a margin of the line's own edge pixels is added first)."""
    pad = max(2, line.shape[0] // 4)
    padded = Image.fromarray(np.pad(line, ((pad, pad), (pad, pad), (0, 0)), mode="edge"))
    box = (pad, pad, pad + line.shape[1], pad + line.shape[0])
    grey = ocr.grey_ink(*ocr.cut_line(padded.convert("L"), box))
    return ([grey] if grey is not None else []) + ocr.colour_inks(ocr.cut_line(padded, box)[0])


def _agreement(tesseract_text: str, recognised: str) -> float:
    """How well tesseract's digits and Latin letters on a layer match the recogniser's,
    a little more for each Hangul syllable (lines without any Latin: the layer with most
    Hangul wins).

    >>> _agreement("국민 123-45", "123-45") > _agreement("극 l23-4S", "123-45")
    True
    """
    latin = _NOT_ALNUM.sub("", _HANGUL.sub("", tesseract_text))
    return SequenceMatcher(None, latin, _NOT_ALNUM.sub("", recognised)).ratio() + 0.01 * len(_HANGUL.findall(tesseract_text))


def _area(quad) -> float:
    """Area of a detected quadrilateral (shoelace formula)."""
    x, y = np.asarray(quad, dtype=np.float64).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
