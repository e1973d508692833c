"""The image index at marketplace scale: tens of millions of pictures in bounded memory.

:class:`~bunjang_lab.fraud.images.index.ImageIndex` keeps about forty hash rows and
several thumbnails per picture in memory (≈ 5.7 GB per million pictures). This index keeps
one 64-bit pHash per picture resident, searched by :class:`SortedBucketIndex` (44 bytes a
picture with the default three tables), and leaves the verification thumbnails in a
memory-mapped file that a query reads only for its few candidates. Pictures are stored in
shards of at most ``shard_size`` pictures, each its own pair of files, so a worker can open
only some shards (``shards=``) and a query is answered by asking every worker and merging.

Layout of the folder: ``shard-<n>.hashes`` (little-endian uint64 per picture),
``shard-<n>.thumbs`` (``SIDE x SIDE x 3`` uint8 per picture) and ``manifest.json`` (the
number of pictures each shard holds). Adding appends to the last shard's files, then
replaces the manifest atomically under an exclusive lock; bytes past a shard's count in the
manifest (a crash between the two) are ignored and overwritten by the next add. Picture
numbers are global (shard ``k`` starts at ``k * shard_size``); what a number stands for
(listing, seller) lives with the caller, e.g. a table in the lake, not in memory here.

>>> import tempfile
>>> rng = np.random.default_rng(0)
>>> thumbs = rng.integers(0, 256, (5, SIDE, SIDE, 3), dtype=np.uint8)
>>> index = ShardedImageIndex(tempfile.mkdtemp(), shard_size=3)
>>> index.add(np.array([1, 2, 3, 4, 2**64 - 1], dtype=np.uint64), thumbs).tolist()
[0, 1, 2, 3, 4]
>>> index.shard_count, len(index)
(2, 5)
>>> copy = np.clip(thumbs[3].astype(int) + 3, 0, 255).astype(np.uint8)
>>> [(number, distance) for number, distance, _ in index.find(0b101, copy, radius=2)]
[(3, 1)]
>>> worker = ShardedImageIndex(index.path, shards=[1])  # holds pictures 3 and 4 only
>>> worker.query(2**64 - 2, 1)[0].tolist(), len(worker)
([4], 2)
"""

from __future__ import annotations

import json
import os
from itertools import combinations
from pathlib import Path

import numpy as np

from bunjang_lab import files
from bunjang_lab.errors import InvalidInput
from bunjang_lab.fraud.images.index import RangeIndex
from bunjang_lab.fraud.images.matching import DEFAULT_POLICY
from bunjang_lab.fraud.images.thumbfiles import THUMB_BYTES, MappedThumbnails
from bunjang_lab.fraud.images.verify import SIDE, correlation

U64 = np.uint64
MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class SortedBucketIndex(RangeIndex):
    """Exact Hamming range search in at most ``13 * n_substrings + 8`` bytes per hash.

    The 64 bits are cut into ``n_substrings`` chunks (multi-index hashing, as
    :class:`~bunjang_lab.fraud.images.index.MultiIndexHashing`); for each chunk the hashes
    are kept sorted by their value rotated so the chunk leads, beside their row numbers
    (uint32). The hashes whose chunk equals a key are then one contiguous run, inside the run of those
    sharing its first ``log2(n) - 3`` bits, whose start a directory gives (4 bytes per
    prefix, at most one prefix per four hashes): no table of ``2 ** width`` bucket starts,
    so chunks can be as wide as ``log2(n)`` bits (three chunks of 21-22 bits at ten million
    hashes, about five hashes per bucket) and memory stays proportional to the hashes.
    (Binary searches instead of the directory cost 3 ms of CPU a query at four million
    hashes a shard, a cache miss per step.)
    A hash within ``r`` of the query is within ``r // n_substrings`` of it in some chunk
    (pigeonhole); candidates are verified by popcount, rotation keeping distances. A query
    probes every key within that many flips of each chunk (``C(width, r // n_substrings)``
    keys and fewer), so keep ``r // n_substrings`` at 3 or less: at three chunks, ``r <= 11``.

    Hashes added after the tables were sorted are scanned linearly until they are more
    than an eighth of the index, as in ``MultiIndexHashing``.

    >>> hashes = np.array([0, 0b111, 2**64 - 1, 0b1, 1 << 63], dtype=np.uint64)
    >>> rows, dist = SortedBucketIndex().add(hashes).query(0, 3)
    >>> rows.tolist(), dist.tolist()
    ([0, 1, 3, 4], [0, 3, 1, 1])
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

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays this index holds."""
        return self._hashes.nbytes + self._sorted.nbytes + self._rows.nbytes + self._directory.nbytes

    def query(self, q, r):
        n = len(self._hashes)
        if n - self._built > max(4096, self._built // 8):
            self._build()
        q = U64(q)
        tail_rows = np.arange(self._built, n)
        tail_distances = np.bitwise_count(self._hashes[tail_rows] ^ q).astype(np.int64)
        tail = tail_distances <= r
        if not self._built:
            return tail_rows[tail], tail_distances[tail]
        rows = np.unique(self._matches(q, r))  # a row can be found through several chunks
        distances = np.bitwise_count(self._hashes[rows] ^ q).astype(np.int64)
        return np.concatenate([rows, tail_rows[tail]]), np.concatenate([distances, tail_distances[tail]])

    def _build(self):
        n, chunks = len(self._hashes), self.n_substrings
        row_type = np.uint32 if n * chunks < 2**32 else np.int64
        self._sorted, self._rows = np.empty(n * chunks, dtype=U64), np.empty(n * chunks, dtype=row_type)
        directories, self._prefix_bits, self._probes = [], [], {}
        for chunk, (rotation, width) in enumerate(zip(self._rotations, self._widths)):
            rotated = _rotate(self._hashes, rotation)
            order = np.argsort(rotated)
            here = slice(chunk * n, (chunk + 1) * n)
            self._rows[here], self._sorted[here] = order, self._hashes[order]
            bits = min(width, max(1, n.bit_length() - 3))
            counts = np.bincount((rotated[order] >> U64(64 - bits)).astype(np.int64), minlength=1 << bits)
            del rotated, order  # before the next chunk's: the peak stays one chunk's
            directories.append(np.concatenate([[0], np.cumsum(counts)]) + chunk * n)
            self._prefix_bits.append(bits)
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
            self._probes[radius] = (np.array(chunk_of), np.array(masks, dtype=U64), np.array(shifts, dtype=U64),
                                    np.array(bases, dtype=np.int64))
        return self._probes[radius]

    def _matches(self, q, r: int) -> np.ndarray:
        chunk_of, masks, shifts, bases = self._probe(r // self.n_substrings)
        rotated_q = np.array([_rotate(q, rotation) for rotation in self._rotations], dtype=U64)
        prefixes = np.unique(((rotated_q[chunk_of] ^ masks) >> shifts).astype(np.int64) + bases)  # probed keys' runs
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


class ShardedImageIndex:
    """One pHash per picture resident, thumbnails memory-mapped, pictures in shards (see
    the module docstring). ``shards`` (shard numbers) opens only those, for a worker that
    serves part of the index; ``None`` opens all. Only an index opened on all its shards
    may :meth:`add`."""

    def __init__(self, path, shard_size: int = 1 << 22, shards=None, n_substrings: int = 3):
        self.path = Path(path)
        self.shard_size = shard_size
        self.shards = None if shards is None else sorted(set(shards))
        self.n_substrings = n_substrings
        self._counts: list[int] = []
        self._tables: dict[int, SortedBucketIndex] = {}
        self._thumbs: dict[int, MappedThumbnails] = {}
        self.reload()

    def __len__(self) -> int:
        """Pictures held by the opened shards."""
        return sum(len(table) for table in self._tables.values())

    @property
    def shard_count(self) -> int:
        return len(self._counts)

    @property
    def nbytes(self) -> int:
        """Bytes of the resident arrays (the hash tables)."""
        return sum(table.nbytes for table in self._tables.values())

    def reload(self) -> "ShardedImageIndex":
        """Pick up the pictures other processes added since this index was opened."""
        manifest = self._read_manifest()
        if manifest["shard_size"] != self.shard_size:
            self.shard_size = manifest["shard_size"]
        for shard, count in enumerate(manifest["counts"]):
            if self.shards is not None and shard not in self.shards:
                continue
            table = self._tables.setdefault(shard, SortedBucketIndex(self.n_substrings))
            if count > len(table):
                table.add(np.fromfile(self._file(shard, "hashes"), dtype="<u8", count=count - len(table),
                                      offset=8 * len(table)))
                self._thumbs.pop(shard, None)  # mapped at the old length
        self._counts = list(manifest["counts"])
        return self

    def add(self, hashes, thumbnails) -> np.ndarray:
        """Append pictures (pHashes and their ``SIDE x SIDE x 3`` uint8 thumbnails);
        returns their picture numbers."""
        if self.shards is not None:
            raise InvalidInput("this index was opened on some shards only; open it on all to add pictures")
        hashes = np.asarray(hashes, dtype="<u8").reshape(-1)
        thumbnails = np.ascontiguousarray(thumbnails, dtype=np.uint8).reshape(-1, SIDE, SIDE, 3)
        if len(hashes) != len(thumbnails):
            raise InvalidInput(f"{len(hashes)} hashes for {len(thumbnails)} thumbnails")
        self.path.mkdir(parents=True, exist_ok=True)
        with files.exclusive_lock(self.path / ".lock"):
            self.reload()
            counts, numbers, done = list(self._counts), [], 0
            while done < len(hashes):
                if not counts or counts[-1] == self.shard_size:
                    counts.append(0)
                shard, count = len(counts) - 1, counts[-1]
                take = min(self.shard_size - count, len(hashes) - done)
                for kind, array, size in (("hashes", hashes, 8), ("thumbs", thumbnails, THUMB_BYTES)):
                    with open(self._file(shard, kind), "ab") as handle:
                        handle.truncate(count * size)  # drop what a crashed add left past the count
                        handle.write(array[done: done + take].tobytes())
                        handle.flush()
                        os.fsync(handle.fileno())
                numbers.append(np.arange(take) + shard * self.shard_size + count)
                counts[-1] += take
                done += take
            files.write_text(self.path / MANIFEST, json.dumps(
                {"format": FORMAT_VERSION, "shard_size": self.shard_size, "counts": counts}), fsync=True)
            self.reload()
        return np.concatenate(numbers) if numbers else np.empty(0, dtype=np.int64)

    def query(self, phash: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """(picture numbers, distances) of every held picture whose pHash is within
        ``radius`` bits of ``phash``, by number."""
        found = [(rows + shard * self.shard_size, distances)
                 for shard, table in sorted(self._tables.items()) for rows, distances in [table.query(phash, radius)]]
        if not found:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])

    def thumbnails(self, pictures) -> np.ndarray:
        """The stored thumbnails of held pictures, read from the mapped files."""
        pictures = np.asarray(pictures, dtype=np.int64).reshape(-1)
        out = np.empty((len(pictures), SIDE, SIDE, 3), dtype=np.uint8)
        shards = pictures // self.shard_size
        for shard in np.unique(shards):
            here = shards == shard
            out[here] = self._mapped(int(shard)).read(pictures[here] - shard * self.shard_size)
        return out

    def find(self, phash: int, thumbnail: np.ndarray, radius: int = DEFAULT_POLICY.close,
             verified: float = DEFAULT_POLICY.verified) -> list[tuple[int, int, float]]:
        """(picture, distance, similarity) of the held pictures whose pHash is within
        ``radius`` and whose thumbnail lines up with ``thumbnail`` to at least ``verified``
        (:func:`~bunjang_lab.fraud.images.verify.correlation`, all candidates in one pass), by distance."""
        pictures, distances = self.query(phash, radius)
        if not len(pictures):
            return []
        scores = correlation(thumbnail, self.thumbnails(pictures))
        keep = scores >= verified
        found = sorted(zip(pictures[keep].tolist(), distances[keep].tolist(), scores[keep].tolist()),
                       key=lambda m: (m[1], m[0]))
        return [(number, distance, round(score, 3)) for number, distance, score in found]

    def _mapped(self, shard: int) -> MappedThumbnails:
        if shard not in self._tables:
            raise InvalidInput(f"shard {shard} is not held by this index (shards={self.shards})")
        if shard not in self._thumbs:
            self._thumbs[shard] = MappedThumbnails(self._file(shard, "thumbs"), len(self._tables[shard]))
        return self._thumbs[shard]

    def _file(self, shard: int, kind: str) -> Path:
        return self.path / f"shard-{shard:05d}.{kind}"

    def _read_manifest(self) -> dict:
        try:
            manifest = json.loads((self.path / MANIFEST).read_text())
        except FileNotFoundError:
            return {"format": FORMAT_VERSION, "shard_size": self.shard_size, "counts": []}
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{self.path}: not a sharded image index ({exc})") from None
        if manifest.get("format") != FORMAT_VERSION:
            raise InvalidInput(f"{self.path}: sharded image index format {manifest.get('format')!r}, "
                               f"expected {FORMAT_VERSION}")
        return manifest
