"""Hyperparameters chosen before the cutoff, with the same budget for every model.

The training events are split once more, at ``cutoff - test_days``, with the evaluation's
own protocol: every model with a ``search_space`` tries up to ``budget`` settings there
(its current setting first, then a seeded sample of the grid), and the setting with the
best NDCG@10 on that validation window is the one evaluated after the cutoff. Nothing
after the cutoff is used, and every model gets the same number of tries.

>>> from bunjang_lab.ranking.baselines import Popularity
>>> [sorted(c.items()) for c in settings(Popularity(days=3.0), budget=3, seed=0)]
[[('days', 3.0)], [('days', 30.0)], [('days', 1.0)]]
"""

from __future__ import annotations

import itertools

import numpy as np

from bunjang_lab.ranking.baselines import Recommender
from bunjang_lab.ranking.evaluate import evaluate_models
from bunjang_lab.ranking.split import Split

BUDGET = 4
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


def tune(models: list[Recommender], split: Split, budget: int = BUDGET, seed: int = 0, progress=None):
    """(models with their chosen settings, ``{model: {"tried": [...], "chosen": {...}}}``)."""
    validation = split.earlier()
    tuned, record = [], {}
    for model in models:
        if hasattr(model, "with_peers"):  # a model built on others (the hybrid) uses them as tuned
            model = model.with_peers(tuned)
        tries = settings(model, budget, seed)
        if len(tries) <= 1 or not len(validation.requests):
            tuned.append(model)
            continue
        scored = []
        for params in tries:
            candidate = model.with_params(**params)
            result = evaluate_models(validation, [candidate], resamples=0, seed=seed)
            scored.append((result["results"][candidate.name][METRIC], params))
            if progress:
                progress(f"tuning {model.name}: {len(scored)} of {len(tries)} settings tried")
        best = max(range(len(scored)), key=lambda i: scored[i][0])
        record[model.name] = {"tried": [{"params": p, METRIC: v} for v, p in scored], "chosen": scored[best][1]}
        tuned.append(model.with_params(**scored[best][1]))
    return tuned, record


def settings_tried(models: list[Recommender], budget: int = BUDGET, seed: int = 0) -> int:
    """How many settings :func:`tune` tries in all, one progress line each (a model with a
    single setting is not tuned)."""
    return sum(n for n in (len(settings(model, budget, seed)) for model in models) if n > 1)
