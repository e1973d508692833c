"""Compute the four products for the current state of the lake and write them to a run folder.

:func:`build_products` works on a :class:`~bunjang_lab.products.catalog.Snapshot` and any
scorer (tests pass a fake); :func:`compute_products` reads the lake, loads the FM, writes
``RUN_DIR/products/`` (format in docs/architecture.md, "Runs") and updates ``run.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pandas as pd

from bunjang_lab.cli import UserError
from bunjang_lab.products import feed, popular, related, suggest
from bunjang_lab.products.catalog import EVENT_TYPES, Snapshot, snapshot
from bunjang_lab.ranking import realtime

ACTIVE_DAYS = 30
TABLES = ("home", "candidates", "popular", "related", "suggest", "users")


def recent_table(states: pd.DataFrame) -> pd.DataFrame:
    """Long table user_id, kind, key, weight (heaviest first) from realtime states."""
    rows = []
    params = realtime.DEFAULT_PARAMS
    for user, cats, items in zip(states["user_id"], states["recent_categories"], states["recent_items"]):
        rows += [(user, "category", key, w) for key, w in realtime.top_weights(cats, params["top_categories"])]
        rows += [(user, "item", key, w) for key, w in realtime.top_weights(items, params["top_items"])]
    return pd.DataFrame(rows, columns=["user_id", "kind", "key", "weight"])


def recent_states(snap: Snapshot, params=realtime.DEFAULT_PARAMS) -> pd.DataFrame:
    """Each user's recent categories/items (user_id, recent_categories, recent_items as
    ``realtime`` states), folded event by event with ``realtime.add`` exactly as the ranker's
    features and serving do; timestamps are converted once for all users."""
    from bunjang_lab.ranking.features import epoch_seconds

    inter = snap.interactions
    rows, user, cats, items = [], None, None, None
    for u, item, cat, w, ts in zip(inter["user_id"], inter["item_id"], inter["category"], inter["weight"],
                                   epoch_seconds(inter["ts"])):
        if u != user:
            if user is not None:
                rows.append((user, cats, items))
            user, cats, items = u, realtime.new_state(), realtime.new_state()
        items = realtime.add(items, item, w, ts, params)
        if isinstance(cat, str):
            cats = realtime.add(cats, cat, w, ts, params)
    if user is not None:
        rows.append((user, cats, items))
    return pd.DataFrame(rows, columns=["user_id", "recent_categories", "recent_items"])


def active_users(snap: Snapshot, days: int = ACTIVE_DAYS) -> pd.DataFrame:
    """Users with any event in the last ``days``: user_id, segment, history (interactions)."""
    users = snap.users[snap.users["last_ts"] >= snap.now - pd.Timedelta(days=days)]
    history = snap.interactions.groupby("user_id").size()
    return users.assign(history=users["user_id"].map(history).fillna(0).astype(int))[["user_id", "segment", "history"]]


def build_products(snap: Snapshot, scorer: feed.Scorer, k: int = feed.K,
                   states: pd.DataFrame | None = None) -> tuple[dict, dict]:
    """(tables by name, seconds per product); ``states`` are the users' :func:`recent_states`
    when already computed (the FM scorer uses the same)."""
    timings, tables = {}, {}

    def timed(name, fn):
        start = time.perf_counter()
        out = fn()
        timings[name] = round(time.perf_counter() - start, 3)
        return out

    if states is None:
        states = timed("users", lambda: recent_states(snap))
    tables["popular"] = timed("popular", lambda: popular.popular_lists(snap))
    tables["related"] = timed("related", lambda: related.related_items(snap))
    tables["suggest"] = timed("suggest", lambda: suggest.suggestions(snap))
    users = active_users(snap)
    tables["home"], tables["candidates"] = timed("home", lambda: feed.home_feed(
        snap, scorer, users, recent_table(states), tables["related"], tables["popular"], k))
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
    """Write the tables to ``out/products/`` all at once (temporary folder, then rename)."""
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".products-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    for name in TABLES:
        tables[name].to_parquet(staging / f"{name}.parquet", index=False)
    if (staging_vectors := tables.get("vectors")) is not None:
        shutil.move(str(staging_vectors), staging / "vectors")
    final = out / "products"
    if final.exists():
        old = out / f".products-old-{uuid.uuid4().hex[:8]}"
        final.rename(old)
        staging.rename(final)
        shutil.rmtree(old)
    else:
        staging.rename(final)
    return final


def update_run_json(out: Path, section: str, info: dict) -> None:
    """Merge ``info`` under ``section`` of ``out/run.json`` (the fraud step writes its own)."""
    path = out / "run.json"
    run = json.loads(path.read_text()) if path.exists() else {"run_id": out.name}
    run[section] = info
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(run, indent=2, ensure_ascii=False, default=str))
    tmp.replace(path)


def compute_products(lake, model_dir, out, now=None, fraud_dir=None) -> dict:
    """Read the lake, rank with the FM in ``model_dir`` and write ``out/products/``.

    ``now`` defaults to the newest event in the lake; ``fraud_dir`` to ``out/fraud`` when it
    exists. Returns the summary also stored under "products" in ``out/run.json``.
    """
    from bunjang_lab.lake import read_events
    from bunjang_lab.products.scorer import load_scorer

    out = Path(out)
    start = time.perf_counter()
    events = read_events(lake, types=list(EVENT_TYPES), end=None if now is None else pd.Timestamp(now) + pd.Timedelta(microseconds=1))
    if events.empty:
        raise UserError(f"no events in {lake}" + (f" up to {now}" if now is not None else "") + " (run `python -m bunjang_lab ingest` first)")
    fraud_dir = Path(fraud_dir) if fraud_dir else out / "fraud"
    snap = snapshot(events, now=now, flagged=flagged_items(fraud_dir))
    read_seconds = round(time.perf_counter() - start, 3)
    started = time.perf_counter()
    states = recent_states(snap)
    recent_seconds = round(time.perf_counter() - started, 3)
    scorer = load_scorer(model_dir, events, snap, recent=states)
    tables, timings = build_products(snap, scorer, states=states)
    timings["users"] = recent_seconds
    tables["vectors"] = scorer.export(out / f".vectors-{uuid.uuid4().hex[:8]}", tables["users"]["user_id"], snap.live["item_id"])
    write_products(tables, out)
    summary = {
        "now": snap.now.isoformat(), "model": str(scorer.version), "lake": str(lake),
        "live_listings": int(snap.listings["live"].sum()), "flagged_listings": int(snap.listings["flagged"].sum()),
        "rows": {name: int(len(tables[name])) for name in TABLES},
        "users_in_feed": int(tables["home"]["user_id"].nunique()),
        "seconds": {"read": read_seconds, **timings, "total": round(time.perf_counter() - start, 3)},
    }
    update_run_json(out, "products", summary)
    return summary
