"""The ad auction: properties of its prices and order (hypothesis), and who is eligible."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bunjang_lab.ads.auction import CPM_QUALITY, Auction, Request
from bunjang_lab.ads.campaigns import Campaign, campaigns_from_events
from bunjang_lab.ads.charges import DayState, apply_charge
from bunjang_lab.ads.pacing import Pacer
from bunjang_lab.errors import InvalidInput

RESERVES = {"cpc": 50, "cpm": 500}

bidders = st.lists(st.tuples(st.sampled_from(["cpc", "cpc", "cpm"]), st.integers(1, 5_000),
                             st.floats(0.0, 0.3, allow_nan=False)), min_size=1, max_size=80)


def market(rows):
    campaigns = [Campaign(f"c{k:02d}", f"s{k}", (f"i{k}",), billing, bid, 100_000, 0)
                 for k, (billing, bid, _) in enumerate(rows)]
    return campaigns, np.array([p for _, _, p in rows])


def quality(placement):
    return CPM_QUALITY if placement.billing == "cpm" else placement.pctr


@settings(max_examples=300, deadline=None)
@given(rows=bidders, slots=st.integers(1, 4), policy=st.sampled_from(["gsp_pctr", "bid_only", "first_price"]))
def test_prices_lie_between_the_reserve_and_the_bid_and_slots_follow_bid_times_quality(rows, slots, policy):
    campaigns, pctr = market(rows)
    auction = Auction(slots=slots, policy=policy, reserve_cpc=RESERVES["cpc"], reserve_cpm=RESERVES["cpm"],
                      relevance_floor=0.01).fit(campaigns)
    placed = auction.run(Request("viewer", "home", 1), pctr, np.full(len(rows), 1e9))
    assert len(placed) <= slots and len({p.campaign_id for p in placed}) == len(placed)
    for p in placed:
        assert RESERVES[p.billing] <= p.price <= p.bid
        assert p.pctr >= 0.01
    eligible = [(b * (CPM_QUALITY if billing == "cpm" else (q if policy != "bid_only" else 0.02)), k)
                for k, (billing, b, q) in enumerate(rows) if b >= RESERVES[billing] and q >= 0.01]
    expected = [f"c{k:02d}" for _, k in sorted(eligible, key=lambda vk: (-vk[0], vk[1]))[:slots]]
    assert [p.campaign_id for p in placed] == expected  # order by bid x quality, ties by campaign
    if policy == "gsp_pctr":
        values = sorted((v for v, _ in eligible), reverse=True)
        for rank, p in enumerate(placed):
            below = values[rank + 1] if rank + 1 < len(values) else 0.0
            if p.price < p.bid:   # not capped by the bid: the price keeps the slot, one won less would not
                assert p.price * quality(p) >= below - 1e-9
                assert p.price == RESERVES[p.billing] or (p.price - 1) * quality(p) <= below + 1e-9
    if policy == "first_price":
        assert all(p.price == p.bid for p in placed)


@settings(max_examples=300, deadline=None)
@given(budget=st.integers(1, 20_000), events=st.lists(st.tuples(st.sampled_from(["cpc", "cpm", "hourly"]),
                                                                 st.integers(0, 3_000), st.integers(0, 10)),
                                                       min_size=1, max_size=200))
def test_a_day_never_overspends_by_more_than_one_charge(budget, events):
    """Whatever the auction priced, the ledger's rule keeps a day's spend under budget + one charge."""
    state, largest, t = DayState(), 0, 0
    for billing, price, minutes in events:
        t += minutes * 60_000
        kind = "ad_click" if billing == "cpc" else "ad_impression"
        charged, outcome = apply_charge(state, kind, billing, price, bid=2_000, daily_budget=budget, ts_ms=t)
        assert charged >= 0 and (charged == 0 or outcome == "charged")
        largest = max(largest, charged)
    assert state.spent_milli <= budget * 1000 + largest


@settings(max_examples=60, deadline=None)
@given(rows=bidders, clicks=st.lists(st.floats(0, 1), min_size=50, max_size=300))
def test_auction_with_pacing_and_ledger_spends_at_most_budget_plus_one_click(rows, clicks):
    campaigns, pctr = market(rows)
    campaigns = [Campaign(c.campaign_id, c.seller_id, c.item_ids, "cpc", c.bid, 3_000, 0) for c in campaigns]
    auction, pacer = Auction(slots=2).fit(campaigns), Pacer(slack=0.0)
    budgets = np.array([c.daily_budget for c in campaigns])
    states = [DayState() for _ in campaigns]
    for step, u in enumerate(clicks):
        ts = step * 60_000
        spent = np.array([s.spent_milli / 1000 for s in states])
        for p in auction.run(Request("v", "home", ts), pctr, pacer.budget_left(budgets, spent, ts)):
            if u < 0.5:
                k = auction.campaign_index_[p.campaign_id]
                apply_charge(states[k], "ad_click", "cpc", p.price, bid=p.bid, daily_budget=3_000, ts_ms=ts)
    for c, s in zip(campaigns, states):
        assert s.spent_milli <= c.daily_budget * 1000 + c.bid * 1000


def test_eligibility_excludes_each_reason_on_its_own():
    base = dict(item_ids=("i",), billing="cpc", bid=100, daily_budget=1_000, start_ms=0)
    campaigns = [
        Campaign("ok", "s0", **base),
        Campaign("own", "viewer", **base),
        Campaign("paused", "s2", **{**base}, status="paused"),
        Campaign("later", "s3", **{**base, "start_ms": 10_000}),
        Campaign("ended", "s4", **base, end_ms=500),
        Campaign("flagged", "bad", **base),
        Campaign("men", "s6", **base, genders=("M",)),
        Campaign("teens", "s7", **base, age_bands=("10s",)),
        Campaign("shoes", "s8", **base, categories=("신발",)),
        Campaign("bags", "s9", **base, categories=("가방",)),
        Campaign("kw", "s10", **base, keywords=("나이키",)),
        Campaign("capped", "s11", **base),
        Campaign("broke", "s12", **base),
        Campaign("cheap", "s13", **{**base, "bid": 10}),
    ]
    auction = Auction(frequency_cap=3).fit(campaigns, flagged_sellers={"bad"})
    budget = np.full(len(auction.campaigns_), 500.0)
    budget[auction.campaign_index_["broke"]] = 0
    request = Request("viewer", "home", 1_000, gender="F", age_band="20s", categories=("신발>스니커즈",),
                      seen={"capped": 3, "ok": 2})
    ok = auction.eligible(request, budget)
    eligible = {c for c, flag in zip(auction.campaign_ids_, ok) if flag}
    assert eligible == {"ok", "shoes", "kw"}   # keywords only narrow the search surface
    search = Request("viewer", "search", 1_000, gender="F", age_band="20s", query="나이키 덩크")
    eligible = {c for c, flag in zip(auction.campaign_ids_, auction.eligible(search, budget)) if flag}
    assert eligible == {"ok", "kw", "capped"}
    assert auction.eligible(Request("viewer", "search", 1_000, query="아디다스"), budget)[
        auction.campaign_index_["kw"]] == False  # noqa: E712


def test_unavailable_and_flagged_listings_and_the_relevance_floor_drop_pairs():
    campaigns = [Campaign("a", "s1", ("gone", "live"), "cpc", 200, 1_000, 0),
                 Campaign("b", "s2", ("scam",), "cpc", 900, 1_000, 0)]
    auction = Auction(slots=3, relevance_floor=0.01).fit(campaigns, flagged_items={"scam"})
    assert auction.pair_item_.tolist() == ["gone", "live"]
    placed = auction.run(Request("v", "detail", 5), np.array([0.2, 0.05]), np.full(2, 1e6),
                         available=np.array([False, True]))
    assert [(p.campaign_id, p.item_id) for p in placed] == [("a", "live")]
    assert auction.run(Request("v", "detail", 5), np.array([0.2, 0.005]), np.full(2, 1e6),
                       available=np.array([False, True])) == []


def test_hourly_reservations_take_the_first_slots_at_their_price():
    campaigns = [Campaign("hour", "s1", ("h",), "hourly", 30_000, 500_000, 0),
                 Campaign("click", "s2", ("c",), "cpc", 5_000, 500_000, 0),
                 Campaign("mille", "s3", ("m",), "cpm", 4_000, 500_000, 0)]
    placed = Auction(slots=2).fit(campaigns).run(Request("v", "home", 1), np.array([0.01, 0.1, 0.1]), np.full(3, 1e9))
    # the cpc ad beats the cpm one (500 vs 4 KRW per impression) and would pay 4 / 0.1 + 1 = 41: the reserve, 50
    assert [(p.slot, p.campaign_id, p.price) for p in placed] == [(0, "hour", 30_000), (1, "click", 50)]


def test_bad_parameters_and_surfaces_raise_domain_errors():
    with pytest.raises(InvalidInput):
        Auction(policy="vickrey").fit([])
    auction = Auction().fit([Campaign("a", "s", ("i",), "cpc", 100, 1_000, 0)])
    with pytest.raises(InvalidInput):
        auction.run(Request("v", "cart", 1), np.array([0.1]), np.array([1.0]))
    with pytest.raises(InvalidInput):
        Campaign("x", "s", (), "cpc", 100, 1_000, 0)


def test_campaigns_follow_their_latest_terms_and_stop_for_good():
    import pandas as pd

    def ts(ms):
        return pd.Timestamp(ms, unit="ms", tz="UTC")

    terms = dict(type="ad_campaign", user_id="s1", campaign_id="c1", item_ids=["i1"], billing="cpc",
                 daily_budget=1_000, start_ms=0)
    events = pd.DataFrame([
        {**terms, "event_id": "1", "ts": ts(1), "bid": 100},
        {"event_id": "2", "type": "ad_campaign_status", "ts": ts(2), "user_id": "s1", "campaign_id": "c1",
         "action": "pause"},
        {**terms, "event_id": "3", "ts": ts(3), "bid": 150},
        {"event_id": "4", "type": "ad_campaign_status", "ts": ts(4), "user_id": "s1", "campaign_id": "c1",
         "action": "stop"},
        {"event_id": "5", "type": "ad_campaign_status", "ts": ts(5), "user_id": "s1", "campaign_id": "c1",
         "action": "resume"},
    ])
    assert [(c.bid, c.status) for c in campaigns_from_events(events.iloc[:3])] == [(150, "paused")]
    assert [(c.bid, c.status) for c in campaigns_from_events(events)] == [(150, "stopped")]


rich_campaigns = st.lists(st.tuples(
    st.sampled_from(["cpc", "cpc", "cpm", "hourly"]), st.integers(1, 3_000), st.integers(1, 3),
    st.sampled_from([(), ("패션",), ("패션>신발",), ("디지털",)]), st.sampled_from([(), ("nike",), ("Apple",)]),
    st.sampled_from([(), ("F",), ("M", "unknown")]), st.sampled_from([(), ("20s", "30s")]),
    st.sampled_from(["active", "active", "paused"]), st.integers(0, 3), st.booleans()), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(rows=rich_campaigns, slots=st.integers(1, 4), policy=st.sampled_from(["gsp_pctr", "bid_only", "first_price"]),
       surface=st.sampled_from(["home", "search", "detail"]), query=st.sampled_from(["", "Nike dunk", "apple"]),
       gender=st.sampled_from(["F", "M", "unknown", "x"]), band=st.sampled_from(["20s", "50+", "unknown"]),
       seed=st.integers(0, 10_000))
def test_the_plain_auction_places_what_the_vectorised_one_places(rows, slots, policy, surface, query, gender, band,
                                                                 seed):
    """``score recommend``'s standard-library auction and :class:`Auction` are one auction."""
    from bunjang_lab.ads.plain_auction import placements

    rng = np.random.default_rng(seed)
    campaigns = [Campaign(f"c{k:02d}", f"s{k % 7}", tuple(f"i{(k * 3 + j) % 50}" for j in range(n)), billing, bid,
                          10_000, 0 if started else 10, None, categories, keywords, genders, bands, status)
                 for k, (billing, bid, n, categories, keywords, genders, bands, status, _, started) in enumerate(rows)]
    auction = Auction(slots=slots, policy=policy).fit(campaigns)
    pctr = np.round(rng.uniform(0, 0.1, len(auction.pair_item_)), 3)   # rounded: ties happen
    budget = np.where(rng.random(len(campaigns)) < 0.8, 500.0, -1.0)
    available = rng.random(len(auction.pair_item_)) < 0.9
    gone = {item for item, ok in zip(auction.pair_item_, available) if not ok}
    available = np.array([item not in gone for item in auction.pair_item_])
    seen = {f"c{k:02d}": row[8] + 3 for k, row in enumerate(rows)}
    request = Request("s3", surface, 5, gender, band, ("패션>신발>운동화",), query, seen)
    vectorised = auction.run(request, pctr, budget, available)
    plain = placements(campaigns, request,
                       {(c.campaign_id, i): float(p) for c, i, p in zip(
                           [auction.campaigns_[k] for k in auction.pair_campaign_], auction.pair_item_, pctr)},
                       {c.campaign_id: float(b) for c, b in zip(campaigns, budget)}, lambda i: i not in gone,
                       slots=slots, policy=policy)
    assert plain == vectorised


def test_a_held_ranking_walks_to_what_ranking_everything_gives():
    """The plain auction's walk over a ranking read in part answers None or the full answer."""
    import random

    from bunjang_lab.ads.plain_auction import Request, audience, placements, ranked_placements, ranking

    rng = random.Random(3)
    for _ in range(200):
        campaigns = [Campaign(f"c{k}", f"s{k % 5}", tuple(f"i{rng.randrange(30)}" for _ in range(rng.randrange(1, 4))),
                              rng.choice(["cpc", "cpc", "cpm", "hourly"]), rng.randrange(40, 3_000), 1_000, 0)
                     for k in range(rng.randrange(1, 25))]
        request = Request("s1", "home", 5, seen={"c1": 9})
        pctr = {(c.campaign_id, i): rng.choice([0.001, 0.01, 0.02, 0.05]) for c in campaigns for i in c.item_ids}
        budget = {c.campaign_id: rng.choice([-1.0, 500.0]) for c in campaigns}
        gone = {f"i{rng.randrange(30)}" for _ in range(5)}
        slots = rng.randrange(1, 4)
        full = placements(campaigns, request, pctr, budget, lambda i: i not in gone, slots=slots)
        ranked = ranking(campaigns, audience(request), pctr)
        read = {c.campaign_id for c in rng.sample(campaigns, rng.randrange(len(campaigns) + 1))}
        partial = ranked_placements(ranked, request, {c: b for c, b in budget.items() if c in read},
                                    lambda i: i not in gone, read=read, slots=slots)
        assert partial is None or partial == full
        assert ranked_placements(ranked, request, budget, lambda i: i not in gone, slots=slots) == full
