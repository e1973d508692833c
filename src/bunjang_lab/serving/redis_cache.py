"""The Redis cache backend (imported only for a ``redis://`` URL).

Key layout, under a prefix (``bunjang:`` unless the URL says ``?prefix=...``)::

    <prefix>current          the current version number
    <prefix>versions         hash: version -> JSON {"run", "published_at", "state"}
    <prefix>next_version     counter that numbers new versions
    <prefix>v<N>:<key>       a value of version N (written once by publish, then by events)
    <prefix>live:<key>       the live key space (survives publish and rollback)

A reader reads ``current`` once and then only ``v<N>:`` keys, so it never mixes versions.
Publish writes a version through non-transactional pipelines, then flips ``current`` and
marks the version ready in one MULTI/EXEC. Event updates WATCH ``current`` and the keys
they rewrite, and retry on a conflict, so concurrent writers lose no update.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Callable, Iterable
from urllib.parse import urlencode, urlsplit, urlunsplit, parse_qsl

import redis

from bunjang_lab.serving.cache import (
    Cache,
    CacheError,
    Snapshot,
    T,
    Transaction,
    VersionWriter,
    batched,
    decode,
    encode,
    version_record,
)

_PIPELINE_SIZE = 1000
_OWN_PARAMETERS = ("prefix", "max_value_bytes")


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisCache(Cache):
    def __init__(self, url: str, prefix: str = "bunjang:", max_value_bytes: int = 1 << 20):
        self.url, self.prefix, self.max_value_bytes = url, prefix, max_value_bytes
        parts = urlsplit(url)
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in _OWN_PARAMETERS])
        try:
            self.client = redis.Redis.from_url(
                urlunsplit(parts._replace(query=query)), socket_connect_timeout=2, socket_timeout=10
            )
        except ValueError as exc:  # a malformed URL (bad port, unknown option...)
            raise CacheError(f"invalid Redis URL {url!r}: {exc}") from None

    @contextmanager
    def _errors(self):
        try:
            yield
        except redis.WatchError:
            raise
        except redis.RedisError as exc:
            raise CacheError(f"cannot use Redis at {self.url}: {exc}") from None

    def key(self, version: int, key: str) -> str:
        return f"{self.prefix}v{version}:{key}"

    def live_key(self, key: str) -> str:
        return f"{self.prefix}live:{key}"

    def _current(self, client) -> int:
        value = client.get(self.prefix + "current")
        if value is None:
            raise CacheError(f"nothing published in {self.url} yet: run python -m bunjang_lab publish RUN_DIR")
        return int(value)

    def snapshot(self) -> Snapshot:
        with self._errors():
            return _RedisTransaction(self, self.client, self._current(self.client))

    def atomic(self, fn: Callable[[Transaction], T], watch: list[str]) -> T:
        with self._errors(), self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(self.prefix + "current")
                    version = self._current(pipe)
                    if watch:
                        pipe.watch(*(self.key(version, k) for k in watch))
                    tx = _RedisTransaction(self, pipe, version)
                    result = fn(tx)
                    pipe.multi()
                    for op, *args in tx.writes:
                        getattr(pipe, op)(*args)
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # another writer changed a watched key: recompute from fresh values

    def new_version(self, run: str = "", keep: int = 3) -> VersionWriter:
        with self._errors():
            version = int(self.client.incr(self.prefix + "next_version"))
            record = version_record(version, run)
            self.client.hset(self.prefix + "versions", str(version), json.dumps({**record, "state": "writing"}))
        return _RedisWriter(self, record, keep)

    def _records(self) -> dict[int, dict]:
        raw = self.client.hgetall(self.prefix + "versions")
        return {int(v): json.loads(record) for v, record in raw.items()}

    def versions(self) -> list[dict]:
        with self._errors():
            current = self.client.get(self.prefix + "current")
            records = self._records()
        current = int(current) if current is not None else None
        return [
            {"version": v, "run": r["run"], "published_at": r["published_at"], "current": v == current}
            for v, r in sorted(records.items())
            if r["state"] == "ready"
        ]

    def set_current(self, version: int) -> None:
        with self._errors():
            record = self._records().get(version)
            if record is None or record["state"] != "ready":
                raise CacheError(f"version {version} is not a committed version of {self.url}")
            self.client.set(self.prefix + "current", version)

    def drop(self, version: int) -> None:
        pattern = _glob_escape(f"{self.prefix}v{version}:") + "*"
        for chunk in batched(self.client.scan_iter(match=pattern, count=5000), _PIPELINE_SIZE):
            self.client.unlink(*chunk)
        self.client.hdel(self.prefix + "versions", str(version))

    def close(self) -> None:
        self.client.close()


class _RedisTransaction(Transaction):
    """Reads from one version; inside :meth:`RedisCache.atomic` it also buffers writes."""

    def __init__(self, cache: RedisCache, client, version: int):
        self.cache, self.client, self.version = cache, client, version
        self.writes: list[tuple] = []

    def _read(self, keys: list[str], full_keys: list[str]) -> list[Any]:
        if not keys:
            return []
        with self.cache._errors():
            values = self.client.mget(full_keys)
        return [decode(key, value) for key, value in zip(keys, values)]

    def get_many(self, keys: list[str]) -> list[Any]:
        return self._read(keys, [self.cache.key(self.version, k) for k in keys])

    def live_many(self, keys: list[str]) -> list[Any]:
        return self._read(keys, [self.cache.live_key(k) for k in keys])

    def get_many_and_live(self, keys: list[str], live_keys: list[str]) -> tuple[list[Any], list[Any]]:
        full = [self.cache.key(self.version, k) for k in keys] + [self.cache.live_key(k) for k in live_keys]
        values = self._read(keys + live_keys, full)
        return values[:len(keys)], values[len(keys):]

    def put(self, key: str, value: Any) -> None:
        self.writes.append(("set", self.cache.key(self.version, key), encode(key, value, self.cache.max_value_bytes)))

    def put_live(self, key: str, value: Any) -> None:
        self.writes.append(("set", self.cache.live_key(key), encode(key, value, self.cache.max_value_bytes)))

    def delete_live(self, key: str) -> None:
        self.writes.append(("delete", self.cache.live_key(key)))


class _RedisWriter(VersionWriter):
    def __init__(self, cache: RedisCache, record: dict, keep: int):
        self.cache, self.record, self.keep = cache, record, keep
        self.version = record["version"]

    def put_many(self, items: Iterable[tuple[str, Any]]) -> int:
        count, cache = 0, self.cache
        with cache._errors():
            for chunk in batched(items, _PIPELINE_SIZE):
                pipe = cache.client.pipeline(transaction=False)
                for key, value in chunk:
                    pipe.set(cache.key(self.version, key), encode(key, value, cache.max_value_bytes))
                pipe.execute()
                count += len(chunk)
        return count

    def commit(self) -> None:
        cache = self.cache
        with cache._errors():
            pipe = cache.client.pipeline(transaction=True)
            pipe.hset(cache.prefix + "versions", str(self.version), json.dumps({**self.record, "state": "ready"}))
            pipe.set(cache.prefix + "current", self.version)
            pipe.execute()
            records = cache._records()
            ready = sorted(v for v, r in records.items() if r["state"] == "ready" and v < self.version)
            stale = [v for v, r in records.items() if r["state"] == "writing" and v < self.version]
            for version in ready[: max(0, len(ready) - self.keep)] + stale:
                cache.drop(version)

    def abort(self) -> None:
        with self.cache._errors():
            self.cache.drop(self.version)
