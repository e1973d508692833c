"""The embedded cache backend: one SQLite file in WAL mode (no server needed).

Layout: ``kv(version, key, value)`` holds every version's values (version 0 is the live
key space), ``versions`` lists them with their state (``writing`` until committed) and
``meta`` names the current one. A reader's snapshot is one SQLite read transaction, so it
sees a single version even while a publish switches ``current``; an event update is one
``BEGIN IMMEDIATE`` transaction, which serialises concurrent writers.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

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

LIVE = 0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (version INTEGER NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,
                               PRIMARY KEY (version, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS versions (version INTEGER PRIMARY KEY, run TEXT NOT NULL,
                                     published_at TEXT NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value);
"""
_ROWS_PER_TRANSACTION = 5000
_KEYS_PER_QUERY = 500


class SQLiteCache(Cache):
    def __init__(self, url: str, path: str, create: bool = False, max_value_bytes: int = 1 << 20):
        self.url, self.path, self.max_value_bytes = url, path, max_value_bytes
        self._local = threading.local()
        if not create and not os.path.exists(path):
            raise CacheError(f"no cache at {url}: publish a run first (python -m bunjang_lab publish RUN_DIR)")
        if create:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with self._errors():
                conn = self._conn()
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)

    @contextmanager
    def _errors(self):
        try:
            yield
        except sqlite3.Error as exc:
            raise CacheError(f"cache {self.url}: {exc}") from None

    def _conn(self) -> sqlite3.Connection:
        """One connection per thread (sqlite3 connections are not shared across threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._errors():
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def _current(self, conn: sqlite3.Connection) -> int:
        try:
            row = conn.execute("SELECT value FROM meta WHERE name = 'current'").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                row = None
            else:
                raise
        if row is None:
            raise CacheError(f"nothing published in {self.url} yet: run python -m bunjang_lab publish RUN_DIR")
        return int(row[0])

    def snapshot(self, version: int | None = None) -> Snapshot:
        conn = self._conn()
        with self._errors():
            conn.execute("BEGIN")
            try:
                version = self._current(conn) if version is None else version
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return _SQLiteTransaction(self, conn, version)

    def atomic(self, fn: Callable[[Transaction], T], watch: list[str], watch_live: list[str] = ()) -> T:
        conn = self._conn()  # BEGIN IMMEDIATE serialises writers: every key is watched
        with self._errors():
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(_SQLiteTransaction(self, conn, self._current(conn)))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return result

    def new_version(self, run: str = "", keep: int = 3) -> VersionWriter:
        conn = self._conn()
        with self._errors():
            conn.execute("BEGIN IMMEDIATE")
            (last,) = conn.execute("SELECT coalesce(max(version), 0) FROM versions").fetchone()
            record = version_record(last + 1, run)
            conn.execute("INSERT INTO versions VALUES (?, ?, ?, 'writing')", (record["version"], run, record["published_at"]))
            conn.execute("COMMIT")
        return _SQLiteWriter(self, conn, record["version"], keep)

    def versions(self) -> list[dict]:
        conn = self._conn()
        with self._errors():
            row = conn.execute("SELECT value FROM meta WHERE name = 'current'").fetchone()
            rows = conn.execute("SELECT version, run, published_at FROM versions WHERE state = 'ready' ORDER BY version").fetchall()
        current = int(row[0]) if row else None
        return [{"version": v, "run": run, "published_at": at, "current": v == current} for v, run, at in rows]

    def set_current(self, version: int) -> None:
        conn = self._conn()
        with self._errors():
            conn.execute("BEGIN IMMEDIATE")
            try:
                if not conn.execute("SELECT 1 FROM versions WHERE version = ? AND state = 'ready'", (version,)).fetchone():
                    raise CacheError(f"version {version} is not a committed version of {self.url}")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('current', ?)", (version,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def key_sizes(self, version: int | None = None, prefix: str = "", live: bool = False) -> Iterator[tuple[str, int]]:
        conn = self._conn()
        with self._errors():
            if live:
                version = LIVE
            elif version is None:
                version = self._current(conn)
            # substr(), not LIKE: a prefix may hold % or _
            rows = conn.execute("SELECT key, length(value) FROM kv WHERE version = ? AND substr(key, 1, ?) = ? ORDER BY key",
                                (version, len(prefix), prefix)).fetchall()
        return iter(rows)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class _SQLiteTransaction(Transaction):
    """Reads (and, inside :meth:`SQLiteCache.atomic`, writes) within one SQLite transaction."""

    def __init__(self, cache: SQLiteCache, conn: sqlite3.Connection, version: int):
        self.cache, self.conn, self.version = cache, conn, version

    def _read(self, version: int, keys: list[str]) -> list[Any]:
        found: dict[str, bytes] = {}
        with self.cache._errors():
            for chunk in (batched(keys, _KEYS_PER_QUERY) if len(keys) > _KEYS_PER_QUERY else (keys,)):
                marks = ",".join("?" * len(chunk))
                rows = self.conn.execute(f"SELECT key, value FROM kv WHERE version = ? AND key IN ({marks})", (version, *chunk))
                found.update(rows)
        # most keys a request asks are absent (listings not gone, campaigns without spend today)
        return [None if (data := found.get(key)) is None else decode(key, data) for key in keys]

    def get_many(self, keys: list[str]) -> list[Any]:
        return self._read(self.version, keys)

    def live_many(self, keys: list[str]) -> list[Any]:
        return self._read(LIVE, keys)

    def get_many_and_live(self, keys: list[str], live_keys: list[str]) -> tuple[list[Any], list[Any]]:
        if not keys or not live_keys or len(keys) + len(live_keys) > _KEYS_PER_QUERY:
            return self.get_many(keys), self.live_many(live_keys)
        with self.cache._errors():   # one statement: each of its two halves reads the primary key
            rows = self.conn.execute(
                f"SELECT 0, key, value FROM kv WHERE version = ? AND key IN ({','.join('?' * len(keys))}) UNION ALL "
                f"SELECT 1, key, value FROM kv WHERE version = {LIVE} AND key IN ({','.join('?' * len(live_keys))})",
                (self.version, *keys, *live_keys)).fetchall()
        found: tuple[dict, dict] = ({}, {})
        for live, key, data in rows:
            found[live][key] = data
        return ([None if (data := found[0].get(key)) is None else decode(key, data) for key in keys],
                [None if (data := found[1].get(key)) is None else decode(key, data) for key in live_keys])

    def _write(self, version: int, key: str, value: Any) -> None:
        data = encode(key, value, self.cache.max_value_bytes)
        self.conn.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (version, key, data))

    def put(self, key: str, value: Any) -> None:
        self._write(self.version, key, value)

    def put_live(self, key: str, value: Any) -> None:
        self._write(LIVE, key, value)

    def delete_live(self, key: str) -> None:
        self.conn.execute("DELETE FROM kv WHERE version = ? AND key = ?", (LIVE, key))

    def close(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")


class _SQLiteWriter(VersionWriter):
    def __init__(self, cache: SQLiteCache, conn: sqlite3.Connection, version: int, keep: int):
        self.cache, self.conn, self.version, self.keep = cache, conn, version, keep

    def put_many(self, items: Iterable[tuple[str, Any]]) -> int:
        count, limit = 0, self.cache.max_value_bytes
        with self.cache._errors():
            for chunk in batched(items, _ROWS_PER_TRANSACTION):
                rows = [(self.version, key, encode(key, value, limit)) for key, value in chunk]
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    self.conn.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", rows)
                    self.conn.execute("COMMIT")
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                count += len(rows)
        return count

    def commit(self) -> None:
        conn = self.conn
        with self.cache._errors():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE versions SET state = 'ready' WHERE version = ?", (self.version,))
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('current', ?)", (self.version,))
            conn.execute("COMMIT")
            # Readers pinned to a dropped version keep their SQLite snapshot, so deleting is safe.
            ready = [v for (v,) in conn.execute("SELECT version FROM versions WHERE state = 'ready' AND version < ? ORDER BY version", (self.version,))]
            stale = [v for (v,) in conn.execute("SELECT version FROM versions WHERE state = 'writing' AND version < ?", (self.version,))]
            for version in ready[: max(0, len(ready) - self.keep)] + stale:
                self._drop(version)

    def _drop(self, version: int) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("DELETE FROM kv WHERE version = ?", (version,))
        self.conn.execute("DELETE FROM versions WHERE version = ?", (version,))
        self.conn.execute("COMMIT")

    def abort(self) -> None:
        with self.cache._errors():
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self._drop(self.version)
