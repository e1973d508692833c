"""The image index at scale: the sorted-bucket range search is exact, the sharded index
keeps only hashes resident, verifies with its memory-mapped thumbnails, splits across
workers, survives crashes between its two writes and concurrent writers."""

from __future__ import annotations

import json
import multiprocessing

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bunjang_lab.errors import InvalidInput
from bunjang_lab.fraud.images.sharded import MANIFEST, ShardedImageIndex, SortedBucketIndex
from bunjang_lab.fraud.images.verify import SIDE


def within(hashes: np.ndarray, q: int, r: int) -> list[int]:
    return np.flatnonzero(np.bitwise_count(hashes ^ np.uint64(q)) <= r).tolist()


def near_copies(rng, n: int, flips: int = 6) -> np.ndarray:
    """Random centres, each with nine copies up to ``flips`` bits away: many hits per query."""
    copies = np.repeat(rng.integers(0, 2**64 - 1, n // 10, dtype=np.uint64, endpoint=True), 10)
    for _ in range(flips):
        keep = rng.random(len(copies)) < 0.6
        copies[keep] ^= np.uint64(1) << rng.integers(0, 64, keep.sum()).astype(np.uint64)
    return copies


def smooth_thumbnails(rng, n: int) -> np.ndarray:
    """Pictures with structure (8x8 blocks of colour), as the verification expects."""
    return np.repeat(np.repeat(rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8), SIDE // 8, 1), SIDE // 8, 2)


@pytest.mark.parametrize("chunks, r", [(2, 0), (2, 3), (2, 8), *((c, r) for c in (3, 4) for r in (0, 3, 8, 11, 16))])
def test_sorted_buckets_answer_like_a_full_scan(chunks, r):
    rng = np.random.default_rng(r)
    hashes = near_copies(rng, 6000)
    index = SortedBucketIndex(chunks).add(hashes)
    for q in [*hashes[rng.integers(0, len(hashes), 15)].tolist(), 0, 2**64 - 1]:
        rows, distances = index.query(q, r)
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


def test_only_the_hashes_are_resident_about_45_bytes_a_picture(tmp_path):
    rng = np.random.default_rng(2)
    index = ShardedImageIndex(tmp_path, shard_size=5000)
    index.add(rng.integers(0, 2**63, 10_000, dtype=np.uint64), smooth_thumbnails(rng, 10_000))
    index.query(0, 8)  # sorts the tables
    assert index.shard_count == 2 and len(index) == 10_000
    # the hash, per chunk its rotated copy and row (12 B) and a directory entry per 4 to 8 hashes
    assert 10_000 * (8 + 3 * 12) < index.nbytes <= 10_000 * (8 + 3 * 13)


@pytest.fixture
def stored(tmp_path):
    """An index of 50 pictures in shards of 16, and where its near copies come from."""
    rng = np.random.default_rng(3)
    hashes, thumbs = rng.integers(0, 2**64 - 1, 50, dtype=np.uint64, endpoint=True), smooth_thumbnails(rng, 50)
    index = ShardedImageIndex(tmp_path / "ix", shard_size=16)
    for start in range(0, 50, 7):  # adds that cross shard boundaries
        assert index.add(hashes[start: start + 7], thumbs[start: start + 7]).tolist() == list(range(start, min(start + 7, 50)))
    return index, hashes, thumbs


def test_near_copies_are_found_and_verified_across_shards(stored):
    index, hashes, thumbs = stored
    reopened = ShardedImageIndex(index.path)
    assert reopened.shard_count == 4 and len(reopened) == 50 and reopened.shard_size == 16
    rng = np.random.default_rng(4)
    for number in (0, 15, 16, 33, 49):
        copy = np.clip(thumbs[number].astype(int) + rng.integers(-10, 11, thumbs[number].shape), 0, 255).astype(np.uint8)
        query = int(hashes[number]) ^ 0b1000_0001_0000_0001  # three bits off
        found = reopened.find(query, copy)
        assert [(n, d) for n, d, _ in found] == [(number, 3)] and found[0][2] > 0.95
        np.testing.assert_array_equal(reopened.thumbnails([number])[0], thumbs[number])


def test_a_close_hash_of_another_picture_is_not_verified(stored):
    index, hashes, thumbs = stored
    assert index.query(int(hashes[20]), 0)[0].tolist() == [20]
    assert index.find(int(hashes[20]), thumbs[21]) == []  # the hash agrees, the picture does not


def test_workers_holding_some_shards_answer_together_as_the_whole(stored):
    index, hashes, thumbs = stored
    workers = [ShardedImageIndex(index.path, shards=[0, 2]), ShardedImageIndex(index.path, shards=[1, 3])]
    assert [len(w) for w in workers] == [32, 18]
    for number in (5, 20, 40):
        parts = [w.find(int(hashes[number]), thumbs[number]) for w in workers]
        assert sorted(parts[0] + parts[1]) == index.find(int(hashes[number]), thumbs[number])
    with pytest.raises(InvalidInput, match="some shards"):
        workers[0].add(hashes[:1], thumbs[:1])
    with pytest.raises(InvalidInput, match="not held"):
        workers[0].thumbnails([20])


def test_bytes_a_crash_left_past_the_manifest_are_ignored_then_overwritten(stored):
    index, hashes, thumbs = stored
    with open(index.path / "shard-00003.hashes", "ab") as handle:  # a crash between data and manifest
        handle.write(np.uint64(7).tobytes() * 3)
    with open(index.path / "shard-00003.thumbs", "ab") as handle:
        handle.write(b"\xff" * 100)
    assert len(ShardedImageIndex(index.path)) == 50
    assert index.add(hashes[:1] ^ np.uint64(1), thumbs[:1]).tolist() == [50]
    reopened = ShardedImageIndex(index.path)
    assert reopened.query(int(hashes[0]), 1)[0].tolist() == [0, 50]
    np.testing.assert_array_equal(reopened.thumbnails([50])[0], thumbs[0])
    assert (index.path / "shard-00003.hashes").stat().st_size == 3 * 8


def test_a_bad_manifest_is_an_error(tmp_path):
    (tmp_path / MANIFEST).write_text(json.dumps({"format": 99}))
    with pytest.raises(InvalidInput, match="format 99"):
        ShardedImageIndex(tmp_path)
    (tmp_path / MANIFEST).write_text("{")
    with pytest.raises(InvalidInput, match="not a sharded image index"):
        ShardedImageIndex(tmp_path)


def _batches(seed: int):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, 2**63, 3, dtype=np.uint64), smooth_thumbnails(rng, 3)) for _ in range(4)]


def _add_pictures(path, seed: int) -> None:
    index = ShardedImageIndex(path, shard_size=10)
    for hashes, thumbs in _batches(seed):
        index.add(hashes, thumbs)


def test_concurrent_writers_lose_nothing_and_a_reader_reloads(tmp_path):
    reader = ShardedImageIndex(tmp_path, shard_size=10)
    workers = [multiprocessing.get_context("spawn").Process(target=_add_pictures, args=(tmp_path, s)) for s in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(reader) == 0 and len(reader.reload()) == 36 and reader.shard_count == 4
    written = [pair for seed in range(3) for hashes, thumbs in _batches(seed) for pair in zip(hashes.tolist(), thumbs)]
    for phash, thumb in written:  # every picture once, with its own thumbnail
        numbers = reader.query(phash, 0)[0]
        assert len(numbers) == 1
        np.testing.assert_array_equal(reader.thumbnails(numbers)[0], thumb)
