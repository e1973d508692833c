"""An in-memory layer over the versioned cache, for the long-lived service.

Within a version only two kinds of keys ever change: the per-user keys events rewrite
(``home:``, ``user:``) and the live key space (``gone:``). Every other value of a version
(popular and segment lists, related rows, suggestion buckets, fraud flags, item vectors,
factors; and ``cand:``/``uvec:`` per user) is written once by publish and is the same for
every worker, so it is read from the backend once and then held in process, keyed by its
version: no invalidation is ever needed, and a worker's memory can never disagree with
another's. The changing keys are always read from the backend, so an event applied by any
worker is visible to the next request of every worker.

A watcher thread polls the current version (a fraction of a second apart). When a publish
or a rollback switches it, the watcher warms the new version's popular lists, then swaps
the memo in one assignment: a request pins the memo's version once and reads everything
from that version, so no answer ever mixes two.

Whole answers are held too (:meth:`MemoryCache.answer`): an answer that read no key
events rewrite (a popular list, related items, suggestions without a user) depends only on
the version's fixed values and the live keys it read, so its bytes are kept with those
keys' values and given again, without computing or encoding, while one read of the same
keys finds the same values (an item sold since shows up as a changed value).

>>> import os, tempfile
>>> from bunjang_lab.serving.backends import open_cache
>>> backend = open_cache("sqlite:///" + os.path.join(tempfile.mkdtemp(), "c.sqlite"), create=True)
>>> with backend.new_version() as writer:
...     count = writer.put_many([("pop:all", [["i1", 1.0]]), ("home:u1", {"items": []})])
>>> cache = MemoryCache(backend)
>>> cache.refresh()
True
>>> with cache.snapshot() as snap:
...     snap.version, snap.get("pop:all")
(1, (('i1', 1.0),))
>>> cache.memo.shared["pop:all"], cache.memo.shared.get("home:u1", "not held")
((('i1', 1.0),), 'not held')
>>> cache.close()
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable, Iterator

from bunjang_lab.marketplace import segments
from bunjang_lab.serving import keys
from bunjang_lab.serving.cache import Cache, CacheError, Snapshot, T, Transaction, VersionWriter

REWRITTEN_BY_EVENTS = (keys.home(""), keys.user(""))
"""Key prefixes events rewrite inside a version: never held in memory."""
PER_USER = (keys.candidates(""), keys.user_vector(""))
"""Per-user keys fixed within a version: held in the small per-user LRU."""
ROWS = (keys.popular(""), keys.related(""))
"""Lists of ``[item_id, score, ...]`` rows, the bulk of what a version holds: held as tuples,
which the cyclic garbage collector stops tracking, so its full passes (tens of
milliseconds over a warm memo of lists, a stall for every request waiting) stay short."""
SHARED_CAPACITY = 200_000
USER_CAPACITY = 10_000
ANSWER_CAPACITY = 50_000
ANSWER_BYTES = 64 << 20
"""Most bytes of held answers per version (an answer of k = 1,000 is some 60 kB)."""
HINT_CAPACITY = 50_000
"""Users whose feed's first live keys are remembered (a few hundred bytes each), where a
round trip is worth saving (:attr:`Cache.remote <bunjang_lab.serving.cache.Cache.remote>`)."""
POLL_SECONDS = 0.1

_ABSENT = object()


class LRU:
    """A bounded mapping dropping the least recently used entry (thread-safe)."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            value = self._items.get(key, _ABSENT)
            if value is _ABSENT:
                return default
            self._items.move_to_end(key)
            return value

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            if len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class VersionMemo:
    """The values of one version held in process (absent keys too: most items have no flag).

    Shared values sit in a plain dict (a lookup costs a dict read; past ``shared_capacity``
    it starts again empty, which a version's working set should never reach); per-user
    ones in a small LRU.
    """

    def __init__(self, version: int, shared_capacity: int = SHARED_CAPACITY, user_capacity: int = USER_CAPACITY,
                 answer_capacity: int = ANSWER_CAPACITY, answer_bytes: int = ANSWER_BYTES, hint_capacity: int = 0):
        self.version = version
        self.shared: dict[str, Any] = {}
        self.shared_capacity = shared_capacity
        self.per_user = LRU(user_capacity)
        self.answers: dict[Hashable, tuple[tuple[str, ...], tuple[Any, ...], bytes]] = {}
        self.answer_capacity, self.answer_bytes = answer_capacity, answer_bytes
        self._held_bytes = 0
        self.hints = LRU(hint_capacity) if hint_capacity else None  # feeds' live keys (MemorySnapshot)

    def hold_answer(self, key: Hashable, live_keys: list[str], live_values: list[Any], body: bytes) -> None:
        if len(self.answers) >= self.answer_capacity or self._held_bytes + len(body) > self.answer_bytes:
            self.answers.clear()  # as the shared values: a version's working set should not reach it
            self._held_bytes = 0
        self.answers[key] = tuple(live_keys), tuple(live_values), body  # tuples: untracked by the collector
        self._held_bytes += len(body)

    def read(self, keys_: list[str], fetch: Callable[[list[str]], list[Any]]) -> list[Any]:
        """Values of ``keys_``: held ones from memory, the others from ``fetch`` (then held)."""
        values, missing = self.held(keys_)
        if missing:
            self.keep(keys_, values, missing, fetch([keys_[n] for n in missing]))
        return values

    def held(self, keys_: list[str]) -> tuple[list[Any], list[int]]:
        """(values of ``keys_``, None where not held; the indexes of those not held)."""
        get = self.shared.get
        values: list[Any] = [get(key, _ABSENT) for key in keys_]
        missing = [n for n, value in enumerate(values) if value is _ABSENT]
        if not missing:
            return values, missing
        found = []
        for n in missing:
            key = keys_[n]
            value = self.per_user.get(key, _ABSENT) if key.startswith(PER_USER) else _ABSENT
            if value is _ABSENT:
                values[n] = None
                found.append(n)
            else:
                values[n] = value
        return values, found

    def keep(self, keys_: list[str], values: list[Any], missing: list[int], fetched: list[Any]) -> None:
        """Puts the ``fetched`` values of the keys :meth:`held` found ``missing`` into ``values``, and holds them."""
        shared = self.shared
        if len(shared) > self.shared_capacity:
            shared.clear()
        for n, value in zip(missing, fetched):
            values[n], key = value, keys_[n]
            if key.startswith(PER_USER):
                self.per_user.put(key, value)
            elif key.startswith(ROWS) and value is not None:
                values[n] = shared[key] = tuple(map(tuple, value))
            elif not key.startswith(REWRITTEN_BY_EVENTS):
                shared[key] = value


class MemorySnapshot(Transaction):
    """A backend snapshot (or transaction) whose fixed values come from the version's memo.

    It notes what its reads depend on: the live keys read with their values, and whether
    any key events rewrite was read (:attr:`read_changing`).

    A feed (one key events rewrite, read alone or first of a :meth:`read_ahead`) is followed
    by a read of live keys that depend on it (its first items' availability; the service's
    recommend adds its ads' spends and listings). The memo remembers those keys per feed
    key, and the next read of the feed fetches them in the same round trip; the live read
    that follows is answered from them when it asks for exactly those (the feed and the ads'
    ranking did not change), else from the backend as before.
    """

    def __init__(self, inner: Snapshot, memo: VersionMemo | None):
        self.inner, self.version = inner, inner.version
        self.memo = memo if memo is not None and memo.version == inner.version else None
        self.live_keys: list[str] = []
        self.live_values: list[Any] = []
        self.read_changing = False
        self._feed: str | None = None  # a feed just read, whose next live keys are remembered
        self._fetched: tuple[str, list[Any]] = ("", [])  # the hint fetched along with it, and its values
        self._ahead: dict[str, Any] = {}  # values read ahead (:meth:`read_ahead`), versioned and live
        self._ahead_live: dict[str, Any] = {}

    def _note_live(self, keys_: list[str], values: list[Any]) -> list[Any]:
        self.live_keys += keys_
        self.live_values += values
        return values

    def _fetched_live(self, keys_: list[str]) -> list[Any] | None:
        """Values of ``keys_`` fetched along with the feed when they are the keys fetched,
        else None; the keys become the feed's hint."""
        if self._feed is None:
            return None
        feed, self._feed = self._feed, None
        asked = "\0".join(keys_)
        (hint, values), self._fetched = self._fetched, ("", [])
        if asked == hint:   # the hint stands (read, so most recently used, with the feed)
            return values
        self.memo.hints.put(feed, asked)
        return None

    def _to_read_ahead(self, keys_: list[str], live_keys: list[str]) -> tuple[list[str], list[str], list[str], str | None, str | None]:
        """What a read ahead of ``keys_`` and ``live_keys`` fetches: (the keys and live keys not
        read ahead yet, the feed's hinted live keys, the feed, its hint)."""
        keys_ = [key for key in dict.fromkeys(keys_) if key not in self._ahead]
        live_keys = [key for key in dict.fromkeys(live_keys) if key not in self._ahead_live]
        feed = keys_[0] if keys_ and self.memo is not None and self.memo.hints is not None \
            and keys_[0].startswith(REWRITTEN_BY_EVENTS) else None
        hint = self.memo.hints.get(feed) if feed is not None else None
        return keys_, live_keys, hint.split("\0") if hint else [], feed, hint

    def _keep_ahead(self, keys_: list[str], live_keys: list[str], feed: str | None, hint: str | None,
                    values: list[Any], live: list[Any]) -> None:
        self._ahead.update(zip(keys_, values))
        self._ahead_live.update(zip(live_keys, live))
        if feed is not None:   # the next live read is answered from the hinted keys, and becomes the hint
            self._feed, self._fetched = feed, (hint or "", live[len(live_keys):])

    def read_ahead(self, keys_: list[str], live_keys: list[str]) -> bool:
        """Reads ``keys_`` and ``live_keys`` in one round trip; when the first of ``keys_`` is a
        feed, the live keys read after it last time come along (see the class)."""
        keys_, live_keys, hinted, feed, hint = self._to_read_ahead(keys_, live_keys)
        if not keys_ and not live_keys:
            return True
        if not keys_ and self._feed is not None:   # the live keys after a feed: those fetched along with it?
            fetched = self._fetched_live(live_keys)
            if fetched is not None:
                self._ahead_live.update(zip(live_keys, fetched))
                return True
        noted = len(self.live_keys)
        values, live = self.get_many_and_live(keys_, live_keys + hinted)
        del self.live_keys[noted:], self.live_values[noted:]   # noted when a read asks for them
        self._keep_ahead(keys_, live_keys, feed, hint, values, live)
        return True

    async def read_ahead_async(self, keys_: list[str], live_keys: list[str]) -> None:
        """:meth:`read_ahead` as this snapshot's first read, the event loop running other
        requests while the backend answers (:meth:`~bunjang_lab.serving.cache.Snapshot.get_many_and_live_async`)."""
        keys_, live_keys, hinted, feed, hint = self._to_read_ahead(keys_, live_keys)
        self.read_changing = self.read_changing or any(key.startswith(REWRITTEN_BY_EVENTS) for key in keys_)
        if self.memo is None:
            values, live = await self.inner.get_many_and_live_async(keys_, live_keys + hinted)
        else:
            values, missing = self.memo.held(keys_)
            fetched, live = await self.inner.get_many_and_live_async([keys_[n] for n in missing], live_keys + hinted)
            self.memo.keep(keys_, values, missing, fetched)
        self._keep_ahead(keys_, live_keys, feed, hint, values, live)

    @staticmethod
    def _found(ahead: dict[str, Any], keys_: list[str]) -> list[Any] | None:
        """The values of ``keys_`` read ahead, None unless every one was."""
        if not ahead or keys_ and keys_[0] not in ahead:   # most misses miss the first key: no exception
            return None
        try:
            return [ahead[key] for key in keys_]
        except KeyError:
            return None

    def get_many(self, keys_: list[str]) -> list[Any]:
        if not self.read_changing:
            self.read_changing = any(key.startswith(REWRITTEN_BY_EVENTS) for key in keys_)
        ahead = self._found(self._ahead, keys_)
        if ahead is not None:
            return ahead
        if self.memo is None:
            return self.inner.get_many(keys_)
        if self.memo.hints is not None and len(keys_) == 1 and keys_[0].startswith(REWRITTEN_BY_EVENTS):  # a feed
            self._feed = keys_[0]
            hint = self.memo.hints.get(self._feed)
            if hint is None:
                return self.inner.get_many(keys_)
            live_keys = hint.split("\0")
            values, live = self.inner.get_many_and_live(keys_, live_keys)
            self._fetched = hint, live
            return values
        return self.memo.read(keys_, self.inner.get_many)

    def live_many(self, keys_: list[str]) -> list[Any]:
        ahead = self._found(self._ahead_live, keys_)
        if ahead is not None:
            return self._note_live(keys_, ahead)
        fetched = self._fetched_live(keys_)
        return self._note_live(keys_, fetched if fetched is not None else self.inner.live_many(keys_))

    def get_many_and_live(self, keys_: list[str], live_keys: list[str]) -> tuple[list[Any], list[Any]]:
        ahead = self._found(self._ahead_live, live_keys)
        if ahead is not None:
            return self.get_many(keys_), self._note_live(live_keys, ahead)
        if not self.read_changing:
            self.read_changing = any(key.startswith(REWRITTEN_BY_EVENTS) for key in keys_)
        if self.memo is None:
            values, live = self.inner.get_many_and_live(keys_, live_keys)
            return values, self._note_live(live_keys, live)
        fetched = self._fetched_live(live_keys)
        if fetched is not None:
            return self.memo.read(keys_, self.inner.get_many), self._note_live(live_keys, fetched)
        values, missing = self.memo.held(keys_)
        if missing:   # one backend read for both kinds
            found, live = self.inner.get_many_and_live([keys_[n] for n in missing], live_keys)
            self.memo.keep(keys_, values, missing, found)
        else:
            live = self.inner.live_many(live_keys)
        return values, self._note_live(live_keys, live)

    def put(self, key: str, value: Any) -> None:
        self._ahead.pop(key, None)
        self.inner.put(key, value)

    def put_live(self, key: str, value: Any) -> None:
        self._ahead_live.pop(key, None)
        self.inner.put_live(key, value)

    def delete_live(self, key: str) -> None:
        self._ahead_live.pop(key, None)
        self.inner.delete_live(key)

    def close(self) -> None:
        self.inner.close()


class MemoryCache(Cache):
    """:class:`Cache` over ``backend`` with the version's fixed values in memory.

    :meth:`refresh` switches to the backend's current version; :meth:`start` runs it every
    ``poll_seconds`` in a thread until :meth:`close`.
    """

    def __init__(self, backend: Cache, poll_seconds: float = POLL_SECONDS):
        self.backend, self.url, self.poll_seconds = backend, backend.url, poll_seconds
        self.max_value_bytes = backend.max_value_bytes
        self.memo: VersionMemo | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def refresh(self) -> bool:
        """Follow the backend's current version; True when it changed."""
        with self.backend.snapshot() as snap:
            if self.memo is not None and snap.version == self.memo.version:
                return False
            memo = VersionMemo(snap.version, hint_capacity=HINT_CAPACITY if self.backend.remote else 0)
            held = MemorySnapshot(snap, memo)
            held.get_many([keys.popular(s) for s in segments.all_segments()] + [keys.REALTIME_PARAMS, keys.MANIFEST])
        self.memo = memo  # one assignment: a request sees the old memo or the new, never half
        return True

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
                self.last_error = None
            except CacheError as exc:
                self.last_error = str(exc)

    def start(self) -> None:
        """Follow publishes from a background thread (a first refresh happens at once)."""
        try:
            self.refresh()
        except CacheError as exc:  # nothing published yet, Redis down: the watcher retries
            self.last_error = str(exc)
        self._watcher = threading.Thread(target=self._watch, name="cache-version-watcher", daemon=True)
        self._watcher.start()

    def snapshot(self, version: int | None = None) -> MemorySnapshot:
        memo = self.memo
        if version is None and memo is not None:
            version = memo.version
        return MemorySnapshot(self.backend.snapshot(version), memo)

    def answer(self, key: Hashable, compute: Callable[[Snapshot], bytes]) -> bytes:
        """``compute(snapshot)``: an answer's bytes, from the memo while they still hold.

        ``key`` names the question (a route and its parameters). An answer that read no key
        events rewrite is held with the live keys it read and their values; it is given again
        while one read of those keys returns the same values. ``compute`` must depend only on
        what it reads from the snapshot and on the question (an error is not held).
        """
        with self.snapshot() as snap:
            memo = snap.memo
            held = memo.answers.get(key) if memo is not None else None
            if held is not None:
                live_keys, live_values, body = held
                if not live_keys or tuple(snap.inner.live_many(list(live_keys))) == live_values:
                    return body
            body = compute(snap)
            if memo is not None and not snap.read_changing:
                memo.hold_answer(key, snap.live_keys, snap.live_values, body)
            return body

    def atomic(self, fn: Callable[[Transaction], T], watch: list[str], watch_live: list[str] = ()) -> T:
        memo = self.memo
        return self.backend.atomic(lambda tx: fn(MemorySnapshot(tx, memo)), watch, watch_live)

    def new_version(self, run: str = "", keep: int = 3) -> VersionWriter:
        return self.backend.new_version(run, keep)

    def versions(self) -> list[dict]:
        return self.backend.versions()

    def set_current(self, version: int) -> None:
        self.backend.set_current(version)

    def key_sizes(self, version: int | None = None, prefix: str = "", live: bool = False) -> Iterator[tuple[str, int]]:
        return self.backend.key_sizes(version, prefix, live)

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
        self.backend.close()
