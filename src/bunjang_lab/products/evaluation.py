"""Product-level quality on the ranker's time split (``evaluate --protocol time-split``).

Everything is computed from the split's training events at its cutoff, then judged on
what users did after it:

* **home**: the home feed after the business rules vs the raw FM's top 50 over every
  item live at the cutoff (both minus bought/own items) and the segment popular list,
  with the ranker's metrics on the held-out positives; the gap between ``fm-raw`` and
  ``home`` is the cost (or gain) of candidates, rules and freshness.
* **related**: after a click (a detail view), is the next item the user opened within 30
  minutes among the listing's 10 related items? Baseline: the 10 most popular live items
  of the same leaf category. Both lists come from the last daily batch before the click
  and skip what was no longer available then, as serving does (:func:`evaluate_related`).
* **suggest**: mean reciprocal rank of the queries people finished in the test window
  (followed by a click or favorite, or the last of a search session; never a fragment of a
  longer query, :func:`finished_queries`) given their first 1, 2 and 3 characters, and
  given the first 1, 2, 3 initial consonants (``ㄴ``, ``ㄴㅇ``, ``ㄴㅇㅋ``); under ``"final"``
  the same for every session's final query, fragments included. Baseline: plain prefix
  matching of raw query strings ranked by search count. A suggestion counts as a hit when
  its folded form equals the target's. Every comparison carries a paired 95% interval.

Searches come from the split's test window (``split.test_events``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from bunjang_lab.intervals import paired_bootstrap
from bunjang_lab.marketplace import UNAVAILABLE
from bunjang_lab.marketplace.segments import ALL
from bunjang_lab.marketplace.state import Snapshot, snapshot
from bunjang_lab.products import feed, popular, related, suggest, suggest_match
from bunjang_lab.products.recommend import active_users, recent_table
from bunjang_lab.products.feed_ranker import FMFeedRanker
from bunjang_lab.products.suggest_match import fold, match
from bunjang_lab.ranking import realtime
from bunjang_lab.ranking.features import recent_states
from bunjang_lab.ranking.training import fit_factors
from bunjang_lab.text.hangul import chosung, is_jamo_only

SESSION_GAP_MINUTES = suggest.SESSION_GAP_MINUTES
_DISCOUNT = 1.0 / np.log2(np.arange(2, 12))


def list_metrics(lists: dict, targets: dict) -> dict:
    """HR@10, NDCG@10, recall@20 and MRR of ranked lists (user -> item ids) against target
    sets (user -> items); a user without a list scores 0.

    >>> list_metrics({"u": ["a", "b", "c"]}, {"u": {"b"}})
    {'hr@10': 1.0, 'ndcg@10': 0.63093, 'recall@20': 1.0, 'mrr': 0.5, 'users': 1}
    """
    per_user = user_metrics(lists, targets)
    return {**{k: round(float(v.mean()) if len(v) else 0.0, 5) for k, v in per_user.items()}, "users": len(targets)}


def user_metrics(lists: dict, targets: dict) -> dict[str, np.ndarray]:
    """:func:`list_metrics` per user, in the order of ``targets`` (for paired intervals)."""
    out = {k: [] for k in ("hr@10", "ndcg@10", "recall@20", "mrr")}
    for user, wanted in targets.items():
        ranks = [r for r, item in enumerate(lists.get(user, ())) if item in wanted]
        in10 = [r for r in ranks if r < 10]
        out["hr@10"].append(float(bool(in10)))
        out["ndcg@10"].append(float(_DISCOUNT[in10].sum() / _DISCOUNT[: min(len(wanted), 10)].sum()) if in10 else 0.0)
        out["recall@20"].append(sum(r < 20 for r in ranks) / len(wanted))
        out["mrr"].append(1.0 / (ranks[0] + 1) if ranks else 0.0)
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def diversity_and_age(home: pd.DataFrame, live: pd.DataFrame, now: pd.Timestamp, k: int = 10) -> dict:
    """Of every user's first ``k`` home items: intra-list diversity (the share of item pairs
    from different leaf categories, averaged over users) and the median listing age in hours.

    >>> live = pd.DataFrame({"item_id": ["a", "b", "c"], "category": ["x", "x", "y"],
    ...                      "listed_at": pd.to_datetime(["2026-01-01T00", "2026-01-01T12", "2026-01-02T00"], utc=True)})
    >>> home = pd.DataFrame({"user_id": ["u", "u", "u"], "rank": [1, 2, 3], "item_id": ["a", "b", "c"]})
    >>> diversity_and_age(home, live, pd.Timestamp("2026-01-02T00", tz="UTC"))
    {'diversity@10': 0.66667, 'median_age_hours@10': 12.0}
    """
    top = home[home["rank"] <= k].merge(live[["item_id", "category", "listed_at"]], on="item_id")
    n = top.groupby("user_id").size()
    same = top.groupby(["user_id", "category"]).size()
    same_pairs = (same * (same - 1)).groupby(level="user_id").sum()
    pairs = (n * (n - 1))[n > 1]
    diversity = float((1 - same_pairs.reindex(pairs.index) / pairs).mean()) if len(pairs) else 0.0
    age = float(((now - top["listed_at"]).dt.total_seconds() / 3600).median()) if len(top) else 0.0
    return {"diversity@10": round(diversity, 5), "median_age_hours@10": round(age, 1)}


KNOB_GRID = (feed.FeedKnobs(), feed.FeedKnobs(category_cap=5), feed.FeedKnobs(category_cap=3), feed.FeedKnobs(category_cap=2),
             feed.FeedKnobs(freshness_weight=0.0), feed.FeedKnobs(freshness_weight=1.0), feed.FeedKnobs(freshness_weight=3.0))
"""The home feed settings measured by :func:`evaluate_knobs`; the first is the default."""


def evaluate_knobs(split, snap: Snapshot, ranker, tables: dict, grid=KNOB_GRID) -> dict:
    """Per home-feed setting: NDCG@10 on the held-out positives with the paired 95% interval
    of its difference from the first (default) setting, intra-list category diversity and
    median listing age of the first 10 items."""
    targets = split.targets_by_user()
    users = active_users(snap)
    users = users[users["user_id"].isin(targets)]
    recent = recent_table(recent_states(snap.interactions))
    out, base = [], None
    for knobs in grid:
        home, _ = feed.home_feed(snap, ranker, users, recent, tables["related"], tables["popular"], knobs=knobs)
        ndcg = user_metrics(_lists(home, "user_id", "item_id"), targets)["ndcg@10"]
        base = ndcg if base is None else base
        out.append({**dataclasses.asdict(knobs), "ndcg@10": round(float(ndcg.mean()), 5),
                    "difference": {k: round(v, 5) for k, v in paired_bootstrap(ndcg, base).items()},
                    **diversity_and_age(home, snap.live, snap.now)})
    return {"users": int(len(targets)), "settings": out}


def _lists(frame: pd.DataFrame, key: str, value: str) -> dict:
    return {k: g[value].tolist() for k, g in frame.groupby(key, sort=False)}


def evaluate_home(split, snap: Snapshot, ranker, tables: dict) -> dict:
    targets = split.targets_by_user()
    excluded = split.excluded_by_user()
    users = active_users(snap)
    users = pd.concat([users, pd.DataFrame({"user_id": sorted(set(targets) - set(users["user_id"])),
                                            "segment": "unknown|unknown", "history": 0})], ignore_index=True)
    users["segment"] = users["user_id"].map(snap.users.set_index("user_id")["segment"]).fillna(users["segment"])
    users = users[users["user_id"].isin(targets)]
    states = recent_states(snap.interactions)
    home, _ = feed.home_feed(snap, ranker, users, recent_table(states), tables["related"], tables["popular"])

    live = snap.live["item_id"].to_numpy()
    raw = {}
    for start in range(0, len(users), 256):
        block = users["user_id"].to_numpy()[start:start + 256]
        scores = ranker.score(np.repeat(block, len(live)), np.tile(live, len(block))).reshape(len(block), len(live))
        for row, user in zip(scores, block):
            banned = excluded.get(user, set())
            order = np.argsort(-row, kind="stable")
            raw[user] = [live[j] for j in order[: feed.K + len(banned)] if live[j] not in banned][: feed.K]
    seg = _lists(tables["popular"], "segment", "item_id")
    segment_lists = {u: [i for i in seg.get(s, seg[ALL]) if i not in excluded.get(u, ())][: feed.K]
                     for u, s in zip(users["user_id"], users["segment"])}
    return {"k": feed.K, "results": {
        "fm-raw": list_metrics(raw, targets),
        "home": list_metrics(_lists(home, "user_id", "item_id"), targets),
        "segment-popular": list_metrics(segment_lists, targets),
    }}


def next_opened(clicks: pd.DataFrame, gap_minutes: float = SESSION_GAP_MINUTES) -> pd.DataFrame:
    """(item_id, next_item_id, ts): each click (at ``ts``, when its detail page is shown)
    followed by the user's next, different click within the gap."""
    c = clicks.sort_values(["user_id", "ts"], kind="stable")
    nxt = c.shift(-1)
    ok = (nxt["user_id"] == c["user_id"]) & (nxt["item_id"] != c["item_id"]) & \
         ((nxt["ts"] - c["ts"]).dt.total_seconds() <= gap_minutes * 60)
    return pd.DataFrame({"item_id": c.loc[ok, "item_id"].to_numpy(), "next_item_id": nxt.loc[ok, "item_id"].to_numpy(),
                         "ts": c.loc[ok, "ts"].to_numpy()})


def session_log_events(clicks: pd.DataFrame) -> pd.DataFrame:
    """A click log without users or a catalogue (``session``, ``item_id``, ``ts`` in Unix
    seconds: YooChoose, RecSys 2015) as events: a session is a user ``s<session>``, an item a
    listing without title, category or price by ``shop``, listed an hour before its first click.

    >>> log = pd.DataFrame({"session": ["1", "1"], "item_id": ["a", "b"], "ts": [0.0, 60.0]})
    >>> session_log_events(log)[["type", "user_id", "item_id"]].values.tolist()
    [['listing', 'shop', 'a'], ['listing', 'shop', 'b'], ['click', 's1', 'a'], ['click', 's1', 'b']]
    """
    ts = pd.to_datetime(clicks["ts"], unit="s", utc=True)
    first = ts.groupby(clicks["item_id"]).min()
    listings = pd.DataFrame({"type": "listing", "user_id": "shop", "item_id": first.index,
                             "ts": first.to_numpy() - pd.Timedelta(hours=1)})
    views = pd.DataFrame({"type": "click", "user_id": "s" + clicks["session"].astype(str), "item_id": clicks["item_id"], "ts": ts})
    return pd.concat([listings, views], ignore_index=True)


def related_on_session_log(train: pd.DataFrame, test: pd.DataFrame) -> tuple[dict, int]:
    """(:func:`related_quality`, live items) of related items built from the ``train`` click
    log and judged on the next item opened in the ``test`` log's sessions (pairs of items
    seen in training; without categories the baseline is the overall popular list)."""
    snap = snapshot(session_log_events(train))
    table = related.related_items(snap)
    pairs = next_opened(session_log_events(test).query("type == 'click'"))
    live = set(snap.live["item_id"])
    pairs = pairs[pairs["item_id"].isin(live) & pairs["next_item_id"].isin(live)]
    scores = popular.item_scores(snap).query("segment == 'all'")[["item_id", "score"]]
    return related_quality([RelatedBatch(table, snap.live, scores, pairs)]), len(live)


@dataclasses.dataclass(frozen=True)
class RelatedBatch:
    """One batch's related items, live listings and overall popularity (item_id, score), and
    the (item_id, next_item_id, ts) pairs judged against them."""
    related: pd.DataFrame
    live: pd.DataFrame
    popularity: pd.DataFrame
    pairs: pd.DataFrame


def gone_since(catalog: pd.DataFrame) -> dict:
    """item_id -> when it stopped being available (ended, or reserved for good), for items
    that did: :func:`~bunjang_lab.marketplace.state.available` as one time per item."""
    reserved = catalog["status_at"].where(catalog["status"].isin(UNAVAILABLE))
    gone = pd.concat([catalog["ended_at"], reserved], axis=1).min(axis=1).dropna()
    return dict(zip(gone.index, gone))


def related_hits(batch: RelatedBatch, k: int = 10, gone: dict | None = None) -> dict[str, np.ndarray]:
    """Per pair of ``batch``, 1.0 when the next item is among the item's first ``k`` related
    items (``"related"``) and among the ``k`` most popular other live listings of the item's
    leaf category (``"category-popular"``). Items ``gone`` (:func:`gone_since`) before the
    pair's ``ts`` are skipped in both lists, which fill from further down, as serving does.

    >>> live = pd.DataFrame({"item_id": ["a", "b", "c"], "category": ["x", "x", "x"]})
    >>> rel = pd.DataFrame({"item_id": ["a", "a"], "rank": [1, 2], "related_item_id": ["b", "c"]})
    >>> pop = pd.DataFrame({"item_id": ["b", "c"], "score": [2.0, 1.0]})
    >>> pairs = pd.DataFrame({"item_id": ["a"], "next_item_id": ["c"], "ts": [pd.Timestamp("2026-01-02", tz="UTC")]})
    >>> related_hits(RelatedBatch(rel, live, pop, pairs), k=1)["related"].tolist()
    [0.0]
    >>> hits = related_hits(RelatedBatch(rel, live, pop, pairs), k=1, gone={"b": pd.Timestamp("2026-01-01", tz="UTC")})
    >>> hits["related"].tolist(), hits["category-popular"].tolist()
    ([1.0], [1.0])
    """
    gone = gone or {}
    ours = _lists(batch.related.sort_values(["item_id", "rank"], kind="stable"), "item_id", "related_item_id")
    by_leaf = batch.live[["item_id", "category"]].merge(batch.popularity, on="item_id", how="left").fillna({"score": 0.0})
    by_leaf = by_leaf.sort_values(["category", "score", "item_id"], ascending=[True, False, True])
    ranked_by_leaf = _lists(by_leaf, "category", "item_id")
    leaf = batch.live.set_index("item_id")["category"]
    hits = {"related": [], "category-popular": []}

    def shown(candidates, item, at) -> list:
        kept = (i for i in candidates if i != item and not (i in gone and gone[i] <= at))
        return [i for i, _ in zip(kept, range(k))]

    for item, nxt, at in zip(batch.pairs["item_id"], batch.pairs["next_item_id"], batch.pairs["ts"]):
        hits["related"].append(float(nxt in shown(ours.get(item, ()), item, at)))
        hits["category-popular"].append(float(nxt in shown(ranked_by_leaf.get(leaf[item], ()), item, at)))
    return {name: np.asarray(h, dtype=float) for name, h in hits.items()}


def compared(per_unit: dict[str, np.ndarray], ours: str, baseline: str, metric: str) -> dict:
    """Means of per-unit scores and the paired 95% bootstrap interval of ``ours - baseline``."""
    return {"results": {name: {metric: round(float(v.mean()), 5) if len(v) else 0.0} for name, v in per_unit.items()},
            "difference": {metric: {k: round(v, 5) for k, v in paired_bootstrap(per_unit[ours], per_unit[baseline]).items()}}}


def merged(parts: list[dict]) -> dict:
    """:func:`compared` answers of several metrics as one (results and differences by metric)."""
    out: dict = {"results": {}, "difference": {}}
    for part in parts:
        for name, values in part["results"].items():
            out["results"].setdefault(name, {}).update(values)
        out["difference"].update(part["difference"])
    return out


RELATED_KS = (10, 5)
"""HR@10 is what a detail page's row shows; HR@5 still separates lists where a leaf category
holds fewer than 11 listings (the baseline then shows the whole leaf)."""
BATCH_HOURS = 24.0
"""The batch rebuilds the products daily: a detail page is judged against the last batch's."""


def related_quality(batches: list[RelatedBatch], gone: dict | None = None) -> dict:
    """HR@10 and HR@5 of the next opened item over every batch's pairs: related items vs
    same-category popular, with paired 95% intervals of the differences."""
    def hits(k: int) -> dict[str, np.ndarray]:
        parts = [related_hits(b, k, gone) for b in batches]
        return {name: np.concatenate([p[name] for p in parts]) for name in ("related", "category-popular")}

    return {"pairs": int(sum(len(b.pairs) for b in batches)),
            **merged([compared(hits(k), "related", "category-popular", f"hr@{k}") for k in RELATED_KS])}


def evaluate_related(split, snap: Snapshot, tables: dict) -> dict:
    """:func:`related_quality` on the test window's clicks. Every day of the window is judged
    against a batch run at its start from the events before it (the first is the cutoff's,
    ``snap`` and ``tables``), as the daily batch serves them: a listing posted on the
    window's first day has related items on the second. Only pairs of listings live at the
    batch count; items gone (sold, reserved, removed) when the page is shown are skipped in
    both lists, as serving skips them."""
    pairs = next_opened(split.test[split.test["type"] == "click"])
    batches = []
    for day in range(int(np.ceil(split.test_days))):
        start = split.cutoff + pd.Timedelta(hours=BATCH_HOURS * day)
        if day:
            snap = snapshot(pd.concat([split.train, split.test_events[split.test_events["ts"] <= start]]), now=start)
            tables = {"related": related.related_items(snap),
                      "popular_scores": popular.item_scores(snap).query("segment == 'all'")[["item_id", "score"]]}
        live = set(snap.live["item_id"])
        judged = pairs[(pairs["ts"] > start) & (pairs["ts"] <= start + pd.Timedelta(hours=BATCH_HOURS))]
        judged = judged[judged["item_id"].isin(live) & judged["next_item_id"].isin(live)]
        batches.append(RelatedBatch(tables["related"], snap.live, tables["popular_scores"], judged))
    return {**related_quality(batches, gone_since(split.availability)), "batches": len(batches)}


def search_sessions(searches: pd.DataFrame, gap_minutes: float = SESSION_GAP_MINUTES) -> pd.DataFrame:
    """The last search of every search session (user_id, ts, query); abbreviations excluded."""
    s = searches.sort_values(["user_id", "ts"], kind="stable")
    final = s[suggest.session_ends(s, gap_minutes)]
    return final.loc[[bool(fold(q)) and not is_jamo_only(q) for q in final["query"]]]  # .loc: an empty mask selects no rows, not no columns


def finished_queries(snap: Snapshot, searches: pd.DataFrame, interactions: pd.DataFrame | None = None) -> pd.DataFrame:
    """The searches among ``searches`` people finished (:func:`~bunjang_lab.products.suggest.finished`,
    with the clicks and favorites of ``interactions``) that are no fragment of a longer query
    searched then or before (the snapshot's catalogue decides what is a word)."""
    s = searches.assign(key=[fold(q) for q in searches["query"]])
    s = s[(s["key"] != "") & ~s["key"].map(is_jamo_only)]
    if interactions is None:
        interactions = pd.DataFrame(columns=["user_id", "ts", "item_id", "type"])
    s = s[suggest.finished(s, interactions, snap.listings)]
    known = pd.concat([snap.searches["query"], s["query"]])
    queries = {fold(q): " ".join(q.split()) for q in known if fold(q)}
    return s[~s["key"].isin(suggest.fragments(queries, suggest.catalogue_words(snap.listings)))]


def user_categories(snap: Snapshot) -> dict:
    """user -> {category: weight} of their recent categories at the snapshot (what serving boosts with)."""
    states = recent_states(snap.interactions)
    n = realtime.DEFAULT_PARAMS["top_categories"]
    return {u: dict(realtime.top_weights(c, n)) for u, c in zip(states["user_id"], states["recent_categories"])}


def evaluate_suggest(snap: Snapshot, test_searches: pd.DataFrame, lengths=(1, 2, 3),
                     test_interactions: pd.DataFrame | None = None) -> dict:
    """MRR of the queries people finished (:func:`finished_queries`) given their first characters /
    initial consonants, against plain prefix popularity, with paired 95% intervals; under
    ``"final"`` the same for each search session's final query, finished or not."""
    table = suggest.suggestions(snap)
    categories = user_categories(snap)
    buckets = {b: g.to_dict("records") for b, g in table.groupby("bucket")}
    raw_queries = snap.searches["query"].value_counts().index.to_numpy(dtype=object)  # most searched first

    def reciprocal_ranks(targets: pd.DataFrame, typed_of, n: int) -> dict[str, np.ndarray]:
        rr = {"suggest": [], "prefix-popularity": []}
        for user, query in zip(targets["user_id"], targets["query"]):
            typed, target = typed_of(query, n), fold(query)
            if not typed:
                rr["suggest"].append(0.0)
                rr["prefix-popularity"].append(0.0)
                continue
            entries = [e for b in suggest_match.buckets(typed) for e in buckets.get(b, ())]
            ours = [fold(s["query"]) for s in match(typed, entries, categories.get(user), k=10)]
            plain = [fold(q) for q, _ in zip(raw_queries[[q.startswith(typed) for q in raw_queries]], range(10))]
            rr["suggest"].append(1.0 / (ours.index(target) + 1) if target in ours else 0.0)
            rr["prefix-popularity"].append(1.0 / (plain.index(target) + 1) if target in plain else 0.0)
        return {name: np.asarray(v, dtype=float) for name, v in rr.items()}

    def judged(targets: pd.DataFrame) -> dict:
        out = {"queries": int(len(targets)), "results": {}, "difference": {}}
        for mode, typed_of in (("characters", lambda q, n: q.strip()[:n]), ("chosung", lambda q, n: chosung(fold(q))[:n])):
            for n in lengths:
                part = compared(reciprocal_ranks(targets, typed_of, n), "suggest", "prefix-popularity", "mrr")
                out["results"][f"{mode}={n}"] = {name: m["mrr"] for name, m in part["results"].items()}
                out["difference"][f"{mode}={n}"] = part["difference"]["mrr"]
        return out

    return {**judged(finished_queries(snap, test_searches, test_interactions)), "final": judged(search_sessions(test_searches))}


def evaluate_products(split, fm=None, knobs: bool = False) -> dict:
    """``{"home": ..., "related": ..., "suggest": ...}`` for a time split (see module doc),
    and ``"knobs"`` (:func:`evaluate_knobs`) when ``knobs`` is true.

    ``fm`` is a trained ``FMFactors`` that never saw the split's test window (the promotion
    gate passes its candidate); without it an FM is trained on the split's training events.
    """
    snap = snapshot(split.train, now=split.cutoff)
    tables = {"popular": popular.popular_lists(snap),
              "popular_scores": popular.item_scores(snap).query("segment == 'all'")[["item_id", "score"]]}
    tables["related"] = related.related_items(snap, popular_lists=tables["popular"])
    if fm is None:
        fm, _ = fit_factors(split.train, split.context, split.cutoff)
    ranker = FMFeedRanker(fm, split.context, split.cutoff)
    out = {"cutoff": split.cutoff.isoformat(),
           "home": evaluate_home(split, snap, ranker, tables),
           "related": evaluate_related(split, snap, tables)}
    test = snapshot(split.test_events, now=split.cutoff + pd.Timedelta(days=split.test_days))
    out["suggest"] = {"protocol": "time-split", **evaluate_suggest(snap, test.searches, test_interactions=test.interactions)}
    if knobs:
        out["knobs"] = evaluate_knobs(split, snap, ranker, tables)
    return out
