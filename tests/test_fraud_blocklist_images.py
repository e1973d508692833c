"""Pictures of confirmed scams on the blocklist: a confirmed listing's photos (from the image
index: a moderation event carries none) make ``score image`` and ``score listing`` flag a copy
with ``confirmed_image``; a clearance takes them back."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
SCAM_LISTING, OTHER_LISTING = "i0000016", "i0000018"  # honest sample listings, each with its own pictures


def score(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **env}
    return subprocess.run([sys.executable, "-m", "bunjang_lab.score", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=120)


def decision(verdict: str, ts: str) -> str:
    event = {"type": "moderation", "user_id": "mod01", "ts": ts, "target_kind": "listing", "target_id": SCAM_LISTING,
             "decision": verdict, "target_text": "아이폰 미개봉 급처"}  # no identifier in its words
    return json.dumps({**event, "fraud_categories": ["stolen_image"]} if verdict == "confirmed" else event)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """Two sample listings' pictures in an image index, a published cache, and a seller's
    copy of the scam's first picture (cut at the sides, recompressed)."""
    from bunjang_lab.fraud.images.cli import index_source
    from bunjang_lab.serving.publish import publish_run
    from bunjang_lab.testing import write_run

    tmp = tmp_path_factory.mktemp("blocklist_images")
    (tmp / "market" / "images").mkdir(parents=True)
    (tmp / "market" / "labels").mkdir()
    with open(SAMPLE / "labels" / "images.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["item_id"] in (SCAM_LISTING, OTHER_LISTING)]
    with open(tmp / "market" / "labels" / "images.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        shutil.copy(SAMPLE / row["image"], tmp / "market" / row["image"])
    index = tmp / "image_index"
    index_source(tmp / "market", index)
    original = Image.open(SAMPLE / "images" / f"{SCAM_LISTING}_0.jpg")
    w, h = original.size
    copy = tmp / "copy.jpg"
    original.crop((int(w * 0.04), int(h * 0.03), int(w * 0.97), h)).save(copy, quality=60)
    url = f"sqlite:///{tmp / 'cache.sqlite'}"
    publish_run(write_run(tmp / "run"), url)
    return {"index": str(index), "cache": url, "copy": str(copy), "folder": str(tmp),
            "other": str(SAMPLE / "images" / f"{OTHER_LISTING}_0.jpg")}


def confirmed_images(answer: dict) -> list[dict]:
    return [r for r in answer["reasons"] if r["code"] == "confirmed_image"]


def images(world: dict, *files: str) -> list[dict]:
    proc = score("image", *files, "--index", world["index"], "--cache", world["cache"], "--no-ocr")
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_a_confirmed_listings_pictures_flag_a_copy_until_it_is_cleared(world):
    assert not any(confirmed_images(a) for a in images(world, world["copy"], world["other"]))
    applied = score("event", "--json", "-", "--cache", world["cache"], "--index", world["index"],
                    stdin=decision("confirmed", "2026-11-26T10:00:00Z"))
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["added"] >= 1  # the listing's pictures, though its text names nothing
    copy, other = images(world, world["copy"], world["other"])
    assert [r["category"] for r in confirmed_images(copy)] == ["stolen_image"]
    assert copy["flagged"] and copy["risk"] == 1.0 and not confirmed_images(other)
    listing = json.dumps({"title": "아이폰 15", "description": "새 제품이에요", "images": [world["copy"]]})
    proc = score("listing", "--json", "-", "--index", world["index"], "--cache", world["cache"], "--no-ocr",
                 "--rules-only", stdin=listing, BUNJANG_IMAGE_ROOTS=world["folder"])  # a listing's pictures obey the roots
    assert proc.returncode == 0, proc.stderr
    assert "confirmed_image" in [r["code"] for r in json.loads(proc.stdout)["reasons"]]
    cleared = score("event", "--json", "-", "--cache", world["cache"], "--index", world["index"],
                    stdin=decision("cleared", "2026-11-27T10:00:00Z"))
    assert json.loads(cleared.stdout)["removed"] == json.loads(applied.stdout)["added"]
    assert not confirmed_images(images(world, world["copy"])[0])
