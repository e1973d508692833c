"""First occurrences of ids by fingerprint: equal to a set walked in order, whatever the ids."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bunjang_lab import dedup

ids_strategy = st.lists(st.text(min_size=0, max_size=20), max_size=60)


def as_array(values):
    """Sliced, so its buffers start before its first value."""
    return pa.array(["pad", *values], pa.string()).slice(1)


def expected_new(ids, known):
    seen, expected = set(known), []
    for index, event_id in enumerate(ids):
        if event_id not in seen:
            expected.append(index)
            seen.add(event_id)
    return expected


@settings(max_examples=200, deadline=None)
@given(ids=ids_strategy, known=st.lists(st.text(min_size=0, max_size=20), max_size=15))
def test_keeps_the_first_of_each_id_not_known(ids, known):
    assert dedup.new_ids(as_array(ids), as_array(known)).tolist() == expected_new(ids, known)


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(st.sampled_from(["e000000001", "e000000002", "e000000003", "e000000010"]), max_size=80))
def test_ids_of_one_width_are_hashed_where_they_lie(ids):
    assert dedup.new_ids(as_array(ids), as_array(["e000000002"])).tolist() == expected_new(ids, ["e000000002"])


@pytest.mark.parametrize("hash_value", [0, 2**64 - 1])
@settings(max_examples=100, deadline=None)
@given(ids=ids_strategy, known=st.lists(st.text(max_size=4), max_size=5))
def test_different_ids_with_one_fingerprint_are_told_apart(hash_value, ids, known):
    def one_fingerprint(flat, count, width):
        return np.full(count, hash_value, np.uint64)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dedup, "_hash_rows", one_fingerprint)
        assert dedup.new_ids(as_array(ids), as_array(known)).tolist() == expected_new(ids, known)


def test_a_million_ids_with_one_percent_resent():
    rng = np.random.default_rng(3)
    values = [f"{n:08x}-{n * 7919 % 65521:04x}" for n in range(1_000_000)]
    resent = rng.choice(len(values), 10_000, replace=False)
    for index in resent:
        values[index] = values[index - 1]
    keep = dedup.new_ids(pa.array(values), pa.array(values[:5]))
    assert keep.tolist() == expected_new(values, values[:5])


@settings(max_examples=150, deadline=None)
@given(ids=ids_strategy, known=st.lists(st.text(min_size=0, max_size=20), max_size=30), cuts=st.lists(st.integers(0, 30), max_size=4))
def test_known_ids_in_batches_count_as_one_set(ids, known, cuts):
    bounds = [0, *sorted(min(c, len(known)) for c in cuts), len(known)]
    batches = [as_array(known[a:b]) for a, b in zip(bounds, bounds[1:])]
    assert dedup.new_ids(as_array(ids), iter(batches)).tolist() == expected_new(ids, known)


def test_the_lake_is_looked_at_one_batch_at_a_time():
    ids = as_array([f"e{n}" for n in range(100)])
    looked_at = []

    def batches():
        for start in range(0, 1_000, 100):
            looked_at.append(start)
            yield pa.array([f"e{n}" for n in range(start + 50, start + 150)])

    assert dedup.new_ids(ids, batches()).tolist() == list(range(50))
    assert looked_at == list(range(0, 1_000, 100))
