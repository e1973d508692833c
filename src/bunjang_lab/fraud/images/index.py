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

import json
import os
import time
from itertools import combinations
from pathlib import Path
from typing import Iterable

import numpy as np

from bunjang_lab import files
from bunjang_lab.errors import InvalidInput
from bunjang_lab.fraud.images.thumbfiles import MappedThumbnails, ThumbnailSegments
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
            order = np.argsort(sub, kind="stable").astype(np.int32 if n < 2**31 else np.int64)  # 4 bytes a row
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


class WideRangeIndex:
    """The :class:`RangeIndex` contract for hashes of several 64-bit words (PDQ's 256 bits
    are four). A hash within ``r`` of the query is within ``r // words`` of it in one of
    its words (pigeonhole), so each word is searched in its own :class:`MultiIndexHashing`
    and the union verified on all of them; queries stay exact.

    >>> hashes = np.array([[0, 0], [0b111, 1], [2**64 - 1, 0]], dtype=np.uint64)
    >>> rows, dist = WideRangeIndex(2).add(hashes).query([0, 0], 4)
    >>> rows.tolist(), dist.tolist()
    ([0, 1], [0, 4])
    """

    def __init__(self, words: int):
        self.words = words
        self._parts = [MultiIndexHashing() for _ in range(words)]
        self._hashes = np.empty((0, words), dtype=U64)

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


# --- the persistent index of listing images -------------------------------------------

#: What is stored per picture; ``key`` is the SHA-256 of the file's bytes.
PICTURE_COLUMNS = ("image", "listing", "seller", "key")
MANIFEST = "manifest.json"
SEGMENT_FILES = (".pictures.json", ".hashes.npy", ".thumbs.npy", ".pdq.npy")
#: 3: verification thumbnails per picture; 4: content boxes with their own thumbnails,
#: picture metadata in JSON (reading an index needs no pyarrow); 5: deep cuts (the box a
#: row's thumbnail is cut to before verifying), the PDQ hash of every thumbnail's picture.
FORMAT_VERSION = 5
_ROW = np.dtype([("picture", "<i4"), ("variant", "i1"), ("thumb", "<i4"), ("cut", "<f4", (4,)),
                 ("phash", "<u8"), ("dhash", "<u8")])
#: Per thumbnail: the PDQ hash (four words) of what it shows and PDQ's quality score (0-100).
_PDQ = np.dtype([("pdq", "<u8", (4,)), ("quality", "u1")])


class ImageIndex:
    """The perceptual hashes of listing pictures, in a folder of immutable segments.

    Pictures are numbered in the order they were stored; each has several hash rows (full
    frame and crops, :meth:`~bunjang_lab.fraud.images.hashing.ImageHashes.stored_variants`)
    searched by two :class:`MultiIndexHashing` tables, one per hash.

    A segment is ``seg-<n>.pictures.json`` (image, listing, seller, key) plus
    ``seg-<n>.hashes.npy`` (picture number within the segment, variant, thumbnail number
    within the segment, pHash, dHash) and ``seg-<n>.thumbs.npy`` (the verification
    thumbnails: each picture's, zeros when unknown, then its content boxes') and
    ``seg-<n>.pdq.npy`` (per thumbnail, the PDQ hash and quality of what it shows).
    The thumbnails stay in their files (:class:`~bunjang_lab.fraud.images.thumbfiles.ThumbnailSegments`,
    memory-mapped, read for a query's candidates): 6 KB a picture of the sample not held in memory.
    Adding writes a new segment, then replaces ``manifest.json`` atomically, under an
    exclusive file lock, so parallel writers (Airflow shards) never lose each other's
    pictures and a crash leaves at worst unlisted files that :meth:`compact` deletes.
    Storing the same (file content, listing) twice is a no-op, so retries are safe.
    Readers never lock: they see the manifest of before or after a write, never half.

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

    def __init__(self, path):
        self.path = Path(path)
        self._reset()
        self.reload()

    def _reset(self):
        self._segments: list[str] = []
        self._pictures = {c: [] for c in PICTURE_COLUMNS}
        self._positions: dict[tuple[str, str], int] = {}  # (key, listing) -> picture number
        self._by_image: dict[tuple[str, str], int] = {}  # (image, listing) -> picture number
        self.picture_of_row = np.empty(0, dtype=np.int64)
        self.thumb_of_row = np.empty(0, dtype=np.int64)
        self.cut_of_row = np.empty((0, 4), dtype=np.float32)
        self._variant = np.empty(0, dtype=np.int8)
        self.thumbnails = ThumbnailSegments()  # left in the segments' files, read for a query's candidates
        self.phash = MultiIndexHashing()
        self.dhash = MultiIndexHashing()
        self.pdq = WideRangeIndex(4)  # rows are thumbnails
        self.pdq_quality = np.empty(0, dtype=np.uint8)
        self.row_of_thumb = np.empty(0, dtype=np.int64)  # the hash row of what a thumbnail shows

    def __len__(self) -> int:
        """Number of stored pictures."""
        return len(self._pictures["key"])

    @property
    def rows(self) -> int:
        """Number of stored hash rows (several per picture)."""
        return len(self.phash)

    def picture(self, number: int) -> dict:
        """The metadata of picture ``number``."""
        return {c: self._pictures[c][number] for c in PICTURE_COLUMNS}

    def position(self, key: str, listing) -> int | None:
        """The number of a stored picture (the order pictures were stored), or None."""
        return self._positions.get((key, listing))

    def full_frame_hashes(self, numbers) -> list[tuple[int, int]]:
        """The (pHash, dHash) of pictures ``numbers``' full frames (their first stored variant), in order."""
        numbers = np.asarray(numbers, dtype=np.int64)
        if not len(numbers):
            return []
        rows = np.flatnonzero(self._variant == 0)
        row_of_picture = dict(zip(self.picture_of_row[rows].tolist(), rows.tolist()))
        phash, dhash = self.phash.hashes, self.dhash.hashes
        return [(int(phash[row_of_picture[n]]), int(dhash[row_of_picture[n]])) for n in numbers.tolist()]

    def pictures_of(self, listing) -> list[int]:
        """The numbers of the pictures stored for ``listing``."""
        return [n for n, stored in enumerate(self._pictures["listing"]) if stored == listing]

    def contains_file(self, image: str, listing) -> bool:
        """Whether a file of that name is stored for that listing (to skip it unread)."""
        return (image, listing) in self._by_image

    def reload(self) -> "ImageIndex":
        """Pick up segments other processes added since this index was opened."""
        manifest = self._read_manifest()
        if manifest["segments"][: len(self._segments)] != self._segments:
            self._reset()  # compacted by another process: start over from its segment
        for name in manifest["segments"][len(self._segments):]:
            self._append(*_read_segment(self.path, name))
            self._segments.append(name)
        return self

    def add(self, pictures: Iterable[dict]) -> int:
        """Store pictures (dicts with :data:`PICTURE_COLUMNS` and ``hashes``, an
        :class:`~bunjang_lab.fraud.images.hashing.ImageHashes`); returns how many were new."""
        self.path.mkdir(parents=True, exist_ok=True)
        with files.exclusive_lock(self.path / ".lock"):
            self.reload()
            fresh, seen = [], set()
            for picture in pictures:
                pair = (picture["key"], picture["listing"])
                if pair not in self._positions and pair not in seen:
                    seen.add(pair)
                    fresh.append(picture)
            if not fresh:
                return 0
            meta = {c: [p[c] for p in fresh] for c in PICTURE_COLUMNS}
            rows, thumbs, pdqs = [], [], []
            for number, p in enumerate(fresh):
                hashes = p["hashes"]
                rows += [(number, variant, len(thumbs) + thumb, cut, ph, dh) for variant, ((ph, dh), thumb, cut)
                         in enumerate(zip(hashes.stored_variants(), hashes.variant_thumbnails(), hashes.variant_cuts()))]
                thumbs += [_thumbnail_of(hashes), *hashes.box_thumbnails]
                pdqs += [(words, quality) for *words, quality in hashes.pdq]
                pdqs += [((0,) * 4, 0)] * (len(thumbs) - len(pdqs))  # hashes made without PDQ
            self._write(meta, np.array(rows, dtype=_ROW), np.stack(thumbs), [*self._segments, None],
                        np.array(pdqs, dtype=_PDQ))
            self.reload()
            return len(fresh)

    def compact(self) -> None:
        """Rewrite all segments as one and delete files no manifest lists."""
        self.path.mkdir(parents=True, exist_ok=True)
        with files.exclusive_lock(self.path / ".lock"):
            self.reload()
            if len(self._segments) > 1:
                rows = np.empty(self.rows, dtype=_ROW)
                rows["picture"], rows["variant"], rows["thumb"] = self.picture_of_row, self._variant, self.thumb_of_row
                rows["cut"] = self.cut_of_row
                rows["phash"], rows["dhash"] = self.phash.hashes, self.dhash.hashes
                pdqs = np.empty(len(self.thumbnails), dtype=_PDQ)
                pdqs["pdq"], pdqs["quality"] = self.pdq.hashes, self.pdq_quality
                self._write(self._pictures, rows, self.thumbnails, [None], pdqs)
                self.reload()
            listed = {f"{name}{suffix}" for name in self._segments for suffix in SEGMENT_FILES}
            for stale in self.path.glob("seg-*"):
                if stale.name not in listed:
                    stale.unlink()

    def _write(self, meta: dict, rows: np.ndarray, thumbs: np.ndarray | ThumbnailSegments, segments: list,
               pdqs: np.ndarray) -> None:
        """Write a segment and a manifest listing ``segments`` (None marks the new one)."""
        name = f"seg-{time.time_ns():x}-{os.getpid()}"
        columns = {c: [None if v is None else str(v) for v in meta[c]] for c in PICTURE_COLUMNS}
        files.write_text(self.path / f"{name}.pictures.json", json.dumps(columns, ensure_ascii=False), fsync=True)
        for suffix, array in ((".hashes.npy", rows), (".thumbs.npy", thumbs), (".pdq.npy", pdqs)):
            with files.atomic_path(self.path / f"{name}{suffix}", fsync=True) as tmp, open(tmp, "wb") as handle:
                array.save(handle) if isinstance(array, ThumbnailSegments) else np.save(handle, array)
        manifest = {"format": FORMAT_VERSION, "segments": [name if s is None else s for s in segments]}
        files.write_text(self.path / MANIFEST, json.dumps(manifest, indent=1), fsync=True)

    def _append(self, meta: dict, rows: np.ndarray, thumbs: MappedThumbnails, pdqs: np.ndarray):
        first = len(self)
        for number in range(len(meta["key"])):
            pair = (meta["key"][number], meta["listing"][number])
            self._positions.setdefault(pair, first + number)
            self._by_image.setdefault((meta["image"][number], meta["listing"][number]), first + number)
        for c in PICTURE_COLUMNS:
            self._pictures[c].extend(meta[c])
        self.picture_of_row = np.concatenate([self.picture_of_row, rows["picture"].astype(np.int64) + first])
        self.thumb_of_row = np.concatenate([self.thumb_of_row, rows["thumb"].astype(np.int64) + len(self.thumbnails)])
        self.cut_of_row = np.concatenate([self.cut_of_row, rows["cut"]])
        uncut = np.flatnonzero(~rows["cut"].any(axis=1))
        _, own = np.unique(rows["thumb"][uncut], return_index=True)  # a picture's full frame, a box's own row
        self.row_of_thumb = np.concatenate([self.row_of_thumb, uncut[own] + self.rows])
        self.pdq.add(pdqs["pdq"])
        self.pdq_quality = np.concatenate([self.pdq_quality, pdqs["quality"]])
        self._variant = np.concatenate([self._variant, rows["variant"]])
        self.thumbnails.append(thumbs)
        self.phash.add(rows["phash"])
        self.dhash.add(rows["dhash"])

    def _read_manifest(self) -> dict:
        try:
            manifest = json.loads((self.path / MANIFEST).read_text())
        except FileNotFoundError:
            return {"format": FORMAT_VERSION, "segments": []}
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{self.path}: not an image index ({exc})") from None
        if manifest.get("format") != FORMAT_VERSION:
            raise InvalidInput(f"{self.path}: image index format {manifest.get('format')!r}, expected "
                             f"{FORMAT_VERSION}; rebuild it with `python -m bunjang_lab images index`")
        return manifest


def _read_segment(folder: Path, name: str) -> tuple[dict, np.ndarray, MappedThumbnails, np.ndarray]:
    meta = json.loads((folder / f"{name}.pictures.json").read_text(encoding="utf-8"))
    return (meta, np.load(folder / f"{name}.hashes.npy"), MappedThumbnails.of_npy(folder / f"{name}.thumbs.npy"),
            np.load(folder / f"{name}.pdq.npy"))


def _thumbnail_of(hashes) -> np.ndarray:
    return np.zeros((SIDE, SIDE, 3), dtype=np.uint8) if hashes.thumbnail is None else hashes.thumbnail
