"""A tiny synthetic marketplace in the event contract, for the ranker's tests and examples.

Users prefer one or two top-level categories (tied to their gender), listings appear
over time and some sell; every day users see impressions of live listings and click,
favorite, chat and buy mostly inside their tastes. Deterministic for a given seed.

>>> events = synthetic_events(n_users=5, n_items=20, days=3, seed=1)
>>> sorted(events["type"].unique())[:3]
['chat', 'click', 'favorite']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATEGORIES = ("패션의류", "신발", "디지털", "가구", "도서", "스포츠")


def synthetic_events(n_users: int = 60, n_items: int = 300, days: int = 20, impressions_per_day: int = 12,
                     seed: int = 0, start: str = "2026-03-01") -> pd.DataFrame:
    """Events (columns as ``lake.read_events`` returns them) sorted by time."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start, tz="UTC")
    rows: list[dict] = []

    def add(type_, ts, user, **fields):
        rows.append({"event_id": f"e{len(rows)}", "type": type_, "ts": ts, "user_id": str(user), **fields})

    genders = rng.choice(["M", "F"], n_users)
    tastes = [rng.choice(len(CATEGORIES), 2, replace=False) for _ in range(n_users)]
    for u in range(n_users):
        tastes[u][0] = (u % 3) + (0 if genders[u] == "M" else 3)  # gender/segment signal
        add("signup", t0 - pd.Timedelta(days=30), f"u{u}", gender=genders[u], birth_year=int(rng.integers(1965, 2008)))
    listed = np.sort(rng.random(n_items) * days * 1.2 - days * 0.3)  # some listed before the window
    item_cat = rng.integers(0, len(CATEGORIES), n_items)
    quality = rng.normal(0, 1, n_items)
    sold_at = np.where(rng.random(n_items) < 0.3, np.minimum(listed + rng.random(n_items) * days, days - 0.01), np.inf)
    for i in range(n_items):
        cat = CATEGORIES[item_cat[i]]
        add("listing", t0 + pd.Timedelta(days=float(listed[i])), f"u{rng.integers(n_users)}", item_id=f"i{i}",
            title=f"{cat} 상품 {i}", price=int(rng.integers(1, 100)) * 1000, category=f"{cat}>sub{i % 2}",
            brand=f"b{i % 7}")
        if np.isfinite(sold_at[i]):
            add("listing_status", t0 + pd.Timedelta(days=float(sold_at[i])), "system", item_id=f"i{i}", status="sold")
    for day in range(days):
        live = np.flatnonzero((listed <= day) & (sold_at > day))
        if not len(live):
            continue
        for u in range(n_users):
            if rng.random() < 0.3:
                continue
            shown = rng.choice(live, min(impressions_per_day, len(live)), replace=False)
            for position, i in enumerate(shown):
                ts = t0 + pd.Timedelta(days=day + rng.random())
                add("impression", ts, f"u{u}", item_id=f"i{i}", surface="home", position=position)
                liked = item_cat[i] in tastes[u]
                p_click = 1 / (1 + np.exp(-(2.5 * liked - 2.5 + 0.8 * quality[i] + 0.8 * (day - listed[i] < 2))))
                if rng.random() < p_click:
                    ts = ts + pd.Timedelta(minutes=1)
                    add("click", ts, f"u{u}", item_id=f"i{i}", surface="home")
                    if rng.random() < 0.3:
                        add("favorite", ts + pd.Timedelta(minutes=1), f"u{u}", item_id=f"i{i}", on=True)
                    if rng.random() < 0.15:
                        add("chat", ts + pd.Timedelta(minutes=2), f"u{u}", item_id=f"i{i}", to_user_id="seller", text="구매 가능한가요?")
                    if rng.random() < 0.05:
                        add("purchase", ts + pd.Timedelta(minutes=3), f"u{u}", item_id=f"i{i}", price=1000)
    events = pd.DataFrame(rows)
    events["ts"] = pd.to_datetime(events["ts"], utc=True).astype("datetime64[ms, UTC]")
    return events.sort_values("ts", kind="stable").reset_index(drop=True)
