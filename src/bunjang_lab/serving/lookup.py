"""Cached lookups behind the ``score`` commands (standard library only).

Every function reads from one :class:`~bunjang_lab.serving.cache.Snapshot`, so an answer
never mixes two versions. Lists skip items that are unavailable: flagged as fraud in the
published version, or sold/removed/reserved/flagged since (the live ``gone:`` keys).
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from bunjang_lab.errors import InvalidInput, MissingInput
from bunjang_lab.marketplace import segments
from bunjang_lab.products import why
from bunjang_lab.serving import keys
from bunjang_lab.serving.cache import Snapshot


def unavailable(snap: Snapshot, item_ids: list[str]) -> set[str]:
    """The items among ``item_ids`` no list may show right now."""
    flagged, gone = snap.get_many_and_live(keys.flags(item_ids), keys.unavailables(item_ids))
    return {i for i, f, g in zip(item_ids, flagged, gone) if f is not None or g is not None}


CHECK_SLACK = 4
"""Candidates checked beyond the ones still needed, so a few hidden items cost no second read."""


def _chunk(needed: int) -> int:
    return needed + CHECK_SLACK


def feed_first_keys(snap: Snapshot, user_id: str, k: int) -> list[str]:
    """The live keys :func:`recommend` reads first for ``user_id``'s personal feed (its first
    candidates' availability), so a caller can read them along with its own; [] without one."""
    home = snap.get(keys.home(user_id))
    return [] if home is None else keys.unavailables([entry[0] for entry in home["items"][:_chunk(k)]])


def available_top(snap: Snapshot, scored: list, k: int, exclude: set[str] = frozenset(),
                  reason: str = why.FOR_YOU) -> list[dict]:
    """The first ``k`` available ``[item_id, score, why]`` entries as ``{"item_id", "score",
    "why"}``; ``reason`` is the why of entries stored without one (popular lists, whose
    reason is their segment, and caches published before reasons existed).

    Availability is read for as many candidates as are still needed (plus
    :data:`CHECK_SLACK`), not for a whole list of hundreds.
    """
    candidates = [entry for entry in scored if entry[0] not in exclude] if exclude else scored
    found: list[dict] = []
    start = 0
    while len(found) < k and start < len(candidates):
        chunk = candidates[start:start + _chunk(k - len(found))]
        hidden = unavailable(snap, [entry[0] for entry in chunk])
        found += [{"item_id": entry[0], "score": entry[1], "why": entry[2] if len(entry) > 2 and entry[2] else reason}
                  for entry in chunk if entry[0] not in hidden]
        start += len(chunk)
    return found[:k]


def explained(snap: Snapshot, answer: dict, now: float | None = None) -> dict:
    """``answer`` with each item's title, category, price and listing age in hours (``--explain``);
    an item the published run does not describe keeps its id, score and why."""
    now = time.time() if now is None else now
    items = answer.get("items", [])
    facts = snap.get_many([keys.item(i["item_id"]) for i in items])
    out = []
    for item, fact in zip(items, facts):
        if fact:
            listed = fact.get("listed_at")
            age = None if listed is None else round(max(now - float(listed), 0.0) / 3600, 1)
            item = {**item, "title": fact.get("title"), "category": fact.get("category"),
                    "price": fact.get("price"), "age_hours": age}
        out.append(item)
    return {**answer, "items": out}


def _check_k(k: int) -> int:
    if k < 1:
        raise InvalidInput(f"k must be at least 1, got {k}")
    return k


def recommend(snap: Snapshot, user_id: str, k: int = 20, gender: str | None = None,
              birth_year: int | None = None, year: int | None = None) -> dict:
    """The user's home feed; an unknown user gets their segment's or the global popular list.

    The segment comes from ``gender``/``birth_year`` when given, else from the user's
    record (a ``signup`` event).

    ``source`` says which: ``"personal"`` (or the batch's own source for thin histories),
    ``"segment"`` or ``"global"``. A personal feed thinned by sold items is topped up from
    the user's segment, then the global list; those items carry their own ``source``.
    """
    _check_k(k)
    year = year or time.gmtime().tm_year
    if birth_year is not None:  # a typo must not quietly become the unknown segment
        segments.plausible_birth_year(birth_year, year)
    home = snap.get(keys.home(user_id))
    if home is not None:
        items = available_top(snap, home["items"], k)
        if len(items) < k:
            user = snap.get(keys.user(user_id)) or {}
            segment = user.get("segment") or segments.ALL
            fill, source = snap.get(keys.popular(segment)), "segment"
            if not fill:
                fill, source = snap.get(keys.popular(segments.ALL)) or [], "global"
            extra = available_top(snap, fill, k - len(items), exclude={i["item_id"] for i in items},
                                  reason=why.popular_with(segment if source == "segment" else segments.ALL))
            items += [{**item, "source": source} for item in extra]  # scores of another list: say so
        return {"user_id": user_id, "source": home.get("source", "personal"), "version": snap.version, "items": items}
    if gender is not None or birth_year is not None:
        segment = segments.segment(gender, birth_year, year)
    else:  # a user who signed up since the batch has their segment recorded by the event
        segment = (snap.get(keys.user(user_id)) or {}).get("segment")
    if segment is not None:
        listed = snap.get(keys.popular(segment))
        if listed:
            return {"user_id": user_id, "source": "segment", "segment": segment, "version": snap.version,
                    "items": available_top(snap, listed, k, reason=why.popular_with(segment))}
    listed = snap.require(keys.popular(segments.ALL))
    return {"user_id": user_id, "source": "global", "version": snap.version,
            "items": available_top(snap, listed, k, reason=why.popular_with(segments.ALL))}


def popular(snap: Snapshot, gender: str | None = None, age_band: str | None = None, k: int = 20) -> dict:
    """The popular list overall, for one segment, or for a gender or an age band alone.

    With only one of the two, the segments sharing it are merged by summing their scores
    (popularity is a decayed interaction count, so scores add up).
    """
    _check_k(k)
    if gender is not None and gender not in segments.GENDERS:
        raise InvalidInput(f"gender must be one of {', '.join(segments.GENDERS)}, got {gender!r}")
    if age_band is not None and age_band not in segments.AGE_BANDS:
        raise InvalidInput(f"age band must be one of {', '.join(segments.AGE_BANDS)}, got {age_band!r}")
    if gender is None and age_band is None:
        names = [segments.ALL]
    else:
        names = [f"{g}|{b}" for g in ([gender] if gender else segments.GENDERS)
                 for b in ([age_band] if age_band else segments.AGE_BANDS)]
    lists = snap.get_many([keys.popular(n) for n in names])
    if len(names) == 1:
        scored = lists[0] if lists[0] is not None else snap.require(keys.popular(names[0]))
    else:
        totals: dict[str, float] = {}
        for listed in lists:
            for item, score, *_ in listed or []:
                totals[item] = totals.get(item, 0.0) + score
        scored = sorted(([i, round(s, 6)] for i, s in totals.items()), key=lambda p: (-p[1], p[0]))
    segment = segments.ALL if names == [segments.ALL] else f"{gender or '*'}|{age_band or '*'}"
    reason = why.popular_with(names[0] if len(names) == 1 else segment)
    return {"segment": segment, "version": snap.version, "items": available_top(snap, scored, k, reason=reason)}


RELATED_K = 10
"""Related items a detail page shows."""


def related(snap: Snapshot, item_id: str, k: int = RELATED_K) -> dict:
    """Related items (substitutes) of a listing; an item the last run did not cover is an error."""
    _check_k(k)
    listed = snap.get(keys.related(item_id))
    if listed is None:
        raise MissingInput(f"no related items for item {item_id!r} in cache version {snap.version} (not in the published run)")
    return {"item_id": item_id, "version": snap.version, "items": available_top(snap, listed, k, exclude={item_id})}


def user_categories(user: Mapping[str, Any] | None) -> dict[str, float]:
    """A user's category weights for suggestions: browsing and search, each normalised."""
    from bunjang_lab.ranking import realtime

    weights: dict[str, float] = {}
    for field in ("recent_categories", "search_categories"):
        for category, weight in realtime.top_weights((user or {}).get(field), 20):
            weights[category] = weights.get(category, 0.0) + weight
    return weights


def suggest(snap: Snapshot, prefix: str, user_id: str | None = None, k: int = 10) -> dict:
    """Search suggestions for a typed prefix (jamo, chosung, folded Latin, the other keyboard
    mode and one-keystroke typos match)."""
    from bunjang_lab.products import suggest_match  # only this lookup needs the Hangul tables
    _check_k(k)
    buckets = suggest_match.buckets(prefix)
    if not buckets:
        raise InvalidInput("the prefix is empty")
    entries = [e for listed in snap.get_many([keys.suggestions(b) for b in buckets]) for e in listed or []]
    user = snap.get(keys.user(user_id)) if user_id else None
    answer = {"prefix": prefix, "version": snap.version,
              "suggestions": suggest_match.match(prefix, entries, user_categories(user), k=k)}
    if user_id:
        answer["user_id"] = user_id
    return answer
