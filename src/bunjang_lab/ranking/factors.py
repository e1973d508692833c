"""Score with numpy from xlearn's text export: the FM split into a user and an item part.

With the features of a (user, item) row split into a user side U and an item side I,

    score = b + sum_j w_j x_j + sum_{j<l} <v_j, v_l> x_j x_l
          = user_bias(u) + item_bias(i) + p_u . q_i,
    p_u = sum_{j in U} v_j x_j,   q_i = sum_{j in I} v_j x_j,

where ``user_bias`` holds the global bias, the user side's linear terms and the pairs
inside U (likewise for items). Ranking every live item for many users is then a blocked
matrix product plus a partial sort (:meth:`FMFactors.top_k`).

>>> import numpy as np
>>> users = Part(np.array(["u1", "u2"]), np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2))
>>> items = Part(np.array(["a", "b", "c"]), np.array([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]]), np.zeros(3))
>>> top = top_k(users, items, 2, exclude={"u1": ["a"]})
>>> top.item_ids.tolist()
[['c', 'b'], ['b', 'c']]
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from bunjang_lab.ranking import features as F
from bunjang_lab.ranking import realtime
from bunjang_lab.ranking.fm import read_text_model

# the threshold is the sample's 6th best: about 6 * n_items / sample survivors per user, and
# fewer than 20 (the usual k) for well under 1% of users
SAMPLE_RANK = 6


@dataclass
class Part:
    """One side of the FM: ids, vectors (n, k) and biases (n,)."""

    ids: np.ndarray
    vectors: np.ndarray
    bias: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class TopK:
    item_ids: np.ndarray  # (n_users, k); rows with fewer candidates are padded with None
    scores: np.ndarray  # (n_users, k); padding is -inf


class FMFactors:
    """The FM's parameters and feature map; computes user/item parts at a time ``at``."""

    def __init__(self, bias: float, w: np.ndarray, V: np.ndarray, feature_map: F.FeatureMap, meta: dict | None = None):
        self.bias, self.w, self.V, self.feature_map, self.meta = bias, w, V, feature_map, meta or {}

    @classmethod
    def load(cls, model_dir) -> "FMFactors":
        model_dir = Path(model_dir)
        fmap = F.FeatureMap.load(model_dir / "feature_map.json")
        bias, w, V = read_text_model(model_dir / "model.txt", fmap.n_features)
        meta_path = model_dir / "meta.json"
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
        return cls(bias, w, V, fmap, meta)

    @property
    def k(self) -> int:
        return self.V.shape[1]

    def side(self, X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """(vectors, bias) of one side's encoded rows: sum v x, and linear + inner pairs."""
        X = sp.csr_matrix(X)
        vectors = np.asarray(X @ self.V)
        inner = 0.5 * (np.square(vectors).sum(axis=1) - np.asarray(X.multiply(X) @ np.square(self.V)).sum(axis=1))
        return vectors, np.asarray(X @ self.w).ravel() + inner

    def score_rows(self, X) -> np.ndarray:
        """Raw FM scores of full rows (what xlearn's predict returns)."""
        _, bias = self.side(X)
        return self.bias + bias

    def user_parts(self, user_ids, ctx: F.Context, at, with_recent: bool = True) -> Part:
        """User parts at time ``at`` (one time, or one per user; surface "home"); recent
        tastes from ``ctx`` before it."""
        user_ids = np.asarray(user_ids).astype(str)
        at = pd.Timestamp(at) if np.ndim(at) == 0 else pd.to_datetime(np.asarray(at), utc=True)
        rows = pd.DataFrame({"user_id": user_ids, "ts": at})
        frame = F.user_frame(rows, ctx, self.feature_map.recent_params, with_recent=with_recent)
        vectors, bias = self.side(self.feature_map.encode(frame))
        return Part(user_ids, vectors, bias + self.bias)

    def item_parts(self, item_ids, ctx: F.Context, at) -> Part:
        """Item parts at time ``at`` (freshness is the listing's age then)."""
        item_ids = np.asarray(item_ids).astype(str)
        frame = F.item_frame(item_ids, pd.Timestamp(at), ctx, self.feature_map.price_edges)
        vectors, bias = self.side(self.feature_map.encode(frame))
        return Part(item_ids, vectors, bias)

    def top_k(self, user_part: Part, item_part: Part, k: int, exclude=None, **options) -> TopK:
        return top_k(user_part, item_part, k, exclude=exclude, **options)


def _exclusion_matrix(exclude, user_ids, item_ids) -> sp.csr_matrix | None:
    """``{user_id: item_ids}`` to a (users x items) boolean CSR matrix (unknown ids ignored)."""
    if exclude is None or sp.issparse(exclude):
        return exclude
    user_pos = {u: i for i, u in enumerate(user_ids)}
    item_pos = {it: j for j, it in enumerate(item_ids)}
    rows, cols = [], []
    for user, items in exclude.items():
        i = user_pos.get(user)
        if i is None:
            continue
        js = [item_pos[it] for it in items if it in item_pos]
        rows += [i] * len(js)
        cols += js
    return sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(len(user_ids), len(item_ids)))


def top_k(user_part: Part, item_part: Part, k: int, exclude=None, block_size: int = 128, tile: int = 2048,
          sample: int = 2048, n_threads: int | None = None) -> TopK:
    """The ``k`` best items per user: a float32 blocked matrix product, then a partial sort.

    ``exclude`` is ``{user_id: [item_id, ...]}`` or a (users x items) sparse matrix; blocks of
    ``block_size`` users run on ``n_threads`` threads (default: one per core). The item bias
    rides along as an extra factor, so the product already yields scores.

    For large catalogues each user first gets a threshold from a fixed sample of ``sample``
    columns (a few ranks below the sample's best: the k-th best of a subset can only be lower
    than the k-th best of all items). The block's product is then computed ``tile`` items at
    a time, small enough to stay in the core's L2 cache, and only the scores above the
    threshold leave it: the scores never make a round trip through main memory, and only
    about ``6 * n_items / sample`` of them per user are sorted. The rare users left with fewer
    than k survivors (or whose survivors were excluded) are ranked again exactly.
    """
    n_users, n_items = len(user_part), len(item_part)
    k_eff = min(k, n_items)
    n_threads = (os.cpu_count() or 1) if n_threads is None else n_threads
    mask = _exclusion_matrix(exclude, user_part.ids, item_part.ids)
    P = np.hstack([user_part.vectors, np.ones((n_users, 1))]).astype(np.float32)
    Q_t = np.ascontiguousarray(np.hstack([item_part.vectors, item_part.bias[:, None]]).astype(np.float32).T)
    sampled = k_eff < sample and n_items > 8 * sample
    if sampled:
        rank = min(k_eff, SAMPLE_RANK)
        columns = np.sort(np.random.default_rng(0).choice(n_items, sample, replace=False))
        Q_sample = np.ascontiguousarray(Q_t[:, columns])
        tiles = [(start, np.ascontiguousarray(Q_t[:, start:start + tile])) for start in range(0, n_items, tile)]
    best = np.zeros((n_users, k_eff), dtype=np.int64)
    best_scores = np.full((n_users, k), -np.inf, dtype=np.float32)
    buffers = threading.local()  # per-thread tile buffers, reused: fresh arrays cost page faults

    def exact(rows: np.ndarray) -> None:
        scores = P[rows] @ Q_t
        if mask is not None:
            block = mask[rows].tocoo()
            scores[block.row, block.col] = -np.inf
        best[rows], best_scores[rows, :k_eff] = _best_of_rows(scores, k_eff)

    def score_block(start: int) -> None:
        stop = min(start + block_size, n_users)
        if not sampled:
            exact(np.arange(start, stop))
            return
        if getattr(buffers, "scores", None) is None:
            buffers.scores = np.empty((block_size, tile), dtype=np.float32)
            buffers.above = np.empty((block_size, tile), dtype=bool)
        users = P[start:stop]
        n = stop - start
        threshold = np.partition(users @ Q_sample, sample - rank, axis=1)[:, sample - rank, None]
        found = []
        for first, Q_tile in tiles:
            width = Q_tile.shape[1]
            scores = np.matmul(users, Q_tile, out=buffers.scores[:n, :width])
            hits = np.flatnonzero(np.greater_equal(scores, threshold, out=buffers.above[:n, :width]))
            rows, cols = np.divmod(hits, width)
            found.append((rows * n_items + first + cols, scores.ravel()[hits]))
        flat = np.concatenate([f for f, _ in found])
        vals = np.concatenate([v for _, v in found])
        if mask is not None:
            block = mask[start:stop].tocoo()
            allowed = ~np.isin(flat, block.row.astype(np.int64) * n_items + block.col)
            flat, vals = flat[allowed], vals[allowed]
        rows, cols = np.divmod(flat, n_items)
        idx, top, counts = _best_of_candidates(rows, cols, vals, n, k_eff)
        best[start:stop], best_scores[start:stop, :k_eff] = idx, top
        short = np.flatnonzero(counts < k_eff)
        if len(short):
            exact(start + short)

    starts = range(0, n_users, block_size)
    if n_threads > 1 and len(starts) > 1:
        # numpy releases the GIL in the products and comparisons: one block per core,
        # each with a single-threaded BLAS so the cores are not oversubscribed
        with threadpool_limits(1, "blas"), ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(score_block, starts))
    else:
        for start in starts:
            score_block(start)
    best_scores[:, :k_eff] += user_part.bias.astype(np.float32)[:, None]
    ids = np.full((n_users, k), None, dtype=object)
    ids[:, :k_eff] = item_part.ids[best]
    ids[~np.isfinite(best_scores)] = None
    return TopK(ids, best_scores)


def _best_of_rows(scores: np.ndarray, k: int):
    """Per row of a dense score matrix, the k best (columns, scores), best first."""
    n_cols = scores.shape[1]
    part = np.argpartition(scores, n_cols - k, axis=1)[:, n_cols - k:] if k < n_cols \
        else np.broadcast_to(np.arange(n_cols), scores.shape)
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)


def _best_of_candidates(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int, k: int):
    """Per row, the k best of scattered (row, column, score) candidates, best first, and
    how many candidates each row had (rows with fewer than k are padded with -inf)."""
    vals64 = vals.astype(np.float64)
    low, high = (vals64.min(), vals64.max()) if len(vals64) else (0.0, 0.0)
    # one sort on "row, then score descending" (np.lexsort is several times slower)
    order = np.argsort(rows * (high - low + 2.0) + (high - vals64))
    rows, cols, vals = rows[order], cols[order], vals[order]
    first = np.searchsorted(rows, np.arange(n_rows))
    rank = np.arange(len(rows)) - first[rows]
    keep = rank < k
    idx = np.zeros((n_rows, k), dtype=np.int64)
    top = np.full((n_rows, k), -np.inf, dtype=np.float32)
    idx[rows[keep], rank[keep]] = cols[keep]
    top[rows[keep], rank[keep]] = vals[keep]
    return idx, top, np.bincount(rows, minlength=n_rows)


def export_vectors(scorer: FMFactors, ctx: F.Context, user_ids, item_ids, at, out_dir) -> Path:
    """Write what serving needs to re-rank a user in real time (``RUN_DIR/products/vectors/``).

    ``users.parquet`` (user_id, vector, bias: the static part, without recent tastes),
    ``items.parquet`` (item_id, vector, bias at ``at``), ``factors.parquet`` (key, vector for
    every ``recent_category=`` / ``recent_item=`` key, unknown slots included) and
    ``meta.json`` (model version, k, the recent-weighting parameters of
    :mod:`bunjang_lab.ranking.realtime`). Returns the folder.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    users = scorer.user_parts(user_ids, ctx, at, with_recent=False)
    items = scorer.item_parts(item_ids, ctx, at)
    prefixes = (realtime.CATEGORY_PREFIX, realtime.ITEM_PREFIX)
    keys = [(j, key) for j, key in enumerate(scorer.feature_map.keys) if key.startswith(prefixes)]
    tables = {
        "users.parquet": pd.DataFrame({"user_id": users.ids, "vector": list(users.vectors.astype(np.float32)), "bias": users.bias}),
        "items.parquet": pd.DataFrame({"item_id": items.ids, "vector": list(items.vectors.astype(np.float32)), "bias": items.bias}),
        "factors.parquet": pd.DataFrame({"key": [key for _, key in keys],
                                         "vector": [scorer.V[j].astype(np.float32) for j, _ in keys]}),
    }
    for name, table in tables.items():
        table.to_parquet(out / name, index=False)
    meta = {"model_version": scorer.meta.get("version"), "k": scorer.k, "at": pd.Timestamp(at).isoformat(),
            "surface": F.SCORING_SURFACE, "recent_params": scorer.feature_map.recent_params}
    (out / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return out
