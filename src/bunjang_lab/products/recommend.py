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

import numpy as np
import pandas as pd

from bunjang_lab import files
from bunjang_lab.progress import Steps
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


def item_products(snap: Snapshot, timed) -> dict:
    """The tables every user shares: popular lists, related items, suggestions, live items."""
    tables = {"popular": timed("popular", lambda: popular.popular_lists(snap))}
    tables["related"] = timed("related", lambda: related.related_items(snap, popular_lists=tables["popular"]))
    tables["suggest"] = timed("suggest", lambda: suggest.suggestions(snap))
    tables["items"] = snap.live[ITEM_FACTS].reset_index(drop=True)
    return tables


def user_products(snap: Snapshot, ranker: feed.FeedRanker, users: pd.DataFrame, states: pd.DataFrame, shared: dict,
                  timed, k: int = feed.K, knobs: feed.FeedKnobs = feed.FeedKnobs()) -> dict:
    """The per-user tables (home, candidates, users) of ``users`` (from :func:`active_users`):
    each user's rows depend on that user and the ``shared`` tables alone, so users may be
    split into shards computed apart."""
    tables = {}
    tables["home"], tables["candidates"] = timed("home", lambda: feed.home_feed(
        snap, ranker, users, recent_table(states), shared["related"], shared["popular"], k, knobs))
    states = users[["user_id", "segment"]].merge(states, on="user_id", how="left")
    tables["users"] = pd.DataFrame({
        "user_id": states["user_id"], "segment": states["segment"],
        "recent_categories": [json.dumps(s if isinstance(s, dict) else realtime.new_state(), ensure_ascii=False)
                              for s in states["recent_categories"]],
        "recent_items": [json.dumps(s if isinstance(s, dict) else realtime.new_state(), ensure_ascii=False)
                         for s in states["recent_items"]],
    })
    return tables


def _timer(timings: dict, done=None):
    """``timed(name, fn)``: ``fn()``, its seconds kept under ``name`` (and ``done`` told, a progress step)."""
    def timed(name, fn):
        start = time.perf_counter()
        out = fn()
        timings[name] = round(time.perf_counter() - start, 3)
        if done:
            done(f"{name} computed")
        return out
    return timed


def build_products(snap: Snapshot, ranker: feed.FeedRanker, k: int = feed.K,
                   states: pd.DataFrame | None = None, knobs: feed.FeedKnobs = feed.FeedKnobs(),
                   progress=None) -> tuple[dict, dict]:
    """(tables by name, seconds per product); ``states`` are the users'
    :func:`~bunjang_lab.ranking.features.recent_states` when already computed (the FM ranker
    uses the same); ``progress`` is told as each product is computed."""
    timings: dict = {}
    timed = _timer(timings, progress)
    if states is None:
        states = timed("users", lambda: recent_states(snap.interactions))
    tables = item_products(snap, timed)
    tables.update(user_products(snap, ranker, active_users(snap), states, tables, timed, k, knobs))
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


def _read_snapshot(lake, out: Path, now, fraud_dir) -> Snapshot:
    """The marketplace at ``now`` (default: the newest event) with the fraud step's flags."""
    events = read_events(lake, types=list(EVENT_TYPES), end=None if now is None else pd.Timestamp(now) + pd.Timedelta(microseconds=1))
    if events.empty:
        raise MissingInput(f"no events in {lake}" + (f" up to {now}" if now is not None else "") + " (run `python -m bunjang_lab ingest` first)")
    return snapshot(events, now=now, flagged=flagged_items(Path(fraud_dir) if fraud_dir else out / "fraud"))


def _snapshot_facts(snap: Snapshot) -> dict:
    return {"now": snap.now.isoformat(), "live_listings": int(snap.listings["live"].sum()),
            "flagged_listings": int(snap.listings["flagged"].sum())}


def _summary(facts: dict, model: str, lake, tables: dict, knobs: feed.FeedKnobs, seconds: dict) -> dict:
    return {
        "now": facts["now"], "model": model, "lake": str(lake),
        "live_listings": facts["live_listings"], "flagged_listings": facts["flagged_listings"],
        "rows": {name: int(len(tables[name])) for name in TABLES},
        "users_in_feed": int(tables["home"]["user_id"].nunique()), "feed_knobs": dataclasses.asdict(knobs),
        "seconds": seconds,
    }


def compute_products(lake, model_dir, out, now=None, fraud_dir=None, knobs: feed.FeedKnobs = feed.FeedKnobs()) -> dict:
    """Read the lake, rank with the FM in ``model_dir`` and write ``out/products/``.

    ``now`` defaults to the newest event in the lake; ``fraud_dir`` to ``out/fraud`` when it
    exists. Returns the summary also stored under "products" in ``out/run.json``. At a
    terminal a bar counts the steps (snapshot, users, each product, the write).
    """
    with Steps("products", total=8) as done:
        return _compute_products(lake, model_dir, Path(out), now, fraud_dir, knobs, done)


def _compute_products(lake, model_dir, out: Path, now, fraud_dir, knobs: feed.FeedKnobs, done) -> dict:
    start = time.perf_counter()
    snap = _read_snapshot(lake, out, now, fraud_dir)
    read_seconds = round(time.perf_counter() - start, 3)
    done(f"snapshot read: {len(snap.live):,} live listings")
    started = time.perf_counter()
    states = recent_states(snap.interactions)
    recent_seconds = round(time.perf_counter() - started, 3)
    ranker = load_feed_ranker(model_dir, snap, recent=states)
    done(f"{len(states):,} users' recent activity; model loaded")
    tables, timings = build_products(snap, ranker, states=states, knobs=knobs, progress=done)
    timings["users"] = recent_seconds
    tables["vectors"] = ranker.export(out / f".vectors-{uuid.uuid4().hex[:8]}", tables["users"]["user_id"], snap.live["item_id"])
    done("vectors exported")
    write_products(tables, out)
    done("written")
    summary = _summary(_snapshot_facts(snap), str(ranker.version), lake, tables, knobs,
                       {"read": read_seconds, **timings, "total": round(time.perf_counter() - start, 3)})
    update_run_json(out, "products", summary)
    return summary


# Products over user shards: the shared tables once, the per-user tables one shard per
# task (a stable hash of the user id picks the shard), then one merge that writes
# ``products/`` whole, so the cache publishes a single version.

PARTS = "product_parts"
SHARED_TABLES = ("popular", "related", "suggest", "items")
USER_TABLES = ("home", "candidates", "users")


def user_shard(user_ids, shards: int) -> np.ndarray:
    """The shard (``0 .. shards-1``) of each user id: a hash of its text, the same in every process.

    >>> shards = user_shard(["u1", "u2", "u1"], 4).tolist()
    >>> shards[0] == shards[2] == user_shard(["u1"], 4).tolist()[0], all(0 <= s < 4 for s in shards)
    (True, True)
    """
    if shards < 1:
        raise ValueError("shards must be at least 1")
    return (pd.util.hash_array(np.asarray(user_ids, dtype=object).astype(str).astype(object)) % np.uint64(shards)).astype(np.int64)


def _shard_dir(out: Path, shard: int, shards: int) -> Path:
    return Path(out) / PARTS / f"shard-{shard:04d}-of-{shards:04d}"


def compute_shared_products(lake, out, now=None, fraud_dir=None) -> dict:
    """The shared tables into ``out/product_parts/shared/``: the first step of a sharded run,
    which clears the parts of an earlier one."""
    out = Path(out)
    shutil.rmtree(out / PARTS, ignore_errors=True)
    snap = _read_snapshot(lake, out, now, fraud_dir)
    timings: dict = {}
    tables = item_products(snap, _timer(timings))

    def fill(staging: Path) -> dict:
        for name in SHARED_TABLES:
            tables[name].to_parquet(staging / f"{name}.parquet", index=False)
        files.write_json(staging / "shared.json", {"snapshot": _snapshot_facts(snap), "seconds": timings})
        return timings

    return files.replace_folder(out / PARTS / "shared", fill)


def compute_user_shard(lake, model_dir, out, shard: int, shards: int, now=None, fraud_dir=None,
                       knobs: feed.FeedKnobs = feed.FeedKnobs()) -> str:
    """The per-user tables and user vectors of the active users in ``shard`` of ``shards``
    into ``out/product_parts/shard-<n>-of-<m>/``, from the shared tables already computed.
    A retry replaces the folder whole. Returns it."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")
    out = Path(out)
    shared_dir = out / PARTS / "shared"
    if not shared_dir.is_dir():
        raise MissingInput(f"no shared products in {shared_dir}: run compute_shared_products first")
    shared = {name: pd.read_parquet(shared_dir / f"{name}.parquet") for name in ("popular", "related")}
    snap = _read_snapshot(lake, out, now, fraud_dir)
    users = active_users(snap)
    users = users[user_shard(users["user_id"], shards) == shard]
    interactions = snap.interactions[snap.interactions["user_id"].isin(users["user_id"])]
    timings: dict = {}
    timed = _timer(timings)
    states = timed("users", lambda: recent_states(interactions))
    ranker = load_feed_ranker(model_dir, snap, recent=states)
    tables = user_products(snap, ranker, users, states, shared, timed, knobs=knobs)

    def fill(staging: Path) -> None:
        for name in USER_TABLES:
            tables[name].to_parquet(staging / f"{name}.parquet", index=False)
        ranker.export(staging / "vectors", tables["users"]["user_id"], snap.live["item_id"])
        files.write_json(staging / "shard.json", {"model": str(ranker.version), "seconds": timings})

    target = _shard_dir(out, shard, shards)
    files.replace_folder(target, fill)
    return str(target)


def merge_product_shards(lake, out, shards: int, knobs: feed.FeedKnobs = feed.FeedKnobs()) -> dict:
    """Write ``out/products/`` once from the shared tables and all ``shards`` user shards
    (rows of each per-user table ordered by user, as :func:`compute_products` orders them
    within a user). The parts stay until the next sharded run, so a retry merges again.
    Returns the summary stored in ``out/run.json``."""
    out = Path(out)
    start = time.perf_counter()
    parts = [_shard_dir(out, n, shards) for n in range(shards)]
    missing = [str(p) for p in parts if not (p / "shard.json").exists()]
    if missing or not (out / PARTS / "shared" / "shared.json").exists():
        raise MissingInput(f"product shards not computed: {', '.join(missing) or 'shared'}")
    tables = {name: pd.read_parquet(out / PARTS / "shared" / f"{name}.parquet") for name in SHARED_TABLES}
    for name in USER_TABLES:
        merged = pd.concat([pd.read_parquet(p / f"{name}.parquet") for p in parts], ignore_index=True)
        tables[name] = merged.sort_values("user_id", kind="stable", ignore_index=True)
    vectors = out / f".vectors-{uuid.uuid4().hex[:8]}"
    shutil.copytree(parts[0] / "vectors", vectors)
    users = pd.concat([pd.read_parquet(p / "vectors" / "users.parquet") for p in parts], ignore_index=True)
    users.sort_values("user_id", kind="stable", ignore_index=True).to_parquet(vectors / "users.parquet", index=False)
    tables["vectors"] = vectors
    write_products(tables, out)
    model = json.loads((parts[0] / "shard.json").read_text())["model"]
    seconds = {"merge": round(time.perf_counter() - start, 3)}
    facts = json.loads((out / PARTS / "shared" / "shared.json").read_text())["snapshot"]
    summary = _summary(facts, model, lake, tables, knobs, seconds) | {"shards": shards}
    update_run_json(out, "products", summary)
    return summary
