"""Search keyword suggestions, built from search events (the batch half; matching is in
:mod:`bunjang_lab.products.suggest_match`).

Queries are grouped by their folded form (case, spacing and full-width folded) and shown
in their most frequent spelling. A query's score is its search count, each search halved
every ``half_life_hours``; its categories are the leaf categories of the items its
searchers opened within ``click_window_minutes`` after searching (normalised to sum 1, top
``max_categories``), which lets serving boost queries that fit a user's categories.
Initial-consonant abbreviations (``ㄴㅇㅋ``) are ways of typing, not suggestions: dropped.

Only **finished** searches count: a search followed by a click or a favorite (within
``click_window_minutes``, before the user's next search), or the last search of a session
(``SESSION_GAP_MINUTES``), and never one the session's next search extends (``아이`` then
``아이폰``: 아이 was on the way). A query is a **fragment**, and not suggested, when a longer
query people searched extends it and it is no word of any listing's title or brand (``디퓨``
on the way to 디퓨저; ``삼성`` is a word even though ``삼성폴드`` extends it).
"""

from __future__ import annotations

import json
import re

import pandas as pd

from bunjang_lab.marketplace.state import Snapshot, decay
from bunjang_lab.products.suggest_match import fold, keys
from bunjang_lab.text.hangul import is_jamo_only, keystrokes

_HANGUL = re.compile("[가-힣]")
_MODEL_NUMBER = re.compile("[0-9a-z]+$")

HALF_LIFE_HOURS = 168.0
SESSION_GAP_MINUTES = 30.0
COLUMNS = ["bucket", "query", "keystrokes", "chosung", "score", "categories"]


def search_clicks(searches: pd.DataFrame, interactions: pd.DataFrame, listings: pd.DataFrame,
                  window_minutes: float, types: tuple[str, ...] = ("click",)) -> pd.DataFrame:
    """(search row index, clicked item's category) for clicks (or other ``types``) following a
    search by the same user: each is credited to the user's latest search before it."""
    clicks = interactions.loc[interactions["type"].isin(types), ["user_id", "ts", "item_id"]]
    left = clicks.sort_values("ts", kind="stable")
    right = searches.reset_index(names="search")[["search", "user_id", "ts"]].sort_values("ts", kind="stable")
    if left.empty or right.empty:
        return pd.DataFrame(columns=["search", "category"])
    joined = pd.merge_asof(left, right, on="ts", by="user_id", direction="backward",
                           tolerance=pd.Timedelta(minutes=window_minutes)).dropna(subset=["search"])
    joined["category"] = joined["item_id"].map(listings.set_index("item_id")["category"])
    return joined.dropna(subset=["category"])[["search", "category"]].astype({"search": int})


def session_ends(searches: pd.DataFrame, gap_minutes: float = SESSION_GAP_MINUTES) -> pd.Series:
    """Whether each search (user_id, ts) is its user's last before a gap of ``gap_minutes``."""
    s = searches.sort_values(["user_id", "ts"], kind="stable")
    nxt = s.shift(-1)
    last = (nxt["user_id"] != s["user_id"]) | ((nxt["ts"] - s["ts"]).dt.total_seconds() > gap_minutes * 60)
    return last.reindex(searches.index)


def finished(searches: pd.DataFrame, interactions: pd.DataFrame, listings: pd.DataFrame,
             window_minutes: float = 10.0, gap_minutes: float = SESSION_GAP_MINUTES) -> pd.Series:
    """Which searches (user_id, ts, key: the folded query) people finished (see module doc)."""
    s = searches.sort_values(["user_id", "ts"], kind="stable")
    nxt = s.shift(-1)
    same_session = ~session_ends(s, gap_minutes)
    strokes, next_strokes = s["key"].map(keystrokes), nxt["key"].fillna("").map(keystrokes)
    extended = same_session & pd.Series([len(b) > len(a) and b.startswith(a) for a, b in zip(strokes, next_strokes)], index=s.index)
    acted = s.index.isin(search_clicks(s, interactions, listings, window_minutes, ("click", "favorite"))["search"])
    return ((acted | ~same_session) & ~extended).reindex(searches.index)


def catalogue_words(listings: pd.DataFrame) -> set[str]:
    """Folded words of listing titles and brands, also without a trailing model number
    (``아이폰13`` gives 아이폰13 and 아이폰)."""
    words = set()
    for text in pd.concat([listings["title"], listings["brand"]]).dropna().unique():
        for token in str(text).split():
            word = fold(token)
            words.update((word, _MODEL_NUMBER.sub("", word) if _HANGUL.search(word) else word))
    return words - {""}


def fragments(queries: dict[str, str], words: set[str]) -> set[str]:
    """The folded queries (``queries``: folded -> display form) that a longer one extends and
    whose last word is no catalogue ``word``.

    >>> queries = {fold(q): q for q in ["아이", "아이폰", "삼성", "삼성폴드", "디퓨", "디퓨저", "nike dunk", "nike dunk low"]}
    >>> sorted(fragments(queries, {"아이폰", "삼성", "디퓨저", "dunk"}))
    ['디퓨', '아이']
    """
    strokes = sorted((keystrokes(k), k) for k in queries)
    out = set()
    for (a, key), (b, _) in zip(strokes, strokes[1:]):  # sorted: an extension follows right after
        if len(b) > len(a) and b.startswith(a) and key not in words and fold(queries[key].split()[-1]) not in words:
            out.add(key)
    return out


def suggestions(snap: Snapshot, half_life_hours: float = HALF_LIFE_HOURS, click_window_minutes: float = 10.0,
                max_queries: int = 50_000, max_categories: int = 5) -> pd.DataFrame:
    """The suggestion table (``COLUMNS``), best first within each bucket."""
    searches = snap.searches.copy()
    searches["display"] = [" ".join(q.split()) for q in searches["query"]]
    searches["key"] = [fold(q) for q in searches["query"]]
    searches = searches[(searches["key"] != "") & ~searches["key"].map(is_jamo_only)]
    searches = searches[finished(searches, snap.interactions, snap.listings, click_window_minutes)]
    queries = dict(zip(searches["key"], searches["display"]))
    searches = searches[~searches["key"].isin(fragments(queries, catalogue_words(snap.listings)))]
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

