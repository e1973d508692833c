"""Simulated performance ads: sellers running campaigns (listings, bids, budgets, targeting)
and users with true ad click propensities, for tests and ``benchmarks/ads.py``
(:func:`make_ad_market`, :func:`run_ads`), and on the marketplace simulation's own listings
(:class:`MarketplaceAds`, what ``simulate`` and so ``data/sample`` emit).

The users are the marketplace simulator's (:func:`~bunjang_lab.simulate.market.make_users`:
tastes over leaf categories, brands, price fit) and an ad's true click probability comes from
the same utility that drives organic clicks (:func:`~bunjang_lab.simulate.market.utility`),
times a position effect. Bids are drawn independently of how much anyone wants the listing,
as sellers bid on what they want to sell, which is what makes bid-only ranking show
unwanted ads. The auction sees the truth only through a model's prediction.

>>> market = make_ad_market(n_users=200, n_campaigns=40, seed=0)
>>> len(market.campaigns), sorted({c.billing for c in market.campaigns})
(40, ['cpc', 'cpm', 'hourly'])
>>> p = market.true_ctr(0, np.arange(len(market.pair_leaf)))
>>> bool(((0 < p) & (p < 1)).all())
True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from heapq import heappop, heappush

import numpy as np

from bunjang_lab.ads.auction import Auction, Request
from bunjang_lab.ads.blend import blend
from bunjang_lab.ads.campaigns import Campaign
from bunjang_lab.ads.charges import DayState, apply_charge, kst_day
from bunjang_lab.ads.pacing import Pacer
from bunjang_lab.marketplace import segments
from bunjang_lab.simulate import catalog
from bunjang_lab.simulate.market import BRANDS, DAY_MS, DIURNAL, HOUR_MS, LEAF_BRANDS, Config, Users, make_users, utility

DEFAULT_START_MS = int(dt.datetime(2026, 11, 2, tzinfo=dt.timezone(dt.timedelta(hours=9))).timestamp() * 1000)
AD_CTR_OFFSET = 6.0        # ads are clicked less than organic results...
ORGANIC_CTR_OFFSET = 4.5   # ...which are clicked less than in a session's own browsing
LIST_SIZE = 10             # organic results per request
AD_POSITIONS = (1, 4)      # where the ads go in the served list
SURFACE_SHARE = (("home", 0.5), ("search", 0.3), ("detail", 0.2))


@dataclass
class AdMarket:
    """Users, campaigns and the listings they promote (one row per campaign × listing pair,
    in the order the auction indexes them: campaigns in order, listings in order)."""

    users: Users
    campaigns: list[Campaign]
    pair_leaf: np.ndarray
    pair_brand: np.ndarray
    pair_log_price: np.ndarray     # log of price relative to the leaf's median
    pair_quality: np.ndarray
    start_ms: int
    organic: dict                  # the organic listings: leaf, brand, log_price, quality (arrays)

    def _utility(self, user: int, leaf, brand, log_price, quality, intent: int) -> np.ndarray:
        return utility(self.users, np.array([user]), leaf[None, :], brand[None, :], log_price[None, :],
                       np.zeros((1, len(leaf))), quality[None, :], np.array([intent]))[0]

    def true_ctr(self, user: int, pairs: np.ndarray, intent: int = -1, position: int = 0) -> np.ndarray:
        """True probability that ``user`` clicks each pair's ad shown at list ``position``."""
        util = self._utility(user, self.pair_leaf[pairs], self.pair_brand[pairs], self.pair_log_price[pairs],
                             self.pair_quality[pairs], intent)
        return position_effect(position) / (1 + np.exp(-(util - AD_CTR_OFFSET)))

    def organic_results(self, user: int, intent: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The request's organic results (an imperfect ranker: utility plus Gumbel noise) and
        each one's true click probability at the top of the list."""
        o = self.organic
        util = self._utility(user, o["leaf"], o["brand"], o["log_price"], o["quality"], intent)
        top = np.argsort(-(util + rng.gumbel(0, 1, len(util))), kind="stable")[:k]
        return top, 1 / (1 + np.exp(-(util[top] - ORGANIC_CTR_OFFSET)))

    def segment_of(self, user: int) -> tuple[str, str]:
        return segment_of(self.users, user)


def segment_of(users: Users, user: int) -> tuple[str, str]:
    """(gender, age band) a user's sign-up reveals (unknown where it was not reported)."""
    gender = ("F", "M")[users.gender[user]] if users.gender_reported[user] else segments.UNKNOWN
    band = segments.KNOWN_AGE_BANDS[users.age_band[user]] if users.birth_reported[user] else segments.UNKNOWN
    return gender, band


def position_effect(position: int) -> float:
    """How much less a lower position of a list is looked at (1 at the top)."""
    return 1.0 / (1.0 + 0.25 * position)


def _listing_draws(rng: np.random.Generator, leaves: np.ndarray) -> tuple[list, list, list]:
    brand = [int(rng.choice(LEAF_BRANDS[lf])) if len(LEAF_BRANDS[lf]) and rng.random() < 0.6 else -1 for lf in leaves]
    return brand, rng.normal(0, 0.3, len(leaves)).tolist(), rng.normal(0, 0.5, len(leaves)).tolist()


def campaign_terms(rng: np.random.Generator, billing: str, top_path: str, brand_names: list[str]) -> dict:
    """A seller's bid, daily budget and targeting for a campaign in ``billing`` on listings
    under ``top_path`` (bids are drawn independently of how much anyone wants the listing)."""
    cpc_bid = float(np.clip(rng.lognormal(np.log(250), 0.6), 60, 3_000))
    bid = {"cpc": cpc_bid, "cpm": cpc_bid * 10, "hourly": cpc_bid * 40}[billing]
    budget = cpc_bid * rng.lognormal(np.log(40), 0.7)
    if billing == "hourly":
        budget = bid * rng.integers(4, 12)
    return {"billing": billing, "bid": int(round(bid)), "daily_budget": int(round(max(budget, bid))),
            # a reservation holds its slot for an hour: sellers book it where their buyers look
            "categories": (top_path,) if billing == "hourly" or rng.random() < 0.3 else (),
            "keywords": tuple(brand_names[:1]) if brand_names and rng.random() < 0.3 else (),
            "genders": (("F", "M")[int(rng.integers(2))],) if rng.random() < 0.15 else (),
            "age_bands": tuple(rng.choice(segments.KNOWN_AGE_BANDS, 2, replace=False)) if rng.random() < 0.15 else ()}


def draw_billing(rng: np.random.Generator) -> str:
    return str(rng.choice(["cpc", "cpm", "hourly"], p=[0.82, 0.16, 0.02]))


def make_ad_market(n_users: int = 3_000, n_campaigns: int = 300, seed: int = 0,
                   start_ms: int = DEFAULT_START_MS, n_organic: int = 2_000) -> AdMarket:
    """A market of ``n_campaigns`` campaigns by distinct sellers among ``n_users`` users, and
    ``n_organic`` other listings for the organic results."""
    rng = np.random.default_rng(seed)
    users = make_users(rng, n_users, start_ms, 1, Config())
    sellers = rng.choice(n_users, size=min(n_campaigns, n_users), replace=False)
    campaigns, leaf, brand, log_price, quality = [], [], [], [], []
    for k in range(n_campaigns):
        seller = int(sellers[k % len(sellers)])
        billing = draw_billing(rng)
        n_items = int(rng.integers(1, 4))
        leaves = rng.choice(len(catalog.LEAVES), n_items, p=users.taste[seller])
        item_ids = tuple(f"ad{k}-{j}" for j in range(n_items))
        leaf += leaves.tolist()
        for column, drawn in zip((brand, log_price, quality), _listing_draws(rng, leaves)):
            column += drawn
        top_path = catalog.LEAVES[int(leaves[0])].path.split(">")[0]
        brand_names = [BRANDS[b] for b in brand[-n_items:] if b >= 0]
        campaigns.append(Campaign(campaign_id=f"c{k:04d}", seller_id=f"u{seller}", item_ids=item_ids,
                                  start_ms=start_ms, **campaign_terms(rng, billing, top_path, brand_names)))
    organic_rng = np.random.default_rng([seed, 1])   # its own stream: the campaigns do not depend on it
    organic_leaf = organic_rng.choice(len(catalog.LEAVES), n_organic)
    organic = dict(zip(("brand", "log_price", "quality"), map(np.array, _listing_draws(organic_rng, organic_leaf))),
                   leaf=organic_leaf)
    return AdMarket(users, campaigns, np.array(leaf), np.array(brand), np.array(log_price), np.array(quality), start_ms,
                    organic)


@dataclass(frozen=True)
class AdRequest:
    """One simulated request: who asks, on which surface, what the session is about."""

    user: int
    intent: int
    request: Request


def make_requests(market: AdMarket, n: int, day: int = 0, seed: int = 0) -> list[AdRequest]:
    """``n`` requests over one KST day, spread over the marketplace's diurnal curve, by
    users drawn by activity, each with a session intent drawn from their taste."""
    rng = np.random.default_rng(seed)
    users = market.users
    who = rng.choice(users.n, n, p=users.activity / users.activity.sum())
    hours = rng.choice(24, n, p=DIURNAL)
    ts = np.sort(market.start_ms + day * 24 * HOUR_MS + hours * HOUR_MS + rng.integers(0, HOUR_MS, n))
    surfaces = rng.choice([s for s, _ in SURFACE_SHARE], n, p=[p for _, p in SURFACE_SHARE])
    out = []
    for u, t, surface in zip(who.tolist(), ts.tolist(), surfaces.tolist()):
        intent = int(rng.choice(len(catalog.LEAVES), p=users.taste[u]))
        leaf = catalog.LEAVES[intent]
        liked = [b for b in LEAF_BRANDS[intent] if users.brand_pref[u, b]]
        query = f"{BRANDS[liked[0]]} {leaf.nouns[0]}" if liked else leaf.nouns[0]
        gender, band = market.segment_of(u)
        out.append(AdRequest(u, intent, Request(f"u{u}", surface, t, gender, band, categories=(leaf.path,),
                                                query=query if surface == "search" else "")))
    return out


@dataclass
class AdDay:
    """What one policy did over a stream of requests.

    ``events`` are contract events (the campaigns' ``ad_campaign`` first); ``per_request``
    holds, per request, the milli-KRW charged for it, its ad clicks, ad impressions, organic
    clicks and organic impressions (for paired intervals); ``spent`` is the real-time budget state per (campaign, KST day)."""

    events: list[dict]
    per_request: np.ndarray
    spent: dict


def campaign_events(market: AdMarket) -> list[dict]:
    """The ``ad_campaign`` events that create the market's campaigns, an hour before it opens."""
    fields = ("item_ids", "billing", "bid", "daily_budget", "start_ms", "end_ms", "categories", "keywords",
              "genders", "age_bands")
    return [{"event_id": f"camp-{c.campaign_id}", "type": "ad_campaign", "ts": market.start_ms - HOUR_MS,
             "user_id": c.seller_id, "campaign_id": c.campaign_id,
             **{f: list(v) if isinstance(v, tuple) else v for f in fields if (v := getattr(c, f)) not in (None, ())}}
            for c in market.campaigns]


class RealTimeCharges:
    """Each campaign's spend per KST day as serving keeps it: every ad event charged by the
    ledger's rule (:func:`~bunjang_lab.ads.charges.apply_charge`) in the ledger's order.
    A click comes seconds after its impression, so it waits until the stream reaches its time."""

    def __init__(self, campaigns=()):
        self.terms: dict[str, Campaign] = {c.campaign_id: c for c in campaigns}
        self.states: dict[tuple[str, str], DayState] = {}
        self._clicks: list = []   # (ts, event_id, tag, campaign id, price), not yet charged

    def add(self, campaign: Campaign) -> None:
        self.terms[campaign.campaign_id] = campaign

    def charge(self, kind: str, campaign_id: str, price: int, ts_ms: int) -> int:
        """Charge one event now; returns the amount in thousandths of a won."""
        c = self.terms[campaign_id]
        state = self.states.setdefault((campaign_id, kst_day(ts_ms)), DayState())
        amount, _ = apply_charge(state, kind, c.billing, price, bid=c.bid, daily_budget=c.daily_budget, ts_ms=ts_ms)
        return amount

    def click_later(self, ts_ms: int, event_id: str, campaign_id: str, price: int, tag=None) -> None:
        heappush(self._clicks, (ts_ms, event_id, tag, campaign_id, price))

    def settle(self, until_ms: int) -> list[tuple]:
        """Charge the waiting clicks up to ``until_ms`` in ``(ts, event_id)`` order; returns
        ``(tag, amount)`` of each."""
        done = []
        while self._clicks and self._clicks[0][0] <= until_ms:
            ts, _, tag, cid, price = heappop(self._clicks)
            done.append((tag, self.charge("ad_click", cid, price, ts)))
        return done

    def spent_krw(self, campaign_ids, day: str) -> np.ndarray:
        """KRW each campaign has spent on ``day``, in the order of ``campaign_ids``."""
        states = self.states
        return np.array([states[(c, day)].spent_milli / 1000 if (c, day) in states else 0.0 for c in campaign_ids])


def run_ads(market: AdMarket, auction, requests: list[AdRequest], predict, pacer, seed: int = 0,
            prefix: str = "", positions: tuple[int, ...] = AD_POSITIONS) -> AdDay:
    """Serve ``requests`` with ``auction`` (fitted on ``market.campaigns``), pacing budgets with
    ``pacer`` and charging by the ledger's rule in event order, as serving does in real time.
    The ads are blended at ``positions`` of the request's organic results
    (:func:`~bunjang_lab.ads.blend.blend`).

    ``predict(ad_request, pairs) -> pCTR`` per pair. Whether an entry of the list is clicked is
    drawn from its true probability at its position with one uniform number per (request,
    position) from ``seed``, so two policies run on the same requests face the same users
    (common random numbers).
    """
    budgets = np.array([c.daily_budget for c in market.campaigns], dtype=np.float64)
    charges = RealTimeCharges(market.campaigns)
    events = campaign_events(market)
    per_request = np.zeros((len(requests), 5), dtype=np.int64)
    all_pairs = np.arange(len(market.pair_leaf))
    pair_of = {item: j for j, item in enumerate(auction.pair_item_)}
    if len(pair_of) != len(all_pairs):
        raise ValueError("run_ads needs an auction fitted on the market's campaigns without flags")
    serial = 0

    def settle(until_ms):
        for j, amount in charges.settle(until_ms):
            per_request[j, 0] += amount

    for i, ad_request in enumerate(requests):
        request = ad_request.request
        settle(request.ts_ms)
        spent = charges.spent_krw(auction.campaign_ids_, kst_day(request.ts_ms))
        placements = auction.run(request, predict(ad_request, all_pairs),
                                 pacer.budget_left(budgets, spent, request.ts_ms))
        draws = np.random.default_rng([seed, i])
        organic, organic_ctr = market.organic_results(ad_request.user, ad_request.intent, LIST_SIZE, draws)
        shown = blend([{"item_id": f"organic-{j}", "ctr": c} for j, c in zip(organic.tolist(), organic_ctr.tolist())],
                      [{"item_id": p.item_id, "placement": p} for p in placements], positions)
        uniforms = draws.random(len(shown) + 1)   # one per list position, and the click delay
        auction_id = f"{prefix}a{i:07d}"
        for position, entry in enumerate(shown):
            if not entry.get("ad"):
                per_request[i, 4] += 1
                per_request[i, 3] += int(uniforms[position] < position_effect(position) * entry["ctr"])
                continue
            p = entry["placement"]
            serial += 1
            common = {"user_id": request.viewer_id, "auction_id": auction_id, "campaign_id": p.campaign_id,
                      "item_id": p.item_id, "surface": request.surface, "position": position, "billing": p.billing,
                      "price_charged": p.price}
            event_id = f"{prefix}e{serial:09d}"
            events.append({"event_id": event_id, "type": "ad_impression", "ts": request.ts_ms, **common})
            per_request[i, 0] += charges.charge("ad_impression", p.campaign_id, p.price, request.ts_ms)
            per_request[i, 2] += 1
            truth = market.true_ctr(ad_request.user, np.array([pair_of[p.item_id]]), ad_request.intent, position)[0]
            if uniforms[position] < truth:
                serial += 1
                click_ts = request.ts_ms + 2_000 + int(uniforms[-1] * 20_000)
                click_id = f"{prefix}e{serial:09d}"
                events.append({"event_id": click_id, "type": "ad_click", "ts": click_ts, **common})
                per_request[i, 1] += 1
                charges.click_later(click_ts, click_id, p.campaign_id, p.price, i)
    settle(np.iinfo(np.int64).max)
    return AdDay(events, per_request, charges.states)


class MarketplaceAds:
    """Ads on the marketplace simulation's own listings (:mod:`bunjang_lab.simulate.engine`):
    some honest listings are promoted by their seller from shortly after they are listed until
    they leave the market, and the home and search sessions get the auction's ads at
    :data:`AD_POSITIONS` of their list (:func:`~bunjang_lab.ads.blend.blend`), charged in real
    time by the ledger's rule so pacing sees each campaign's spend.

    Its draws come from its own stream, so the marketplace's other events are the same with or
    without ads. The auction's pCTR is the true click probability seen through a fixed error per
    listing (a model's, not the truth); a click is drawn from the truth at the ad's position.
    """

    def __init__(self, seed: int, users: Users, share: float):
        self.rng = np.random.default_rng([seed, 23])
        self.users, self.share = users, share
        self.campaigns: dict[str, Campaign] = {}
        self.listing: dict[str, int] = {}      # campaign id -> listing index
        self.model_error: dict[str, float] = {}
        self.charges = RealTimeCharges()
        self.pacer = Pacer()
        self.seen: dict[tuple[str, str], dict[str, int]] = {}   # (viewer, KST day) -> impressions per campaign
        self._auction: Auction | None = None
        self.auctions = 0

    def promote(self, listing: int, item_id: str, seller_id: str, leaf: int, brand_name: str | None,
                created_ms: int, latest_start_ms: int) -> dict | None:
        """Maybe a campaign for a new listing, starting minutes after it (by ``latest_start_ms``):
        the fields of its ``ad_campaign`` event, ``ts_ms`` its time."""
        if self.rng.random() >= self.share:
            return None
        billing = draw_billing(self.rng)
        terms = campaign_terms(self.rng, billing, catalog.LEAVES[leaf].path.split(">")[0],
                               [brand_name] if brand_name else [])
        start = min(created_ms + int(self.rng.integers(5, 120)) * 60_000, latest_start_ms)
        campaign = Campaign(campaign_id=f"c{len(self.campaigns):05d}", seller_id=seller_id, item_ids=(item_id,),
                            start_ms=start, **terms)   # no end: the seller stops it when the listing goes
        self.campaigns[campaign.campaign_id] = campaign
        self.listing[campaign.campaign_id] = listing
        self.model_error[campaign.campaign_id] = float(self.rng.normal(0, 0.5))
        self.charges.add(campaign)
        self._auction = None
        fields = {k: list(v) if isinstance(v, tuple) else v for k, v in campaign.to_json().items()
                  if k not in ("seller_id", "status", "end_ms") and v not in ((), [])}
        return {"ts_ms": start, **fields}

    def stop_ended(self, end: np.ndarray, until_ms: int) -> list[tuple[int, str, str]]:
        """``(ts, seller id, campaign id)`` of the live campaigns whose listing left the market
        before ``until_ms`` (sold, reserved or taken down): their sellers stop them then."""
        stopped = []
        for cid, campaign in list(self.campaigns.items()):
            gone = int(end[self.listing[cid]])
            if campaign.status == "active" and gone < until_ms:
                stopped.append((max(gone, campaign.start_ms), campaign.seller_id, cid))
                self.campaigns[cid] = campaign._replace(status="stopped")
                self._auction = None
        return stopped

    def serve(self, ts_ms: int, user: int, viewer_id: str, surface: str, intent: int, query: str,
              organic: list[str], items: dict, now_end: np.ndarray) -> list[tuple[int, str, dict]]:
        """The ad events of one session's list: ``(ts, type, fields)``. ``items`` holds the
        listings' columns (leaf, brand, price, quality, created) and ``now_end`` when each leaves."""
        live = [c for c in self.campaigns.values() if c.status == "active"]
        if not live:
            return []
        if self._auction is None:
            self._auction = Auction().fit(live)
        auction = self._auction
        listings = np.array([self.listing[c.campaign_id] for c in auction.campaigns_])   # one listing per campaign
        self.charges.settle(ts_ms)
        day = kst_day(ts_ms)
        seen = self.seen.setdefault((viewer_id, day), {})
        gender, band = segment_of(self.users, user)
        leaf = catalog.LEAVES[intent]
        request = Request(viewer_id, surface, ts_ms, gender, band, categories=(leaf.path,), query=query, seen=seen)
        util = utility(self.users, np.array([user]), items["leaf"][listings][None, :], items["brand"][listings][None, :],
                       items["price"][listings][None, :], (ts_ms - items["created"][listings][None, :]) / DAY_MS,
                       items["quality"][listings][None, :], np.array([intent]))[0]
        error = np.array([self.model_error[c.campaign_id] for c in auction.campaigns_])
        pctr = 1 / (1 + np.exp(-(util + error - AD_CTR_OFFSET)))
        available = (items["created"][listings] <= ts_ms) & (now_end[listings] > ts_ms)
        spent = self.charges.spent_krw(auction.campaign_ids_, day)
        budgets = np.array([c.daily_budget for c in auction.campaigns_], dtype=np.float64)
        placements = auction.run(request, pctr, self.pacer.budget_left(budgets, spent, ts_ms), available)
        self.auctions += 1
        auction_id = f"a{self.auctions:07d}"
        if not placements:
            return []
        shown = blend([{"item_id": i} for i in organic], [{"item_id": p.item_id, "placement": p} for p in placements],
                      AD_POSITIONS)
        truth = dict(zip(auction.campaign_ids_, 1 / (1 + np.exp(-(util - AD_CTR_OFFSET)))))
        events = []
        for position, entry in enumerate(shown):
            if not entry.get("ad"):
                continue
            p = entry["placement"]
            fields = {"auction_id": auction_id, "campaign_id": p.campaign_id, "item_id": p.item_id,
                      "surface": surface, "position": position, "billing": p.billing, "price_charged": p.price}
            events.append((ts_ms, "ad_impression", fields))
            seen[p.campaign_id] = seen.get(p.campaign_id, 0) + 1
            self.charges.charge("ad_impression", p.campaign_id, p.price, ts_ms)
            if self.rng.random() < position_effect(position) * truth[p.campaign_id]:
                click_ms = ts_ms + 2_000 + int(self.rng.integers(0, 20_000))
                events.append((click_ms, "ad_click", fields))
                # for pacing only (ties within a millisecond aside, the ledger's order): the ledger
                # recomputes every charge from the events
                self.charges.click_later(click_ms, f"{auction_id}-{position}", p.campaign_id, p.price)
        return events
