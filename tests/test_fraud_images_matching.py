"""Reused photos: real photographs match their edited copies and not each other; the
scan, the batch path (plan, shards, merge) and both commands."""

from __future__ import annotations

import io
import json
import random
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from bunjang_lab.fraud.images.hashing import hash_image
from bunjang_lab.fraud.images.index import ImageIndex
from bunjang_lab.fraud.images.matching import DEFAULT_POLICY, find_matches
from bunjang_lab.fraud.images.verify import similarity

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_IMAGES = REPO_ROOT / "data" / "sample" / "images"
FONT = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins")


def load_photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(skimage.data, name)()).convert("RGB")


def jpeg(img: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def crop(img, left, top, right, bottom):
    w, h = img.size
    return img.crop((round(w * left), round(h * top), w - round(w * right), h - round(h * bottom)))


def overlay_text(img: Image.Image) -> Image.Image:
    img = img.copy()
    font = ImageFont.truetype(FONT, max(12, img.width // 22))
    ImageDraw.Draw(img).text((img.width * 0.05, img.height * 0.82), "카톡 abc1234 급처", font=font,
                             fill="white", stroke_width=2, stroke_fill="black")
    return img


def watermark(img: Image.Image) -> Image.Image:
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    font = ImageFont.truetype(FONT, img.width // 8)
    ImageDraw.Draw(layer).text((img.width * 0.15, img.height * 0.4), "SAMPLE", font=font, fill=(255, 255, 255, 110))
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


rng = random.Random(7)
TRANSFORMS = {
    "jpeg q30": lambda im: jpeg(im, 30),
    "resize 0.25": lambda im: im.resize((im.width // 4, im.height // 4), Image.Resampling.BILINEAR),
    "crop 10% every side": lambda im: crop(im, 0.1, 0.1, 0.1, 0.1),
    "random crop <= 10%": lambda im: crop(im, *[rng.uniform(0, 0.1) for _ in range(4)]),
    "10% off one side": lambda im: crop(im, *rng.choice([(0.1, 0, 0, 0), (0, 0.1, 0, 0), (0, 0, 0.1, 0), (0, 0, 0, 0.1)])),
    "10% off two sides": lambda im: crop(im, *rng.choice([(0.1, 0.1, 0, 0), (0, 0, 0.1, 0.1), (0.1, 0, 0, 0.1)])),
    "brighter 25%": lambda im: ImageEnhance.Brightness(im).enhance(1.25),
    "darker 25%": lambda im: ImageEnhance.Brightness(im).enhance(0.75),
    "mirrored": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "text overlay": overlay_text,
    "watermark": watermark,
    "all at once": lambda im: jpeg(crop(ImageEnhance.Brightness(im).enhance(0.8), 0.05, 0.03, 0.06, 0.04)
                                   .transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize((im.width // 3, im.height // 3)), 40),
}


@pytest.fixture(scope="module")
def photo_index(tmp_path_factory):
    index = ImageIndex(tmp_path_factory.mktemp("photos"))
    index.add({"image": f"{name}.jpg", "listing": name, "seller": "honest", "key": name,
               "hashes": hash_image(load_photo(name))} for name in PHOTOS)
    return index


@pytest.mark.parametrize("transform", TRANSFORMS)
def test_edited_copies_of_a_photo_match_it_and_only_it(photo_index, transform):
    for name in PHOTOS:
        matches = find_matches(photo_index, hash_image(TRANSFORMS[transform](load_photo(name))))
        assert [m["listing"] for m in matches] == [name], (transform, name)


@pytest.mark.parametrize("sides", [(0.1, 0, 0, 0), (0, 0, 0.1, 0.1), (0.1, 0.1, 0, 0)])
def test_copies_cut_on_one_or_two_sides_are_strong_matches(photo_index, sides):
    # the hashes alone missed 18% / 40% of these; the thumbnail verification finds them
    for name in PHOTOS:
        matches = find_matches(photo_index, hash_image(crop(load_photo(name), *sides)))
        assert [(m["listing"], m["strong"]) for m in matches] == [(name, True)], (sides, name)
        assert matches[0]["similarity"] >= DEFAULT_POLICY.verified


def test_loose_candidates_between_different_pictures_are_not_verified(tmp_path):
    # the sample's pictures are all one shape on a blurred background, so their hashes are
    # often within the candidate radius of each other; verification must reject them
    files = sorted(SAMPLE_IMAGES.glob("*.jpg"))[:150]
    index = ImageIndex(tmp_path)
    index.add({"image": p.name, "listing": p.name, "seller": "s", "key": p.name, "hashes": hash_image(Image.open(p))}
              for p in files)
    flagged = [p.name for p in files
               if any(m["strong"] and m["image"] != p.name for m in find_matches(index, hash_image(Image.open(p))))]
    assert len(flagged) <= 2, flagged


def test_different_photographs_and_sample_pictures_do_not_match():
    pictures = [hash_image(load_photo(n)) for n in PHOTOS + ("moon", "clock", "immunohistochemistry", "retina")]
    pictures += [hash_image(Image.open(p)) for p in sorted(SAMPLE_IMAGES.glob("*.jpg"))[:150]]
    pairs = list(combinations(range(len(pictures)), 2))
    false = 0
    for a, b in pairs:
        for qp, qd in pictures[a].query_variants():
            if any(DEFAULT_POLICY.accepts((qp ^ sp).bit_count(), (qd ^ sd).bit_count())
                   for sp, sd in pictures[b].stored_variants()):
                false += 1
                break
    assert false / len(pairs) <= 0.001, f"{false} false matches over {len(pairs)} pairs"


@pytest.mark.parametrize("edit", [overlay_text, watermark])
def test_overlays_on_dark_photos_are_strong_matches(tmp_path, edit):
    # white letters are most of these photos' contrast: the hashes stop agreeing, and only
    # the misfit lying on the overlay's pixels tells the copy from another picture
    names = ("hubble_deep_field", "moon", "text") + PHOTOS
    index = ImageIndex(tmp_path)
    index.add({"image": f"{n}.jpg", "listing": n, "seller": "honest", "key": n, "hashes": hash_image(load_photo(n))}
              for n in names)
    for name in ("hubble_deep_field", "moon", "text"):
        matches = find_matches(index, hash_image(edit(load_photo(name))))
        assert [(m["listing"], m["strong"]) for m in matches] == [(name, True)], name


def test_overlay_arm_does_not_vouch_for_different_objects_on_one_plain_background():
    # all their misfit lies on the objects, as an overlay's would: what is left (white)
    # holds none of the picture's contrast, so only the plain correlation may judge them
    rng = np.random.default_rng(0)
    thumbnails = []
    for number in range(40):
        img = Image.new("RGB", (400, 300), "white")
        x, y, w = rng.integers(60, 300), rng.integers(50, 200), rng.integers(30, 90)
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        shape = ImageDraw.Draw(img).ellipse if number % 2 else ImageDraw.Draw(img).rectangle
        shape((x, y, x + w, y + rng.integers(30, 90)), fill=colour)
        thumbnails.append(hash_image(img).thumbnail)
    thumbnails = np.stack(thumbnails)
    for number, query in enumerate(thumbnails):
        scores = similarity(query, np.delete(thumbnails, number, axis=0))
        assert (scores.overlay_share >= DEFAULT_POLICY.overlay).any()  # the case the guard is for
        _, strong = DEFAULT_POLICY.judge(np.zeros(len(scores.trimmed), bool), scores)
        assert (strong == (scores.correlation >= DEFAULT_POLICY.verified)).all(), number
