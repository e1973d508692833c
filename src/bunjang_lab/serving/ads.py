"""Ads in serving: campaigns, budget state and frequency counts in the cache's live key space
(kept across publishes), updated by ad events in real time, and the ads of one request.

Applying events is standard library only (``score event``): an ``ad_campaign`` or
``ad_campaign_status`` rewrites ``adcamp:<id>`` by :func:`~bunjang_lab.ads.campaigns.apply_campaign_event`;
an ``ad_impression`` or ``ad_click`` is charged once by its ``event_id`` (the ``adev:`` marker)
with the ledger's rule (:mod:`bunjang_lab.ads.charges`) into ``adspend:<campaign>:<KST day>``,
and an impression counts towards the viewer's frequency cap (``adseen:<user>:<day>``).
Answering a request (:func:`ads_for`) runs the auction (numpy), imported when called.

Each event is one transaction watching the live keys it rewrites, so concurrent ad events
of one campaign (or retries of one event) all count exactly once, on SQLite and on Redis.
"""

from __future__ import annotations

import math
import operator
import time
from collections import OrderedDict
from typing import Any, Mapping, NamedTuple

from bunjang_lab.ads.blend import DEFAULT_MAX_SHARE, DEFAULT_POSITIONS, blend
from bunjang_lab.ads.campaigns import STOPPED, Campaign, apply_campaign_event
from bunjang_lab.ads.charges import DayState, apply_charge, kst_day
from bunjang_lab.errors import InvalidInput
from bunjang_lab.serving import keys, lookup, queries
from bunjang_lab.serving.cache import Cache, Snapshot, Transaction
from bunjang_lab.serving.inputs import identifier, short_text
from bunjang_lab.serving.lookup import unavailable

SURFACES = ("home", "search", "detail")
CAMPAIGN_EVENTS = frozenset({"ad_campaign", "ad_campaign_status"})
AD_EVENTS = frozenset({"ad_impression", "ad_click"})
PRIOR_CTR = 0.02
"""The click probability of every ad while no calibration is in the cache (bid-only ranking)."""


def _required(event: Mapping, *fields: str) -> None:
    missing = [f for f in fields if event.get(f) in (None, "")]
    if missing:
        raise InvalidInput(f"{event.get('type')} event lacks {', '.join(missing)}")


def apply_ad_event(cache: Cache, event: Mapping, ts_ms: int) -> dict:
    """Apply one ad or campaign event to the live key space; returns its effect."""
    kind = event["type"]
    if kind in CAMPAIGN_EVENTS:
        _required(event, "campaign_id", "user_id", *(("action",) if kind == "ad_campaign_status" else
                                                     ("item_ids", "billing", "bid", "daily_budget", "start_ms")))
        cid = str(event["campaign_id"])
        return cache.atomic(lambda tx: _campaign(tx, event), watch=[],
                            watch_live=[keys.ad_campaign(cid), keys.AD_CAMPAIGNS])
    _required(event, "event_id", "user_id", "campaign_id", "billing", "price_charged")
    cid, day = str(event["campaign_id"]), kst_day(ts_ms)
    return cache.atomic(lambda tx: _charge(tx, event, ts_ms), watch=[],
                        watch_live=[keys.ad_event(str(event["event_id"]), day), keys.ad_spend(cid, day),
                                    keys.ad_seen(str(event["user_id"]), day)])


def _campaign(tx: Transaction, event: Mapping) -> dict:
    cid = str(event["campaign_id"])
    stored, listed = tx.live_many([keys.ad_campaign(cid), keys.AD_CAMPAIGNS])
    try:
        updated = apply_campaign_event(Campaign.from_json(stored) if stored else None, event)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{event['type']} event for campaign {cid}: {exc}") from None
    if updated is None:
        return {"effect": "ignored", "reason": "unknown campaign"}
    tx.put_live(keys.ad_campaign(cid), updated.to_json())
    listed = listed or {"ids": [], "stamp": 0}
    # the stamp changes with every campaign event, so a fitted auction held for the old one is dropped;
    # a stopped campaign never shows again, so requests no longer read it (its terms stay for late events)
    ids = set(listed["ids"]) - {cid} if updated.status == STOPPED else {*listed["ids"], cid}
    tx.put_live(keys.AD_CAMPAIGNS, {"ids": sorted(ids), "stamp": listed["stamp"] + 1})
    return {"effect": "campaign", "status": updated.status}


def _charge(tx: Transaction, event: Mapping, ts_ms: int) -> dict:
    cid, day, viewer = str(event["campaign_id"]), kst_day(ts_ms), str(event["user_id"])
    marker, stored, spent, seen = tx.live_many([keys.ad_event(str(event["event_id"]), day), keys.ad_campaign(cid),
                                               keys.ad_spend(cid, day), keys.ad_seen(viewer, day)])
    if marker is not None:
        return {"effect": "duplicate", "charge_milli": 0}
    tx.put_live(keys.ad_event(str(event["event_id"]), day), 1)
    if event["type"] == "ad_impression":
        seen = dict(seen or {})
        seen[cid] = seen.get(cid, 0) + 1
        tx.put_live(keys.ad_seen(viewer, day), seen)
    if stored is None:
        return {"effect": "unknown_campaign", "charge_milli": 0}
    campaign = Campaign.from_json(stored)
    if event["billing"] != campaign.billing:
        return {"effect": "billing_mismatch", "charge_milli": 0}
    state = DayState.from_json(spent)
    amount, outcome = apply_charge(state, event["type"], campaign.billing, int(event["price_charged"]),
                                   bid=campaign.bid, daily_budget=campaign.daily_budget, ts_ms=ts_ms)
    if amount:
        tx.put_live(keys.ad_spend(cid, day), state.to_json())
    return {"effect": outcome, "charge_milli": amount, "spent_milli": state.spent_milli}


def load_campaigns(cache: Cache, campaigns: list[Campaign]) -> int:
    """Write ``campaigns`` (terms and status, e.g. rebuilt from the lake's campaign events) into
    the live key space as their events would have left it, bumping the campaign list's stamp
    once; returns how many. For a cache that never saw those events (a new one, the demo's)."""
    def write(tx: Transaction) -> int:
        (listed,) = tx.live_many([keys.AD_CAMPAIGNS])
        listed = listed or {"ids": [], "stamp": 0}
        for campaign in campaigns:
            tx.put_live(keys.ad_campaign(campaign.campaign_id), campaign.to_json())
        stopped = {c.campaign_id for c in campaigns if c.status == STOPPED}
        ids = ({*listed["ids"], *(c.campaign_id for c in campaigns)}) - stopped
        tx.put_live(keys.AD_CAMPAIGNS, {"ids": sorted(ids), "stamp": listed["stamp"] + 1})
        return len(campaigns)

    return cache.atomic(write, watch=[], watch_live=[keys.AD_CAMPAIGNS])


def publish_calibration(cache: Cache, slope: float, intercept: float, traffic_curve=None) -> None:
    """Make ``score ads`` use this calibration of the FM's scores, and pace budgets over this
    traffic curve (24 hourly shares, KST; uniform without one), from the next request on."""
    value = {"slope": float(slope), "intercept": float(intercept),
             "curve": None if traffic_curve is None else [float(x) for x in traffic_curve]}
    cache.atomic(lambda tx: tx.put_live(keys.AD_CALIBRATION, value), watch=[])


def forget_ad_days(cache: Cache, before_day: str, batch: int = 1000) -> int:
    """Delete the per-day live ad state (applied-event markers, spend, frequency counts) of
    KST days before ``before_day``; returns how many keys. The ledger keeps the history."""
    def day_of(key: str) -> str:
        return key.split(":")[1] if key.startswith("adev:") else key.rsplit(":", 1)[1]

    old = [key for prefix in ("adev:", "adspend:", "adseen:")
           for key, _ in cache.key_sizes(prefix=prefix, live=True) if day_of(key) < before_day]

    def delete(tx: Transaction, chunk: list[str]) -> None:
        for key in chunk:
            tx.delete_live(key)

    for start in range(0, len(old), batch):
        chunk = old[start:start + batch]
        cache.atomic(lambda tx: delete(tx, chunk), watch=[])
    return len(old)


def _context_keys(surface: str, user_id: str, item_id: str | None) -> list[str]:
    """The keys :func:`_context` reads: the viewer's record, and the viewed listing's vector (detail)."""
    return [keys.user(user_id)] + ([keys.item_vector(item_id)] if surface == "detail" and item_id else [])


def _context(surface: str, user: dict | None, *item: dict | None) -> tuple[str, str, tuple[str, ...]]:
    """(gender, age band, categories) the targeting matches, from the values of :func:`_context_keys`:
    the viewer's segment; the viewed listing's category (detail) or the viewer's recent categories (home)."""
    user = user or {}
    gender, _, band = (user.get("segment") or "unknown|unknown").partition("|")
    if surface == "detail":
        category = (item[0] or {}).get("c") if item else None
        categories = (category,) if category else ()
    else:
        recent = (user.get("recent_categories") or {})
        weights = recent.get("weights", recent) if isinstance(recent, dict) else {}
        categories = tuple(sorted(weights, key=lambda c: -float(weights[c]))[:3])
    return gender, band, categories


class _AdIndex(NamedTuple):  # not a dataclass: importing dataclasses costs `score recommend` 10 ms
    """What a request needs that changes only with a campaign event or a publish: the fitted
    auction, its pairs' item vectors and biases, the budgets."""

    auction: Any
    vectors: Any          # (pairs, k) float array, rows of zeros where the version has no vector
    bias: Any
    has_vector: Any
    budgets: Any


_HELD: "OrderedDict[tuple, _AdIndex]" = OrderedDict()
HELD_INDEXES = 4
HELD_AUDIENCES = 10_000


def _index(cache: Cache, snap: Snapshot, listed: dict, relevance_floor: float) -> _AdIndex:
    held_as = (cache.url, snap.version, listed["stamp"], relevance_floor)
    held = _HELD.get(held_as)
    if held is not None:
        return held
    import numpy as np

    from bunjang_lab.ads.auction import Auction

    stored = snap.live_many([keys.ad_campaign(c) for c in listed["ids"]])
    auction = Auction(relevance_floor=relevance_floor).fit([Campaign.from_json(v) for v in stored if v is not None])
    found = snap.get_many([keys.item_vector(str(i)) for i in auction.pair_item_])
    width = max((len(v["v"]) for v in found if v), default=1)
    vectors = np.array([v["v"] if v else [0.0] * width for v in found], dtype=np.float64).reshape(len(found), width)
    index = _AdIndex(auction, vectors, np.array([float(v.get("b", 0.0)) if v else 0.0 for v in found]),
                     np.array([v is not None for v in found], dtype=bool),
                     np.array([c.daily_budget for c in auction.campaigns_], dtype=np.float64))
    _hold(held_as, index)
    return index


def _hold(held_as: tuple, index) -> None:
    _HELD[held_as] = index
    while len(_HELD) > HELD_INDEXES:
        _HELD.popitem(last=False)


def campaign_list(snap: Snapshot) -> dict | None:
    """The live campaign list ``{"ids", "stamp"}``, None while no campaign exists."""
    (listed,) = snap.live_many([keys.AD_CAMPAIGNS])
    return listed if listed and listed["ids"] else None


PLAIN_CAMPAIGNS = 64
"""Up to this many live campaigns, the plain auction over the held campaigns (reading every
spend) costs a long-lived process less than the vectorised index's numpy calls (they cross
between 64 and 128 on the serve_load world, ``docs/benchmarks.md``)."""

SHORTLIST = 4
"""Campaigns ranked per slot before budgets and availability are read (see :func:`ads_for`)."""

SPARE = 1
"""Campaigns the plain auction's first read takes beyond the slots and the one whose bid prices
the last slot (each key read is a SQLite lookup of some thousands of instructions); with more
of them out of budget, sold or the viewer's own, a second read takes the others."""


def ads_for(cache: Cache, surface: str, user_id: str, *, item_id: str | None = None, query: str = "",
            now_ms: int, slots: int = 2, relevance_floor: float = 0.002, shortlist: int | None = SHORTLIST,
            snap: Snapshot | None = None, plain: bool | None = None, read_along: list[str] = (),
            listed: dict | None = None) -> list[dict]:
    """The ads of one request on ``surface`` (home, search, detail), best slot first, each
    ``{"item_id", "campaign_id", "billing", "price", "pctr", "slot"}``.

    pCTR is the FM's score of (viewer, listing) from the published vectors through the
    calibration in the cache; without either, every ad has :data:`PRIOR_CTR`.

    Budgets and availability change with every event, so they are read per request, but
    only for a shortlist: the auction first ranks ``shortlist × slots`` campaigns as if every
    budget and listing were there, then reads those campaigns' spend and listings and runs
    again on them alone. That is the full auction's answer whenever more than ``slots`` of
    the shortlist keep their budget and best listing (everyone outside ranks below them);
    otherwise, and with ``shortlist=None``, every campaign is read.

    ``snap`` reads from the snapshot of the answer the ads join (one version for both). A
    cache without campaigns answers after one read. ``plain`` runs the standard-library
    auction (:mod:`~bunjang_lab.ads.plain_auction`) on every campaign instead, for a one-shot
    process: importing numpy alone costs more than a whole ``score recommend``; ``None`` picks
    it while there are at most :data:`PLAIN_CAMPAIGNS` campaigns (the same answer either way).
    ``read_along``: live keys the caller reads next, read ahead with the plain auction's own.
    ``listed``: :func:`campaign_list` of ``snap``, when the caller has read it.
    """
    if snap is None:
        with cache.snapshot() as opened:
            return ads_for(cache, surface, user_id, item_id=item_id, query=query, now_ms=now_ms, slots=slots,
                           relevance_floor=relevance_floor, shortlist=shortlist, snap=opened, plain=plain)
    listed = campaign_list(snap) if listed is None else listed
    if listed is None:
        return []
    if plain or plain is None and len(listed["ids"]) <= PLAIN_CAMPAIGNS:
        placements = _plain_placements(cache, snap, listed, surface, user_id, item_id, query, now_ms, slots, relevance_floor,
                                       read_along)
    else:
        placements = _placements(cache, snap, listed, surface, user_id, item_id, query, now_ms, slots,
                                 relevance_floor, shortlist)
    return [{"item_id": p.item_id, "campaign_id": p.campaign_id, "billing": p.billing, "price": p.price,
             "pctr": round(p.pctr, 6), "slot": p.slot} for p in placements]


def _calibrated(score: float, calibration: Mapping) -> float:
    return 1 / (1 + math.exp(-(calibration["slope"] * score + calibration["intercept"])))


class _Plan(NamedTuple):
    """A :class:`~bunjang_lab.ads.plain_auction.Ranking` with what a request reads for it:
    campaign ids in the order the walk meets them (hourly reservations first), each
    campaign's terms and its listings in the ranking."""

    ranked: Any
    order: list          # campaign ids, each once
    hourly: int          # how many of ``order`` are hourly reservations (the walk meets them all)
    campaigns: dict      # id -> Campaign
    listings: dict       # id -> its listings in the ranking, each once
    first_keys: dict     # (campaigns, day) -> the state keys of the first ``campaigns`` of ``order`` (held)

    @classmethod
    def of(cls, ranked) -> "_Plan":
        campaigns: dict = {}
        listings: dict = {}
        for c, item, _ in ranked.reserved + ranked.auctioned:
            campaigns[c.campaign_id] = c
            listings.setdefault(c.campaign_id, {})[item] = None
        hourly = len({c.campaign_id for c, _, _ in ranked.reserved})
        return cls(ranked, list(campaigns), hourly, campaigns, {cid: list(items) for cid, items in listings.items()}, {})

    def state_keys(self, campaign_ids: list[str], day: str) -> list[str]:
        """The live keys of ``campaign_ids``' spend on ``day``, then of their listings gone."""
        return ([keys.ad_spend(cid, day) for cid in campaign_ids]
                + [keys.unavailable(item) for cid in campaign_ids for item in self.listings[cid]])

    def first_state_keys(self, count: int, day: str) -> list[str]:
        """:meth:`state_keys` of the first ``count`` campaigns of ``order`` (held per day: every
        request of a held ranking reads them)."""
        found = self.first_keys.get((count, day))
        if found is None:
            if len(self.first_keys) > 4:   # days gone by
                self.first_keys.clear()
            found = self.first_keys[(count, day)] = self.state_keys(self.order[:count], day)
        return found


class _Audience(NamedTuple):
    """One audience's share of a :class:`_PlainIndex`, built by its first request."""

    campaigns: list      # the campaigns whose targeting takes it in, in order (the others never show to it)
    pairs: list          # (campaign id, listing, its vector or None, its bias) of their listings not flagged
    prior: _Plan         # their ranking at PRIOR_CTR: every viewer without a vector or calibration shares it


class _PlainIndex:
    """What the plain auction reads that changes only with a campaign event or a publish: the
    campaigns, their listings flagged in the version, their listings' vectors and biases; and,
    built by the first request of each, every :class:`_Audience` asked for so far."""

    __slots__ = ("campaigns", "flagged", "vectors", "relevance_floor", "audiences", "contexts", "calibration", "pacer")

    def __init__(self, campaigns: list, flagged: frozenset, vectors: dict, relevance_floor: float):
        self.campaigns, self.flagged, self.relevance_floor = campaigns, flagged, relevance_floor
        self.vectors = vectors          # listing -> (vector, bias), for those the version has
        self.audiences: dict = {}       # audience -> _Audience
        self.contexts: dict = {}        # (gender, age band, categories) as asked -> (audience, _Audience)
        self.calibrated(None)

    def calibrated(self, calibration: Mapping | None) -> None:
        """Rank and pace by ``calibration`` (as a request just read it) from the next request on."""
        from bunjang_lab.ads.pacing import Pacer

        self.calibration, self.pacer = calibration, Pacer((calibration or {}).get("curve"))

    def of_context(self, gender: str, band: str, categories: tuple) -> tuple[tuple, _Audience]:
        """``(audience, its _Audience)`` of a request's targeting context (as :func:`_context` gives it)."""
        found = self.contexts.get((gender, band, categories))
        if found is None:
            from bunjang_lab.ads.plain_auction import Request, audience

            if len(self.contexts) >= HELD_AUDIENCES:
                self.contexts.clear()
            audience_ = audience(Request("", "home", 0, gender, band, categories))
            found = self.contexts[(gender, band, categories)] = (audience_, self.audience(audience_))
        return found

    def audience(self, audience: tuple) -> _Audience:
        """The :class:`_Audience` of ``audience`` (:func:`~bunjang_lab.ads.plain_auction.audience`)."""
        found = self.audiences.get(audience)
        if found is None:
            from bunjang_lab.ads.plain_auction import in_audience

            if len(self.audiences) >= HELD_AUDIENCES:
                self.audiences.clear()
            campaigns = [c for c in self.campaigns if in_audience(c, *audience)]
            pairs = [(c.campaign_id, item, *self.vectors.get(item, (None, 0.0)))
                     for c in campaigns for item in dict.fromkeys(c.item_ids) if item not in self.flagged]
            prior = self.plan(audience, campaigns, dict.fromkeys(((cid, item) for cid, item, _, _ in pairs), PRIOR_CTR))
            found = self.audiences[audience] = _Audience(campaigns, pairs, prior)
        return found

    def plan(self, audience: tuple, campaigns: list, pctr: Mapping) -> _Plan:
        """The :class:`_Plan` of ``audience``'s ``campaigns`` ranked by ``pctr`` per pair."""
        from bunjang_lab.ads.plain_auction import ranking

        return _Plan.of(ranking(campaigns, audience, pctr, excluded=self.flagged,
                                relevance_floor=self.relevance_floor, prior_ctr=PRIOR_CTR))


def _plain_index(cache: Cache, snap: Snapshot, listed: dict, relevance_floor: float) -> _PlainIndex:
    held_as = (cache.url, snap.version, listed["stamp"], relevance_floor, "plain")
    held = _HELD.get(held_as)
    if held is None:
        campaigns = [Campaign.from_json(v) for v in snap.live_many([keys.ad_campaign(c) for c in listed["ids"]])
                     if v is not None]
        every = list(dict.fromkeys(i for c in campaigns for i in c.item_ids))
        flagged = frozenset(i for i, f in zip(every, snap.get_many([keys.flag(i) for i in every])) if f is not None)
        items = [i for i in every if i not in flagged]
        vectors = {i: (tuple(v["v"]), float(v.get("b", 0.0)))
                   for i, v in zip(items, snap.get_many([keys.item_vector(i) for i in items])) if v}
        held = _PlainIndex(campaigns, flagged, vectors, relevance_floor)
        _hold(held_as, held)
    return held


def _plain_placements(cache: Cache, snap: Snapshot, listed: dict, surface: str, user_id: str, item_id: str | None,
                      query: str, now_ms: int, slots: int, relevance_floor: float, read_along: list[str] = ()) -> list:
    """:func:`ads_for`'s auction in the standard library. Held per version and campaign list:
    the campaigns' terms, their listings' flags and vectors, per audience the campaigns its
    targeting takes in and their ranking at the prior pCTR. Per request one live read of the
    calibration, the viewer's frequency counts, and the spends and listings gone of every
    hourly reservation and the first ``slots`` + 1 + :data:`SPARE` other campaigns of the
    ranking: the walk down the ranking settles the slots and prices with them unless too many
    are out, and then a second read takes the rest (the same answer as reading all)."""
    from bunjang_lab.ads.plain_auction import Request, ranked_placements

    day = kst_day(now_ms)
    index = _plain_index(cache, snap, listed, relevance_floor)
    user_vector, *context = snap.get_many([keys.user_vector(user_id)] + _context_keys(surface, user_id, item_id))
    gender, band, categories = _context(surface, *context)
    audience_, held = index.of_context(gender, band, categories)

    def plan_by(calibration: Mapping | None) -> _Plan:
        if user_vector is None or not calibration:
            return held.prior

        width = len(user_vector)
        pctr = {(cid, item): PRIOR_CTR if vector is None or len(vector) != width
                else _calibrated(sum(map(operator.mul, vector, user_vector)) + bias, calibration)
                for cid, item, vector, bias in held.pairs}
        return index.plan(audience_, held.campaigns, pctr)

    plan = plan_by(index.calibration)   # as the last request read it: this request's read checks it
    first = plan.order[:plan.hourly + slots + 1 + SPARE]
    live_keys = [keys.AD_CALIBRATION, keys.ad_seen(user_id, day), *plan.first_state_keys(len(first), day)]
    snap.read_ahead([], live_keys + list(read_along))
    live = snap.live_many(live_keys)
    if live[0] != index.calibration:   # published since: rank by it, and read every campaign
        index.calibrated(live[0])
        plan, first = plan_by(live[0]), []
    share = index.pacer.allowed_share(now_ms)
    request = Request(user_id, surface, now_ms, gender, band, categories, query, live[1] or {})
    budget_left: dict[str, float] = {}
    hidden: set[str] = set()   # the version's flagged listings are out of the ranking already

    def note(campaign_ids: list[str], values: list) -> None:
        for cid, spent in zip(campaign_ids, values):
            budget_left[cid] = (plan.campaigns[cid].daily_budget * share
                                - (DayState.from_json(spent).spent_milli / 1000 if spent else 0))
        items = [item for cid in campaign_ids for item in plan.listings[cid]]
        hidden.update(item for item, gone in zip(items, values[len(campaign_ids):]) if gone is not None)

    def available(item: str) -> bool:
        return item not in hidden and item != item_id

    if len(first) == len(plan.order):
        note(first, live[2:])
        return ranked_placements(plan.ranked, request, budget_left, available, slots=slots)
    if first:
        note(first, live[2:])
        found = ranked_placements(plan.ranked, request, budget_left, available, read=budget_left, slots=slots)
        if found is not None:
            return found
    rest = plan.order[len(first):]
    note(rest, snap.live_many(plan.state_keys(rest, day)))
    return ranked_placements(plan.ranked, request, budget_left, available, slots=slots)


def _placements(cache: Cache, snap: Snapshot, listed: dict, surface: str, user_id: str, item_id: str | None, query: str,
                now_ms: int, slots: int, relevance_floor: float, shortlist: int | None) -> list:
    """:func:`ads_for`'s auction on the held, vectorised index (numpy)."""
    import numpy as np

    from bunjang_lab.ads.auction import Request
    from bunjang_lab.ads.pacing import Pacer

    day = kst_day(now_ms)
    index = _index(cache, snap, listed, relevance_floor)
    auction = index.auction
    gender, band, categories = _context(surface, *snap.get_many(_context_keys(surface, user_id, item_id)))
    (user_vector,) = snap.get_many([keys.user_vector(user_id)])
    calibration, seen = snap.live_many([keys.AD_CALIBRATION, keys.ad_seen(user_id, day)])
    curve = (calibration or {}).get("curve")
    pacer = Pacer(np.asarray(curve) if curve else None)
    pctr = np.full(len(auction.pair_item_), PRIOR_CTR)
    if user_vector is not None and calibration and index.vectors.shape[1] == len(user_vector):
        scores = index.vectors @ np.asarray(user_vector, dtype=np.float64) + index.bias
        calibrated = 1 / (1 + np.exp(-(calibration["slope"] * scores + calibration["intercept"])))
        pctr = np.where(index.has_vector, calibrated, PRIOR_CTR)
    request = Request(user_id, surface, now_ms, gender, band, categories, query, seen or {})
    everyone = np.arange(len(auction.campaigns_))
    if shortlist is None:
        budget_left, available = _live_state(snap, index, everyone, day, now_ms, item_id, pacer)
    else:
        # ranked as if every budget and listing were there; fewer than asked: all that may show
        ranked = auction.run(request, pctr, np.full(len(everyone), np.inf), None, slots=shortlist * slots)
        chosen = np.array([auction.campaign_index_[p.campaign_id] for p in ranked], dtype=np.int64)
        budget_left, available = _live_state(snap, index, chosen, day, now_ms, item_id, pacer)
        intact = sum(bool(budget_left[auction.campaign_index_[p.campaign_id]] > 0 and available[_pair_of(auction, p)])
                     for p in ranked)
        if len(ranked) == shortlist * slots and intact <= slots:   # too many of a cut shortlist are gone
            budget_left, available = _live_state(snap, index, everyone, day, now_ms, item_id, pacer)
    return auction.run(request, pctr, budget_left, available, slots=slots)


def _pair_of(auction, placement) -> int:
    """The pair index of a placement (its campaign's pair of that listing)."""
    import numpy as np

    k = auction.campaign_index_[placement.campaign_id]
    return int(np.flatnonzero((auction.pair_campaign_ == k) & (auction.pair_item_ == placement.item_id))[0])


def _live_state(snap: Snapshot, index: _AdIndex, chosen, day: str, now_ms: int, item_id: str | None, pacer):
    """Budget left under pacing per campaign and availability per pair, read for the
    ``chosen`` campaigns (the others: no budget, nothing available)."""
    import numpy as np

    auction = index.auction
    spends = snap.live_many([keys.ad_spend(str(auction.campaign_ids_[k]), day) for k in chosen])
    spent = np.array([DayState.from_json(s).spent_milli / 1000 for s in spends])
    budget_left = np.full(len(auction.campaigns_), -1.0)
    budget_left[chosen] = pacer.budget_left(index.budgets[chosen], spent, now_ms)
    pairs = np.flatnonzero(np.isin(auction.pair_campaign_, chosen))
    items = [str(auction.pair_item_[j]) for j in pairs]
    hidden = unavailable(snap, items)
    available = np.zeros(len(auction.pair_item_), dtype=bool)
    available[pairs] = [i not in hidden and i != item_id for i in items]
    return budget_left, available


def _whole(params: Mapping, name: str, default: int, low: int) -> int:
    value = params.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a whole number, got {value!r}") from None
    if number < low:
        raise InvalidInput(f"{name} must be at least {low}, got {number}")
    return number


def ads_answer(cache: Cache, params: Mapping, now_ms: int | None = None, plain: bool | None = None) -> dict:
    """``score ads`` and ``GET /api/v1/ads``: the request's ads and the list they are blended into.

    ``params``: ``surface`` (home, search, detail), ``user_id``, ``item_id`` (detail), ``query``
    (search) and optionally ``k`` (organic items), ``slots``, ``positions`` ("2,7,14" or a
    list), ``max_share``. Home blends into the user's feed, detail into the listing's related
    row; search answers the ads alone (its results come from search).
    """
    surface = params.get("surface")
    if surface not in SURFACES:
        raise InvalidInput(f"surface must be one of {', '.join(SURFACES)}, got {surface!r}")
    if params.get("user_id") in (None, ""):
        raise InvalidInput("user_id is required")
    user_id = identifier(params["user_id"], "user_id")
    item_id = identifier(params["item_id"], "item_id") if params.get("item_id") not in (None, "") else None
    query = short_text(params.get("query") or "", "query")
    if surface == "detail" and item_id is None:
        raise InvalidInput("the detail surface needs item_id")
    if surface == "search" and not query.strip():
        raise InvalidInput("the search surface needs a query")
    positions = params.get("positions", DEFAULT_POSITIONS)
    try:
        positions = tuple(int(p) for p in (positions.split(",") if isinstance(positions, str) else positions))
        max_share = float(params.get("max_share", DEFAULT_MAX_SHARE))
    except (TypeError, ValueError):
        raise InvalidInput("positions must be whole numbers and max_share a number") from None
    k, slots = _whole(params, "k", 20, 1), _whole(params, "slots", 2, 1)
    with cache.snapshot() as snap:
        if surface == "home":
            organic = lookup.recommend(snap, user_id, k=k)["items"]
        elif surface == "detail":
            organic = lookup.related(snap, item_id, k=k)["items"]
        else:
            organic = []
        ads, items = blended(cache, snap, organic, surface, user_id, item_id=item_id, query=query, now_ms=now_ms,
                             slots=slots, positions=positions, max_share=max_share, plain=plain)
    return {"surface": surface, "user_id": user_id, "ads": ads, "items": items}


def blended(cache: Cache, snap: Snapshot, organic: list[dict], surface: str, user_id: str, *,
            item_id: str | None = None, query: str = "", now_ms: int | None = None, slots: int = 2,
            positions=DEFAULT_POSITIONS, max_share: float = DEFAULT_MAX_SHARE,
            plain: bool | None = None) -> tuple[list[dict], list[dict]]:
    """``(ads, items)``: the request's ads (:func:`ads_for`) and ``organic`` (the list the
    surface shows) with them at ``positions`` (:func:`_blended_items`). The one place ads join
    a served list: ``score ads``, ``GET /api/v1/ads``, and (through :func:`recommend_answer`)
    ``score recommend`` and ``GET /api/v1/recommend``."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    ads = ads_for(cache, surface, user_id, item_id=item_id, query=query, now_ms=now_ms, slots=slots, snap=snap,
                  plain=plain)
    return ads, _blended_items(organic, ads, positions, max_share)


def _blended_items(organic: list[dict], ads: list[dict], positions=DEFAULT_POSITIONS,
                   max_share: float = DEFAULT_MAX_SHARE) -> list[dict]:
    """``organic`` with ``ads`` at ``positions``, marked ``"ad": true`` (:func:`~bunjang_lab.ads.blend.blend`;
    a list with no organic entry is the ads alone)."""
    if not ads:
        return organic
    return blend(organic, ads, positions, max_share, copy=False) if organic else [{**ad, "ad": True} for ad in ads]


_HAD_CAMPAIGNS: dict[str, bool] = {}
"""Per cache, whether the last recommend answer read ahead found live campaigns."""


def recommend_reads(cache: Cache, user_id: str, now_ms: int) -> tuple[list[str], list[str]]:
    """The keys and live keys :func:`recommend_answer` reads first: the feed and the campaign
    list, with the viewer and what the ads read first while the cache's last answer had campaigns
    (a cache without them reads no more keys)."""
    if not _HAD_CAMPAIGNS.get(cache.url, False):
        return [keys.home(user_id)], [keys.AD_CAMPAIGNS]
    return ([keys.home(user_id), keys.user(user_id), keys.user_vector(user_id)],
            [keys.AD_CAMPAIGNS, keys.AD_CALIBRATION, keys.ad_seen(user_id, kst_day(now_ms))])


def recommend_answer(cache: Cache, snap: Snapshot, params: Mapping, now_ms: int | None = None,
                     plain: bool | None = None, feed: tuple[str, int] | None = None) -> dict:
    """``score recommend`` and ``GET /api/v1/recommend``: the home feed
    (:func:`~bunjang_lab.serving.queries.recommend`) with the home surface's ads blended in
    (as :func:`blended` does, default positions and share); ``explain`` describes the ads too.

    A snapshot that reads ahead (the service's) answers in two reads: the feed and the
    campaign list (:func:`recommend_reads`, which the service may have read ahead already);
    then the feed's first candidates' availability with the campaigns' spends and listings.
    ``feed``: ``queries.feed_of(params)``, from a caller that has read :func:`recommend_reads`
    ahead in ``snap`` already (the service)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if feed is None:
        user_id, k = queries.feed_of(params)
        read_ahead = snap.read_ahead(*recommend_reads(cache, user_id, now_ms))
    else:
        (user_id, k), read_ahead = feed, True
    listed = campaign_list(snap)
    if read_ahead:
        _HAD_CAMPAIGNS[cache.url] = listed is not None
    ads = [] if listed is None else ads_for(
        cache, "home", user_id, now_ms=now_ms, snap=snap, plain=plain, listed=listed,
        read_along=lookup.feed_first_keys(snap, user_id, k) if read_ahead else ())
    answer = queries.feed(snap, params, user_id, k)
    if ads:
        answer["items"] = _blended_items(answer["items"], ads)
    return lookup.explained(snap, answer) if queries.flag(params.get("explain"), "explain") else answer
