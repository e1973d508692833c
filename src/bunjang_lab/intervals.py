"""Paired bootstrap intervals: is a difference between two systems more than noise?

Both systems are judged on the same units (requests, texts, pairs); the units are
resampled with replacement and the mean difference recomputed each time. A difference is
a win only when the whole interval lies above zero.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> base = rng.random(400)
>>> out = paired_bootstrap(base + 0.1, base, resamples=1000, seed=0)
>>> round(out["diff"], 3), out["low"] > 0, is_win(out)
(0.1, True, True)
>>> noisy = paired_bootstrap(base + rng.normal(0, 0.5, 400), base, seed=0)
>>> noisy["low"] < 0 < noisy["high"], is_win(noisy)
(True, False)
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 1000
CONFIDENCE = 0.95
NOT_WORSE_TOLERANCE = 0.02
"""How much worse than the current model a candidate may look, as a share of the current
model's figure, and still be promoted (the promotion gates of the ranker and the fraud models)."""
_CHUNK = 200  # resamples drawn at a time: bounds memory at 200 x units indices


def resample_means(values: np.ndarray, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """Means of ``values`` (one column per series, or one series) over ``resamples`` draws of the
    units with replacement. The same seed draws the same units, so series stay paired."""
    values = np.asarray(values, dtype=float)
    columns = values.reshape(len(values), -1)
    rng = np.random.default_rng(seed)
    means = []
    for start in range(0, resamples, _CHUNK):
        draws = rng.integers(0, len(values), size=(min(_CHUNK, resamples - start), len(values)))
        means.append(columns[draws].mean(axis=1))
    out = np.concatenate(means) if means else np.empty((0, columns.shape[1]))
    return out if values.ndim > 1 else out[:, 0]


def paired_bootstrap(ours, theirs, resamples: int = RESAMPLES, seed: int = 0, confidence: float = CONFIDENCE) -> dict:
    """``{"diff", "low", "high"}``: the mean of ``ours - theirs`` over the units and its
    percentile interval (``confidence``, default 95%)."""
    diff = np.asarray(ours, dtype=float) - np.asarray(theirs, dtype=float)
    if len(diff) == 0:
        return {"diff": 0.0, "low": 0.0, "high": 0.0}
    means = resample_means(diff, resamples, seed)
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return {"diff": float(diff.mean()), "low": float(low), "high": float(high)}


def is_win(interval: dict) -> bool:
    """A win: the whole interval of the difference lies above zero."""
    return interval["low"] > 0


def not_worse(interval: dict, current: float, tolerance: float = NOT_WORSE_TOLERANCE) -> bool:
    """The promotion gate's rule: a candidate is refused only when the whole interval of its
    difference from the current model lies below ``-tolerance`` × the current model's figure.

    >>> not_worse({"diff": -0.01, "low": -0.03, "high": 0.01}, 0.5), not_worse({"diff": -0.1, "low": -0.15, "high": -0.05}, 0.5)
    (True, False)
    """
    return interval["high"] >= -tolerance * current
