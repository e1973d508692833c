"""Thumbnail verification (:mod:`bunjang_lab.fraud.images.verify`): all candidates are
aligned in one pass, and the pass finds the alignment a plain search finds, resampling each
alignment tried and correlating it with the query as is and mirrored."""

from __future__ import annotations

import numpy as np
import pytest

from bunjang_lab.fraud.images.verify import BATCH, COMPARE, CUTS, FINE, SIDE, _resampling, correlation, similarity


def _aligned(picture: np.ndarray, rows: tuple[float, float], columns: tuple[float, float]) -> np.ndarray:
    """``picture`` cut by the span ``rows`` and the span ``columns`` (fractions cut off each
    end), resampled to (colour, COMPARE, COMPARE), flattened."""
    return np.einsum("ny,yxc,mx->cnm", _resampling(*rows), picture.astype(np.float64), _resampling(*columns)).reshape(-1)


def _normalise(vector: np.ndarray) -> np.ndarray:
    vector = vector - vector.mean()
    return vector / (np.sqrt(vector @ vector) + 1e-3)


def _plain_search(query: np.ndarray, picture: np.ndarray) -> float:
    """The best correlation over every pair of CUTS per side, then over the spans one FINE
    step around the best of them (the first best on ties), one alignment at a time."""
    uncut = _aligned(query, (0.0, 0.0), (0.0, 0.0)).reshape(3, COMPARE, COMPARE)
    probes = [_normalise(uncut.reshape(-1)), _normalise(uncut[..., ::-1].reshape(-1))]

    def best(row_spans, column_spans):
        scored = [(max(probe @ _normalise(_aligned(picture, rows, columns)) for probe in probes), rows, columns)
                  for rows in row_spans for columns in column_spans]
        return max(scored, key=lambda s: s[0])  # max keeps the first of equal scores

    def around(span):
        ends = [sorted({round(min(max(cut + step, 0.0), CUTS[-1]), 4) for step in (-FINE, 0.0, FINE)}) for cut in span]
        return [(first, last) for first in ends[0] for last in ends[1]]

    coarse = [(first, last) for first in CUTS for last in CUTS]
    _, rows, columns = best(coarse, coarse)
    return best(around(rows), around(columns))[0]


def _pictures(rng, count: int) -> np.ndarray:
    """Thumbnails of 8x8 random colour blocks."""
    return np.repeat(np.repeat(rng.integers(0, 256, (count, 8, 8, 3), dtype=np.uint8), SIDE // 8, 1), SIDE // 8, 2)


@pytest.mark.parametrize("seed", range(3))
def test_the_batched_alignment_finds_what_the_plain_search_finds(seed):
    rng = np.random.default_rng(seed)
    query = _pictures(rng, 1)[0]
    cropped = query[2:30, 1:]
    cropped = cropped[np.linspace(0, len(cropped) - 1, SIDE).round().astype(int)][
        :, np.linspace(0, cropped.shape[1] - 1, SIDE).round().astype(int)]  # a crop of the query, back to SIDE x SIDE
    stored = np.concatenate([query[None], query[None, :, ::-1], cropped[None], _pictures(rng, 5)])
    found = similarity(query, stored).correlation
    assert found == pytest.approx([_plain_search(query, picture) for picture in stored], abs=1e-5)
    assert correlation(query, stored).tolist() == found.tolist()  # the same search without the trimmed figures
    assert (found[:2] > 0.99).all() and (found[3:] < 0.6).all()  # itself and its mirror image; others


def test_a_flat_picture_has_nothing_to_correlate():
    # (resampled one alignment at a time, its rounding noise divided by a norm of nearly 0
    # had given it correlations up to 0.01)
    query = _pictures(np.random.default_rng(0), 1)[0]
    assert similarity(query, np.full((1, SIDE, SIDE, 3), 128, dtype=np.uint8)).correlation.tolist() == [0.0]


def test_candidates_score_alike_alone_and_in_batches_of_any_size():
    rng = np.random.default_rng(7)
    query, stored = _pictures(rng, 1)[0], _pictures(rng, BATCH + 6)
    stored[::9] = np.clip(query.astype(int) + rng.integers(-10, 11, query.shape), 0, 255)  # near copies among them
    together = similarity(query, stored)
    for number in range(0, len(stored), 5):
        alone = similarity(query, stored[number: number + 1])
        for field in together._fields:
            assert getattr(together, field)[number] == pytest.approx(getattr(alone, field)[0], abs=1e-5), (field, number)
