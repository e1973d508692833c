"""``python -m bunjang_lab train``: fit the FM on the lake and write a self-describing model folder.

``models/<version>/`` holds ``model.xl`` (xlearn binary), ``model.txt`` (text export),
``feature_map.json``, ``meta.json`` (training window, parameters, metrics, timings) and
``xlearn/`` (xlearn's logs and console output; the training files and their ``.bin``
caches are deleted after a successful fit). ``models/latest`` is a symlink replaced
atomically, and only when training succeeded (and, with a gate, when the model is not worse).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bunjang_lab import paths
from bunjang_lab.cli import UserError, parser
from bunjang_lab.ranking import features as F
from bunjang_lab.ranking import realtime
from bunjang_lab.ranking.fm import FMRanker, cpu_seconds
from bunjang_lab.ranking.scoring import FMScorer

DEFAULT_PARAMS = {"k": 32, "lr": 0.05, "reg_lambda": 1e-4, "epochs": 30, "stop_window": 3, "valid_days": 3.0,
                  "impression_negatives": 3.0, "sampled_negatives": 4, "min_count": 2}
GATE_METRIC = "ndcg@10"
GATE_TOLERANCE = 0.02


def fit_scorer(events: pd.DataFrame, ctx: F.Context, until, fields=F.FULL_FIELDS, work_dir=None, seed: int = 0,
               **params) -> tuple[FMScorer, dict]:
    """Train an FM on events before ``until``; the last ``valid_days`` are the validation rows
    for early stopping (the returned model never trained on them). Returns the scorer and
    a dict of figures (rows, timings, validation AUC)."""
    from sklearn.metrics import roc_auc_score

    p = {**DEFAULT_PARAMS, **params}
    until = pd.Timestamp(until)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    rows = F.training_rows(events, ctx, until, p["impression_negatives"], p["sampled_negatives"], seed)
    if rows.empty or rows["label"].nunique() < 2:
        raise UserError(f"not enough interactions before {until.isoformat()} to train (need clicks and negatives)")
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
    scratch = None
    if work_dir is None:  # nobody keeps the files: train in a scratch folder under the home, removed after
        (paths.home() / "xlearn").mkdir(parents=True, exist_ok=True)
        work_dir = scratch = tempfile.mkdtemp(prefix="fit-", dir=paths.home() / "xlearn")
    estimator = FMRanker(k=p["k"], lr=p["lr"], reg_lambda=p["reg_lambda"], epochs=p["epochs"], stop_window=p["stop_window"],
                         work_dir=work_dir)
    try:
        if is_valid.any():
            estimator.fit(X[~is_valid], y[~is_valid], X[is_valid], y[is_valid])
        else:
            estimator.fit(X, y)
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    scorer = FMScorer(estimator.bias_, estimator.w_, estimator.V_, fmap)
    info = {
        "rows": int((~is_valid).sum()), "valid_rows": int(is_valid.sum()), "positives": int(y[~is_valid].sum()),
        "n_features": fmap.n_features, "fields": list(fields), "valid_start": valid_start.isoformat() if is_valid.any() else None,
        "valid_auc": float(roc_auc_score(y[is_valid], scorer.score_rows(X[is_valid]))) if is_valid.any() else None,
        "best_epoch": estimator.best_epoch_,
        "timings": {"features_s": round(features_s, 3), "write_s": round(estimator.write_seconds_, 3),
                    "xlearn_s": round(estimator.xlearn_seconds_, 3), "features_cpu_s": round(features_cpu_s, 3),
                    "write_cpu_s": round(estimator.write_cpu_seconds_, 3), "xlearn_cpu_s": round(estimator.xlearn_cpu_seconds_, 3)},
        "work_dir": None if scratch else str(estimator.work_dir_),
    }
    return scorer, info


def utc(ts) -> pd.Timestamp:
    """A timestamp in UTC (naive means UTC)."""
    ts = pd.Timestamp(ts)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _replace_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` atomically (a reader sees the old or the new model)."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)


def read_lake(lake, until=None) -> pd.DataFrame:
    from bunjang_lab.lake import read_events

    if not Path(str(lake)).exists() and "://" not in str(lake):
        raise UserError(f"lake not found: {lake} (run `python -m bunjang_lab ingest` first)")
    events = read_events(lake, end=until)
    if events.empty:
        raise UserError(f"no events in {lake}" + (f" before {until}" if until else ""))
    return events


def train_model(lake, until=None, out=None, promote: bool = True, seed: int = 0, **params) -> Path:
    """Train on the lake's events before ``until`` (default: all) and write ``out/<version>/``.

    Moves ``out/latest`` to the new folder when ``promote`` (the DAG promotes through
    :func:`promote_if_not_worse` instead). Returns the model folder."""
    started, cpu_started = time.perf_counter(), cpu_seconds()
    out = Path(out or paths.models_dir())
    events = read_lake(lake, until)
    read_s, read_cpu_s = time.perf_counter() - started, cpu_seconds() - cpu_started
    until = utc(until) if until is not None else events["ts"].max() + pd.Timedelta(milliseconds=1)
    ctx_started, ctx_cpu_started = time.perf_counter(), cpu_seconds()
    ctx = F.Context.from_events(events)  # catalog and user profiles: part of feature building
    context_s, context_cpu_s = time.perf_counter() - ctx_started, cpu_seconds() - ctx_cpu_started
    version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    staging = out / f".{version}.tmp"
    staging.mkdir(parents=True)
    try:
        scorer, info = fit_scorer(events, ctx, until, work_dir=staging / "xlearn", seed=seed, **params)
        work = Path(info.pop("work_dir"))
        for name in ("model.xl", "model.txt"):
            os.replace(work / name, staging / name)
        for leftover in work.glob("*.txt*"):
            leftover.unlink()
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
        (staging / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        final = out / version
        os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if promote:
        _replace_symlink(out / "latest", version)
    return final


def gate_baselines(seed: int = 0) -> list:
    """The baselines the gate ranks beside the candidate: every model of the offline
    comparison that needs no FM training (the ID-only FM would double the gate's cost)."""
    from bunjang_lab.ranking import baselines as B

    return [B.RandomModel(seed), B.Popularity(), B.SegmentPopularity(), B.FreshPreferred(seed=seed), B.ItemKNN(),
            B.ImplicitModel("als", seed=seed), B.ImplicitModel("bpr", seed=seed)]


def promote_if_not_worse(candidate_dir, models_dir, lake, tolerance: float = GATE_TOLERANCE) -> dict:
    """Evaluate the candidate against the baselines and ``models_dir/latest`` on the candidate's
    validation window (events it never trained on), and move ``latest`` only if its NDCG@10 is
    at least ``(1 - tolerance)`` × the current model's. Returns the decision, both figures and
    the whole evaluation (models, cold items, products) under ``"evaluation"``."""
    from bunjang_lab.products.evaluation import evaluate_products
    from bunjang_lab.ranking.baselines import PretrainedFM
    from bunjang_lab.ranking.evaluate import evaluate_models
    from bunjang_lab.ranking.split import time_split

    candidate_dir, models_dir = Path(candidate_dir), Path(models_dir)
    meta = json.loads((candidate_dir / "meta.json").read_text(encoding="utf-8"))
    current = models_dir / "latest"
    has_current = current.exists()
    decision = {"candidate": meta["version"], "current": current.resolve().name if has_current else None,
                "metric": GATE_METRIC, "tolerance": tolerance}
    valid_start = meta["metrics"].get("valid_start")
    split = None
    if valid_start is not None:
        until = pd.Timestamp(meta["window"]["until"])
        days = (until - pd.Timestamp(valid_start)) / pd.Timedelta(days=1)
        split = time_split(read_lake(lake, until), test_days=days, cutoff=valid_start)
    if split is not None and len(split.users):
        models = [PretrainedFM(candidate_dir, name="candidate")] + ([PretrainedFM(current, name="current")] if has_current else [])
        evaluation = evaluate_models(split, models + gate_baselines())
        evaluation.update(protocol="time-split (candidate's validation window)", users=int(len(split.users)),
                          items=int(len(split.candidates)), cutoff=split.cutoff.isoformat(),
                          products=evaluate_products(split, fm=FMScorer.load(candidate_dir)))
        decision["evaluation"] = evaluation
    if not has_current:
        _replace_symlink(current, candidate_dir.name)
        return {**decision, "promoted": True, "reason": "no current model"}
    if "evaluation" not in decision:
        reason = "candidate has no validation window to compare on" if split is None else "no held-out interactions in the validation window"
        return {**decision, "promoted": False, "reason": reason}
    results = decision["evaluation"]["results"]
    cand, curr = results["candidate"][GATE_METRIC], results["current"][GATE_METRIC]
    promoted = cand >= curr * (1 - tolerance)
    if promoted:
        _replace_symlink(current, candidate_dir.name)
    return {**decision, "promoted": bool(promoted), "candidate_score": cand, "current_score": curr,
            "users": int(len(split.users)), "reason": "not worse" if promoted else "worse than the current model"}


def run(argv: list[str]) -> int:
    ap = parser("python -m bunjang_lab train", "Train the factorization-machine ranker on the lake.")
    ap.add_argument("--lake", default=str(paths.lake_dir()), help="event lake (default: %(default)s)")
    ap.add_argument("--until", help="train on events before this date/time (UTC; default: all)")
    ap.add_argument("--out", default=str(paths.models_dir()), help="models folder (default: %(default)s)")
    ap.add_argument("--k", type=int, default=DEFAULT_PARAMS["k"], help="latent factors (default: %(default)s)")
    ap.add_argument("--epochs", type=int, default=DEFAULT_PARAMS["epochs"], help="maximum epochs (default: %(default)s)")
    ap.add_argument("--lr", type=float, default=DEFAULT_PARAMS["lr"], help="learning rate (default: %(default)s)")
    ap.add_argument("--gate", action="store_true", help="move latest only if not worse than the current model")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    until = None
    if args.until:
        try:
            until = pd.Timestamp(args.until)
        except ValueError:
            raise UserError(f"--until: not a date: {args.until!r}") from None
    folder = train_model(args.lake, until, args.out, promote=not args.gate, seed=args.seed, k=args.k, epochs=args.epochs, lr=args.lr)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    t = meta["timings"]
    print(f"model {folder}")
    print(f"rows {meta['metrics']['rows']} (+{meta['metrics']['valid_rows']} validation), features {meta['metrics']['n_features']}, "
          f"validation AUC {meta['metrics']['valid_auc']}")
    for clock, suffix in (("wall", "_s"), ("cpu", "_cpu_s")):
        total, pipeline = t["total" + suffix], t["pipeline" + suffix]
        print(f"{clock} time {total:.1f}s: xlearn {t['xlearn' + suffix]:.1f}s; pipeline around it {pipeline:.1f}s "
              f"({pipeline / total:.0%}: features {t['features' + suffix]:.1f}s, file writing {t['write' + suffix]:.1f}s); "
              f"reading the lake and saving the model {t['other' + suffix]:.1f}s (lake {t['read' + suffix]:.1f}s)")
    if args.gate:
        print(json.dumps(promote_if_not_worse(folder, args.out, args.lake)))
    return 0
