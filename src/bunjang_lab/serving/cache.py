"""The versioned serving cache: one small interface, two backends of identical behaviour.

A cache holds numbered *versions*. :meth:`Cache.new_version` returns a writer that fills
a version nobody reads yet; :meth:`VersionWriter.commit` switches the current version in
one atomic step. Readers pin a version with :meth:`Cache.snapshot`, so every key they read
comes from the same version even while a publish switches it. Besides the versions there
is one small *live* key space for real-time facts that must survive a publish or a
rollback (items sold or flagged after the batch ran).

Values are JSON, size-capped (:data:`MAX_VALUE_BYTES`); a value that does not decode is an
error naming its key. :func:`bunjang_lab.serving.backends.open_cache` opens one by URL.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from typing import Any, Callable, Iterable, Iterator, TypeVar

from bunjang_lab.errors import BunjangError

MAX_VALUE_BYTES = 1 << 20
"""Largest encoded value a cache accepts (1 MiB): a serving read must stay small."""

T = TypeVar("T")


class CacheError(BunjangError):
    """The cache is unreachable, empty, or holds a value that cannot be used."""


class MissingValue(CacheError):
    """A key that must exist in the current version is absent."""


def encode(key: str, value: Any, limit: int = MAX_VALUE_BYTES) -> bytes:
    """Compact JSON bytes of ``value``; larger than ``limit`` is an error naming the key.

    >>> encode("k", {"a": [1, 2]})
    b'{"a":[1,2]}'
    >>> encode("home:u1", list(range(100)), limit=50)
    Traceback (most recent call last):
    ...
    bunjang_lab.serving.cache.CacheError: value for key 'home:u1' is 291 bytes, over the 50-byte cap
    """
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    if len(data) > limit:
        raise CacheError(f"value for key {key!r} is {len(data)} bytes, over the {limit}-byte cap")
    return data


def decode(key: str, data: bytes | str | None) -> Any:
    """The value stored at ``key`` (None when absent); corrupt bytes are an error naming it.

    >>> decode("pop:all", b'[1') # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bunjang_lab.serving.cache.CacheError: corrupt value at key 'pop:all' in the cache: ...
    """
    if data is None:
        return None
    try:   # what encode() wrote (UTF-8, no surrounding space) in one scan; anything else as json.loads reads it
        text = data.decode() if type(data) is bytes else data
        value, end = _scan_once(text, 0)
        if end == len(text):
            return value
    except (ValueError, StopIteration, TypeError, AttributeError):
        pass
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CacheError(f"corrupt value at key {key!r} in the cache: {exc}") from None


_scan_once = json.JSONDecoder().scan_once
"""json.loads's own scanner without its checks of the bytes' encoding and the surrounding
white space (about 2 µs a value, the most of decoding a small one)."""


class Snapshot(ABC):
    """Reads pinned to one version (plus the live key space), as a context manager."""

    version: int

    @abstractmethod
    def get_many(self, keys: list[str]) -> list[Any]:
        """Values of versioned ``keys`` (None where absent), all from :attr:`version`."""

    @abstractmethod
    def live_many(self, keys: list[str]) -> list[Any]:
        """Values of live (unversioned) ``keys``, None where absent."""

    def get_many_and_live(self, keys: list[str], live_keys: list[str]) -> tuple[list[Any], list[Any]]:
        """Versioned and live values together (one round trip where the backend allows)."""
        return self.get_many(keys), self.live_many(live_keys)

    async def get_many_and_live_async(self, keys: list[str], live_keys: list[str]) -> tuple[list[Any], list[Any]]:
        """:meth:`get_many_and_live` for an event loop: a backend whose reads wait on a server
        (the service's Redis) lets the loop run meanwhile; the others read at once."""
        return self.get_many_and_live(keys, live_keys)

    def read_ahead(self, keys: list[str], live_keys: list[str]) -> bool:
        """Keys this snapshot is about to read, in reads of their own: a snapshot that can
        fetch them together now answers those reads from what it fetched (the service's,
        :class:`~bunjang_lab.serving.memory.MemorySnapshot`); the others read as they come.
        True when it read them."""
        return False

    def get(self, key: str) -> Any:
        return self.get_many([key])[0]

    def require(self, key: str) -> Any:
        """The value at ``key``; absent is :class:`MissingValue` naming the key and version."""
        value = self.get(key)
        if value is None:
            raise MissingValue(f"missing value at key {key!r} in cache version {self.version}")
        return value

    def close(self) -> None:
        """Release the pinned version."""

    def __enter__(self) -> "Snapshot":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Transaction(Snapshot):
    """A snapshot that also writes, applied atomically when the function returns.

    Writes go to the current version (``put``) or to the live space (``put_live``,
    ``delete_live``). A backend may run the function again after a conflicting write,
    so it must have no side effects besides these calls.
    """

    @abstractmethod
    def put(self, key: str, value: Any) -> None: ...

    @abstractmethod
    def put_live(self, key: str, value: Any) -> None: ...

    @abstractmethod
    def delete_live(self, key: str) -> None: ...


class VersionWriter(ABC):
    """Fills a new version; :meth:`commit` makes it current atomically, :meth:`abort` drops it.

    Used as a context manager it commits on success and aborts on an exception.
    """

    version: int

    @abstractmethod
    def put_many(self, items: Iterable[tuple[str, Any]]) -> int:
        """Store (key, value) pairs in the new version; returns how many."""

    def put(self, key: str, value: Any) -> None:
        self.put_many([(key, value)])

    @abstractmethod
    def commit(self) -> None: ...

    @abstractmethod
    def abort(self) -> None: ...

    def __enter__(self) -> "VersionWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class Cache(ABC):
    """A versioned key-value cache of JSON values."""

    url: str
    max_value_bytes: int = MAX_VALUE_BYTES
    remote: bool = False
    """Whether each read is a round trip to a server, worth saving by reading keys together."""

    @abstractmethod
    def snapshot(self, version: int | None = None) -> Snapshot:
        """Pin the current version (or a committed ``version``) for reading; :class:`CacheError`
        if nothing is published."""

    @abstractmethod
    def atomic(self, fn: Callable[[Transaction], T], watch: list[str], watch_live: list[str] = ()) -> T:
        """Run ``fn`` as one transaction on the current version and return its result.

        ``watch`` names the versioned keys ``fn`` reads and rewrites, ``watch_live`` the live
        ones: concurrent writers of those keys never lose an update (they are serialised or
        ``fn`` is retried).
        """

    @abstractmethod
    def new_version(self, run: str = "", keep: int = 3) -> VersionWriter:
        """A writer for a new version; on commit, only ``keep`` previous versions remain."""

    @abstractmethod
    def versions(self) -> list[dict]:
        """Committed versions, oldest first: ``{"version", "run", "published_at", "current"}``."""

    @abstractmethod
    def set_current(self, version: int) -> None:
        """Make a committed ``version`` current (what a rollback does)."""

    @abstractmethod
    def key_sizes(self, version: int | None = None, prefix: str = "", live: bool = False) -> Iterator[tuple[str, int]]:
        """(key, stored bytes) of each key starting with ``prefix`` in ``version`` (default:
        the current one) or, with ``live``, in the live key space; for looking inside a cache."""

    def current_version(self) -> int | None:
        return next((v["version"] for v in self.versions() if v["current"]), None)

    def rollback(self) -> dict:
        """Switch back to the newest committed version older than the current one."""
        versions = self.versions()
        current = self.current_version()
        if current is None:
            raise CacheError(f"nothing published in {self.url}: nothing to roll back")
        older = [v for v in versions if v["version"] < current]
        if not older:
            raise CacheError(f"no version older than {current} is kept in {self.url}: cannot roll back")
        target = older[-1]
        self.set_current(target["version"])
        return {"from_version": current, "version": target["version"], "run": target["run"]}

    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def version_record(version: int, run: str) -> dict:
    return {"version": version, "run": run, "published_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of at most ``size`` items.

    >>> list(batched(range(5), 2))
    [[0, 1], [2, 3], [4]]
    """
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
