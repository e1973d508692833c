"""The state of the marketplace at one moment, derived from events: the only place that says
which listings are available, who the users are and what counts as an interaction.

Ranking (features, training rows, evaluation splits), products (feeds, popular lists,
related items, suggestions), fraud and the report all read these tables, so a listing
reserved, sold or removed is unavailable everywhere at once. The input is an event frame
with the columns of :func:`bunjang_lab.lake.read_events` (missing columns count as empty).

>>> import pandas as pd
>>> ev = pd.DataFrame([
...     dict(type="signup", ts="2026-01-01", user_id="s", gender="F", birth_year=1999),
...     dict(type="listing", ts="2026-01-02", user_id="s", item_id="i1", title="나이키", price=1000, category="신발>스니커즈"),
...     dict(type="listing", ts="2026-01-02", user_id="s", item_id="i2", title="아디다스", price=900, category="신발>스니커즈"),
...     dict(type="listing", ts="2026-01-02", user_id="s", item_id="i3", title="뉴발란스", price=800, category="신발>스니커즈"),
...     dict(type="listing_status", ts="2026-01-03", user_id="s", item_id="i3", status="reserved"),
...     dict(type="click", ts="2026-01-03", user_id="b", item_id="i1"),
...     dict(type="purchase", ts="2026-01-04", user_id="b", item_id="i1", price=1000)])
>>> snap = snapshot(ev, now="2026-01-05")
>>> snap.listings[["item_id", "status", "live"]].values.tolist()
[['i1', 'sold', False], ['i2', 'active', True], ['i3', 'reserved', False]]
>>> snap.users.set_index("user_id").segment.to_dict()
{'b': 'unknown|unknown', 's': 'F|20s'}
>>> snap.interactions[["user_id", "item_id", "type", "weight"]].values.tolist()
[['b', 'i1', 'click', 1.0], ['b', 'i1', 'purchase', 4.0]]
>>> str(snap.listings.set_index("item_id").loc["i1", "ended_at"])
'2026-01-04 00:00:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bunjang_lab.marketplace import ACTIVE, ENDED, INTERACTION_TYPES, INTERACTION_WEIGHTS, SOLD, UNAVAILABLE, segments

# What a snapshot reads; impressions only tell that a user was active (a feed was shown).
EVENT_TYPES = ("signup", "listing", "listing_status", "search", "impression") + INTERACTION_TYPES
CATEGORY_SEPARATOR = ">"
ITEM_COLUMNS = ("seller_id", "title", "category", "top_category", "brand", "price", "listed_at", "ended_at",
                "status", "status_at")


def column(events: pd.DataFrame, name: str) -> pd.Series:
    """``events[name]``, or an all-missing column when the frame does not have it."""
    return events[name] if name in events.columns else pd.Series(None, index=events.index, dtype=object)


def to_utc(value) -> pd.Timestamp:
    """A timestamp in UTC (naive means UTC)."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def favorite_on(events: pd.DataFrame) -> pd.Series:
    """False only where a favorite event removes the favorite (``on`` is false)."""
    return column(events, "on").astype(object).fillna(True).astype(bool)


# ---------------------------------------------------------------- listings

def latest_listings(events: pd.DataFrame) -> pd.DataFrame:
    """Each listed item's newest listing event, all its columns (the text and photos a buyer
    sees now), in time order."""
    listed = events[events["type"] == "listing"].sort_values("ts", kind="stable")
    return listed.drop_duplicates("item_id", keep="last")


def catalog(events: pd.DataFrame) -> pd.DataFrame:
    """One row per listed item, indexed by item id (columns :data:`ITEM_COLUMNS`).

    Attributes come from the item's latest listing event and ``listed_at`` from its first.
    ``status`` is the latest ``listing_status`` (``active`` without one) and ``status_at``
    its time; a purchase makes an item sold. ``ended_at`` is when it was first sold or
    removed (NaT while it can still sell).
    """
    events = events.assign(**{name: column(events, name) for name in ("item_id", "status")})
    kind = events["type"]
    listed = events[kind == "listing"]
    latest = latest_listings(events).set_index("item_id")
    items = pd.DataFrame({
        "seller_id": latest["user_id"].astype(str),
        "title": column(latest, "title").fillna("").astype(str),
        "category": column(latest, "category").fillna("unknown").astype(str),
        "brand": column(latest, "brand").fillna("").astype(str),
        "price": pd.to_numeric(column(latest, "price"), errors="coerce").astype(float),
        "listed_at": listed.groupby("item_id", sort=False)["ts"].min().reindex(latest.index),
    })
    items.index = items.index.astype(str).rename("item_id")
    items["top_category"] = items["category"].str.split(CATEGORY_SEPARATOR).str[0]

    has_item = events["item_id"].notna()
    statuses = events[(kind == "listing_status") & has_item].sort_values("ts", kind="stable")
    statuses = statuses.assign(item_id=statuses["item_id"].astype(str))
    last = statuses.drop_duplicates("item_id", keep="last").set_index("item_id")
    items["status"] = last["status"].reindex(items.index).fillna(ACTIVE).astype(str)
    items["status_at"] = last["ts"].reindex(items.index)
    purchases = events[(kind == "purchase") & has_item]
    purchases = purchases.assign(item_id=purchases["item_id"].astype(str))
    bought_at = purchases.groupby("item_id")["ts"].min().reindex(items.index)
    ended = statuses[statuses["status"].isin(ENDED)].groupby("item_id")["ts"].min().reindex(items.index)
    items["ended_at"] = pd.concat([ended, bought_at], axis=1).min(axis=1)
    bought = bought_at.notna()
    items.loc[bought, "status"] = SOLD
    items.loc[bought, "status_at"] = bought_at[bought]
    return items[list(ITEM_COLUMNS)]


def available(items: pd.DataFrame, at) -> pd.Series:
    """Which catalog items could be bought at ``at``: listed by then, not ended, not reserved.

    Exact for a catalog built from the events up to ``at`` (a :class:`Snapshot`); for a
    catalog that knows later events, a reservation made after ``at`` does not count.
    """
    at = to_utc(at)
    ended = items["ended_at"].notna() & (items["ended_at"] <= at)
    reserved = items["status"].isin(UNAVAILABLE) & items["status_at"].notna() & (items["status_at"] <= at)
    return (items["listed_at"] <= at) & ~ended & ~reserved


# ---------------------------------------------------------------- users

def signup_times(events: pd.DataFrame) -> pd.Series:
    """When each user's account was created (their first sign-up event), by user id."""
    return events[events["type"] == "signup"].groupby("user_id")["ts"].min()


def profiles(events: pd.DataFrame) -> pd.DataFrame:
    """Gender and birth year per user (index ``user_id``), from the latest event stating them."""
    frame = pd.DataFrame({"user_id": events["user_id"].astype(str), "gender": column(events, "gender"),
                          "birth_year": pd.to_numeric(column(events, "birth_year"), errors="coerce").astype(float),
                          "ts": events["ts"]})
    frame = frame[frame["gender"].notna() | frame["birth_year"].notna()].sort_values("ts", kind="stable")
    return frame.groupby("user_id")[["gender", "birth_year"]].last()


def age_bands(birth_years, years) -> np.ndarray:
    """:func:`bunjang_lab.marketplace.segments.age_band` for arrays of birth years and years.

    >>> age_bands([2001, None, 1960, 2030], 2026).tolist()
    ['20s', 'unknown', '50+', 'unknown']
    """
    age = np.asarray(years, dtype=float) - pd.to_numeric(pd.Series(birth_years), errors="coerce").to_numpy(dtype=float)
    age = np.broadcast_to(age, np.shape(age))
    whole = np.where(np.isnan(age), -1, np.floor(np.nan_to_num(age))).astype(np.int64)
    distinct, inverse = np.unique(whole, return_inverse=True)
    return np.asarray([segments.band_of_age(int(a)) for a in distinct], dtype=object)[inverse.reshape(whole.shape)]


def genders(values) -> np.ndarray:
    """:func:`bunjang_lab.marketplace.segments.gender_of` for an array of genders."""
    values = pd.Series(values, dtype=object)
    return values.where(values.isin(segments.GENDERS[:-1]), segments.UNKNOWN).to_numpy(dtype=object)


def users(events: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Everyone with an event: ``user_id, gender, birth_year, segment, last_ts`` (segment at ``now``)."""
    last_ts = events.groupby(events["user_id"].astype(str))["ts"].max()
    profile = profiles(events).reindex(last_ts.index)
    out = pd.DataFrame({"user_id": last_ts.index.to_numpy(), "gender": genders(profile["gender"]),
                        "birth_year": profile["birth_year"].round().astype("Int64").to_numpy(),
                        "last_ts": last_ts.to_numpy()})
    bands = age_bands(profile["birth_year"].to_numpy(), now.year)
    out.insert(3, "segment", [f"{g}|{b}" for g, b in zip(out["gender"], bands)])
    return out


# ---------------------------------------------------------------- interactions

def interactions(events: pd.DataFrame, items: pd.DataFrame, type_weights=INTERACTION_WEIGHTS) -> pd.DataFrame:
    """Positive interactions with their type weight and the item's category, sorted by user
    and time. Un-favorites and a seller's clicks or chats about their own listing are not tastes."""
    inter = events[events["type"].isin(list(type_weights)) & column(events, "item_id").notna()]
    inter = inter[favorite_on(inter) & inter["user_id"].astype(str).ne(inter["item_id"].astype(str).map(items["seller_id"]))]
    inter = pd.DataFrame({"user_id": inter["user_id"].astype(str), "item_id": inter["item_id"].astype(str),
                          "ts": inter["ts"], "type": inter["type"].astype(str), "surface": column(inter, "surface")})
    inter["weight"] = inter["type"].map(type_weights).astype(float)
    inter["category"] = inter["item_id"].map(items["category"])
    return inter.sort_values(["user_id", "ts"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- the snapshot

@dataclass
class Snapshot:
    """Tables describing the marketplace at ``now``.

    listings:      item_id, :data:`ITEM_COLUMNS`, flagged, live
    users:         user_id, gender, birth_year, segment, last_ts
    interactions:  user_id, item_id, ts, type, surface, weight, category (sorted by user and time)
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
        """The listings that may be shown: available and not flagged as fraud."""
        return self.listings[self.listings["live"]]


def snapshot(events: pd.DataFrame, now=None, flagged=None, type_weights=INTERACTION_WEIGHTS) -> Snapshot:
    """The marketplace at ``now`` (default: the newest event) from the events up to then.

    A listing is live when it is :func:`available` at ``now`` and not in ``flagged``
    (fraud results).
    """
    events = events.assign(ts=pd.to_datetime(events["ts"], utc=True), item_id=column(events, "item_id"))
    now = to_utc(now) if now is not None else (events["ts"].max() if len(events) else pd.Timestamp.now("UTC"))
    events = events[events["ts"] <= now]
    items = catalog(events)
    items["flagged"] = items.index.isin(list(flagged or ()))
    items["live"] = available(items, now) & ~items["flagged"]
    kind = events["type"]
    purchases = events.loc[kind == "purchase", ["user_id", "item_id"]].astype(str).drop_duplicates()
    searched = events[kind == "search"]
    searches = pd.DataFrame({"user_id": searched["user_id"].astype(str), "ts": searched["ts"],
                             "query": column(searched, "query").fillna("").astype(str)}).reset_index(drop=True)
    return Snapshot(now, items.reset_index(), users(events, now), interactions(events, items, type_weights),
                    purchases.reset_index(drop=True), searches)


def decay(ts: pd.Series, now: pd.Timestamp, half_life_hours: float) -> np.ndarray:
    """``0.5 ** (age / half_life)`` for each timestamp (future timestamps count as now)."""
    age_h = (now - ts).dt.total_seconds().to_numpy(dtype=float) / 3600.0
    return np.power(0.5, np.clip(age_h, 0.0, None) / half_life_hours)
