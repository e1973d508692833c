"""Exact Hamming range search over 64-bit hashes, and the on-disk index of listing images.

:class:`RangeIndex` states the contract: ``add`` hashes, then ``query(q, r)`` returns the
rows of *every* stored hash within Hamming distance ``r`` of ``q`` (no misses), sorted by
row. :class:`LinearScan` is the vectorised numpy reference; :class:`MultiIndexHashing`
answers the same queries in well under a millisecond at a million hashes.

Multi-index hashing (Norouzi et al., 2012): split the 64 bits into ``m`` substrings. If two
hashes differ in at most ``r`` bits, some substring differs in at most ``r // m`` bits
(pigeonhole), so looking up, in each substring's table, the buckets within ``r // m`` bit
flips of the query's substring finds every match; candidates are then verified exactly
with a popcount. With m = 5 and r = 8 each table is probed at 1 + 13 keys, and a million
hashes give about 122 rows per bucket.

>>> hashes = np.array([0, 0b111, 2**64 - 1, 0b1], dtype=np.uint64)
>>> index = MultiIndexHashing().add(hashes)
>>> rows, dist = index.query(0, 3)
>>> rows.tolist(), dist.tolist()
([0, 1, 3], [0, 3, 1])
>>> LinearScan().add(hashes).query(0, 3)[0].tolist()
[0, 1, 3]
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from itertools import combinations
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

U64 = np.uint64


class RangeIndex:
    """Exact Hamming range queries over appended 64-bit hashes (rows number from 0)."""

    def __init__(self):
        self._hashes = np.empty(0, dtype=U64)

    def __len__(self) -> int:
        return len(self._hashes)

    @property
    def hashes(self) -> np.ndarray:
        return self._hashes

    def add(self, hashes) -> "RangeIndex":
        """Append hashes (any integer array-like); their rows follow the existing ones."""
        new = np.asarray(hashes, dtype=U64).reshape(-1)
        self._hashes = np.concatenate([self._hashes, new]) if len(self._hashes) else new.copy()
        return self

    def query(self, q: int, r: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, distances) of all stored hashes within distance ``r`` of ``q``, by row."""
        raise NotImplementedError


class LinearScan(RangeIndex):
    """The reference: XOR and popcount against every stored hash."""

    def query(self, q, r):
        return _verify(self._hashes, np.arange(len(self._hashes)), q, r)


class MultiIndexHashing(RangeIndex):
    """Multi-index hashing with ``n_substrings`` tables (see the module docstring).

    Hashes added after the tables were built are scanned linearly until they are more
    than an eighth of the index, then the tables are rebuilt on the next query, so
    incremental adds stay cheap and queries stay exact.
    """

    def __init__(self, n_substrings: int = 5):
        super().__init__()
        self.n_substrings = n_substrings
        widths = [64 // n_substrings + (i < 64 % n_substrings) for i in range(n_substrings)]
        self._shifts = [64 - sum(widths[: i + 1]) for i in range(n_substrings)]
        self._widths = widths
        self._built = 0
        self._order = self._starts = self._sorted = None
        self._flips: dict[int, list[np.ndarray]] = {}

    def query(self, q, r):
        n = len(self._hashes)
        if n - self._built > max(4096, self._built // 8):
            self._build()
        q = U64(q)
        radius = r // self.n_substrings
        tail_rows, tail_dist = _verify(self._hashes, np.arange(self._built, n), q, r)
        if not self._built:
            return tail_rows, tail_dist
        rows = np.unique(self._matches(q, radius, r))  # a row can be found through several tables
        distances = np.bitwise_count(self._hashes[rows] ^ q).astype(np.int64)
        return np.concatenate([rows, tail_rows]), np.concatenate([distances, tail_dist])

    def _build(self):
        n = len(self._hashes)
        orders, starts, sorted_hashes = [], [], []
        for shift, width in zip(self._shifts, self._widths):
            sub = ((self._hashes >> U64(shift)) & U64((1 << width) - 1)).astype(np.int64)
            order = np.argsort(sub, kind="stable")
            orders.append(order)
            sorted_hashes.append(self._hashes[order])  # buckets contiguous: cache-friendly verification
            counts = np.bincount(sub, minlength=1 << width)
            starts.append(np.concatenate([[0], np.cumsum(counts)]))
        self._order, self._starts, self._sorted, self._built = orders, starts, sorted_hashes, n

    def _flip_masks(self, radius: int) -> list[np.ndarray]:
        if radius not in self._flips:
            self._flips[radius] = [
                np.array([sum(1 << b for b in bits) for k in range(radius + 1) for bits in combinations(range(w), k)], dtype=np.int64)
                for w in self._widths
            ]
        return self._flips[radius]

    def _matches(self, q, radius: int, r: int) -> np.ndarray:
        """Rows within ``r`` found through the tables (a row may appear more than once)."""
        found = []
        qi = int(q)
        for shift, width, order, starts, sorted_hashes, flips in zip(
            self._shifts, self._widths, self._order, self._starts, self._sorted, self._flip_masks(radius)
        ):
            keys = ((qi >> shift) & ((1 << width) - 1)) ^ flips
            lo, hi = starts[keys], starts[keys + 1]
            lengths = hi - lo
            total = int(lengths.sum())
            if total:
                # positions lo..hi-1 of every probed bucket, without a Python loop
                positions = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
                close = np.bitwise_count(sorted_hashes[positions] ^ q) <= r
                found.append(order[positions[close]])
        return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def _verify(hashes: np.ndarray, rows: np.ndarray, q, r: int):
    distances = np.bitwise_count(hashes[rows] ^ U64(q))
    keep = distances <= r
    return rows[keep].astype(np.int64), distances[keep].astype(np.int64)


# --- the persistent index of listing images -------------------------------------------

#: Metadata stored with every hash row; ``key`` is the SHA-256 of the file's bytes.
COLUMNS = ("image", "listing", "seller", "key", "variant", "phash", "dhash")
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class ImageIndex:
    """A folder of immutable Parquet segments listed in ``manifest.json``.

    Adding writes a new segment and then replaces the manifest atomically, under an
    exclusive file lock, so parallel writers (Airflow shards) never lose each other's rows
    and a crash leaves at worst an unlisted segment file that the next compaction deletes.
    Adding the same (file content, listing) twice is a no-op, so retries are safe.
    Readers never lock: they see the manifest of before or after a write, never half of one.
    """

    def __init__(self, path):
        self.path = Path(path)
        self._reset()
        self.reload()

    def _reset(self):
        self._segments: list[str] = []
        self._meta = {c: np.empty(0, dtype=object) for c in COLUMNS if c not in ("phash", "dhash", "variant")}
        self._variant = np.empty(0, dtype=np.int8)
        self.phash = MultiIndexHashing()
        self.dhash = MultiIndexHashing()
        self._first: dict[tuple[str, str], int] = {}  # (key, listing) -> its first hash row
        self._by_image = None

    def __len__(self) -> int:
        """Number of stored images (each stores several hash rows)."""
        return len(self._first)

    def first_row(self, key: str, listing: str) -> int | None:
        """The first hash row of a stored picture: rows are numbered in storing order."""
        return self._first.get((key, listing))

    def first_row_of_image(self, image: str, listing: str) -> int | None:
        """Like :meth:`first_row`, by the stored file name (to skip files before reading them)."""
        if self._by_image is None:
            self._by_image = {(self._meta["image"][row], listing_): row for (_, listing_), row in self._first.items()}
        return self._by_image.get((image, listing))

    @property
    def rows(self) -> int:
        return len(self.phash)

    def reload(self) -> "ImageIndex":
        """Pick up segments other processes added since this index was opened."""
        manifest = self._read_manifest()
        if manifest["segments"][: len(self._segments)] != self._segments:
            self._reset()  # compacted by another process: start over from its segment
        for name in manifest["segments"][len(self._segments):]:
            self._append(_read_segment(self.path / name))
            self._segments.append(name)
        return self

    def add(self, records: Iterable[dict]) -> int:
        """Store ``records`` (dicts with the :data:`COLUMNS`, one per hash row); returns
        the number of new images. Rows whose (key, listing) is already stored are skipped."""
        self.path.mkdir(parents=True, exist_ok=True)
        with self._lock():
            self.reload()
            fresh = [r for r in records if (r["key"], r["listing"]) not in self._first]
            if not fresh:
                return 0
            columns = {c: [r[c] for r in fresh] for c in COLUMNS}
            name = f"seg-{len(self._segments) + 1:06d}-{os.getpid()}.parquet"
            _write_segment(self.path / name, columns)
            manifest = self._read_manifest()
            manifest["segments"].append(name)
            _atomic_write_text(self.path / MANIFEST, json.dumps(manifest, indent=1))
            before = len(self._first)
            self.reload()
            return len(self._first) - before

    def compact(self) -> None:
        """Rewrite all segments as one (and delete files no manifest lists)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with self._lock():
            self.reload()
            if len(self._segments) > 1:
                columns = {**{c: self._meta[c] for c in self._meta}, "variant": self._variant,
                           "phash": self.phash.hashes, "dhash": self.dhash.hashes}
                name = f"seg-{len(self._segments) + 1:06d}-{os.getpid()}-compact.parquet"
                _write_segment(self.path / name, columns)
                _atomic_write_text(self.path / MANIFEST, json.dumps({"format": FORMAT_VERSION, "segments": [name]}, indent=1))
                self._segments = [name]
            for stale in set(p.name for p in self.path.glob("seg-*.parquet")) - set(self._segments):
                (self.path / stale).unlink()

    def row(self, i: int) -> dict:
        """The metadata of hash row ``i``."""
        return {c: self._meta[c][i] for c in self._meta} | {"variant": int(self._variant[i])}

    def _append(self, columns: dict):
        for c in self._meta:
            self._meta[c] = np.concatenate([self._meta[c], np.asarray(columns[c], dtype=object)])
        start = len(self._variant)
        self._by_image = None
        self._variant = np.concatenate([self._variant, np.asarray(columns["variant"], dtype=np.int8)])
        self.phash.add(columns["phash"])
        self.dhash.add(columns["dhash"])
        for offset, pair in enumerate(zip(columns["key"], columns["listing"])):
            self._first.setdefault(pair, start + offset)

    def _read_manifest(self) -> dict:
        try:
            manifest = json.loads((self.path / MANIFEST).read_text())
        except FileNotFoundError:
            return {"format": FORMAT_VERSION, "segments": []}
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{self.path}: not an image index ({exc})") from None
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"{self.path}: image index format {manifest.get('format')!r}, expected {FORMAT_VERSION}")
        return manifest

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.path / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _read_segment(path: Path) -> dict:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return {c: table.column(c).to_numpy(zero_copy_only=False) for c in COLUMNS}


def _write_segment(path: Path, columns: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        **{c: pa.array(list(columns[c]), type=pa.string()) for c in ("image", "listing", "seller", "key")},
        "variant": pa.array(np.asarray(columns["variant"], dtype=np.int8)),
        "phash": pa.array(np.asarray(columns["phash"], dtype=U64)),
        "dhash": pa.array(np.asarray(columns["dhash"], dtype=U64)),
    })
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    _fsync_replace(tmp, path)


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    _fsync_replace(Path(tmp), path)


def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)
