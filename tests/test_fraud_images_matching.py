"""Reused photos: real photographs match their copies after every edit of
:mod:`bunjang_lab.fraud.images.edits`, and not each other (the scan, the batch path and the
commands are in test_fraud_images_scan.py)."""

from __future__ import annotations

import functools
import random
import zlib
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from bunjang_lab.fraud.images import edits, regions
from bunjang_lab.fraud.images.hashing import hash_image, query_hashes
from bunjang_lab.fraud.images.index import ImageIndex
from bunjang_lab.fraud.images.matching import DEFAULT_POLICY, find_matches
from bunjang_lab.fraud.images.verify import similarity

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_IMAGES = REPO_ROOT / "data" / "sample" / "images"
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins")


@functools.cache
def _pixels(name: str) -> np.ndarray:
    """skimage's photo, decoded once per module (each decode is ~40 ms, asked for ~250 times)."""
    pixels = getattr(skimage.data, name)()
    pixels.setflags(write=False)
    return pixels


def load_photo(name: str) -> Image.Image:
    """A fresh RGB copy of skimage's photo ``name`` (edits may draw on it)."""
    return Image.fromarray(_pixels(name)).convert("RGB")


OTHERS = [load_photo(n) for n in ("immunohistochemistry", "page", "brick")]  # beside the copy in a collage
TRANSFORMS = edits.catalogue(random.Random(7), OTHERS)
#: What a seller adds around or onto a photo (issue 20): found by the regions and turns.
SELLER_EDITS = ("caption band", "banner top and bottom", "sticker", "frame", "rotate 90/180/270", "listing screenshot",
                "aspect change", "colour filter", "heavy downscale", "rotate+frame+caption", "collage of 2-4")


@pytest.fixture(scope="module")
def photo_index(tmp_path_factory):
    index = ImageIndex(tmp_path_factory.mktemp("photos"))
    index.add({"image": f"{name}.jpg", "listing": name, "seller": "honest", "key": name,
               "hashes": hash_image(load_photo(name))} for name in PHOTOS)
    return index


@pytest.fixture(scope="module")
def sample_pictures():
    """The first 150 sample pictures with their hashes: one shape on a blurred background each,
    so they are often within the candidate radius of each other."""
    return [(p, hash_image(Image.open(p))) for p in sorted(SAMPLE_IMAGES.glob("*.jpg"))[:150]]


@pytest.mark.parametrize("transform", [t for t in TRANSFORMS if t not in SELLER_EDITS])
def test_edited_copies_of_a_photo_match_it_and_only_it(photo_index, transform):
    for name in PHOTOS:
        matches = find_matches(photo_index, query_hashes(TRANSFORMS[transform](load_photo(name))))
        assert [m["listing"] for m in matches] == [name], (transform, name)


@pytest.mark.parametrize("transform", SELLER_EDITS)
def test_seller_edits_are_found_and_never_match_another_photo(photo_index, transform):
    edit = edits.catalogue(random.Random(zlib.crc32(transform.encode())), OTHERS)[transform]  # same draws in any order
    for name in PHOTOS:
        listings = [m["listing"] for m in find_matches(photo_index, query_hashes(edit(load_photo(name))))]
        assert listings == [name], (transform, name, listings)


def test_a_turned_framed_copy_is_found_through_its_regions(photo_index):
    photo = load_photo("coffee").transpose(Image.Transpose.ROTATE_90)
    framed = ImageOps.expand(photo, border=(30, 20, 30, 60), fill=(250, 240, 225))
    assert [m["listing"] for m in find_matches(photo_index, query_hashes(framed))] == ["coffee"]
    assert find_matches(photo_index, hash_image(framed)) == []  # the full frame alone misses it


@pytest.mark.parametrize("sides", [(0.1, 0, 0, 0), (0, 0, 0.1, 0.1), (0.1, 0.1, 0, 0)])
def test_copies_cut_on_one_or_two_sides_are_strong_matches(photo_index, sides):
    # the hashes alone missed 18% / 40% of these; the thumbnail verification finds them
    for name in PHOTOS:
        matches = find_matches(photo_index, query_hashes(edits.crop(load_photo(name), *sides)))
        assert [(m["listing"], m["strong"]) for m in matches] == [(name, True)], (sides, name)
        assert matches[0]["similarity"] >= DEFAULT_POLICY.verified


def test_loose_candidates_between_different_pictures_are_not_verified(tmp_path, sample_pictures):
    # the sample's look-alike pictures: verification must reject them
    index = ImageIndex(tmp_path)
    index.add({"image": p.name, "listing": p.name, "seller": "s", "key": p.name, "hashes": hashes}
              for p, hashes in sample_pictures)
    flagged = [p.name for p, _ in sample_pictures
               if any(m["strong"] and m["image"] != p.name for m in find_matches(index, query_hashes(Image.open(p))))]
    assert len(flagged) <= 2, flagged


def test_different_photographs_and_sample_pictures_do_not_match(sample_pictures):
    pictures = [hash_image(load_photo(n)) for n in PHOTOS + ("moon", "clock", "immunohistochemistry", "retina")]
    pictures += [hashes for _, hashes in sample_pictures]
    pairs = list(combinations(range(len(pictures)), 2))
    false = 0
    for a, b in pairs:
        for qp, qd in pictures[a].query_variants():
            if any(DEFAULT_POLICY.accepts((qp ^ sp).bit_count(), (qd ^ sd).bit_count())
                   for sp, sd in pictures[b].stored_variants()):
                false += 1
                break
    assert false / len(pairs) <= 0.001, f"{false} false matches over {len(pairs)} pairs"


@pytest.mark.parametrize("edit", [edits.text_overlay, edits.watermark])
def test_overlays_on_dark_photos_are_strong_matches(tmp_path, edit):
    # white letters are most of these photos' contrast: the hashes stop agreeing, and only
    # the misfit lying on the overlay's pixels tells the copy from another picture
    names = ("hubble_deep_field", "moon", "text") + PHOTOS
    index = ImageIndex(tmp_path)
    index.add({"image": f"{n}.jpg", "listing": n, "seller": "honest", "key": n, "hashes": hash_image(load_photo(n))}
              for n in names)
    for name in ("hubble_deep_field", "moon", "text"):
        matches = find_matches(index, query_hashes(edit(load_photo(name))))
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


def test_pdq_finds_copies_through_its_own_index(photo_index):
    # with the pHash and dHash searches turned off, the PDQ hashes alone still bring the
    # copy (their eight turns and mirrors: a turned copy too) to the verification
    blind = replace(DEFAULT_POLICY, search=-1)
    for name in PHOTOS:
        copy = edits.jpeg(load_photo(name).transpose(Image.Transpose.ROTATE_90), 40)
        assert [m["listing"] for m in find_matches(photo_index, query_hashes(copy), blind)] == [name], name
        assert find_matches(photo_index, query_hashes(copy), replace(blind, pdq_quality=101)) == []


def test_grey_and_sepia_copies_of_colour_photos_are_compared_in_luminance(photo_index):
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        photo = load_photo(name)
        for copy in (photo.convert("L").convert("RGB"), ImageOps.colorize(photo.convert("L"), (40, 26, 13), (255, 240, 192))):
            matches = find_matches(photo_index, query_hashes(copy))
            assert [(m["listing"], m["strong"]) for m in matches] == [(name, True)], name


def test_collage_cells_butted_together_are_found_at_the_grid():
    photos = [load_photo(n).resize((200, 200)) for n in ("astronaut", "coffee", "chelsea")]
    row = Image.new("RGB", (600, 200))
    for number, photo in enumerate(photos):
        row.paste(photo, (200 * number, 0))
    cells = regions.collage_cells(row)
    for number in range(3):
        assert any(abs(cell[0] - number / 3) < 0.02 and abs(cell[2] - (number + 1) / 3) < 0.02 for cell in cells), cells


@pytest.mark.parametrize("query, other", [("i0000029_0.jpg", "i0000049_0.jpg")])
def test_regions_of_look_alike_pictures_must_agree_in_their_details(tmp_path, query, other):
    # a region cut to one shape on a blurred background lines up with another picture's
    # (correlation 0.91-0.98) until the coarse layout is taken away (the seller edits'
    # copies, whose details agree, are the tests above); the two other pairs of the
    # development runs (i0000050_0 / i0000382_0, i0000051_1 / i0001205_0) no longer line
    # up even without the check since regions are cut a working line inside their edges
    # (regions._inset)
    index = ImageIndex(tmp_path)
    index.add([{"image": other, "listing": other, "seller": "s", "key": other,
                "hashes": hash_image(Image.open(SAMPLE_IMAGES / other))}])
    hashes = query_hashes(Image.open(SAMPLE_IMAGES / query))
    assert find_matches(index, hashes, replace(DEFAULT_POLICY, detail=-1.0))  # what the check is for
    assert find_matches(index, hashes) == []


def test_bands_around_a_flat_photo_are_peeled_without_cutting_into_it():
    # the moon is grey along its edges too: peeling rows and columns twice cut into it
    moon = load_photo("moon")
    posted = Image.new("RGB", (512, 512 + 80 + 60), (240, 60, 60))
    posted.paste(moon, (0, 80))
    ImageDraw.Draw(posted).rectangle((0, 592, 512, 652), fill=(30, 90, 255))
    photo = (0.0, 80 / 652, 1.0, 592 / 652)
    assert not any(regions._same(box, photo) for box in regions.content_boxes(posted, to_edge=True))
    assert any(regions._same(box, photo) for box in regions.photo_regions(posted))


def _caption_over(img: Image.Image, colour, share: float = 0.2) -> Image.Image:
    """``img`` with a caption band of ``colour`` drawn over its top ``share``."""
    out = img.copy()
    band = round(out.height * share)
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, out.width, band), fill=colour)
    draw.text((out.width * 0.1, band * 0.2), "SALE 50%", fill="white", font_size=band * 0.6)
    return out


def test_a_collage_cell_is_found_without_its_gap(photo_index):
    # the gap left around a cell (1.5% of it) holds much of a dark photo's contrast: the
    # cell is peeled by its gap's colour, a region of its own however near the cut cell
    cell, gap = 300, 12
    collage = Image.new("RGB", (2 * cell + 3 * gap, 2 * cell + 3 * gap), (60, 60, 60))
    for number, photo in enumerate([load_photo("coins"), *OTHERS]):
        collage.paste(ImageOps.fit(photo, (cell, cell)), (gap + (number % 2) * (cell + gap), gap + (number // 2) * (cell + gap)))
    assert [m["listing"] for m in find_matches(photo_index, query_hashes(edits.jpeg(collage, 80)))] == ["coins"]


def test_a_dark_photo_under_a_caption_of_another_dark_colour_is_found(photo_index):
    # the rocket's night sky is as flat and dark as the grey band: peeled by the band's
    # colour, not by flatness, the cut stops where the photo begins
    posted = load_photo("rocket").transpose(Image.Transpose.ROTATE_180)
    posted = _caption_over(posted, (60, 60, 60), 0.16).transpose(Image.Transpose.ROTATE_180)
    assert [m["listing"] for m in find_matches(photo_index, query_hashes(edits.jpeg(posted, 80)))] == ["rocket"]


@pytest.mark.parametrize("name", ["rocket", "chelsea"])
def test_a_screenshot_around_the_photo_is_found(photo_index, name):
    for seed in range(3):
        screenshot = edits.jpeg(edits.listing_screenshot(load_photo(name), random.Random(seed)), 85)
        assert [m["listing"] for m in find_matches(photo_index, query_hashes(screenshot))] == [name], seed


def test_a_turned_photo_on_its_blurred_square_under_a_caption_is_found(photo_index):
    # the caption covers the top of the blurred square, so the photo is no longer
    # centred: the blurred margins are found side by side
    photo = load_photo("chelsea").transpose(Image.Transpose.ROTATE_180)
    side = round(max(photo.size) * 1.05)
    square = photo.resize((side, side)).filter(ImageFilter.GaussianBlur(side / 25))
    square.paste(photo, ((side - photo.width) // 2, (side - photo.height) // 2))
    posted = edits.jpeg(_caption_over(square, (255, 214, 0)), 75)
    assert [m["listing"] for m in find_matches(photo_index, query_hashes(posted))] == ["chelsea"]


def test_collages_and_screenshots_of_photos_not_indexed_match_nothing(photo_index):
    unindexed = [load_photo(n) for n in ("moon", "clock", "retina", "immunohistochemistry")]
    for seed in range(4):
        rng = random.Random(seed)
        for photo in unindexed:
            for posted in (edits.collage(photo, rng, unindexed + OTHERS), edits.listing_screenshot(photo, rng),
                           _caption_over(edits.frame(photo.transpose(Image.Transpose.ROTATE_90), rng), (240, 60, 60))):
                assert find_matches(photo_index, query_hashes(edits.jpeg(posted, 80))) == [], seed


def test_a_collage_seam_beside_a_busy_photo_is_found():
    # grass's own columns differ as much as the seam does: the seam's step is weighed
    # against the calmer side's
    grass = ImageOps.fit(load_photo("grass"), (300, 300))
    for photo, left in ((Image.fromarray(skimage.data.stereo_motorcycle()[0]), True), (load_photo("coins"), False)):
        pair = Image.new("RGB", (600, 300))
        pair.paste(ImageOps.fit(photo, (300, 300)), (0 if left else 300, 0))
        pair.paste(grass, (300 if left else 0, 0))
        cells = regions.collage_cells(edits.jpeg(pair, 80))
        cell = (0.0, 0.5) if left else (0.5, 1.0)
        assert any(abs(box[0] - cell[0]) < 0.02 and abs(box[2] - cell[1]) < 0.02 for box in cells), (left, cells)


def test_a_cell_whose_hashes_moved_is_found_by_its_identical_thumbnail(photo_index):
    # the middle of a column of three: the cell's region is a few percent off every stored
    # box, so its hashes disagree (16-26 bits), while its thumbnail and details line up
    column = Image.new("RGB", (321, 3 * 321))
    for number, photo in enumerate([OTHERS[0], load_photo("coins"), OTHERS[1]]):
        column.paste(ImageOps.fit(photo, (321, 321)), (0, 321 * number))
    hashes = query_hashes(edits.jpeg(column, 80))
    assert [m["listing"] for m in find_matches(photo_index, hashes)] == ["coins"]
    assert find_matches(photo_index, hashes, replace(DEFAULT_POLICY, identical=2.0)) == []  # what the arm is for


def test_a_dark_photo_on_a_page_of_its_own_colour_is_bounded_by_its_marks():
    # the night sky is within a few levels of the dark page, so neither colour nor flatness
    # shows where it begins; its stars mark every line, the page's letters a few
    sky = load_photo("hubble_deep_field").resize((390, 340))
    page = Image.new("RGB", (390, 800), (18, 18, 18))
    page.paste(sky, (0, 90))
    draw = ImageDraw.Draw(page)
    for top, text in ((20, "9:41"), (55, "상품 상세"), (460, "11,000원"), (520, "판매자 park89"), (720, "채팅하기")):
        draw.text((20, top), text, fill=(235, 235, 235), font_size=24)
    photo = (0.0, 90 / 800, 1.0, 430 / 800)
    posted = edits.jpeg(page, 85)
    found = regions.photo_regions(posted)
    assert any(max(abs(a - b) for a, b in zip(box, photo)) < 0.04 for box in found), found  # what the alignment absorbs
