"""Open untrusted image files safely: one clear error per bad file, never a crash.

Everything a listing photo can be (JPEG with an EXIF rotation, CMYK, a palette with
transparency, an animated GIF...) comes out as an upright RGB picture; what cannot be read
raises :class:`ImageError` with a one-line message and a reason code. Where a picture may
be read from (roots, protocols, time and size limits) is :mod:`.sources`' business.

>>> from PIL import Image
>>> img = open_image(_png_bytes(Image.new("P", (20, 10))))
>>> img.mode, img.size
('RGB', (20, 10))
>>> open_image(b"not an image")
Traceback (most recent call last):
...
bunjang_lab.fraud.images.loading.ImageError: not an image (unrecognised format)
>>> try:
...     open_image(_png_bytes(Image.new("L", (20000, 8))))
... except ImageError as exc:
...     exc.code, str(exc)
('too_wide', 'image too wide (20000x8; at most 20:1)')
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Refuse pictures above this many pixels (width x height) before decoding them: a small
#: file can declare a gigantic canvas (a decompression bomb). 64 MP is above every phone
#: camera sold today (48-50 MP main sensors) but far below what would exhaust memory
#: (64 MP RGB = 192 MB decoded).
MAX_PIXELS = 64_000_000
#: Below this side length a picture carries no usable content to hash.
MIN_SIDE = 8
#: Refuse pictures whose long side is more than this many times the short one: a
#: 20000x8 strip shrunk to :data:`MAX_SIDE` is a line of pixels nothing downstream can
#: read. Panoramas (up to about 10:1) and long phone screenshots (1080x20000 is 18.5:1) pass.
MAX_ASPECT = 20
#: Longest side kept after decoding; JPEGs are decoded at a reduced scale directly
#: (``draft``), which keeps large photos cheap while leaving small text readable.
MAX_SIDE = 2048

Source = Union[str, os.PathLike, bytes, BinaryIO]


class ImageError(ValueError):
    """The file is not a usable image: a one-line message for the per-file report and a
    reason ``code`` (listed in ``docs/images.md``, "Image references and errors")."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def open_image(source: Source, max_side: int = MAX_SIDE) -> Image.Image:
    """Decode ``source`` (a path, bytes or a binary file) into an upright RGB image.

    The first frame of an animated picture is used; transparency is flattened onto
    white; pictures larger than ``max_side`` are shrunk keeping their aspect ratio.
    """
    with _open(source) as img:
        try:
            if img.format == "JPEG":
                img.draft("RGB", (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale
            img.load()
            img = ImageOps.exif_transpose(img)
            rgb = _to_rgb(img)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise ImageError(f"corrupt or truncated image ({one_line(exc)})", code="corrupt") from None
    if max(rgb.size) > max_side:
        rgb.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return rgb


def _open(source: Source) -> Image.Image:
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            if not path.exists():
                raise ImageError("no such file", code="not_found")
            raise ImageError("not a regular file", code="not_a_file")
        if path.stat().st_size == 0:
            raise ImageError("empty file", code="empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(source)
    except UnidentifiedImageError:
        raise ImageError("not an image (unrecognised format)", code="not_an_image") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError(f"refused: more than {MAX_PIXELS:,} pixels (possible decompression bomb)",
                         code="decompression_bomb") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"corrupt or truncated image ({one_line(exc)})", code="corrupt") from None
    width, height = img.size
    if width * height > MAX_PIXELS:
        img.close()
        raise ImageError(f"refused: {width}x{height} is more than {MAX_PIXELS:,} pixels (possible decompression bomb)",
                         code="decompression_bomb")
    if min(width, height) < MIN_SIDE:
        img.close()
        raise ImageError(f"image too small ({width}x{height}; at least {MIN_SIDE} pixels per side)", code="too_small")
    if max(width, height) > MAX_ASPECT * min(width, height):
        img.close()
        shape = "wide" if width > height else "tall"
        raise ImageError(f"image too {shape} ({width}x{height}; at most {MAX_ASPECT}:1)", code=f"too_{shape}")
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode.startswith(("I", "F")):
        # 16-bit and float greyscale: stretch to 8 bits instead of clipping to white
        values = np.asarray(img, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
        img = Image.fromarray(scaled.astype(np.uint8))
    return img.convert("RGB")


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _png_bytes(img: Image.Image) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()
