"""The image index at scale: the sorted-bucket range search is exact, and the production
index (its rows, sorted tables and thumbnails memory-mapped from segments merged into
shards) matches exactly as the rows held in memory and scanned in full do, on the sample's
pictures, split across workers, and while a writer merges the segments a reader holds."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bunjang_lab.errors import InvalidInput
from bunjang_lab.fraud.images.hashing import ImageHashes, hash_image
from bunjang_lab.fraud.images.index import SEGMENT_FILES, ImageIndex, LinearScan, SortedBucketIndex
from bunjang_lab.fraud.images.loading import open_image
from bunjang_lab.fraud.images.matching import find_matches
from bunjang_lab.fraud.images.verify import SIDE

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
_spec = importlib.util.spec_from_file_location(
    "image_index_scale", Path(__file__).resolve().parents[1] / "benchmarks" / "image_index_scale.py")
scale_benchmark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scale_benchmark)


def within(hashes: np.ndarray, q: int, r: int) -> list[int]:
    return np.flatnonzero(np.bitwise_count(hashes ^ np.uint64(q)) <= r).tolist()


def near_copies(rng, n: int, flips: int = 6) -> np.ndarray:
    """Random centres, each with nine copies up to ``flips`` bits away: many hits per query."""
    copies = np.repeat(rng.integers(0, 2**64 - 1, n // 10, dtype=np.uint64, endpoint=True), 10)
    for _ in range(flips):
        keep = rng.random(len(copies)) < 0.6
        copies[keep] ^= np.uint64(1) << rng.integers(0, 64, keep.sum()).astype(np.uint64)
    return copies


@pytest.mark.parametrize("chunks, r", [(2, 0), (2, 3), (2, 8), *((c, r) for c in (3, 4, 5) for r in (0, 3, 8, 11, 14, 16))])
def test_sorted_buckets_answer_like_a_full_scan_in_memory_and_from_their_tables(chunks, r):
    rng = np.random.default_rng(r)
    hashes = near_copies(rng, 6000)
    index = SortedBucketIndex(chunks).add(hashes)
    stored = SortedBucketIndex.of_tables(hashes, *index.tables(), n_substrings=chunks)
    assert len(stored._directory) == SortedBucketIndex.directory_size(len(hashes), chunks)
    for q in [*hashes[rng.integers(0, len(hashes), 15)].tolist(), 0, 2**64 - 1]:
        for searched in (index, stored):
            rows, distances = searched.query(q, r)
            assert rows.tolist() == within(hashes, q, r)
            assert distances.tolist() == np.bitwise_count(hashes[rows] ^ np.uint64(q)).tolist()


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=60), st.integers(0, 2**64 - 1), st.integers(0, 20))
@settings(max_examples=60, deadline=None)
def test_sorted_buckets_never_miss(values, q, r):
    hashes = np.array(values, dtype=np.uint64)
    hashes[: len(hashes) // 3] = np.uint64(q) ^ np.uint64(0b1011_0000_0001)  # some a few bits away, in several chunks
    rows = SortedBucketIndex().add(hashes).query(q, r)[0]
    assert rows.tolist() == within(hashes, q, r)


def test_sorted_buckets_find_incremental_adds_before_and_after_sorting():
    rng = np.random.default_rng(1)
    index, hashes = SortedBucketIndex(), np.empty(0, dtype=np.uint64)
    for size in (5000, 30, 700, 6000):  # small tails are scanned, large ones sort the tables again
        batch = near_copies(rng, size)
        index.add(batch)
        hashes = np.concatenate([hashes, batch])
        assert index.query(int(batch[-1]), 8)[0].tolist() == within(hashes, int(batch[-1]), 8)
    assert len(index) == len(hashes) and SortedBucketIndex().query(5, 3)[0].size == 0


# --- the production index against its rows held in memory -----------------------------


class WideScan:
    """PDQ's four words scanned in full."""

    def __init__(self, hashes: np.ndarray):
        self.hashes = hashes

    def query(self, q, r):
        distances = np.bitwise_count(self.hashes ^ np.asarray(q, dtype=np.uint64)).sum(axis=1).astype(np.int64)
        return np.flatnonzero(distances <= r), distances[distances <= r]


class InMemoryIndex:
    """The reference: every row, thumbnail and PDQ hash of the pictures in memory, searched by
    full scans (what the index held in memory before its rows went to mapped shards)."""

    def __init__(self, pictures: list[dict]):
        self._pictures = pictures
        rows, thumbs, pdqs, row_of_thumb = [], [], [], []
        for number, p in enumerate(pictures):
            hashes, first_thumb = p["hashes"], len(thumbs)
            for variant, ((ph, dh), thumb, cut) in enumerate(zip(hashes.stored_variants(), hashes.variant_thumbnails(),
                                                                 hashes.variant_cuts())):
                if not any(cut) and first_thumb + thumb == len(row_of_thumb):  # the first uncut row shows it
                    row_of_thumb.append(len(rows))
                rows.append((number, first_thumb + thumb, cut, ph, dh))
            thumbs += [hashes.thumbnail, *hashes.box_thumbnails]
            pdqs += list(hashes.pdq) + [(0, 0, 0, 0, 0)] * (len(thumbs) - first_thumb - len(hashes.pdq))
        self.picture_of_row = np.array([r[0] for r in rows])
        self.thumb_of_row = np.array([r[1] for r in rows])
        self.cut_of_row = np.array([r[2] for r in rows], dtype=np.float32)
        self.phash = LinearScan().add([r[3] for r in rows])
        self.dhash = LinearScan().add([r[4] for r in rows])
        self.thumbnails = np.stack(thumbs)
        self.pdq = WideScan(np.array([p[:4] for p in pdqs], dtype=np.uint64))
        self.pdq_quality = np.array([p[4] for p in pdqs], dtype=np.uint8)
        self.row_of_thumb = np.array(row_of_thumb)

    def picture(self, number: int) -> dict:
        return {c: self._pictures[number][c] for c in ("image", "listing", "seller", "key")}


@pytest.fixture(scope="module")
def sample_pictures() -> list[dict]:
    """The sample's stolen copies, their originals and other pictures of the same listings,
    hashed as the batch path does (stored hashes and query views)."""
    with open(SAMPLE / "labels" / "images.csv", newline="", encoding="utf-8") as handle:
        labels = list(csv.DictReader(handle))
    copies = [r for r in labels if r["copy_of"]][:12]
    wanted = {r["image"] for r in copies} | {r["copy_of"] for r in copies} | {r["image"] for r in labels[:12]}
    pictures = []
    for r in sorted((r for r in labels if r["image"] in wanted), key=lambda r: r["image"]):
        data = (SAMPLE / r["image"]).read_bytes()
        pictures.append({"image": r["image"], "listing": r["item_id"], "seller": r["seller_id"], "key": r["image"],
                         "hashes": hash_image(open_image(data), with_views=True)})
    return pictures


@pytest.fixture(scope="module")
def sharded(sample_pictures, tmp_path_factory) -> ImageIndex:
    """The sample pictures added in batches of 5 to an index of shards of 12 pictures."""
    index = ImageIndex(tmp_path_factory.mktemp("sharded"), shard_size=12)
    for start in range(0, len(sample_pictures), 5):
        assert index.add(sample_pictures[start: start + 5]) == len(sample_pictures[start: start + 5])
    return index


def test_the_sharded_index_matches_the_sample_as_the_rows_in_memory_do(sample_pictures, sharded):
    reference = InMemoryIndex(sample_pictures)
    assert sharded.shard_count > 4 and len(sharded) == len(sample_pictures) and sharded.rows == len(reference.phash)
    stolen = 0
    for p in sample_pictures:
        found = find_matches(sharded, p["hashes"])
        assert found == find_matches(reference, p["hashes"]), p["image"]
        stolen += any(m["listing"] != p["listing"] for m in found)
    assert stolen >= 16  # the copies and their originals find each other


def test_segments_merge_into_shards_of_bounded_size(sharded):
    sizes = [len(ImageIndex(sharded.path, shards=[n])) for n in range(sharded.shard_count)]
    assert all(size <= 12 for size in sizes) and sizes == sorted(sizes, reverse=True)  # merged while no larger
    assert sum(sizes) == len(sharded)
    segments = {p.name.split(".")[0] for p in sharded.path.glob("seg-*")}  # merged segments' files are deleted
    assert len(segments) == sharded.shard_count and len(list(sharded.path.glob("seg-*"))) == len(segments) * len(SEGMENT_FILES)


def test_workers_holding_some_shards_answer_together_as_the_whole(sample_pictures, sharded):
    count = sharded.shard_count
    workers = [ImageIndex(sharded.path, shards=range(0, count, 2)), ImageIndex(sharded.path, shards=range(1, count, 2))]
    assert sum(len(w) for w in workers) == len(sharded)
    for p in sample_pictures[::4]:
        whole = find_matches(sharded, p["hashes"])
        parts = [m for w in workers for m in find_matches(w, p["hashes"])]
        key = (lambda m: m["position"])
        assert sorted(parts, key=key) == sorted(whole, key=key)
    held = workers[0].position(sample_pictures[0]["key"], sample_pictures[0]["listing"])
    assert held == 0 and workers[1].position(sample_pictures[0]["key"], sample_pictures[0]["listing"]) is None
    with pytest.raises(InvalidInput, match="some shards"):
        workers[0].add(sample_pictures[:1])
    with pytest.raises(IndexError):
        workers[1].picture(0)


def synthetic(n: int, start: int = 0, rows: int = 40) -> list[dict]:
    """Pictures with ``rows`` hash rows and a thumbnail each, like the sample's."""
    rng = np.random.default_rng(start)
    out = []
    for number in range(start, start + n):
        base = int(rng.integers(0, 2**63))
        crops = tuple((base ^ (1 << k), base ^ (3 << k)) for k in range(rows - 1))
        thumb = np.repeat(np.repeat(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), SIDE // 8, 0), SIDE // 8, 1)
        out.append({"image": f"p{number}.jpg", "listing": f"i{number}", "seller": "u", "key": f"k{number}",
                    "hashes": ImageHashes(base, base ^ 0xFF, base ^ 1, base ^ 3, crops=crops, thumbnail=thumb,
                                          pdq=((base, base, 0, 1, 90),))})
    return out


def test_a_reader_keeps_answering_while_a_writer_merges_its_segments(tmp_path):
    pictures = synthetic(6)
    writer = ImageIndex(tmp_path)
    writer.add(pictures[:2])
    reader = ImageIndex(tmp_path)
    held = set(tmp_path.glob("seg-*"))
    writer.add(pictures[2:4])  # merges the reader's segment into a new one and deletes its files
    assert not any(path.exists() for path in held)
    assert [m["listing"] for m in find_matches(reader, pictures[1]["hashes"])] == ["i1"]
    assert len(reader.reload()) == 4 and [m["position"] for m in find_matches(reader, pictures[3]["hashes"])] == [3]


def test_nothing_per_picture_is_held_in_memory(tmp_path):
    """The metadata, rows, their sorted tables and the thumbnails stay in the segments' files."""
    index = ImageIndex(tmp_path)
    index.add(synthetic(3000))
    anonymous_before = _anonymous_bytes()
    reopened = ImageIndex(tmp_path)
    opened = _anonymous_bytes()
    for p in synthetic(20):
        assert find_matches(reopened, p["hashes"])[0]["listing"] == p["listing"]
    # 40 rows a picture: 2 x 40 x (8 + 5 x 12) B = 5.4 KB a picture if the tables were in
    # memory, ~300 B its metadata in Python strings and dicts; the queries' first run fills
    # caches of a fixed size (~190 KB)
    assert (opened - anonymous_before) / len(reopened) < 16
    assert (_anonymous_bytes() - anonymous_before) / len(reopened) < 128


def test_the_scale_benchmark_finds_every_planted_copy_and_no_decoy(tmp_path):
    """benchmarks/image_index_scale.py's index, small: each copy finds its original (its
    hashes up to 8 bits away) and not the decoy stored beside it (hashes as close, another
    thumbnail); fresh pictures find nothing."""
    scale_benchmark.build(tmp_path, pictures=4000, planted=60, batch=1500, shard_size=2048, seed=3)
    queries, expected = scale_benchmark.planted_queries(tmp_path, seed=3)
    index = ImageIndex(tmp_path)
    assert len(index) == 4000 and index.shard_count > 1
    found, _, _ = scale_benchmark.timed_matches(index, queries)
    assert found == expected


def _anonymous_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")
