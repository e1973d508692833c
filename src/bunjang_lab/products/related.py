"""Related items (substitutes) for every live listing.

The score of a candidate ``j`` for a listing ``i`` blends five signals::

    w_co × cooc(i, j) + w_title × cos(tfidf_i, tfidf_j) + w_category × [same leaf category]
                      + w_price × exp(-|log price_i - log price_j|) + w_popularity × pop(j)

* ``cooc``: how often the same users opened both within one session (clicks and favorites
  less than ``session_gap_minutes`` apart), divided by the square root of the listing's
  sessions and the fourth root of the candidate's (:data:`CANDIDATE_SESSION_EXPONENT`);
* title similarity: TF-IDF over character 2–3-grams of the title and brand, so messy
  Korean titles (spacing, typos, model numbers) still match;
* same leaf category, and price proximity (a ratio of 2 scores ``exp(-0.69) ≈ 0.5``);
* ``pop``: the listing's decayed interaction weight (log-scaled to [0, 1]): among equally
  similar listings, the one people open.

Candidates are the live listings of the same top-level category (substitutes rarely cross
it), processed in row blocks with sparse products: no all-pairs Python loop. A listing with
no behaviour still gets related items from its content. A row its top-level category
leaves short is widened: co-viewed listings of other categories, then similar titles across
categories, then the popular list of the segment that opens the listing most. Each row's
``why`` names the generator that proposed it (:mod:`bunjang_lab.products.why`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from bunjang_lab.marketplace import segments
from bunjang_lab.marketplace.segments import ALL
from bunjang_lab.marketplace.state import Snapshot
from bunjang_lab.products import popular, why
from bunjang_lab.products.suggest_match import fold

COLUMNS = ["item_id", "rank", "related_item_id", "score", "why"]
UNKNOWN_SEGMENT = f"{segments.UNKNOWN}|{segments.UNKNOWN}"


@dataclass(frozen=True)
class RelatedWeights:
    cooc: float = 1.0
    title: float = 0.3
    category: float = 0.15
    price: float = 0.1
    popularity: float = 0.05


def sessions(interactions: pd.DataFrame, gap_minutes: float) -> pd.Series:
    """A session number per interaction row: a user's events split at gaps > ``gap_minutes``."""
    order = interactions.sort_values(["user_id", "ts"], kind="stable")
    new_user = order["user_id"].ne(order["user_id"].shift())
    gap = order["ts"].diff().dt.total_seconds().gt(gap_minutes * 60)
    return (new_user | gap).cumsum().reindex(interactions.index)


CANDIDATE_SESSION_EXPONENT = 0.25
"""How much a candidate's own session count discounts its co-occurrence (cosine: 0.5). Below
0.5 a listing many sessions open keeps more of its count: people do go on to open it
(chosen on a validation day of YooChoose's training log, see docs/benchmarks.md)."""


def cooccurrence(interactions: pd.DataFrame, items: pd.Index, gap_minutes: float = 30.0,
                 max_session_items: int = 50, candidate_exponent: float = CANDIDATE_SESSION_EXPONENT) -> sp.csr_matrix:
    """Session co-occurrence between ``items`` (sparse, zero diagonal): row i, column j holds
    the sessions with both / (sessions of i ** 0.5 × sessions of j ** ``candidate_exponent``)."""
    n = len(items)
    acts = interactions[interactions["type"].isin(("click", "favorite"))]
    if acts.empty:
        return sp.csr_matrix((n, n), dtype=np.float32)
    col = items.get_indexer(acts["item_id"])
    frame = pd.DataFrame({"session": sessions(acts, gap_minutes).to_numpy(), "col": col})
    frame = frame[frame["col"] >= 0].drop_duplicates()
    size = frame.groupby("session")["col"].transform("size")
    frame = frame[(size >= 2) & (size <= max_session_items)]  # a 500-item session is a crawler
    if frame.empty:
        return sp.csr_matrix((n, n), dtype=np.float32)
    rows = frame["session"].astype("category").cat.codes.to_numpy()
    x = sp.csr_matrix((np.ones(len(frame), np.float32), (rows, frame["col"].to_numpy())), shape=(rows.max() + 1, n))
    counts = (x.T @ x).tocsr()
    diag = counts.diagonal().astype(np.float32)
    counts.setdiag(0)
    counts.eliminate_zeros()
    sessions_of = np.maximum(diag, 1.0)
    return (sp.diags(sessions_of ** -0.5) @ counts @ sp.diags(sessions_of ** -candidate_exponent)).astype(np.float32).tocsr()


def title_vectors(listings: pd.DataFrame) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows over character 2–3-grams of folded title + brand."""
    texts = [f" {fold(t)} {fold(b)} " for t, b in zip(listings["title"], listings["brand"])]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True, min_df=1, dtype=np.float32)
    try:
        return vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # no title has a single n-gram (a catalogue without titles)
        return sp.csr_matrix((len(texts), 1), dtype=np.float32)


def related_items(snap: Snapshot, k: int = 20, weights: RelatedWeights = RelatedWeights(),
                  gap_minutes: float = 30.0, block_rows: int = 1024,
                  popular_lists: pd.DataFrame | None = None) -> pd.DataFrame:
    """Top ``k`` related live listings for every live listing (``COLUMNS``).

    A row is full whenever ``k`` other listings are live: after the scored listings of the
    same top-level category come co-viewed listings of other categories, then similar
    titles anywhere, then the popular list of the listing's audience (``popular_lists``,
    as :func:`~bunjang_lab.products.popular.popular_lists` returns; computed when None).
    """
    live = snap.live.reset_index(drop=True)
    if len(live) < 2:
        return pd.DataFrame(columns=COLUMNS)
    items = pd.Index(live["item_id"])
    cooc = cooccurrence(snap.interactions, items, gap_minutes)
    titles = title_vectors(live)
    leaf = live["category"].astype("category").cat.codes.to_numpy()
    log_price = np.log1p(live["price"].fillna(0).clip(lower=0).to_numpy(dtype=np.float32))
    scores = popular.item_scores(snap)
    overall = scores[scores["segment"] == ALL].set_index("item_id")["score"].reindex(items, fill_value=0.0).to_numpy()
    popularity = np.log1p(overall) / max(float(np.log1p(overall).max()), 1e-9)
    out = []
    for _, block in live.groupby("top_category", sort=False).indices.items():
        cols = np.asarray(block)
        if len(cols) < 2:
            continue
        cooc_block, title_cols = cooc[cols][:, cols], titles[cols].T.tocsc()
        for start in range(0, len(cols), block_rows):
            rows = cols[start:start + block_rows]
            co = cooc_block[start:start + block_rows].toarray()
            same_leaf = leaf[rows, None] == leaf[None, cols]
            score = weights.title * (titles[rows] @ title_cols).toarray() + weights.cooc * co
            score += weights.category * same_leaf
            score += weights.price * np.exp(-np.abs(log_price[rows, None] - log_price[None, cols]))
            score += weights.popularity * popularity[None, cols]
            score[np.arange(len(rows)), start + np.arange(len(rows))] = -np.inf  # never itself
            source = np.where(co > 0, CO_VIEWED, np.where(same_leaf, SAME_LEAF, SAME_PARENT))
            out.append(_top_k(items[rows], items[cols], score, k, source))
    found = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=[*COLUMNS, "source"])
    found = _fill(found, live, cooc, titles, k, _audience_lists(snap, scores, popular_lists, items))
    found["why"] = _reasons(found, live)
    return found[COLUMNS].reset_index(drop=True)


CO_VIEWED, SAME_LEAF, SAME_PARENT, SIMILAR_TITLE, POPULAR = "co-viewed", "leaf", "parent", "title", "popular"
"""Which generator proposed a related item (the ``source`` behind its ``why``)."""


def _audience_lists(snap: Snapshot, scores: pd.DataFrame, popular_lists: pd.DataFrame | None,
                    items: pd.Index) -> tuple[dict, dict]:
    """(live item -> the segment that interacts with it most, segment -> its popular item ids)."""
    if popular_lists is None:
        popular_lists = popular.popular_lists(snap)
    known = scores[(scores["segment"] != ALL) & (scores["segment"] != UNKNOWN_SEGMENT)]
    known = known[known["item_id"].isin(items)].sort_values(["score", "segment"], ascending=[False, True], kind="stable")
    top = known.drop_duplicates("item_id")
    audience = dict(zip(top["item_id"], top["segment"]))
    lists = {s: g.sort_values("rank")["item_id"].tolist() for s, g in popular_lists.groupby("segment")}
    return audience, lists


def _fill(found: pd.DataFrame, live: pd.DataFrame, cooc: sp.csr_matrix, titles: sp.csr_matrix, k: int,
          audience: tuple[dict, dict]) -> pd.DataFrame:
    """Top up rows shorter than ``k`` (their top-level category is small): co-viewed listings
    of other categories, then similar titles anywhere, then the audience's popular list."""
    k = min(k, len(live) - 1)
    found = found.assign(segment=None)
    items = live["item_id"].to_numpy()
    counts = found.groupby("item_id").size().reindex(items, fill_value=0).to_numpy()
    short = np.flatnonzero(counts < k)
    if not len(short):
        return found
    position = {item: n for n, item in enumerate(items)}
    segment_of, lists = audience
    taken = {item: set(g) for item, g in found[found["item_id"].isin(items[short])].groupby("item_id")["related_item_id"]}
    rows = []
    for n in short:
        item = items[n]
        seen = taken.get(item, set()) | {item}
        rank = int(counts[n])
        co = cooc[n].toarray().ravel()
        similar = (titles[n] @ titles.T).toarray().ravel()
        segment = segment_of.get(item, ALL)
        popular_ids = [*lists.get(segment, []), *lists.get(ALL, [])]
        proposals = [(co, CO_VIEWED), (similar, SIMILAR_TITLE)]
        for values, source in proposals:
            for j in np.argsort(-values, kind="stable"):
                if rank >= k or values[j] <= 0:
                    break
                if items[j] not in seen:
                    seen.add(items[j])
                    rank += 1
                    rows.append((item, rank, items[j], float(values[j]), source, None))
        for other in popular_ids:
            if rank >= k:
                break
            if other not in seen and other in position:
                seen.add(other)
                rank += 1
                rows.append((item, rank, other, 0.0, POPULAR, segment if other in lists.get(segment, ()) else ALL))
    fill = pd.DataFrame(rows, columns=[*COLUMNS[:4], "source", "segment"])
    return pd.concat([found, fill], ignore_index=True).sort_values(["item_id", "rank"], kind="stable")


def _reasons(found: pd.DataFrame, live: pd.DataFrame) -> np.ndarray:
    """The ``why`` of each related row, from its source (worded once per category or segment)."""
    facts = live.set_index("item_id")
    source = found["source"].to_numpy()
    words = np.full(len(found), why.SIMILAR_TITLE, dtype=object)
    words[source == CO_VIEWED] = why.CO_VIEWED
    for kind, column in ((SAME_LEAF, "category"), (SAME_PARENT, "top_category")):
        rows = source == kind
        wording = {c: why.same_category(c) for c in facts[column].unique()}
        words[rows] = found.loc[rows, "related_item_id"].map(facts[column]).map(wording).to_numpy()
    rows = source == POPULAR
    words[rows] = found.loc[rows, "segment"].fillna(ALL).map(why.popular_with).to_numpy()
    return words


def _top_k(row_ids: pd.Index, col_ids: pd.Index, score: np.ndarray, k: int, source: np.ndarray) -> pd.DataFrame:
    k = min(k, score.shape[1] - 1)  # the item itself is always last (-inf)
    top = np.argpartition(-score, k - 1, axis=1)[:, :k]
    top_scores = np.take_along_axis(score, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    top, top_scores = np.take_along_axis(top, order, axis=1), np.take_along_axis(top_scores, order, axis=1)
    return pd.DataFrame({
        "item_id": np.repeat(row_ids.to_numpy(), k),
        "rank": np.tile(np.arange(1, k + 1), len(row_ids)),
        "related_item_id": col_ids.to_numpy()[top.ravel()],
        "score": top_scores.ravel().astype(float),
        "source": np.take_along_axis(source, top, axis=1).ravel(),
    })
