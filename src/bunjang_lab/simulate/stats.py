"""Measured properties of a simulated world: the figures docs/simulator.md documents and the
tests hold to their ranges.

>>> import tempfile
>>> from bunjang_lab.simulate import simulate
>>> with tempfile.TemporaryDirectory() as out:
...     _ = simulate(users=40, days=2, seed=1, out=out, progress=False)
...     figures = describe(out)
>>> figures["users"], 0 < figures["fraud_user_share"] < 1
(40, True)
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import statistics
from collections import Counter
from pathlib import Path

from bunjang_lab.fraud.categories import LABEL_CATEGORIES


def _events(folder: Path):
    for path in sorted(folder.glob("*.jsonl*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            yield from (json.loads(line) for line in f)


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _quantiles(values: list[float]) -> dict:
    q = statistics.quantiles(values, n=10) if len(values) > 1 else values * 9
    return {"p10": round(q[0], 2), "median": round(statistics.median(values), 2), "p90": round(q[-1], 2)}


def _time(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts)


def describe(folder: str | Path, test_days: int = 3) -> dict:
    """Figures of the world in ``folder``: shares, per-user volumes, lifetimes, label counts."""
    folder = Path(folder)
    per_user, types, listed, ended, category = Counter(), Counter(), {}, {}, {}
    sold = 0
    last_ts = None
    clicks = []   # (user, ts, item) to measure the test window
    for e in _events(folder):
        types[e["type"]] += 1
        if e["type"] != "signup":
            per_user[e["user_id"]] += 1
            last_ts = max(last_ts or e["ts"], e["ts"])
        if e["type"] == "listing":
            listed[e["item_id"]] = _time(e["ts"])
            category[e["item_id"]] = e["category"]
        elif e["type"] == "listing_status" and e["status"] != "active":
            ended.setdefault(e["item_id"], _time(e["ts"]))
            sold += e["status"] == "sold"
        elif e["type"] == "click":
            clicks.append((e["user_id"], e["ts"], e["item_id"]))
    users = [json.loads(line) for line in open(folder / "labels" / "users.jsonl", encoding="utf-8")]
    labels = {name: _rows(folder / "labels" / f"{name}.csv") for name in ("listings", "messages", "images")}
    split = (_time(last_ts).date() - dt.timedelta(days=test_days - 1)).isoformat() if last_ts else ""
    test_clicks = [c for c in clicks if c[1] >= split]
    lifetimes = [(ended[i] - t).total_seconds() / 86400 for i, t in listed.items() if i in ended]
    counts = {name: Counter(t for row in rows for t in row["fraud_types"].split(";") if t)
              for name, rows in labels.items()}
    clicks.sort()
    pairs = [(a[2], b[2]) for a, b in zip(clicks, clicks[1:]) if a[0] == b[0]]
    click_categories = Counter(category[c[2]] for c in clicks)
    chance = sum((n / len(clicks)) ** 2 for n in click_categories.values()) if clicks else 0.0
    return {
        "users": len(users),
        "events": sum(types.values()),
        "by_type": dict(sorted(types.items())),
        "events_per_user": _quantiles([per_user.get(u["user_id"], 0) for u in users]),
        "fraud_user_share": round(sum(bool(u["fraud_types"]) for u in users) / len(users), 4),
        "fraud_listing_share": round(sum(bool(r["fraud_types"]) for r in labels["listings"]) / max(1, len(listed)), 4),
        "fraud_message_share": round(sum(bool(r["fraud_types"]) for r in labels["messages"])
                                     / max(1, len(labels["messages"])), 4),
        "hard_negatives": {"listings": sum(r["hard_negative"] == "1" for r in labels["listings"]),
                           "messages": sum(r["hard_negative"] == "1" for r in labels["messages"])},
        "labelled": {category: {name: counts[name][category] for name in labels} for category in LABEL_CATEGORIES},
        "item_lifetime_days": _quantiles(lifetimes or [0.0]),
        "ended_share": round(len(lifetimes) / max(1, len(listed)), 4),
        "sold_share": round(sold / max(1, len(listed)), 4),
        # sessions: how often a user's next click stays in the category of the previous one
        "next_click_same_category": round(sum(category[a] == category[b] for a, b in pairs) / max(1, len(pairs)), 4),
        "same_category_by_chance": round(chance, 4),
        "test_window_start": split,
        "test_click_users": len({c[0] for c in test_clicks}),
        "cold_test_click_share": round(sum(listed_at >= split for listed_at in
                                           (listed[c[2]].isoformat() for c in test_clicks)) / max(1, len(test_clicks)), 4),
    }
