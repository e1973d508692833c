"""The ranker on a real click log: YooChoose-100k (RecSys Challenge 2015), through the real CLI.

The data is read from ``../shared/datasets/yoochoose_100k/`` (session-rec's preparation;
never copied into the project) and converted to events in our contract:

* each session -> a user ``s<SessionId>`` (the log has no users, genders or ages);
* each item -> a ``listing`` by the shop one hour before its first click, in one category
  ``all`` at price 0 (the log has neither);
* each click -> a ``click``.

Then ``python -m bunjang_lab ingest`` and ``python -m bunjang_lab evaluate --protocol
next-item --candidates catalogue --cutoff <first test click> --json`` run as subprocesses:
models fit on the training days, and every later click of a test session is predicted
from the session's clicks before it, among every item clicked in training (the session-rec
protocol). The tables are printed, then the evaluate JSON object as the last line.

``--peers`` also scores the production model and our V-SKNN on the 99 test sessions for
which session-rec's own recommendations are shipped (HR@20 / MRR@20 on every next click
whose item occurs in training), beside those peers' figures.

    .venv/bin/python benchmarks/yoochoose.py [--budget 4] [--windows 2] [--peers] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "yoochoose_100k"
TRAIN, TEST = "yoochoose-clicks-100k_train_full.txt", "yoochoose-clicks-100k_test.txt"
PEERS = ("vsknn", "ar", "sr", "gru4rec")


def read_clicks() -> tuple[pd.DataFrame, pd.DataFrame]:
    train, test = (pd.read_csv(DATA / name, sep="\t", dtype={"SessionId": str, "ItemId": str}) for name in (TRAIN, TEST))
    return train, test


def to_events(clicks: pd.DataFrame, out: Path) -> int:
    """Write the clicks (train and test together) as JSON Lines events; returns how many."""
    ms = (clicks["Time"] * 1000).round().astype("int64")
    first = ms.groupby(clicks["ItemId"]).min()
    with open(out, "w", encoding="utf-8") as handle:
        for item, at in first.items():
            handle.write(json.dumps({"event_id": f"l{item}", "type": "listing", "ts": int(at) - 3_600_000,
                                     "user_id": "shop", "item_id": item, "title": f"item {item}", "price": 0,
                                     "category": "all"}) + "\n")
        for n, (session, item, at) in enumerate(zip(clicks["SessionId"], clicks["ItemId"], ms)):
            handle.write(json.dumps({"event_id": f"c{n}", "type": "click", "ts": int(at), "user_id": f"s{session}",
                                     "item_id": item, "surface": "search"}) + "\n")
    return len(first) + len(clicks)


def _children_cpu() -> float:
    """CPU seconds (user + system) of the finished subprocesses, theirs included: the machine is
    shared, so wall time alone says little."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "USER": os.environ.get("USER") or "bench"}
    result = subprocess.run([sys.executable, "-m", "bunjang_lab", *args], capture_output=True, text=True, env=env)
    if result.returncode:
        sys.exit(f"{' '.join(args[:1])} failed: {result.stderr.strip()[-2000:]}")
    return result


def peer_figures(test: pd.DataFrame, train_items: set) -> dict:
    """HR@20 / MRR@20 of session-rec's shipped recommendations on the next clicks of the 99 sessions."""
    clicks = test.sort_values(["SessionId", "Time"], kind="stable").groupby("SessionId")["ItemId"].apply(list)
    out = {}
    for peer in PEERS:
        recs = pd.read_csv(DATA / f"recoms_rsc15_100k_{peer}.csv", sep=";", dtype={"SessionId": str, "Recommendations": str})
        hits, rr, n = 0, 0.0, 0
        for session, position, items in zip(recs["SessionId"], recs["Position"], recs["Recommendations"]):
            session_clicks = clicks.get(session, [])
            if position + 1 >= len(session_clicks) or session_clicks[position + 1] not in train_items:
                continue
            ranked = str(items).split(",")[:20]
            target = session_clicks[position + 1]
            n += 1
            if target in ranked:
                hits += 1
                rr += 1.0 / (ranked.index(target) + 1)
        out[peer] = {"hr@20": round(hits / max(n, 1), 4), "mrr@20": round(rr / max(n, 1), 4), "predictions": n}
    return out


def ours_on_peer_sessions(lake: Path, cutoff: pd.Timestamp, test_days: float, sessions: set, tuning: dict) -> dict:
    """HR@20 / MRR@20 of our V-SKNN and production model on the same sessions' next clicks, with
    the settings the evaluation chose before the cutoff (its ``tuning``), applied as it does."""
    sys.path.insert(0, str(ROOT / "src"))
    from bunjang_lab.lake import read_events
    from bunjang_lab.ranking.models import PRODUCTION, default_models
    from bunjang_lab.ranking.evaluate import metrics_of, rank_requests
    from bunjang_lab.ranking.split import next_item

    split = next_item(read_events(lake), test_days=test_days, cutoff=cutoff, candidates="catalogue")
    tuned = []
    for model in default_models():
        if hasattr(model, "with_peers"):
            model = model.with_peers(tuned)
        tuned.append(model.with_params(**tuning[model.name]["chosen"]) if model.name in tuning else model)
    chosen = np.flatnonzero(split.requests["user_id"].isin({f"s{s}" for s in sessions}).to_numpy())
    out = {}
    for model in (m for m in tuned if m.name in ("v-sknn", PRODUCTION)):
        model.fit(split)
        ranks, _ = rank_requests(split, model)
        values = metrics_of([ranks[i] for i in chosen])
        out[model.name] = {"hr@20": round(float(values["hr@20"].mean()), 4), "mrr@20": round(float(values["mrr@20"].mean()), 4),
                           "predictions": int(sum(len(split.targets[i]) for i in chosen))}
    return out


def main() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from bunjang_lab.evaluation.offline import format_table
    from bunjang_lab.ranking.tuning import WINDOWS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=4, help="hyperparameter settings per model (default: %(default)s)")
    ap.add_argument("--windows", type=int, default=WINDOWS, help="validation windows the settings are judged on (default: %(default)s)")
    ap.add_argument("--peers", action="store_true", help="also score the 99 sessions of session-rec's shipped recommendations")
    ap.add_argument("--json", action="store_true", help="print only the evaluate JSON object")
    args = ap.parse_args()
    train, test = read_clicks()
    cutoff = pd.to_datetime(test["Time"].min() - 1e-3, unit="s", utc=True)
    test_days = (test["Time"].max() - test["Time"].min()) / 86400 + 1e-3
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n = to_events(pd.concat([train, test], ignore_index=True), tmp / "yoochoose.jsonl")
        started = time.perf_counter()
        cli("ingest", str(tmp / "yoochoose.jsonl"), "--lake", str(tmp / "lake"), "--min-ts", "2014-01-01T00:00:00Z")
        ingest_s = time.perf_counter() - started
        started, children = time.perf_counter(), _children_cpu()
        result = json.loads(cli("evaluate", "--lake", str(tmp / "lake"), "--protocol", "next-item", "--candidates",
                                "catalogue", "--cutoff", cutoff.isoformat(), "--test-days", f"{test_days:.6f}",
                                "--budget", str(args.budget), "--windows", str(args.windows), "--json").stdout)
        evaluate_s, evaluate_cpu = time.perf_counter() - started, _children_cpu() - children
        if args.peers:
            train_items = set(train["ItemId"])
            peers = peer_figures(test, train_items)
            sessions = set(pd.read_csv(DATA / "recoms_rsc15_100k_vsknn.csv", sep=";", dtype={"SessionId": str})["SessionId"])
            result["peer_sessions"] = {"session-rec": peers,
                                       "ours": ours_on_peer_sessions(tmp / "lake", cutoff, test_days, sessions, result["tuning"])}
    if not args.json:
        print(f"YooChoose-100k: {n:,} events; ingest {ingest_s:.1f}s, evaluate {evaluate_s:.1f}s wall, "
              f"{evaluate_cpu:.1f}s CPU (its processes and xlearn's)")
        print(format_table(result))
        for side, table in result.get("peer_sessions", {}).items():
            for name, figures in table.items():
                print(f"99 sessions, {side} {name}: HR@20 {figures['hr@20']:.3f}  MRR@20 {figures['mrr@20']:.3f}  "
                      f"({figures['predictions']} predictions)")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
