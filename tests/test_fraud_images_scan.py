"""Scanning pictures end to end: score image, the images command, the batch path, OCR."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import skimage.data
from PIL import Image, ImageDraw, ImageFont, ImageOps

from bunjang_lab.fraud.images import ocr
from bunjang_lab.fraud.images.cli import run as images_command
from bunjang_lab.fraud.images.scan import merge_shards, plan_shards, scan_images, scan_shard, text_reasons
from bunjang_lab.ingest import ingest_files
from bunjang_lab.serving.commands.image import run as score_image

FONTS = Path("/usr/share/fonts/truetype")
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def save(img: Image.Image, path: Path) -> str:
    img.save(path, quality=90)
    return str(path)


@pytest.fixture()
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("astronaut", "coffee", "rocket"):
        save(Image.fromarray(getattr(skimage.data, name)()), folder / f"{name}.jpg")
    return folder


def test_score_image_prints_one_line_per_file_in_order(photos, tmp_path, capsys):
    assert images_command(["index", str(photos), "--index", str(tmp_path / "ix"), "--no-progress", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["added"] == 3 and summary["errors"] == 0
    copy = save(ImageOps.mirror(Image.open(photos / "coffee.jpg")).resize((300, 200)), tmp_path / "copy.jpg")
    (tmp_path / "notes.txt").write_text("hello")
    files = [copy, str(tmp_path / "notes.txt"), str(tmp_path / "missing.jpg")]
    assert score_image([*files, "--index", str(tmp_path / "ix"), "--no-ocr"]) == 1  # some files failed
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["image"] for line in lines] == files
    assert [m["listing"] for m in lines[0]["matches"]] == ["coffee.jpg"]
    assert lines[0]["flagged"] and lines[0]["reasons"][0]["code"] == "image_reuse"
    assert lines[0]["reasons"][0]["source"] == "image" and lines[0]["reasons"][0]["category"] == "stolen_image"
    assert lines[1] == {"image": files[1], "error": "not an image (unrecognised format)", "error_code": "not_an_image"}
    assert lines[2] == {"image": files[2], "error": "no such file", "error_code": "not_found"}
    # indexing again adds nothing
    images_command(["index", str(photos), "--index", str(tmp_path / "ix"), "--no-progress", "--json"])
    assert json.loads(capsys.readouterr().out)["added"] == 0


def test_a_missing_index_is_a_clear_error(photos, tmp_path):
    with pytest.raises(FileNotFoundError, match="no image index"):
        scan_images([str(photos / "coffee.jpg")], tmp_path / "nowhere", ocr=False)


def render_contact(text: str, font: str, size: int, fg, bg, canvas=(480, 320)) -> Image.Image:
    img = Image.new("RGB", canvas, bg) if isinstance(bg, tuple) else bg.resize(canvas)
    ImageDraw.Draw(img).text((30, canvas[1] // 2), text, font=ImageFont.truetype(str(FONTS / font), size), fill=fg)
    return img


def test_contact_details_in_a_picture_give_the_text_rules_reasons(tmp_path):
    img = render_contact("카톡 sell4u88 010-2345-6789", "nanum/NanumGothic.ttf", 22, (20, 20, 20), (235, 228, 210))
    result = scan_images([save(img, tmp_path / "contact.jpg")], None)[0]
    codes = {r["code"] for r in result["reasons"]}
    assert "image_text" in codes and result["flagged"]
    assert all(r["source"] == "image" for r in result["reasons"])
    assert "2345-6789" not in json.dumps(result, ensure_ascii=False)  # masked everywhere
    assert "sell4u88" not in json.dumps(result, ensure_ascii=False)
    assert "ocr_capped" not in result


def test_a_picture_full_of_text_is_read_within_its_budget(tmp_path):
    img = Image.new("RGB", (900, 1700), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONTS / "nanum/NanumGothic.ttf"), 22)
    for n in range(55):
        draw.text((20, 10 + 30 * n), f"{n} 카톡 seller{n:03d} 문의 010-{1000 + n}-{5000 + n} 택배비 포함 네고 불가", font=font, fill="black")
    result = scan_images([save(img, tmp_path / "lines.png")], None)[0]
    assert "lines" in result["ocr_capped"] and result["flagged"]
    reading = ocr.Reader(budget=ocr.Budget(seconds=0.5)).read(img)
    assert "seconds" in reading.capped


def test_read_text_has_no_repeated_lines():
    img = render_contact("카톡 sell4u88", "nanum/NanumGothic.ttf", 28, (20, 20, 20), (235, 228, 210))
    lines = ocr.read_text(img).split(" / ")
    assert lines and len(lines) == len(set(lines))


def test_the_text_line_prefilter_keeps_text_pictures_and_skips_most_others():
    import csv

    with open(SAMPLE / "labels" / "images.csv", newline="", encoding="utf-8") as handle:
        labels = list(csv.DictReader(handle))
    with_contact = [r for r in labels if "image_text" in r["fraud_types"]][:20]
    without_text = [r for r in labels if not r["text_in_image"]][:60]
    assert all(ocr.text_lines(Image.open(SAMPLE / r["image"])) for r in with_contact)
    skipped = sum(not ocr.text_lines(Image.open(SAMPLE / r["image"])) for r in without_text)
    assert skipped >= 0.7 * len(without_text)
    reader = ocr.Reader(engine=ocr.TesseractEngine())  # the PP-OCR engines detect lines themselves
    assert reader.read(Image.new("RGB", (300, 200), (120, 160, 200))) == ("", "skipped", ())


def test_ocr_results_are_cached_by_what_the_picture_looks_like(tmp_path, monkeypatch):
    cache = ocr.OcrCache(tmp_path / "ocr.sqlite")
    img = render_contact("문의 010 9876 5432", "nanum/NanumMyeongjo.ttf", 30, "white", (30, 40, 90))
    text, how, capped = ocr.Reader(cache).read(img)
    assert how == "ocr" and "9876" in text and capped == ()
    monkeypatch.setenv(ocr.ENGINE_SETTING, "tesseract")  # whose reading is replaced below
    changed = img.copy()
    changed.putpixel((5, 5), (255, 0, 0))  # one pixel: the same picture to the cache
    other = render_contact("문의 010 9876 5438", "nanum/NanumMyeongjo.ttf", 30, "white", (30, 40, 90))
    tesseract_text = ocr.Reader(cache).read(img).text
    reader = ocr.Reader(ocr.OcrCache(tmp_path / "ocr.sqlite"))
    monkeypatch.setattr(ocr, "read_lines", lambda *a, **k: ["another reading"])
    assert reader.read(changed) == (tesseract_text, "cache", ())
    assert reader.read(other) == ("another reading", "ocr", ())  # one digit changed: read again


def test_rules_see_ocr_text_as_image_reasons():
    found = text_reasons("카톡 abc1234")
    assert {r["code"] for r in found} >= {"image_text"}
    assert {r["category"] for r in found} >= {"external_channel", "image_text"}
    assert text_reasons("정품 새상품") == []


@pytest.mark.parametrize("read, flagged", [
    ("하 빠 베 여고 615-66-858265", True),  # the bank's name misread, the number read whole
    ("1002-123-456789", True), ("352-0123-4567-13", True), ("국민 100-996-377675", True),
    ("6893-1234-5678", False),  # 4-4-4: a parcel's number, not an account's shape
    ("운송장번호 60712-3456-7890", False), ("주문 번호 3120-88-123456", False), ("S/N 7347-278414-545", False),
    ("사업자 등록번호: 123-45-67890", False), ("운 송 장 번 호 60712-3456-7890", False), ("그 SIN 5394-046758-601", False), ("2024-05-12-123456 구매", False), ("1234-5678-9012-3456", False),
    ("정가 1,290,000원 사이즈 270", False), ("110482719305", False),  # no hyphens: a barcode as well
])
def test_a_number_in_an_account_shape_flags_a_picture_alone(read, flagged):
    found = text_reasons(read)
    assert any(r["code"] == "image_text" for r in found) is flagged
    if flagged:
        assert any(r["category"] == "account_transfer" for r in found)
        assert "456789" not in json.dumps([r["evidence"] for r in found])  # masked like all read text


def write_listings(folder: Path, listings: list[tuple]) -> Path:
    lines = [json.dumps({"event_id": f"e{n}", "type": "listing", "ts": ts, "user_id": seller, "item_id": item,
                         "title": "가방", "price": 10000, "category": "가방", "images": images})
             for n, (ts, seller, item, images) in enumerate(listings)]
    path = folder / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_batch_path_flags_the_later_copy_by_another_seller(photos, tmp_path):
    copy = ImageOps.mirror(Image.open(photos / "rocket.jpg")).resize((320, 214))
    save(copy, photos / "rocket_copy.jpg")
    events = write_listings(photos, [
        ("2026-10-01T09:00:00Z", "honest", "i1", ["rocket.jpg", "coffee.jpg"]),
        ("2026-10-01T10:00:00Z", "thief", "i2", ["rocket_copy.jpg", "broken.jpg"]),
        ("2026-10-01T11:00:00Z", "honest", "i3", ["astronaut.jpg"]),
    ])
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    lake = tmp_path / "lake"
    ingest_files([events], lake)
    shards = plan_shards(str(lake), "2026-10-01", "2026-10-02", shard_size=2)
    assert [len(s) for s in shards] == [2, 2, 1]
    assert shards[1][0]["seller_id"] == "thief" and shards[1][0]["image"].endswith("rocket_copy.jpg")
    index = tmp_path / "ix"
    parts = [scan_shard(shard, index, tmp_path / "parts" / f"{n}.parquet") for n, shard in enumerate(shards)]
    for attempt in range(2):  # a retried merge gives the same result and stores nothing twice
        out = merge_shards(parts, index, tmp_path / "fraud")
        table = pq.read_table(out).to_pylist()
        assert len(json.loads((index / "manifest.json").read_text())["segments"]) == 1
    by_image = {Path(r["image"]).name: r for r in table}
    stolen = json.loads(by_image["rocket_copy.jpg"]["reasons"])
    assert [r["code"] for r in stolen] == ["image_reuse"] and by_image["rocket_copy.jpg"]["flagged"]
    assert json.loads(by_image["rocket_copy.jpg"]["matches"])[0]["listing"] == "i1"
    assert json.loads(by_image["rocket.jpg"]["reasons"]) == []  # the original is not blamed
    assert by_image["broken.jpg"]["error"].startswith("corrupt or truncated")
    assert set(table[0]) >= {"image", "item_id", "seller_id", "matches", "ocr_text", "reasons"}
