"""OCR of contact details written straight onto a busy photograph (cat fur)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw, ImageFont

from bunjang_lab.fraud.images import ocr
from bunjang_lab.fraud.images.scan import text_reasons

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def on_fur(colour) -> Image.Image:
    img = Image.fromarray(skimage.data.chelsea()).resize((640, 480))
    ImageDraw.Draw(img).text((150, 200), "kakao: mejpd886", fill=colour, font=ImageFont.truetype(str(FONT), 26))
    return img


def fires(text: str) -> bool:
    return any(r["code"] == "image_text" for r in text_reasons(text))


# black letters over dark and light fur, and a light blue with the fur's grey level: the
# grey threshold mixes the letters with the fur there (it reads "kaka: adic 386" and noise)
@pytest.mark.parametrize("colour", [(20, 20, 20), (60, 200, 230)])
def test_the_colour_split_page_reads_text_on_fur_and_the_rules_fire(colour):
    img = on_fur(colour)
    boxes = ocr.text_lines(img)
    assert boxes  # the prefilter keeps the picture
    page = ocr.colour_page(img, boxes)
    assert page is not None and page.mode == "L"
    assert fires(" / ".join(ocr._read_page(page, ocr.LANGUAGE_PASSES, ocr.Budget(), ocr.TESSERACT)))
    assert fires(ocr.read_text(img, boxes=boxes))


def test_colour_page_keeps_only_layers_inside_the_line():
    # a flat banner: the background runs off the line's sides, so only the letters' layer
    # (and their anti-aliased rims) remain, not a layer for the banner
    img = Image.new("RGB", (400, 100), (200, 60, 60))
    ImageDraw.Draw(img).text((20, 35), "call 010 2345 6789", fill="white", font=ImageFont.truetype(str(FONT), 24))
    page = np.asarray(ocr.colour_page(img, ocr.text_lines(img)))
    assert 0 < (page == 0).mean() < 0.2  # letters' strokes, no banner-filled layer
    assert ocr.colour_page(img, []) is None


def test_small_light_text_on_a_busy_suit_is_found_first_and_read():
    # 18 px letters on the astronaut's suit: at the ordinary grey step their edges merge
    # with the suit's folds into one blob too big to be a line; the strong-step pass finds them
    img = Image.fromarray(skimage.data.astronaut()).resize((400, 300))
    ImageDraw.Draw(img).text((158, 167), "010-8962-2685", fill=(240, 240, 240), font=ImageFont.truetype(str(FONT), 18))
    left, top, right, bottom = ocr.text_lines(img)[0]
    assert abs(left - 158) <= 3 and abs(top - 168) <= 3 and right >= 270 and bottom <= 190
    assert fires(ocr.read_text(img))


# --- engines ---------------------------------------------------------------------------

KOREAN_FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")


def drawn_on_photo(text: str, colour, outline: int, angle: float, photo: str = "coffee") -> Image.Image:
    """``text`` drawn straight onto a busy photo (no box behind it), outlined and turned."""
    img = Image.fromarray(getattr(skimage.data, photo)()).resize((480, 320)).convert("RGBA")
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((30, 140), text, font=ImageFont.truetype(str(KOREAN_FONT), 26), fill=colour,
                               stroke_width=outline, stroke_fill=(0, 0, 0) if sum(colour) > 380 else (255, 255, 255))
    return Image.alpha_composite(img, layer.rotate(angle, resample=Image.Resampling.BICUBIC)).convert("RGB")


@pytest.fixture(scope="module")
def hybrid():
    return ocr.Reader(engine=ocr.make_engine("ppocr+tesseract"))


# on the coffee, tesseract's layer that agrees best with the recogniser's digits misreads
# 신한은행, and other layers read it whole: a bank's name read on any layer is kept
@pytest.mark.parametrize("text, detail, colour, outline, angle, photo", [
    ("신한은행 110-482-719305", "110482719305", (255, 230, 0), 2, 4.0, "chelsea"),
    ("신한은행 110-482-719305", "110482719305", (255, 230, 0), 2, 4.0, "coffee"),
    ("카톡: qmrdx417", "qmrdx417", (255, 230, 0), 2, 3.0, "coffee"),
    ("문의 010-6372-4815", "01063724815", (255, 40, 40), 2, 0.0, "coffee"),
])
def test_ppocr_with_tesseract_reads_contact_details_on_a_busy_photo(hybrid, text, detail, colour, outline, angle, photo):
    reading = hybrid.read(drawn_on_photo(text, colour, outline, angle, photo))
    assert reading.how == "ocr" and reading.capped == ()
    squeezed = reading.text.replace(" ", "").replace("-", "")
    assert detail in squeezed
    assert fires(reading.text)  # the Korean word came with it: "신한"/"카톡"/"문의" next to the detail


def test_ppocr_alone_reads_the_digits_but_not_the_hangul():
    reading = ocr.Reader(engine=ocr.make_engine("ppocr")).read(drawn_on_photo("신한은행 110-482-719305", (255, 230, 0), 2, 4.0))
    assert "110-482-719305" in reading.text
    assert not any("\u3400" <= ch <= "\u9fff" for ch in reading.text)  # misread Hangul dropped, not shown as Chinese
    codes = {r["code"] for r in text_reasons(reading.text)}  # the bank's name is missing: flagged by the number's shape
    assert "account_shaped_number" in codes and "bank_account" not in codes


# on the cat, the recogniser reads 라인 as "2" and tesseract the ID's letters as "다": each
# script is taken from the engine that reads it where the other reads its own
@pytest.mark.parametrize("text, messenger_id", [("라인 minsu88", "minsu88"), ("라인 asnrh731", "asnrh731")])
def test_ppocr_with_tesseract_reads_a_messenger_name_and_id_side_by_side(hybrid, text, messenger_id):
    reading = hybrid.read(drawn_on_photo(text, (255, 230, 0), 2, 3.0, "chelsea"))
    assert reading.text.endswith(f"라인 {messenger_id}") and fires(reading.text)


def test_misreadings_between_a_contact_word_and_an_id_are_dropped():
    from bunjang_lab.fraud.images import ppocr

    # a synthetic line "예쁜 라인 minsu88": the recogniser's "2ll" lies under tesseract's 라인,
    # tesseract's "다" over the recogniser's "m", and "예쁜" over nothing the recogniser read
    elsewhere, name, inside_id = ocr.Word("예쁜", 0, 40, 20), ocr.Word("라인", 50, 100, 20), ocr.Word("다", 118, 132, 20)
    centres = np.array([60.0, 75, 90, 110, 125, 140, 155, 170, 185, 200, 215])
    reading, words = ppocr.reconciled("2ll minsu88", centres, [elsewhere, name, inside_id], [name])
    assert (reading.strip(), words) == ("minsu88", ["예쁜", "라인"])
    assert fires(ocr.combine_readings(" ".join(words), reading))
    assert not fires(ocr.combine_readings("예쁜 라인 다", "2ll minsu88"))  # as read before
    # syllables tesseract reads apart are placed over the whole name
    placed = ppocr.contact_words([ocr.Word("라", 10, 32, 20), ocr.Word("인", 36, 60, 20), ocr.Word("minsu88", 66, 180, 20)])
    assert [(w.text, w.left, w.right) for w in placed] == [("라인", 10, 60)]


class PlacedWords(ocr.Tesseract):
    """A tesseract that reads the given words on the page's ink layers, one list per layer
    (each placed in the layer's own pixels)."""

    def __init__(self, per_layer):
        self.per_layer = per_layer

    def words(self, page, languages, cpu_seconds):
        _, rows = ocr.stack_lines([np.ones((ocr.LINE_HEIGHT, 400), dtype=bool)] * len(self.per_layer))
        pad = ocr.LINE_HEIGHT // 2  # the page's margin, left of every layer
        return [word._replace(left=word.left + pad, right=word.right + pad, middle=(top + bottom) / 2)
                for words, (top, bottom) in zip(self.per_layer, rows) for word in words]


class OneLine:
    """A detector and recogniser that find one 400 px line and read it as given."""

    def __init__(self, text, centres):
        self.text, self.centres = text, np.asarray(centres, dtype=float)

    def lines(self, rgb, max_lines):
        return [np.zeros((56, 400, 3), dtype=np.uint8)], False

    def recognise(self, lines):
        return [(self.text, self.centres)]


def test_a_contact_word_is_placed_where_a_layer_reads_it_tightest(monkeypatch):
    from bunjang_lab.fraud.images import ppocr

    # two layers read 전화; on the busy one tesseract's box takes in specks over the
    # number's first digit, the clean one's ends before it
    monkeypatch.setattr(ppocr, "_layers", lambda line: ([np.ones((ocr.LINE_HEIGHT, 400), dtype=bool)] * 2, slice(0, 400)))
    busy, clean = [ocr.Word("전화", 0, 130, 0)], [ocr.Word("전화", 4, 92, 0)]
    recognised = OneLine("2l 010-6372-4815", [30, 60, 90, *range(118, 118 + 13 * 13, 13)])
    for per_layer in ([busy, clean], [clean, busy]):
        engine = ppocr.PpOcrTesseractEngine(recognised, tesseract=PlacedWords(per_layer))
        assert engine.read(Image.new("RGB", (400, 56)), [], ocr.Budget().start()) == ["전화 010-6372-4815"]


def test_the_ppocr_engines_keep_to_the_budget():
    img = Image.new("RGB", (900, 1700), "white")
    draw = ImageDraw.Draw(img)
    for n in range(55):
        draw.text((20, 10 + 30 * n), f"{n} 카톡 seller{n:03d} 문의 010-{1000 + n}-{5000 + n} 택배비 포함",
                  font=ImageFont.truetype(str(KOREAN_FONT), 22), fill="black")
    engine = ocr.make_engine("ppocr+tesseract")
    reading = ocr.Reader(engine=engine).read(img)
    assert "lines" in reading.capped and fires(reading.text)
    assert len(reading.text.split(" / ")) <= ocr.MAX_LINES
    out_of_time = ocr.Reader(engine=engine, budget=ocr.Budget(seconds=0.01)).read(img)
    assert "seconds" in out_of_time.capped


def test_the_engine_is_chosen_by_setting(monkeypatch):
    assert ocr.make_engine().name == ocr.DEFAULT_ENGINE
    monkeypatch.setenv(ocr.ENGINE_SETTING, "tesseract")
    assert ocr.make_engine().name == "tesseract" and ocr.Reader().engine.name == "tesseract"
    monkeypatch.setenv(ocr.ENGINE_SETTING, "easyocr")
    with pytest.raises(ocr.InvalidInput, match="unknown OCR engine 'easyocr'"):
        ocr.make_engine()


def test_the_cache_keeps_a_reading_per_engine(tmp_path):
    class Fixed:
        detects = False

        def __init__(self, name):
            self.name = name

        def read(self, img, boxes, budget):
            return [f"read by {self.name}", f"read by {self.name}"]

    img = on_fur((20, 20, 20))
    cache = ocr.OcrCache(tmp_path / "ocr.sqlite")
    assert ocr.Reader(cache, engine=Fixed("a")).read(img) == ("read by a", "ocr", ())  # the repeated line once
    assert ocr.Reader(cache, engine=Fixed("b")).read(img) == ("read by b", "ocr", ())
    assert ocr.Reader(cache, engine=Fixed("a")).read(img) == ("read by a", "cache", ())


# --- what a picture costs -----------------------------------------------------------------


class NoTesseract(ocr.Tesseract):
    """A tesseract that must not be asked."""

    def words(self, page, languages, cpu_seconds):
        raise AssertionError("tesseract was asked")


def test_a_photo_without_text_never_loads_the_recogniser(monkeypatch):
    from bunjang_lab.fraud.images import ppocr

    monkeypatch.setattr(ppocr.PpOcr, "_sessions", {})
    engine = ppocr.PpOcrTesseractEngine(tesseract=NoTesseract())
    reading = ocr.Reader(engine=engine).read(Image.fromarray(skimage.data.chelsea()))
    assert reading == ("", "ocr", ())
    assert list(ppocr.PpOcr._sessions) == [ppocr.DETECTOR]


def test_a_lone_letter_is_read_but_not_given_to_tesseract():
    from bunjang_lab.fraud.images import ppocr

    img = Image.fromarray(skimage.data.coffee())
    ImageDraw.Draw(img).text((250, 120), "Q", fill="white", font=ImageFont.truetype(str(FONT), 60))
    reading = ocr.Reader(engine=ppocr.PpOcrTesseractEngine(tesseract=NoTesseract())).read(img)
    assert reading.text == "Q"


class InputShapes:
    """An onnxruntime session that records the shape of every input it runs on."""

    def __init__(self, session):
        self.session, self.shapes = session, []

    def get_inputs(self):
        return self.session.get_inputs()

    def run(self, outputs, feeds):
        self.shapes += [value.shape for value in feeds.values()]
        return self.session.run(outputs, feeds)


def test_the_detector_reads_a_large_photo_shrunk_and_answers_in_its_pixels(monkeypatch):
    from bunjang_lab.fraud.images import ppocr

    spy = InputShapes(ppocr.PpOcr._session(ppocr.DETECTOR))
    monkeypatch.setitem(ppocr.PpOcr._sessions, ppocr.DETECTOR, spy)
    img = Image.fromarray(skimage.data.coffee()).resize((3000, 2000))
    ImageDraw.Draw(img).text((900, 1200), "010-6372-4815", fill="white", stroke_width=4, stroke_fill="black",
                             font=ImageFont.truetype(str(FONT), 150))
    (quad,) = ppocr.PpOcr().detect(np.asarray(img))
    assert spy.shapes == [(1, 3, 640, 960)]  # longest side DETECT_SIDE, both multiples of 32
    left, top = quad.min(axis=0)
    right, bottom = quad.max(axis=0)
    assert abs(left - 900) < 60 and abs(top - 1230) < 60 and abs(right - 2000) < 100 and abs(bottom - 1350) < 60


def test_small_letters_on_a_small_photo_are_found_at_twice_its_size(monkeypatch):
    from bunjang_lab.fraud.images import ppocr

    spy = InputShapes(ppocr.PpOcr._session(ppocr.DETECTOR))
    monkeypatch.setitem(ppocr.PpOcr._sessions, ppocr.DETECTOR, spy)
    img = Image.fromarray(skimage.data.astronaut()).resize((400, 266))
    ImageDraw.Draw(img).text((40, 120), "카톡 wprx757", fill=(30, 90, 255),
                             font=ImageFont.truetype("/usr/share/fonts/truetype/nanum/NanumGothic.ttf", 12))
    (quad,) = ppocr.PpOcr().detect(np.asarray(img))
    assert spy.shapes == [(1, 3, 256, 384), (1, 3, 544, 800)]  # 12 px letters: nothing at its own size
    assert abs(quad.min(axis=0)[0] - 40) < 10 and abs(quad.min(axis=0)[1] - 120) < 10  # in the picture's pixels
    assert fires(ocr.Reader(engine=ocr.make_engine("ppocr+tesseract")).read(img).text)
    spy.shapes.clear()
    assert ppocr.PpOcr().detect(np.asarray(Image.fromarray(skimage.data.astronaut()).resize((176, 176)))) == []
    assert spy.shapes == [(1, 3, 192, 192)]  # a thumbnail is not looked at twice
