"""Business rules of the products, each with a case built to break it (fake ranker, tiny market)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bunjang_lab.products import feed
from bunjang_lab.marketplace.state import snapshot
from bunjang_lab.products.popular import popular_lists
from bunjang_lab.products.recommend import build_products
from bunjang_lab.products.related import related_items
from bunjang_lab.products.suggest import suggestions
from bunjang_lab.products.suggest_match import bucket, match

NOW = pd.Timestamp("2026-03-10T12:00:00Z")
SHOES = "신발>스니커즈"


class FakeRanker:
    """Scores from a per-item table (default 0), so a test decides what the FM 'wants'."""

    def __init__(self, by_item=None):
        self.by_item = by_item or {}

    def score(self, user_ids, item_ids):
        return np.array([self.by_item.get(i, 0.0) for i in item_ids], dtype=float)


class Market:
    def __init__(self):
        self.rows, self.n = [], 0

    def add(self, type, user, hours_ago, **fields):
        self.n += 1
        self.rows.append(dict(event_id=f"e{self.n}", type=type, user_id=user, ts=NOW - pd.Timedelta(hours=hours_ago), **fields))
        return self

    def listing(self, item, seller, title="나이키 덩크 로우 270", category=SHOES, price=100_000, hours_ago=48, brand="나이키"):
        return self.add("listing", seller, hours_ago, item_id=item, title=title, category=category, price=price, brand=brand)

    def frame(self):
        return pd.DataFrame(self.rows)


def shopper_market():
    """A shopper 'u' who clicks sneakers; sellers s1..s6 list sneakers and some bags."""
    m = Market()
    m.add("signup", "u", 500, gender="F", birth_year=2000)
    for i in range(30):
        m.listing(f"sn{i}", f"s{i % 6 + 1}", title=f"나이키 덩크 {240 + i}", hours_ago=60 - i)
    for i in range(10):
        m.listing(f"bag{i}", "s9", title=f"프라다 가방 {i}", category="가방>숄더백", price=500_000, hours_ago=30)
    for i in range(5):
        m.add("click", "u", 10 - i, item_id=f"sn{i}")
    return m


def feed_of(events, ranker, flagged=None, user="u"):
    snap = snapshot(events, now=NOW, flagged=flagged)
    tables, _ = build_products(snap, ranker)
    home = tables["home"]
    return home[home["user_id"] == user], tables, snap


def test_sold_reserved_removed_and_flagged_items_never_reach_any_list():
    m = shopper_market()
    m.add("listing_status", "s1", 1, item_id="sn6", status="sold")
    m.add("listing_status", "s2", 1, item_id="sn7", status="reserved")
    m.add("listing_status", "s3", 1, item_id="sn8", status="removed")
    m.add("purchase", "other", 1, item_id="sn9", price=1)
    gone = {"sn6", "sn7", "sn8", "sn9", "sn10"}
    ranker = FakeRanker({i: 10.0 for i in gone})  # the FM loves them
    home, tables, _ = feed_of(m.frame(), ranker, flagged={"sn10"})
    assert len(home) > 0 and not gone & set(home["item_id"])
    assert not gone & set(tables["popular"]["item_id"])
    assert not gone & (set(tables["related"]["item_id"]) | set(tables["related"]["related_item_id"]))
    assert not gone & set(tables["candidates"]["item_id"])


def test_a_listing_back_to_active_is_live_again():
    m = shopper_market()
    m.add("listing_status", "s1", 3, item_id="sn6", status="reserved")
    m.add("listing_status", "s1", 1, item_id="sn6", status="active")
    home, _, _ = feed_of(m.frame(), FakeRanker({"sn6": 10.0}))
    assert home["item_id"].iloc[0] == "sn6"


def test_never_the_users_own_listing_nor_what_they_bought():
    m = shopper_market()
    m.listing("mine", "u", title="나이키 덩크 내꺼", hours_ago=1)
    m.add("purchase", "u", 2, item_id="sn3", price=1)
    m.add("listing_status", "s4", 2, item_id="sn3", status="active")  # a relisted item still was bought
    home, _, _ = feed_of(m.frame(), FakeRanker({"mine": 10.0, "sn3": 10.0}))
    assert {"mine", "sn3"}.isdisjoint(home["item_id"])


def test_at_most_three_items_per_seller_even_when_the_fm_wants_five():
    m = shopper_market()
    for i in range(5):
        m.listing(f"hot{i}", "bigseller", title=f"나이키 덩크 한정 {i}", hours_ago=2)
    home, _, _ = feed_of(m.frame(), FakeRanker({f"hot{i}": 10.0 - i for i in range(5)}))
    assert home["item_id"].head(3).tolist() == ["hot0", "hot1", "hot2"]
    assert {"hot3", "hot4"}.isdisjoint(home["item_id"])
    sellers = home.merge(snapshot(m.frame(), now=NOW).listings, on="item_id")["seller_id"]
    assert sellers.value_counts().max() <= feed.SELLER_CAP


def test_category_cap_keeps_the_feed_diverse():
    m = shopper_market()
    for i in range(40):
        m.listing(f"x{i}", f"xs{i}", hours_ago=5)
    home, _, snap = feed_of(m.frame(), FakeRanker({f"x{i}": 5.0 for i in range(40)}))
    per_category = home.merge(snap.listings, on="item_id")["category"].value_counts()
    assert per_category.max() <= feed.CATEGORY_CAP and len(home) > feed.CATEGORY_CAP


def test_freshness_boost_breaks_ties_towards_newer_listings():
    m = shopper_market()
    m.listing("old", "o1", hours_ago=400)
    m.listing("new", "o2", hours_ago=1)
    home, _, _ = feed_of(m.frame(), FakeRanker({"old": 3.0, "new": 3.0}))
    order = home["item_id"].tolist()
    assert order.index("new") < order.index("old") if "old" in order else order[0] == "new"


def test_feed_ranks_by_the_scorer_and_is_complete():
    home, _, _ = feed_of(shopper_market().frame(), FakeRanker({"bag3": 9.0, "sn20": 8.0}))
    assert home["item_id"].head(2).tolist() == ["bag3", "sn20"]
    assert home["rank"].tolist() == list(range(1, len(home) + 1))
    assert home["item_id"].is_unique and len(home) <= feed.K


def test_user_with_no_history_gets_the_segment_list_then_global():
    m = shopper_market()
    m.add("signup", "newbie", 1, gender="F", birth_year=2001)
    home, tables, _ = feed_of(m.frame(), FakeRanker(), user="newbie")
    assert len(home) > 0 and set(home["source"]) <= {"segment", "global"}
    segment = tables["popular"].query("segment == 'F|20s'")["item_id"].tolist()
    assert home["item_id"].head(5).tolist() == [i for i in segment if i in set(home["item_id"])][:5]


def test_unknown_gender_gets_its_own_segment_and_lists_exist_for_every_segment():
    m = shopper_market()
    m.add("signup", "anon", 1, gender=None, birth_year=1990)
    for i in range(3):
        m.add("favorite", "anon", 2 + i, item_id=f"bag{i}")
    snap = snapshot(m.frame(), now=NOW)
    assert snap.users.set_index("user_id").loc["anon", "segment"] == "unknown|30s"
    pop = popular_lists(snap, k=10)
    assert set(pop["segment"]) >= {"all", "unknown|30s", "unknown|unknown", "M|50+"}
    assert pop.query("segment == 'unknown|30s'")["item_id"].head(3).tolist() == ["bag0", "bag1", "bag2"]
    assert pop.query("segment == 'F|20s'")["item_id"].iloc[0].startswith("sn")  # u clicked sneakers


def test_listing_with_no_behaviour_still_gets_related_items_from_content():
    m = shopper_market()
    m.listing("fresh", "s7", title="나이키덩크 로우 250 새상품", hours_ago=0.1)
    related = related_items(snapshot(m.frame(), now=NOW), k=5)
    mine = related[related["item_id"] == "fresh"]
    assert len(mine) == 5 and set(mine["related_item_id"]) <= {f"sn{i}" for i in range(30)}
    assert "fresh" not in set(mine["related_item_id"])


def test_related_items_follow_sessions_and_titles():
    m = Market()
    m.listing("a", "s1", title="아이폰 13 프로 256", category="디지털>휴대폰", price=700_000)
    m.listing("b", "s2", title="갤럭시 s22 울트라", category="디지털>휴대폰", price=650_000)
    m.listing("c", "s3", title="아이폰13프로 128기가", category="디지털>휴대폰", price=680_000)
    m.listing("d", "s4", title="에어팟 프로", category="디지털>이어폰", price=150_000)
    for user in ("x", "y", "z"):  # people who open a also open b within minutes
        m.add("click", user, 5, item_id="a").add("click", user, 4.95, item_id="b")
    related = related_items(snapshot(m.frame(), now=NOW), k=3).query("item_id == 'a'")
    assert related["related_item_id"].tolist()[:2] == ["b", "c"]
    plain = related_items(snapshot(Market().listing("a", "s1", title="아이폰 13 프로 256", category="디지털>휴대폰")
                                   .listing("b", "s2", title="갤럭시 s22 울트라", category="디지털>휴대폰")
                                   .listing("c", "s3", title="아이폰13프로 128기가", category="디지털>휴대폰").frame(), now=NOW), k=1)
    assert plain.query("item_id == 'a'")["related_item_id"].tolist() == ["c"]


def test_suggestions_from_search_events_match_jamo_prefixes_and_categories():
    m = shopper_market()
    for i, q in enumerate(["나이키", "나이키", "Nike Dunk", "nike  dunk", "노트북", "ㄴㅇㅋ"]):
        m.add("search", f"q{i}", 3, query=q)
    m.add("search", "u", 2, query="나이키").add("click", "u", 1.95, item_id="sn12")
    table = suggestions(snapshot(m.frame(), now=NOW))
    assert "ㄴㅇㅋ" not in set(table["query"])  # an abbreviation is a way of typing, not a suggestion
    assert table.query("query == 'Nike Dunk' or query == 'nike dunk'").shape[0] == 1
    naiki = table.query("query == '나이키'").iloc[0]
    assert json.loads(naiki["categories"]) == {SHOES: 1.0}
    entries = table[table["bucket"] == bucket("ㄴ")].to_dict("records")
    for typed in ("ㄴ", "낭", "ㄴㅇㅋ"):
        assert match(typed, entries)[0]["query"] == "나이키"
    assert match("NIKE d", table[table["bucket"] == "n"].to_dict("records"))[0]["query"].lower() == "nike dunk"


def test_users_table_carries_segment_and_recent_states():
    _, tables, _ = feed_of(shopper_market().frame(), FakeRanker())
    row = tables["users"].set_index("user_id").loc["u"]
    assert row["segment"] == "F|20s"
    assert SHOES in json.loads(row["recent_categories"])["weights"]
    assert "sn4" in json.loads(row["recent_items"])["weights"]


@pytest.mark.parametrize("name", ["home", "candidates", "popular", "related", "suggest", "users"])
def test_tables_follow_the_run_contract(name):
    _, tables, _ = feed_of(shopper_market().add("search", "u", 1, query="나이키").frame(), FakeRanker())
    expected = {
        "home": ["user_id", "rank", "item_id", "score", "source", "why"], "candidates": ["user_id", "item_id", "why"],
        "popular": ["segment", "rank", "item_id", "score"], "related": ["item_id", "rank", "related_item_id", "score", "why"],
        "suggest": ["bucket", "query", "keystrokes", "chosung", "score", "categories"],
        "users": ["user_id", "segment", "recent_categories", "recent_items"],
    }[name]
    assert list(tables[name].columns) == expected and len(tables[name]) > 0
    if "why" in expected:  # every recommended item says why
        assert tables[name]["why"].map(lambda w: isinstance(w, str) and bool(w.strip())).all()


def test_recent_states_are_serving_fold_event_by_event():
    from bunjang_lab.ranking import realtime
    from bunjang_lab.ranking.features import epoch_seconds, recent_states

    m = shopper_market()
    m.add("favorite", "u", 0.5, item_id="bag1").add("click", "v", 3, item_id="sn2").add("chat", "v", 2, item_id="bag2", to_user_id="s9", text="hi")
    snap = snapshot(m.frame(), now=NOW)
    expected = {}
    for row, ts in zip(snap.interactions.itertuples(), epoch_seconds(snap.interactions["ts"]).tolist()):
        cats, items = expected.get(row.user_id, (realtime.new_state(), realtime.new_state()))
        expected[row.user_id] = (realtime.add(cats, row.category, row.weight, ts), realtime.add(items, row.item_id, row.weight, ts))
    folded = recent_states(snap.interactions)
    assert {u: (c, i) for u, c, i in folded.itertuples(index=False)} == expected


def test_a_small_category_still_gets_a_full_related_row_that_says_why():
    m = shopper_market()
    m.listing("cam1", "s7", title="캐논 카메라 오막포", category="카메라>DSLR", price=900_000, brand="캐논")
    m.listing("cam2", "s8", title="캐논 카메라 바디", category="카메라>DSLR", price=800_000, brand="캐논")
    m.listing("shoe", "s8", title="캐논 카메라 스트랩", category="신발>스니커즈", price=20_000, brand="")
    m.listing("gone", "s8", title="캐논 카메라 렌즈", category="카메라>렌즈", price=300_000, brand="캐논")
    m.add("listing_status", "s8", 1, item_id="gone", status="removed")
    m.listing("fraud", "s8", title="캐논 카메라 급처", category="카메라>렌즈", price=100_000, brand="캐논")
    m.add("click", "u", 3, item_id="cam1").add("click", "u", 2.9, item_id="bag3")  # a co-view across categories
    related = related_items(snapshot(m.frame(), now=NOW, flagged={"fraud"}), k=10)
    row = related[related["item_id"] == "cam1"].sort_values("rank")
    assert row["rank"].tolist() == list(range(1, 11))
    assert row["related_item_id"].tolist()[:3] == ["cam2", "bag3", "shoe"]
    assert row["why"].tolist()[:3] == ["also in DSLR", "viewed together with this", "similar title"]
    assert row["why"].iloc[-1].startswith("popular with")  # the rest of the row: what the audience opens
    assert not {"gone", "fraud"} & (set(related["related_item_id"]) | set(related["item_id"]))
    assert (related["item_id"] != related["related_item_id"]).all()
    assert (related.groupby("item_id").size() == 10).all()


def test_every_served_item_says_why_and_explain_describes_it(cache_url, tmp_path):
    from bunjang_lab.products.recommend import write_products
    from bunjang_lab.serving import lookup, queries
    from bunjang_lab.serving.backends import open_cache
    from bunjang_lab.serving.publish import publish_run

    _, tables, snap = feed_of(shopper_market().frame(), FakeRanker({"sn29": 5.0}))
    write_products(tables, tmp_path / "run")
    publish_run(tmp_path / "run", cache_url)
    with open_cache(cache_url) as cache, cache.snapshot() as view:
        answers = [lookup.recommend(view, "u", k=50), lookup.recommend(view, "new", k=5, gender="F", birth_year=2001),
                   lookup.related(view, "sn3"), lookup.popular(view, gender="F")]
        explained = queries.related(view, {"item_id": "sn3", "k": 2, "explain": "1"})
    for answer in answers:
        assert answer["items"] and all(isinstance(i["why"], str) and i["why"].strip() for i in answer["items"])
    assert answers[0]["items"][0] == {"item_id": "sn29", "score": answers[0]["items"][0]["score"], "why": "new in 스니커즈"}
    assert {i["why"] for i in answers[0]["items"]} == {"new in 스니커즈", "popular with women in their 20s"}
    assert "because you viewed 나이키 덩크 244" in set(tables["candidates"]["why"])  # kept for re-ranking after a click
    assert answers[1]["items"][0]["why"] == "popular with women in their 20s"
    facts = snap.listings.set_index("item_id")
    for item in explained["items"]:
        assert (item["title"], item["category"], item["price"]) == tuple(facts.loc[item["item_id"], ["title", "category", "price"]])
        assert item["age_hours"] > 0
