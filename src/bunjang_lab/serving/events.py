"""Real-time events applied to the cache (standard library only; behind ``score event``).

- An interaction (``view``, ``click``, ``favorite``, ``chat``, ``purchase``) folds into the
  user's recent categories and items with :func:`bunjang_lab.ranking.realtime.apply_event`
  (the very function the batch features use), recomputes their user vector from the FM's
  exported factors and re-ranks their cached candidates into a new home feed. The user's
  keys are rewritten in one cache transaction, so concurrent events for one user all count.
- A ``search`` adds the query's categories (what searchers clicked next, from the
  suggestion entries) to the user's search categories, which boost their suggestions.
- ``listing_status`` ``sold``/``removed``/``reserved`` (and a ``purchase``) marks the item
  unavailable in the live key space, which every list consults at read time, so it leaves
  every feed at once and stays out after a publish or rollback; ``live`` makes it available
  again. ``fraud_flag`` (or status ``flagged``) does the same for a listing flagged as fraud.
- An interaction with a listing the published version does not know (no item vector in a
  version published with vectors) is kept in the user's history but re-ranks nothing, and
  its answer says so (``"unknown_item": true``): a mistyped id must not pass as a re-rank.
- Ad events (``ad_campaign``, ``ad_campaign_status``, ``ad_impression``, ``ad_click``) update
  the campaigns, their budget state and the viewers' frequency counts (:mod:`bunjang_lab.serving.ads`).
- A ``moderation`` decision adds its confirmed target's identifiers to the fraud blocklist, or
  takes back what the target added when it is cleared (:mod:`bunjang_lab.serving.blocklist`);
  ``score text`` and the service consult it on their next call. A ``report`` waits for its decision.
- A ``signup`` records the new user's gender × age-band segment, so their first
  ``recommend`` already answers with the segment's list; ``impression`` and ``listing``
  events have no real-time effect.
"""

from __future__ import annotations

import math
import time
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Mapping

from bunjang_lab.errors import InvalidInput
from bunjang_lab.events import DEFAULT_MIN_TS, MAX_FUTURE_MS, to_epoch_ms
from bunjang_lab.marketplace import segments
from bunjang_lab.products import suggest_match, why
from bunjang_lab.products.limits import CATEGORY_CAP, HOME_SIZE, SELLER_CAP
from bunjang_lab.ranking import realtime
from bunjang_lab.serving import ads, blocklist, keys
from bunjang_lab.serving.cache import Cache, Transaction
from bunjang_lab.serving.inputs import identifier, short_text
from bunjang_lab.serving.lookup import unavailable


INTERACTIONS = frozenset(realtime.DEFAULT_TYPE_WEIGHTS)
NOT_APPLIED = frozenset({"impression", "listing", "report"})
"""Contract types with no real-time effect (a new listing is served after the next batch)."""
UNAVAILABLE_STATUSES = frozenset({"sold", "removed", "reserved", "flagged"})
AVAILABLE_STATUSES = frozenset({"live", "active"})


EARLIEST_TS = to_epoch_ms(DEFAULT_MIN_TS) / 1000.0
"""Earliest event time accepted (the event contract's lower bound)."""
LATEST_AHEAD = MAX_FUTURE_MS / 1000.0
"""How far ahead of the clock an event time may be (the contract's bound, 24 hours): a click
stamped far in the future would outweigh every real one until the next publish."""


def timestamp(value: Any, now: float | None = None) -> float:
    """Epoch seconds of an event time: ISO 8601 text, or epoch seconds/milliseconds; now if
    absent. It must lie between :data:`EARLIEST_TS` and ``now`` + :data:`LATEST_AHEAD`.

    >>> timestamp("2024-05-01T00:00:00Z"), timestamp(1714521600000), timestamp(1714521600)
    (1714521600.0, 1714521600.0, 1714521600.0)
    >>> timestamp(1e308)
    Traceback (most recent call last):
    ...
    bunjang_lab.errors.InvalidInput: ts 1e+308 is more than 24 hours ahead of the clock
    """
    now = time.time() if now is None else now
    if value is None:
        return now
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value) / 1000.0 if value > 1e11 else float(value)
    else:
        try:
            seconds = datetime.fromisoformat(short_text(value, "ts")).timestamp()
        except ValueError:
            raise InvalidInput(f"ts {value!r} is neither ISO 8601 nor epoch seconds") from None
    if not math.isfinite(seconds) or seconds > now + LATEST_AHEAD:
        raise InvalidInput(f"ts {value!r} is more than {LATEST_AHEAD / 3600:.0f} hours ahead of the clock")
    if seconds < EARLIEST_TS:
        raise InvalidInput(f"ts {value!r} is before {DEFAULT_MIN_TS}")
    return seconds


def _state(value: Mapping | None) -> dict:
    """A recent state; a plain ``{key: weight}`` mapping (as some runs store) is wrapped."""
    if not value:
        return realtime.new_state()
    return dict(value) if "weights" in value else {"at": None, "weights": dict(value)}


ID_FIELDS = ("event_id", "user_id", "item_id")
TEXT_FIELDS = ("type", "status", "category", "query", "gender")


def checked(event: Any) -> dict:
    """The event with its ids as bounded strings and its texts bounded valid UTF-8 (an id
    given as a list or an object would otherwise be stored as its Python repr)."""
    if not isinstance(event, Mapping):
        raise InvalidInput("an event must be a JSON object")
    out = dict(event)
    for field in ID_FIELDS:
        if out.get(field) not in (None, ""):
            out[field] = identifier(out[field], field)
    for field in TEXT_FIELDS:
        if out.get(field) is not None:
            out[field] = short_text(out[field], field)
    return out


def _require(event: Mapping, *fields: str) -> None:
    missing = [f for f in fields if event.get(f) in (None, "")]
    if missing:
        raise InvalidInput(f"{event.get('type')} event lacks {', '.join(missing)}")


def _params(tx: Transaction) -> dict:
    """The recent-weighting parameters of the published model (defaults before any export)."""
    return {**realtime.DEFAULT_PARAMS, **(tx.get(keys.REALTIME_PARAMS) or {})}


def _factors(tx: Transaction, user: dict, params: dict) -> dict:
    """The factors of the user's top recent categories and items, and the unknown slots."""
    names = [realtime.CATEGORY_PREFIX + realtime.UNKNOWN, realtime.ITEM_PREFIX + realtime.UNKNOWN]
    for prefix, field, top in ((realtime.CATEGORY_PREFIX, "recent_categories", "top_categories"),
                               (realtime.ITEM_PREFIX, "recent_items", "top_items")):
        names += [prefix + key for key, _ in realtime.top_weights(user[field], params[top])]
    values = tx.get_many([keys.factor(n) for n in names])
    return {name: vector for name, vector in zip(names, values) if vector is not None}


def _rerank(tx: Transaction, user_id: str, user: dict, home: dict | None, params: dict) -> list | None:
    """The user's new home list from their candidates, or None without exported vectors.
    Each item keeps the reason its generator gave (``cand:`` and the previous list)."""
    static = tx.get(keys.user_vector(user_id))
    listed = tx.get(keys.candidates(user_id)) or []
    shown = (home or {}).get("items", [])
    reasons = {**(listed.get("why") or {} if isinstance(listed, dict) else {}),
               **{entry[0]: entry[2] for entry in shown if len(entry) > 2}}
    pool = list(dict.fromkeys((listed["items"] if isinstance(listed, dict) else listed) + [entry[0] for entry in shown]))
    if static is None or not pool:
        return None
    vectors = dict(zip(pool, tx.get_many([keys.item_vector(i) for i in pool])))
    hidden = unavailable(tx, pool)
    candidates = [(i, v["v"], v["b"]) for i, v in vectors.items() if v is not None and i not in hidden]
    user_vec = realtime.user_vector(static, user["recent_categories"], user["recent_items"], _factors(tx, user, params), params)
    return capped(realtime.rerank(user_vec, candidates), vectors, HOME_SIZE, reasons)


def capped(ranked: list[tuple[str, float]], facts: Mapping[str, Mapping], k: int,
           reasons: Mapping[str, str] | None = None) -> list[list]:
    """The first ``k`` of ``ranked`` as ``[item, score, why]``, keeping the seller and category
    caps (``facts``: item -> {"s": seller, "c": category}; unknown ones are not capped).
    ``reasons`` gives each item's why (:data:`~bunjang_lab.products.why.FOR_YOU` when unknown).

    >>> facts = {f"i{n}": {"s": "s1" if n < 5 else f"s{n}", "c": "shoes"} for n in range(9)}
    >>> [entry[0] for entry in capped([(f"i{n}", 9.0 - n) for n in range(9)], facts, 5)]
    ['i0', 'i1', 'i2', 'i5', 'i6']
    >>> capped([("i0", 1.0)], facts, 1, {"i0": "new in 신발"})
    [['i0', 1.0, 'new in 신발']]
    """
    reasons = reasons or {}
    per_seller: dict[str, int] = {}
    per_category: dict[str, int] = {}
    out = []
    for item, score in ranked:
        fact = facts.get(item) or {}
        seller, category = fact.get("s"), fact.get("c")
        if seller is not None and per_seller.get(seller, 0) >= SELLER_CAP:
            continue
        if category is not None and per_category.get(category, 0) >= CATEGORY_CAP:
            continue
        if seller is not None:
            per_seller[seller] = per_seller.get(seller, 0) + 1
        if category is not None:
            per_category[category] = per_category.get(category, 0) + 1
        out.append([item, round(score, 6), reasons.get(item) or why.FOR_YOU])
        if len(out) == k:
            break
    return out


def _interaction(cache: Cache, event: Mapping, ts: float) -> dict:
    user_id, item_id = str(event["user_id"]), str(event["item_id"])

    def update(tx: Transaction) -> dict:
        user, home, item, manifest = tx.get_many([keys.user(user_id), keys.home(user_id), keys.item_vector(item_id),
                                                  keys.MANIFEST])
        params = _params(tx)
        user = dict(user or {})
        category = event.get("category") or (item or {}).get("c")
        user["recent_categories"], user["recent_items"] = realtime.apply_event(
            _state(user.get("recent_categories")), _state(user.get("recent_items")),
            {"type": event["type"], "item_id": item_id, "ts": ts}, category, params)
        tx.put(keys.user(user_id), user)
        if item is None and ((manifest or {}).get("counts") or {}).get("vectors"):
            # the version lists every listing it ranks: this one is a typo or listed since the batch
            return {"effect": "recorded", "unknown_item": True}
        ranked = _rerank(tx, user_id, user, home, params)
        if ranked is not None:
            tx.put(keys.home(user_id), {"source": "personal", "items": ranked, "updated_at": round(ts, 3)})
        return {"effect": "reranked" if ranked is not None else "recorded"}

    result = cache.atomic(update, watch=[keys.user(user_id), keys.home(user_id)])
    if event["type"] == "purchase":  # a used item is unique: once bought it is sold
        _set_status(cache, item_id, "sold", ts)
    return result


def _search(cache: Cache, event: Mapping, ts: float) -> dict:
    user_id = str(event["user_id"])
    query = suggest_match.fold(str(event["query"]))

    def update(tx: Transaction) -> dict:
        user, entries = tx.get_many([keys.user(user_id), keys.suggestions(suggest_match.bucket(query))])
        user = dict(user or {})
        categories = next((e["categories"] for e in entries or [] if suggest_match.fold(e["query"]) == query), {})
        if event.get("category"):
            categories = {**categories, str(event["category"]): 1.0}
        total = sum(categories.values())
        state, params = _state(user.get("search_categories")), _params(tx)
        for category, weight in categories.items():
            state = realtime.add(state, category, weight / total, ts, params)
        user["search_categories"] = state
        tx.put(keys.user(user_id), user)
        return {"effect": "recorded", "categories": sorted(categories)}

    return cache.atomic(update, watch=[keys.user(user_id)])


def _signup(cache: Cache, event: Mapping, ts: float) -> dict:
    """A new user's segment, so ``recommend`` gives them their segment's list right away."""
    user_id = str(event["user_id"])
    segment = segments.segment(event.get("gender"), event.get("birth_year"), time.gmtime(ts).tm_year)

    def update(tx: Transaction) -> dict:
        user = dict(tx.get(keys.user(user_id)) or {})
        user["segment"] = segment
        tx.put(keys.user(user_id), user)
        return {"effect": "recorded", "segment": segment}

    return cache.atomic(update, watch=[keys.user(user_id)])


def _set_status(cache: Cache, item_id: str, status: str, ts: float) -> dict:
    def update(tx: Transaction) -> dict:
        if status in AVAILABLE_STATUSES:
            tx.delete_live(keys.unavailable(item_id))
            return {"effect": "available"}
        tx.put_live(keys.unavailable(item_id), {"status": status, "ts": round(ts, 3)})
        return {"effect": "unavailable"}

    return cache.atomic(update, watch=[])


def apply_event(cache: Cache, event: Mapping, pictures_of: Callable[[str], list[str]] | None = None) -> dict:
    """Apply one event to the cache; returns what it did (``effect``) with the event's ids.
    ``pictures_of(listing)``: a confirmed listing's photos for the blocklist
    (:func:`bunjang_lab.serving.blocklist.index_pictures`).

    A malformed event (see :func:`checked` and :func:`timestamp`) changes nothing."""
    event = checked(event)
    kind = event.get("type")
    ts = timestamp(event.get("ts"))
    if kind in INTERACTIONS:
        _require(event, "user_id", "item_id")
        if kind == "favorite" and event.get("on") is False:
            result = {"effect": "ignored"}  # taking a favourite back says little about taste
        else:
            result = _interaction(cache, event, ts)
    elif kind == "signup":
        _require(event, "user_id")
        result = _signup(cache, event, ts)
    elif kind in NOT_APPLIED:
        result = {"effect": "ignored"}
    elif kind == "search":
        _require(event, "user_id", "query")
        result = _search(cache, event, ts)
    elif kind in ("listing_status", "fraud_flag"):
        _require(event, "item_id")
        status = "flagged" if kind == "fraud_flag" else str(event.get("status") or "")
        if status not in UNAVAILABLE_STATUSES | AVAILABLE_STATUSES:
            raise InvalidInput(f"listing_status {status!r} is not one of {', '.join(sorted(UNAVAILABLE_STATUSES | AVAILABLE_STATUSES))}")
        result = _set_status(cache, str(event["item_id"]), status, ts)
    elif kind == "moderation":
        result = blocklist.apply_moderation(cache, event, ts, pictures_of)
    elif kind in ads.CAMPAIGN_EVENTS | ads.AD_EVENTS:
        result = ads.apply_ad_event(cache, event, round(ts * 1000))
    else:
        raise InvalidInput(f"unsupported event type {kind!r}")
    ids = {f: event[f] for f in ("event_id", "type", "user_id", "item_id") if event.get(f) is not None}
    return {**ids, **result}


def apply_events(cache: Cache, events: Iterable[Mapping]) -> Iterator[dict]:
    """Apply events in order, yielding each result."""
    for event in events:
        yield apply_event(cache, event)
