"""The edits a reused photo goes through before it is posted again: recompression, resizing,
crops, brightness, mirroring, text and watermarks. They define what the matcher must see
through; the tests and ``benchmarks/images.py`` measure it against this one catalogue.

>>> from PIL import Image
>>> photo = Image.new("RGB", (200, 100), "navy")
>>> crop(photo, 0.1, 0, 0, 0.2).size, jpeg(photo, 30).size
((180, 80), (200, 100))
>>> sorted(catalogue(random.Random(7)))[:3]
['brightness +25%', 'brightness -25%', 'crop 10% all sides']
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Callable

from PIL import Image, ImageDraw, ImageEnhance, ImageFont

FONTS = Path("/usr/share/fonts/truetype")  # Debian's fonts-nanum and fonts-dejavu-core
OVERLAY_FONTS = ("nanum/NanumGothicBold.ttf", "nanum/NanumGothic.ttf", "nanum/NanumMyeongjo.ttf",
                 "dejavu/DejaVuSans-Bold.ttf")


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    """The picture saved as JPEG at ``quality`` and decoded again."""
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def crop(img: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    """The picture without the given shares of its width and height on each side."""
    w, h = img.size
    return img.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


def text_overlay(img: Image.Image) -> Image.Image:
    """A seller's white, outlined line of text near the bottom (a contact lure)."""
    img = img.copy()
    font = ImageFont.truetype(str(FONTS / "nanum/NanumGothicBold.ttf"), max(12, img.width // 22))
    ImageDraw.Draw(img).text((img.width * 0.05, img.height * 0.8), "카톡 abc1234 급처 010-1234-5678",
                             font=font, fill="white", stroke_width=2, stroke_fill="black")
    return img


def watermark(img: Image.Image) -> Image.Image:
    """A large half-transparent "SAMPLE" across the middle."""
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    font = ImageFont.truetype(str(FONTS / "dejavu/DejaVuSans-Bold.ttf"), max(12, img.width // 8))
    ImageDraw.Draw(layer).text((img.width * 0.15, img.height * 0.4), "SAMPLE", font=font, fill=(255, 255, 255, 110))
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def random_overlay(img: Image.Image, rng: random.Random) -> Image.Image:
    """Text or a watermark of random font, size (1/25 to 1/7 of the width), colour,
    opacity, outline and place: what the fixed overlays above could be tuned to."""
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    font = ImageFont.truetype(str(FONTS / rng.choice(OVERLAY_FONTS)), int(img.width * rng.uniform(1 / 25, 1 / 7)))
    colour = rng.choice([(255, 255, 255), (0, 0, 0), (255, 40, 40), (255, 230, 0), (30, 90, 255)])
    alpha = rng.choice([255, 255, 110, 160])
    outline = (255, 255, 255) if colour == (0, 0, 0) else (0, 0, 0)
    ImageDraw.Draw(layer).text((img.width * rng.uniform(0, 0.4), img.height * rng.uniform(0.05, 0.85)),
                               rng.choice(["카톡 abc1234", "010-9876-5432", "SAMPLE", "© shop_kim", "급처 카톡 qwe77"]),
                               font=font, fill=(*colour, alpha), stroke_width=rng.choice([0, 0, 2]), stroke_fill=(*outline, alpha))
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def catalogue(rng: random.Random) -> dict[str, Callable[[Image.Image], Image.Image]]:
    """Every edit by name; ``rng`` picks the sides, shares and overlays of the random ones."""
    side = lambda: rng.uniform(0, 0.1)  # noqa: E731
    return {
        "jpeg q30": lambda im: jpeg(im, 30),
        "resize 0.25x": lambda im: im.resize((im.width // 4, im.height // 4), Image.Resampling.BILINEAR),
        "crop 10% all sides": lambda im: crop(im, 0.1, 0.1, 0.1, 0.1),
        "crop 10% one side": lambda im: crop(im, *rng.choice([(0.1, 0, 0, 0), (0, 0.1, 0, 0), (0, 0, 0.1, 0), (0, 0, 0, 0.1)])),
        "crop 10% two sides": lambda im: crop(im, *rng.choice([(0.1, 0.1, 0, 0), (0, 0, 0.1, 0.1), (0.1, 0, 0, 0.1)])),
        "random crop <=10%/side": lambda im: crop(im, side(), side(), side(), side()),
        "brightness +25%": lambda im: ImageEnhance.Brightness(im).enhance(1.25),
        "brightness -25%": lambda im: ImageEnhance.Brightness(im).enhance(0.75),
        "mirror": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        "text overlay": text_overlay,
        "watermark": watermark,
        "random text or watermark": lambda im: random_overlay(im, rng),
        "mirror+crop+resize+jpeg50": lambda im: jpeg(crop(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), side(), side(), side(),
                                                          side()).resize((im.width // 2, im.height // 2)), 50),
    }
