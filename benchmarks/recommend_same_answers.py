"""The service's recommend (and ``score ads``) answers of one source tree, written out so two
trees' answers can be compared byte for byte (a speed change must not change an answer).

    git archive <base> | tar -x -C /tmp/base
    PYTHONPATH=/tmp/base/src .venv/bin/python benchmarks/recommend_same_answers.py /tmp/base.answers \\
        --cache 'redis://127.0.0.1:6379/13?prefix=same-a:'
    .venv/bin/python benchmarks/recommend_same_answers.py /tmp/new.answers --cache 'redis://127.0.0.1:6379/13?prefix=same-b:'
    cmp /tmp/base.answers /tmp/new.answers

Each run publishes the same small world into the cache (300 users, 200 listings, a feed of 50
per user; a Redis prefix is cleared before and after), loads serve_load's campaigns and some
of every kind (hourly, small budgets, keywords, categories, genders, ended, paused), fixes
the clock, then asks in rounds: ``Service.recommend`` one at a time and eight in flight (the
memory layer's hint and read-ahead paths), ``recommend_answer`` and ``ads_answer`` on a plain
snapshot (the one-shot commands), and some bad questions (their error lines). Between rounds
events change what is asked about: clicks move users' categories (other audiences), sales,
clicks and impressions spend budgets and reach frequency caps, a campaign is paused and one
stopped, a calibration is published (pCTR per viewer). Every answer is one line of the output.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

NOW = 1_795_000_000_000   # 2026-11-18, a KST afternoon
USERS, ITEMS = 300, 200


def clear(url: str) -> None:
    if url.startswith("redis://"):
        from bunjang_lab.serving.backends import open_cache

        with open_cache(url) as cache:
            conn = cache._conn()
            keys = [k for k in conn.execute("KEYS", _glob(cache.prefix) + "*")]
            for start in range(0, len(keys), 500):
                conn.execute("DEL", *keys[start:start + 500])


def _glob(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def campaign(cid: str, seller: str, items: list[str], **terms) -> dict:
    return {"event_id": f"camp-{cid}", "type": "ad_campaign", "ts": NOW - 3_600_000, "user_id": seller,
            "campaign_id": cid, "item_ids": items, "billing": terms.pop("billing", "cpc"), "bid": terms.pop("bid", 300),
            "daily_budget": terms.pop("budget", 10**9), "start_ms": terms.pop("start_ms", NOW - 3_600_000), **terms}


def setup(url: str, folder: Path) -> None:
    from serve_load import bench_campaigns

    from bunjang_lab.serving.ads import load_campaigns
    from bunjang_lab.serving.backends import open_cache
    from bunjang_lab.serving.events import apply_event
    from bunjang_lab.serving.publish import publish_run
    from bunjang_lab.testing import write_run

    publish_run(write_run(folder / "run", users=USERS, items=ITEMS, home_size=50, candidates=100, related=20, dim=16), url)
    with open_cache(url) as cache:
        load_campaigns(cache, bench_campaigns(30, ITEMS))
        for event in [campaign("hour1", "s1", ["i10", "i12"], billing="hourly", bid=20_000),
                      campaign("hour2", "s2", ["i14"], billing="hourly", bid=15_000, categories=["bags"]),
                      campaign("small1", "s3", ["i16", "i18"], bid=900, budget=400),
                      campaign("small2", "s4", ["i20"], bid=800, budget=1_000, billing="cpm"),
                      campaign("kw1", "s5", ["i22"], bid=950, keywords=["신발", "bag"]),
                      campaign("bags1", "s6", ["i23", "i25"], bid=700, categories=["bags"]),
                      campaign("fem1", "s7", ["i26"], bid=650, genders=["F"], age_bands=["20s"]),
                      campaign("ended", "s8", ["i28"], bid=990, end_ms=NOW - 60_000),
                      campaign("later", "s9", ["i30"], bid=990, start_ms=NOW + 60_000),
                      campaign("own", "u7", ["i32"], bid=980),
                      campaign("pause1", "s10", ["i34"], bid=970)]:
            apply_event(cache, event)
        apply_event(cache, {"event_id": "pause-1", "type": "ad_campaign_status", "ts": NOW - 1_000, "user_id": "s10",
                            "campaign_id": "pause1", "action": "pause"})


def questions(round_: int) -> list[dict]:
    asked = [{"user_id": f"u{n}", "k": "20"} for n in range(USERS)]
    asked += [{"user_id": f"u{n}", "k": k} for n, k in zip(range(0, USERS, 7), ["1", "5", "60", "3", "100", "2"] * 10)]
    asked += [{"user_id": "nobody", "k": "20"}, {"user_id": "nobody2", "gender": "F", "birth_year": "1999"},
              {"user_id": "u5", "gender": "M", "birth_year": "1980", "k": "10"}, {"user_id": "u6"}]
    return asked[round_ % 3::1] if round_ % 2 else asked


BAD = [{}, {"user_id": ""}, {"user_id": "u1", "k": "0"}, {"user_id": "u1", "k": "many"}, {"user_id": "u1", "k": "1001"},
       {"user_id": "u1", "birth_year": "1700"}, {"user_id": "u1", "explain": "maybe"}, {"user_id": "x" * 300}]


def events_of(round_: int, shown: list[dict]) -> list[dict]:
    """The events between rounds: clicks, sales of shown ads, spends and impressions."""
    out = []
    for n in range(round_, USERS, 9):   # clicks on bags (odd ids) move users to other audiences
        out.append({"event_id": f"v{round_}-{n}", "type": "click", "ts": NOW / 1000 - 10, "user_id": f"u{n}",
                    "item_id": f"i{(2 * n + 1 + round_) % ITEMS}"})
    for k, ad in enumerate(shown[:6]):
        if k % 3 == 0:
            out.append({"event_id": f"sold{round_}-{k}", "type": "listing_status", "ts": NOW / 1000, "user_id": "s",
                        "item_id": ad["item_id"], "status": "sold"})
        else:
            kind = "ad_click" if ad["billing"] == "cpc" else "ad_impression"
            out.append({"event_id": f"spend{round_}-{k}", "type": kind, "ts": NOW / 1000, "user_id": "u3",
                        "auction_id": f"a{round_}{k}", "campaign_id": ad["campaign_id"], "item_id": ad["item_id"],
                        "surface": "home", "position": 0, "billing": ad["billing"], "price_charged": 100_000})
    for k in range(6):   # u4 reaches the frequency cap of the ads it was shown
        for ad in shown[-2:]:
            out.append({"event_id": f"imp{round_}-{k}-{ad['campaign_id']}", "type": "ad_impression", "ts": NOW / 1000,
                        "user_id": "u4", "auction_id": f"b{round_}{k}", "campaign_id": ad["campaign_id"],
                        "item_id": ad["item_id"], "surface": "home", "position": 0, "billing": ad["billing"],
                        "price_charged": 1})
    if round_ == 2:
        out.append({"event_id": "stop-bench001", "type": "ad_campaign_status", "ts": NOW / 1000, "user_id": "seller1",
                    "campaign_id": "bench001", "action": "stop"})
    return out


def answers(url: str, folder: Path, out) -> int:
    from serving import answer_each

    from bunjang_lab.errors import BunjangError
    from bunjang_lab.serving import service as service_module
    from bunjang_lab.serving.ads import ads_answer, publish_calibration, recommend_answer
    from bunjang_lab.serving.backends import open_cache
    from bunjang_lab.serving.events import apply_event

    time.time = lambda: NOW / 1000   # the clock every answer reads (pacing, flights, listing ages)
    service = service_module.Service(service_module.Settings(cache_url=url, rules_only=True, access_log=False))
    plain = open_cache(url)
    lines = 0

    def write(kind: str, params: dict, body) -> None:
        nonlocal lines
        out.write(f"{kind}\t{json.dumps(params, sort_keys=True)}\t{body}\n")
        lines += 1

    def one_shot(kind: str, params: dict, answer) -> None:
        try:
            write(kind, params, service_module.json_bytes(answer()).decode())
        except BunjangError as exc:
            write(kind, params, f"error {type(exc).__name__}: {exc}")

    try:
        for round_ in range(6):
            service.cache.refresh()
            recommend = service.recommend()
            asked = questions(round_)
            for in_flight in (1, 8):
                for params, body in zip(asked, answer_each(recommend, asked, in_flight)):
                    write(f"service{in_flight}", params, body.decode())
            for params in BAD:
                try:
                    answer_each(recommend, [params])
                    write("service-bad", params, "answered")
                except BunjangError as exc:
                    write("service-bad", params, f"error {type(exc).__name__}: {exc}")
            shown = []
            for params in asked[::5] + [{"user_id": "u2", "explain": "1"}] + BAD:
                def answer(params=params):
                    with plain.snapshot() as snap:
                        return recommend_answer(plain, snap, params, now_ms=NOW)
                one_shot("recommend", params, answer)
            for n in range(0, USERS, 11):
                for params in ({"surface": "home", "user_id": f"u{n}"},
                               {"surface": "detail", "user_id": f"u{n}", "item_id": f"i{n % ITEMS}", "k": "8"},
                               {"surface": "search", "user_id": f"u{n}", "query": "신발 bag" if n % 2 else "shoes"}):
                    one_shot("ads", params, lambda params=params: ads_answer(plain, params, now_ms=NOW))
            with plain.snapshot() as snap:
                shown = [i for n in range(1, 40) for i in recommend_answer(plain, snap, {"user_id": f"u{n}"}, now_ms=NOW)["items"]
                         if i.get("ad")]
            for event in events_of(round_, shown):
                write("event", {"id": event["event_id"]}, json.dumps(apply_event(plain, event), sort_keys=True))
            if round_ == 3:
                publish_calibration(plain, 40.0, -3.0, [1 / 24] * 24)
    finally:
        service.cache.close()
        plain.close()
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the answers, one a line")
    ap.add_argument("--cache", required=True, help="a cache URL of its own (a Redis prefix is cleared before and after)")
    ap.add_argument("--folder", type=Path, default=None, help="where the world is written (default: a temporary folder)")
    args = ap.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        url = args.cache if "://" in args.cache else f"sqlite:///{folder / 'cache.sqlite'}"
        clear(url)
        try:
            setup(url, folder)
            with args.out.open("w") as out:
                print(json.dumps({"answers": answers(url, folder, out), "out": str(args.out)}))
        finally:
            clear(url)


if __name__ == "__main__":
    main()
