"""Offline evaluation of rankers: every model through the same full-ranking loop.

Each request of a :class:`~bunjang_lab.ranking.split.Split` is ranked by every model over
all candidates it may be shown (see ``Split.allowed``); metrics come from the rank of each
held-out item. Ties are broken at random (seeded), so a constant model scores like a
random one instead of being flattered by the item order. Per-request values are kept, so
the production model's difference to every baseline carries a paired bootstrap interval.

>>> import numpy as np
>>> ranks = target_ranks(np.array([[0.9, 0.1, 0.5, 0.3]]), [np.array([2])])
>>> m = metrics_of(ranks)
>>> m["hr@10"].tolist(), m["mrr"].tolist(), np.round(m["ndcg@10"], 4).tolist()
([1.0], [0.5], [0.6309])
"""

from __future__ import annotations

import time

import numpy as np

from bunjang_lab.intervals import paired_bootstrap
from bunjang_lab.ranking.baselines import Recommender
from bunjang_lab.ranking.split import Split

METRICS = ("hr@10", "ndcg@10", "hr@20", "mrr@20", "recall@20", "mrr", "coverage")
PER_REQUEST = METRICS[:-1]
_DISCOUNT = 1.0 / np.log2(np.arange(2, 12))


def target_ranks(scores: np.ndarray, targets: list) -> list:
    """0-based rank of each target column in its request's score row (higher is better)."""
    return [(row[None, :] > row[cols][:, None]).sum(axis=1) for row, cols in zip(scores, targets)]


def metrics_of(ranks: list) -> dict:
    """Per-request HR@10/20, NDCG@10, MRR@20, recall@20 and MRR from the targets' ranks
    (requests without targets are left out)."""
    ranks = [r for r in ranks if len(r)]
    out = {name: np.zeros(len(ranks)) for name in PER_REQUEST}
    for n, r in enumerate(ranks):
        best = int(r.min())
        out["hr@10"][n] = best < 10
        out["hr@20"][n] = best < 20
        out["ndcg@10"][n] = _DISCOUNT[r[r < 10]].sum() / _DISCOUNT[: min(len(r), 10)].sum()
        out["recall@20"][n] = (r < 20).mean()
        out["mrr"][n] = 1.0 / (best + 1)
        out["mrr@20"][n] = out["mrr"][n] if best < 20 else 0.0
    return out


def _means(values: dict) -> dict:
    return {name: round(float(v.mean()), 6) if len(v) else 0.0 for name, v in values.items()}


def rank_requests(split: Split, model: Recommender, block_size: int = 256, seed: int = 0):
    """(ranks of every request's targets, each request's top 10 columns) for a fitted model."""
    rng = np.random.default_rng(seed)
    ranks, top = [], []
    for start in range(0, len(split.requests), block_size):
        block = split.requests.iloc[start:start + block_size]
        scores = np.array(model.scores(block), dtype=np.float64)
        finite = np.isfinite(scores)
        scale = max(np.abs(scores[finite]).max(initial=1.0), 1.0)
        scores += rng.random(scores.shape) * 1e-9 * scale  # random tie-breaking
        # The same for every model and tuning try on this split: built once per block.
        allowed = split.memo(("allowed", start, block_size), lambda: split.allowed(block))
        scores[~allowed] = -np.inf
        ranks += target_ranks(scores, split.targets[start:start + block_size])
        k = min(10, scores.shape[1])
        top.append(np.argpartition(-scores, k - 1, axis=1)[:, :k])
    return ranks, (np.concatenate(top) if top else np.empty((0, 10), dtype=int))


def evaluate_models(split: Split, models: list[Recommender], production: str | None = None, block_size: int = 256,
                    seed: int = 0, resamples: int = 1000, progress=None) -> dict:
    """Every model's metrics on the split, and the production model's difference to each other.

    Returns ``{"results": {model: metrics}, "versus": {model: {metric: {"diff", "low", "high"}}},
    "targets": {"all", "repeat", "new"}, "repeat"/"new"/"cold": {"requests", "results"},
    "fit_seconds": {model: s}, "production_fit": what the production model reports of its fit
    (``info_``: e.g. the hybrid's blend weights)}``. ``production`` defaults to the last model; ``versus`` holds
    ``production - model`` with a paired bootstrap interval over requests (``resamples``)."""
    production = production or models[-1].name
    cold = np.isin(split.candidates, split.cold_items)
    views = {"all": lambda cols, rep: np.ones(len(cols), dtype=bool), "repeat": lambda cols, rep: rep,
             "new": lambda cols, rep: ~rep, "cold": lambda cols, rep: cold[cols]}
    per_request: dict = {}
    results: dict = {view: {} for view in views}
    fit_seconds: dict = {}
    production_fit = None
    for model in models:
        started = time.perf_counter()
        model.fit(split)
        fit_seconds[model.name] = round(time.perf_counter() - started, 2)
        if model.name == production:
            production_fit = getattr(model, "info_", None)
        ranks, top = rank_requests(split, model, block_size, seed)
        for view, keep in views.items():
            chosen = [r[keep(cols, rep)] for r, cols, rep in zip(ranks, split.targets, split.repeat)]
            values = metrics_of(chosen)
            results[view][model.name] = _means(values)
            if view == "all":
                per_request[model.name] = values
        shown = np.unique(top)
        results["all"][model.name]["coverage"] = round(len(shown) / max(len(split.candidates), 1), 6)
        if progress:
            progress(f"{model.name}: ndcg@10 {results['all'][model.name]['ndcg@10']:.4f} (fit {fit_seconds[model.name]}s)")
    ours = per_request.get(production)
    versus = {}
    if ours is not None:
        versus = {name: {metric: _rounded(paired_bootstrap(ours[metric], values[metric], resamples, seed))
                         for metric in PER_REQUEST}
                  for name, values in per_request.items() if name != production}
    n_targets = {view: int(sum(int(keep(cols, rep).sum()) for cols, rep in zip(split.targets, split.repeat)))
                 for view, keep in views.items()}
    out = {"production": production, "results": results["all"], "versus": versus, "targets": n_targets["all"],
           "fit_seconds": fit_seconds}
    if production_fit is not None:
        out["production_fit"] = production_fit
    for view in ("repeat", "new", "cold"):
        requests = int(sum(1 for cols, rep in zip(split.targets, split.repeat) if views[view](cols, rep).any()))
        if requests:
            out[view] = {"requests": requests, "targets": n_targets[view], "results": results[view]}
    return out


def _rounded(interval: dict) -> dict:
    return {key: round(value, 6) for key, value in interval.items()}
