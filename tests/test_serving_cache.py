"""Contract tests of the versioned cache, run against both backends (SQLite and Redis db 11)."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
import uuid

import pytest

from bunjang_lab.serving.cache import CacheError, MissingValue
from bunjang_lab.serving.backends import open_cache

REDIS_DB = "redis://127.0.0.1:6379/11"


@pytest.fixture(params=["sqlite", "redis, stdlib client", "redis, redis-py pool"])
def cache(request, tmp_path):
    """The cache on each backend; Redis through both clients (CLI and service), its keys
    under a prefix of their own."""
    if request.param == "sqlite":
        with open_cache(f"sqlite:///{tmp_path / 'cache.sqlite'}", create=True) as opened:
            yield opened
        return
    url = f"{REDIS_DB}?prefix=test-{uuid.uuid4().hex}:"
    with open_cache(url, create=True, pooled=request.param.endswith("pool")) as opened:
        yield opened
        opened.clear()


def publish(cache, values: dict, run: str = "r", keep: int = 3) -> int:
    with cache.new_version(run=run, keep=keep) as writer:
        writer.put_many(values.items())
    return writer.version


def corrupt(cache, key: str) -> None:
    """Overwrite ``key`` of the current version with bytes that are not JSON."""
    version = cache.current_version()
    if cache.url.startswith("sqlite"):
        with sqlite3.connect(cache.path) as conn:
            conn.execute("UPDATE kv SET value = ? WHERE version = ? AND key = ?", (b"\xff{not json", version, key))
    else:
        cache.command("SET", cache.key(version, key), b"\xff{not json")


def test_values_round_trip_and_absent_keys_are_none(cache):
    publish(cache, {"pop:all": [["i1", 1.5]], "user:u1": {"segment": "F|20s", "name": "김민지"}})
    with cache.snapshot() as snap:
        assert snap.get_many(["pop:all", "user:u1", "nope"]) == [[["i1", 1.5]], {"segment": "F|20s", "name": "김민지"}, None]
        assert snap.live_many(["gone:i1"]) == [None]


def test_reading_before_any_publish_is_a_clear_error(cache):
    with pytest.raises(CacheError, match="nothing published"):
        cache.snapshot()


def test_missing_required_value_names_the_key_and_version(cache):
    publish(cache, {"a": 1})
    with cache.snapshot() as snap, pytest.raises(MissingValue, match="'pop:all' in cache version 1"):
        snap.require("pop:all")


def test_corrupt_value_is_an_error_naming_the_key(cache):
    publish(cache, {"home:u1": {"items": []}, "home:u2": {"items": []}})
    corrupt(cache, "home:u1")
    with cache.snapshot() as snap:
        assert snap.get("home:u2") == {"items": []}
        with pytest.raises(CacheError, match="corrupt value at key 'home:u1'"):
            snap.get("home:u1")


def test_values_over_the_size_cap_are_refused_with_their_key(cache_url):
    separator = "&" if "?" in cache_url else "?"
    with open_cache(cache_url + f"{separator}max_value_bytes=100", create=True) as small:
        with pytest.raises(CacheError, match="key 'big'.*over the 100-byte cap"):
            publish(small, {"ok": 1, "big": "x" * 200})
        assert small.versions() == []  # the aborted version is gone, nothing became current
        publish(small, {"ok": 1})
        assert small.current_version() is not None


def test_publish_keeps_n_previous_versions_and_rolls_back(cache):
    for n in range(1, 6):
        publish(cache, {"k": n}, run=f"run{n}", keep=2)
    assert [v["version"] for v in cache.versions()] == [3, 4, 5]
    assert cache.rollback() == {"from_version": 5, "version": 4, "run": "run4"}
    with cache.snapshot() as snap:
        assert (snap.version, snap.get("k")) == (4, 4)
    cache.rollback()
    with pytest.raises(CacheError, match="no version older than 3"):
        cache.rollback()
    # A new publish after rollbacks gets a fresh number and becomes current.
    assert publish(cache, {"k": 6}, keep=2) == 6
    with cache.snapshot() as snap:
        assert snap.get("k") == 6


def test_a_snapshot_can_pin_a_kept_version(cache):
    publish(cache, {"pop:all": "first"})
    publish(cache, {"pop:all": "second"})
    with cache.snapshot(1) as old:
        assert (old.version, old.get("pop:all")) == (1, "first")
    with cache.snapshot() as current:
        assert (current.version, current.get("pop:all")) == (2, "second")


def test_rollback_with_nothing_published_is_an_error(cache):
    with pytest.raises(CacheError, match="nothing to roll back"):
        cache.rollback()


def test_failed_publish_leaves_the_current_version_untouched(cache):
    publish(cache, {"k": 1})
    with pytest.raises(RuntimeError):
        with cache.new_version() as writer:
            writer.put("k", 2)
            raise RuntimeError("batch died")
    assert [v["version"] for v in cache.versions()] == [1]
    with cache.snapshot() as snap:
        assert snap.get("k") == 1


def test_readers_never_see_a_mix_of_two_versions_during_publish(cache):
    keys = [f"home:u{n}" for n in range(300)]
    publish(cache, dict.fromkeys(keys, 0))
    stop, mixes, reads = threading.Event(), [], []

    def reader():
        while not stop.is_set():
            with cache.snapshot() as snap:
                values = set(snap.get_many(keys[:150])) | set(snap.get_many(keys[150:]))
            reads.append(1)
            if len(values) != 1:
                mixes.append(values)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for n in range(1, 6):
            with cache.new_version(keep=1) as writer:
                for start in range(0, len(keys), 50):  # several chunks: a reader can fall between them
                    writer.put_many((key, n) for key in keys[start:start + 50])
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert reads and not mixes
    with cache.snapshot() as snap:
        assert snap.get(keys[0]) == 5


def test_concurrent_atomic_updates_lose_nothing(cache):
    publish(cache, {"counter": 0, "other": "kept"})

    def bump(tx):
        tx.put("counter", tx.get("counter") + 1)

    threads = [threading.Thread(target=lambda: [cache.atomic(bump, watch=["counter"]) for _ in range(25)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with cache.snapshot() as snap:
        assert snap.get_many(["counter", "other"]) == [100, "kept"]


def test_live_keys_survive_publish_and_rollback(cache):
    publish(cache, {"k": 1})
    cache.atomic(lambda tx: tx.put_live("gone:i1", {"status": "sold"}), watch=[])
    publish(cache, {"k": 2})
    cache.rollback()
    with cache.snapshot() as snap:
        assert snap.live_many(["gone:i1"]) == [{"status": "sold"}]
    cache.atomic(lambda tx: tx.delete_live("gone:i1"), watch=[])
    with cache.snapshot() as snap:
        assert snap.live_many(["gone:i1"]) == [None]


def test_an_error_inside_a_transaction_writes_nothing(cache):
    publish(cache, {"k": 1})

    def half_done(tx):
        tx.put("k", 2)
        raise ValueError("bad event")

    with pytest.raises(ValueError):
        cache.atomic(half_done, watch=["k"])
    with cache.snapshot() as snap:
        assert snap.get("k") == 1


@pytest.mark.parametrize("pooled", [False, True])
def test_a_silent_redis_is_a_clear_error_within_a_second(pooled):
    with socket.socket() as server:  # accepts connections, never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        started = time.perf_counter()
        with pytest.raises(CacheError, match="cannot use Redis at redis://127.0.0.1:"):
            open_cache(f"redis://127.0.0.1:{server.getsockname()[1]}/0", pooled=pooled).snapshot()
        assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("pooled", [False, True])
def test_unreachable_redis_and_bad_urls_are_one_clear_error(tmp_path, pooled):
    with pytest.raises(CacheError, match="cannot use Redis at redis://127.0.0.1:1/0"):
        open_cache("redis://127.0.0.1:1/0", pooled=pooled).snapshot()
    with pytest.raises(CacheError, match="unsupported cache URL"):
        open_cache("postgres://localhost/x")
    with pytest.raises(CacheError, match="no cache at"):
        open_cache(f"sqlite:///{tmp_path / 'absent.sqlite'}")
    not_a_db = tmp_path / "text.sqlite"
    not_a_db.write_text("hello, this is not a database" * 100)
    with pytest.raises(CacheError, match="text.sqlite"):
        open_cache(f"sqlite:///{not_a_db}").snapshot()


def test_reads_awaited_on_the_event_loop_get_their_own_values(cache):
    """``get_many_and_live_async`` (the service's first read of a recommend): many in flight at
    once on one connection, each gets the values of its own keys, as the blocking read does."""
    import asyncio

    publish(cache, {f"k{n}": n for n in range(40)})
    cache.atomic(lambda tx: tx.put_live("gone:i7", {"status": "sold"}), watch=[])

    async def together(snap) -> list:
        return await asyncio.gather(*(snap.get_many_and_live_async([f"k{n}", f"k{n + 1}", "absent"], [f"gone:i{n}"])
                                      for n in range(39)))

    with cache.snapshot() as snap:
        answers = asyncio.run(together(snap))
        assert answers == [snap.get_many_and_live([f"k{n}", f"k{n + 1}", "absent"], [f"gone:i{n}"]) for n in range(39)]
    assert answers[7] == ([7, 8, None], [{"status": "sold"}])


def test_a_silent_or_unreachable_redis_fails_an_awaited_read_clearly(tmp_path):
    import asyncio

    with socket.socket() as server:  # accepts connections, never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        for port, within in ((server.getsockname()[1], 1.0), (1, 0.3)):
            cache = open_cache(f"redis://127.0.0.1:{port}/0", pooled=True)
            snap = cache.snapshot(version=1)   # a pinned version: no blocking read of the current one
            started = time.perf_counter()
            with pytest.raises(CacheError, match=f"cannot use Redis at redis://127.0.0.1:{port}/0"):
                asyncio.run(snap.get_many_and_live_async(["k"], ["gone:i1"]))
            assert time.perf_counter() - started < within
            cache.close()


def test_versioned_and_live_values_read_together(cache):
    publish(cache, {"flag:i1": {"risk": 0.9}})
    cache.atomic(lambda tx: tx.put_live("gone:i2", {"status": "sold"}), watch=[])
    with cache.snapshot() as snap:
        assert snap.get_many_and_live(["flag:i1", "flag:i2"], ["gone:i1", "gone:i2"]) == (
            [{"risk": 0.9}, None], [None, {"status": "sold"}])


def test_redis_transaction_retries_when_a_watched_key_changes(tmp_path):
    prefix = f"test-{uuid.uuid4().hex}:"
    url = f"{REDIS_DB}?prefix={prefix}"
    with open_cache(url) as cache, open_cache(url) as other:
        try:
            publish(cache, {"counter": 0})
            calls = []

            def bump(tx):
                calls.append(tx.get("counter"))
                if len(calls) == 1:  # another writer sneaks in between our read and our write
                    other.atomic(lambda tx2: tx2.put("counter", tx2.get("counter") + 10), watch=["counter"])
                tx.put("counter", tx.get("counter") + 1)

            cache.atomic(bump, watch=["counter"])
            assert calls == [0, 10]
            with cache.snapshot() as snap:
                assert snap.get("counter") == 11
        finally:
            cache.clear()


def test_redis_client_reports_server_errors_and_recovers():
    from bunjang_lab.serving.resp import Connection, RespError

    conn = Connection(REDIS_DB)
    try:
        assert conn.execute("PING") == "PONG"
        with pytest.raises(RespError, match="unknown command"):
            conn.execute("NO-SUCH-COMMAND")
        key = f"test-{uuid.uuid4().hex}"
        assert conn.pipeline([("SET", key, "한글"), ("GET", key), ("GET", key + "-absent"), ("DEL", key)]) == [
            "OK", "한글".encode(), None, 1]
    finally:
        conn.close()


def test_redis_clear_removes_every_key_of_the_prefix_only():
    mine, neighbour = (f"{REDIS_DB}?prefix=test-{uuid.uuid4().hex}:" for _ in range(2))
    with open_cache(mine) as cache, open_cache(neighbour) as other:
        publish(cache, {"a": 1})
        publish(other, {"a": 2})
        cache.clear()
        assert cache.versions() == []
        with pytest.raises(CacheError, match="nothing published"):
            cache.snapshot()
        with other.snapshot() as snap:
            assert snap.get("a") == 2
        other.clear()
