"""The Redis cache backend (imported only for a ``redis://`` URL).

Key layout, under a prefix (``bunjang:`` unless the URL says ``?prefix=...``)::

    <prefix>current          the current version number
    <prefix>versions         hash: version -> JSON {"run", "published_at", "state"}
    <prefix>next_version     counter that numbers new versions
    <prefix>v<N>:<key>       a value of version N (written once by publish, then by events)
    <prefix>live:<key>       the live key space (survives publish and rollback)

A reader reads ``current`` once and then only ``v<N>:`` keys, so it never mixes versions.
Publish writes a version through pipelines of 1,000 SETs, then flips ``current`` and marks
the version ready in one MULTI/EXEC. Event updates WATCH ``current`` and the keys they
rewrite and retry when EXEC reports a conflict, so concurrent writers lose no update.
Commands go through the small standard-library client :mod:`bunjang_lab.serving.resp`, or,
with ``pooled=True`` (the HTTP service), through redis-py's pool (:mod:`bunjang_lab.serving.redis_pool`),
and reads on the service's event loop through one pipelined asyncio connection
(:mod:`bunjang_lab.serving.redis_async`).
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import parse_qsl, urlsplit

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
from bunjang_lab.serving.resp import Connection, RespError

_PIPELINE_SIZE = 1000
_OWN_PARAMETERS = ("prefix", "max_value_bytes")


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


class RedisCache(Cache):
    remote = True

    def __init__(self, url: str, prefix: str = "bunjang:", max_value_bytes: int = 1 << 20, pooled: bool = False):
        self.url, self.prefix, self.max_value_bytes = url, prefix, max_value_bytes
        parts = urlsplit(url)
        unknown = [k for k, _ in parse_qsl(parts.query) if k not in _OWN_PARAMETERS]
        if unknown:
            raise CacheError(f"unsupported option(s) {', '.join(unknown)} in cache URL {url!r}")
        try:
            Connection(parts._replace(query="").geturl())  # validate host, port and db now
        except ValueError as exc:
            raise CacheError(f"invalid Redis URL {url!r}: {exc}") from None
        self._server = parts._replace(query="").geturl()
        self._local = threading.local()
        self._pool = self._async = None
        if pooled:
            from bunjang_lab.serving.redis_async import AsyncConnection
            from bunjang_lab.serving.redis_pool import connection_pool

            self._pool, self._async = connection_pool(self._server), AsyncConnection(self._server)

    @contextmanager
    def _errors(self):
        try:
            yield
        except (OSError, RespError) as exc:
            self._close_connection()
            raise CacheError(f"cannot use Redis at {self.url}: {exc}") from None

    def command(self, *args: Any) -> Any:
        """Run one Redis command on this thread's connection."""
        with self._errors():
            return self._conn().execute(*args)

    def _conn(self) -> Connection:
        """One connection per thread: a RESP stream cannot be shared mid-reply."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._pool is not None:
                from bunjang_lab.serving.redis_pool import PooledConnection

                conn = PooledConnection(self._pool)
            else:
                conn = Connection(self._server)
            self._local.conn = conn
        return conn

    def key(self, version: int, key: str) -> str:
        return f"{self.prefix}v{version}:{key}"

    def live_key(self, key: str) -> str:
        return f"{self.prefix}live:{key}"

    def _current(self, conn: Connection) -> int:
        value = conn.execute("GET", self.prefix + "current")
        if value is None:
            raise CacheError(f"nothing published in {self.url} yet: run python -m bunjang_lab publish RUN_DIR")
        return int(value)

    def snapshot(self, version: int | None = None) -> Snapshot:
        if version is not None:   # pinned (the memory layer's): nothing to read, on this thread's open connection
            conn = getattr(self._local, "conn", None)
            if conn is not None:
                return _RedisTransaction(self, conn, version)
        with self._errors():
            conn = self._conn()
            return _RedisTransaction(self, conn, self._current(conn) if version is None else version)

    def atomic(self, fn: Callable[[Transaction], T], watch: list[str], watch_live: list[str] = ()) -> T:
        with self._errors():
            conn = self._conn()
            while True:
                conn.execute("WATCH", self.prefix + "current")
                try:
                    version = self._current(conn)
                    if watch or watch_live:
                        conn.execute("WATCH", *(self.key(version, k) for k in watch),
                                     *(self.live_key(k) for k in watch_live))
                    tx = _RedisTransaction(self, conn, version)
                    result = fn(tx)
                except BaseException:
                    conn.execute("UNWATCH")
                    raise
                replies = conn.pipeline([("MULTI",), *tx.writes, ("EXEC",)])
                if replies[-1] is not None:
                    return result
                # EXEC answered nil: another writer changed a watched key; recompute from fresh values

    def new_version(self, run: str = "", keep: int = 3) -> VersionWriter:
        with self._errors():
            version = int(self._conn().execute("INCR", self.prefix + "next_version"))
            record = version_record(version, run)
            self._conn().execute("HSET", self.prefix + "versions", version, json.dumps({**record, "state": "writing"}))
        return _RedisWriter(self, record, keep)

    def _records(self) -> dict[int, dict]:
        flat = self._conn().execute("HGETALL", self.prefix + "versions")
        return {int(v): json.loads(record) for v, record in zip(flat[::2], flat[1::2])}

    def versions(self) -> list[dict]:
        with self._errors():
            current = self._conn().execute("GET", self.prefix + "current")
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
            self._conn().execute("SET", self.prefix + "current", version)

    def key_sizes(self, version: int | None = None, prefix: str = "", live: bool = False) -> Iterator[tuple[str, int]]:
        with self._errors():
            conn = self._conn()
            if live:
                space = f"{self.prefix}live:"
            else:
                space = self.key(self._current(conn) if version is None else version, "")
            found = sorted(self._matching(_glob_escape(space + prefix) + "*"))
            sizes = []
            for chunk in batched(found, _PIPELINE_SIZE):
                sizes += conn.pipeline([("STRLEN", key) for key in chunk])
        return ((key.decode()[len(space):], int(size)) for key, size in zip(found, sizes))

    def drop(self, version: int) -> None:
        """Delete every key of ``version`` and its record."""
        self._unlink_matching(_glob_escape(f"{self.prefix}v{version}:") + "*")
        self._conn().execute("HDEL", self.prefix + "versions", version)

    def clear(self) -> None:
        """Delete every key under this cache's prefix (all versions and live keys)."""
        with self._errors():
            self._unlink_matching(_glob_escape(self.prefix) + "*")

    def _unlink_matching(self, pattern: str) -> None:
        conn = self._conn()
        for chunk in batched(self._matching(pattern), _PIPELINE_SIZE):
            conn.execute("UNLINK", *chunk)

    def _matching(self, pattern: str) -> Iterator[bytes]:
        """Every key matching the glob ``pattern`` (SCAN: never blocks the server like KEYS)."""
        conn, cursor = self._conn(), b"0"
        while True:
            cursor, found = conn.execute("SCAN", cursor, "MATCH", pattern, "COUNT", 5000)
            yield from found
            if cursor == b"0":
                break

    def _close_connection(self) -> None:
        """This thread's connection (a stream broken mid-reply is not used again)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def close(self) -> None:
        self._close_connection()
        if self._async is not None:
            self._async.close()


class _RedisTransaction(Transaction):
    """Reads from one version; inside :meth:`RedisCache.atomic` it also collects writes."""

    def __init__(self, cache: RedisCache, conn: Connection, version: int):
        self.cache, self.conn, self.version = cache, conn, version
        self.writes: list[tuple] = []

    def _read(self, keys: list[str], full_keys: list[str]) -> list[Any]:
        if not keys:
            return []
        with self.cache._errors():
            values = self.conn.execute("MGET", *full_keys)
        return _decoded(keys, values)

    def _full_keys(self, keys: list[str], live_keys: list[str]) -> list[str]:
        versioned, live = self.cache.key(self.version, ""), self.cache.live_key("")
        return [versioned + k for k in keys] + [live + k for k in live_keys]

    def get_many(self, keys: list[str]) -> list[Any]:
        return self._read(keys, self._full_keys(keys, []))

    def live_many(self, keys: list[str]) -> list[Any]:
        return self._read(keys, self._full_keys([], keys))

    def get_many_and_live(self, keys: list[str], live_keys: list[str]) -> tuple[list[Any], list[Any]]:
        values = self._read(keys + live_keys, self._full_keys(keys, live_keys))
        return values[:len(keys)], values[len(keys):]

    async def get_many_and_live_async(self, keys: list[str], live_keys: list[str]) -> tuple[list[Any], list[Any]]:
        reader = self.cache._async
        if reader is None:   # the standard-library client: a one-shot command has no event loop to free
            return self.get_many_and_live(keys, live_keys)
        if not keys and not live_keys:
            return [], []
        try:
            values = await reader.execute("MGET", *self._full_keys(keys, live_keys))
        except (OSError, RespError) as exc:
            reader.close()
            raise CacheError(f"cannot use Redis at {self.cache.url}: {exc}") from None
        values = _decoded(keys + live_keys, values)
        return values[:len(keys)], values[len(keys):]

    def put(self, key: str, value: Any) -> None:
        self.writes.append(("SET", self.cache.key(self.version, key), encode(key, value, self.cache.max_value_bytes)))

    def put_live(self, key: str, value: Any) -> None:
        self.writes.append(("SET", self.cache.live_key(key), encode(key, value, self.cache.max_value_bytes)))

    def delete_live(self, key: str) -> None:
        self.writes.append(("DEL", self.cache.live_key(key)))


def _decoded(keys: list[str], values: list[bytes | None]) -> list[Any]:
    """The values of an ``MGET`` of ``keys``, decoded (most live keys are absent: ``None``)."""
    return [None if value is None else decode(key, value) for key, value in zip(keys, values)]


class _RedisWriter(VersionWriter):
    def __init__(self, cache: RedisCache, record: dict, keep: int):
        self.cache, self.record, self.keep = cache, record, keep
        self.version = record["version"]

    def put_many(self, items: Iterable[tuple[str, Any]]) -> int:
        count, cache = 0, self.cache
        with cache._errors():
            for chunk in batched(items, _PIPELINE_SIZE):
                cache._conn().pipeline([("SET", cache.key(self.version, key), encode(key, value, cache.max_value_bytes))
                                        for key, value in chunk])
                count += len(chunk)
        return count

    def commit(self) -> None:
        cache = self.cache
        with cache._errors():
            record = json.dumps({**self.record, "state": "ready"})
            cache._conn().pipeline([("MULTI",), ("HSET", cache.prefix + "versions", self.version, record),
                                    ("SET", cache.prefix + "current", self.version), ("EXEC",)])
            records = cache._records()
            ready = sorted(v for v, r in records.items() if r["state"] == "ready" and v < self.version)
            stale = [v for v, r in records.items() if r["state"] == "writing" and v < self.version]
            for version in ready[: max(0, len(ready) - self.keep)] + stale:
                cache.drop(version)

    def abort(self) -> None:
        with self.cache._errors():
            self.cache.drop(self.version)
