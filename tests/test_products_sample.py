"""The products on the committed data/sample, as a new user meets them after `make demo`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from bunjang_lab.marketplace.state import EVENT_TYPES, snapshot
from bunjang_lab.products import popular, related, suggest
from bunjang_lab.products.suggest_match import buckets, fold, match

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="module")
def sample():
    rows = []
    for day in sorted(SAMPLE.glob("*.jsonl.gz")):
        with gzip.open(day, "rt", encoding="utf-8") as lines:
            rows += [e for e in map(json.loads, lines) if e["type"] in EVENT_TYPES]
    return snapshot(pd.DataFrame(rows))


def test_the_most_popular_listings_each_get_a_full_related_row_that_says_why(sample):
    lists = popular.popular_lists(sample)
    table = related.related_items(sample, popular_lists=lists)
    top = lists.query("segment == 'all'").nsmallest(20, "rank")["item_id"]
    rows = table[table["item_id"].isin(top) & (table["rank"] <= 10)]
    assert rows.groupby("item_id").size().reindex(top, fill_value=0).eq(10).all()
    assert rows["why"].str.strip().astype(bool).all()
    assert set(table["related_item_id"]) <= set(sample.live["item_id"])


def test_suggestions_are_finished_queries_and_forgive_typos_and_the_input_mode(sample):
    table = suggest.suggestions(sample)
    searched = {fold(q): " ".join(q.split()) for q in sample.searches["query"] if fold(q)}
    fragments = suggest.fragments(searched, suggest.catalogue_words(sample.listings))
    assert {"아이", "니트조"} <= fragments and not fragments & set(map(fold, table["query"]))
    by_bucket = {b: g.to_dict("records") for b, g in table.groupby("bucket")}
    for typed in ("아", "아이", "아이펀", "dkdlvhs"):
        found = match(typed, [e for b in buckets(typed) for e in by_bucket.get(b, ())])
        assert found[0]["query"] == "아이폰", (typed, found[:3])
