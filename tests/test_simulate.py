"""The simulator: determinism, contract validity, label consistency and the CLI."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from bunjang_lab.cli import UserError
from bunjang_lab.fraud.categories import (ACCOUNT_TRANSFER, ANOMALOUS_BEHAVIOUR, EXTERNAL_CHANNEL, IMAGE_TEXT,
                                          LABEL_CATEGORIES, PHISHING_LINK, STOLEN_IMAGE)
from bunjang_lab.ingest import ingest_files
from bunjang_lab.simulate import simulate
from bunjang_lab.simulate import cli as simulate_cli

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((REPO_ROOT / "src" / "bunjang_lab" / "schema" / "events.schema.json").read_text())


def read_events(folder: Path) -> list[dict]:
    events = []
    for path in sorted(folder.glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            events += [json.loads(line) for line in f]
    return events


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A small world with enough scammers to exercise every label."""
    out = tmp_path_factory.mktemp("sim")
    simulate(users=300, days=3, seed=5, out=out, progress=False, workers=0)
    return out


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    runs = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        simulate(users=60, days=2, seed=seed, out=tmp_path / name, progress=False, workers=0)
        runs.append(digest(tmp_path / name))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_image_workers_do_not_change_the_output(tmp_path):
    simulate(users=40, days=1, seed=9, out=tmp_path / "inline", progress=False, workers=0)
    simulate(users=40, days=1, seed=9, out=tmp_path / "pool", progress=False, workers=2)
    assert digest(tmp_path / "inline") == digest(tmp_path / "pool")


def test_every_event_is_valid_under_the_json_schema_and_ids_are_unique(small):
    events = read_events(small)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = [(e["event_id"], err.message) for e in events for err in validator.iter_errors(e)]
    assert errors == []
    assert len({e["event_id"] for e in events}) == len(events)
    assert {e["type"] for e in events} == {"signup", "listing", "listing_status", "impression", "click", "favorite",
                                          "search", "chat", "purchase", "report", "moderation", "ad_campaign",
                                          "ad_campaign_status", "ad_impression", "ad_click"}


def test_simulated_ads_show_live_listings_of_others_and_bill_exactly(small):
    """Ads go through the auction and the charge rule: each shows a listing on sale at the
    time, not the viewer's own, and the ledger of every day reconciles with the events."""
    import pandas as pd

    from bunjang_lab.ads.ledger import bill

    events = read_events(small)
    listed = {e["item_id"]: (e["ts"], e["user_id"]) for e in events if e["type"] == "listing"}
    left = {}
    for e in events:
        if e["type"] == "listing_status":
            left.setdefault(e["item_id"], e["ts"])
    stamp = pd.Timestamp
    ads = [e for e in events if e["type"] == "ad_impression"]
    assert len(ads) > 20 and any(e["type"] == "ad_click" for e in events)
    for e in ads:
        created, seller = listed[e["item_id"]]
        assert seller != e["user_id"]
        assert stamp(created) <= stamp(e["ts"]) and (e["item_id"] not in left or stamp(e["ts"]) < stamp(left[e["item_id"]]))
    frame = pd.DataFrame(events)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    ledger, statement, checks = bill(frame)
    assert checks == {"missing": 0, "extra": 0, "duplicated": 0, "statement_mismatch": 0, "overspend": 0}
    assert ledger["charge_milli"].sum() > 0 and statement["clicks"].sum() > 0


def test_ingesting_the_simulated_days_quarantines_nothing(small, tmp_path):
    stats = ingest_files(sorted(small.glob("*.jsonl.gz")), tmp_path / "lake")
    assert stats["quarantined"] == 0 and stats["duplicates"] == 0
    assert stats["accepted"] == stats["read"] == len(read_events(small))


def test_day_files_hold_their_own_day_in_time_order(small):
    for path in sorted(small.glob("*.jsonl.gz")):
        events = read_events_file(path)
        later = [e for e in events if e["type"] != "signup"]   # day one also carries older accounts
        assert all(e["ts"].startswith(path.name[:10]) for e in later)
        stamps = [e["ts"] for e in later]
        assert stamps == sorted(stamps)


def read_events_file(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_behaviour_respects_the_market(small):
    """No click on an item before it is listed or after it is sold; nobody buys their own item."""
    events = read_events(small)
    listed = {e["item_id"]: e for e in events if e["type"] == "listing"}
    gone = {}
    for e in events:
        if e["type"] == "listing_status" and e["status"] in ("reserved", "sold", "removed"):
            gone.setdefault(e["item_id"], e["ts"])
    for e in events:
        if e["type"] in ("click", "favorite", "purchase"):
            item = listed[e["item_id"]]
            assert item["ts"] <= e["ts"]
            assert e["user_id"] != item["user_id"]
            if e["type"] == "click" and e["item_id"] in gone:
                assert e["ts"] < gone[e["item_id"]]
    sold = [e for e in events if e["type"] == "listing_status" and e["status"] == "sold"]
    assert len(sold) == len({e["item_id"] for e in sold}) == sum(e["type"] == "purchase" for e in events)


def test_labels_agree_with_the_events(small):
    events = read_events(small)
    listings = {e["item_id"]: e for e in events if e["type"] == "listing"}
    chats = {e["event_id"]: e for e in events if e["type"] == "chat"}
    users = {json.loads(line)["user_id"]: json.loads(line) for line in open(small / "labels" / "users.jsonl")}
    listing_labels = read_csv(small / "labels" / "listings.csv")
    fraud_users = {row["user_id"]: set(row["fraud_types"].split(";")) for row in read_csv(small / "labels" / "fraud_users.csv")}

    assert set(users) == {e["user_id"] for e in events if e["type"] == "signup"}
    assert {row["item_id"] for row in listing_labels} == set(listings)
    for row in listing_labels:
        types = set(filter(None, row["fraud_types"].split(";")))
        assert types <= set(LABEL_CATEGORIES)
        assert row["seller_id"] == listings[row["item_id"]]["user_id"]
        if types:
            assert types <= fraud_users[row["seller_id"]]
        text = listings[row["item_id"]]["description"]
        for evidence in filter(None, row["evidence"].split(" | ")):
            assert evidence in text
        assert bool(row["evidence"]) == bool(types & {EXTERNAL_CHANNEL, PHISHING_LINK, ACCOUNT_TRANSFER})
        assert not (types and row["hard_negative"] == "1")

    message_labels = read_csv(small / "labels" / "messages.csv")
    assert {row["event_id"] for row in message_labels} == set(chats)
    for row in message_labels:
        chat = chats[row["event_id"]]
        assert (row["item_id"], row["user_id"]) == (chat["item_id"], chat["user_id"])
        if row["evidence"]:
            assert row["evidence"] in chat["text"]
            assert row["fraud_types"] in (EXTERNAL_CHANNEL, PHISHING_LINK, ACCOUNT_TRANSFER)
    for user_id, types in fraud_users.items():
        assert sorted(types) == sorted(users[user_id]["fraud_types"])


def test_images_exist_and_copies_point_at_other_sellers_pictures(small):
    events = read_events(small)
    referenced = [name for e in events if e["type"] == "listing" for name in e["images"]]
    image_labels = {row["image"]: row for row in read_csv(small / "labels" / "images.csv")}
    assert sorted(referenced) == sorted(image_labels)
    assert all((small / name).is_file() for name in referenced)
    copies = [row for row in image_labels.values() if row["copy_of"]]
    texts = [row for row in image_labels.values() if IMAGE_TEXT in row["fraud_types"]]
    assert copies and texts
    for row in copies:
        assert row["fraud_types"].startswith(STOLEN_IMAGE) and row["transform"].endswith("recompress")
        original = image_labels[row["copy_of"]]
        assert original["seller_id"] != row["seller_id"] and not original["fraud_types"]
    assert all(row["text_in_image"] for row in texts)


def test_stolen_copies_are_nearest_to_their_original_and_strangers_stay_apart(small):
    """The copies are near duplicates in pHash (mirror undone), as the image index expects."""
    import imagehash
    from PIL import Image, ImageOps

    rows = read_csv(small / "labels" / "images.csv")

    def phash(name, mirror=False):
        img = Image.open(small / name)
        return imagehash.phash(ImageOps.mirror(img) if mirror else img)

    originals = sorted({row["copy_of"] for row in rows if row["copy_of"]})
    strangers = [row["image"] for row in rows if not row["fraud_types"] and row["image"] not in originals][:40]
    hashes = {name: phash(name) for name in originals + strangers}
    for row in [row for row in rows if row["copy_of"]][:12]:
        copy = phash(row["image"], "mirror" in row["transform"])
        nearest = min(hashes, key=lambda name: (copy - hashes[name], name != row["copy_of"]))
        assert nearest == row["copy_of"], row
    pairs = [hashes[a] - hashes[b] for i, a in enumerate(strangers) for b in strangers[i + 1:]]
    assert min(pairs) > 10


def test_contact_details_inside_pictures_are_legible_to_tesseract(small, monkeypatch):
    import pytesseract
    from PIL import Image

    monkeypatch.setenv("OMP_THREAD_LIMIT", "1")
    rows = [row for row in read_csv(small / "labels" / "images.csv") if row["text_in_image"].startswith("010-")][:2]
    assert rows
    for row in rows:
        text = pytesseract.image_to_string(Image.open(small / row["image"]).convert("L"), lang="kor+eng")
        digits = "".join(ch for ch in text if ch.isdigit())
        assert row["text_in_image"].replace("-", "") in digits


def test_cli_writes_a_world_and_prints_a_summary(tmp_path, capsys):
    assert simulate_cli.run(["--users", "30", "--days", "1", "--seed", "2", "--out", str(tmp_path / "w"),
                             "--no-progress", "--plain", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["users"] == 30 and summary["events"] == len(read_events(tmp_path / "w"))
    assert (tmp_path / "w" / "2026-10-01.jsonl").is_file()
    assert simulate_cli.run(["--users", "30", "--days", "1", "--seed", "2", "--out", str(tmp_path / "w"),
                             "--no-progress", "--plain", "--overwrite"]) == 0
    headline, header, *rows = capsys.readouterr().out.splitlines()
    assert headline.startswith(f"simulated 30 users ({summary['fraud_users']} fraudsters) over 1 day(s)")
    assert header.split() == ["event", "type", "events"]
    assert {row.split()[0]: int(row.split()[1].replace(",", "")) for row in rows} == summary["by_type"]


def test_cli_refuses_to_mix_two_simulations_unless_asked(tmp_path, capsys):
    argv = ["--users", "20", "--days", "1", "--out", str(tmp_path / "w"), "--no-progress"]
    simulate_cli.run(argv)
    first = digest(tmp_path / "w")
    with pytest.raises(UserError, match="--overwrite"):
        simulate_cli.run([*argv[:-3], "--days", "2", *argv[-3:]])
    simulate_cli.run([*argv, "--overwrite", "--seed", "8"])
    assert digest(tmp_path / "w") != first
    assert len(list((tmp_path / "w").glob("*.jsonl.gz"))) == 1


@pytest.mark.parametrize("argv, message", [
    (["--users", "5"], "--users"),
    (["--start", "yesterday"], "--start"),
    (["--days", "0"], "--days"),
])
def test_cli_rejects_bad_arguments_in_one_line(tmp_path, argv, message):
    with pytest.raises(UserError, match=message):
        simulate_cli.run([*argv, "--out", str(tmp_path / "w")])


def test_fraud_types_use_the_shared_vocabulary(small):
    found = {t for row in read_csv(small / "labels" / "fraud_users.csv") for t in row["fraud_types"].split(";")}
    assert ANOMALOUS_BEHAVIOUR in found and found <= set(LABEL_CATEGORIES)
