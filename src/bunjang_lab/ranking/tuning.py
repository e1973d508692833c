"""Hyperparameters chosen before the cutoff, with the same budget for every model.

The training events are split again with the evaluation's own protocol into ``windows``
rolling validation windows, the last ones before the cutoff, each as long as the test
window: window j learns from the events before ``cutoff - j * test_days`` and is judged on
the ``test_days`` after that. Every model with a ``search_space`` tries up to ``budget``
settings (its current setting first, then a seeded sample of the grid) on every window,
and the setting with the best NDCG@10 averaged over the windows is the one evaluated after
the cutoff. One window alone is a noisy judge: on YooChoose the last day before the cutoff
preferred the hybrid's blend by 0.022, the test days the stacked FM by 0.011. Nothing after
the cutoff is used, and every model gets the same tries on the same windows.

>>> from bunjang_lab.ranking.baselines import Popularity
>>> [sorted(c.items()) for c in settings(Popularity(days=3.0), budget=3, seed=0)]
[[('days', 3.0)], [('days', 30.0)], [('days', 1.0)]]
"""

from __future__ import annotations

import itertools

import numpy as np

from bunjang_lab.errors import NotEnoughData
from bunjang_lab.ranking.baselines import Recommender
from bunjang_lab.ranking.evaluate import evaluate_models
from bunjang_lab.ranking.split import Split

BUDGET = 4
WINDOWS = 2
METRIC = "ndcg@10"


def settings(model: Recommender, budget: int = BUDGET, seed: int = 0) -> list[dict]:
    """The settings to try: the model's own first, then others drawn from its grid. Settings
    that make the same model (a parameter that another one makes irrelevant: the model
    reports it as None) are tried once, and recorded as the model reports them."""
    space = getattr(model, "search_space", None) or {}
    current = {name: model.get_param(name) for name in space}
    grid = [dict(zip(space, values)) for values in itertools.product(*space.values())]
    others = [g for g in grid if g != current]
    order = np.random.default_rng(seed).permutation(len(others)) if others else []

    def effective(params):
        clone = model.with_params(**params)
        return {name: clone.get_param(name) for name in space}

    tried, chosen = {repr(current)}, [current]
    for params in (effective(others[i]) for i in order):
        if len(chosen) >= budget:
            break
        if repr(params) not in tried:
            tried.add(repr(params))
            chosen.append(params)
    return chosen


def validation_windows(split: Split, windows: int = WINDOWS) -> list[Split]:
    """The last ``windows`` windows before the split's cutoff, newest first: each one is the
    previous one's :meth:`Split.earlier` (built once per split, so the hybrid's ranking window
    of one window is the next window). They stop at the first one without requests."""
    found, current = [], split
    while len(found) < windows and len(current.train):
        current = current.earlier()
        if not len(current.requests):
            break
        found.append(current)
    return found


def tune(models: list[Recommender], split: Split, budget: int = BUDGET, seed: int = 0, progress=None,
         windows: int = WINDOWS):
    """(models with their chosen settings, ``{model: {"tried": [{"params", "ndcg@10" (mean
    over the windows), "windows" (each window's)}], "chosen": {...}}}``).

    A window where some setting of a model cannot be fitted (too few events that far back)
    does not judge that model: its settings are compared on the windows where all of them
    could be (``None`` in ``windows`` marks the others)."""
    validations = validation_windows(split, windows)
    tuned, record = [], {}
    for model in models:
        if hasattr(model, "with_peers"):  # a model built on others (the hybrid) uses them as tuned
            model = model.with_peers(tuned)
        tries = settings(model, budget, seed)
        if len(tries) <= 1 or not validations:
            tuned.append(model)
            continue
        scores = np.empty((len(tries), len(validations)))
        for n, params in enumerate(tries):
            scores[n] = [_score(model.with_params(**params), validation, seed) for validation in validations]
            if progress:
                progress(f"tuning {model.name}: {n + 1} of {len(tries)} settings tried")
        usable = ~np.isnan(scores).any(axis=0)
        if not usable.any():
            tuned.append(model)
            continue
        means = scores[:, usable].mean(axis=1).round(6)
        best = int(np.argmax(means))
        record[model.name] = {"tried": [{"params": params, METRIC: float(mean),
                                         "windows": [None if np.isnan(v) else float(v) for v in row]}
                                        for params, mean, row in zip(tries, means, scores)],
                              "chosen": tries[best]}
        tuned.append(model.with_params(**tries[best]))
    return tuned, record


def _score(model: Recommender, validation: Split, seed: int) -> float:
    """The model's NDCG@10 on a validation window; NaN where it cannot be fitted."""
    try:
        return evaluate_models(validation, [model], resamples=0, seed=seed)["results"][model.name][METRIC]
    except NotEnoughData:
        return float("nan")


def settings_tried(models: list[Recommender], budget: int = BUDGET, seed: int = 0) -> int:
    """How many settings :func:`tune` tries in all, one progress line each (a model with a
    single setting is not tuned)."""
    return sum(n for n in (len(settings(model, budget, seed)) for model in models) if n > 1)
