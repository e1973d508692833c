"""Offline evaluation on the lake: every ranker against the baselines, then the products.

The protocols are :mod:`bunjang_lab.ranking.split`'s; the models are compared through the
one loop of :func:`bunjang_lab.ranking.evaluate.evaluate_models`.
"""

from __future__ import annotations

import json

from bunjang_lab.errors import InvalidInput, NotEnoughData
from bunjang_lab.lake import require_events
from bunjang_lab.products.evaluation import evaluate_products
from bunjang_lab.ranking.baselines import Recommender, default_models
from bunjang_lab.ranking.evaluate import METRICS, evaluate_models
from bunjang_lab.ranking.split import PROTOCOLS, make_split


def evaluate(lake, protocol: str = "time-split", models: list[Recommender] | None = None, test_days: float = 3.0,
             seed: int = 0, progress=None, **fm_params) -> dict:
    """Evaluate ``models`` (default: every baseline and both FMs) on the lake.

    Returns ``{"protocol", "users", "items", "cutoff", "results": {model: metrics}, "cold": ...,
    "products": ... (time split only), "fit_seconds": ...}``."""
    if protocol not in PROTOCOLS:
        raise InvalidInput(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    events = require_events(lake)
    split = make_split(events, protocol, **({"test_days": test_days} if protocol == "time-split" else {}))
    if not len(split.users):
        raise NotEnoughData(f"no user has a held-out interaction among the candidates ({protocol}); is the lake too small?")
    models = models if models is not None else default_models(seed=seed, **fm_params)
    out = {"protocol": protocol, "users": int(len(split.users)), "items": int(len(split.candidates)),
           "cutoff": split.cutoff.isoformat()}
    out.update(evaluate_models(split, models, seed=seed, progress=progress))
    if protocol == "time-split":
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
