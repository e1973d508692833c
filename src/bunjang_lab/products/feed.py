"""The personalized home feed: candidates, FM ranking, business rules.

Candidates per active user (``source`` column; ``why`` words it for the user: "because you
viewed <title>", "new in <category>", "popular with women in their 20s"):

* ``category``: the freshest live listings of the user's top recent categories;
* ``related``: related items of what they recently clicked or favorited;
* ``popular``: their segment's popular list.

They are ranked by a :class:`FeedRanker` (the FM) plus a freshness boost,
``score = fm + FRESHNESS_WEIGHT × 0.5 ** (age_hours / FRESHNESS_HALF_LIFE_HOURS)``, then the
business rules apply: only live listings (not sold, reserved, removed or fraud-flagged),
never the user's own listings or what they already bought, at most ``SELLER_CAP`` items
per seller and ``CATEGORY_CAP`` per leaf category. Users with fewer than ``MIN_HISTORY``
interactions, and lists the caps left short, are filled from the segment's popular list,
then the global one (``source`` ``segment`` / ``global``), under the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np
import pandas as pd

from bunjang_lab.marketplace.state import Snapshot, decay
from bunjang_lab.products import why
from bunjang_lab.products.limits import CATEGORY_CAP, FRESHNESS_WEIGHT, SELLER_CAP
from bunjang_lab.products.limits import HOME_SIZE as K
from bunjang_lab.marketplace.segments import ALL

FRESHNESS_HALF_LIFE_HOURS = 48.0
MIN_HISTORY = 3
TOP_CATEGORIES = 3
FRESH_PER_CATEGORY = 40
RECENT_ITEMS = 10
RELATED_PER_ITEM = 10
POPULAR_CANDIDATES = 50
COLUMNS = ["user_id", "rank", "item_id", "score", "source", "why"]


@dataclass(frozen=True)
class FeedKnobs:
    """What a team may trade against accuracy (their cost on NDCG@10 is measured by
    ``benchmarks/products.py --knobs``): ``category_cap``, items per leaf category in a feed
    (lower: more categories near the top), and ``freshness_weight``, the boost of a listing
    posted now (higher: younger listings).

    >>> FeedKnobs(), FeedKnobs(category_cap=3)
    (FeedKnobs(category_cap=15, freshness_weight=0.3), FeedKnobs(category_cap=3, freshness_weight=0.3))
    """

    category_cap: int = CATEGORY_CAP
    freshness_weight: float = FRESHNESS_WEIGHT


class FeedRanker(Protocol):
    """Anything that scores (user, item) pairs: the FM, or a fake in tests."""

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray: ...


def candidates(snap: Snapshot, users: pd.DataFrame, recent: pd.DataFrame, related: pd.DataFrame,
               popular: pd.DataFrame) -> pd.DataFrame:
    """Personal candidates (user_id, item_id, source) for ``users`` (user_id, segment).

    ``recent`` holds each user's top categories and items: user_id, key, kind ("category" or
    "item"), weight.
    """
    live = snap.live
    fresh = live.sort_values("listed_at", ascending=False, kind="stable")
    fresh = fresh[fresh.groupby("category").cumcount() < FRESH_PER_CATEGORY][["category", "item_id"]]
    cats = recent[recent["kind"] == "category"]
    cats = cats[cats.groupby("user_id").cumcount() < TOP_CATEGORIES]
    by_category = cats.merge(fresh, left_on="key", right_on="category")
    by_category = by_category[["user_id", "item_id"]].assign(source="category", why=by_category["category"].map(_new_in(fresh)))

    items = recent[recent["kind"] == "item"]
    items = items[items.groupby("user_id").cumcount() < RECENT_ITEMS]
    near = related[related["rank"] <= RELATED_PER_ITEM]
    by_related = items.merge(near, left_on="key", right_on="item_id", suffixes=("_seen", ""))
    viewed = snap.listings.set_index("item_id")["title"].map(why.viewed)
    by_related = pd.DataFrame({"user_id": by_related["user_id"], "item_id": by_related["related_item_id"],
                               "source": "related", "why": by_related["key"].map(viewed)})

    top = popular[popular["rank"] <= POPULAR_CANDIDATES]
    by_popular = users[["user_id", "segment"]].merge(top, on="segment")
    by_popular = by_popular[["user_id", "item_id"]].assign(source="popular", why=by_popular["segment"].map(why.popular_with))

    pool = pd.concat([by_related, by_category, by_popular], ignore_index=True)  # the first source found wins
    pool = pool[pool["user_id"].isin(users["user_id"])]
    return pool.drop_duplicates(["user_id", "item_id"], keep="first").reset_index(drop=True)


def _new_in(listings: pd.DataFrame) -> pd.Series:
    """category -> its "new in" reason, worded once per category."""
    categories = pd.Series(listings["category"].unique())
    return pd.Series(categories.map(why.new_in).to_numpy(), index=categories.to_numpy())


def allowed(snap: Snapshot, pairs: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``pairs`` that pass the hard rules, with seller_id, category and listed_at.

    Live only (not sold/reserved/removed/flagged), not the user's own, not already bought.
    """
    live = snap.live[["item_id", "seller_id", "category", "listed_at"]]
    out = pairs.merge(live, on="item_id")
    out = out[out["seller_id"] != out["user_id"]]
    return _without(out, snap.purchases)


def _without(frame: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``frame`` whose (user_id, item_id) is not in ``pairs``."""
    marked = frame.merge(pairs[["user_id", "item_id"]].drop_duplicates().assign(_drop=True), on=["user_id", "item_id"], how="left")
    return marked[marked["_drop"].isna()].drop(columns="_drop").reset_index(drop=True)


def apply_caps(ranked: pd.DataFrame, k: int = K, seller_cap: int = SELLER_CAP,
               category_cap: int = CATEGORY_CAP) -> pd.DataFrame:
    """Keep, per user in ``ranked`` order, at most ``seller_cap`` items per seller and
    ``category_cap`` per category, then the first ``k``."""
    ranked = ranked[ranked.groupby(["user_id", "seller_id"], sort=False).cumcount() < seller_cap]
    ranked = ranked[ranked.groupby(["user_id", "category"], sort=False).cumcount() < category_cap]
    return ranked[ranked.groupby("user_id", sort=False).cumcount() < k]


def home_feed(snap: Snapshot, ranker: FeedRanker, users: pd.DataFrame, recent: pd.DataFrame, related: pd.DataFrame,
              popular: pd.DataFrame, k: int = K, knobs: FeedKnobs = FeedKnobs()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(home feed ``COLUMNS``, scored candidate pool user_id/item_id/why) for ``users``
    (user_id, segment, history = number of interactions)."""
    warm = users[users["history"] >= MIN_HISTORY]
    pool = allowed(snap, candidates(snap, warm, recent, related, popular))
    if len(pool):
        fm = np.asarray(ranker.score(pool["user_id"].to_numpy(), pool["item_id"].to_numpy()), dtype=float)
        pool["score"] = fm + knobs.freshness_weight * decay(pool["listed_at"], snap.now, FRESHNESS_HALF_LIFE_HOURS)
    else:
        pool["score"] = pd.Series(dtype=float)
    pool["tier"] = 0
    personal = apply_caps(_order(pool), k, category_cap=knobs.category_cap)

    short = personal.groupby("user_id").size().reindex(users["user_id"], fill_value=0)
    needy = users[users["user_id"].isin(short[short < k].index)]
    if len(needy):
        fill = _without(allowed(snap, _fallback(needy, popular)), personal)
        topped = apply_caps(_order(pd.concat([personal[personal["user_id"].isin(needy["user_id"])], fill], ignore_index=True)), k,
                            category_cap=knobs.category_cap)
        personal = pd.concat([personal[~personal["user_id"].isin(needy["user_id"])], topped], ignore_index=True)
    feed = _order(personal)
    feed["rank"] = feed.groupby("user_id", sort=False).cumcount() + 1
    return feed[COLUMNS].reset_index(drop=True), pool[["user_id", "item_id", "why"]]


def _fallback(users: pd.DataFrame, popular: pd.DataFrame) -> pd.DataFrame:
    """Segment list (tier 1) then the global list (tier 2), scored by popularity."""
    segment = users[["user_id", "segment"]].merge(popular, on="segment").assign(source="segment", tier=1)
    segment["why"] = segment["segment"].map(why.popular_with)
    overall = users[["user_id"]].merge(popular[popular["segment"] == ALL], how="cross").assign(source="global", tier=2)
    overall["why"] = why.popular_with(ALL)
    both = pd.concat([segment, overall], ignore_index=True)[["user_id", "item_id", "score", "source", "tier", "why"]]
    return both.sort_values("tier", kind="stable").drop_duplicates(["user_id", "item_id"], keep="first")


def _order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows by user, tier, score (best first), item id; lexsort on codes (string sorts are slow)."""
    users = pd.factorize(frame["user_id"], sort=True)[0]
    items = pd.factorize(frame["item_id"], sort=True)[0]
    order = np.lexsort((items, -frame["score"].to_numpy(dtype=float), frame["tier"].to_numpy(), users))
    return frame.iloc[order].reset_index(drop=True)
