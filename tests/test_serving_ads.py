"""Ads in serving: campaign and ad events in real time, the budget state, and ``score ads``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

from bunjang_lab.ads.blend import blend
from bunjang_lab.ads.ledger import build_ledger
from bunjang_lab.errors import InvalidInput
from bunjang_lab.serving import keys
from bunjang_lab.serving.ads import ads_for
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.events import apply_event
from bunjang_lab.serving.publish import publish_run
from bunjang_lab.testing import write_run

SRC = Path(__file__).resolve().parents[1] / "src"
NOW = 1_795_000_000_000   # 2026-11-18, a KST afternoon


@pytest.fixture
def cache(cache_url, tmp_path):
    """The test run published on each backend (``cache_url``: SQLite, and Redis under a prefix of its own)."""
    publish_run(write_run(tmp_path / "run"), cache_url)
    with open_cache(cache_url) as opened:
        yield opened


def campaign(cid, seller, items, bid=300, budget=1_000, billing="cpc", **targeting):
    return {"event_id": f"camp-{cid}-{bid}-{budget}", "type": "ad_campaign", "ts": NOW - 3_600_000, "user_id": seller,
            "campaign_id": cid, "item_ids": items, "billing": billing, "bid": bid, "daily_budget": budget,
            "start_ms": NOW - 3_600_000, **targeting}


def ad(kind, n, cid, item, price, viewer="u3", billing="cpc", ts=NOW):
    return {"event_id": f"{kind}-{n}", "type": kind, "ts": ts, "user_id": viewer, "auction_id": f"a{n}",
            "campaign_id": cid, "item_id": item, "surface": "home", "position": 0, "billing": billing,
            "price_charged": price}


def served(cache, user="u3", surface="home", **kw):
    return [(a["campaign_id"], a["item_id"]) for a in ads_for(cache, surface, user, now_ms=NOW, **kw)]


def test_campaigns_from_events_are_served_and_pause_resume_stop_in_real_time(cache):
    apply_event(cache, campaign("c1", "s9", ["i2", "i1"]))      # i1 is flagged as fraud in the run
    apply_event(cache, campaign("c2", "s8", ["i5"], bid=200))
    assert served(cache) == [("c1", "i2"), ("c2", "i5")]
    assert served(cache, user="s9") == [("c2", "i5")]             # never the viewer's own
    apply_event(cache, {"event_id": "p", "type": "ad_campaign_status", "ts": NOW, "user_id": "s9",
                        "campaign_id": "c1", "action": "pause"})
    assert served(cache) == [("c2", "i5")]
    apply_event(cache, {"event_id": "r", "type": "ad_campaign_status", "ts": NOW, "user_id": "s9",
                        "campaign_id": "c1", "action": "resume"})
    assert served(cache)[0] == ("c1", "i2")
    apply_event(cache, {"event_id": "sold", "type": "listing_status", "ts": NOW, "user_id": "s9",
                        "item_id": "i2", "status": "sold"})
    assert served(cache) == [("c2", "i5")]                        # a sold listing leaves at once
    with pytest.raises(InvalidInput):
        apply_event(cache, {"event_id": "x", "type": "ad_campaign", "ts": NOW, "user_id": "s9", "campaign_id": "c9"})


def test_ad_events_are_charged_once_like_the_ledger_and_a_spent_budget_stops_serving(cache):
    apply_event(cache, campaign("c1", "s9", ["i2"], bid=400, budget=1_000))
    apply_event(cache, campaign("c2", "s8", ["i5"], bid=200))
    events = [ad("ad_impression", 1, "c1", "i2", 390), ad("ad_click", 2, "c1", "i2", 390),
              ad("ad_click", 3, "c1", "i2", 390), ad("ad_click", 3, "c1", "i2", 390),   # a retried delivery
              ad("ad_click", 4, "c1", "i2", 390, viewer="u4")]
    effects = [apply_event(cache, e)["effect"] for e in events]
    assert effects == ["not_billable", "charged", "charged", "duplicate", "charged"]
    assert served(cache) == [("c2", "i5")]                         # 1,170 KRW spent of 1,000
    assert apply_event(cache, ad("ad_click", 5, "c1", "i2", 390))["effect"] == "over_budget"
    with cache.snapshot() as snap:
        (state,) = snap.live_many([keys.ad_spend("c1", "2026-11-18")])
    frame = pd.DataFrame([campaign("c1", "s9", ["i2"], bid=400, budget=1_000), *events,
                          ad("ad_click", 5, "c1", "i2", 390)])
    frame["ts"] = pd.to_datetime(frame["ts"], unit="ms", utc=True)
    assert state["spent_milli"] == build_ledger(frame)["charge_milli"].sum() == 1_170_000


def test_a_budget_spent_after_the_campaigns_are_held_stops_serving_at_once(cache):
    apply_event(cache, campaign("c1", "s9", ["i2"], bid=400, budget=1_000))
    apply_event(cache, campaign("c2", "s8", ["i5"], bid=200))
    assert served(cache) == [("c1", "i2"), ("c2", "i5")]            # the plain auction now holds the campaigns
    for n in range(3):
        apply_event(cache, ad("ad_click", n, "c1", "i2", 390))
    assert served(cache) == [("c2", "i5")]                           # same version and campaign list: spend read anew


def test_targeting_and_the_frequency_cap(cache):
    apply_event(cache, campaign("shoes", "s9", ["i2"], categories=["shoes"]))
    apply_event(cache, campaign("bags", "s8", ["i5"], bid=900, categories=["bags"]))
    apply_event(cache, campaign("kw", "s7", ["i6"], bid=250, keywords=["nike"]))
    assert served(cache) == [("shoes", "i2"), ("kw", "i6")]          # the users' recent category is shoes
    assert served(cache, surface="search", query="Nike dunk") == [("shoes", "i2"), ("kw", "i6")]
    assert served(cache, surface="search", query="adidas") == [("shoes", "i2")]
    # on a listing's page the category is the viewed listing's: i7 is a bag (odd items are bags)
    assert served(cache, surface="detail", item_id="i7") == [("bags", "i5"), ("kw", "i6")]
    for n in range(5):
        apply_event(cache, ad("ad_impression", 100 + n, "shoes", "i2", 300))
    assert served(cache) == [("kw", "i6")]


def test_blend_keeps_the_share_cap_and_positions():
    organic = [{"item_id": f"i{n}"} for n in range(10)]
    ads = [{"item_id": f"a{n}", "campaign_id": f"c{n}"} for n in range(3)]
    mixed = blend(organic, ads, positions=(0, 3, 6), max_share=0.2)
    assert [n for n, e in enumerate(mixed) if e.get("ad")] == [0, 3]   # a third would pass 20% of 12
    assert len(mixed) == 12 and all(e["ad"] is True for e in mixed if "campaign_id" in e)
    with pytest.raises(InvalidInput):
        blend(organic, ads, positions=(1, 1))


def test_score_ads_answers_blended_lists_and_one_line_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'cache.sqlite'}"
    publish_run(write_run(tmp_path / "run"), url)
    with open_cache(url) as cache:
        apply_event(cache, campaign("c1", "s9", ["i2"]))
    env = {**os.environ, "PYTHONPATH": str(SRC)}

    def score(*args):
        return subprocess.run([sys.executable, "-m", "bunjang_lab.score", "ads", "--cache", url, "--now-ms", str(NOW),
                               *args], capture_output=True, text=True, env=env, timeout=60)

    home = score("--surface", "home", "--user", "u3", "--k", "5", "--positions", "1")
    assert home.returncode == 0, home.stderr
    answer = json.loads(home.stdout)
    assert [e["item_id"] for e in answer["items"] if e.get("ad")] == ["i2"] and answer["items"][1]["ad"] is True
    assert answer["ads"][0]["campaign_id"] == "c1" and answer["ads"][0]["billing"] == "cpc"
    detail = json.loads(score("--surface", "detail", "--user", "u3", "--item", "i2").stdout)
    assert detail["ads"] == []                                     # not an ad for the listing being viewed
    failed = score("--surface", "detail", "--user", "u3")
    assert failed.returncode != 0 and len(failed.stderr.strip().splitlines()) == 1


def test_the_calibration_is_fitted_on_logged_ad_impressions_and_used_by_the_auction(tmp_path):
    import numpy as np

    from bunjang_lab.ingest import ingest_files
    from bunjang_lab.pipeline import calibrate_ads

    day = "2026-11-18"
    run = write_run(tmp_path / "runs" / day)
    url = f"sqlite:///{tmp_path / 'cache.sqlite'}"
    publish_run(run, url)
    users = pd.read_parquet(run / "products/vectors/users.parquet")
    items = pd.read_parquet(run / "products/vectors/items.parquet")
    rng = np.random.default_rng(0)
    lines = []
    for n in range(4_000):
        u, i = rng.integers(len(users)), rng.integers(len(items))
        score = float(np.dot(users["vector"][u], items["vector"][i]) + items["bias"][i])
        common = {"user_id": str(users["user_id"][u]), "auction_id": f"a{n}", "campaign_id": "c1",
                  "item_id": str(items["item_id"][i]), "surface": "home", "position": 0, "billing": "cpc",
                  "price_charged": 100}
        lines.append({"event_id": f"imp{n}", "type": "ad_impression", "ts": NOW - 60_000 * n // 100, **common})
        if rng.random() < 1 / (1 + np.exp(-(2.0 * score - 3.0))):
            lines.append({"event_id": f"clk{n}", "type": "ad_click", "ts": NOW - 60_000 * n // 100 + 5, **common})
    (tmp_path / "ads.jsonl").write_text("\n".join(json.dumps(e) for e in lines) + "\n")
    ingest_files([tmp_path / "ads.jsonl"], tmp_path / "lake", now="2026-12-01T00:00:00Z")
    fitted = calibrate_ads(str(tmp_path / "lake"), str(tmp_path / "runs"), day, cache_url=url)
    assert fitted["scored"] == 4_000 and fitted["slope"] == pytest.approx(2.0, rel=0.25)
    assert fitted["intercept"] == pytest.approx(-3.0, abs=0.6)
    assert len(fitted["traffic_curve"]) == 24 and sum(fitted["traffic_curve"]) == pytest.approx(1.0)
    with open_cache(url) as cache:
        apply_event(cache, campaign("c1", "s9", ["i2", "i3", "i4"], categories=[]))
        pctr = {a["item_id"]: a["pctr"] for a in ads_for(cache, "home", "u3", now_ms=NOW, slots=1, plain=False)}
        assert pctr and all(p != 0.02 for p in pctr.values())   # no longer the prior
        plain = ads_for(cache, "home", "u3", now_ms=NOW, slots=1, plain=True)   # the same calibrated pCTR
        assert {a["item_id"]: a["pctr"] for a in plain} == pytest.approx(pctr, abs=1e-6)


def test_the_shortlist_answers_what_the_full_auction_answers(cache):
    import random

    rng = random.Random(5)
    for k in range(60):
        apply_event(cache, campaign(f"r{k:02d}", f"s{k}", [f"i{rng.randrange(40)}", f"i{rng.randrange(40)}"],
                                    bid=rng.randrange(60, 900), budget=rng.choice([300, 5_000]),
                                    billing=rng.choice(["cpc", "cpc", "cpm"]),
                                    **({"categories": ["bags"]} if rng.random() < 0.3 else {})))
    for n in range(40):   # clicks and impressions run some budgets out
        cid = f"r{rng.randrange(60):02d}"
        with cache.snapshot() as snap:
            (terms,) = snap.live_many([keys.ad_campaign(cid)])
        kind = "ad_click" if terms["billing"] == "cpc" else "ad_impression"
        apply_event(cache, ad(kind, 500 + n, cid, terms["item_ids"][0], terms["bid"], billing=terms["billing"]))
    for n in range(0, 40, 3):
        apply_event(cache, {"event_id": f"gone{n}", "type": "listing_status", "ts": NOW, "user_id": "s",
                            "item_id": f"i{n}", "status": "sold"})
    for user in ("u1", "u3", "u7", "s4"):
        for surface, extra in (("home", {}), ("detail", {"item_id": "i9"}), ("search", {"query": "x"})):
            for slots in (1, 2, 3):
                full = ads_for(cache, surface, user, now_ms=NOW, slots=slots, shortlist=None, plain=False, **extra)
                assert ads_for(cache, surface, user, now_ms=NOW, slots=slots, shortlist=1, plain=False, **extra) == full
                assert ads_for(cache, surface, user, now_ms=NOW, slots=slots, plain=False, **extra) == full
                assert ads_for(cache, surface, user, now_ms=NOW, slots=slots, plain=True, **extra) == full


def test_budgets_are_paced_over_the_published_traffic_curve(cache):
    from bunjang_lab.serving.ads import publish_calibration

    apply_event(cache, campaign("c1", "s9", ["i2"], bid=100, budget=10_000))
    apply_event(cache, ad("ad_click", 1, "c1", "i2", 100))   # 100 of 10,000 KRW: 1% of the day's budget
    assert served(cache) == [("c1", "i2")]                        # uniform: by the afternoon over half may go
    evening = [0.0] * 23 + [1.0]                                  # every request comes at 23:00 KST
    publish_calibration(cache, 1.0, -4.0, evening)
    assert served(cache) == [("c1", "i2")]                        # 1% is under the 5% slack
    for n in range(2, 7):
        apply_event(cache, ad("ad_click", n, "c1", "i2", 100))    # 6%: over the slack before the evening
    assert served(cache) == []


def test_concurrent_ad_events_each_count_once_in_the_budget_state(cache):
    from concurrent.futures import ThreadPoolExecutor

    apply_event(cache, campaign("c1", "s9", ["i2"], bid=100, budget=1_000_000))

    def deliver(worker: int) -> list[str]:
        with open_cache(cache.url) as own:   # a connection of its own, as a service worker has
            sent = [ad("ad_click", worker * 100 + n, "c1", "i2", 100) for n in range(10)]
            sent += [ad("ad_click", 9_999, "c1", "i2", 100)]   # every worker also retries one shared event
            return [apply_event(own, event)["effect"] for event in sent]

    with ThreadPoolExecutor(6) as pool:
        effects = [e for answer in pool.map(deliver, range(6)) for e in answer]
    assert effects.count("charged") == 61 and effects.count("duplicate") == 5
    with cache.snapshot() as snap:
        (state,) = snap.live_many([keys.ad_spend("c1", "2026-11-18")])
    assert state["spent_milli"] == 61 * 100_000


def test_old_days_ad_state_is_forgotten(cache, tmp_path):
    from bunjang_lab.pipeline import forget_ad_state

    apply_event(cache, campaign("c1", "s9", ["i2"], bid=100, budget=1_000_000))
    day_ms = 86_400_000
    for n, ts in enumerate((NOW - 3 * day_ms, NOW - day_ms, NOW)):
        apply_event(cache, ad("ad_impression", 10 + n, "c1", "i2", 100, ts=ts))
        apply_event(cache, ad("ad_click", 20 + n, "c1", "i2", 100, ts=ts))
    # three days back: two markers, the spend and the frequency count go
    assert forget_ad_state(cache.url, "2026-11-18") == {"before": "2026-11-16", "deleted": 4}
    left = sorted(k for prefix in ("adev:", "adspend:", "adseen:") for k, _ in cache.key_sizes(prefix=prefix, live=True))
    assert left and all(k.split(":")[1] >= "2026-11-16" or k.rsplit(":", 1)[1] >= "2026-11-16" for k in left)
    assert apply_event(cache, ad("ad_click", 22, "c1", "i2", 100))["effect"] == "duplicate"   # today's kept


def test_recommend_blends_the_ads_of_score_ads_never_gone_listings_and_an_ad_event_is_charged_once(cache):
    from bunjang_lab.serving import queries
    from bunjang_lab.serving.ads import ads_answer, recommend_answer

    with cache.snapshot() as snap:   # no campaign: the feed as it was
        assert recommend_answer(cache, snap, {"user_id": "u3"}, now_ms=NOW) == queries.recommend(snap, {"user_id": "u3"})
    apply_event(cache, campaign("c1", "s9", ["i1", "i2"]))      # i1 is flagged as fraud in the run
    apply_event(cache, campaign("c2", "s8", ["i5"], bid=200))
    with cache.snapshot() as snap:
        answer = recommend_answer(cache, snap, {"user_id": "u3", "k": 20}, now_ms=NOW)
        organic = queries.recommend(snap, {"user_id": "u3", "k": 20})["items"]
    assert answer["items"] == ads_answer(cache, {"surface": "home", "user_id": "u3", "k": 20}, now_ms=NOW)["items"]
    ads = [i for i in answer["items"] if i.get("ad")]
    assert ads and all(a["campaign_id"] in ("c1", "c2") and a["billing"] == "cpc" and a["price"] > 0 for a in ads)
    ids = [i["item_id"] for i in answer["items"]]
    assert len(ids) == len(set(ids)) and "i1" not in ids        # once each, never a flagged listing
    assert [i for i in answer["items"] if not i.get("ad")] == [i for i in organic if i["item_id"] not in
                                                                {a["item_id"] for a in ads}]
    shown = ads[0]
    click = ad("ad_click", 1, shown["campaign_id"], shown["item_id"], shown["price"])
    assert apply_event(cache, click)["effect"] == "charged"
    assert apply_event(cache, click)["effect"] == "duplicate"   # a retried delivery of the slot's click
    with cache.snapshot() as snap:
        (state,) = snap.live_many([keys.ad_spend(shown["campaign_id"], "2026-11-18")])
    assert state["spent_milli"] == shown["price"] * 1000
    apply_event(cache, {"event_id": "sold", "type": "listing_status", "ts": NOW, "user_id": "s",
                        "item_id": shown["item_id"], "status": "sold"})
    with cache.snapshot() as snap:
        again = recommend_answer(cache, snap, {"user_id": "u3", "k": 20, "explain": True}, now_ms=NOW)
    assert shown["item_id"] not in [i["item_id"] for i in again["items"]]


def test_campaigns_rebuilt_from_events_load_as_real_time_events_leave_them(cache):
    from bunjang_lab.ads.campaigns import Campaign
    from bunjang_lab.serving.ads import load_campaigns

    live = Campaign("c1", "s9", ("i2",), "cpc", 300, 1_000, 0)
    stopped = Campaign("c2", "s8", ("i5",), "cpc", 900, 1_000, 0, status="stopped")
    assert load_campaigns(cache, [live, stopped]) == 2
    assert served(cache) == [("c1", "i2")]
    with cache.snapshot() as snap:
        listed, terms = snap.live_many([keys.AD_CAMPAIGNS, keys.ad_campaign("c2")])
    assert listed["ids"] == ["c1"] and terms["status"] == "stopped"   # a late event of c2 still finds its terms


def test_the_service_reads_ahead_and_answers_what_a_plain_snapshot_answers(cache):
    """The service's recommend reads the feed, the viewer and the ads' first keys in one read and
    the rest in a second; every answer equals the one-shot command's, which reads as it goes,
    through spent budgets, sold listings, a frequency cap and a calibration published between answers."""
    import random

    from bunjang_lab.serving.ads import publish_calibration, recommend_answer
    from bunjang_lab.serving.memory import MemoryCache

    rng = random.Random(26)
    for k in range(24):
        apply_event(cache, campaign(f"r{k:02d}", f"s{k}", [f"i{rng.randrange(40)}", f"i{rng.randrange(40)}"],
                                    bid=rng.randrange(60, 900), budget=rng.choice([300, 5_000]),
                                    billing=rng.choice(["cpc", "cpc", "cpm"]),
                                    **({"categories": ["bags"]} if rng.random() < 0.3 else {})))
    service = MemoryCache(open_cache(cache.url))
    service.refresh()

    def both(user: str) -> tuple[dict, dict]:
        with service.snapshot() as held, cache.snapshot() as plain:
            return (recommend_answer(service, held, {"user_id": user, "k": 20}, now_ms=NOW),
                    recommend_answer(cache, plain, {"user_id": user, "k": 20}, now_ms=NOW, plain=True))

    try:
        for step in range(30):
            for user in ("u1", "u3", "u7", "s4", "nobody"):
                served_, expected = both(user)
                assert served_ == expected
            shown = [i for i in served_["items"] if i.get("ad")]
            if step % 3 == 0 and shown:   # the top ads run out of budget or get sold, one at a time
                top = shown[0]
                kind = "ad_click" if top["billing"] == "cpc" else "ad_impression"
                apply_event(cache, ad(kind, 900 + step, top["campaign_id"], top["item_id"], 100_000,
                                      billing=top["billing"]))
            elif step % 3 == 1 and shown:
                apply_event(cache, {"event_id": f"sold{step}", "type": "listing_status", "ts": NOW, "user_id": "s",
                                    "item_id": shown[-1]["item_id"], "status": "sold"})
            if step == 15:
                publish_calibration(cache, 40.0, -3.0)
    finally:
        service.close()
    assert any(i.get("ad") for i in served_["items"])



@pytest.mark.parametrize("campaigns", [12, 0])
def test_on_redis_the_service_awaits_one_round_trip_for_a_feed_asked_again(tmp_path, monkeypatch, campaigns):
    """With or without ads, the service's recommend (``Service.recommend``): the first answer
    reads the feed (with the viewer and campaign list), then its availability (with the ads'
    spends and listings); asked again, the feed's hint brings that second read along with the
    first, which is awaited on the event loop (no blocking read), until the feed or the ads'
    ranking change. Answers asked together equal the one-shot command's, one by one."""
    import asyncio
    import types

    from bunjang_lab.serving import service as service_module
    from bunjang_lab.serving.ads import recommend_answer
    from bunjang_lab.serving.redis_async import AsyncConnection
    from bunjang_lab.serving.redis_pool import PooledConnection

    url = f"redis://127.0.0.1:6379/11?prefix=test-{uuid.uuid4().hex}:"
    publish_run(write_run(tmp_path / "run"), url)
    monkeypatch.setattr(service_module, "time", types.SimpleNamespace(time=lambda: NOW / 1000))
    service = service_module.Service(service_module.Settings(cache_url=url, rules_only=True, access_log=False))
    backend = service.cache.backend
    try:
        for k in range(campaigns):
            apply_event(backend, campaign(f"r{k:02d}", f"s{k}", [f"i{2 * k + 2}", f"i{2 * k + 3}"], bid=100 + 10 * k))
        service.cache.refresh()
        recommend = service.recommend()
        blocking, awaited = [], []
        pipeline, execute = PooledConnection.pipeline, AsyncConnection.execute
        monkeypatch.setattr(PooledConnection, "pipeline",
                            lambda conn, commands: blocking.append(commands) or pipeline(conn, commands))
        monkeypatch.setattr(AsyncConnection, "execute", lambda conn, *args: awaited.append(args) or execute(conn, *args))

        async def ask(*users: str) -> list[dict]:
            blocking.clear(), awaited.clear()
            answers = await asyncio.gather(*(recommend({"user_id": user, "k": "4"}) for user in users))   # of 5-item feeds
            return [json.loads(answer) for answer in answers]

        def expected(user: str) -> dict:
            with backend.snapshot() as snap:
                return recommend_answer(backend, snap, {"user_id": user, "k": "4"}, now_ms=NOW)

        async def scenario() -> None:
            (first,) = await ask("u3")   # also reads the campaigns' terms, flags and vectors once
            assert len(awaited) == 1 and len(blocking) >= 1 and any(i.get("ad") for i in first["items"]) == bool(campaigns)
            await ask("u3")
            assert await ask("u3") == [first] and len(awaited) == 1 and not blocking   # one awaited trip, nothing blocks
            sold = next(i["item_id"] for i in first["items"] if not i.get("ad"))
            apply_event(backend, {"event_id": "sold-top", "type": "listing_status", "ts": NOW, "user_id": "s",
                                  "item_id": sold, "status": "sold"})
            (after,) = await ask("u3")
            assert not blocking and sold not in {i["item_id"] for i in after["items"]}   # the sale read in that same trip
            assert after == expected("u3")
            users = ["u1", "u3", "u7", "s4", "nobody", "u1"]
            assert await ask(*users) == [expected(user) for user in users]

        asyncio.run(scenario())
    finally:
        service.cache.close()
        backend.clear()
