"""The committed data/sample: the ranges docs/simulator.md documents, and the signals the
recommender and fraud detectors are built on."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from bunjang_lab.fraud.categories import (ACCOUNT_TRANSFER, ANOMALOUS_BEHAVIOUR, EXTERNAL_CHANNEL, IMAGE_TEXT,
                                          PHISHING_LINK, STOLEN_IMAGE)
from bunjang_lab.simulate.stats import describe

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def figures() -> dict:
    return describe(SAMPLE)


def test_sample_stays_small_enough_to_commit():
    size = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert size < 20 * 2**20


def test_documented_ranges_hold(figures):
    assert 0.02 <= figures["fraud_user_share"] <= 0.05
    assert 0.05 <= figures["fraud_listing_share"] <= 0.2
    assert 0.05 <= figures["fraud_message_share"] <= 0.2
    assert 40 <= figures["events_per_user"]["median"] <= 120
    assert figures["events_per_user"]["p90"] <= 400
    assert 0.5 <= figures["item_lifetime_days"]["median"] <= 3
    assert figures["item_lifetime_days"]["p90"] <= 8
    assert 0.3 <= figures["sold_share"] <= 0.7


def test_enough_labelled_fraud_and_hard_negatives_to_measure_precision_and_recall(figures):
    labelled = figures["labelled"]
    for category in (EXTERNAL_CHANNEL, PHISHING_LINK, ACCOUNT_TRANSFER):
        assert labelled[category]["listings"] + labelled[category]["messages"] >= 80
    assert labelled[STOLEN_IMAGE]["images"] >= 50
    assert labelled[IMAGE_TEXT]["images"] >= 50
    assert labelled[ANOMALOUS_BEHAVIOUR]["listings"] >= 50
    assert figures["hard_negatives"]["listings"] >= 50 and figures["hard_negatives"]["messages"] >= 100


def test_time_split_has_several_hundred_test_users_and_cold_items(figures):
    assert figures["test_click_users"] >= 300
    assert 0.3 <= figures["cold_test_click_share"] <= 0.85   # one-of-a-kind items: most test clicks are new


def test_sessions_make_recent_clicks_predictive(figures):
    assert figures["next_click_same_category"] >= 5 * figures["same_category_by_chance"]


def test_tastes_and_segments_drive_clicks():
    users = {u["user_id"]: u for u in map(json.loads, open(SAMPLE / "labels" / "users.jsonl", encoding="utf-8"))}
    category, clicks = {}, []
    for path in sorted(SAMPLE.glob("*.jsonl.gz")):
        for e in map(json.loads, gzip.open(path, "rt", encoding="utf-8")):
            if e["type"] == "listing":
                category[e["item_id"]] = e["category"]
            elif e["type"] == "click":
                clicks.append((e["user_id"], category[e["item_id"]]))
    in_taste = sum(c in users[u]["tastes"]["categories"] for u, c in clicks) / len(clicks)
    assert in_taste >= 0.6
    womens = Counter(users[u]["gender"] for u, c in clicks if c.startswith("여성의류"))
    assert womens["F"] >= 4 * womens["M"]
