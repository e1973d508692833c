"""The service's memory layer over the cache: held values and held answers (SQLite)."""

from __future__ import annotations

import gc
import json
import uuid

import pytest

from bunjang_lab.serving import lookup
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.memory import MemoryCache

VERSION_1 = {"pop:all": [["i1", 3.0], ["i2", 2.0], ["i3", 1.0]], "rel:i1": [["i2", 0.9], ["i3", 0.5]],
             "home:u1": {"items": [["i3", 1.0], ["i2", 0.5]]}}


def publish(backend, values: dict) -> None:
    with backend.new_version() as writer:
        writer.put_many(values.items())


@pytest.fixture
def cache(tmp_path):
    backend = open_cache(f"sqlite:///{tmp_path / 'cache.sqlite'}", create=True)
    publish(backend, VERSION_1)
    cache = MemoryCache(backend)
    cache.refresh()
    yield cache
    cache.close()


class Counted:
    """A lookup as the service asks it, counting how often it was really computed."""

    def __init__(self, cache: MemoryCache, query):
        self.cache, self.query, self.computed = cache, query, 0

    def __call__(self, *args) -> dict:
        def compute(snap) -> bytes:
            self.computed += 1
            return json.dumps(self.query(snap, *args)).encode()

        return json.loads(self.cache.answer((self.query.__name__, *args), compute))


def set_gone(cache: MemoryCache, item: str, status: str | None) -> None:
    def write(tx):
        if status is None:
            tx.delete_live(f"gone:{item}")
        else:
            tx.put_live(f"gone:{item}", {"status": status, "ts": 1.0})

    cache.atomic(write, [])


def items(answer: dict) -> list[str]:
    return [i["item_id"] for i in answer["items"]]


def test_an_answer_of_fixed_values_is_computed_once_while_its_live_keys_stay(cache):
    popular = Counted(cache, lookup.popular)
    first = popular(None, None, 2)
    assert popular(None, None, 2) == first and popular.computed == 1
    set_gone(cache, "i1", "sold")  # a listed item sold: the held bytes no longer hold
    assert items(popular(None, None, 2)) == ["i2", "i3"] and popular.computed == 2
    set_gone(cache, "i3", "reserved")  # not among the items read for k = 2 before: still read now
    assert items(popular(None, None, 2)) == ["i2"] and popular.computed == 3
    set_gone(cache, "i1", None)
    set_gone(cache, "i3", None)
    assert popular(None, None, 2) == first and popular.computed == 4


def test_an_answer_that_read_a_key_events_rewrite_is_never_held(cache):
    recommend = Counted(cache, lookup.recommend)
    assert recommend("u1", 2) == recommend("u1", 2) and recommend.computed == 2


def test_a_new_version_answers_afresh(cache):
    related = Counted(cache, lookup.related)
    assert items(related("i1", 5)) == ["i2", "i3"]
    publish(cache.backend, {**VERSION_1, "rel:i1": [["i3", 0.7]]})
    assert cache.refresh()
    assert items(related("i1", 5)) == ["i3"] and related.computed == 2


def test_held_rows_and_answers_are_left_alone_by_the_cyclic_collector(cache):
    Counted(cache, lookup.related)("i1", 5)
    gc.collect()
    gc.collect()  # an outer tuple is let go by the pass after the one that let go its rows
    held = [cache.memo.shared["pop:all"], cache.memo.shared["rel:i1"], *cache.memo.answers.values()]
    assert not any(gc.is_tracked(value) for value in held)


def test_held_answers_stay_within_their_byte_budget(cache):
    cache.memo.answer_bytes = 1000
    popular = Counted(cache, lookup.popular)
    for k in range(1, 40):
        popular(None, None, k % 3 + 1)  # three questions of about 100 bytes each, asked again and again
        popular("F", None, k)  # and others, each new
        assert sum(len(body) for _, _, body in cache.memo.answers.values()) <= 1000


@pytest.fixture
def redis_cache():
    from .conftest import SERVING_REDIS_DB

    backend = open_cache(f"{SERVING_REDIS_DB}?prefix=test-{uuid.uuid4().hex}:", create=True, pooled=True)
    publish(backend, VERSION_1)
    cache = MemoryCache(backend)
    cache.refresh()
    yield cache
    cache.close()
    backend.clear()


def test_on_redis_a_feed_and_the_live_keys_of_its_items_come_in_one_round_trip(redis_cache, monkeypatch):
    from bunjang_lab.serving.redis_pool import PooledConnection

    trips = []
    pipeline = PooledConnection.pipeline
    monkeypatch.setattr(PooledConnection, "pipeline", lambda conn, commands: trips.append(commands) or pipeline(conn, commands))

    def recommend(k: int = 2) -> list[str]:
        trips.clear()
        with redis_cache.snapshot() as snap:
            return items(lookup.recommend(snap, "u1", k=k))

    assert recommend() == ["i3", "i2"] and len(trips) == 2  # the feed, then its items' live keys
    assert recommend() == ["i3", "i2"] and len(trips) == 1  # both at once
    set_gone(redis_cache, "i3", "sold")
    assert recommend(k=1) == ["i2"] and len(trips) == 1  # the sale read in that same trip
    set_gone(redis_cache, "i3", None)
    redis_cache.atomic(lambda tx: tx.put("home:u1", {"items": [["i1", 2.0], ["i2", 1.0]]}), ["home:u1"])
    assert recommend() == ["i1", "i2"] and len(trips) == 2  # another feed: its own items' keys read after it
    assert recommend() == ["i1", "i2"] and len(trips) == 1
