"""The event contract: the exact validator, and the JSON Schema kept consistent with it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from bunjang_lab import events
from bunjang_lab.events import REASONS, TYPES, Rejected, json_schema, to_epoch_ms, validate

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "src" / "bunjang_lab" / "schema" / "events.schema.json"
NOW = to_epoch_ms("2026-11-26T00:00:00Z")
TS = "2026-11-25T09:30:00.250+09:00"

GOOD = {
    "signup": {"gender": "F", "birth_year": 1994},
    "listing": {"item_id": "i1", "title": "나이키 덩크 로우", "price": 89000, "category": "신발>스니커즈",
                "brand": "나이키", "description": "한 번 신었어요", "images": ["images/a.jpg", "https://cdn/b.jpg"]},
    "listing_status": {"item_id": "i1", "status": "sold"},
    "impression": {"item_id": "i1", "surface": "home", "position": 3},
    "click": {"item_id": "i1", "surface": "search"},
    "favorite": {"item_id": "i1"},
    "search": {"query": "아이폰 15"},
    "chat": {"item_id": "i1", "to_user_id": "u2", "text": "택포 가능할까요?"},
    "purchase": {"item_id": "i1", "price": 85000},
    "ad_campaign": {"campaign_id": "c1", "item_ids": ["i1", "i2"], "billing": "cpc", "bid": 300,
                    "daily_budget": 20000, "start_ms": 1_764_000_000_000, "categories": ["신발"],
                    "keywords": ["나이키"], "genders": ["F"], "age_bands": ["20s", "30s"]},
    "ad_campaign_status": {"campaign_id": "c1", "action": "pause"},
    "ad_impression": {"auction_id": "a1", "campaign_id": "c1", "item_id": "i1", "surface": "home", "position": 2,
                      "billing": "cpm", "price_charged": 1500},
    "ad_click": {"auction_id": "a1", "campaign_id": "c1", "item_id": "i1", "surface": "search", "position": 0,
                 "billing": "cpc", "price_charged": 280},
    "report": {"target_kind": "chat", "target_id": "e-chat-9", "reason": "off_platform", "comment": "카톡으로 오래요"},
    "moderation": {"target_kind": "listing", "target_id": "i1", "decision": "confirmed",
                   "fraud_categories": ["external_channel"], "target_text": "문의는 010-1234-5678"},
}


def record(kind: str, **changes) -> dict:
    base = {"event_id": f"e-{kind}", "type": kind, "ts": TS, "user_id": "u1", **GOOD[kind]}
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def reason_of(rec) -> str | None:
    try:
        validate(rec, now_ms=NOW, base_dir="/data")
    except Rejected as exc:
        assert exc.reason in REASONS
        return exc.reason
    return None


def test_every_type_has_a_good_example_that_validates():
    assert set(GOOD) == set(TYPES)
    for kind in TYPES:
        row = validate(record(kind), now_ms=NOW, base_dir="/data")
        assert row["ts"] == to_epoch_ms("2026-11-25T00:30:00.250Z")
        assert set(row) == {"event_id", "type", "ts", "user_id", *TYPES[kind].fields, "extra"}


def test_normalisation():
    row = validate(record("listing", user_id=42, extra_field={"a": 1}), now_ms=NOW, base_dir="/data/day1")
    assert row["user_id"] == "42"
    assert row["images"] == ["/data/day1/images/a.jpg", "https://cdn/b.jpg"]
    assert json.loads(row["extra"]) == {"extra_field": {"a": 1}}
    assert validate(record("favorite"), now_ms=NOW)["on"] is True
    assert validate(record("favorite", on=False), now_ms=NOW)["on"] is False
    assert validate(record("signup", gender=None, birth_year=...), now_ms=NOW)["gender"] is None
    assert validate(record("click", ts=1_764_000_000_000), now_ms=NOW)["ts"] == 1_764_000_000_000
    # only images are paths: other lists (a campaign's listings) are kept as written
    assert validate(record("ad_campaign", item_ids=["./i1"]), now_ms=NOW, base_dir="/d")["item_ids"] == ["./i1"]
    # fields of another type are outside this type's contract: kept, never a reason to reject
    assert json.loads(validate(record("click", title="x"), now_ms=NOW)["extra"]) == {"title": "x"}


@pytest.mark.parametrize("rec, reason", [
    ([1, 2], "not_object"),
    ("text", "not_object"),
    (record("click", event_id=...), "missing_field"),
    (record("click", event_id="  "), "missing_field"),
    (record("click", event_id="x" * 129), "out_of_range"),
    (record("click", event_id=7), "wrong_type"),
    (record("click", type=...), "missing_field"),
    (record("click", type="teleport"), "unknown_type"),
    (record("click", ts=...), "missing_field"),
    (record("click", ts="2026-11-25 09:30"), "bad_timestamp"),
    (record("click", ts="2026-11-25T09:30:00"), "bad_timestamp"),  # no offset
    (record("click", ts="2026-02-30T09:30:00Z"), "bad_timestamp"),
    (record("click", ts=1.7e12), "bad_timestamp"),
    (record("click", ts="2009-12-31T23:59:59Z"), "ts_too_old"),
    (record("click", ts="2026-11-27T00:00:01Z"), "ts_in_future"),
    (record("click", user_id=...), "missing_field"),
    (record("click", user_id=""), "missing_field"),
    (record("click", item_id=...), "missing_field"),
    (record("click", item_id=["i1"]), "wrong_type"),
    (record("listing", price=-1), "out_of_range"),
    (record("listing", price=10.0), "wrong_type"),
    (record("listing", price="1000"), "wrong_type"),
    (record("listing", price=True), "wrong_type"),
    (record("listing", price=2**63), "out_of_range"),
    (record("listing", title=" \t"), "missing_field"),
    (record("listing", category="신발>"), "out_of_range"),
    (record("listing", images="a.jpg"), "wrong_type"),
    (record("listing", images=["a.jpg", None]), "wrong_type"),
    (record("listing", images=[""]), "out_of_range"),
    (record("listing_status", status="lost"), "out_of_range"),
    (record("impression", position=-1), "out_of_range"),
    (record("favorite", on="yes"), "wrong_type"),
    (record("signup", gender="X"), "out_of_range"),
    (record("signup", birth_year=1899), "out_of_range"),
    (record("signup", birth_year=2027), "out_of_range"),
    (record("search", query=""), "missing_field"),
    (record("chat", text=...), "missing_field"),
    (record("chat", text="\ud800"), "invalid_utf8"),
    (record("ad_campaign", billing="cpa"), "out_of_range"),
    (record("ad_campaign", bid=0), "out_of_range"),
    (record("ad_campaign", daily_budget=...), "missing_field"),
    (record("ad_campaign", item_ids=[" "]), "out_of_range"),
    (record("ad_campaign", keywords="나이키"), "wrong_type"),
    (record("ad_campaign_status", action="delete"), "out_of_range"),
    (record("ad_click", auction_id=...), "missing_field"),
    (record("ad_click", price_charged=-1), "out_of_range"),
    (record("ad_impression", surface=""), "missing_field"),
    (record("report", target_kind="item"), "out_of_range"),
    (record("report", target_id=...), "missing_field"),
    (record("report", reason="dislike"), "out_of_range"),
    (record("moderation", decision="maybe"), "out_of_range"),
    (record("moderation", decision=...), "missing_field"),
    (record("moderation", fraud_categories="external_channel"), "wrong_type"),
])
def test_rejections(rec, reason):
    assert reason_of(rec) == reason


def test_schema_file_is_generated_from_the_contract():
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == json_schema()
    jsonschema.Draft202012Validator.check_schema(json_schema())


# Records JSON Schema can judge statically (no ts window, no 1.0 integers, no birth_year bound).
STATIC_CASES = [record(kind) for kind in TYPES] + [
    record("click", user_id=5, extra={"campaign": "x"}, title="other type's field"),
    record("signup", gender=None, birth_year=None),
    record("listing", description=None, brand=None, images=None),
    record("listing", images=[]),
    record("click", ts=1_764_000_000_000),
    record("click", event_id=...), record("click", event_id=""), record("click", event_id="x" * 129),
    record("click", type="teleport"), record("click", ts="yesterday"), record("click", ts=None),
    record("click", user_id=None), record("click", user_id="\t"), record("click", user_id=-3),
    record("click", item_id=...), record("listing", price=-5), record("listing", price="5"),
    record("listing", title=""), record("listing", category=">a"), record("listing", images=["ok", ""]),
    record("listing", images=[3]), record("listing_status", status="gone"), record("impression", position=-1),
    record("impression", position="3"), record("favorite", on=1), record("signup", gender="m"),
    record("search", query=" "), record("chat", to_user_id=...), record("purchase", price=None),
    record("ad_campaign", billing="cpa"), record("ad_campaign", bid=0), record("ad_campaign", end_ms=None),
    record("ad_campaign", item_ids=[""]), record("ad_campaign_status", action="delete"),
    record("ad_click", price_charged=-1), record("ad_impression", auction_id=...),
]


@pytest.mark.parametrize("rec", STATIC_CASES, ids=range(len(STATIC_CASES)))
def test_json_schema_agrees_with_validate(rec):
    schema_ok = jsonschema.Draft202012Validator(json_schema()).is_valid(rec)
    assert schema_ok == (reason_of(rec) is None)


def test_to_epoch_ms_truncates_to_milliseconds_and_honours_offsets():
    assert to_epoch_ms("2026-01-01T09:00:00.999999999+09:00") == to_epoch_ms("2026-01-01T00:00:00Z") + 999
    assert to_epoch_ms("2026-01-01t00:00:00z") == to_epoch_ms("2026-01-01T00:00:00Z")
    with pytest.raises(ValueError):
        to_epoch_ms("2026-01-01T00:00:00+24:00")


def test_reason_codes_are_documented():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "events.md").read_text(encoding="utf-8")
    for code in REASONS:
        assert f"`{code}`" in doc
    for kind in TYPES:
        assert f"`{kind}`" in doc
    assert events.MAX_LINE_BYTES == 1 << 20
