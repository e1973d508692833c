"""The blocklist of confirmed fraud identifiers in the cache's live key space.

One ``moderation`` event changes it at once, with no publish (:func:`apply_moderation`, behind
``score event`` and ``POST /api/v1/events``): a confirmation adds the identifiers of its
target's text (:func:`bunjang_lab.fraud.confirmed.taught`), a later clearance of the same target
takes back what it added; an identifier stays while any confirmed target still holds it.
Each change bumps the blocklist's version (:data:`~bunjang_lab.serving.keys.BLOCKLIST`), which
every transaction watches, so concurrent decisions are serialised on every backend. The keys
are live, so publish and rollback keep them. :class:`CachedBlocklist` is the scorers' view.
A confirmed listing's pictures come from the image index (:func:`index_pictures`).
:func:`rebuild` replays a lake's decisions (``publish`` does, so a new cache has them too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from bunjang_lab.errors import InvalidInput
from bunjang_lab.event_values import DECISIONS, TARGET_KINDS
from bunjang_lab.serving import keys
from bunjang_lab.serving.cache import Cache, Transaction


def apply_moderation(cache: Cache, event: Mapping, ts: float,
                     pictures_of: Callable[[str], list[str]] | None = None) -> dict:
    """Apply one moderator decision; ``{"effect", "added", "removed", "blocklist_version"}``.
    ``pictures_of(listing)``: a confirmed listing's photos as blocklist identifiers (:func:`index_pictures`).

    A decision older than the target's latest one already applied changes nothing (``stale``).
    """
    kind, target, decision = (str(event.get(f) or "") for f in ("target_kind", "target_id", "decision"))
    if kind not in TARGET_KINDS:
        raise InvalidInput(f"moderation target_kind {kind!r} is not one of {', '.join(TARGET_KINDS)}")
    if not target:
        raise InvalidInput("moderation event lacks target_id")
    if decision not in DECISIONS:
        raise InvalidInput(f"moderation decision {decision!r} is not one of {', '.join(DECISIONS)}")
    categories = event.get("fraud_categories") or []
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise InvalidInput("fraud_categories must be a list of strings")
    target_text = event.get("target_text")
    if target_text is not None and not isinstance(target_text, str):
        raise InvalidInput("target_text must be a string")
    from bunjang_lab.fraud.confirmed import CONFIRMED, taught  # the text rules load only when a decision comes

    confirmed_listing = kind == "listing" and decision == CONFIRMED
    pictures = pictures_of(target) if pictures_of is not None and confirmed_listing else ()
    learned = taught(decision, target_text, pictures)
    target_key, name = keys.moderated(kind, target), f"{kind}:{target}"

    def update(tx: Transaction) -> dict:
        previous, state = tx.live_many([target_key, keys.BLOCKLIST])
        state = dict(state or {"version": 0, "entries": 0})
        if previous and previous["ts"] > ts:
            return {"effect": "stale", "added": 0, "removed": 0, "blocklist_version": state["version"]}
        before, after = set((previous or {}).get("identifiers", [])), set(learned)
        entries = dict(zip(sorted(before | after), tx.live_many([keys.blocked(i) for i in sorted(before | after)])))
        added = removed = 0
        for identifier, entry in entries.items():
            targets = dict((entry or {}).get("targets", {}))
            targets.pop(name, None)
            if identifier in after:
                targets[name] = {"categories": categories, "ts": round(ts, 3)}
            if targets:
                tx.put_live(keys.blocked(identifier), {"targets": targets})
            else:
                tx.delete_live(keys.blocked(identifier))
            added += entry is None and bool(targets)
            removed += entry is not None and not targets
        tx.put_live(target_key, {"decision": decision, "ts": round(ts, 3), "categories": categories,
                                 "identifiers": sorted(after)})
        if before != after:
            state = {"version": state["version"] + 1, "entries": state["entries"] + added - removed,
                     "updated_at": round(ts, 3)}
            tx.put_live(keys.BLOCKLIST, state)
        return {"effect": decision, "added": added, "removed": removed, "blocklist_version": state["version"]}

    return cache.atomic(update, watch=[], watch_live=[target_key, keys.BLOCKLIST])


def rebuild(cache: Cache, decisions: Iterable[Mapping], pictures_of: Callable[[str], list[str]] | None = None) -> dict:
    """Apply ``decisions`` (``moderation`` events, ``ts`` in epoch seconds; a lake's) in time
    order, as :func:`apply_moderation` would have one by one, so a fresh cache or a flushed
    Redis gets its blocklist back. Applying them again changes nothing (a target's same
    decision leaves the same entries, an older one is stale), and decisions the lake does not
    hold yet (applied by events since) stay. ``{"decisions", "changed", "version", "entries"}``."""
    applied = changed = 0
    for event in sorted(decisions, key=lambda e: e["ts"]):
        result = apply_moderation(cache, event, float(event["ts"]), pictures_of)
        applied += 1
        changed += bool(result["added"] or result["removed"])
    state = CachedBlocklist(cache).state()
    return {"decisions": applied, "changed": changed, "version": state["version"], "entries": state["entries"]}


class CachedBlocklist:
    """The confirmed identifiers as the text scorer asks for them (``lookup``), read live."""

    def __init__(self, cache: Cache):
        self.cache = cache

    def state(self) -> dict:
        """``{"version", "entries", ...}``; version 0 before any decision."""
        with self.cache.snapshot() as snap:
            return snap.live_many([keys.BLOCKLIST])[0] or {"version": 0, "entries": 0}

    def lookup(self, identifiers: Sequence[str]) -> dict[str, dict]:
        if not identifiers:
            return {}
        with self.cache.snapshot() as snap:
            values = snap.live_many([keys.blocked(i) for i in identifiers])
        return {i: v for i, v in zip(identifiers, values) if v is not None}


def index_pictures(index_path: str | Path | None) -> Callable[[str], list[str]] | None:
    """``pictures_of(listing)``: the blocklist identifiers of a listing's photos in the image
    index at ``index_path`` (none while it is not built); the index is opened at the first
    confirmed listing, so other events never load it, and its fresh segments read at each."""
    import threading

    if index_path is None:
        return None
    opened, lock = [], threading.Lock()  # the service applies events on several threads

    def pictures_of(listing: str) -> list[str]:
        from bunjang_lab.fraud.images.index import MANIFEST
        from bunjang_lab.fraud.images.scan import listing_pictures, open_index

        with lock:
            if not opened:
                if not (Path(index_path) / MANIFEST).exists():
                    return []
                opened.append(open_index(index_path))
            return listing_pictures(opened[0].reload(), listing)

    return pictures_of
