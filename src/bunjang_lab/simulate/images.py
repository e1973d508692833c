"""Small product-like JPEGs: a random low-frequency background (so two pictures differ
in their perceptual hashes, as two real photos do), a product shape with highlights, and
optional Korean text drawn with NanumGothic; plus transformed copies for stolen photos.

>>> import numpy as np
>>> img = render_product(np.random.default_rng(0), 96)
>>> img.size, img.mode
((96, 96), 'RGB')
>>> plan = plan_copy(np.random.default_rng(1), overlay="정품")
>>> plan["transform"].endswith("text+recompress")
True
>>> transform_copy(np.random.default_rng(2), img, plan).mode
'RGB'
>>> spec = {"key": [7, 1], "size": 64, "quality": 75}
>>> jpeg_bytes(render(spec)) == jpeg_bytes(render(dict(spec)))
True
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

FONT_DIR = Path("/usr/share/fonts/truetype/nanum")
JPEG_QUALITY = 75


@lru_cache(maxsize=16)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "NanumGothicBold.ttf" if bold else "NanumGothic.ttf"
    try:
        return ImageFont.truetype(str(FONT_DIR / name), size)
    except OSError:  # fonts-nanum missing: keep rendering (Korean text will not show)
        return ImageFont.load_default(size)


def render_product(rng: np.random.Generator, size: int) -> Image.Image:
    """A product on a table: random smooth background, a shadow, one shape and its details."""
    # a muted surface (table, floor, bedding) with smooth random shading
    base = rng.integers(90, 240, 3).astype(np.float32)
    grid = base * 0.65 + rng.integers(30, 256, size=(4, 4, 3)).astype(np.float32) * 0.35
    img = Image.fromarray(grid.astype(np.uint8), "RGB").resize((size, size), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    cx, cy = rng.uniform(0.3, 0.7, 2) * size
    w, h = rng.uniform(0.2, 0.42, 2) * size
    box = (cx - w, cy - h, cx + w, cy + h)
    offset = size * 0.03
    draw.ellipse((cx - w, cy + h * 0.75, cx + w + offset, cy + h + offset * 2), fill=tuple(int(c * 0.6) for c in base))
    shape = rng.integers(3)
    if shape == 0:
        draw.rounded_rectangle(box, radius=int(min(w, h) * 0.3), fill=colour)
    elif shape == 1:
        draw.ellipse(box, fill=colour)
    else:
        angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 7))))
        draw.polygon([(cx + w * np.cos(a), cy + h * np.sin(a)) for a in angles], fill=colour)
    accent = tuple(int(c) for c in rng.integers(0, 256, 3))
    for _ in range(int(rng.integers(1, 4))):  # stitching, buttons, logos
        x, y = rng.uniform(cx - w * 0.7, cx + w * 0.7), rng.uniform(cy - h * 0.7, cy + h * 0.7)
        r = rng.uniform(0.03, 0.1) * size
        draw.ellipse((x - r, y - r, x + r, y + r), fill=accent)
    return img


def draw_text(img: Image.Image, text: str, rng: np.random.Generator, banner: bool = True) -> Image.Image:
    """Write ``text`` on a light banner (contact details, "정품", prices) as sellers do."""
    img = img.copy()
    draw = ImageDraw.Draw(img)
    size = max(14, img.width // 11)
    f = font(size, bold=True)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=f)
    while right - left > img.width - 8 and size > 10:
        size -= 1
        f = font(size, bold=True)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=f)
    x = int(rng.integers(2, max(3, img.width - (right - left) - 2)))
    y = int(rng.choice([4, img.height - (bottom - top) - 10, img.height // 2]))
    if banner:
        fill = tuple(int(c) for c in rng.integers(225, 256, 3))
        draw.rectangle((x - 3, y + top - 3, x + right - left + 3, y + bottom + 3), fill=fill)
    draw.text((x, y), text, font=f, fill=tuple(int(c) for c in rng.integers(0, 50, 3)))
    return img


def plan_copy(rng: np.random.Generator, overlay: str = "") -> dict:
    """How a scammer alters a stolen photo: some of crop, mirror, resize, text; recompression."""
    plan = {"crop": tuple(rng.uniform(0.02, 0.08, 2)) if rng.random() < 0.5 else None,
            "mirror": bool(rng.random() < 0.35),
            "scale": float(rng.uniform(0.6, 1.3)) if rng.random() < 0.6 else None,
            "overlay": overlay, "banner": bool(rng.random() < 0.5), "quality": int(rng.integers(35, 80))}
    steps = [name for name in ("crop", "mirror", "scale") if plan[name]]
    plan["transform"] = "+".join([*(s.replace("scale", "resize") for s in steps), *(["text"] if overlay else []),
                                  "recompress"])
    return plan


def transform_copy(rng: np.random.Generator, original: Image.Image, plan: dict) -> Image.Image:
    """Apply a :func:`plan_copy` plan (``rng`` only places the overlay text)."""
    img = original
    if plan["crop"]:
        w, h = img.size
        dx, dy = int(plan["crop"][0] * w), int(plan["crop"][1] * h)
        img = img.crop((dx, dy, w - dx, h - dy))
    if plan["mirror"]:
        img = ImageOps.mirror(img)
    if plan["scale"]:
        img = img.resize((max(48, int(img.width * plan["scale"])), max(48, int(img.height * plan["scale"]))),
                         Image.Resampling.BILINEAR)
    if plan["overlay"]:
        img = draw_text(img, plan["overlay"], rng, banner=plan["banner"])
    return img


def jpeg_bytes(img: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def render(spec: dict) -> Image.Image:
    """The picture a spec describes; a pure function, so pictures can be drawn in any process.

    ``spec``: ``key`` (seeds the drawing), ``size``, ``text`` and ``banner`` (optional writing),
    ``copy_of`` (the original's spec) with ``plan`` (see :func:`plan_copy`).
    """
    rng = np.random.default_rng(spec["key"])
    if spec.get("copy_of"):
        original = Image.open(io.BytesIO(jpeg_bytes(render(spec["copy_of"]), spec["copy_of"]["quality"])))
        return transform_copy(rng, original.convert("RGB"), spec["plan"])
    img = render_product(rng, spec["size"])
    if spec.get("text"):
        img = draw_text(img, spec["text"], rng, banner=spec.get("banner", True))
    return img


def write_all(folder: str | Path, specs: list[dict]) -> int:
    """Render and save each spec as ``folder/<spec name>``; returns how many were written."""
    folder = Path(folder)
    for spec in specs:
        (folder / spec["name"]).write_bytes(jpeg_bytes(render(spec), spec["quality"]))
    return len(specs)
