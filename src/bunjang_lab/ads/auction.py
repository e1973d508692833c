"""The ad auction of one request: who may show, in which order, at what price.

Eligible are campaigns that are live (active, inside their flight), not fraud-flagged (seller
or listing), not the viewer's own, with budget left under pacing, matching the targeting and
under the viewer's frequency cap, on listings that are still available. Hourly campaigns are
reservations sold outside the auction: they take the first slots at their hourly price. The
auction fills the rest, ranking by expected KRW per impression ``bid × q`` (``q`` is the
predicted click-through rate for cpc, 1/1000 for cpm) above a relevance floor on the pCTR,
and prices them by the generalized second price: the least whole won that keeps the slot,
``floor(bid_{i+1} q_{i+1} / q_i) + 1``, at least the reserve and never above the own bid.

>>> from bunjang_lab.ads.campaigns import Campaign
>>> camps = [Campaign("a", "s1", ("i1",), "cpc", 500, 10_000, 0), Campaign("b", "s2", ("i2",), "cpc", 300, 10_000, 0),
...          Campaign("c", "s3", ("i3",), "cpc", 900, 10_000, 0)]
>>> auction = Auction(slots=2, reserve_cpc=50).fit(camps)
>>> pctr = np.array([0.04, 0.05, 0.01])   # per pair, in the order of auction.pair_item_
>>> [(p.campaign_id, p.price) for p in auction.run(Request("u9", "home", 1), pctr, np.full(3, 10_000))]
[('a', 376), ('b', 181)]

``a`` ranks first (500 × 0.04 = 20 KRW per impression) and pays 15 / 0.04 + 1 = 376 to stay
above ``b`` (300 × 0.05 = 15), which pays 9 / 0.05 + 1 = 181 to stay above ``c``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bunjang_lab.ads.campaigns import Campaign
from bunjang_lab.ads.plain_auction import (CPM_QUALITY, POLICIES, SURFACES, Placement, Request, check_request, prefixes,
                                           query_keys)
from bunjang_lab.errors import InvalidInput
from bunjang_lab.marketplace import segments

__all__ = ["Auction", "Placement", "Request", "POLICIES", "SURFACES", "CPM_QUALITY"]


class Auction:
    """Generalized second-price auction over a fixed set of campaigns (scikit-learn style:
    parameters in ``__init__``, ``fit`` builds the index, ``run`` answers one request).

    ``policy``: ``gsp_pctr`` ranks by bid × pCTR and prices by the generalized second price;
    ``bid_only`` ranks by bid alone (every cpc ad gets the quality ``prior_ctr``) and prices
    the same way; ``first_price`` ranks like ``gsp_pctr`` and charges the bid.
    """

    def __init__(self, slots: int = 2, policy: str = "gsp_pctr", reserve_cpc: int = 50, reserve_cpm: int = 500,
                 relevance_floor: float = 0.002, frequency_cap: int = 5, prior_ctr: float = 0.02):
        self.slots = slots
        self.policy = policy
        self.reserve_cpc = reserve_cpc
        self.reserve_cpm = reserve_cpm
        self.relevance_floor = relevance_floor
        self.frequency_cap = frequency_cap
        self.prior_ctr = prior_ctr

    def fit(self, campaigns: Sequence[Campaign], flagged_sellers=(), flagged_items=()) -> "Auction":
        """Index ``campaigns``: one row per campaign, one pair per (campaign, listing)."""
        if self.policy not in POLICIES:
            raise InvalidInput(f"policy must be one of {POLICIES}, not {self.policy!r}")
        if self.slots < 1 or self.reserve_cpc < 1 or self.reserve_cpm < 1 or self.frequency_cap < 1:
            raise InvalidInput("slots, reserves and the frequency cap must be at least 1")
        flagged_sellers, flagged_items = set(map(str, flagged_sellers)), set(map(str, flagged_items))
        self.campaigns_ = [c for c in campaigns if c.seller_id not in flagged_sellers]
        n = len(self.campaigns_)
        self.campaign_ids_ = np.array([c.campaign_id for c in self.campaigns_], dtype=object)
        self.campaign_index_ = {c.campaign_id: k for k, c in enumerate(self.campaigns_)}
        self.seller_ids_ = np.array([c.seller_id for c in self.campaigns_], dtype=object)
        self.bids_ = np.array([c.bid for c in self.campaigns_], dtype=np.float64)
        self.hourly_ = np.array([c.billing == "hourly" for c in self.campaigns_], dtype=bool)
        cpm = np.array([c.billing == "cpm" for c in self.campaigns_], dtype=bool)
        self.reserves_ = np.where(cpm, self.reserve_cpm, self.reserve_cpc).astype(np.float64)
        self.starts_ = np.array([c.start_ms for c in self.campaigns_], dtype=np.int64)
        self.ends_ = np.array([c.end_ms if c.end_ms is not None else np.iinfo(np.int64).max
                               for c in self.campaigns_], dtype=np.int64)
        self.active_ = np.array([c.status == "active" for c in self.campaigns_], dtype=bool)
        self.by_gender_ = {g: np.array([not c.genders or g in c.genders for c in self.campaigns_], dtype=bool)
                           for g in segments.GENDERS}
        self.by_age_band_ = {b: np.array([not c.age_bands or b in c.age_bands for c in self.campaigns_], dtype=bool)
                             for b in segments.AGE_BANDS}
        self.any_category_ = np.array([not c.categories for c in self.campaigns_], dtype=bool)
        self.any_keyword_ = np.array([not c.keywords for c in self.campaigns_], dtype=bool)
        self.category_index_ = self._inverted(lambda c: c.categories)
        self.keyword_index_ = self._inverted(lambda c: (k.casefold().strip() for k in c.keywords))
        pairs = [(k, item) for k, c in enumerate(self.campaigns_) for item in dict.fromkeys(c.item_ids)
                 if item not in flagged_items]
        self.pair_campaign_ = np.array([k for k, _ in pairs], dtype=np.int64)
        self.pair_item_ = np.array([item for _, item in pairs], dtype=object)
        self.pair_cpm_ = cpm[self.pair_campaign_] if n else np.zeros(0, dtype=bool)
        return self

    def _inverted(self, values_of) -> dict[str, np.ndarray]:
        index: dict[str, list[int]] = {}
        for k, c in enumerate(self.campaigns_):
            for value in dict.fromkeys(values_of(c)):
                index.setdefault(value, []).append(k)
        return {value: np.array(ks, dtype=np.int64) for value, ks in index.items()}

    def eligible(self, request: Request, budget_left: np.ndarray) -> np.ndarray:
        """Per campaign: may it show on this request (everything but the listing and the pCTR)?"""
        check_request(request)
        ok = self.active_ & (self.starts_ <= request.ts_ms) & (request.ts_ms < self.ends_)
        ok &= (budget_left > 0) & (self.bids_ >= self.reserves_) & (self.seller_ids_ != request.viewer_id)
        ok &= self.by_gender_.get(request.gender, self.by_gender_[segments.UNKNOWN])
        ok &= self.by_age_band_.get(request.age_band, self.by_age_band_[segments.UNKNOWN])
        ok &= self._matching(self.any_category_, self.category_index_,
                             (p for c in request.categories for p in prefixes(c)))
        if request.surface == "search":
            ok &= self._matching(self.any_keyword_, self.keyword_index_, query_keys(request.query))
        for campaign_id, count in (request.seen or {}).items():
            k = self.campaign_index_.get(campaign_id)
            if k is not None and count >= self.frequency_cap:
                ok[k] = False
        return ok

    @staticmethod
    def _matching(untargeted: np.ndarray, index: dict[str, np.ndarray], keys) -> np.ndarray:
        mask = untargeted.copy()
        for key in keys:
            hits = index.get(key)
            if hits is not None:
                mask[hits] = True
        return mask

    def run(self, request: Request, pctr: np.ndarray, budget_left: np.ndarray,
            available: np.ndarray | None = None, slots: int | None = None) -> list[Placement]:
        """The placements of one request, slot order.

        ``pctr`` (calibrated click probability) and ``available`` (the listing can be bought
        now) are per pair, aligned with ``pair_item_``; ``budget_left`` is KRW per campaign,
        aligned with ``campaign_ids_`` (see :mod:`bunjang_lab.ads.pacing`); ``slots``
        overrides the fitted number (a shortlist asks for more).
        """
        slots = self.slots if slots is None else slots
        ok = self.eligible(request, np.asarray(budget_left))
        pair_ok = ok[self.pair_campaign_]
        if available is not None:
            pair_ok &= available
        placements = self._reserved(pair_ok, pctr, slots)
        open_slots = slots - len(placements)
        pair_ok &= ~self.hourly_[self.pair_campaign_] & (pctr >= self.relevance_floor)
        if open_slots <= 0 or not pair_ok.any():
            return placements
        pairs = np.flatnonzero(pair_ok)
        cpm = self.pair_cpm_[pairs]
        true_q = np.where(cpm, CPM_QUALITY, pctr[pairs])
        rank_q = true_q if self.policy != "bid_only" else np.where(cpm, CPM_QUALITY, self.prior_ctr)
        campaign = self.pair_campaign_[pairs]
        bids = self.bids_[campaign]
        value = bids * rank_q
        best = _best_per_campaign(value, campaign, open_slots + 1)
        for rank, j in enumerate(best[:open_slots]):
            k = int(campaign[j])
            if self.policy == "first_price":
                price = bids[j]
            elif rank + 1 < len(best):
                # the rounding guard keeps an exact ratio such as 9 / 0.05 from reading 179.99...
                price = np.floor(value[best[rank + 1]] / rank_q[j] * (1 + 1e-12)) + 1
            else:
                price = self.reserves_[k]
            price = min(max(price, self.reserves_[k]), bids[j])
            placements.append(Placement(len(placements), self.campaign_ids_[k], self.pair_item_[pairs[j]],
                                        self.campaigns_[k].billing, int(bids[j]), int(price), float(pctr[pairs[j]]),
                                        float(bids[j] * true_q[j])))
        return placements

    def _reserved(self, pair_ok: np.ndarray, pctr: np.ndarray, slots: int) -> list[Placement]:
        """Hourly reservations first, highest hourly price first (each on its best listing)."""
        if not self.hourly_.any():
            return []
        pairs = np.flatnonzero(pair_ok & self.hourly_[self.pair_campaign_])
        if not len(pairs):
            return []
        campaign = self.pair_campaign_[pairs]
        order = np.lexsort((-pctr[pairs], campaign, -self.bids_[campaign]))
        chosen = _first_of_each(order, campaign)[:slots]
        return [Placement(slot, self.campaign_ids_[campaign[j]], self.pair_item_[pairs[j]], "hourly",
                          int(self.bids_[campaign[j]]), int(self.bids_[campaign[j]]), float(pctr[pairs[j]]),
                          float(self.bids_[campaign[j]]))
                for slot, j in enumerate(chosen)]


def _first_of_each(order: np.ndarray, campaign: np.ndarray) -> np.ndarray:
    """The entries of ``order`` whose campaign has not appeared earlier in it."""
    _, first = np.unique(campaign[order], return_index=True)
    return order[np.sort(first)]


def _best_per_campaign(value: np.ndarray, campaign: np.ndarray, wanted: int) -> np.ndarray:
    """Indices of the ``wanted`` best campaigns' best pairs, in rank order (value descending,
    ties by campaign). Only the top of the values is sorted when it holds enough campaigns:
    a request has one to four open slots and up to thousands of pairs."""
    def ranked(pairs: np.ndarray) -> np.ndarray:
        return _first_of_each(pairs[np.lexsort((campaign[pairs], -value[pairs]))], campaign)

    size = 8 * wanted
    if size < len(value):
        threshold = np.partition(value, len(value) - size)[len(value) - size]
        best = ranked(np.flatnonzero(value >= threshold))   # every tie at the threshold stays in
        if len(best) >= wanted:
            return best[:wanted]
    return ranked(np.arange(len(value)))[:wanted]
