"""64-bit perceptual hashes of a picture, as plain unsigned integers.

Two hashes are kept per picture: the pHash (signs of the low frequencies of the DCT
against their median, robust to recompression, resizing and brightness) is the one the
index searches; the dHash (signs of horizontal gradients) is a second, independent
opinion a match must also satisfy (see ``docs/images.md``). Both are the
:mod:`imagehash` definitions, computed here with numpy (the same bits, without the SciPy
import that costs ``score image`` a fifth of a second).

Stored side (:func:`hash_image`): the full picture, crops of its borders (a copy with
its borders cut off matches) and its content boxes (:func:`~bunjang_lab.fraud.images.
regions.content_boxes`: a photo on a plain background is cut the same way as its copy
inside a frame), each with a colour thumbnail
(:func:`~bunjang_lab.fraud.images.verify.thumbnail`) for the verification of loose
hash matches.

Query side (:func:`query_views`): the full picture and every region of
:func:`~bunjang_lab.fraud.images.regions.photo_regions` (inside a frame, below a
caption band, a screenshot's photo, a collage's cells), each turned by 0, 90, 180 and
270 degrees and mirrored: the eight symmetries of a rectangle.

>>> from PIL import Image, ImageDraw
>>> img = Image.new("RGB", (64, 48), "white")
>>> ImageDraw.Draw(img).rectangle((10, 10, 40, 30), fill="black")
>>> h = hash_image(img)
>>> hamming(h.phash, hash_image(img.resize((32, 24))).phash) <= 4
True
>>> hamming(h.phash_mirror, hash_image(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)).phash)
0
>>> turned = query_views(img.transpose(Image.Transpose.ROTATE_90))
>>> min(hamming(v.phash, h.phash) for v in turned)
0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product

import numpy as np
import pdqhash
from PIL import Image

from bunjang_lab.fraud.images.regions import Box, content_boxes, cut, photo_regions, working_copy
from bunjang_lab.fraud.images.verify import thumbnail

#: The crops (left, top, right, bottom fractions cut off) whose hashes are stored next to
#: the full picture's: every combination of cutting 2.5% or 7.5% from each side, so any
#: crop of up to 10% per side is within 2.5% per side of one of them, which the pHash and
#: dHash mostly tolerate; plus even 5% and 10% crops, the commonest (docs/images.md).
CROP_BOXES = (*product((0.025, 0.075), repeat=4), (0.05,) * 4, (0.1,) * 4)
#: Deeper cuts, stored as hash rows verified against the picture's thumbnail cut the same
#: way (no thumbnail of their own): caption bands drawn over the top and bottom of the
#: photo (8-25% of it each), which the verification's own 0-12.5% alignment does not reach;
#: in steps of 7.5%, so a band is within 3.75% of one (the hashes of cuts 5% apart
#: often disagree). Top and bottom together; the left or the right alone (a band on a
#: turned photo).
BAND_STEPS = (0.0, 0.075, 0.15, 0.225)
BAND_CUTS = (*((0.0, top, 0.0, bottom) for top in BAND_STEPS for bottom in BAND_STEPS if top or bottom),
             *((side, 0.0, 0.0, 0.0) for side in BAND_STEPS[1:]), *((0.0, 0.0, side, 0.0) for side in BAND_STEPS[1:]))
#: A picture this much longer one way than the other also stores its centre square.
SQUARE_CUT_ASPECT = 1.1
#: Pictures are shrunk to this many pixels on the longest side before hashing: the hashes
#: look at 32x32 (pHash) and 9x8 (dHash) pixels, so more detail only costs time.
HASH_SIDE = 128
#: Regions are cut from a copy this large (their hashes need HASH_SIDE pixels at most).
REGION_SOURCE_SIDE = 512
#: Which of PDQ's eight dihedral hashes is the picture mirrored left to right.
PDQ_MIRROR = 5
#: The quarter turns a query is also looked at in (counter-clockwise).
TURNS = (None, Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)


@dataclass(frozen=True)
class View:
    """The hashes of one way of looking at a picture (a region, turned), as is and
    mirrored, and its thumbnail, turned the same way."""

    phash: int
    dhash: int
    phash_mirror: int
    dhash_mirror: int
    thumbnail: np.ndarray | None = field(default=None, compare=False, repr=False)
    pdq: tuple[tuple[int, int, int, int], ...] = field(default=(), compare=False, repr=False)
    pdq_quality: int = 0

    def variants(self) -> list[tuple[int, int]]:
        """The (pHash, dHash) pairs searched for this view: as is, and mirrored."""
        return [(self.phash, self.dhash), (self.phash_mirror, self.dhash_mirror)]


@dataclass(frozen=True)
class ImageHashes:
    """The hashes of one picture; ``crops`` holds (pHash, dHash) of each of :data:`CROP_BOXES`,
    ``boxes`` those of the content boxes, whose thumbnails are ``box_thumbnails``;
    ``thumbnail`` is the picture's verification thumbnail (None: cannot be verified) and
    ``views`` the query's turned and cut views besides the full frame as is (empty on
    the stored side); ``deep`` holds (pHash, dHash) of each of ``deep_boxes``, deeper cuts
    (:func:`deep_cuts`) verified against the picture's thumbnail cut the same way."""

    phash: int
    dhash: int
    phash_mirror: int
    dhash_mirror: int
    crops: tuple[tuple[int, int], ...] = ()
    thumbnail: np.ndarray | None = field(default=None, compare=False, repr=False)
    boxes: tuple[tuple[int, int], ...] = ()
    box_thumbnails: tuple[np.ndarray, ...] = field(default=(), compare=False, repr=False)
    views: tuple[View, ...] = field(default=(), compare=False, repr=False)
    deep: tuple[tuple[int, int], ...] = ()
    deep_boxes: tuple[Box, ...] = ()
    pdq: tuple[tuple[int, int, int, int, int], ...] = field(default=(), compare=False, repr=False)

    def stored_variants(self) -> list[tuple[int, int]]:
        """The (pHash, dHash) pairs the index stores for this picture: full, crops, boxes, deep cuts."""
        return [(self.phash, self.dhash), *self.crops, *self.boxes, *self.deep]

    def variant_thumbnails(self) -> list[int]:
        """Per stored variant, which thumbnail verifies it: 0 the picture's, k the k-th box's."""
        return [0] * (1 + len(self.crops)) + list(range(1, 1 + len(self.boxes))) + [0] * len(self.deep)

    def variant_cuts(self) -> list[Box]:
        """Per stored variant, the box its thumbnail is cut to before verifying (no cut but
        for the deep cuts)."""
        return [(0.0, 0.0, 0.0, 0.0)] * (1 + len(self.crops) + len(self.boxes)) + list(self.deep_boxes)

    def query_variants(self) -> list[tuple[int, int]]:
        """The (pHash, dHash) pairs of the full frame as is, and mirrored."""
        return [(self.phash, self.dhash), (self.phash_mirror, self.dhash_mirror)]

    def query_views(self) -> list[View]:
        """Every view a query is searched with: the full frame as is first."""
        words, quality = ((self.pdq[0][:4],), self.pdq[0][4]) if self.pdq else ((), 0)
        full = View(self.phash, self.dhash, self.phash_mirror, self.dhash_mirror, self.thumbnail, words, quality)
        return [full, *self.views]


def hash_image(img: Image.Image, crops: tuple[tuple[float, float, float, float], ...] = CROP_BOXES,
               with_boxes: bool = True, with_views: bool = False) -> ImageHashes:
    """The stored hashes of an RGB or greyscale picture (see :class:`ImageHashes`), and
    ``with_views`` the query's views too (the batch path stores and queries each picture)."""
    gray = _shrunk(img.convert("L"), HASH_SIDE)
    full = _view(gray, thumbnail(img))
    boxes = content_boxes(working_copy(img)) if with_boxes else []
    deep = deep_cuts(*img.size) if with_boxes else ()
    colour = _shrunk(img.convert("RGB"), HASH_SIDE)
    return ImageHashes(
        full.phash, full.dhash, full.phash_mirror, full.dhash_mirror,
        crops=tuple(_pair(crop(gray, box)) for box in crops),
        thumbnail=full.thumbnail,
        boxes=tuple(_pair(_shrunk(cut(img, box).convert("L"), HASH_SIDE)) for box in boxes),
        box_thumbnails=tuple(thumbnail(cut(img, box)) for box in boxes),
        views=tuple(query_views(img))[1:] if with_views else (),
        deep=tuple(_pair(crop(gray, box)) for box in deep),
        deep_boxes=deep,
        pdq=tuple((*words[0], quality) for words, quality in
                  (pdq(part) for part in [colour, *(cut(colour, box) for box in boxes)])),
    )


def pdq(img: Image.Image, dihedral: bool = False) -> tuple[tuple[tuple[int, int, int, int], ...], int]:
    """The PDQ hash of an RGB picture as four 64-bit words (the first bit most significant)
    and PDQ's quality score (0-100: how much structure the hash rests on); ``dihedral``:
    the hashes of its eight turns and mirrors, in one pass.

    >>> img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (8, 8, 3), np.uint8)).resize((96, 96))
    >>> (words,), quality = pdq(img)
    >>> mirrored = pdq(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), dihedral=True)[0][PDQ_MIRROR]
    >>> len(words), quality > 50, pdq_distance(words, mirrored)
    (4, True, 0)
    """
    pixels = np.asarray(img.convert("RGB"))
    if dihedral:
        bits, quality = pdqhash.compute_dihedral(pixels)
    else:
        one, quality = pdqhash.compute(pixels)
        bits = [one]
    words = tuple(tuple(int(w) for w in np.packbits(np.asarray(b, dtype=bool)).view(">u8")) for b in bits)
    return words, int(quality)


def pdq_distance(a, b) -> int:
    """Differing bits between two PDQ hashes (four words each)."""
    return sum((int(x) ^ int(y)).bit_count() for x, y in zip(a, b))


def deep_cuts(width: int, height: int) -> tuple[Box, ...]:
    """The deep cuts a ``width x height`` picture stores: :data:`BAND_CUTS`, and the centre
    square a collage's square cell or an app's square crop keeps of a longer photo.

    >>> [[round(v, 3) for v in box] for box in deep_cuts(400, 300)[-1:]], len(deep_cuts(300, 300))
    ([[0.125, 0.0, 0.125, 0.0]], 21)
    """
    longer = max(width, height) / min(width, height)
    if longer < SQUARE_CUT_ASPECT:
        return BAND_CUTS
    side = (1 - 1 / longer) / 2
    return (*BAND_CUTS, (side, 0.0, side, 0.0) if width > height else (0.0, side, 0.0, side))


def query_hashes(img: Image.Image) -> ImageHashes:
    """What the matcher searches with: the full frame and the :func:`query_views`."""
    return hash_image(img, crops=(), with_boxes=False, with_views=True)


def query_views(img: Image.Image) -> list[View]:
    """The full picture and each of its :func:`~bunjang_lab.fraud.images.regions.photo_regions`,
    each in the four quarter turns (the full picture as is first)."""
    source = _shrunk(img.convert("RGB"), REGION_SOURCE_SIDE)
    regions: list[Box] = [(0.0, 0.0, 1.0, 1.0), *photo_regions(source)]
    out = []
    for box in regions:
        part = cut(source, box) if box != (0.0, 0.0, 1.0, 1.0) else source
        gray = _shrunk(part.convert("L"), HASH_SIDE)
        thumb = thumbnail(part)
        small = _shrunk(part, HASH_SIDE)
        for turns, turn in enumerate(TURNS):
            view = _view(gray if turn is None else gray.transpose(turn), np.rot90(thumb, turns).copy())
            # PDQ's own turns of a picture differ from the hash of the turned picture by up
            # to 20 bits (its resampling is not symmetric): each turn is hashed, and the
            # dihedral pass gives it and its mirror at once
            words, quality = pdq(small if turn is None else small.transpose(turn), dihedral=True)
            out.append(View(view.phash, view.dhash, view.phash_mirror, view.dhash_mirror, view.thumbnail,
                            (words[0], words[PDQ_MIRROR]), quality))
    return out


def crop(img: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    """``img`` without the given fractions of its width and height on the left, top,
    right and bottom."""
    width, height = img.size
    left, top, right, bottom = box
    return img.crop((round(width * left), round(height * top), width - round(width * right), height - round(height * bottom)))


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes.

    >>> hamming(0b1011, 0b0001)
    2
    """
    return (int(a) ^ int(b)).bit_count()


def to_hex(value: int) -> str:
    """The 16-digit hex form used in files and JSON (``imagehash.hex_to_hash`` reads it)."""
    return f"{int(value):016x}"


def phash(gray: Image.Image) -> int:
    """:func:`imagehash.phash` of a greyscale picture, as an integer (row-major, MSB first):
    the 8x8 lowest frequencies of the DCT-II of its 32x32 copy against their median."""
    pixels = np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    basis = _dct_basis()
    low = basis @ pixels @ basis.T
    return _bits(low > np.median(low))


def dhash(gray: Image.Image) -> int:
    """:func:`imagehash.dhash`: whether each pixel of a 9x8 copy is brighter than its left neighbour."""
    pixels = np.asarray(gray.resize((9, 8), Image.Resampling.LANCZOS), dtype=np.int16)
    return _bits(pixels[:, 1:] > pixels[:, :-1])


@lru_cache(maxsize=1)
def _dct_basis() -> np.ndarray:
    """The first 8 rows of scipy's unnormalised 32-point DCT-II: 2 cos(pi k (2n + 1) / 64)."""
    k, n = np.arange(8)[:, None], np.arange(32)[None, :]
    return 2 * np.cos(np.pi * k * (2 * n + 1) / 64)


def _bits(flags: np.ndarray) -> int:
    return int.from_bytes(np.packbits(flags.reshape(-1)).tobytes(), "big")


def _shrunk(img: Image.Image, side: int) -> Image.Image:
    if max(img.size) <= side:
        return img
    img = img.copy()
    img.thumbnail((side, side), Image.Resampling.BOX)
    return img


def _pair(gray: Image.Image) -> tuple[int, int]:
    return phash(gray), dhash(gray)


def _view(gray: Image.Image, thumb: np.ndarray | None) -> View:
    return View(*_pair(gray), *_pair(gray.transpose(Image.Transpose.FLIP_LEFT_RIGHT)), thumbnail=thumb)
