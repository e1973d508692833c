"""Time to catch a fraud wave: reports and decisions flow back, the models retrain daily.

    .venv/bin/python benchmarks/fraud_learning.py [--users 1500] [--days 12] [--wave-day 4] [--seed 7] [--json]

Simulates a marketplace in which, from ``--wave-day`` (0-based), most of the text scammers'
chat messages switch to a new lure no rule knows (an "insurance fee" paid up front,
``bunjang_lab.simulate.texts.wave``), with the simulator's default reports and moderator
decisions (noisy, late, mostly right). Then day by day, as production would: the day's events
are ingested into a lake; the day's chat messages are scored by the models served at the
start of the day; at the end of the day ``fraud retrain`` runs on the decisions of the window
so far and its gate promotes the candidate or keeps production. Nothing tells the pipeline
about the wave but the moderators' decisions.

Per day: recall on the wave's messages and the share of honest messages flagged, for the
learning pipeline and, as the same-run baseline, for the rules alone (what the system did
before this issue); the gate's decision. ``days_to_recover`` counts the days from the first
confirmed wave message's day to the first day the served models catch >= 80% of the wave
(None if never). The learning pipeline's recall and false flags on the days after the first
confirmation are compared with the rules' by a paired bootstrap interval over the messages.
The last line is one JSON object:
``{"days_to_recover", "wave_recall_by_day", "wave_recall_final", "false_flag_rate"}``
(``false_flag_rate``: the highest daily share of honest messages flagged).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_RECALL = 0.8


def _day_messages(path: Path) -> list[dict]:
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [r for r in map(json.loads, f) if r["type"] in ("chat", "moderation")]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=1500)
    p.add_argument("--days", type=int, default=12)
    p.add_argument("--wave-day", type=int, default=4)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--window-days", type=int, default=14, help="days of decisions each retraining uses")
    p.add_argument("--json", action="store_true", help="print only the final JSON line (and the daily table on stderr)")
    args = p.parse_args()

    from bunjang_lab.fraud import store
    from bunjang_lab.fraud.retrain import retrain_window
    from bunjang_lab.fraud.text_scorer import TextScorer
    from bunjang_lab.ingest import ingest_files
    from bunjang_lab.intervals import paired_bootstrap
    from bunjang_lab.simulate import DEFAULT_START, Config, simulate

    out = sys.stderr if args.json else sys.stdout
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        world, lake, models = Path(tmp) / "world", Path(tmp) / "lake", Path(tmp) / "models"
        simulate(args.users, args.days, args.seed, world, config=Config(wave_day=args.wave_day), progress=False)
        labels = world / "labels"
        truth = {r["event_id"]: r["fraud_types"] for r in csv.DictReader(open(labels / "messages.csv", encoding="utf-8"))}
        wave = {r["event_id"] for r in csv.DictReader(open(labels / "wave_messages.csv", encoding="utf-8"))}
        rules = TextScorer()
        days, first_confirmed = [], None
        learned_after, rules_after, honest_learned, honest_rules = [], [], [], []
        for d in range(args.days):
            day = DEFAULT_START + dt.timedelta(days=d)
            path = world / f"{day.isoformat()}.jsonl.gz"
            ingest_files([str(path)], str(lake), now="2100-01-01T00:00:00Z")
            records = _day_messages(path)
            chats = [r for r in records if r["type"] == "chat"]
            served = store.latest(models)
            scorer = TextScorer(store.load_text_model(served), served.name) if served is not None else rules
            texts = [r["text"] for r in chats]
            flags = np.array([a["flagged"] for a in scorer.score_many(texts)], dtype=bool)
            rule_flags = np.array([a["flagged"] for a in rules.score_many(texts)], dtype=bool)
            is_wave = np.array([r["event_id"] in wave for r in chats], dtype=bool)
            honest = np.array([not truth.get(r["event_id"]) for r in chats], dtype=bool)
            row = {"day": day.isoformat(), "model": scorer.model, "wave_messages": int(is_wave.sum()),
                   "wave_recall": round(float(flags[is_wave].mean()), 3) if is_wave.any() else None,
                   "rules_wave_recall": round(float(rule_flags[is_wave].mean()), 3) if is_wave.any() else None,
                   "false_flag_rate": round(float(flags[honest].mean()), 4),
                   "rules_false_flag_rate": round(float(rule_flags[honest].mean()), 4)}
            if first_confirmed is not None:  # the learning's effect: days after the first confirmation
                learned_after += flags[is_wave].tolist()
                rules_after += rule_flags[is_wave].tolist()
                honest_learned += flags[honest].tolist()
                honest_rules += rule_flags[honest].tolist()
            if first_confirmed is None and any(r["type"] == "moderation" and r["decision"] == "confirmed"
                                               and r["target_id"] in wave for r in records):
                first_confirmed = d
            start = DEFAULT_START + dt.timedelta(days=max(0, d + 1 - args.window_days))
            decision = retrain_window(str(lake), start.isoformat(), (day + dt.timedelta(days=1)).isoformat(), models)
            row["gate"] = ("promoted" if decision["promoted"] else "kept") + (
                f" {decision['difference']['diff']:+.3f} [{decision['difference']['low']:+.3f}, "
                f"{decision['difference']['high']:+.3f}]" if "difference" in decision else f" ({decision['reason']})")
            days.append(row)
            print(json.dumps(row, ensure_ascii=False), file=out, flush=True)

    by_day = [row["wave_recall"] for row in days]
    recovered = next((d for d in range(first_confirmed + 1, len(days)) if (by_day[d] or 0) >= TARGET_RECALL), None) \
        if first_confirmed is not None else None
    recall_gain = paired_bootstrap(np.array(learned_after, float), np.array(rules_after, float))
    false_flag_change = paired_bootstrap(np.array(honest_learned, float), np.array(honest_rules, float))
    print(json.dumps({"first_confirmed_day": first_confirmed, "wave_messages_after": len(learned_after),
                      "wave_recall_gain_vs_rules": {k: round(v, 4) for k, v in recall_gain.items()},
                      "honest_messages_after": len(honest_learned),
                      "false_flag_change_vs_rules": {k: round(v, 4) for k, v in false_flag_change.items()},
                      "seconds": round(time.perf_counter() - started, 1)}), file=out)
    print(json.dumps({"days_to_recover": None if recovered is None else recovered - first_confirmed,
                      "wave_recall_by_day": by_day,
                      "wave_recall_final": by_day[-1],
                      "false_flag_rate": max(row["false_flag_rate"] for row in days)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
