"""Add the simulator's later event streams to a world written before they existed.

The committed sample (``data/sample``) was simulated before reports and moderator decisions
were; simulating it again would also change its texts and pictures, which tests, the README
and the documented figures rest on. :func:`add_feedback` replays the world's listings and
chat messages, with their labels, through the simulator's own :class:`~bunjang_lab.simulate.feedback.Feedback`
(as the engine feeds it while simulating) and writes the ``report`` and ``moderation``
events it draws into the day files, leaving every other line as it was. :func:`add_ads`
does the same for the ads (campaigns, and the ads of the home and search sessions) through
:class:`~bunjang_lab.simulate.ads.MarketplaceAds`. Running either again first drops what an
earlier run added, so each is idempotent.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from pathlib import Path

import numpy as np

from bunjang_lab.simulate import catalog
from bunjang_lab.simulate.feedback import Feedback
from bunjang_lab.simulate.market import DAY_MS, FeedbackConfig

FEEDBACK_TYPES = ("report", "moderation")


def _ms(ts: str) -> int:
    return int(dt.datetime.fromisoformat(ts).timestamp() * 1000)


def _kst(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone(dt.timedelta(hours=9))).isoformat(timespec="milliseconds")


def _day_files(out: Path) -> list[Path]:
    return sorted([*out.glob("????-??-??.jsonl.gz"), *out.glob("????-??-??.jsonl")])


def _read_lines(path: Path) -> list[str]:
    opened = gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")
    with opened as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def _write_lines(path: Path, lines: list[str]) -> None:
    body = ("\n".join(lines) + "\n").encode()
    if path.suffix == ".gz":  # the engine's fixed header: same bytes for the same lines
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=3) as gz:
            gz.write(body)
    else:
        path.write_bytes(body)


def _fraud_types(path: Path, key: str) -> dict[str, list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return {row[key]: [t for t in row["fraud_types"].split(";") if t] for row in csv.DictReader(f)}


def add_feedback(out: str | Path, seed: int = 7, config: FeedbackConfig | None = None) -> dict:
    """Write the reports and decisions of the world in ``out`` into its day files (replacing
    any written before); ``{"report": n, "moderation": n}``. Decisions due after the last
    day are left out (still pending), as the engine does."""
    out = Path(out)
    files = _day_files(out)
    if not files:
        raise FileNotFoundError(f"{out} holds no day files (YYYY-MM-DD.jsonl[.gz])")
    listing_types = _fraud_types(out / "labels" / "listings.csv", "item_id")
    message_types = _fraud_types(out / "labels" / "messages.csv", "event_id")
    users = [json.loads(line)["user_id"] for line in open(out / "labels" / "users.jsonl", encoding="utf-8")]
    days = {path: [line for line in _read_lines(path)
                   if json.loads(line)["type"] not in FEEDBACK_TYPES] for path in files}
    feedback, last_number, prefix = Feedback(config or FeedbackConfig(), seed), 0, f"s{seed}"
    # the engine's call order is its emission order, which the world's own event ids number
    # (other steps' events, ``s<seed>ads-...``, are numbered apart and draw nothing here)
    events = sorted((e for lines in days.values() for e in map(json.loads, lines)
                     if e["event_id"].rsplit("-", 1)[0] == prefix), key=lambda e: int(e["event_id"].rsplit("-", 1)[1]))
    for e in events:
        last_number = max(last_number, int(e["event_id"].rsplit("-", 1)[1]))
        if e["type"] == "listing":
            feedback.listing(_ms(e["ts"]), e["item_id"], users, f"{e['title']}\n{e['description']}",
                             listing_types.get(e["item_id"], []))
        elif e["type"] == "chat":
            feedback.message(_ms(e["ts"]), e["event_id"], e["to_user_id"], e["text"], message_types.get(e["event_id"], []))
    counts = dict.fromkeys(FEEDBACK_TYPES, 0)
    for path, lines in days.items():
        day_start = _ms(f"{path.name[:10]}T00:00:00+09:00")
        added = []
        for ms, kind, user_id, fields in feedback.due(day_start + DAY_MS):
            last_number += 1
            added.append((ms, json.dumps({"event_id": f"{prefix}-{last_number:09d}", "type": kind, "ts": _kst(ms),
                                          "user_id": user_id, **fields}, ensure_ascii=False, separators=(",", ":"))))
            counts[kind] += 1
        merged = sorted([(_ms(json.loads(line)["ts"]), line) for line in lines] + added, key=lambda pair: pair[0])
        _write_lines(path, [line for _, line in merged])
    return counts


AD_TYPES = ("ad_campaign", "ad_campaign_status", "ad_impression", "ad_click")


def add_ads(out: str | Path, seed: int = 7, share: float | None = None) -> dict:
    """Write the ads of the world in ``out`` into its day files (replacing any written before):
    its sellers' campaigns and the ads of its home and search sessions, by the simulator's own
    :class:`~bunjang_lab.simulate.ads.MarketplaceAds` (auction, pacing, the charge rule);
    ``{type: n}`` of the events added.

    The sessions are read back from the impressions (a session's list starts at position 0),
    a search session's query from its ``search`` event; the users' tastes are the simulator's
    draws of ``seed``. What the events do not hold is drawn from the ads' own stream: a listing's
    quality, and the interest of a home session. Ad events are numbered ``s<seed>ads-<n>``,
    apart from the world's own ids, so this step and the others can each run again.
    """
    from bunjang_lab.simulate.ads import MarketplaceAds
    from bunjang_lab.simulate.market import BRAND_INDEX, Config, make_users

    out = Path(out)
    files = _day_files(out)
    if not files:
        raise FileNotFoundError(f"{out} holds no day files (YYYY-MM-DD.jsonl[.gz])")
    days = {path: [line for line in _read_lines(path) if json.loads(line)["type"] not in AD_TYPES] for path in files}
    events = [json.loads(line) for lines in days.values() for line in lines]
    start_ms = _ms(f"{files[0].name[:10]}T00:00:00+09:00")
    user_ids = [json.loads(line)["user_id"] for line in open(out / "labels" / "users.jsonl", encoding="utf-8")]
    user_at = {u: n for n, u in enumerate(user_ids)}
    users = make_users(np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[0]), len(user_ids), start_ms,
                       len(files), Config())
    fraud = {row["user_id"] for row in csv.DictReader(open(out / "labels" / "fraud_users.csv", encoding="utf-8"))}
    leaf_at = {leaf.path: n for n, leaf in enumerate(catalog.LEAVES)}
    listings = [e for e in events if e["type"] == "listing"]
    item_at = {e["item_id"]: n for n, e in enumerate(listings)}
    latent = np.random.default_rng([seed, 29])
    cols = {"leaf": np.array([leaf_at[e["category"]] for e in listings]),
            "brand": np.array([BRAND_INDEX.get(e.get("brand"), -1) for e in listings]),
            "created": np.array([_ms(e["ts"]) for e in listings], dtype=np.int64),
            "quality": latent.normal(0, 0.4, len(listings))}
    cols["price"] = np.log([e["price"] for e in listings]) - catalog.LOG_MEDIAN[cols["leaf"]]
    end = np.full(len(listings), np.iinfo(np.int64).max)
    for e in events:
        if e["type"] == "listing_status" and e["item_id"] in item_at:
            k = item_at[e["item_id"]]
            end[k] = min(end[k], _ms(e["ts"]))
    # the timeline: listings (maybe promoted), sessions (their ads), day ends (campaigns stopped)
    queries = {(e["user_id"], _ms(e["ts"]) + 4000): e["query"] for e in events if e["type"] == "search"}
    sessions: dict[tuple[str, int], list] = {}
    current: dict[str, tuple[str, int]] = {}
    for e in sorted((e for e in events if e["type"] == "impression"), key=lambda e: (_ms(e["ts"]), e["position"])):
        if e["position"] == 0:
            current[e["user_id"]] = (e["user_id"], _ms(e["ts"]))
            sessions[current[e["user_id"]]] = [e["surface"]]
        sessions[current[e["user_id"]]].append(e["item_id"])
    timeline = [(_ms(e["ts"]), 0, n) for n, e in enumerate(listings)]
    timeline += [(start_ms + (d + 1) * DAY_MS - 1, 1, None) for d in range(len(files))]
    timeline += [(key[1], 2, key) for key, shown in sessions.items() if shown[0] != "category"]
    ads = MarketplaceAds(seed, users, Config().ad_campaign_share if share is None else share)
    added: list[tuple[int, str, str, dict]] = []
    for ms, kind, what in sorted(timeline, key=lambda t: t[:2]):
        if kind == 0:
            e = listings[what]
            if e["user_id"] not in fraud:
                day_end = start_ms + ((ms - start_ms) // DAY_MS + 1) * DAY_MS
                campaign = ads.promote(what, e["item_id"], e["user_id"], cols["leaf"][what], e.get("brand"), ms,
                                       day_end - 1)
                if campaign is not None:
                    added.append((campaign.pop("ts_ms"), "ad_campaign", e["user_id"], campaign))
        elif kind == 1:
            added += [(at, "ad_campaign_status", seller, {"campaign_id": cid, "action": "stop"})
                      for at, seller, cid in ads.stop_ended(end, ms + 1)]
        else:
            user_id, _ = what
            surface, *organic = sessions[what]
            u = user_at[user_id]
            if surface == "search":
                intent, query = int(cols["leaf"][item_at[organic[0]]]), queries.get(what, "")
            else:
                intent, query = int(latent.choice(len(catalog.LEAVES), p=users.taste[u])), ""
            added += [(at, kind_, user_id, fields)
                      for at, kind_, fields in ads.serve(ms, u, user_id, surface, intent, query, organic, cols, end)]
    counts = dict.fromkeys(AD_TYPES, 0)
    lines_of = {path: [(_ms(json.loads(line)["ts"]), line) for line in lines] for path, lines in days.items()}
    for n, (ms, kind, user_id, fields) in enumerate(sorted(added, key=lambda a: a[0]), start=1):
        path = files[min((ms - start_ms) // DAY_MS, len(files) - 1)]
        lines_of[path].append((ms, json.dumps({"event_id": f"s{seed}ads-{n:09d}", "type": kind, "ts": _kst(ms),
                                               "user_id": user_id, **fields}, ensure_ascii=False, separators=(",", ":"))))
        counts[kind] += 1
    for path, pairs in lines_of.items():
        _write_lines(path, [line for _, line in sorted(pairs, key=lambda pair: pair[0])])
    return counts
