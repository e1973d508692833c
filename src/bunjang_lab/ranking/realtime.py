"""Real-time user updates from the FM's exported factors (STANDARD LIBRARY ONLY).

The serving CLI imports this module on every ``score event``, so it must stay free of
pandas and numpy. The batch feature builder (:mod:`bunjang_lab.ranking.features`) folds
the events through the very same :func:`add` function, so a user's "recent categories"
and "recent items" are identical whether they were computed in a batch or event by event.

A recent state is a JSON-able dict ``{"at": epoch_seconds, "weights": {key: weight}}``:
every past interaction adds its type weight, and all weights halve every
``half_life_hours``. At most ``max_entries`` keys are kept (the smallest weight is dropped
first). Features use the ``top`` largest weights, L1-normalised, so the decay factor common
to all keys cancels and the features only change when an event arrives.

>>> params = dict(DEFAULT_PARAMS, half_life_hours=1.0)
>>> state = new_state()
>>> state = add(state, "shoes", 1.0, 0.0, params)
>>> state = add(state, "bags", 1.0, 3600.0, params)   # one half-life later
>>> state["weights"]
{'shoes': 0.5, 'bags': 1.0}
>>> top_weights(state, 2)
[('bags', 0.6666666666666666), ('shoes', 0.3333333333333333)]
>>> factors = {"recent_category=bags": [1.0, 0.0], "recent_category=shoes": [0.0, 3.0]}
>>> user_vector([0.5, 0.5], {"bags": 1.0}, {}, factors)
[1.5, 0.5]
>>> rerank([1.0, 0.0], [("a", [0.0, 1.0], 0.1), ("b", [2.0, 0.0], 0.0)])
[('b', 2.0), ('a', 0.1)]
"""

from __future__ import annotations

import heapq
import math
from typing import Iterable, Mapping, Sequence

from bunjang_lab.marketplace import INTERACTION_WEIGHTS as DEFAULT_TYPE_WEIGHTS

DEFAULT_PARAMS = {
    "half_life_hours": 72.0,
    "max_entries": 50,
    "top_categories": 5,
    "top_items": 10,
    "type_weights": DEFAULT_TYPE_WEIGHTS,
}

CATEGORY_PREFIX = "recent_category="
ITEM_PREFIX = "recent_item="
UNKNOWN = "__unknown__"


def new_state() -> dict:
    return {"at": None, "weights": {}}


def add(state: Mapping, key: str, weight: float, ts: float, params: Mapping = DEFAULT_PARAMS) -> dict:
    """A new state with ``weight`` added to ``key`` at ``ts`` (epoch seconds).

    Events arriving out of order are decayed to the state's time instead of rewinding it.
    """
    half_life = float(params["half_life_hours"]) * 3600.0
    at = state.get("at")
    weights = dict(state.get("weights") or {})
    if at is None:
        at = ts
    elif ts > at:
        factor = 0.5 ** ((ts - at) / half_life)
        weights = {k: w * factor for k, w in weights.items()}
        at = ts
    else:
        weight *= 0.5 ** ((at - ts) / half_life)
    weights[key] = weights.get(key, 0.0) + weight
    limit = int(params["max_entries"])
    if len(weights) > limit:
        # Deterministic pruning: smallest weight first, ties by key.
        keep = heapq.nlargest(limit, weights.items(), key=lambda kv: (kv[1], kv[0]))
        weights = dict(keep)
    return {"at": at, "weights": weights}


def top_weights(state: Mapping | None, n: int) -> list[tuple[str, float]]:
    """The ``n`` heaviest keys of a state (or plain ``{key: weight}`` dict), normalised to sum
    to 1, largest first."""
    # (weight, key) tuples sort in C: the batch feature builder calls this once per interaction
    top = sorted([(w, k) for k, w in _weights_of(state).items()], reverse=True)[: int(n)]
    total = sum(w for w, _ in top)
    if total <= 0:
        return []
    return [(k, w / total) for w, k in top]


def apply_event(recent_categories: Mapping, recent_items: Mapping, event: Mapping,
                category: str | None, params: Mapping = DEFAULT_PARAMS) -> tuple[dict, dict]:
    """Fold one interaction event (``type``, ``item_id``, ``ts`` in epoch seconds) into a user's
    recent categories and items; ``category`` is the listing's category (None if unknown).
    Events of other types leave the states unchanged."""
    weight = params["type_weights"].get(event.get("type"))
    if event.get("on") is False:  # removing a favorite is not a new taste signal
        return dict(recent_categories), dict(recent_items)
    if not weight or event.get("item_id") is None:
        return dict(recent_categories), dict(recent_items)
    ts = float(event["ts"])
    items = add(recent_items or new_state(), str(event["item_id"]), weight, ts, params)
    categories = recent_categories or new_state()
    if category:
        categories = add(categories, str(category), weight, ts, params)
    return dict(categories), items


def _weights_of(state: Mapping | None) -> Mapping:
    if not state:
        return {}
    return state["weights"] if "weights" in state else state


def user_vector(static: Sequence[float], recent_categories: Mapping | None, recent_items: Mapping | None,
                factors: Mapping[str, Sequence[float]], params: Mapping = DEFAULT_PARAMS) -> list[float]:
    """The user's FM vector: the static part plus the weighted factors of their recent
    categories and items (states or plain ``{key: weight}`` dicts). Keys the model never saw
    use the field's unknown slot, as in batch scoring."""
    vector = [float(x) for x in static]
    for prefix, state, n in ((CATEGORY_PREFIX, recent_categories, params["top_categories"]),
                             (ITEM_PREFIX, recent_items, params["top_items"])):
        for key, weight in top_weights(state, n):
            factor = factors.get(prefix + key) or factors.get(prefix + UNKNOWN)
            if factor is None:
                continue
            for j, f in enumerate(factor):
                vector[j] += weight * f
    return vector


def rerank(vector: Sequence[float], candidates: Iterable[tuple[str, Sequence[float], float]]) -> list[tuple[str, float]]:
    """Candidates ``(item_id, item_vector, item_bias)`` by FM score, best first.

    The user's own bias is the same for every candidate, so it does not change the order."""
    scored = []
    for item_id, item_vec, bias in candidates:
        score = float(bias) + math.fsum(a * b for a, b in zip(vector, item_vec))
        scored.append((item_id, score))
    scored.sort(key=lambda pair: (-pair[1], str(pair[0])))
    return scored
