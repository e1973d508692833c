"""The auction of one request in plain Python (standard library), for a whole-process lookup.

``score recommend`` and ``score ads`` answer in one short process, and importing numpy alone
costs more than their 100 ms budget, so they run the auction here: the rules of
:class:`~bunjang_lab.ads.auction.Auction`, written once per campaign instead of as arrays
(eligibility, hourly reservations first, the rest by ``bid × q`` above the relevance floor,
the generalized second price). :class:`~bunjang_lab.ads.auction.Auction` is the same auction
vectorised for thousands of campaigns per millisecond (the service, the simulator, the
benchmark); ``tests/test_ads_auction.py`` checks the two place the same ads at the same prices.

>>> from bunjang_lab.ads.campaigns import Campaign
>>> camps = [Campaign("a", "s1", ("i1",), "cpc", 500, 10_000, 0), Campaign("b", "s2", ("i2",), "cpc", 300, 10_000, 0),
...          Campaign("c", "s3", ("i3",), "cpc", 900, 10_000, 0)]
>>> pctr = {("a", "i1"): 0.04, ("b", "i2"): 0.05, ("c", "i3"): 0.01}
>>> [(p.campaign_id, p.price) for p in placements(camps, Request("u9", "home", 1), pctr, dict.fromkeys("abc", 10_000.0), slots=2)]
[('a', 376), ('b', 181)]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Mapping, Sequence
from typing import NamedTuple

from bunjang_lab.ads.campaigns import Campaign
from bunjang_lab.errors import InvalidInput
from bunjang_lab.marketplace import segments

POLICIES = ("gsp_pctr", "bid_only", "first_price")
SURFACES = ("home", "search", "detail")
CPM_QUALITY = 1 / 1000  # a cpm bid buys a thousand impressions: its value per impression is bid / 1000


class Request(NamedTuple):  # not a dataclass: importing dataclasses costs `score recommend` 10 ms
    """One ad request. ``categories`` is the context the category targeting matches: the viewed
    listing's category (detail), the query's categories (search), the viewer's recent
    categories (home). ``seen`` counts the viewer's impressions per campaign today."""

    viewer_id: str
    surface: str
    ts_ms: int
    gender: str = segments.UNKNOWN
    age_band: str = segments.UNKNOWN
    categories: tuple[str, ...] = ()
    query: str = ""
    seen: Mapping[str, int] | None = None


class Placement(NamedTuple):
    """An ad won: ``price`` in the unit of ``billing`` (per click, per 1,000 impressions, per hour)."""

    slot: int
    campaign_id: str
    item_id: str
    billing: str
    bid: int
    price: int
    pctr: float
    auction_score: float  # expected KRW per impression at the bid (hourly: its bid)


def prefixes(path: str) -> list[str]:
    """A category path and each of its parents."""
    parts = path.split(">")
    return [">".join(parts[:k]) for k in range(1, len(parts) + 1)]


def query_keys(text: str) -> list[str]:
    """The folded query and its words (what search keywords match)."""
    folded = text.casefold().strip()
    return [folded, *folded.split()] if folded else []


def check_request(request: Request) -> None:
    if request.surface not in SURFACES:
        raise InvalidInput(f"surface must be one of {SURFACES}, not {request.surface!r}")


def audience(request: Request) -> tuple[str, str, frozenset[str]]:
    """(gender, age band, categories with their parents) of ``request`` as targeting compares them."""
    gender = request.gender if request.gender in segments.GENDERS else segments.UNKNOWN
    band = request.age_band if request.age_band in segments.AGE_BANDS else segments.UNKNOWN
    return gender, band, frozenset(p for c in request.categories for p in prefixes(c))


def in_audience(c: Campaign, gender: str, band: str, context: frozenset[str]) -> bool:
    """Does ``c``'s gender, age and category targeting take in this :func:`audience`?"""
    return ((not c.genders or gender in c.genders) and (not c.age_bands or band in c.age_bands)
            and (not c.categories or not context.isdisjoint(c.categories)))


class Ranking(NamedTuple):
    """An audience's pairs in the auction's order, before the checks of one request (flight,
    budget, the viewer's own, keywords, frequency cap, the listing's availability): those only
    remove pairs, never reorder them, so one ranking serves every request that shares its
    audience and pCTR. Each entry is ``(campaign, listing, pctr)``."""

    reserved: list   # hourly reservations: highest hourly price first, then campaign order, best pCTR
    auctioned: list  # the others with pCTR at the relevance floor or above: by value, campaign order, listing order


def ranking(campaigns: Sequence[Campaign], audience_: tuple[str, str, frozenset[str]],
            pctr: Mapping[tuple[str, str], float], *, excluded: Container[str] = frozenset(),
            policy: str = "gsp_pctr", reserve_cpc: int = 50, reserve_cpm: int = 500, relevance_floor: float = 0.002,
            prior_ctr: float = 0.02) -> Ranking:
    """The :class:`Ranking` of ``campaigns`` (their order breaks ties) for one :func:`audience`:
    the campaigns its targeting takes in and bidding at least the reserve, their listings
    except ``excluded`` (flagged in the version). ``pctr`` is asked only for those pairs."""
    reserved, auctioned = [], []
    for order, c in enumerate(campaigns):
        if c.bid < (reserve_cpm if c.billing == "cpm" else reserve_cpc) or not in_audience(c, *audience_):
            continue
        for pair, item in enumerate(dict.fromkeys(c.item_ids)):
            if item in excluded:
                continue
            q = pctr[(c.campaign_id, item)]
            if c.billing == "hourly":
                reserved.append(((-c.bid, order, -q, pair), (c, item, q)))
            elif q >= relevance_floor:
                auctioned.append(((-_value(c, q, policy, prior_ctr), order, pair), (c, item, q)))
    return Ranking([entry for _, entry in sorted(reserved, key=_first)],
                   [entry for _, entry in sorted(auctioned, key=_first)])


def _first(pair: tuple):
    return pair[0]


def placements(campaigns: Sequence[Campaign], request: Request, pctr: Mapping[tuple[str, str], float],
               budget_left: Mapping[str, float], available: Callable[[str], bool] | None = None, *, slots: int = 2,
               policy: str = "gsp_pctr", reserve_cpc: int = 50, reserve_cpm: int = 500,
               relevance_floor: float = 0.002, frequency_cap: int = 5, prior_ctr: float = 0.02) -> list[Placement]:
    """The placements of one request, slot order (:meth:`Auction.run`'s answer for campaigns fitted
    in this order without flags).

    ``pctr`` per (campaign, listing) pair, ``budget_left`` KRW per campaign (absent: none),
    ``available(item_id)`` whether a listing can be bought now (None: all).
    """
    check_request(request)
    ranked = ranking(campaigns, audience(request), pctr, policy=policy, reserve_cpc=reserve_cpc,
                     reserve_cpm=reserve_cpm, relevance_floor=relevance_floor, prior_ctr=prior_ctr)
    return ranked_placements(ranked, request, budget_left, available, slots=slots, policy=policy,
                             reserve_cpc=reserve_cpc, reserve_cpm=reserve_cpm, frequency_cap=frequency_cap,
                             prior_ctr=prior_ctr)


def ranked_placements(ranked: Ranking, request: Request, budget_left: Mapping[str, float],
                      available: Callable[[str], bool] | None = None, *, read: Container[str] | None = None,
                      slots: int = 2, policy: str = "gsp_pctr", reserve_cpc: int = 50, reserve_cpm: int = 500,
                      frequency_cap: int = 5, prior_ctr: float = 0.02) -> list[Placement] | None:
    """:func:`placements` of one request from its audience's :class:`Ranking`: the pairs are
    walked in order, each checked for this request, until the slots and the last one's price
    are settled.

    ``read``: the campaigns whose budget (and listings' availability) were read, when not all
    were; the walk answers None if it needs one of the others (read them too and ask again).
    """
    check_request(request)
    keys = set(query_keys(request.query)) if request.surface == "search" else None
    seen = request.seen or {}
    admitted: dict[str, bool | None] = {}   # per campaign: True, False, or None when its state was not read

    def admits(c: Campaign) -> bool | None:
        cid = c.campaign_id
        if cid not in admitted:
            ok = (c.live_at(request.ts_ms) and c.seller_id != request.viewer_id
                  and (keys is None or not c.keywords or not keys.isdisjoint(k.casefold().strip() for k in c.keywords))
                  and not seen.get(cid, 0) >= frequency_cap)
            admitted[cid] = (None if read is not None and cid not in read else budget_left.get(cid, -1.0) > 0) if ok else False
        return admitted[cid]

    taken: set[str] = set()

    def first_admitted(pairs, room: int) -> list[tuple[Campaign, str, float]] | None:
        """Up to ``room`` admitted pairs of ``pairs``, one per campaign, or None when one needs a
        campaign whose state was not read."""
        found = []
        for c, item, q in pairs:
            if len(found) == room:
                break
            if c.campaign_id in taken:
                continue
            ok = admits(c)
            if ok is None:
                return None
            if ok and (available is None or available(item)):
                taken.add(c.campaign_id)
                found.append((c, item, q))
        return found

    reserved = first_admitted(ranked.reserved, slots)   # hourly reservations first
    if reserved is None:
        return None
    chosen = [Placement(n, c.campaign_id, item, "hourly", c.bid, c.bid, q, float(c.bid))
              for n, (c, item, q) in enumerate(reserved)]
    open_slots = slots - len(chosen)
    if open_slots <= 0:
        return chosen
    top = first_admitted(ranked.auctioned, open_slots + 1)   # each campaign on its best listing, and the next one's price
    if top is None:
        return None
    for rank, (c, item, q) in enumerate(top[:open_slots]):
        reserve = reserve_cpm if c.billing == "cpm" else reserve_cpc
        rank_q = _rank_quality(c, q, policy, prior_ctr)
        if policy == "first_price":
            price = float(c.bid)
        elif rank + 1 < len(top):
            nxt, _, next_q = top[rank + 1]
            # the rounding guard keeps an exact ratio such as 9 / 0.05 from reading 179.99...
            price = math.floor(nxt.bid * _rank_quality(nxt, next_q, policy, prior_ctr) / rank_q * (1 + 1e-12)) + 1
        else:
            price = reserve
        price = min(max(price, reserve), c.bid)
        true_q = CPM_QUALITY if c.billing == "cpm" else q
        chosen.append(Placement(len(chosen), c.campaign_id, item, c.billing, c.bid, int(price), q, c.bid * true_q))
    return chosen


def _rank_quality(c: Campaign, q: float, policy: str, prior_ctr: float) -> float:
    if c.billing == "cpm":
        return CPM_QUALITY
    return prior_ctr if policy == "bid_only" else q


def _value(c: Campaign, q: float, policy: str, prior_ctr: float) -> float:
    return float(c.bid) * _rank_quality(c, q, policy, prior_ctr)
