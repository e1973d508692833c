"""Offline evaluation on the lake: every ranker against the baselines, then the products.

The protocols are :mod:`bunjang_lab.ranking.split`'s; hyperparameters are chosen before
the cutoff (:mod:`bunjang_lab.ranking.tuning`); the models are compared through the one
loop of :func:`bunjang_lab.ranking.evaluate.evaluate_models`, the production model against
every baseline with a paired bootstrap interval.
"""

from __future__ import annotations

from bunjang_lab.errors import NotEnoughData
from bunjang_lab.intervals import RESAMPLES, is_win
from bunjang_lab.lake import require_events
from bunjang_lab.products.evaluation import evaluate_products
from bunjang_lab.ranking.baselines import Recommender
from bunjang_lab.ranking.models import default_models
from bunjang_lab.ranking.evaluate import METRICS, evaluate_models
from bunjang_lab.ranking.split import make_split
from bunjang_lab.ranking.tuning import BUDGET, WINDOWS, settings_tried, tune, validation_windows

HEADLINE = "ndcg@10"


def evaluate(lake, protocol: str = "time-split", models: list[Recommender] | None = None, test_days: float = 3.0,
             cutoff=None, candidates: str = "live", exclude_seen: bool = False, budget: int = BUDGET,
             windows: int = WINDOWS, resamples: int = RESAMPLES, seed: int = 0, progress=None, **fm_params) -> dict:
    """Evaluate ``models`` (default: every baseline, the production FM last) on the lake.

    Returns ``{"protocol", "users", "requests", "targets", "items", "cutoff", "production",
    "results": {model: metrics}, "versus": {baseline: {metric: {"diff", "low", "high"}}},
    "repeat"/"new"/"cold": ..., "validation": [{"cutoff", "requests"}] (the tuning's windows),
    "tuning": {model: {"tried", "chosen"}}, "production_fit": the production model's setting as
    chosen and what it learned, "products": ... (time split on marketplace data), "fit_seconds"}``."""
    events = require_events(lake)
    split = make_split(events, protocol, test_days=test_days, cutoff=cutoff, candidates=candidates,
                       exclude_seen=exclude_seen)
    if not len(split.requests):
        raise NotEnoughData(f"no held-out interaction among the candidates ({protocol}); is the lake too small?")
    progress = progress or (lambda line: None)
    progress(f"lake read: {len(split.requests):,} requests after the cutoff")
    models = models if models is not None else default_models(seed=seed, **fm_params)
    models, tuning = tune(models, split, budget, seed, progress, windows)
    out = {"protocol": protocol, "users": int(len(split.users)), "requests": int(len(split.requests)),
           "items": int(len(split.candidates)), "cutoff": split.cutoff.isoformat(),
           "candidates": candidates, "exclude_seen": exclude_seen}
    out.update(evaluate_models(split, models, seed=seed, resamples=resamples, progress=progress))
    out["validation"] = [{"cutoff": w.cutoff.isoformat(), "requests": int(len(w.requests))}
                         for w in validation_windows(split, windows)]  # built by the tuning: no new work
    out["tuning"] = tuning
    if out["production"] in tuning:
        out["production_fit"] = {"chosen": tuning[out["production"]]["chosen"], **out.get("production_fit", {})}
    if _with_products(protocol, candidates):
        progress("models compared; evaluating the products")
        out["products"] = evaluate_products(split)
        progress("products evaluated")
    return out


def _with_products(protocol: str, candidates: str) -> bool:
    """The products are evaluated on marketplace data's time split only."""
    return protocol == "time-split" and candidates == "live"


def planned_steps(models: list[Recommender], protocol: str = "time-split", candidates: str = "live",
                  budget: int = BUDGET, seed: int = 0) -> int:
    """How many progress lines :func:`evaluate` reports for ``models`` (a bar's total): the lake
    read, each setting tuned, each model ranked, and the two of the products."""
    return 1 + settings_tried(models, budget, seed) + len(models) + (2 if _with_products(protocol, candidates) else 0)


def format_table(result: dict) -> str:
    """The evaluation as aligned text tables: metrics, the production model's differences
    with their intervals, the repeat/new/cold views, what tuning chose, the products."""
    lines = [f"protocol {result['protocol']}: {result['users']} users, {result.get('requests', result['users'])} requests, "
             f"{result['targets']} targets, {result['items']} candidate items, cutoff {result['cutoff']}"]
    lines += _metrics_table("all targets", result["results"])
    production = result.get("production")
    if result.get("versus"):
        lines += ["", f"{production} against each model: difference and paired bootstrap 95% interval"]
        width = max(len(name) for name in result["versus"])
        lines.append(f"{'model':<{width}}  " + "  ".join(f"{m:>28}" for m in METRICS[:3]) + "  verdict")
        for name, diffs in result["versus"].items():
            cells = [f"{d['diff']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]" for d in (diffs[m] for m in METRICS[:3])]
            verdict = "win" if is_win(diffs[HEADLINE]) else ("loss" if diffs[HEADLINE]["high"] < 0 else "no evidence")
            lines.append(f"{name:<{width}}  " + "  ".join(f"{c:>28}" for c in cells) + f"  {verdict} on {HEADLINE}")
    for view, title in (("repeat", "repeat targets (interacted with before)"), ("new", "new targets"),
                        ("cold", "cold items (listed after the cutoff)")):
        if view in result:
            lines += _metrics_table(f"{title}: {result[view]['requests']} requests, {result[view]['targets']} targets",
                                    result[view]["results"])
    windows = result.get("validation", [])
    if windows:
        lines += ["", f"tuning: NDCG@10 averaged over {len(windows)} validation windows before the cutoff ("
                  + ", ".join(f"from {w['cutoff']}: {w['requests']} requests" for w in windows) + ")"]
    for name, record in result.get("tuning", {}).items():
        lines.append(f"tuned {name}: chose {record['chosen']} of {len(record['tried'])} settings tried")
        if name == production:
            lines += [f"  {t['params']}: {t[HEADLINE]:.4f} (" + ", ".join("-" if v is None else f"{v:.4f}" for v in t["windows"]) + ")"
                      for t in record["tried"]]
    if result.get("production_fit"):
        lines.append(f"{production} fitted: {result['production_fit']}")
    products = result.get("products")
    if products:
        for product in ("home", "related"):
            lines += _metrics_table(f"products: {product}", products[product]["results"])
        suggest = products["suggest"]["results"]
        lines += _metrics_table(f"products: suggest ({products['suggest']['protocol']})", suggest)
    return "\n".join(lines)


def _metrics_table(title: str, table: dict) -> list[str]:
    columns = [m for m in METRICS if any(m in row for row in table.values())] or \
              sorted({m for row in table.values() for m in row})
    width = max([len(name) for name in table] + [5])
    lines = ["", title, f"{'model':<{width}}  " + "  ".join(f"{m:>9}" for m in columns)]
    for name, metrics in table.items():
        lines.append(f"{name:<{width}}  " + "  ".join(_cell(metrics.get(m)) for m in columns))
    return lines


def _cell(value) -> str:
    return f"{value:>9.4f}" if isinstance(value, (int, float)) else f"{'-':>9}"
