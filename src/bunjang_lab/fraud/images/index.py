"""Exact Hamming range search over 64-bit hashes, and the on-disk index of listing images.

:class:`RangeIndex` states the contract: ``add`` hashes, then ``query(q, r)`` returns the
rows of *every* stored hash within Hamming distance ``r`` of ``q`` (no misses), sorted by
row. :class:`LinearScan` is the vectorised numpy reference; :class:`SortedBucketIndex`
answers the same queries from sorted tables that can live in a memory-mapped file.

Multi-index hashing (Norouzi et al., 2012): split the 64 bits into ``m`` substrings. If two
hashes differ in at most ``r`` bits, some substring differs in at most ``r // m`` bits
(pigeonhole), so looking up, in each substring's table, the buckets within ``r // m`` bit
flips of the query's substring finds every match; candidates are then verified exactly
with a popcount. With m = 5 and r = 14 each table is probed at 1 + 13 + 78 keys.

>>> hashes = np.array([0, 0b111, 2**64 - 1, 0b1], dtype=np.uint64)
>>> index = SortedBucketIndex(5).add(hashes)
>>> rows, dist = index.query(0, 3)
>>> rows.tolist(), dist.tolist()
([0, 1, 3], [0, 3, 1])
>>> LinearScan().add(hashes).query(0, 3)[0].tolist()
[0, 1, 3]
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from itertools import combinations
from pathlib import Path
from typing import Iterable

import numpy as np

from bunjang_lab import files
from bunjang_lab.errors import InvalidInput
from bunjang_lab.fraud.images.thumbfiles import THUMB_SHAPE, MappedThumbnails
from bunjang_lab.fraud.images.verify import SIDE

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


#: One entry of a sorted table: a stored hash and its row.
BUCKET_ENTRY = np.dtype([("hash", "<u8"), ("row", "<u4")])


class SortedBucketIndex(RangeIndex):
    """Exact Hamming range search in at most ``13 * n_substrings + 8`` bytes per hash.

    The 64 bits are cut into ``n_substrings`` chunks (multi-index hashing, see the module
    docstring); for each chunk the hashes are kept sorted by their value rotated so the
    chunk leads, beside their row numbers (uint32). The hashes whose chunk equals a key are
    then one contiguous run, inside the run of those sharing its first ``log2(n) - 3`` bits,
    whose start a directory gives (4 bytes per prefix, at most one prefix per four hashes):
    no table of ``2 ** width`` bucket starts, so chunks can be as wide as ``log2(n)`` bits
    and memory stays proportional to the hashes.
    (Binary searches instead of the directory cost 3 ms of CPU a query at four million
    hashes, a cache miss per step.)
    A hash within ``r`` of the query is within ``r // n_substrings`` of it in some chunk
    (pigeonhole); candidates are verified by popcount, rotation keeping distances. A query
    probes every key within that many flips of each chunk (``C(width, r // n_substrings)``
    keys and fewer), so keep ``r // n_substrings`` at 3 or less.

    Hashes added after the tables were sorted are scanned linearly until they are more
    than an eighth of the index, then the tables are sorted again. :meth:`tables` gives the
    sorted tables to store in a file, :meth:`of_tables` searches them from there (a
    memory-mapped file: only the pages a query reads come into memory).

    >>> hashes = np.array([0, 0b111, 2**64 - 1, 0b1, 1 << 63], dtype=np.uint64)
    >>> rows, dist = SortedBucketIndex().add(hashes).query(0, 3)
    >>> rows.tolist(), dist.tolist()
    ([0, 1, 3, 4], [0, 3, 1, 1])
    >>> entries, directory = SortedBucketIndex().add(hashes).tables()
    >>> SortedBucketIndex.of_tables(hashes, entries, directory).query(0, 3)[0].tolist()
    [0, 1, 3, 4]
    """

    def __init__(self, n_substrings: int = 3):
        super().__init__()
        self.n_substrings = n_substrings
        widths = [64 // n_substrings + (i < 64 % n_substrings) for i in range(n_substrings)]
        self._widths = widths
        self._rotations = [sum(widths[:i]) for i in range(n_substrings)]  # left rotation bringing chunk i first
        self._built = 0
        # The chunks' tables one after the other, so a query gathers from all of them at
        # once (a third of the numpy calls of a loop over the chunks): per chunk, the hashes
        # (as stored: rotation keeps distances) in the order of their rotated values, their
        # rows, and where each prefix's run starts (offset by the chunk's place).
        self._sorted = np.empty(0, dtype=U64)
        self._rows = np.empty(0, dtype=np.uint32)
        self._directory = np.empty(0, dtype=np.uint32)
        self._prefix_bits: list[int] = []
        self._probes: dict[int, tuple[np.ndarray, ...]] = {}

    @classmethod
    def of_tables(cls, hashes: np.ndarray, entries: np.ndarray, directory: np.ndarray,
                  n_substrings: int = 3) -> "SortedBucketIndex":
        """The index of ``hashes`` (by row) searched in the ``(entries, directory)`` that
        :meth:`tables` gave for them; the arrays are used as they are (mapped or not)."""
        index = cls(n_substrings)
        index._hashes, index._sorted, index._rows, index._directory = hashes, entries["hash"], entries["row"], directory
        index._prefix_bits, index._built = index._prefix_widths(len(hashes)), len(hashes)
        return index

    @classmethod
    def directory_size(cls, n: int, n_substrings: int = 3) -> int:
        """Entries of the directory :meth:`tables` gives for ``n`` hashes."""
        return sum((1 << bits) + 1 for bits in cls(n_substrings)._prefix_widths(n))

    def tables(self) -> tuple[np.ndarray, np.ndarray]:
        """``(entries, directory)``: the sorted tables (:data:`BUCKET_ENTRY` per chunk and
        hash) and the directory of prefix runs (uint32), for :meth:`of_tables`."""
        if len(self._hashes) * self.n_substrings >= 2**32:
            raise InvalidInput(f"{len(self._hashes)} hashes: too many for uint32 rows")
        if self._built != len(self._hashes):
            self._build()
        entries = np.empty(len(self._sorted), dtype=BUCKET_ENTRY)
        entries["hash"], entries["row"] = self._sorted, self._rows
        return entries, self._directory.astype("<u4")

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays this index holds."""
        return self._hashes.nbytes + self._sorted.nbytes + self._rows.nbytes + self._directory.nbytes

    def query(self, q, r):
        n = len(self._hashes)
        if n - self._built > max(4096, self._built // 8):
            self._build()
        q = U64(q)
        if self._built:
            rows = np.unique(self._matches(q, r))  # a row can be found through several chunks
            distances = np.bitwise_count(self._hashes[rows] ^ q).astype(np.int64)
            if self._built == n:  # nothing added since the tables were sorted (stored tables)
                return rows, distances
        tail_rows = np.arange(self._built, n)
        tail_distances = np.bitwise_count(self._hashes[tail_rows] ^ q).astype(np.int64)
        tail = tail_distances <= r
        if not self._built:
            return tail_rows[tail], tail_distances[tail]
        return np.concatenate([rows, tail_rows[tail]]), np.concatenate([distances, tail_distances[tail]])

    def _prefix_widths(self, n: int) -> list[int]:
        return [min(width, max(1, n.bit_length() - 3)) for width in self._widths]

    def _build(self):
        n, chunks = len(self._hashes), self.n_substrings
        row_type = np.uint32 if n * chunks < 2**32 else np.int64
        self._sorted, self._rows = np.empty(n * chunks, dtype=U64), np.empty(n * chunks, dtype=row_type)
        directories, self._probes = [], {}
        self._prefix_bits = self._prefix_widths(n)
        for chunk, (rotation, bits) in enumerate(zip(self._rotations, self._prefix_bits)):
            rotated = _rotate(self._hashes, rotation)
            order = np.argsort(rotated)
            here = slice(chunk * n, (chunk + 1) * n)
            self._rows[here], self._sorted[here] = order, self._hashes[order]
            counts = np.bincount((rotated[order] >> U64(64 - bits)).astype(np.int64), minlength=1 << bits)
            del rotated, order  # before the next chunk's: the peak stays one chunk's
            directories.append(np.concatenate([[0], np.cumsum(counts)]) + chunk * n)
        self._directory = np.concatenate(directories).astype(row_type)
        self._built = n

    def _probe(self, radius: int) -> tuple[np.ndarray, ...]:
        """For every key within ``radius`` bit flips of each chunk: its chunk, its flip mask
        (in the top bits of the rotated hash), the shift leaving its prefix and where the
        chunk's directory starts."""
        if radius not in self._probes:
            chunk_of, masks, shifts, bases, base = [], [], [], [], 0
            for chunk, (width, bits) in enumerate(zip(self._widths, self._prefix_bits)):
                flips = [sum(1 << (63 - b) for b in chosen) for k in range(radius + 1) for chosen in combinations(range(width), k)]
                chunk_of += [chunk] * len(flips)
                masks += flips
                shifts += [64 - bits] * len(flips)
                bases += [base] * len(flips)
                base += (1 << bits) + 1
            self._probes[radius] = (np.array(chunk_of, dtype=np.int64), np.array(masks, dtype=U64), np.array(shifts, dtype=U64),
                                    np.array(bases, dtype=np.int64))
        return self._probes[radius]

    def _matches(self, q, r: int) -> np.ndarray:
        chunk_of, masks, shifts, bases = self._probe(r // self.n_substrings)
        rotated_q = np.array([_rotate(q, rotation) for rotation in self._rotations], dtype=U64)
        prefixes = ((rotated_q[chunk_of] ^ masks) >> shifts).astype(np.int64) + bases  # probed keys' runs
        if self._prefix_bits != self._widths:  # keys differing past the prefix share its run
            prefixes = np.unique(prefixes)
        lo, hi = self._directory[prefixes].astype(np.int64), self._directory[prefixes + 1].astype(np.int64)
        lengths = hi - lo
        total = int(lengths.sum())
        positions = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        close = np.bitwise_count(self._sorted[positions] ^ q) <= r
        return self._rows[positions[close]].astype(np.int64)


def _rotate(hashes, bits: int):
    """``hashes`` rotated left by ``bits`` (uint64 scalars or arrays)."""
    if not bits:
        return hashes
    return (hashes << U64(bits)) | (hashes >> U64(64 - bits))


class WideRangeIndex:
    """The :class:`RangeIndex` contract for hashes of several 64-bit words (PDQ's 256 bits
    are four). A hash within ``r`` of the query is within ``r // words`` of it in one of
    its words (pigeonhole), so each word is searched in its own :class:`SortedBucketIndex`
    and the union verified on all of them; queries stay exact.

    >>> hashes = np.array([[0, 0], [0b111, 1], [2**64 - 1, 0]], dtype=np.uint64)
    >>> rows, dist = WideRangeIndex(2).add(hashes).query([0, 0], 4)
    >>> rows.tolist(), dist.tolist()
    ([0, 1], [0, 4])
    """

    def __init__(self, words: int, n_substrings: int = 5):
        self.words = words
        self._parts = [SortedBucketIndex(n_substrings) for _ in range(words)]
        self._hashes = np.empty((0, words), dtype=U64)

    @classmethod
    def of_words(cls, hashes: np.ndarray, parts: list[SortedBucketIndex]) -> "WideRangeIndex":
        """The index of ``hashes`` (``(n, words)``) searched in one index per word."""
        index = cls(len(parts))
        index._hashes, index._parts = hashes, parts
        return index

    def __len__(self) -> int:
        return len(self._hashes)

    @property
    def hashes(self) -> np.ndarray:
        return self._hashes

    def add(self, hashes) -> "WideRangeIndex":
        """Append hashes (``(n, words)`` integers); their rows follow the existing ones."""
        new = np.asarray(hashes, dtype=U64).reshape(-1, self.words)
        self._hashes = np.concatenate([self._hashes, new])
        for part, column in zip(self._parts, new.T):
            part.add(column)
        return self

    def query(self, q, r: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, distances) of all stored hashes within distance ``r`` of ``q``, by row."""
        q = np.asarray(q, dtype=U64).reshape(self.words)
        rows = np.unique(np.concatenate([part.query(word, r // self.words)[0] for part, word in zip(self._parts, q)]))
        distances = np.bitwise_count(self._hashes[rows] ^ q).sum(axis=1).astype(np.int64)
        keep = distances <= r
        return rows[keep], distances[keep]


def _verify(hashes: np.ndarray, rows: np.ndarray, q, r: int):
    distances = np.bitwise_count(hashes[rows] ^ U64(q))
    keep = distances <= r
    return rows[keep].astype(np.int64), distances[keep].astype(np.int64)


class Concatenated:
    """The arrays of several segments numbered one after the other from ``starts`` (the
    first number of each), read by an array of numbers (``column[numbers]``) without
    copying them into memory; ``shifts`` adds a number per segment to its values
    (segment-local numbers made global). Parts are arrays, mapped or not, or
    :class:`~bunjang_lab.fraud.images.thumbfiles.MappedThumbnails`.

    >>> column = Concatenated([np.array([5, 6]), np.array([7])], [0, 10], np.int64, shifts=[0, 100])
    >>> column[[10, 0, 1]].tolist(), len(column)
    ([107, 5, 6], 3)
    """

    def __init__(self, parts: list, starts, dtype, item_shape: tuple = (), shifts=None):
        self._parts = list(parts)
        self._starts = np.asarray(starts, dtype=np.int64).reshape(-1)
        self._ends = self._starts + np.array([len(p) for p in self._parts], dtype=np.int64)
        self._dtype, self._item_shape, self._shifts = np.dtype(dtype), tuple(item_shape), shifts

    def __len__(self) -> int:
        return int((self._ends - self._starts).sum())

    def __getitem__(self, numbers) -> np.ndarray:
        numbers = np.asarray(numbers, dtype=np.int64)
        flat = numbers.reshape(-1)
        which = np.searchsorted(self._starts, flat, side="right") - 1
        if len(flat) and ((which < 0).any() or (flat >= self._ends[np.maximum(which, 0)]).any()):
            raise IndexError(f"numbers outside the held segments {list(zip(self._starts.tolist(), self._ends.tolist()))}")
        out = np.empty((len(flat), *self._item_shape), dtype=self._dtype)
        for part in np.unique(which).tolist():
            here = which == part
            values = np.asarray(self._parts[part][flat[here] - self._starts[part]], dtype=self._dtype)
            out[here] = values if self._shifts is None else values + self._shifts[part]
        return out.reshape(*numbers.shape, *self._item_shape)


class SegmentedRangeIndex:
    """Range queries over several segments' indexes (:class:`SortedBucketIndex` or
    :class:`WideRangeIndex`), their rows numbered one after the other from ``starts``."""

    def __init__(self, parts: list, starts, item_shape: tuple = ()):
        self._parts, self._starts = list(parts), [int(s) for s in starts]
        self.hashes = Concatenated([p.hashes for p in self._parts], self._starts, U64, item_shape)

    def __len__(self) -> int:
        return len(self.hashes)

    def query(self, q, r: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, distances) of all held hashes within distance ``r`` of ``q``, by row."""
        found = [(rows + start, distances) for part, start in zip(self._parts, self._starts)
                 for rows, distances in [part.query(q, r)]]
        if not found:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])


# --- the persistent index of listing images -------------------------------------------

#: What is stored per picture; ``key`` is the SHA-256 of the file's bytes.
PICTURE_COLUMNS = ("image", "listing", "seller", "key")
#: The lookups of pictures by their metadata (position, contains_file, pictures_of), each a
#: sorted table of 64-bit hashes of these columns in a segment's ``.lookup.npy``.
LOOKUPS = (("key", "listing"), ("image", "listing"), ("listing",))
MANIFEST = "manifest.json"
SEGMENT_FILES = (".strings.npy", ".offsets.npy", ".lookup.npy", ".hashes.npy", ".thumbs.npy", ".pdq.npy",
                 ".buckets.npy", ".directory.npy")
#: 3: verification thumbnails per picture; 4: content boxes with their own thumbnails,
#: picture metadata in JSON (reading an index needs no pyarrow); 5: deep cuts (the box a
#: row's thumbnail is cut to before verifying), the PDQ hash of every thumbnail's picture;
#: 6: the sorted tables of every hash in the segment's files (memory-mapped), segments
#: merged as they are added, up to a shard's size; 7: the pictures' metadata mapped too
#: (strings and sorted lookup tables instead of JSON held in memory).
FORMAT_VERSION = 7
#: Pictures a segment holds at most (a shard): ≈ 8 GB of tables and 6 GB of thumbnails on disk.
SHARD_SIZE = 1 << 20
#: Chunks of the hash tables: at the matching radius (14) 92 keys a chunk, a few rows each.
N_SUBSTRINGS = 5
_ROW = np.dtype([("picture", "<i4"), ("variant", "i1"), ("thumb", "<i4"), ("cut", "<f4", (4,)),
                 ("phash", "<u8"), ("dhash", "<u8")])
#: Per thumbnail: the PDQ hash (four words) of what it shows, PDQ's quality score (0-100)
#: and the hash row of what it shows (its picture's full frame, a box's own row).
_PDQ = np.dtype([("pdq", "<u8", (4,)), ("quality", "u1"), ("row", "<i4")])


def _encoded(value) -> bytes:
    """A metadata value as stored: a tag byte (None apart from the text "None"), then UTF-8."""
    return b"\x00" if value is None else b"\x01" + str(value).encode("utf-8")


def _decoded(data: bytes):
    return None if data[:1] == b"\x00" else data[1:].decode("utf-8")


def _lookup_hash(encoded: Iterable[bytes]) -> int:
    """The 64-bit key of some encoded values in a lookup table (collisions are told apart
    by comparing the stored strings)."""
    return int.from_bytes(hashlib.blake2b(b"\x00".join(encoded), digest_size=8).digest(), "little")


class _Metadata:
    """The pictures' metadata of a segment, in arrays (mapped from its files or not):
    ``strings`` every encoded value back to back (picture by picture, in the order of
    :data:`PICTURE_COLUMNS`), ``offsets`` where each starts (and the end), ``lookup`` per
    table of :data:`LOOKUPS` a :data:`BUCKET_ENTRY` per picture sorted by hash, then row
    (the picture's number in the segment)."""

    def __init__(self, strings: np.ndarray, offsets: np.ndarray, lookup: np.ndarray):
        self.strings, self.offsets, self.lookup = strings, offsets, lookup

    def __len__(self) -> int:
        return (len(self.offsets) - 1) // len(PICTURE_COLUMNS)

    @classmethod
    def of_pictures(cls, pictures: list[dict]) -> "_Metadata":
        encoded = [[_encoded(p[c]) for c in PICTURE_COLUMNS] for p in pictures]
        lengths = np.fromiter((len(v) for values in encoded for v in values), dtype=np.int64,
                              count=len(pictures) * len(PICTURE_COLUMNS))
        strings = np.frombuffer(b"".join(v for values in encoded for v in values), dtype=np.uint8)
        columns = [[PICTURE_COLUMNS.index(c) for c in lookup] for lookup in LOOKUPS]
        tables = [np.fromiter((_lookup_hash(values[c] for c in chosen) for values in encoded), dtype=np.uint64,
                              count=len(pictures)) for chosen in columns]
        rows = np.arange(len(pictures), dtype=np.uint32)
        return cls(strings, np.concatenate([[0], np.cumsum(lengths)]), _sorted_lookup(tables, [rows] * len(tables)))

    @classmethod
    def joined(cls, parts: list["_Metadata"]) -> "_Metadata":
        """The metadata of ``parts`` one after the other (their pictures renumbered)."""
        firsts = _starts([len(part) for part in parts])
        offsets = [np.zeros(1, dtype=np.int64)]
        for part, start in zip(parts, _starts([int(part.offsets[-1]) for part in parts])):
            offsets.append(np.asarray(part.offsets[1:], dtype=np.int64) + start)
        tables, rows = [], []
        for k in range(len(LOOKUPS)):
            entries = [part.table(k) for part in parts]
            tables.append(np.concatenate([e["hash"] for e in entries]))
            rows.append(np.concatenate([e["row"] + np.uint32(first) for e, first in zip(entries, firsts)]))
        return cls(np.concatenate([part.strings for part in parts]), np.concatenate(offsets), _sorted_lookup(tables, rows))

    def table(self, k: int) -> np.ndarray:
        """The sorted entries of lookup ``k`` (of :data:`LOOKUPS`)."""
        return self.lookup[k * len(self): (k + 1) * len(self)]

    def value(self, local: int, column: int) -> bytes:
        """The encoded value of one column (its place in :data:`PICTURE_COLUMNS`) of one picture."""
        at = local * len(PICTURE_COLUMNS) + column
        return self.strings[int(self.offsets[at]): int(self.offsets[at + 1])].tobytes()

    def picture(self, local: int) -> dict:
        return {c: _decoded(self.value(local, k)) for k, c in enumerate(PICTURE_COLUMNS)}

    def matches(self, k: int, keys: list[tuple], hashes: np.ndarray) -> list[list[int]]:
        """Per key (encoded values of lookup ``k``'s columns, and its hash): the pictures holding it, in order."""
        table, columns = self.table(k), [PICTURE_COLUMNS.index(c) for c in LOOKUPS[k]]
        low = np.searchsorted(table["hash"], hashes, side="left")
        high = np.searchsorted(table["hash"], hashes, side="right")
        found = [[] for _ in keys]
        for q in np.flatnonzero(high > low).tolist():
            found[q] = [local for local in table["row"][low[q]: high[q]].tolist()
                        if all(self.value(local, c) == v for c, v in zip(columns, keys[q]))]
        return found


def _sorted_lookup(tables: list[np.ndarray], rows: list[np.ndarray]) -> np.ndarray:
    """The lookup tables (hashes and their rows) as :data:`BUCKET_ENTRY` s, each sorted by
    hash then row (the sort is stable: the rows of equal hashes come in increasing order)."""
    entries = np.empty(sum(map(len, tables)), dtype=BUCKET_ENTRY)
    at = 0
    for hashes, numbers in zip(tables, rows):
        order = np.argsort(hashes, kind="stable")
        entries["hash"][at: at + len(order)], entries["row"][at: at + len(order)] = hashes[order], numbers[order]
        at += len(order)
    return entries


def _lookup_keys(k: int, pictures: list[dict]) -> tuple[list[tuple], np.ndarray]:
    """The encoded key of lookup ``k`` of each (partial) picture, and its hash."""
    keys = [tuple(_encoded(p[c]) for c in LOOKUPS[k]) for p in pictures]
    return keys, np.fromiter((_lookup_hash(key) for key in keys), dtype=np.uint64, count=len(keys))


class _Segment:
    """One immutable segment of an :class:`ImageIndex`, every file of it memory-mapped:
    its pictures' metadata (:class:`_Metadata`), rows, PDQ hashes, thumbnails and sorted
    tables."""

    def __init__(self, folder: Path, name: str):
        self.name = name
        self.meta = _Metadata(*(_mapped(folder / f"{name}{suffix}") for suffix in (".strings.npy", ".offsets.npy",
                                                                                    ".lookup.npy")))
        self.rows = _mapped(folder / f"{name}.hashes.npy")
        self.pdq = _mapped(folder / f"{name}.pdq.npy")
        self.thumbnails = MappedThumbnails.of_npy(folder / f"{name}.thumbs.npy").mapped()  # mapped now: a merge may delete the file
        entries, directory = _mapped(folder / f"{name}.buckets.npy"), _mapped(folder / f"{name}.directory.npy")
        tables, at_entry, at_directory = [], 0, 0
        for hashes in (self.rows["phash"], self.rows["dhash"], *self.pdq["pdq"].T):
            size, entries_size = SortedBucketIndex.directory_size(len(hashes), N_SUBSTRINGS), N_SUBSTRINGS * len(hashes)
            tables.append(SortedBucketIndex.of_tables(hashes, entries[at_entry: at_entry + entries_size],
                                                      directory[at_directory: at_directory + size], N_SUBSTRINGS))
            at_entry, at_directory = at_entry + entries_size, at_directory + size
        self.phash, self.dhash = tables[:2]
        self.pdq_index = WideRangeIndex.of_words(self.pdq["pdq"], tables[2:])

    def __len__(self) -> int:
        return len(self.meta)


class ImageIndex:
    """The perceptual hashes of listing pictures, in a folder of immutable segments.

    Pictures are numbered in the order they were stored; each has several hash rows (full
    frame and crops, :meth:`~bunjang_lab.fraud.images.hashing.ImageHashes.stored_variants`)
    searched by two range indexes, one per hash, and each thumbnail a PDQ hash, searched by
    a third. Nothing per picture is held in memory: a segment's metadata, rows, hashes,
    sorted tables (:class:`SortedBucketIndex`) and thumbnails are memory-mapped from its
    files, and a query reads the pages of its probes and candidates.

    A segment is ``seg-<n>.strings.npy`` and ``seg-<n>.offsets.npy`` (image, listing,
    seller, key of each picture, encoded back to back, and where each starts),
    ``seg-<n>.lookup.npy`` (the hashes of (key, listing), (image, listing) and listing,
    sorted, with their pictures: :data:`LOOKUPS`) plus ``seg-<n>.hashes.npy`` (per row: picture number within the segment, variant, thumbnail
    number within the segment, the box a deep cut's thumbnail is cut to, pHash, dHash),
    ``seg-<n>.thumbs.npy`` (the verification thumbnails: each picture's, zeros when unknown,
    then its content boxes'), ``seg-<n>.pdq.npy`` (per thumbnail, the PDQ hash and quality
    of what it shows and that row), ``seg-<n>.buckets.npy`` and ``seg-<n>.directory.npy``
    (the sorted tables of the pHashes, dHashes and PDQ words, one after the other).
    Adding writes a new segment merged with the last ones while they hold no more pictures
    than it (so there are O(log n) segments and a picture is rewritten O(log n) times), up
    to ``shard_size`` pictures: full segments are the shards, which workers can hold apart
    (``shards=``, their positions in the manifest; a query asks every worker and joins the
    answers). The manifest is replaced atomically under an exclusive file lock, so parallel
    writers (Airflow shards) never lose each other's pictures and a crash leaves at worst
    unlisted files that :meth:`compact` deletes. Storing the same (file content, listing)
    twice is a no-op, so retries are safe. Readers never lock: they see the manifest of
    before or after a write, never half.

    >>> import tempfile
    >>> from bunjang_lab.fraud.images.hashing import ImageHashes
    >>> index = ImageIndex(tempfile.mkdtemp())
    >>> pic = {"image": "a.jpg", "listing": "i1", "seller": "u1", "key": "k1",
    ...        "hashes": ImageHashes(5, 9, 6, 10, crops=((7, 11),))}
    >>> index.add([pic]), index.add([pic]), len(index), index.rows, len(index.thumbnails)
    (1, 0, 1, 2, 1)
    >>> index.picture(0)["listing"], index.position("k1", "i1")
    ('i1', 0)
    """

    def __init__(self, path, shards=None, shard_size: int = SHARD_SIZE):
        self.path = Path(path)
        self.shards = None if shards is None else sorted(set(shards))
        self.shard_size = shard_size
        self._segments: list[_Segment] = []
        self._picture_starts: list[int] = []
        self._manifest_segments: list[dict] = []
        self._index_segments()
        self.reload()

    def __len__(self) -> int:
        """Number of stored pictures (held by the opened shards)."""
        return sum(len(s) for s in self._segments)

    @property
    def rows(self) -> int:
        """Number of stored hash rows (several per picture)."""
        return len(self.phash)

    @property
    def shard_count(self) -> int:
        """Segments in the manifest, held or not."""
        return len(self._manifest_segments)

    def picture(self, number: int) -> dict:
        """The metadata of picture ``number``."""
        segment, local = self._locate(number)
        return segment.meta.picture(local)

    def position(self, key: str, listing) -> int | None:
        """The number of a stored picture (the order pictures were stored), or None."""
        return self._first(0, [{"key": key, "listing": listing}])[0]

    def full_frame_hashes(self, numbers) -> list[tuple[int, int]]:
        """The (pHash, dHash) of pictures ``numbers``' full frames (their first stored variant), in order."""
        pairs = []
        for number in np.asarray(numbers, dtype=np.int64).reshape(-1).tolist():
            segment, local = self._locate(number)
            row = segment.rows[int(np.searchsorted(segment.rows["picture"], local))]  # rows are by picture
            pairs.append((int(row["phash"]), int(row["dhash"])))
        return pairs

    def pictures_of(self, listing) -> list[int]:
        """The numbers of the pictures stored for ``listing``."""
        keys, hashes = _lookup_keys(2, [{"listing": listing}])
        return [start + local for segment, start in zip(self._segments, self._picture_starts)
                for local in segment.meta.matches(2, keys, hashes)[0]]

    def contains_file(self, image: str, listing) -> bool:
        """Whether a file of that name is stored for that listing (to skip it unread)."""
        return self._first(1, [{"image": image, "listing": listing}])[0] is not None

    def _first(self, k: int, pictures: list[dict]) -> list[int | None]:
        """Per (partial) picture, the number of the first stored one with the same values of
        lookup ``k``'s columns (:data:`LOOKUPS`), or None: one search a segment for them all."""
        keys, hashes = _lookup_keys(k, pictures)
        first: list[int | None] = [None] * len(pictures)
        for segment, start in zip(self._segments, self._picture_starts):
            for q, found in enumerate(segment.meta.matches(k, keys, hashes)):
                if found and first[q] is None:
                    first[q] = start + found[0]
        return first

    def reload(self) -> "ImageIndex":
        """Pick up segments other processes added (or merged) since this index was opened."""
        for attempt in range(5):
            manifest = self._read_manifest()
            try:
                self._open(manifest)
                return self
            except FileNotFoundError:  # merged away by a writer since the manifest was read
                if attempt == 4:
                    raise
        return self

    def add(self, pictures: Iterable[dict]) -> int:
        """Store pictures (dicts with :data:`PICTURE_COLUMNS` and ``hashes``, an
        :class:`~bunjang_lab.fraud.images.hashing.ImageHashes`); returns how many were new."""
        if self.shards is not None:
            raise InvalidInput("this index was opened on some shards only; open it on all to add pictures")
        self.path.mkdir(parents=True, exist_ok=True)
        with files.exclusive_lock(self.path / ".lock"):
            self.reload()
            pictures = list(pictures)
            fresh, seen = [], set()
            for picture, stored in zip(pictures, self._first(0, pictures)):
                pair = (_encoded(picture["key"]), _encoded(picture["listing"]))
                if pair not in seen and stored is None:
                    seen.add(pair)
                    fresh.append(picture)
            for start in range(0, len(fresh), self.shard_size):
                self._add_segment(fresh[start: start + self.shard_size])
            return len(fresh)

    def compact(self) -> None:
        """Merge consecutive segments into shards of up to ``shard_size`` pictures and
        delete files no manifest lists."""
        if self.shards is not None:
            raise InvalidInput("this index was opened on some shards only; open it on all to compact it")
        self.path.mkdir(parents=True, exist_ok=True)
        with files.exclusive_lock(self.path / ".lock"):
            self.reload()
            groups: list[list[_Segment]] = []
            for segment in self._segments:
                if groups and sum(map(len, groups[-1])) + len(segment) <= self.shard_size:
                    groups[-1].append(segment)
                else:
                    groups.append([segment])
            if any(len(group) > 1 for group in groups):
                self._write_manifest([(self._write_segment(*_merged(group)) if len(group) > 1 else group[0].name,
                                       sum(map(len, group))) for group in groups])
                self.reload()
            listed = {f"{s.name}{suffix}" for s in self._segments for suffix in SEGMENT_FILES}
            for stale in self.path.glob("seg-*"):
                if stale.name not in listed:
                    stale.unlink()

    def _add_segment(self, fresh: list[dict]) -> None:
        """Write ``fresh`` as a segment merged with the last segments while they hold no
        more pictures than it (and the sum fits a shard), then delete theirs."""
        absorbed = []
        while len(absorbed) < len(self._segments):
            last = self._segments[-1 - len(absorbed)]
            held = len(fresh) + sum(map(len, absorbed))
            if len(last) > held or held + len(last) > self.shard_size:
                break
            absorbed.insert(0, last)
        kept = self._segments[: len(self._segments) - len(absorbed)]
        name = self._write_segment(*_merged(absorbed, _new_segment(fresh)))
        self._write_manifest([(s.name, len(s)) for s in kept] + [(name, len(fresh) + sum(map(len, absorbed)))])
        for segment in absorbed:  # readers holding them keep their mappings; others reopen
            for suffix in SEGMENT_FILES:
                (self.path / f"{segment.name}{suffix}").unlink(missing_ok=True)
        self.reload()

    def _write_segment(self, meta: _Metadata, rows: np.ndarray, thumbs: list, pdqs: np.ndarray) -> str:
        """Write a segment's files (``thumbs``: arrays and mapped thumbnails, in order); its name."""
        name = f"seg-{time.time_ns():x}-{os.getpid()}"
        tables = [SortedBucketIndex(N_SUBSTRINGS).add(hashes).tables()
                  for hashes in (rows["phash"], rows["dhash"], *pdqs["pdq"].T)]
        arrays = {".strings.npy": meta.strings, ".offsets.npy": np.asarray(meta.offsets, dtype="<i8"),
                  ".lookup.npy": meta.lookup, ".hashes.npy": rows, ".pdq.npy": pdqs,
                  ".buckets.npy": np.concatenate([t[0] for t in tables]), ".directory.npy": np.concatenate([t[1] for t in tables])}
        for suffix, array in arrays.items():
            with files.atomic_path(self.path / f"{name}{suffix}", fsync=True) as tmp, open(tmp, "wb") as handle:
                np.save(handle, array)
        with files.atomic_path(self.path / f"{name}.thumbs.npy", fsync=True) as tmp, open(tmp, "wb") as handle:
            np.lib.format.write_array_header_1_0(handle, {"descr": "|u1", "fortran_order": False,
                                                          "shape": (sum(len(t) for t in thumbs), *THUMB_SHAPE)})
            for part in thumbs:  # written from the arrays, not copies of them (GBs at a shard's size)
                part.copy_to(handle) if isinstance(part, MappedThumbnails) else handle.write(memoryview(np.ascontiguousarray(part)))
        return name

    def _write_manifest(self, segments: list[tuple[str, int]]) -> None:
        """Replace the manifest by one listing ``segments`` (name, pictures), in order."""
        manifest = {"format": FORMAT_VERSION, "shard_size": self.shard_size,
                    "segments": [{"name": name, "pictures": pictures} for name, pictures in segments]}
        files.write_text(self.path / MANIFEST, json.dumps(manifest, indent=1), fsync=True)

    def _open(self, manifest: dict) -> None:
        self.shard_size = manifest["shard_size"]
        self._manifest_segments = manifest["segments"]
        opened = {s.name: s for s in self._segments}
        segments, starts, start = [], [], 0
        for position, entry in enumerate(manifest["segments"]):
            if self.shards is None or position in self.shards:
                segments.append(opened.get(entry["name"]) or _Segment(self.path, entry["name"]))
                starts.append(start)
            start += entry["pictures"]
        self._segments, self._picture_starts = segments, starts
        self._index_segments()

    def _index_segments(self) -> None:
        """The columns matching reads, numbered across the held segments: rows, thumbnails."""
        segments = self._segments
        row_starts = _starts([len(s.rows) for s in segments])
        thumb_starts = _starts([len(s.pdq) for s in segments])
        self.phash = SegmentedRangeIndex([s.phash for s in segments], row_starts)
        self.dhash = SegmentedRangeIndex([s.dhash for s in segments], row_starts)
        self.pdq = SegmentedRangeIndex([s.pdq_index for s in segments], thumb_starts, (4,))
        self.picture_of_row = Concatenated([s.rows["picture"] for s in segments], row_starts, np.int64,
                                           shifts=self._picture_starts)
        self.thumb_of_row = Concatenated([s.rows["thumb"] for s in segments], row_starts, np.int64, shifts=thumb_starts)
        self.cut_of_row = Concatenated([s.rows["cut"] for s in segments], row_starts, np.float32, (4,))
        self.thumbnails = Concatenated([s.thumbnails for s in segments], thumb_starts, np.uint8, THUMB_SHAPE)
        self.pdq_quality = Concatenated([s.pdq["quality"] for s in segments], thumb_starts, np.uint8)
        self.row_of_thumb = Concatenated([s.pdq["row"] for s in segments], thumb_starts, np.int64, shifts=row_starts)

    def _locate(self, number: int) -> tuple[_Segment, int]:
        at = int(np.searchsorted(self._picture_starts, number, side="right")) - 1
        if at < 0 or number - self._picture_starts[at] >= len(self._segments[at]):
            raise IndexError(f"picture {number} is not held by this index")
        return self._segments[at], number - self._picture_starts[at]

    def _read_manifest(self) -> dict:
        try:
            manifest = json.loads((self.path / MANIFEST).read_text())
        except FileNotFoundError:
            return {"format": FORMAT_VERSION, "shard_size": self.shard_size, "segments": []}
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{self.path}: not an image index ({exc})") from None
        if manifest.get("format") != FORMAT_VERSION:
            raise InvalidInput(f"{self.path}: image index format {manifest.get('format')!r}, expected "
                             f"{FORMAT_VERSION}; rebuild it with `python -m bunjang_lab images index`")
        return manifest


def _mapped(path: Path) -> np.ndarray:
    """The array of a ``.npy`` file, memory-mapped, as a plain ndarray (a ``np.memmap``
    wraps the result of every operation on it again: a few microseconds each)."""
    return np.load(path, mmap_mode="r").view(np.ndarray)


def _starts(lengths: list[int]) -> list[int]:
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])[:-1].tolist()


def _new_segment(pictures: list[dict]) -> tuple[_Metadata, np.ndarray, list, np.ndarray]:
    """(metadata, rows, thumbnails, PDQ) of a segment of new pictures."""
    rows, thumbs, pdqs = [], [], []
    for number, p in enumerate(pictures):
        hashes, first_row, first_thumb = p["hashes"], len(rows), len(thumbs)
        rows += [(number, variant, first_thumb + thumb, cut, ph, dh) for variant, ((ph, dh), thumb, cut)
                 in enumerate(zip(hashes.stored_variants(), hashes.variant_thumbnails(), hashes.variant_cuts()))]
        thumbs += [_thumbnail_of(hashes), *hashes.box_thumbnails]
        pdqs += [(words, quality) for *words, quality in hashes.pdq]
        pdqs += [((0,) * 4, 0)] * (len(thumbs) - len(pdqs))  # hashes made without PDQ
        # the row showing each thumbnail uncut: the full frame, then each box's own row
        own = {}
        for variant, (thumb, cut) in enumerate(zip(hashes.variant_thumbnails(), hashes.variant_cuts())):
            if not any(cut):
                own.setdefault(thumb, first_row + variant)
        pdqs[first_thumb:] = [(*pdq, own[k]) for k, pdq in enumerate(pdqs[first_thumb:])]
    return _Metadata.of_pictures(pictures), np.array(rows, dtype=_ROW), [np.stack(thumbs)], np.array(pdqs, dtype=_PDQ)


def _merged(segments: list[_Segment], last: tuple | None = None) -> tuple[_Metadata, np.ndarray, list, np.ndarray]:
    """(metadata, rows, thumbnails, PDQ) of ``segments`` (then ``last``, a new segment's)
    one after the other, their numbers made the merged segment's."""
    parts = [(s.meta, s.rows, [s.thumbnails], s.pdq) for s in segments] + ([last] if last else [])
    rows, pdqs, pictures, thumbs, first_row = [], [], 0, 0, 0
    for part_meta, part_rows, _, part_pdqs in parts:
        part_rows, part_pdqs = np.array(part_rows), np.array(part_pdqs)
        part_rows["picture"] += pictures
        part_rows["thumb"] += thumbs
        part_pdqs["row"] += first_row
        rows.append(part_rows)
        pdqs.append(part_pdqs)
        pictures, thumbs, first_row = pictures + len(part_meta), thumbs + len(part_pdqs), first_row + len(part_rows)
    meta = _Metadata.joined([part[0] for part in parts])
    return meta, np.concatenate(rows), [t for part in parts for t in part[2]], np.concatenate(pdqs)


def _thumbnail_of(hashes) -> np.ndarray:
    return np.zeros((SIDE, SIDE, 3), dtype=np.uint8) if hashes.thumbnail is None else hashes.thumbnail
