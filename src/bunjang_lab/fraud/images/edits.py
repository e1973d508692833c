"""The edits a reused photo goes through before it is posted again, with randomised
parameters: recompression, resizing, crops, brightness, mirroring, text and watermarks,
and what sellers add around or onto a photo (caption bands, stickers, frames, rotations,
collages, screenshots of a listing page, aspect changes, colour filters, heavy
down-scaling). They define what the matcher must see through; the tests and
``benchmarks/images.py`` measure it against this one catalogue.

>>> from PIL import Image
>>> photo = Image.new("RGB", (200, 100), "navy")
>>> crop(photo, 0.1, 0, 0, 0.2).size, jpeg(photo, 30).size
((180, 80), (200, 100))
>>> edits = catalogue(random.Random(7), others=[Image.new("RGB", (90, 60), "red")])
>>> sorted(edits)[:3]
['aspect change', 'banner top and bottom', 'brightness +25%']
>>> edits["rotate 90/180/270"](photo).size in {(100, 200), (200, 100)}
True
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Callable, Sequence

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

FONTS = Path("/usr/share/fonts/truetype")  # Debian's fonts-nanum and fonts-dejavu-core
OVERLAY_FONTS = ("nanum/NanumGothicBold.ttf", "nanum/NanumGothic.ttf", "nanum/NanumMyeongjo.ttf",
                 "dejavu/DejaVuSans-Bold.ttf")
CAPTIONS = ("급처 네고가능", "정품 새상품 팝니다", "SALE 50%", "택포 3만원", "직거래 가능 (강남역)",
            "카톡 문의 주세요", "FREE SHIPPING", "© shop_kim", "상태 최상 S급", "오늘만 이 가격")
PALETTE = ((255, 255, 255), (0, 0, 0), (240, 60, 60), (255, 214, 0), (30, 90, 255), (40, 170, 90),
           (250, 240, 225), (60, 60, 60), (255, 120, 180))


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


def _font(rng: random.Random, size: float, text: str = "") -> ImageFont.FreeTypeFont:
    """A random overlay font that has glyphs for ``text`` (DejaVu has no Hangul)."""
    hangul = any("\uac00" <= ch <= "\ud7a3" for ch in text)
    names = [f for f in OVERLAY_FONTS if f.startswith("nanum/") or not hangul]
    return ImageFont.truetype(str(FONTS / rng.choice(names)), max(8, int(size)))


def _contrasting(rng: random.Random, colour) -> tuple:
    """A palette colour far from ``colour`` (text on a band, a sticker's letters)."""
    return rng.choice([c for c in PALETTE if sum(abs(a - b) for a, b in zip(c, colour)) > 250])


def _write_centred(draw: ImageDraw.ImageDraw, box, text: str, rng: random.Random, fill) -> None:
    left, top, right, bottom = box
    font = _font(rng, (bottom - top) * rng.uniform(0.45, 0.75), text)
    while font.size > 8 and draw.textlength(text, font=font) > 0.95 * (right - left):
        font = ImageFont.truetype(font.path, font.size - 2)
    width = draw.textlength(text, font=font)
    x = left + rng.uniform(0.02, 0.98) * max(0.0, right - left - width) if rng.random() < 0.5 else (left + right - width) / 2
    draw.text((x, (top + bottom) / 2), text, font=font, fill=fill, anchor="lm")


def caption_band(img: Image.Image, rng: random.Random, where: str | None = None) -> Image.Image:
    """A solid band of 8-25% of the height with a line of text, at the top or bottom,
    added to the canvas or drawn over the photo."""
    where = where or rng.choice(["top", "bottom"])
    band = max(8, round(img.height * rng.uniform(0.08, 0.25)))
    colour = rng.choice(PALETTE)
    if rng.random() < 0.5:  # the band extends the canvas
        out = Image.new("RGB", (img.width, img.height + band), colour)
        out.paste(img, (0, band if where == "top" else 0))
        box = (0, 0, img.width, band) if where == "top" else (0, img.height, img.width, img.height + band)
    else:  # the band covers part of the photo
        out = img.copy()
        box = (0, 0, img.width, band) if where == "top" else (0, img.height - band, img.width, img.height)
        ImageDraw.Draw(out).rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=colour)
    _write_centred(ImageDraw.Draw(out), box, rng.choice(CAPTIONS), rng, _contrasting(rng, colour))
    return out


def banners(img: Image.Image, rng: random.Random) -> Image.Image:
    """A caption band at the top and another at the bottom, of different colours."""
    return caption_band(caption_band(img, rng, "top"), rng, "bottom")


def sticker(img: Image.Image, rng: random.Random) -> Image.Image:
    """One or two stickers (a disc, a rounded tag or a star-like burst with a word, 8-20%
    of the width each) pasted anywhere on the photo."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    for _ in range(rng.choice([1, 1, 2])):
        size = round(img.width * rng.uniform(0.08, 0.2))
        x, y = rng.uniform(0, img.width - size), rng.uniform(0, img.height - size)
        colour = rng.choice(PALETTE)
        shape = rng.choice(["disc", "tag", "burst"])
        if shape == "disc":
            draw.ellipse((x, y, x + size, y + size), fill=colour, outline=_contrasting(rng, colour), width=max(1, size // 20))
        elif shape == "tag":
            draw.rounded_rectangle((x, y, x + size * 1.4, y + size * 0.6), radius=size // 6, fill=colour)
        else:
            draw.regular_polygon((x + size / 2, y + size / 2, size / 2), n_sides=rng.choice([5, 6, 8, 12]),
                                 rotation=rng.uniform(0, 90), fill=colour)
        word = rng.choice(["SALE", "NEW", "급처", "HOT", "특가", "1+1"])
        font = _font(rng, size / 3.2, word)
        draw.text((x + size / 2, y + size / 2 if shape != "tag" else y + size * 0.3), word, font=font,
                  fill=_contrasting(rng, colour), anchor="mm")
    return out


def frame(img: Image.Image, rng: random.Random) -> Image.Image:
    """A border of 3-15% of the side around the photo: one colour, two nested colours, or
    the photo itself blurred and enlarged (fitted to a square canvas, as apps do)."""
    kind = rng.choice(["solid", "double", "blurred square"])
    if kind == "blurred square":
        side = max(img.size) + round(max(img.size) * rng.uniform(0.0, 0.15))
        background = img.resize((side, side)).filter(ImageFilter.GaussianBlur(side / 25))
        background.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
        return background
    widths = [round(min(img.size) * rng.uniform(0.03, 0.15)) for _ in range(4)]
    if rng.random() < 0.5:
        widths = [widths[0]] * 4  # most frames are even
    out = ImageOps.expand(img, border=tuple(widths), fill=rng.choice(PALETTE))
    if kind == "double":
        out = ImageOps.expand(out, border=max(2, widths[0] // 2), fill=rng.choice(PALETTE))
    return out


def rotate(img: Image.Image, rng: random.Random) -> Image.Image:
    """A quarter, half or three-quarter turn, mirrored half the time."""
    turned = img.transpose(rng.choice([Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270]))
    return turned.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.3 else turned


def collage(img: Image.Image, rng: random.Random, others: Sequence[Image.Image]) -> Image.Image:
    """The photo in a grid of 2 to 4 cells (side by side, stacked, 2x2, three in a row, or
    one big and two small) with other photos, each cell filled (cut to its aspect or
    stretched), separated by 0-12 px gaps of one colour."""
    layout = rng.choice(["1x2", "2x1", "2x2", "1x3", "3x1", "big+2"])
    cell = rng.randint(220, 420)
    gap = rng.choice([0, 0, 4, 8, 12])
    cells = {"1x2": [(0, 0, 1, 1), (1, 0, 1, 1)], "2x1": [(0, 0, 1, 1), (0, 1, 1, 1)],
             "2x2": [(0, 0, 1, 1), (1, 0, 1, 1), (0, 1, 1, 1), (1, 1, 1, 1)],
             "1x3": [(0, 0, 1, 1), (1, 0, 1, 1), (2, 0, 1, 1)], "3x1": [(0, 0, 1, 1), (0, 1, 1, 1), (0, 2, 1, 1)],
             "big+2": [(0, 0, 2, 2), (2, 0, 1, 1), (2, 1, 1, 1)]}[layout]
    columns = max(c[0] + c[2] for c in cells)
    rows = max(c[1] + c[3] for c in cells)
    canvas = Image.new("RGB", (columns * cell + (columns + 1) * gap, rows * cell + (rows + 1) * gap), rng.choice(PALETTE))
    pictures = [img] + rng.sample(list(others), min(len(others), len(cells) - 1))
    pictures += [rng.choice(others) for _ in range(len(cells) - len(pictures))]
    rng.shuffle(pictures)
    for (cx, cy, cw, ch), picture in zip(cells, pictures):
        size = (cw * cell + (cw - 1) * gap, ch * cell + (ch - 1) * gap)
        filled = ImageOps.fit(picture, size) if rng.random() < 0.6 else picture.resize(size)
        canvas.paste(filled, (gap + cx * (cell + gap), gap + cy * (cell + gap)))
    return canvas


def listing_screenshot(img: Image.Image, rng: random.Random) -> Image.Image:
    """A phone screenshot of a listing page around the photo: status bar, app bar, the
    photo at full width (or with margins), then price, title, seller line and buttons."""
    width = rng.choice([360, 390, 414, 540])
    dark = rng.random() < 0.25
    page, ink = ((18, 18, 18), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    margin = rng.choice([0, 0, round(width * 0.04)])
    photo_width = width - 2 * margin
    photo = img.resize((photo_width, max(8, round(img.height * photo_width / img.width))))
    status, bar = round(width * 0.07), round(width * rng.uniform(0.11, 0.15))
    below = round(width * rng.uniform(0.6, 1.0))
    out = Image.new("RGB", (width, status + bar + photo.height + below), page)
    draw = ImageDraw.Draw(out)
    accent = rng.choice([(240, 60, 60), (30, 90, 255), (40, 170, 90), (255, 120, 0)])
    draw.rectangle((0, 0, width, status + bar), fill=rng.choice([page, accent]))
    small = _font(rng, status * 0.55)
    draw.text((width * 0.05, status / 2), "9:41", font=small, fill=ink, anchor="lm")
    draw.text((width * 0.95, status / 2), "5G 87%", font=small, fill=ink, anchor="rm")
    title = rng.choice(["번개장터", "상품 상세", "중고거래"])
    draw.text((width * 0.15, status + bar / 2), title, font=_font(rng, bar * 0.4, title), fill=ink, anchor="lm")
    out.paste(photo, (margin, status + bar))
    y = status + bar + photo.height + round(width * 0.04)
    for text, scale in ((f"{rng.randint(1, 99) * 1000:,}원", 0.07), (rng.choice(CAPTIONS), 0.05),
                        (f"판매자 {rng.choice(['kim', 'lee', 'park'])}{rng.randint(1, 99)} · 3분 전", 0.04)):
        draw.text((width * 0.05, y), text, font=_font(rng, width * scale, text), fill=ink)
        y += round(width * scale * 1.8)
    button = round(width * 0.13)
    top = out.height - button - round(width * 0.03)
    draw.rounded_rectangle((width * 0.04, top, width * 0.46, top + button), radius=button // 4, outline=ink, width=2)
    draw.rounded_rectangle((width * 0.54, top, width * 0.96, top + button), radius=button // 4, fill=accent)
    draw.text((width * 0.75, top + button / 2), "채팅하기", font=_font(rng, button * 0.35, "채팅하기"), fill=(255, 255, 255), anchor="mm")
    return out


def aspect_change(img: Image.Image, rng: random.Random) -> Image.Image:
    """The photo stretched along one axis by 0.6-0.85x or 1.2-1.6x."""
    factor = rng.choice([rng.uniform(0.6, 0.85), rng.uniform(1.2, 1.6)])
    if rng.random() < 0.5:
        return img.resize((round(img.width * factor), img.height))
    return img.resize((img.width, round(img.height * factor)))


def colour_filter(img: Image.Image, rng: random.Random) -> Image.Image:
    """Greyscale, sepia, a warm or cool tint, faded or boosted colours, or more contrast."""
    kind = rng.choice(["grey", "sepia", "tint", "saturation", "contrast"])
    if kind == "grey":
        return img.convert("L").convert("RGB")
    if kind == "sepia":
        return ImageOps.colorize(img.convert("L"), (40, 26, 13), (255, 240, 192))
    if kind == "tint":
        gains = (1.15, 1.0, 0.8) if rng.random() < 0.5 else (0.85, 1.0, 1.2)
        return Image.merge("RGB", [band.point(lambda v, g=g: min(255, round(v * g))) for band, g in zip(img.split(), gains)])
    if kind == "saturation":
        return ImageEnhance.Color(img).enhance(rng.choice([rng.uniform(0.2, 0.5), rng.uniform(1.5, 2.2)]))
    return ImageEnhance.Contrast(img).enhance(rng.uniform(1.3, 1.8))


def downscale(img: Image.Image, rng: random.Random) -> Image.Image:
    """Shrunk to 48-96 px on the longest side (a thumbnail reposted), then JPEG 60."""
    side = rng.randint(48, 96)
    factor = side / max(img.size)
    return jpeg(img.resize((max(8, round(img.width * factor)), max(8, round(img.height * factor))), Image.Resampling.BILINEAR), 60)


def catalogue(rng: random.Random, others: Sequence[Image.Image] = ()) -> dict[str, Callable[[Image.Image], Image.Image]]:
    """Every edit by name; ``rng`` picks the sides, shares, colours, layouts and overlays
    of the random ones; ``others`` are the photos a collage puts beside the copy (none:
    no collage edit)."""
    side = lambda: rng.uniform(0, 0.1)  # noqa: E731
    edits = {
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
        "caption band": lambda im: jpeg(caption_band(im, rng), 80),
        "banner top and bottom": lambda im: jpeg(banners(im, rng), 80),
        "sticker": lambda im: jpeg(sticker(im, rng), 80),
        "frame": lambda im: jpeg(frame(im, rng), 80),
        "rotate 90/180/270": lambda im: rotate(im, rng),
        "listing screenshot": lambda im: jpeg(listing_screenshot(im, rng), 85),
        "aspect change": lambda im: aspect_change(im, rng),
        "colour filter": lambda im: colour_filter(im, rng),
        "heavy downscale": lambda im: downscale(im, rng),
        "rotate+frame+caption": lambda im: jpeg(caption_band(frame(rotate(im, rng), rng), rng), 75),
    }
    if others:
        edits["collage of 2-4"] = lambda im: jpeg(collage(im, rng, others), 80)
    return edits
