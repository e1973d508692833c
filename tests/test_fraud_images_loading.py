"""Every kind of bad or unusual file gives a clear per-file error with its code, or a correct picture."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from bunjang_lab.fraud.images.loading import MAX_ASPECT, MAX_PIXELS, MIN_SIDE, ImageError, open_image
from bunjang_lab.fraud.images.sources import ImageSources

read_bytes = ImageSources(roots=None).read


def encoded(img: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def photo(width=120, height=80) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width]
    return Image.fromarray(np.stack([x * 2 % 256, y * 3 % 256, (x + y) % 256], axis=-1).astype(np.uint8))


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares a huge canvas (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("data, message, codes", [
    (b"%PDF-1.4 not a picture", "not an image", {"not_an_image"}),
    (b"", "empty file", {"empty"}),
    (png_header_only(100_000, 100_000), "decompression bomb", {"decompression_bomb"}),
    (png_header_only(0, 0), "corrupt|too small|not an image", {"corrupt", "too_small", "not_an_image"}),
    (png_header_only(4, 3), "too small", {"too_small"}),
    (encoded(Image.new("L", (20_000, 8), 255), "PNG", optimize=True), r"too wide \(20000x8", {"too_wide"}),
    (encoded(Image.new("L", (8, 20_000), 255), "PNG", optimize=True), r"too tall \(8x20000", {"too_tall"}),
])
def test_bad_files_are_one_line_errors_with_a_code(tmp_path, data, message, codes):
    path = tmp_path / "bad.jpg"
    path.write_bytes(data)
    with pytest.raises(ImageError, match=message) as caught:
        open_image(read_bytes(str(path)) if data else path)
    assert "\n" not in str(caught.value)
    assert caught.value.code in codes


def test_the_wide_strip_of_the_issue_is_570_bytes_or_less():
    assert len(encoded(Image.new("L", (20_000, 8), 255), "PNG", optimize=True)) <= 570


@pytest.mark.parametrize("size", [(MAX_ASPECT * 8, 8), (8, MAX_ASPECT * 8), (4000, 200), (200, 4000)])
def test_long_pictures_up_to_the_aspect_limit_decode_hash_and_find_lines(size):
    """What the loader lets through, the text-line finder and the hashes can work on."""
    from bunjang_lab.fraud.images.hashing import CROP_BOXES, hash_image
    from bunjang_lab.fraud.images.ocr import text_lines

    img = open_image(encoded(photo(*size), "PNG"))
    assert min(img.size) >= MIN_SIDE
    assert isinstance(text_lines(img, max_lines=None), list)
    assert hash_image(img, crops=CROP_BOXES, with_boxes=True, with_views=True).phash is not None


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_jpeg_and_png_are_corrupt(cut):
    for data in (encoded(photo(), "JPEG"), encoded(photo(), "PNG")):
        with pytest.raises(ImageError, match="corrupt or truncated") as caught:
            open_image(data[: int(len(data) * cut)])
        assert caught.value.code == "corrupt"


def test_the_pixel_limit_is_checked_before_decoding():
    side = int(MAX_PIXELS ** 0.5) + 10
    with pytest.raises(ImageError, match=f"{side}x{side}"):
        open_image(png_header_only(side, side))


def test_missing_and_oversized_files(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        read_bytes(str(tmp_path / "nope.jpg"))
    with pytest.raises(ImageError, match="not a regular file"):
        read_bytes(str(tmp_path))
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * 2048)
    with pytest.raises(ImageError, match="larger than") as caught:
        ImageSources(roots=None, max_bytes=1024).read(str(big))
    assert caught.value.code == "too_large"


def test_animated_gif_uses_its_first_frame():
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "blue", "green")]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    img = open_image(data)
    assert img.mode == "RGB" and img.size == (40, 30)
    assert img.getpixel((5, 5))[0] > 200 and img.getpixel((5, 5))[2] < 50


def test_cmyk_jpeg_becomes_rgb():
    img = open_image(encoded(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG"))
    assert img.mode == "RGB"
    r, g, b = img.getpixel((20, 15))
    assert r > 200 and g < 60 and b < 60


def test_palette_transparency_is_flattened_on_white():
    img = Image.new("P", (40, 30), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (0, 0, 20, 30))
    out = open_image(encoded(img, "PNG", transparency=0))
    assert out.getpixel((30, 15)) == (255, 255, 255)  # transparent black -> white
    assert out.getpixel((5, 15)) == (255, 0, 0)


def test_exif_rotation_is_applied():
    img = photo(120, 80)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    out = open_image(encoded(img, "JPEG", exif=exif.tobytes()))
    assert out.size == (80, 120)


def test_sixteen_bit_greyscale_is_stretched_not_clipped():
    values = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)
    out = open_image(encoded(Image.fromarray(values), "PNG"))
    grey = np.asarray(out)[..., 0]
    assert grey.min() == 0 and grey.max() == 255


def test_huge_pictures_are_shrunk_and_jpeg_decoded_at_reduced_scale():
    out = open_image(encoded(photo(3000, 1000), "JPEG"), max_side=600)
    assert out.size == (600, 200)
