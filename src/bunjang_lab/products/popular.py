"""Popular lists: overall and per gender × age band, from time-decayed weighted interactions.

An item's popularity in a segment is the sum of its interactions by the segment's users,
each weighted by type (click 1, favorite 2, chat 3 — ``catalog.INTERACTION_WEIGHTS``) and
halved every ``half_life_hours``. Only live listings are ranked. Small segments are
smoothed towards the overall list: ``seg(i) + prior × all(i) × mass(seg) / mass(all)``, so
every segment has a full list and a segment with no users gets the overall one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bunjang_lab.marketplace.state import Snapshot, decay
from bunjang_lab.marketplace.segments import ALL, all_segments

HALF_LIFE_HOURS = 72.0
SEGMENT_PRIOR = 0.2
COLUMNS = ["segment", "rank", "item_id", "score"]


def item_scores(snap: Snapshot, half_life_hours: float = HALF_LIFE_HOURS) -> pd.DataFrame:
    """Decayed interaction weight per (segment, item) over live items, ``"all"`` included."""
    acts = snap.interactions[snap.interactions["item_id"].isin(snap.live["item_id"])]
    acts = acts.assign(w=acts["weight"].to_numpy() * decay(acts["ts"], snap.now, half_life_hours))
    acts = acts.merge(snap.users[["user_id", "segment"]], on="user_id", how="left")
    acts["segment"] = acts["segment"].fillna("unknown|unknown")
    overall = acts.groupby("item_id", as_index=False)["w"].sum().assign(segment=ALL)
    by_segment = acts.groupby(["segment", "item_id"], as_index=False)["w"].sum()
    return pd.concat([overall, by_segment], ignore_index=True).rename(columns={"w": "score"})


def popular_lists(snap: Snapshot, k: int = 100, half_life_hours: float = HALF_LIFE_HOURS,
                  prior: float = SEGMENT_PRIOR) -> pd.DataFrame:
    """Top ``k`` live items for ``"all"`` and every ``"<gender>|<band>"`` segment."""
    scores = item_scores(snap, half_life_hours)
    overall = scores[scores["segment"] == ALL].set_index("item_id")["score"]
    # Tie-break on freshness so a quiet marketplace still shows its newest listings.
    fresh = snap.live.set_index("item_id")["listed_at"].rank(method="first", ascending=True) * 1e-9
    overall = overall.reindex(fresh.index, fill_value=0.0) + fresh
    head = overall.nlargest(max(k * 5, k))
    total = float(overall.sum()) or 1.0
    parts = []
    for segment in all_segments():
        if segment == ALL:
            score = overall.nlargest(k)
        else:
            own = scores[scores["segment"] == segment].set_index("item_id")["score"]
            mass = float(own.sum())
            candidates = own.index.union(head.index)
            score = own.reindex(candidates, fill_value=0.0) + (prior * mass / total if mass else 1.0) * overall.reindex(candidates, fill_value=0.0)
            score = score.nlargest(k)
        parts.append(pd.DataFrame({"segment": segment, "rank": np.arange(1, len(score) + 1), "item_id": score.index, "score": score.to_numpy()}))
    return pd.concat(parts, ignore_index=True)[COLUMNS]
