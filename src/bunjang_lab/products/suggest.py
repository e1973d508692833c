"""Search keyword suggestions, built from search events (the batch half; matching is in
:mod:`bunjang_lab.products.suggest_match`).

Queries are grouped by their folded form (case, spacing and full-width folded) and shown
in their most frequent spelling. A query's score is its search count, each search halved
every ``half_life_hours``; its categories are the leaf categories of the items its
searchers opened within ``click_window_minutes`` after searching (normalised to sum 1, top
``max_categories``), which lets serving boost queries that fit a user's categories.
Initial-consonant abbreviations (``ㄴㅇㅋ``) are ways of typing, not suggestions: dropped.
"""

from __future__ import annotations

import json

import pandas as pd

from bunjang_lab.marketplace.state import Snapshot, decay
from bunjang_lab.products.suggest_match import fold, keys
from bunjang_lab.text.hangul import is_jamo_only

HALF_LIFE_HOURS = 168.0
COLUMNS = ["bucket", "query", "keystrokes", "chosung", "score", "categories"]


def search_clicks(searches: pd.DataFrame, interactions: pd.DataFrame, listings: pd.DataFrame,
                  window_minutes: float) -> pd.DataFrame:
    """(search row index, clicked item's category) for clicks following a search by the same user."""
    clicks = interactions.loc[interactions["type"] == "click", ["user_id", "ts", "item_id"]]
    left = clicks.sort_values("ts", kind="stable")
    right = searches.reset_index(names="search")[["search", "user_id", "ts"]].sort_values("ts", kind="stable")
    if left.empty or right.empty:
        return pd.DataFrame(columns=["search", "category"])
    joined = pd.merge_asof(left, right, on="ts", by="user_id", direction="backward",
                           tolerance=pd.Timedelta(minutes=window_minutes)).dropna(subset=["search"])
    joined["category"] = joined["item_id"].map(listings.set_index("item_id")["category"])
    return joined.dropna(subset=["category"])[["search", "category"]].astype({"search": int})


def suggestions(snap: Snapshot, half_life_hours: float = HALF_LIFE_HOURS, click_window_minutes: float = 10.0,
                max_queries: int = 50_000, max_categories: int = 5) -> pd.DataFrame:
    """The suggestion table (``COLUMNS``), best first within each bucket."""
    searches = snap.searches.copy()
    searches["display"] = [" ".join(q.split()) for q in searches["query"]]
    searches["key"] = [fold(q) for q in searches["query"]]
    searches = searches[(searches["key"] != "") & ~searches["key"].map(is_jamo_only)]
    if searches.empty:
        return pd.DataFrame(columns=COLUMNS)
    searches["w"] = decay(searches["ts"], snap.now, half_life_hours)
    score = searches.groupby("key")["w"].sum().nlargest(max_queries)
    display = (searches.groupby(["key", "display"]).size().rename("n").reset_index()
               .sort_values(["key", "n", "display"], ascending=[True, False, True]).drop_duplicates("key")
               .set_index("key")["display"])

    clicked = search_clicks(searches, snap.interactions, snap.listings, click_window_minutes)
    clicked["key"] = searches["key"].reindex(clicked["search"]).to_numpy()
    counts = clicked.groupby(["key", "category"]).size().rename("n").reset_index()
    counts = counts.sort_values(["key", "n", "category"], ascending=[True, False, True])
    counts = counts[counts.groupby("key").cumcount() < max_categories]
    categories = {key: _distribution(group) for key, group in counts.groupby("key")}

    rows = []
    for key, value in score.items():
        rows.append({**keys(display[key]), "score": float(value),
                     "categories": json.dumps(categories.get(key, {}), ensure_ascii=False)})
    table = pd.DataFrame(rows)
    return table.sort_values(["bucket", "score", "query"], ascending=[True, False, True], ignore_index=True)[COLUMNS]


def _distribution(group: pd.DataFrame) -> dict:
    total = float(group["n"].sum())
    return {c: round(float(n) / total, 4) for c, n in zip(group["category"], group["n"])}

