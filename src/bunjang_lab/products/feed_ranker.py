"""The FM behind the home feed's :class:`~bunjang_lab.products.feed.FeedRanker` protocol.

User and item parts are computed once per distinct id at the snapshot time
(``score = user_bias + item_bias + p_u · q_i``, see :mod:`bunjang_lab.ranking.factors`);
scoring the candidate pairs is then a gather and a row-wise dot product.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bunjang_lab.errors import MissingInput
from bunjang_lab.marketplace.state import Snapshot
from bunjang_lab.ranking import features, realtime
from bunjang_lab.ranking.factors import FMFactors, Part, export_vectors

CHUNK = 262_144  # pairs per row-wise dot (bounds the gathered (n, k) arrays)


class FMFeedRanker:
    """Scores (user, item) pairs with a loaded ``FMFactors`` at time ``at``.

    ``recent``, when given, holds each user's recent-category/item states (the table of
    ``ranking.features.recent_states``, the same one written to users.parquet and updated
    by serving); the user parts then take their recent features from it instead of folding
    the interactions again.
    """

    def __init__(self, fm, ctx, at, recent: pd.DataFrame | None = None):
        self.fm, self.ctx, self.at, self.recent = fm, ctx, at, recent
        self.version = fm.meta.get("version", "unknown")

    def user_parts(self, users: np.ndarray):
        if self.recent is None:
            return self.fm.user_parts(users, self.ctx, self.at)
        params = self.fm.feature_map.recent_params
        frame = features.user_frame(pd.DataFrame({"user_id": users, "ts": self.at}), self.ctx, params, with_recent=False)
        states = self.recent.set_index("user_id").reindex(users)
        frame["recent_category"] = [realtime.top_weights(s, params["top_categories"]) if isinstance(s, dict) else []
                                    for s in states["recent_categories"]]
        frame["recent_item"] = [realtime.top_weights(s, params["top_items"]) if isinstance(s, dict) else []
                                for s in states["recent_items"]]
        vectors, bias = self.fm.side(self.fm.feature_map.encode(frame))
        return Part(users, vectors, bias + self.fm.bias)

    def score(self, user_ids, item_ids) -> np.ndarray:
        u_index, users = pd.factorize(np.asarray(user_ids).astype(str))
        i_index, items = pd.factorize(np.asarray(item_ids).astype(str))
        up = self.user_parts(np.asarray(users, dtype=object).astype(str))
        ip = self.fm.item_parts(np.asarray(items, dtype=object).astype(str), self.ctx, self.at)
        out = up.bias[u_index] + ip.bias[i_index]
        for start in range(0, len(out), CHUNK):
            u, i = u_index[start:start + CHUNK], i_index[start:start + CHUNK]
            out[start:start + CHUNK] += np.einsum("ij,ij->i", up.vectors[u], ip.vectors[i])
        return out

    def export(self, out_dir: Path, user_ids, item_ids) -> Path:
        """The FM parts serving needs for real-time re-ranking (``products/vectors/``)."""
        return export_vectors(self.fm, self.ctx, np.asarray(user_ids), np.asarray(item_ids), self.at, out_dir)


def load_feed_ranker(model_dir, snap: Snapshot, recent: pd.DataFrame | None = None) -> FMFeedRanker:
    """The FM of ``model_dir`` (a model folder or the ``models/latest`` link) at the snapshot's time."""
    model_dir = Path(model_dir)
    if not (model_dir / "model.txt").exists():
        raise MissingInput(f"no trained model in {model_dir} (run `python -m bunjang_lab train` first)")
    return FMFeedRanker(FMFactors.load(model_dir.resolve()), features.Context.from_snapshot(snap), snap.now, recent)
