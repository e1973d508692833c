"""Product evaluation: the protocol pieces on hand-made cases, and the whole run on a small split."""

from __future__ import annotations

import pandas as pd

from bunjang_lab.marketplace.state import snapshot
from bunjang_lab.products.evaluation import evaluate_products, evaluate_suggest, list_metrics, next_opened, search_sessions
from bunjang_lab.products.suggest import suggestions
from bunjang_lab.products.suggest_match import match
from bunjang_lab.testing import market_events
from bunjang_lab.ranking.split import time_split

T0 = pd.Timestamp("2026-03-01T10:00:00Z")


def at(minutes):
    return T0 + pd.Timedelta(minutes=minutes)


def test_next_opened_pairs_stay_within_a_user_and_a_session():
    clicks = pd.DataFrame({"user_id": ["a", "a", "a", "a", "b"], "item_id": ["x", "x", "y", "z", "w"],
                           "ts": [at(0), at(1), at(2), at(90), at(3)]})
    assert next_opened(clicks)[["item_id", "next_item_id"]].values.tolist() == [["x", "y"]]  # x->x repeats, y->z too late, b alone


def test_search_sessions_keep_the_final_full_query():
    searches = pd.DataFrame({"user_id": ["a", "a", "a", "a"], "query": ["나", "ㄴㅇㅋ", "나이키", "노트북"],
                             "ts": [at(0), at(1), at(2), at(100)]})
    assert search_sessions(searches)["query"].tolist() == ["나이키", "노트북"]


def test_list_metrics_count_users_without_a_list_as_misses():
    m = list_metrics({"u": ["a"]}, {"u": {"a"}, "v": {"b"}})
    assert m["hr@10"] == 0.5 and m["mrr"] == 0.5 and m["users"] == 2


def test_suggestions_beat_plain_prefix_on_abbreviations_and_spelling_variants():
    rows = []
    for i in range(6):
        rows += [dict(type="search", user_id=f"p{i}-{j}", ts=at(i), query=q) for j, q in enumerate(("Nike Dunk", "nike dunk", "나이키"))]
    rows += [dict(type="search", user_id="p9", ts=at(7), query="NIKE DUNK LOW")]
    rows += [dict(type="listing", user_id="s", ts=at(0), item_id="i1", title="나이키 덩크 dunk low", category="신발")]
    train = snapshot(pd.DataFrame(rows), now=at(10))
    test = pd.DataFrame({"user_id": ["t1", "t2"], "query": ["nike Dunk", "나이키"], "ts": [at(20), at(21)]})
    result = evaluate_suggest(train, test)["results"]
    assert result["characters=1"]["suggest"] >= result["characters=1"]["prefix-popularity"]
    assert result["chosung=2"] == {"suggest": 1.0, "prefix-popularity": 0.5}  # ㄴㅇ finds 나이키 only with chosung


def test_suggestions_offer_finished_queries_not_the_fragments_typed_on_the_way():
    rows = [dict(type="listing", user_id="s", ts=at(0), item_id="i1", title="아이폰 13 미개봉", category="휴대폰"),
            dict(type="listing", user_id="s", ts=at(0), item_id="i2", title="디퓨저 새상품", category="향수")]
    for i in range(5):  # typed on the way, in the same session
        rows += [dict(type="search", user_id=f"a{i}", ts=at(i), query="아이"), dict(type="search", user_id=f"a{i}", ts=at(i + 0.2), query="아이폰")]
    for i in range(8):  # a fragment searched on its own: still no word of the catalogue
        rows += [dict(type="search", user_id=f"d{i}", ts=at(i), query="디퓨")]
    rows += [dict(type="search", user_id="e", ts=at(1), query="디퓨저"), dict(type="click", user_id="e", ts=at(1.5), item_id="i2")]
    table = suggestions(snapshot(pd.DataFrame(rows), now=at(10)))
    assert set(table["query"]) == {"아이폰", "디퓨저"}
    entries = table.to_dict("records")
    for typed, wanted in (("아", "아이폰"), ("아이펀", "아이폰"), ("dkdlvhs", "아이폰"), ("디퓨", "디퓨저"), ("elvbwj", "디퓨저")):
        assert match(typed, entries)[0]["query"] == wanted, typed


def test_evaluate_products_on_a_time_split_reports_every_product_with_its_baseline():
    events = market_events(users=120, listings=500, seed=5, clicks_per_user=20)
    split = time_split(events, test_days=5)
    out = evaluate_products(split)
    home = out["home"]["results"]
    assert set(home) == {"fm-raw", "home", "segment-popular"} and home["home"]["users"] == len(split.users)
    assert set(out["related"]["results"]) == {"related", "category-popular"} and out["related"]["pairs"] > 0
    for interval in [*out["related"]["difference"].values(), *out["suggest"]["difference"].values()]:
        assert interval["low"] <= interval["diff"] <= interval["high"]  # paired 95% bootstrap intervals
    assert set(out["suggest"]["results"]) == {f"{m}={n}" for m in ("characters", "chosung") for n in (1, 2, 3)}
    for metrics in home.values():
        assert 0.0 <= metrics["hr@10"] <= 1.0


def test_the_feed_knobs_buy_category_diversity_and_younger_listings_at_a_measured_cost():
    from bunjang_lab.marketplace.state import snapshot as snap_of
    from bunjang_lab.products import feed, popular, related
    from bunjang_lab.products.evaluation import diversity_and_age, evaluate_knobs

    events = market_events(users=120, listings=500, seed=5, clicks_per_user=20)
    split = time_split(events, test_days=5)
    snap = snap_of(split.train, now=split.cutoff)
    tables = {"popular": popular.popular_lists(snap)}
    tables["related"] = related.related_items(snap, popular_lists=tables["popular"])

    class ByItem:  # a ranker that prefers some categories: the cap must spread the feed
        def score(self, users, items):
            return pd.Series(items).str[-1].isin(list("0123")).to_numpy(dtype=float)

    grid = (feed.FeedKnobs(), feed.FeedKnobs(category_cap=2), feed.FeedKnobs(freshness_weight=5.0))
    default, capped, fresh = evaluate_knobs(split, snap, ByItem(), tables, grid)["settings"]
    assert default["difference"] == {"diff": 0.0, "low": 0.0, "high": 0.0}
    assert capped["diversity@10"] > default["diversity@10"]
    assert fresh["median_age_hours@10"] < default["median_age_hours@10"]
    for setting in (capped, fresh):
        assert setting["difference"]["low"] <= setting["difference"]["diff"] <= setting["difference"]["high"]


def test_related_pairs_are_judged_against_the_daily_batch_and_skip_listings_gone_by_then():
    from bunjang_lab.products.evaluation import evaluate_related
    from bunjang_lab.products import popular, related

    def listing(item, hours, price):
        return dict(type="listing", user_id="s", item_id=item, ts=at(60 * hours), title=f"니트 {item}",
                    category="여성의류>니트", brand="", price=price)

    # a, b, c are live at the cutoff (hour 48), d is posted on the window's first day and opened
    # after a on the second; c, sold in between, is skipped by both lists.
    rows = [dict(type="signup", user_id=u, ts=at(0), gender="F", birth_year=1999) for u in ("s", "u", "v")]
    rows += [listing("a", 1, 10_000), listing("b", 1, 10_000), listing("c", 1, 10_000), listing("d", 50, 10_000)]
    rows += [dict(type="click", user_id="v", item_id=i, ts=at(60 * 10 + n)) for n, i in enumerate("cccb")]  # c is popular
    rows += [dict(type="listing_status", user_id="s", item_id="c", ts=at(60 * 70), status="sold"),
             dict(type="click", user_id="u", item_id="a", ts=at(60 * 80)), dict(type="click", user_id="u", item_id="d", ts=at(60 * 80 + 5)),
             dict(type="click", user_id="v", item_id="b", ts=at(60 * 96))]
    events = pd.DataFrame(rows).assign(event_id=lambda e: [f"e{n}" for n in range(len(e))])
    split = time_split(events, test_days=2, cutoff=at(60 * 48))
    snap = snapshot(split.train, now=split.cutoff)
    tables = {"related": related.related_items(snap), "popular_scores": popular.item_scores(snap).query("segment == 'all'")[["item_id", "score"]]}
    out = evaluate_related(split, snap, tables)
    assert out["batches"] == 2 and out["pairs"] == 1  # a -> d: d was unknown at the cutoff, known to the second day's batch
    assert out["results"]["related"]["hr@10"] == out["results"]["category-popular"]["hr@10"] == 1.0
