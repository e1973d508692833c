"""``python -m bunjang_lab evaluate``: offline evaluation of the ranker against baselines.

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

import json
import shutil
import time
from pathlib import Path

import numpy as np

from bunjang_lab import paths
from bunjang_lab.cli import UserError, parser
from bunjang_lab.ranking.baselines import Recommender, default_models
from bunjang_lab.ranking.split import PROTOCOLS, Split, make_split

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


def evaluate(lake, protocol: str = "time-split", models: list[Recommender] | None = None, test_days: float = 3.0,
             seed: int = 0, progress=None, **fm_params) -> dict:
    """Evaluate ``models`` (default: every baseline and both FMs) on the lake.

    Returns ``{"protocol", "users", "items", "cutoff", "results": {model: metrics}, "cold": ...,
    "products": ... (time split, when the products module is present), "fit_seconds": ...}``."""
    from bunjang_lab.ranking.train import read_lake

    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    events = read_lake(lake)
    split = make_split(events, protocol, **({"test_days": test_days} if protocol == "time-split" else {}))
    if not len(split.users):
        raise UserError(f"no user has a held-out interaction among the candidates ({protocol}); is the lake too small?")
    work = paths.home() / "xlearn" / f"evaluate-{time.strftime('%Y%m%dT%H%M%S')}-{np.random.default_rng().integers(1 << 30)}"
    try:
        models = models if models is not None else default_models(seed=seed, work_dir=str(work), **fm_params)
        out = {"protocol": protocol, "users": int(len(split.users)), "items": int(len(split.candidates)),
               "cutoff": split.cutoff.isoformat()}
        out.update(evaluate_models(split, models, seed=seed, progress=progress))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if protocol == "time-split":
        from bunjang_lab.products.evaluation import evaluate_products

        out["products"] = evaluate_products(split)
    return out


def format_table(result: dict) -> str:
    """The results as aligned text tables (all targets, then cold items)."""
    lines = [f"protocol {result['protocol']}: {result['users']} users, {result['items']} candidate items, cutoff {result['cutoff']}"]
    sections = [("all targets", result["results"])]
    if "cold" in result:
        sections.append((f"cold items ({result['cold']['users']} users, {result['cold']['items']} items)", result["cold"]["results"]))
    for title, table in sections:
        width = max(len(name) for name in table)
        lines += ["", title, f"{'model':<{width}}  " + "  ".join(f"{m:>9}" for m in METRICS)]
        for name, metrics in table.items():
            lines.append(f"{name:<{width}}  " + "  ".join(f"{metrics[m]:>9.4f}" for m in METRICS))
    if "products" in result:
        lines += ["", "products", json.dumps(result["products"], ensure_ascii=False, indent=1)]
    return "\n".join(lines)


def run(argv: list[str]) -> int:
    ap = parser("python -m bunjang_lab evaluate", "Offline evaluation of the FM ranker against baselines (full ranking).")
    ap.add_argument("--lake", default=str(paths.lake_dir()), help="event lake (default: %(default)s)")
    ap.add_argument("--protocol", choices=PROTOCOLS, default="time-split", help="evaluation protocol (default: %(default)s)")
    ap.add_argument("--test-days", type=float, default=3.0, help="time split: days after the cutoff that are held out (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    ap.add_argument("--epochs", type=int, help="FM: maximum epochs")
    ap.add_argument("--k", type=int, help="FM: latent factors")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if not Path(args.lake).exists() and "://" not in args.lake:
        raise UserError(f"lake not found: {args.lake}")
    fm_params = {name: value for name, value in (("epochs", args.epochs), ("k", args.k)) if value is not None}
    result = evaluate(args.lake, args.protocol, test_days=args.test_days, seed=args.seed, **fm_params)
    print(json.dumps(result, ensure_ascii=False) if args.json else format_table(result))
    return 0
