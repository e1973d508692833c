"""Related items (substitutes) for every live listing.

The score of a candidate ``j`` for a listing ``i`` blends four signals::

    w_co × cooc(i, j) + w_title × cos(tfidf_i, tfidf_j) + w_category × [same leaf category]
                      + w_price × exp(-|log price_i - log price_j|)

* ``cooc``: how often the same users opened both within one session (clicks and favorites
  less than ``session_gap_minutes`` apart), cosine-normalised by each item's sessions;
* title similarity: TF-IDF over character 2–3-grams of the title and brand, so messy
  Korean titles (spacing, typos, model numbers) still match;
* same leaf category, and price proximity (a ratio of 2 scores ``exp(-0.69) ≈ 0.5``).

Candidates are the live listings of the same top-level category (substitutes rarely cross
it), processed in row blocks with sparse products: no all-pairs Python loop. A listing with
no behaviour still gets related items from its content.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from bunjang_lab.marketplace.state import Snapshot
from bunjang_lab.products.suggest_match import fold

COLUMNS = ["item_id", "rank", "related_item_id", "score"]


@dataclass(frozen=True)
class RelatedWeights:
    cooc: float = 1.0
    title: float = 0.3
    category: float = 0.15
    price: float = 0.1


def sessions(interactions: pd.DataFrame, gap_minutes: float) -> pd.Series:
    """A session number per interaction row: a user's events split at gaps > ``gap_minutes``."""
    order = interactions.sort_values(["user_id", "ts"], kind="stable")
    new_user = order["user_id"].ne(order["user_id"].shift())
    gap = order["ts"].diff().dt.total_seconds().gt(gap_minutes * 60)
    return (new_user | gap).cumsum().reindex(interactions.index)


def cooccurrence(interactions: pd.DataFrame, items: pd.Index, gap_minutes: float = 30.0,
                 max_session_items: int = 50) -> sp.csr_matrix:
    """Cosine-normalised session co-occurrence between ``items`` (sparse, zero diagonal)."""
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
    norm = sp.diags(1.0 / np.sqrt(np.maximum(diag, 1.0)))
    return (norm @ counts @ norm).astype(np.float32).tocsr()


def title_vectors(listings: pd.DataFrame) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows over character 2–3-grams of folded title + brand."""
    texts = [f" {fold(t)} {fold(b)} " for t, b in zip(listings["title"], listings["brand"])]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True, min_df=1, dtype=np.float32)
    return vectorizer.fit_transform(texts).tocsr()


def related_items(snap: Snapshot, k: int = 20, weights: RelatedWeights = RelatedWeights(),
                  gap_minutes: float = 30.0, block_rows: int = 1024) -> pd.DataFrame:
    """Top ``k`` related live listings for every live listing (``COLUMNS``)."""
    live = snap.live.reset_index(drop=True)
    if len(live) < 2:
        return pd.DataFrame(columns=COLUMNS)
    items = pd.Index(live["item_id"])
    cooc = cooccurrence(snap.interactions, items, gap_minutes)
    titles = title_vectors(live)
    leaf = live["category"].astype("category").cat.codes.to_numpy()
    log_price = np.log1p(live["price"].fillna(0).clip(lower=0).to_numpy(dtype=np.float32))
    out = []
    for _, block in live.groupby("top_category", sort=False).indices.items():
        cols = np.asarray(block)
        if len(cols) < 2:
            continue
        cooc_block, title_cols = cooc[cols][:, cols], titles[cols].T.tocsc()
        for start in range(0, len(cols), block_rows):
            rows = cols[start:start + block_rows]
            score = weights.title * (titles[rows] @ title_cols).toarray()
            score += weights.cooc * cooc_block[start:start + block_rows].toarray()
            score += weights.category * (leaf[rows, None] == leaf[None, cols])
            score += weights.price * np.exp(-np.abs(log_price[rows, None] - log_price[None, cols]))
            score[np.arange(len(rows)), start + np.arange(len(rows))] = -np.inf  # never itself
            out.append(_top_k(items[rows], items[cols], score, k))
    if not out:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(out, ignore_index=True)[COLUMNS]


def _top_k(row_ids: pd.Index, col_ids: pd.Index, score: np.ndarray, k: int) -> pd.DataFrame:
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
    })
