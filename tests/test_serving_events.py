"""Real-time events: clicks re-rank the feed, sold/flagged items leave every list, no lost updates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bunjang_lab.errors import InvalidInput
from bunjang_lab.serving import lookup
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.events import apply_event, apply_events
from bunjang_lab.serving.publish import publish_run
from bunjang_lab.testing import category_of, write_run

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def cache(cache_url, tmp_path):
    """The test run published on each backend (``cache_url``: SQLite, and Redis under a prefix of its own)."""
    publish_run(write_run(tmp_path / "run"), cache_url)
    with open_cache(cache_url) as opened:
        yield opened


def feed(cache, user="u2", k=5) -> list[str]:
    with cache.snapshot() as snap:
        return [i["item_id"] for i in lookup.recommend(snap, user, k=k)["items"]]


def click(user, item, ts="2026-11-26T10:00:00Z", kind="click") -> dict:
    return {"type": kind, "user_id": user, "item_id": item, "ts": ts}


def test_clicks_rerank_the_feed_visible_to_the_next_read(cache):
    assert {category_of(int(i[1:])) for i in feed(cache)} == {"shoes"}
    results = list(apply_events(cache, [click("u2", "i3"), click("u2", "i5", kind="favorite")]))
    assert [r["effect"] for r in results] == ["reranked", "reranked"]
    after = feed(cache)
    assert category_of(int(after[0][1:])) == "bags"
    with cache.snapshot() as snap:
        user = snap.get("user:u2")
    assert set(user["recent_items"]["weights"]) == {"i3", "i5"}
    assert user["recent_categories"]["weights"]["bags"] > 0


def test_a_sold_item_leaves_every_list_at_once_and_can_come_back(cache):
    item = feed(cache)[0]
    with cache.snapshot() as snap:
        holders = [f"i{n}" for n in range(40) if any(r[0] == item for r in snap.get(f"rel:i{n}") or [])]
    assert apply_event(cache, {"type": "listing_status", "item_id": item, "status": "sold"})["effect"] == "unavailable"
    with cache.snapshot() as snap:
        lists = [lookup.recommend(snap, f"u{u}", k=50)["items"] for u in range(20)]
        lists += [lookup.popular(snap, k=50)["items"], lookup.popular(snap, gender="F", k=50)["items"]]
        lists += [lookup.related(snap, h, k=50)["items"] for h in holders]
    assert holders and all(item not in [i["item_id"] for i in listed] for listed in lists)
    apply_event(cache, {"type": "listing_status", "item_id": item, "status": "live"})
    assert feed(cache)[0] == item


def test_fraud_flag_and_purchase_take_items_out_of_feeds(cache):
    first, second = feed(cache)[:2]
    apply_event(cache, {"type": "fraud_flag", "item_id": first})
    apply_event(cache, click("u9", second, kind="purchase"))
    assert not {first, second} & set(feed(cache, k=50))


def test_sold_items_stay_out_after_a_new_publish(cache, tmp_path):
    item = feed(cache)[0]
    apply_event(cache, {"type": "listing_status", "item_id": item, "status": "removed"})
    publish_run(write_run(tmp_path / "run"), cache.url)
    assert item not in feed(cache, k=50)


def test_search_events_boost_the_users_suggestions(cache):
    def ranked(user):
        with cache.snapshot() as snap:
            return {s["query"]: s["score"] for s in lookup.suggest(snap, "ㄴ", user_id=user)["suggestions"]}

    before_new, before_u2 = ranked("searcher"), ranked("u2")
    result = apply_event(cache, {"type": "search", "user_id": "searcher", "query": " 노스페이스 "})
    assert result["categories"] == ["bags"]
    apply_event(cache, {"type": "search", "user_id": "u2", "query": "노스페이스"})
    after_new, after_u2 = ranked("searcher"), ranked("u2")
    assert list(before_new)[0] == "나이키" and list(after_new)[0] == "노스페이스"
    assert after_u2["노스페이스"] > before_u2["노스페이스"]


def test_unknown_user_and_item_are_recorded_without_a_vector(cache):
    assert apply_event(cache, click("brand-new", "i-new"))["effect"] == "recorded"
    with cache.snapshot() as snap:
        assert snap.get("user:brand-new")["recent_items"]["weights"] == {"i-new": 1.0}
        assert lookup.recommend(snap, "brand-new")["source"] == "global"


@pytest.mark.parametrize("event, message", [
    ({"type": "click", "item_id": "i1"}, "click event lacks user_id"),
    ({"type": "teleport"}, "unsupported event type 'teleport'"),
    ({"type": "listing_status", "item_id": "i1", "status": "melted"}, "listing_status 'melted' is not one of"),
    ({"type": "click", "user_id": "u1", "item_id": "i1", "ts": "yesterday"}, "ts 'yesterday' is neither"),
])
def test_bad_events_are_one_line_errors(cache, event, message):
    with pytest.raises(InvalidInput, match=message):
        apply_event(cache, event)


def test_concurrent_event_processes_for_one_user_lose_no_update(cache, tmp_path):
    writers, per_writer = 4, 10
    procs = []
    now = int(time.time())  # one time for every click: a second passing between writers would decay the earlier weights
    for w in range(writers):
        lines = [json.dumps(click("u2", f"i{w * per_writer + n}", ts=now)) for n in range(per_writer)]  # the run's 40 listings
        path = tmp_path / f"events-{w}.jsonl"
        path.write_text("\n".join(lines) + "\n")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "bunjang_lab.score", "event", "--json", str(path), "--cache", cache.url],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(SRC), "USER": os.environ.get("USER", "test")}))
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert len(out.splitlines()) == per_writer
    with cache.snapshot() as snap:
        weights = snap.get("user:u2")["recent_items"]["weights"]
    assert len(weights) == writers * per_writer and sum(weights.values()) == pytest.approx(writers * per_writer)


def test_event_command_reports_bad_lines_and_applies_the_rest(cache, tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(click("u2", "i3")) + "\n{broken\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "bunjang_lab.score", "event", "--json", str(path), "--cache", cache.url],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)})
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1 and proc.stderr == ""
    assert out[0]["effect"] == "reranked"
    assert out[1]["line"] == 2 and out[1]["error"].startswith(f"{path}:2: invalid JSON")



def test_a_reranked_feed_keeps_the_seller_cap(cache):
    apply_event(cache, click("u2", "i3"))
    with cache.snapshot() as snap:
        items = [entry[0] for entry in snap.get("home:u2")["items"]]
        sellers = [snap.get(f"ivec:{i}")["s"] for i in items]
    assert items and max(sellers.count(s) for s in sellers) <= 3


def test_signup_gives_a_new_user_their_segment_list_at_once(cache):
    result = apply_event(cache, {"type": "signup", "user_id": "fresh", "gender": "F", "birth_year": 2001,
                                 "ts": "2026-11-26T10:00:00Z"})
    assert result["segment"] == "F|20s"
    with cache.snapshot() as snap:
        answer = lookup.recommend(snap, "fresh", k=3)
        assert (answer["source"], answer["segment"]) == ("segment", "F|20s")
        assert [i["item_id"] for i in answer["items"]] == [i for i, _ in snap.get("pop:F|20s")[:3]]


def test_impressions_and_new_listings_are_accepted_without_effect(cache):
    before = feed(cache)
    assert apply_event(cache, {"type": "impression", "user_id": "u2", "item_id": "i3"})["effect"] == "ignored"
    assert apply_event(cache, {"type": "listing", "user_id": "s1", "item_id": "i999", "title": "새 가방"})["effect"] == "ignored"
    assert feed(cache) == before


def test_a_reranked_feed_keeps_each_items_reason(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    run = write_run(tmp_path / "run")
    for name, why in (("candidates", "because you viewed 나이키 덩크"), ("home", "new in shoes")):
        table = pq.read_table(run / f"products/{name}.parquet")
        pq.write_table(table.append_column("why", pa.array([why] * table.num_rows)), run / f"products/{name}.parquet")
    url = f"sqlite:///{tmp_path / 'cache.sqlite'}"
    publish_run(run, url)
    with open_cache(url) as cache:
        assert apply_event(cache, click("u2", "i3"))["effect"] == "reranked"
        with cache.snapshot() as snap:
            reasons = {entry[2] for entry in snap.get("home:u2")["items"]}
            topped_up = {i["why"] for i in lookup.recommend(snap, "u2", k=50)["items"] if "source" in i}
    assert reasons and reasons <= {"because you viewed 나이키 덩크", "new in shoes"}
    assert topped_up <= {"popular with women in their 20s", "popular right now"}  # a thinned feed's fill says so
