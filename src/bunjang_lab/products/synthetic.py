"""A synthetic marketplace at any size, and a stand-in FM model folder in the real format.

Used by ``benchmarks/products.py`` (10,000 users × 50,000 live listings) and the
end-to-end tests: events follow the contract of docs/architecture.md, so they go through
the same snapshot, scorer and writers as the lake's. The simulator (``simulate``) is the
realistic source; this one is only fast and sized on demand.

>>> events = market_events(users=50, listings=200, seed=1)
>>> sorted(events["type"].unique().tolist())
['click', 'favorite', 'listing', 'listing_status', 'purchase', 'search', 'signup']
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

TOPS = ["패션의류", "신발", "가방", "디지털", "스포츠", "스타굿즈", "키덜트", "도서", "뷰티", "가구", "유아동", "반려동물"]
LEAVES = ["A", "B", "C", "D", "E"]
SYLLABLES = list("가나다라마바사아자차카타파하고노도로모보소오조코토포호구누두루무부수우주쿠투푸후")
DAYS = 30


def _word(rng, n) -> str:
    return "".join(rng.choice(SYLLABLES, n))


def market_events(users: int, listings: int, seed: int = 0, clicks_per_user: int = 30,
                  now: str = "2026-03-31T00:00:00Z") -> pd.DataFrame:
    """Signups, listings (≈1/6 of them sold, reserved or removed later), sessions of clicks
    mostly in each user's two favourite categories, favorites, purchases and searches."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(now)
    span = pd.Timedelta(days=DAYS).total_seconds()
    leaves = [f"{t}>{leaf}" for t in TOPS for leaf in LEAVES]
    vocab = {c: [_word(rng, 2) for _ in range(12)] for c in leaves}
    brands = {t: [_word(rng, 3) for _ in range(6)] for t in TOPS}
    user_ids = np.array([f"u{i}" for i in range(users)])

    item_ids = np.array([f"i{i}" for i in range(listings)])
    item_cat = rng.integers(0, len(leaves), listings)
    sellers = user_ids[rng.integers(0, users, listings)]
    listed = end - pd.to_timedelta(rng.uniform(0, span, listings), unit="s")
    titles, item_brands = [], []
    for c in item_cat:
        leaf = leaves[c]
        brand = brands[leaf.split(">")[0]][rng.integers(6)]
        titles.append(f"{brand} {' '.join(rng.choice(vocab[leaf], 2))} {rng.integers(100, 300)}")
        item_brands.append(brand)
    prices = np.round(np.exp(rng.normal(11 + item_cat % 5 * 0.3, 0.8, listings)), -2).astype(int)
    frames = [
        pd.DataFrame({"type": "signup", "user_id": user_ids, "ts": end - pd.Timedelta(days=DAYS + 1),
                      "gender": rng.choice(np.array(["M", "F", None], dtype=object), users, p=[0.45, 0.45, 0.1]),
                      "birth_year": pd.array(np.where(rng.random(users) < 0.1, np.nan, rng.integers(1965, 2010, users)), dtype="Int64")}),
        pd.DataFrame({"type": "listing", "user_id": sellers, "ts": listed, "item_id": item_ids, "title": titles,
                      "category": np.array(leaves)[item_cat], "brand": item_brands, "price": prices}),
    ]
    ended = rng.random(listings) < 1 / 6
    frames.append(pd.DataFrame({"type": "listing_status", "user_id": sellers[ended], "item_id": item_ids[ended],
                                "ts": listed[ended] + (end - listed[ended]) * rng.uniform(0.1, 0.9, ended.sum()),
                                "status": rng.choice(["sold", "reserved", "removed"], ended.sum())}))

    by_cat = pd.Series(np.arange(listings)).groupby(item_cat).apply(lambda s: s.to_numpy()).to_dict()
    taste = rng.integers(0, len(leaves), (users, 2))
    n_clicks = users * clicks_per_user
    session = np.arange(n_clicks) // 5  # a user's clicks come in sessions of 5 within minutes
    who = rng.integers(0, users, session[-1] + 1)[session]
    own_cat = np.where(rng.random(n_clicks) < 0.8, taste[who, rng.integers(0, 2, n_clicks)], rng.integers(0, len(leaves), n_clicks))
    what = np.array([by_cat[c][rng.integers(len(by_cat[c]))] if c in by_cat else rng.integers(listings) for c in own_cat])
    when = (end - pd.to_timedelta(rng.uniform(0, span, session[-1] + 1), unit="s"))[session]
    when = when + pd.to_timedelta(rng.uniform(0, 600, n_clicks), unit="s")
    clicks = pd.DataFrame({"user_id": user_ids[who], "item_id": item_ids[what], "ts": when})
    clicks = clicks[clicks["ts"] >= listed[what]]
    frames.append(clicks.assign(type="click"))
    fav = clicks.sample(frac=0.1, random_state=seed)
    frames.append(fav.assign(type="favorite", ts=fav["ts"] + pd.Timedelta(seconds=30)))
    bought = clicks.sample(frac=0.01, random_state=seed + 1).drop_duplicates("item_id")
    frames.append(bought.assign(type="purchase", ts=bought["ts"] + pd.Timedelta(minutes=5), price=1000))

    n_search = users * 5
    searcher = rng.integers(0, users, n_search)
    leaf_of = taste[searcher, 0]
    queries = [vocab[leaves[c]][rng.integers(12)] if rng.random() < 0.5 else brands[leaves[c].split(">")[0]][rng.integers(6)]
               for c in leaf_of]
    frames.append(pd.DataFrame({"type": "search", "user_id": user_ids[searcher], "query": queries,
                                "ts": end - pd.to_timedelta(rng.uniform(0, span, n_search), unit="s")}))
    events = pd.concat(frames, ignore_index=True)
    events["ts"] = events["ts"].dt.floor("ms")  # the lake's precision
    events = events.sort_values("ts", kind="stable", ignore_index=True)
    events["event_id"] = [f"e{i}" for i in range(len(events))]
    return events


def write_random_model(events: pd.DataFrame, model_dir, k: int = 16, seed: int = 0) -> Path:
    """A model folder (``model.txt``, ``feature_map.json``, ``meta.json``) with random FM
    parameters over the full feature map of ``events``: the real scoring cost, no training."""
    from bunjang_lab.ranking import features as F
    from bunjang_lab.ranking import realtime

    rng = np.random.default_rng(seed)
    ctx = F.Context.from_events(events)
    at = events["ts"].max()
    users = F.user_frame(pd.DataFrame({"user_id": ctx.users.index, "ts": at}), ctx, with_recent=False)
    users["recent_category"] = [[(c, 1.0)] for c in rng.choice(ctx.items["category"].dropna().unique(), len(users))]
    users["recent_item"] = [[(i, 1.0)] for i in rng.choice(ctx.items.index, len(users))]
    edges = F.fit_price_edges(ctx.items)
    items = F.item_frame(ctx.items.index, at, ctx, edges)
    fmap = F.FeatureMap.fit([users, items], F.FULL_FIELDS, edges, realtime.DEFAULT_PARAMS, min_count=1)
    out = Path(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmap.save(out / "feature_map.json")
    lines = [f"bias: {rng.normal(0, 0.1):.6f}"]
    lines += [f"i_{j}: {w:.6f}" for j, w in enumerate(rng.normal(0, 0.1, fmap.n_features))]
    lines += [f"v_{j}: " + " ".join(f"{x:.6f}" for x in row) for j, row in enumerate(rng.normal(0, 0.1, (fmap.n_features, k)))]
    (out / "model.txt").write_text("\n".join(lines) + "\n", encoding="ascii")
    (out / "meta.json").write_text(json.dumps({"version": f"random-{seed}", "k": k}), encoding="utf-8")
    return out
