"""Compute the four products for the current state of the lake and write them to a run folder.

:func:`build_products` works on a :class:`~bunjang_lab.marketplace.state.Snapshot` and any
ranker (tests pass a fake); :func:`compute_products` reads the lake, loads the FM, writes
``RUN_DIR/products/`` (format in docs/architecture.md, "Runs") and updates ``run.json``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
import uuid
from pathlib import Path

import pandas as pd

from bunjang_lab import files
from bunjang_lab.errors import MissingInput
from bunjang_lab.lake import read_events
from bunjang_lab.marketplace.state import EVENT_TYPES, Snapshot, snapshot
from bunjang_lab.products import feed, popular, related, suggest
from bunjang_lab.products.feed_ranker import load_feed_ranker
from bunjang_lab.ranking import realtime
from bunjang_lab.ranking.features import recent_states

ACTIVE_DAYS = 30
TABLES = ("home", "candidates", "popular", "related", "suggest", "users", "items")
ITEM_FACTS = ["item_id", "title", "category", "price", "listed_at"]
"""What ``score ... --explain`` shows beside a live listing's id (``items.parquet``)."""


def recent_table(states: pd.DataFrame) -> pd.DataFrame:
    """Long table user_id, kind, key, weight (heaviest first) from realtime states."""
    rows = []
    params = realtime.DEFAULT_PARAMS
    for user, cats, items in zip(states["user_id"], states["recent_categories"], states["recent_items"]):
        rows += [(user, "category", key, w) for key, w in realtime.top_weights(cats, params["top_categories"])]
        rows += [(user, "item", key, w) for key, w in realtime.top_weights(items, params["top_items"])]
    return pd.DataFrame(rows, columns=["user_id", "kind", "key", "weight"])


def active_users(snap: Snapshot, days: int = ACTIVE_DAYS) -> pd.DataFrame:
    """Users with any event in the last ``days``: user_id, segment, history (interactions)."""
    users = snap.users[snap.users["last_ts"] >= snap.now - pd.Timedelta(days=days)]
    history = snap.interactions.groupby("user_id").size()
    return users.assign(history=users["user_id"].map(history).fillna(0).astype(int))[["user_id", "segment", "history"]]


def build_products(snap: Snapshot, ranker: feed.FeedRanker, k: int = feed.K,
                   states: pd.DataFrame | None = None, knobs: feed.FeedKnobs = feed.FeedKnobs()) -> tuple[dict, dict]:
    """(tables by name, seconds per product); ``states`` are the users'
    :func:`~bunjang_lab.ranking.features.recent_states` when already computed (the FM ranker
    uses the same)."""
    timings, tables = {}, {}

    def timed(name, fn):
        start = time.perf_counter()
        out = fn()
        timings[name] = round(time.perf_counter() - start, 3)
        return out

    if states is None:
        states = timed("users", lambda: recent_states(snap.interactions))
    tables["popular"] = timed("popular", lambda: popular.popular_lists(snap))
    tables["related"] = timed("related", lambda: related.related_items(snap, popular_lists=tables["popular"]))
    tables["suggest"] = timed("suggest", lambda: suggest.suggestions(snap))
    tables["items"] = snap.live[ITEM_FACTS].reset_index(drop=True)
    users = active_users(snap)
    tables["home"], tables["candidates"] = timed("home", lambda: feed.home_feed(
        snap, ranker, users, recent_table(states), tables["related"], tables["popular"], k, knobs))
    states = users[["user_id", "segment"]].merge(states, on="user_id", how="left")
    tables["users"] = pd.DataFrame({
        "user_id": states["user_id"], "segment": states["segment"],
        "recent_categories": [json.dumps(s if isinstance(s, dict) else realtime.new_state(), ensure_ascii=False)
                              for s in states["recent_categories"]],
        "recent_items": [json.dumps(s if isinstance(s, dict) else realtime.new_state(), ensure_ascii=False)
                         for s in states["recent_items"]],
    })
    return tables, timings


def flagged_items(fraud_dir: Path | None) -> set:
    """Item ids flagged by the fraud step, empty when it has not run."""
    path = Path(fraud_dir) / "listings.parquet" if fraud_dir else None
    if path is None or not path.exists():
        return set()
    frame = pd.read_parquet(path, columns=["item_id", "flagged"])
    return set(frame.loc[frame["flagged"].astype(bool), "item_id"].astype(str))


def write_products(tables: dict, out: Path) -> Path:
    """Write the tables to ``out/products/`` all at once (a reader sees the old run's or these)."""

    def fill(staging: Path) -> None:
        for name in TABLES:
            tables[name].to_parquet(staging / f"{name}.parquet", index=False)
        if (vectors := tables.get("vectors")) is not None:
            shutil.move(str(vectors), staging / "vectors")

    files.replace_folder(Path(out) / "products", fill)
    return Path(out) / "products"


def update_run_json(out: Path, section: str, info: dict) -> None:
    """Merge ``info`` under ``section`` of ``out/run.json`` (the fraud step writes its own)."""
    path = out / "run.json"
    run = json.loads(path.read_text()) if path.exists() else {"run_id": out.name}
    run[section] = info
    files.write_json(path, run)


def compute_products(lake, model_dir, out, now=None, fraud_dir=None, knobs: feed.FeedKnobs = feed.FeedKnobs()) -> dict:
    """Read the lake, rank with the FM in ``model_dir`` and write ``out/products/``.

    ``now`` defaults to the newest event in the lake; ``fraud_dir`` to ``out/fraud`` when it
    exists. Returns the summary also stored under "products" in ``out/run.json``.
    """
    out = Path(out)
    start = time.perf_counter()
    events = read_events(lake, types=list(EVENT_TYPES), end=None if now is None else pd.Timestamp(now) + pd.Timedelta(microseconds=1))
    if events.empty:
        raise MissingInput(f"no events in {lake}" + (f" up to {now}" if now is not None else "") + " (run `python -m bunjang_lab ingest` first)")
    fraud_dir = Path(fraud_dir) if fraud_dir else out / "fraud"
    snap = snapshot(events, now=now, flagged=flagged_items(fraud_dir))
    read_seconds = round(time.perf_counter() - start, 3)
    started = time.perf_counter()
    states = recent_states(snap.interactions)
    recent_seconds = round(time.perf_counter() - started, 3)
    ranker = load_feed_ranker(model_dir, snap, recent=states)
    tables, timings = build_products(snap, ranker, states=states, knobs=knobs)
    timings["users"] = recent_seconds
    tables["vectors"] = ranker.export(out / f".vectors-{uuid.uuid4().hex[:8]}", tables["users"]["user_id"], snap.live["item_id"])
    write_products(tables, out)
    summary = {
        "now": snap.now.isoformat(), "model": str(ranker.version), "lake": str(lake),
        "live_listings": int(snap.listings["live"].sum()), "flagged_listings": int(snap.listings["flagged"].sum()),
        "rows": {name: int(len(tables[name])) for name in TABLES},
        "users_in_feed": int(tables["home"]["user_id"].nunique()), "feed_knobs": dataclasses.asdict(knobs),
        "seconds": {"read": read_seconds, **timings, "total": round(time.perf_counter() - start, 3)},
    }
    update_run_json(out, "products", summary)
    return summary
