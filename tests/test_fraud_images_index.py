"""The Hamming range index: every implementation answers exactly like the numpy scan,
and the on-disk image index is incremental, idempotent, crash- and concurrency-safe."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bunjang_lab.fraud.images import index as index_module
from bunjang_lab.fraud.images.hashing import ImageHashes
from bunjang_lab.fraud.images.index import SEGMENT_FILES, ImageIndex, LinearScan, RangeIndex, SortedBucketIndex, WideRangeIndex

IMPLEMENTATIONS = [LinearScan, lambda: SortedBucketIndex(5), lambda: SortedBucketIndex(4), lambda: SortedBucketIndex(9)]


def reference(hashes: np.ndarray, q: int, r: int) -> list[int]:
    distances = [bin(int(h) ^ q).count("1") for h in hashes]
    return [i for i, d in enumerate(distances) if d <= r]


def clustered_hashes(rng, n: int) -> np.ndarray:
    """Random centres plus near copies: the hard case, with many hits per query."""
    centres = rng.integers(0, 2**63, n // 10, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    copies = np.repeat(centres, 10)
    flips = rng.integers(0, 64, (len(copies), 6))
    for column in range(flips.shape[1]):
        keep = rng.random(len(copies)) < 0.6
        copies[keep] ^= np.uint64(1) << flips[keep, column].astype(np.uint64)
    return copies


@pytest.mark.parametrize("make", IMPLEMENTATIONS)
@pytest.mark.parametrize("r", [0, 3, 8, 10, 16])
def test_range_query_matches_the_reference(make, r):
    rng = np.random.default_rng(r)
    hashes = clustered_hashes(rng, 3000)
    index: RangeIndex = make().add(hashes)
    for q in list(hashes[rng.integers(0, len(hashes), 15)]) + [0, 2**64 - 1]:
        rows, distances = index.query(int(q), r)
        assert rows.tolist() == reference(hashes, int(q), r)
        assert distances.tolist() == [bin(int(hashes[i]) ^ int(q)).count("1") for i in rows]


@pytest.mark.parametrize("make", IMPLEMENTATIONS)
def test_incremental_adds_are_found_before_and_after_a_rebuild(make):
    rng = np.random.default_rng(1)
    index = make()
    hashes = np.empty(0, dtype=np.uint64)
    for size in (5000, 30, 700, 6000):  # small tails are scanned, large ones rebuild the tables
        batch = clustered_hashes(rng, size)
        index.add(batch)
        hashes = np.concatenate([hashes, batch])
        q = int(batch[-1])
        assert index.query(q, 8)[0].tolist() == reference(hashes, q, 8)
    assert len(index) == len(hashes)


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=60), st.integers(0, 2**64 - 1), st.integers(0, 20))
@settings(max_examples=60, deadline=None)
def test_sorted_buckets_of_five_chunks_never_miss(values, q, r):
    hashes = np.array(values, dtype=np.uint64)
    rows = SortedBucketIndex(5).add(hashes[: len(hashes) // 2]).add(hashes[len(hashes) // 2:]).query(q, r)[0]
    assert rows.tolist() == reference(hashes, q, r)


@given(st.lists(st.lists(st.integers(0, 2**64 - 1), min_size=4, max_size=4), min_size=1, max_size=40),
       st.lists(st.integers(0, 2**64 - 1), min_size=4, max_size=4), st.integers(0, 40), st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_wide_hashes_are_searched_exactly(values, q, r, near):
    hashes = np.array(values, dtype=np.uint64)
    hashes[: near] = np.array(q, dtype=np.uint64) ^ np.uint64(0b1011)  # some within a few bits
    rows, distances = WideRangeIndex(4).add(hashes).query(q, r)
    reference = np.bitwise_count(hashes ^ np.array(q, dtype=np.uint64)).sum(axis=1)
    assert rows.tolist() == np.flatnonzero(reference <= r).tolist()
    assert distances.tolist() == reference[reference <= r].tolist()


def test_an_empty_index_answers_nothing():
    for make in IMPLEMENTATIONS:
        rows, distances = make().query(123, 8)
        assert len(rows) == 0 and len(distances) == 0


# --- the on-disk index ---------------------------------------------------------------------


def picture(n: int, listing: str = "i1", seller: str = "u1") -> dict:
    base = (n * 0x9E3779B97F4A7C15) % 2**64
    return {"image": f"img{n}.jpg", "listing": listing, "seller": seller, "key": f"key{n}",
            "hashes": ImageHashes(base, base ^ 0xFF, base ^ 1, base ^ 3, crops=((base ^ 7, base ^ 15),))}


def test_adding_is_persistent_incremental_and_idempotent(tmp_path):
    index = ImageIndex(tmp_path / "ix")
    assert index.add([picture(1), picture(2)]) == 2
    assert index.add([picture(2), picture(3), picture(3)]) == 1  # already stored / twice in a batch
    assert index.add([picture(2, listing="i9")]) == 1  # the same file in another listing is new
    reopened = ImageIndex(tmp_path / "ix")
    assert len(reopened) == 4 and reopened.rows == 8
    assert reopened.picture(3) == {"image": "img2.jpg", "listing": "i9", "seller": "u1", "key": "key2"}
    assert reopened.position("key3", "i1") == 2
    assert reopened.contains_file("img1.jpg", "i1") and not reopened.contains_file("img1.jpg", "i2")
    rows = reopened.phash.query(picture(3)["hashes"].phash, 0)[0]
    assert reopened.picture_of_row[rows].tolist() == [2]


def test_a_reader_sees_other_writers_after_reload_and_compaction(tmp_path):
    reader, writer = ImageIndex(tmp_path), ImageIndex(tmp_path)
    writer.add([picture(1)])
    writer.add([picture(2)])
    assert len(reader) == 0 and len(reader.reload()) == 2
    writer.compact()
    assert len(list(tmp_path.glob("seg-*"))) == len(SEGMENT_FILES)  # one segment: pictures, rows, thumbnails, PDQ, tables
    writer.add([picture(3)])
    assert [reader.reload().picture(i)["key"] for i in range(3)] == ["key1", "key2", "key3"]


def test_a_crash_before_the_manifest_leaves_the_index_intact(tmp_path):
    index = ImageIndex(tmp_path)
    index.add([picture(1)])
    (tmp_path / "seg-dead.pictures.parquet").write_bytes(b"half written")  # never listed
    (tmp_path / ".manifest.json.123.tmp").write_text("{")
    assert len(ImageIndex(tmp_path)) == 1
    index.compact()
    assert not (tmp_path / "seg-dead.pictures.parquet").exists()


def test_an_unreadable_manifest_is_a_clear_error(tmp_path):
    (tmp_path / "manifest.json").write_text("not json")
    with pytest.raises(ValueError, match="not an image index"):
        ImageIndex(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 1, "segments": []}))
    with pytest.raises(ValueError, match="rebuild it"):
        ImageIndex(tmp_path)


def _add_many(path: str, start: int) -> None:
    index = ImageIndex(path)
    for n in range(start, start + 20):
        index.add([picture(n)])


def test_parallel_writers_lose_nothing(tmp_path):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_add_many, args=(str(tmp_path), start)) for start in (0, 10, 100)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    index = ImageIndex(tmp_path)
    assert len(index) == 50  # 0..29 overlap between the first two writers, 100..119
    assert sorted(index.picture(i)["key"] for i in range(50)) == sorted(
        {f"key{n}" for n in [*range(30), *range(100, 120)]})


def test_thumbnails_stay_on_disk_and_read_back_across_segments_and_compaction(tmp_path):
    rng = np.random.default_rng(3)
    pictures = [picture(n) for n in range(4)]
    for p in pictures:
        p["hashes"] = dataclasses.replace(p["hashes"], thumbnail=rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    index = ImageIndex(tmp_path)
    index.add(pictures[:1])
    index.add(pictures[1:])
    expected = np.stack([p["hashes"].thumbnail for p in pictures])
    assert not isinstance(index.thumbnails, np.ndarray) and len(index.thumbnails) == 4
    np.testing.assert_array_equal(index.thumbnails[[3, 0, 1]], expected[[3, 0, 1]])
    index.compact()
    np.testing.assert_array_equal(ImageIndex(tmp_path).thumbnails[np.arange(4)], expected)
    with pytest.raises(IndexError):
        index.thumbnails[[4]]


def test_metadata_lookups_tell_apart_pictures_whose_hashes_collide(tmp_path, monkeypatch):
    """Every lookup key hashed alike: the stored strings decide, in every segment."""
    monkeypatch.setattr(index_module, "_lookup_hash", lambda encoded: 7)
    index = ImageIndex(tmp_path, shard_size=3)
    pictures = [picture(1), picture(2), picture(3, listing="i2"), picture(4, seller=None), picture(5, seller="None")]
    assert index.add(pictures[:2]) == 2 and index.add(pictures[2:]) == 3 and index.shard_count == 2
    assert index.add([picture(3, listing="i2"), picture(3)]) == 1  # only the second is new
    assert [index.position(f"key{n}", listing) for n, listing in [(1, "i1"), (3, "i2"), (3, "i1"), (3, "i9")]] == [0, 2, 5, None]
    assert index.contains_file("img3.jpg", "i2") and index.contains_file("img3.jpg", "i1")
    assert not index.contains_file("img1.jpg", "i2") and not index.contains_file("key1", "i1")
    assert index.pictures_of("i1") == [0, 1, 3, 4, 5] and index.pictures_of("i2") == [2] and index.pictures_of("i3") == []
    assert index.picture(3)["seller"] is None and index.picture(4)["seller"] == "None"  # None is not the text "None"
    index.compact()
    reopened = ImageIndex(tmp_path)
    assert [reopened.picture(n) for n in range(6)] == [index.picture(n) for n in range(6)]
    assert reopened.pictures_of("i1") == [0, 1, 3, 4, 5] and reopened.position("key3", "i1") == 5


def test_metadata_is_stored_as_text_whatever_its_type(tmp_path):
    index = ImageIndex(tmp_path)
    index.add([{**picture(1), "listing": 11, "seller": "판매자 ✓"}])
    assert index.picture(0) == {"image": "img1.jpg", "listing": "11", "seller": "판매자 ✓", "key": "key1"}
    assert index.position("key1", 11) == index.position("key1", "11") == 0 and index.pictures_of("11") == [0]
