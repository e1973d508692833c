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
