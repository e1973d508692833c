"""Performance ads on the simulator: three auction policies on the same requests, the ledger
reconciled against the events, and the auction's latency with 1,000 eligible campaigns.

1. A market of sellers' campaigns and users with true ad click propensities
   (``bunjang_lab.simulate.ads``). The auction sees a model's score: the true logit plus
   per-(user, listing) noise (``--noise``), on a ranker's own scale.
2. Warm-up day: the GSP auction with the raw scores logs ad impressions; the click-through
   calibrator (Platt scaling) and the pacing curve are fitted on them.
3. Evaluation day (other requests): ``gsp_pctr`` (bid x calibrated pCTR, second price),
   ``bid_only`` (rank by bid, second price) and ``first_price`` (bid x pCTR, pay the bid), each
   on the same requests and the same users' click draws. Revenue is what the ledger charges
   (``bunjang_lab.ads.ledger`` over the emitted events); the ledger is reconciled against the
   events and against the real-time budget state. Paired bootstrap intervals over requests
   compare gsp_pctr with bid_only (clicks per request, revenue ratio).
   Each request's list is 10 organic results (an imperfect organic ranker) with the ads at
   positions 1 and 4; ``ctr`` is the ads', ``organic_ctr`` the organic results', ``user_ctr``
   the whole list's.
4. Latency: ``Auction.run`` (eligibility, ranking, pricing) with 1,000 eligible campaigns, and
   the ``score ads`` lookup from a SQLite cache with its shortlist against reading every
   campaign's budget and listings.

The last line is ``{"policies": {...}, "overspend_krw": n, "ledger_mismatch": n,
"auction_p99_ms": x}``; ``--json`` prints only that line.

    .venv/bin/python benchmarks/ads.py [--users 3000] [--campaigns 1000] [--requests 8000] [--noise 0.8] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from bunjang_lab.ads.auction import POLICIES, Auction, Request
from bunjang_lab.ads.calibration import CTRCalibrator
from bunjang_lab.ads.charges import MILLI, kst_day
from bunjang_lab.ads.ledger import build_ledger, reconcile, statement
from bunjang_lab.ads.pacing import Pacer
from bunjang_lab.errors import BunjangError
from bunjang_lab.intervals import paired_bootstrap, resample_means
from bunjang_lab.simulate.ads import AD_CTR_OFFSET, make_ad_market, make_requests, run_ads

RANKER_SCALE, RANKER_SHIFT = 0.6, 1.5   # a ranker's raw score is a logit on its own scale


def model_scores(market, noise: float, seed: int):
    """``scores(ad_request, pairs)``: the true logit plus fixed noise per (user, listing), rescaled."""
    cache: dict[int, np.ndarray] = {}

    def scores(ad_request, pairs):
        user = ad_request.user
        if user not in cache:
            cache[user] = np.random.default_rng([seed, user]).normal(0, noise, len(market.pair_leaf))
        truth = market.true_ctr(user, pairs, ad_request.intent)
        return RANKER_SCALE * (np.log(truth / (1 - truth)) + cache[user][pairs]) + RANKER_SHIFT
    return scores


def frame(events: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(events)
    df["ts"] = pd.to_datetime(df["ts"], unit="ms", utc=True)
    return df


def evaluate_policy(market, policy, requests, predict, pacer, seed):
    auction = Auction(slots=2, policy=policy).fit(market.campaigns)
    day = run_ads(market, auction, requests, predict, pacer, seed=seed, prefix=f"{policy}-")
    events = frame(day.events)
    ledger = build_ledger(events)
    table = statement(ledger)
    checks = reconcile(ledger, table, events)
    realtime = {(cid, d): s.spent_milli for (cid, d), s in day.spent.items() if s.spent_milli}
    booked = {(r.campaign_id, r.day): int(r.spend_milli) for r in table.itertuples() if r.spend_milli}
    mismatch = sum(v for k, v in checks.items() if k != "overspend") + sum(
        realtime.get(k) != booked.get(k) for k in set(realtime) | set(booked))
    largest = ledger.groupby(["campaign_id", "day"])["charge_milli"].max() / MILLI
    over = (table.set_index(["campaign_id", "day"])["spend_krw"]
            - table.set_index(["campaign_id", "day"])["daily_budget"])
    beyond_one = (over - largest.reindex(over.index)).clip(lower=0)
    revenue = int(ledger["charge_milli"].sum()) / MILLI
    clicks, imps, organic_clicks, organic_imps = day.per_request[:, 1:].sum(axis=0).tolist()
    return {"revenue": round(revenue, 3), "clicks": clicks, "impressions": imps,
            "ctr": round(clicks / imps, 5) if imps else 0.0,
            "organic_ctr": round(organic_clicks / organic_imps, 5) if organic_imps else 0.0,
            "user_ctr": round((clicks + organic_clicks) / (imps + organic_imps), 5),
            "cpc": round(revenue / clicks, 1) if clicks else None}, {
        "per_request": day.per_request, "mismatch": int(mismatch), "overspend_beyond_one_krw": float(beyond_one.sum()),
        "overspend_within_one_krw": float(over.clip(lower=0).sum()), "campaign_days_over": int((over > 0).sum()),
        "budget_use": float((table["spend_krw"].sum() / table["daily_budget"].sum()) if len(table) else 0.0)}


def latency(market, n_campaigns: int, requests: int, seed: int) -> dict:
    """Milliseconds per ``Auction.run`` with every campaign eligible (targeting off, budgets left):
    wall clock (what a caller waits, preemption on a loaded machine included) and this
    thread's CPU time (what the code costs)."""
    rng = np.random.default_rng(seed)
    campaigns = [c._replace(billing="cpm" if c.billing == "cpm" else "cpc", categories=(), keywords=(), genders=(),
                                 age_bands=()) for c in market.campaigns[:n_campaigns]]
    out = {}
    for policy in POLICIES:
        auction = Auction(slots=2, policy=policy, relevance_floor=0.0).fit(campaigns)
        budget_left = np.full(len(campaigns), 1e12)
        n_pairs = len(auction.pair_item_)
        assert auction.eligible(Request("nobody", "home", market.start_ms), budget_left).sum() == n_campaigns
        wall, cpu = [], []
        for i in range(requests):
            pctr = rng.random(n_pairs) * 0.05
            request = Request(f"viewer{i}", ("home", "search", "detail")[i % 3], market.start_ms + i)
            start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
            auction.run(request, pctr, budget_left)
            cpu.append(time.thread_time_ns() - start_cpu)
            wall.append(time.perf_counter_ns() - start)
        wall_ms, cpu_ms = np.array(wall) / 1e6, np.array(cpu) / 1e6
        out[policy] = {"p50_ms": round(float(np.percentile(wall_ms, 50)), 4),
                       "p99_ms": round(float(np.percentile(wall_ms, 99)), 4),
                       "cpu_p99_ms": round(float(np.percentile(cpu_ms, 99)), 4), "pairs": n_pairs}
    return out


def serving_latency(market, requests: int) -> dict:
    """Milliseconds per ``score ads`` lookup (``serving.ads.ads_for``, SQLite cache, the
    market's campaigns created by events, a tenth of them out of budget) with the shortlist
    and, as the same-run baseline, with every campaign's budget and listings read."""
    import tempfile
    from pathlib import Path

    from bunjang_lab.serving.ads import ads_for
    from bunjang_lab.serving.backends import open_cache
    from bunjang_lab.serving.events import apply_event
    from bunjang_lab.serving.publish import publish_run
    from bunjang_lab.simulate.ads import campaign_events
    from bunjang_lab.testing import write_run

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'cache.sqlite'}"
        publish_run(write_run(Path(tmp) / "run"), url)
        with open_cache(url) as cache:
            for event in campaign_events(market):
                apply_event(cache, event)
            for n, c in enumerate(market.campaigns[::10]):
                apply_event(cache, {"event_id": f"spent-{n}", "type": "ad_click" if c.billing == "cpc" else "ad_impression",
                                    "ts": market.start_ms, "user_id": "u1", "auction_id": f"x{n}",
                                    "campaign_id": c.campaign_id, "item_id": c.item_ids[0], "surface": "home",
                                    "position": 0, "billing": c.billing, "price_charged": c.daily_budget})
            for name, shortlist in (("shortlist", 4), ("full_read", None)):
                ads_for(cache, "home", "u1", now_ms=market.start_ms + 3_600_000, shortlist=shortlist)  # hold the index
                times = []
                for i in range(requests):
                    start = time.perf_counter_ns()
                    ads_for(cache, ("home", "search", "detail")[i % 3], f"u{i % 20}", item_id="i3", query="x",
                            now_ms=market.start_ms + 3_600_000 + i, shortlist=shortlist)
                    times.append(time.perf_counter_ns() - start)
                ms = np.array(times) / 1e6
                out[name] = {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3)}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=3000)
    p.add_argument("--campaigns", type=int, default=1000)
    p.add_argument("--requests", type=int, default=8000, help="evaluation-day requests (warm-up: half)")
    p.add_argument("--noise", type=float, default=0.8, help="model error: sd of the noise on the true logit")
    p.add_argument("--latency-requests", type=int, default=3000)
    p.add_argument("--serving-requests", type=int, default=300, help="score ads lookups timed (0: skip)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print only the last line")
    args = p.parse_args(argv)
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
    started = time.perf_counter()

    market = make_ad_market(args.users, args.campaigns, seed=args.seed)
    scores = model_scores(market, args.noise, args.seed + 7)
    naive = lambda r, pairs: 1 / (1 + np.exp(-scores(r, pairs)))   # noqa: E731  the raw scale, uncalibrated
    warm_requests = make_requests(market, args.requests // 2, day=0, seed=args.seed + 1)
    warm = run_ads(market, Auction(slots=2).fit(market.campaigns), warm_requests, naive, Pacer(),
                   seed=args.seed + 2, prefix="warm-")
    shown = [e for e in warm.events if e["type"] == "ad_impression"]
    clicked = {(e["auction_id"], e["item_id"]) for e in warm.events if e["type"] == "ad_click"}
    by_auction = {f"warm-a{i:07d}": r for i, r in enumerate(warm_requests)}
    pair_of = {item: j for j, item in enumerate(Auction().fit(market.campaigns).pair_item_)}
    logged = np.array([scores(by_auction[e["auction_id"]], np.array([pair_of[e["item_id"]]]))[0] for e in shown])
    calibrator = CTRCalibrator().fit(logged, [(e["auction_id"], e["item_id"]) in clicked for e in shown])
    pacer = Pacer().fit([e["ts"] for e in shown])
    say(f"warm-up: {len(shown)} ad impressions, {len(clicked)} clicks; calibration slope {calibrator.slope_:.3f} "
        f"intercept {calibrator.intercept_:.3f} (truth: {1 / RANKER_SCALE:.3f}, {-RANKER_SHIFT / RANKER_SCALE:.3f} "
        f"before the noise)")

    predict = lambda r, pairs: calibrator.predict(scores(r, pairs))   # noqa: E731
    requests = make_requests(market, args.requests, day=1, seed=args.seed + 3)
    policies, extra = {}, {}
    for policy in POLICIES:
        policies[policy], extra[policy] = evaluate_policy(market, policy, requests, predict, pacer, args.seed + 4)
        say(f"{policy:12s} {json.dumps(policies[policy])}  budget use {extra[policy]['budget_use']:.3f}  "
            f"campaign-days over budget {extra[policy]['campaign_days_over']} "
            f"(by {extra[policy]['overspend_within_one_krw']:.0f} KRW in all, each within one charge)")
    gsp, bid = extra["gsp_pctr"]["per_request"], extra["bid_only"]["per_request"]
    clicks_ci = paired_bootstrap(gsp[:, 1], bid[:, 1], seed=args.seed)
    means = resample_means(np.column_stack([gsp[:, 0], bid[:, 0]]), seed=args.seed)
    ratio = means[:, 0] / means[:, 1]
    ratio_ci = {"ratio": policies["gsp_pctr"]["revenue"] / policies["bid_only"]["revenue"],
                "low": float(np.percentile(ratio, 2.5)), "high": float(np.percentile(ratio, 97.5))}
    say(f"gsp_pctr - bid_only, ad clicks per request: {clicks_ci['diff']:+.4f} "
        f"[{clicks_ci['low']:+.4f}, {clicks_ci['high']:+.4f}] (95% paired bootstrap over {len(gsp)} requests)")
    organic_ci = paired_bootstrap(gsp[:, 3] + gsp[:, 1], bid[:, 3] + bid[:, 1], seed=args.seed)
    say(f"gsp_pctr - bid_only, all clicks per request (organic and ads): {organic_ci['diff']:+.4f} "
        f"[{organic_ci['low']:+.4f}, {organic_ci['high']:+.4f}]")
    say(f"gsp_pctr / bid_only revenue: {ratio_ci['ratio']:.3f} [{ratio_ci['low']:.3f}, {ratio_ci['high']:.3f}] "
        f"(target >= 0.95 with more clicks)")
    lat = latency(market, min(1000, args.campaigns), args.latency_requests, args.seed)
    say(f"auction latency, {min(1000, args.campaigns)} eligible campaigns: {json.dumps(lat)} (shared, loaded machine)")
    if args.serving_requests:
        say(f"score ads lookup ({min(1000, args.campaigns)} campaigns in a SQLite cache): "
            f"{json.dumps(serving_latency(market, args.serving_requests))}")
    say(f"seconds: {time.perf_counter() - started:.1f}; ad CTR offset {AD_CTR_OFFSET}, noise {args.noise}; "
        f"evaluation day {kst_day(requests[0].request.ts_ms)}")
    print(json.dumps({"policies": policies,
                      "overspend_krw": round(sum(e["overspend_beyond_one_krw"] for e in extra.values()), 3),
                      "ledger_mismatch": sum(e["mismatch"] for e in extra.values()),
                      "auction_p99_ms": lat["gsp_pctr"]["p99_ms"]}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BunjangError as exc:   # too few requests to calibrate, for instance: one line, not a traceback
        print(f"benchmarks/ads.py: {exc}", file=sys.stderr)
        sys.exit(2)
