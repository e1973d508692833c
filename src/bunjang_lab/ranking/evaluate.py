"""Offline evaluation of rankers: every model through the same full-ranking loop.

Every model ranks *all* candidates of the split (the listings live at test time) for every
evaluated user, minus what the user already bought and their own listings; metrics come
from the rank of each held-out item. Ties are broken at random (seeded), so a constant
model scores like a random one instead of being flattered by the item order.

>>> import numpy as np
>>> m = rank_metrics(np.array([[0.9, 0.1, 0.5, 0.3]]), [np.array([2])])
>>> m["hr@10"], m["mrr"], round(m["ndcg@10"], 4)
(1.0, 0.5, 0.6309)
"""

from __future__ import annotations

import time

import numpy as np

from bunjang_lab.ranking.baselines import Recommender
from bunjang_lab.ranking.split import Split

METRICS = ("hr@10", "ndcg@10", "recall@20", "mrr", "coverage")
_DISCOUNT = 1.0 / np.log2(np.arange(2, 12))


def _ranks(row: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of each target in a score row (higher score = better)."""
    return (row[None, :] > row[targets][:, None]).sum(axis=1)


def rank_metrics(scores: np.ndarray, targets: list, top: list | None = None) -> dict:
    """Mean HR@10, NDCG@10, recall@20 and MRR over users (rows), targets as column indices.
    ``top`` collects each user's top-10 columns (for coverage) when given."""
    sums = dict.fromkeys(METRICS[:-1], 0.0)
    for row, rel in zip(scores, targets):
        ranks = _ranks(row, rel)
        in10 = ranks[ranks < 10]
        ideal = _DISCOUNT[: min(len(rel), 10)].sum()
        sums["hr@10"] += float(len(in10) > 0)
        sums["ndcg@10"] += float(_DISCOUNT[in10].sum() / ideal)
        sums["recall@20"] += float((ranks < 20).sum() / len(rel))
        sums["mrr"] += 1.0 / (int(ranks.min()) + 1)
        if top is not None:
            top.append(np.argpartition(-row, 10)[:10] if len(row) > 10 else np.arange(len(row)))
    n = max(len(targets), 1)
    return {name: value / n for name, value in sums.items()}


def evaluate_models(split: Split, models: list[Recommender], block_size: int = 256, seed: int = 0,
                    progress=None) -> dict:
    """``{model name: metrics}`` on all split users, plus ``"<name>"`` entries under ``cold``
    (targets restricted to cold items) when the split has them: returned as
    ``{"results": ..., "cold": {"users": n, "results": ...}, "fit_seconds": ...}``."""
    col = {item: j for j, item in enumerate(split.candidates)}
    cold = set(split.cold_items)
    targets = split.targets
    users = list(split.users)
    rel = [np.array(sorted(col[i] for i in targets[u])) for u in users]
    cold_rel = [np.array(sorted(col[i] for i in targets[u] if i in cold)) for u in users]
    excluded = [[col[i] for i in split.exclude.get(u, ()) if i in col] for u in users]
    results, cold_results, fit_seconds = {}, {}, {}
    for model in models:
        started = time.perf_counter()
        model.fit(split)
        fit_seconds[model.name] = round(time.perf_counter() - started, 2)
        rng = np.random.default_rng(seed)
        top: list = []
        all_sums, cold_sums, n_cold = [], [], 0
        for start in range(0, len(users), block_size):
            block = users[start:start + block_size]
            scores = np.array(model.scores(block), dtype=np.float64)
            scale = np.abs(scores[np.isfinite(scores)]).max(initial=1.0)
            scores += rng.random(scores.shape) * 1e-9 * max(scale, 1.0)  # random tie-breaking
            for r, cols in enumerate(excluded[start:start + block_size]):
                scores[r, cols] = -np.inf
            part = rank_metrics(scores, rel[start:start + block_size], top)
            all_sums.append({k: v * len(block) for k, v in part.items()})
            has_cold = [i for i, c in enumerate(cold_rel[start:start + block_size]) if len(c)]
            if has_cold:
                part = rank_metrics(scores[has_cold], [cold_rel[start + i] for i in has_cold])
                cold_sums.append({k: v * len(has_cold) for k, v in part.items()})
                n_cold += len(has_cold)
        results[model.name] = _mean(all_sums, len(users))
        shown = np.unique(np.concatenate(top)) if top else np.array([], dtype=int)
        results[model.name]["coverage"] = len(shown) / max(len(split.candidates), 1)
        if n_cold:
            cold_results[model.name] = _mean(cold_sums, n_cold)
            cold_cols = np.array(sorted(col[i] for i in cold))
            cold_results[model.name]["coverage"] = len(np.intersect1d(shown, cold_cols)) / max(len(cold_cols), 1)
        if progress:
            progress(f"{model.name}: ndcg@10 {results[model.name]['ndcg@10']:.4f} (fit {fit_seconds[model.name]}s)")
    out = {"results": results, "fit_seconds": fit_seconds}
    if cold_results:
        out["cold"] = {"users": int(sum(1 for c in cold_rel if len(c))), "items": len(cold), "results": cold_results}
    return out


def _mean(sums: list, n: int) -> dict:
    return {name: round(sum(s[name] for s in sums) / max(n, 1), 6) for name in METRICS[:-1]}
