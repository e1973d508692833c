"""Fit the FM on the lake's events and write a self-describing model folder.

``models/<version>/`` holds ``model.xl`` (xlearn binary), ``model.txt`` (text export),
``feature_map.json``, ``meta.json`` (training window, parameters, metrics, timings) and
``xlearn/`` (xlearn's logs and console output; the training files and their ``.bin``
caches are deleted after a successful fit). ``models/latest`` is a symlink replaced
atomically, and only when training succeeded (and, with a gate, when the model is not worse:
:mod:`bunjang_lab.evaluation.gate`). The ``train`` command is :mod:`bunjang_lab.evaluation.cli`.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from bunjang_lab import files, paths
from bunjang_lab.errors import NotEnoughData
from bunjang_lab.lake import require_events
from bunjang_lab.marketplace.state import to_utc
from bunjang_lab.progress import Steps
from bunjang_lab.ranking import features as F
from bunjang_lab.ranking import realtime
from bunjang_lab.ranking.fm import FMRanker, cpu_seconds
from bunjang_lab.ranking.factors import FMFactors

DEFAULT_PARAMS = {"k": 32, "lr": 0.05, "reg_lambda": 1e-4, "epochs": 30, "stop_window": 3, "valid_days": 3.0,
                  "impression_negatives": 3.0, "sampled_negatives": 4, "min_count": 2}


def fit_factors(events: pd.DataFrame, ctx: F.Context, until, fields=F.FULL_FIELDS, work_dir=None, seed: int = 0,
                progress: Callable[[str], None] | None = None, **params) -> tuple[FMFactors, dict]:
    """Train an FM on events before ``until``; the last ``valid_days`` are the validation rows
    for early stopping (the returned model never trained on them). Returns the factors and
    a dict of figures (rows, timings, validation AUC). ``progress`` is told when the features
    are built and when the FM is fitted."""
    from sklearn.metrics import roc_auc_score

    p = {**DEFAULT_PARAMS, **params}
    until = pd.Timestamp(until)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    rows = F.training_rows(events, ctx, until, p["impression_negatives"], p["sampled_negatives"], seed)
    if rows.empty or rows["label"].nunique() < 2:
        raise NotEnoughData(f"not enough interactions before {until.isoformat()} to train (need clicks and negatives)")
    valid_start = until - pd.Timedelta(days=p["valid_days"])
    is_valid = (rows["ts"] >= valid_start).to_numpy()
    if is_valid.all() or not is_valid.any() or rows["label"][is_valid].nunique() < 2:
        is_valid = np.zeros(len(rows), dtype=bool)  # too little data for a time-based validation
    with_recent = bool({"recent_category", "recent_item"} & set(fields))
    user_side = F.user_frame(rows, ctx, realtime.DEFAULT_PARAMS, with_recent=with_recent)
    price_edges = F.fit_price_edges(ctx.items[ctx.items["listed_at"] < until])
    item_side = F.item_frame(rows["item_id"], rows["ts"], ctx, price_edges)
    fmap, X = F.FeatureMap.fit_encode([user_side, item_side], fields, price_edges, realtime.DEFAULT_PARAMS,
                                      p["min_count"], counted=~is_valid)
    y = rows["label"].to_numpy()
    features_s, features_cpu_s = time.perf_counter() - started, cpu_seconds() - cpu_started
    if progress:
        progress(f"{len(rows):,} rows, {fmap.n_features:,} features built; fitting the FM")
    estimator = FMRanker(k=p["k"], lr=p["lr"], reg_lambda=p["reg_lambda"], epochs=p["epochs"], stop_window=p["stop_window"],
                         work_dir=work_dir)
    if is_valid.any():
        estimator.fit(X[~is_valid], y[~is_valid], X[is_valid], y[is_valid])
    else:
        estimator.fit(X, y)
    scorer = FMFactors(estimator.bias_, estimator.w_, estimator.V_, fmap)
    if progress:
        progress(f"FM fitted (best epoch {estimator.best_epoch_})")
    info = {
        "rows": int((~is_valid).sum()), "valid_rows": int(is_valid.sum()), "positives": int(y[~is_valid].sum()),
        "n_features": fmap.n_features, "fields": list(fields), "valid_start": valid_start.isoformat() if is_valid.any() else None,
        "valid_auc": float(roc_auc_score(y[is_valid], scorer.score_rows(X[is_valid]))) if is_valid.any() else None,
        "best_epoch": estimator.best_epoch_,
        "timings": {"features_s": round(features_s, 3), "write_s": round(estimator.write_seconds_, 3),
                    "xlearn_s": round(estimator.xlearn_seconds_, 3), "features_cpu_s": round(features_cpu_s, 3),
                    "write_cpu_s": round(estimator.write_cpu_seconds_, 3), "xlearn_cpu_s": round(estimator.xlearn_cpu_seconds_, 3)},
        "work_dir": None if work_dir is None else str(estimator.work_dir_),
    }
    return scorer, info


def train_model(lake, until=None, out=None, promote: bool = True, seed: int = 0, version: str | None = None,
                **params) -> Path:
    """Train on the lake's events before ``until`` (default: all) and write ``out/<version>/``.

    ``version`` names the folder (default: the UTC time of training); an existing folder of
    that name is replaced whole once the new model is complete. Moves ``out/latest`` to the
    new folder when ``promote`` (the DAG promotes through the gate,
    :mod:`bunjang_lab.evaluation.gate`, instead). Returns the model folder. At a terminal a
    bar shows its five steps (:class:`bunjang_lab.progress.Steps`)."""
    with Steps("train", total=5) as done:
        started, cpu_started = time.perf_counter(), cpu_seconds()
        out = Path(out or paths.models_dir())
        events = require_events(lake, end=until)
        read_s, read_cpu_s = time.perf_counter() - started, cpu_seconds() - cpu_started
        done(f"{len(events):,} events read")
        until = to_utc(until) if until is not None else events["ts"].max() + pd.Timedelta(milliseconds=1)
        ctx_started, ctx_cpu_started = time.perf_counter(), cpu_seconds()
        ctx = F.Context.from_events(events)  # catalog and user profiles: part of feature building
        context_s, context_cpu_s = time.perf_counter() - ctx_started, cpu_seconds() - ctx_cpu_started
        done("catalog and user profiles built")
        version = version or dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")

        def build(staging: Path) -> None:
            scorer, info = fit_factors(events, ctx, until, work_dir=staging / "xlearn", seed=seed, progress=done, **params)
            work = Path(info.pop("work_dir"))
            for name in ("model.xl", "model.txt"):
                os.replace(work / name, staging / name)
            scorer.feature_map.save(staging / "feature_map.json")
            total, total_cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
            timings = info.pop("timings")
            # The pipeline around xlearn is feature building plus file writing (issue 4's
            # definition); reading the lake and saving the model folder are reported apart.
            for clock, spent, read, context in (("_s", total, read_s, context_s), ("_cpu_s", total_cpu, read_cpu_s, context_cpu_s)):
                timings["features" + clock] = round(timings["features" + clock] + context, 3)
                pipeline = timings["features" + clock] + timings["write" + clock]
                timings.update({"total" + clock: round(spent, 3), "pipeline" + clock: round(pipeline, 3),
                                "read" + clock: round(read, 3),
                                "other" + clock: round(spent - pipeline - timings["xlearn" + clock], 3)})
            meta = {"version": version, "window": {"start": events["ts"].min().isoformat(), "until": until.isoformat()},
                    "params": {**DEFAULT_PARAMS, **params, "seed": seed}, "metrics": info, "timings": timings,
                    "lake": str(lake)}
            files.write_json(staging / "meta.json", meta)

        files.replace_folder(out / version, build)
        if promote:
            files.replace_symlink(out / "latest", version)
        done("model saved")
        return out / version
