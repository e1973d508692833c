"""The state of the marketplace at one moment, derived from events.

:func:`snapshot` turns an event frame (the columns of ``bunjang_lab.lake.read_events``)
into the tables every product needs: listings with their live flag, users with their
segment, weighted interactions, purchases and searches. Every product reads a
:class:`Snapshot`, so tests build one from a handful of hand-written events.

>>> import pandas as pd
>>> ev = pd.DataFrame([
...     dict(type="signup", ts="2026-01-01", user_id="s", gender="F", birth_year=1999),
...     dict(type="listing", ts="2026-01-02", user_id="s", item_id="i1", title="나이키", price=1000, category="신발>스니커즈"),
...     dict(type="listing", ts="2026-01-02", user_id="s", item_id="i2", title="아디다스", price=900, category="신발>스니커즈"),
...     dict(type="click", ts="2026-01-03", user_id="b", item_id="i1"),
...     dict(type="purchase", ts="2026-01-04", user_id="b", item_id="i1", price=1000)])
>>> snap = snapshot(ev, now="2026-01-05")
>>> snap.listings[["item_id", "seller_id", "live"]].values.tolist()
[['i1', 's', False], ['i2', 's', True]]
>>> snap.users.set_index("user_id").segment.to_dict()
{'b': 'unknown|unknown', 's': 'F|20s'}
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bunjang_lab.products.segments import age_band, gender_of
from bunjang_lab.ranking import features
from bunjang_lab.ranking.realtime import DEFAULT_TYPE_WEIGHTS

# Interactions that say "I want this kind of item" (impressions say nothing on their own).
INTERACTION_TYPES = ("click", "favorite", "chat", "purchase")
INTERACTION_WEIGHTS = {t: DEFAULT_TYPE_WEIGHTS[t] for t in INTERACTION_TYPES}
EVENT_TYPES = ("signup", "listing", "listing_status", "search", "impression") + INTERACTION_TYPES
UNAVAILABLE = ("reserved", "sold", "removed")
COLUMNS = ("type", "ts", "user_id", "item_id", "title", "price", "category", "brand", "status", "on", "query",
           "gender", "birth_year")


@dataclass
class Snapshot:
    """Tables describing the marketplace at ``now``.

    listings:      item_id, seller_id, title, category, top_category, brand, price, listed_ts,
                   status, flagged, live
    users:         user_id, gender, birth_year, segment, last_ts
    interactions:  user_id, item_id, ts, type, surface, weight, category (positive
                   interactions, sorted by user and time)
    purchases:     user_id, item_id
    searches:      user_id, ts, query
    """

    now: pd.Timestamp
    listings: pd.DataFrame
    users: pd.DataFrame
    interactions: pd.DataFrame
    purchases: pd.DataFrame
    searches: pd.DataFrame

    @property
    def live(self) -> pd.DataFrame:
        return self.listings[self.listings["live"]]


def to_utc(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def decay(ts: pd.Series, now: pd.Timestamp, half_life_hours: float) -> np.ndarray:
    """``0.5 ** (age / half_life)`` for each timestamp (future timestamps count as now)."""
    age_h = (now - ts).dt.total_seconds().to_numpy(dtype=float) / 3600.0
    return np.power(0.5, np.clip(age_h, 0.0, None) / half_life_hours)


def snapshot(events: pd.DataFrame, now=None, flagged: set | None = None) -> Snapshot:
    """The marketplace at ``now`` (default: the newest event) from an event frame.

    A listing is live when it was listed by ``now``, its latest status is ``active`` (or
    it has none), nobody bought it, and it is not in ``flagged`` (fraud results).
    """
    events = events.assign(**{c: pd.Series(None, index=events.index, dtype=object) for c in COLUMNS if c not in events})
    events["ts"] = pd.to_datetime(events["ts"], utc=True)
    now = to_utc(now) if now is not None else (events["ts"].max() if len(events) else pd.Timestamp.now("UTC"))
    events = events[events["ts"] <= now]
    kind = events["type"]

    listed = events[kind == "listing"].sort_values("ts", kind="stable")
    first_ts = listed.groupby("item_id", sort=False)["ts"].min()
    listings = listed.drop_duplicates("item_id", keep="last").set_index("item_id")
    listings = pd.DataFrame({
        "seller_id": listings["user_id"].astype(str),
        "title": listings["title"].fillna("").astype(str),
        "category": listings["category"].fillna("unknown").astype(str),
        "brand": listings["brand"].fillna("").astype(str),
        "price": pd.to_numeric(listings["price"], errors="coerce").astype(float),
        "listed_ts": first_ts.reindex(listings.index),
    })
    listings.index = listings.index.astype(str)
    listings["top_category"] = listings["category"].str.split(">").str[0]

    statuses = events[kind == "listing_status"].sort_values("ts", kind="stable").drop_duplicates("item_id", keep="last")
    listings["status"] = statuses.set_index("item_id")["status"].reindex(listings.index).fillna("active").astype(str)
    purchases = events.loc[kind == "purchase", ["user_id", "item_id"]].astype(str).drop_duplicates()
    listings.loc[listings.index.isin(purchases["item_id"]), "status"] = "sold"
    listings["flagged"] = listings.index.isin(list(flagged or ()))
    listings["live"] = ~listings["status"].isin(UNAVAILABLE) & ~listings["flagged"]
    listings = listings.rename_axis("item_id").reset_index()

    # The ranker's definition: un-favorites and a seller's own clicks/chats are not tastes.
    interactions = features.interactions(events, listings.set_index("item_id"), INTERACTION_WEIGHTS)

    searched = events[kind == "search"]
    searches = pd.DataFrame({"user_id": searched["user_id"].astype(str), "ts": searched["ts"],
                             "query": searched["query"].fillna("").astype(str)}).reset_index(drop=True)

    return Snapshot(now, listings, _users(events, now), interactions, purchases.reset_index(drop=True), searches)


def _users(events: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    last_ts = events.groupby(events["user_id"].astype(str))["ts"].max()
    signups = events[events["type"] == "signup"].sort_values("ts", kind="stable").drop_duplicates("user_id", keep="last")
    profile = signups.assign(user_id=signups["user_id"].astype(str)).set_index("user_id")
    users = pd.DataFrame({"last_ts": last_ts}).rename_axis("user_id")
    users["gender"] = profile["gender"].reindex(users.index).map(gender_of).astype(str)
    birth = pd.to_numeric(profile["birth_year"], errors="coerce").reindex(users.index)
    users["birth_year"] = birth.astype("Int64")
    year = now.year
    users["segment"] = [f"{g}|{age_band(None if pd.isna(b) else int(b), year)}" for g, b in zip(users["gender"], birth)]
    return users.reset_index()[["user_id", "gender", "birth_year", "segment", "last_ts"]]
