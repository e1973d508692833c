"""The promotion gate: a freshly trained model replaces ``models/latest`` only if it is not
worse than the current one on events neither of them trained on.

"Not worse" is judged like every figure of the offline evaluation: the paired bootstrap
interval of the candidate's NDCG@10 minus the current model's, over the same requests. The
candidate is refused only when the whole interval lies below ``-tolerance`` × the current
model's NDCG@10, i.e. when it is worse by more than the tolerance beyond the noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bunjang_lab import files
from bunjang_lab.intervals import NOT_WORSE_TOLERANCE, not_worse
from bunjang_lab.lake import require_events
from bunjang_lab.progress import Steps
from bunjang_lab.products.evaluation import evaluate_products
from bunjang_lab.ranking import baselines as B
from bunjang_lab.ranking import neighbours as N
from bunjang_lab.ranking.evaluate import evaluate_models
from bunjang_lab.ranking.factors import FMFactors
from bunjang_lab.ranking.split import time_split

GATE_METRIC = "ndcg@10"
GATE_TOLERANCE = NOT_WORSE_TOLERANCE


def gate_baselines(seed: int = 0) -> list:
    """The baselines the gate ranks beside the candidate: every model of the offline
    comparison that needs no FM training (the ID-only FM would double the gate's cost)."""
    return [B.RandomModel(seed), B.Popularity(), B.SegmentPopularity(), B.RecentlyViewed(), B.FreshPreferred(seed=seed), B.ItemKNN(),
            B.ImplicitModel("als", seed=seed), B.ImplicitModel("bpr", seed=seed),
            N.SessionKNN(), N.VSKNN(), N.SequentialRules(), N.EASE(), N.RP3beta()]


def promote_if_not_worse(candidate_dir, models_dir, lake, tolerance: float = GATE_TOLERANCE) -> dict:
    """Evaluate the candidate against the baselines and ``models_dir/latest`` on the candidate's
    validation window (events it never trained on), and move ``latest`` only if its NDCG@10 is
    at least ``(1 - tolerance)`` × the current model's. Returns the decision, both figures and
    the whole evaluation (models, cold items, products) under ``"evaluation"``. At a terminal
    a bar counts its steps: the window read, each model ranked, the products evaluated."""
    candidate_dir, models_dir = Path(candidate_dir), Path(models_dir)
    meta = json.loads((candidate_dir / "meta.json").read_text(encoding="utf-8"))
    current = models_dir / "latest"
    has_current = current.exists()
    decision = {"candidate": meta["version"], "current": current.resolve().name if has_current else None,
                "metric": GATE_METRIC, "tolerance": tolerance}
    models = [B.PretrainedFM(candidate_dir, name="candidate")]
    if has_current:
        models.append(B.PretrainedFM(current, name="current"))
    models += gate_baselines()
    valid_start = meta["metrics"].get("valid_start")
    split = None
    with Steps("gate", total=len(models) + 2 if valid_start is not None else None) as done:
        if valid_start is not None:
            until = pd.Timestamp(meta["window"]["until"])
            days = (until - pd.Timestamp(valid_start)) / pd.Timedelta(days=1)
            split = time_split(require_events(lake, end=until), test_days=days, cutoff=valid_start)
            done(f"validation window read: {len(split.requests):,} requests")
        if split is not None and len(split.requests):
            evaluation = evaluate_models(split, models, production="candidate", progress=done)
            evaluation.update(protocol="time-split (candidate's validation window)", users=int(len(split.users)),
                              items=int(len(split.candidates)), cutoff=split.cutoff.isoformat(),
                              products=evaluate_products(split, fm=FMFactors.load(candidate_dir)))
            done("products evaluated")
            decision["evaluation"] = evaluation
    if not has_current:
        files.replace_symlink(current, candidate_dir.name)
        return {**decision, "promoted": True, "reason": "no current model"}
    if "evaluation" not in decision:
        reason = "candidate has no validation window to compare on" if split is None else "no held-out interactions in the validation window"
        return {**decision, "promoted": False, "reason": reason}
    results = decision["evaluation"]["results"]
    cand, curr = results["candidate"][GATE_METRIC], results["current"][GATE_METRIC]
    interval = decision["evaluation"]["versus"]["current"][GATE_METRIC]
    promoted = not_worse(interval, curr, tolerance)
    if promoted:
        files.replace_symlink(current, candidate_dir.name)
    return {**decision, "promoted": bool(promoted), "candidate_score": cand, "current_score": curr,
            "difference": interval, "users": int(len(split.users)),
            "reason": "not worse beyond the noise" if promoted else "worse than the current model beyond the noise"}
