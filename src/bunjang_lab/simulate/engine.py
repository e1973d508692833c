"""Drives the day-by-day simulation and writes events, images and labels.

Sessions are simulated an hour at a time: the feed each session sees is drawn for all
sessions of the hour at once (numpy), then clicks and what follows them (favorites, chats,
reservations, purchases) run in time order, so an item sold in one session cannot be
clicked, reserved or bought afterwards.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import random
import time
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import numpy as np

from bunjang_lab import progress
from bunjang_lab.fraud.categories import ACCOUNT_TRANSFER, ANOMALOUS_BEHAVIOUR, IMAGE_TEXT, STOLEN_IMAGE
from bunjang_lab.simulate import catalog, images, texts
from bunjang_lab.simulate.ads import MarketplaceAds
from bunjang_lab.simulate.feedback import Feedback
from bunjang_lab.simulate.market import (BRANDS, DAY_MS, DIURNAL, HOUR_MS, LAST_SESSION_START, LEAF_BRANDS, TEXT_FRAUD,
                                         Config, Items, assign_fraud, make_users, utility)

KST = dt.timezone(dt.timedelta(hours=9))
HONEST_IMAGE_WORDS = ("정품", "새상품", "SALE", "택포", "미개봉", "풀박스", "실착 1회")
SURFACES = ("search", "category", "home")
MAX_IMPRESSIONS = 20
IMPRESSION_GAP_MS = 150


def _dumps(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


class Simulation:
    def __init__(self, n_users: int, days: int, seed: int, out: Path, start: dt.date, cfg: Config,
                 compress: bool, progress: bool, workers: int):
        self.days, self.seed, self.out, self.cfg, self.compress = days, seed, out, cfg, compress
        self.progress, self.workers = progress, workers
        self.start = start
        self.start_ms = int(dt.datetime(start.year, start.month, start.day, tzinfo=KST).timestamp() * 1000)
        self.day_prefix = [(start + dt.timedelta(days=d)).isoformat() for d in range(days)]
        user_seq, fraud_seq, list_seq, sess_seq = np.random.SeedSequence(seed).spawn(4)
        self.rng_list = np.random.default_rng(list_seq)
        self.rng = np.random.default_rng(sess_seq)
        # separate text streams: what happens in sessions never changes the listings or pictures
        self.text = random.Random(seed)
        self.session_text = random.Random(f"session-{seed}")
        self.users = make_users(np.random.default_rng(user_seq), n_users, self.start_ms, days, cfg)
        self.plans = assign_fraud(np.random.default_rng(fraud_seq), self.users, self.start_ms, days, cfg)
        self.items = Items()
        width = len(str(n_users - 1))
        self.user_ids = np.array([f"u{u:0{width}d}" for u in range(n_users)], dtype=object)
        self.item_ids: list[str] = []
        self.first_image: list[dict] = []     # spec of each listing's first picture (stolen copies start from it)
        self.n_events = 0
        self.counts: dict[str, int] = {}
        self.ms: list[int] = []
        self.lines: list[str] = []
        self.last_intent = np.full(n_users, -1)
        self.sold: set[int] = set()
        self.pending_images: list[dict] = []
        self.listing_labels: list[tuple] = []
        self.message_labels: list[tuple] = []
        self.image_labels: list[tuple] = []
        self.feedback = Feedback(cfg.feedback, seed)
        self.wave_from_ms = None if cfg.wave_day is None else self.start_ms + cfg.wave_day * DAY_MS
        self.wave_labels: list[tuple] = []
        self.ads = MarketplaceAds(seed, self.users, cfg.ad_campaign_share) if cfg.ad_campaign_share > 0 else None

    # -- event output --------------------------------------------------------------------

    def _ts(self, ms: int) -> str:
        day, rem = divmod(ms - self.start_ms, DAY_MS)
        if not 0 <= day < self.days:   # sign-ups of accounts older than the window
            return dt.datetime.fromtimestamp(ms / 1000, KST).isoformat(timespec="milliseconds")
        h, rem = divmod(rem, HOUR_MS)
        m, rem = divmod(rem, 60_000)
        s, milli = divmod(rem, 1000)
        return f"{self.day_prefix[day]}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}+09:00"

    def _count(self, type_: str, n: int = 1) -> None:
        self.counts[type_] = self.counts.get(type_, 0) + n

    def emit(self, ms: int, type_: str, user: int | str, **fields) -> str:
        """Write one event; ``user`` is a user's index, or an id outside the users (a moderator)."""
        self.n_events += 1
        event_id = f"s{self.seed}-{self.n_events:09d}"
        user_id = user if isinstance(user, str) else self.user_ids[user]
        record = {"event_id": event_id, "type": type_, "ts": self._ts(ms), "user_id": user_id, **fields}
        self.ms.append(ms)
        self.lines.append(_dumps(record))
        self._count(type_)
        return event_id

    def emit_click(self, ms: int, user: int, item: int, surface: str) -> None:
        self.n_events += 1
        self.ms.append(ms)
        self.lines.append(f'{{"event_id":"s{self.seed}-{self.n_events:09d}","type":"click","ts":"{self._ts(ms)}",'
                          f'"user_id":"{self.user_ids[user]}","item_id":"{self.item_ids[item]}","surface":"{surface}"}}')
        self._count("click")

    def emit_impressions(self, ms: np.ndarray, users: np.ndarray, items: np.ndarray, surfaces: np.ndarray,
                         positions: np.ndarray) -> None:
        """Impressions are most of the volume: timestamps and lines are built in bulk."""
        n = len(ms)
        stamps = np.datetime_as_string((ms + 9 * HOUR_MS).astype("datetime64[ms]"), unit="ms").tolist()
        ids = range(self.n_events + 1, self.n_events + n + 1)
        item_ids = self.item_id_array[items].tolist()
        surface = np.asarray(SURFACES, dtype=object)[surfaces].tolist()
        seed = self.seed
        self.lines.extend(
            f'{{"event_id":"s{seed}-{e:09d}","type":"impression","ts":"{t}+09:00","user_id":"{u}",'
            f'"item_id":"{i}","surface":"{s}","position":{p}}}'
            for e, t, u, i, s, p in zip(ids, stamps, self.user_ids[users].tolist(), item_ids, surface,
                                        positions.tolist()))
        self.ms.extend(ms.tolist())
        self.n_events += n
        self._count("impression", n)

    def _flush_day(self, day: int) -> None:
        order = np.argsort(np.asarray(self.ms, dtype=np.int64), kind="stable")
        lines = self.lines
        body = ("\n".join([lines[i] for i in order]) + "\n").encode()
        name = f"{self.day_prefix[day]}.jsonl"
        if self.compress:
            with open(self.out / f"{name}.gz", "wb") as raw, \
                    gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="", compresslevel=3) as gz:
                gz.write(body)
        else:
            (self.out / name).write_bytes(body)
        self.ms, self.lines = [], []

    # -- listings ------------------------------------------------------------------------

    def _new_listings(self, day: int) -> None:
        rng, users = self.rng_list, self.users
        day_ms = self.start_ms + day * DAY_MS
        counts = rng.poisson(users.listing_rate * (users.signup_ms < day_ms + DAY_MS))
        sellers = np.repeat(np.arange(users.n), counts)
        created = day_ms + rng.choice(24, len(sellers), p=DIURNAL) * HOUR_MS + rng.integers(0, HOUR_MS, len(sellers))
        created = np.maximum(created, users.signup_ms[sellers] + 60_000)
        if day == 0:   # opening inventory, listed in the first hours of day one
            n0 = int(self.cfg.initial_listings_per_user * users.n)
            extra = rng.choice(users.n, n0, p=users.listing_rate / users.listing_rate.sum())
            extra = extra[users.signup_ms[extra] < day_ms]
            sellers = np.concatenate([extra, sellers])
            created = np.concatenate([day_ms + rng.integers(0, 6 * HOUR_MS, len(extra)), created])
        cdf = np.cumsum(users.taste[sellers], axis=1)
        leaves = np.minimum((cdf < rng.random(len(sellers))[:, None] * cdf[:, -1:]).sum(1), len(catalog.LEAVES) - 1)
        factor = np.ones(len(sellers))
        fraud = [()] * len(sellers)
        for u, plan in self.plans.items():   # scammers' listings of this day
            mask = (plan["created"] >= day_ms) & (plan["created"] < day_ms + DAY_MS)
            k = int(mask.sum())
            if k:
                sellers = np.concatenate([sellers, np.full(k, u)])
                created = np.concatenate([created, plan["created"][mask]])
                leaves = np.concatenate([leaves, plan["leaves"][mask]])
                factor = np.concatenate([factor, plan["price_factor"][mask]])
                fraud = fraud + [users.fraud[u]] * k
        for i in np.argsort(created, kind="stable"):
            self._listing(int(sellers[i]), int(leaves[i]), int(created[i]), float(factor[i]), fraud[i])

    def _listing(self, seller: int, leaf_idx: int, created: int, price_factor: float, fraud: tuple) -> None:
        rng, tr, leaf = self.rng_list, self.text, catalog.LEAVES[leaf_idx]
        condition = int(rng.choice(len(catalog.CONDITIONS), p=catalog.CONDITION_P))
        brands = LEAF_BRANDS[leaf_idx]
        brand = int(brands[rng.integers(len(brands))]) if len(brands) and rng.random() < 0.85 else -1
        log_price = catalog.LOG_MEDIAN[leaf_idx] + rng.normal(0, catalog.PRICE_SIGMA[leaf_idx] * 0.6) \
            + np.log(catalog.CONDITION_PRICE[condition] * price_factor)
        price = int(max(1000, round(np.exp(log_price), -3 if log_price > 9.3 else -2)))
        lifetime = rng.lognormal(np.log(4 * DAY_MS), 0.8) if not fraud else rng.uniform(0.3, 2.0) * DAY_MS
        index = len(self.items)
        item_id = f"i{index:07d}"
        self.item_ids.append(item_id)
        brand_name = BRANDS[brand] if brand >= 0 else None
        title = texts.title(tr, leaf, brand_name, condition)
        description = texts.description(tr, leaf, brand_name, condition)
        types, evidence, hard = [], [], False
        for category in TEXT_FRAUD:
            if category in fraud and tr.random() < 0.75:
                sentence, ev = texts.scam(tr, category)
                description += "\n" + sentence
                types.append(category)
                evidence.append(ev)
        if not fraud and tr.random() < 0.06:
            description += "\n" + texts.fill(tr, tr.choice(texts.HARD_NEGATIVE_LISTING), price)
            hard = True
        names, image_types = self._listing_images(index, item_id, seller, fraud)
        types += image_types
        if ANOMALOUS_BEHAVIOUR in fraud:
            types.append(ANOMALOUS_BEHAVIOUR)
        record = {"item_id": item_id, "title": title, "description": description, "price": price,
                  "category": leaf.path}
        if brand_name:
            record["brand"] = brand_name
        record["images"] = names
        self.emit(created, "listing", seller, **record)
        it = self.items
        it.seller.append(seller)
        it.leaf.append(leaf_idx)
        it.brand.append(brand)
        it.price.append(float(np.log(price) - catalog.LOG_MEDIAN[leaf_idx]))
        it.created.append(created)
        it.end.append(created + int(lifetime))
        it.quality.append(float(rng.normal(0, 0.4)))
        it.fraud.append(bool(fraud))
        self.listing_labels.append((item_id, self.user_ids[seller], ";".join(types), int(hard), " | ".join(evidence)))
        if self.ads is not None and not fraud:
            self._promote(index, item_id, seller, leaf_idx, brand_name, created)
        self.feedback.listing(created, item_id, self.user_ids, f"{title}\n{description}", types)

    def _promote(self, index: int, item_id: str, seller: int, leaf_idx: int, brand_name: str | None,
                 created: int) -> None:
        """Maybe a campaign for the new listing, starting inside the listing's day (its day file)."""
        day_end = self.start_ms + ((created - self.start_ms) // DAY_MS + 1) * DAY_MS
        campaign = self.ads.promote(index, item_id, self.user_ids[seller], leaf_idx, brand_name, created, day_end - 1)
        if campaign is not None:
            self.emit(campaign.pop("ts_ms"), "ad_campaign", seller, **campaign)

    def _listing_images(self, index: int, item_id: str, seller: int, fraud: tuple) -> tuple[list[str], list[str]]:
        """Plan the listing's pictures (drawn later, possibly in other processes)."""
        rng, tr, cfg = np.random.default_rng([self.seed, 11, index]), self.text, self.cfg
        n = int(rng.choice([1, 1, 1, 1, 1, 1, 1, 1, 2, 3]))
        original = self._stolen_original(rng) if STOLEN_IMAGE in fraud else None
        names, types = [], []
        for k in range(n):
            name = f"images/{item_id}_{k}.jpg"
            spec = {"name": name, "key": [self.seed, 12, index, k], "size": cfg.image_size,
                    "quality": images.JPEG_QUALITY}
            copy_of, transform, img_types = "", "", []
            if k == 0 and original:
                overlay = tr.choice(("정품", "최저가", "급처", "@bunjang", "S급")) if rng.random() < 0.4 else ""
                plan = images.plan_copy(rng, overlay)
                spec.update(copy_of=original, plan=plan, quality=plan["quality"], text=overlay)
                copy_of, transform = original["name"], plan["transform"]
                img_types.append(STOLEN_IMAGE)
            elif IMAGE_TEXT in fraud and k == n - 1:
                spec.update(size=cfg.text_image_size, text=texts.contact(tr), quality=85)
                img_types.append(IMAGE_TEXT)
            elif not fraud and rng.random() < 0.05:   # honest writing on a photo: OCR hard negatives
                spec.update(text=tr.choice(HONEST_IMAGE_WORDS), banner=bool(rng.random() < 0.5))
            self.pending_images.append(spec)
            if k == 0:
                self.first_image.append(spec)
            self.image_labels.append((name, item_id, self.user_ids[seller], copy_of, transform, ";".join(img_types),
                                      spec.get("text", "")))
            names.append(name)
            types += [t for t in img_types if t not in types]
        return names, types

    def _stolen_original(self, rng: np.random.Generator) -> dict | None:
        """The first picture of a recent honest listing (scammers copy what is on the market)."""
        recent = range(max(0, len(self.items) - 400), len(self.items))
        honest = [i for i in recent if not self.items.fraud[i] and not self.first_image[i].get("copy_of")]
        return self.first_image[int(rng.choice(honest))] if honest else None

    # -- behaviour -----------------------------------------------------------------------

    def _sessions(self, day: int) -> None:
        rng, users, it = self.rng, self.users, self.items
        day_ms = self.start_ms + day * DAY_MS
        counts = rng.poisson(users.activity)
        counts[users.signup_ms >= day_ms + LAST_SESSION_START] = 0
        who = np.repeat(np.arange(users.n), counts)
        starts = day_ms + rng.choice(24, len(who), p=DIURNAL) * HOUR_MS + rng.integers(0, HOUR_MS, len(who))
        starts = np.minimum(np.maximum(starts, users.signup_ms[who] + 30_000), day_ms + LAST_SESSION_START)
        order = np.argsort(starts, kind="stable")
        who, starts = who[order], starts[order]
        self.col = {name: np.asarray(getattr(it, name)) for name in ("leaf", "brand", "price", "quality", "seller",
                                                                      "created")}
        self.end = np.asarray(it.end, dtype=np.int64)   # sales move it during the day
        self.item_id_array = np.asarray(self.item_ids, dtype=object)
        hour = (starts - day_ms) // HOUR_MS
        for h in range(24):
            sel = hour == h
            if sel.any():
                self._hour(who[sel], starts[sel], day_ms + h * HOUR_MS)
        it.end = self.end.tolist()
        self._removals(day_ms)
        if self.ads is not None:   # sellers stop the campaigns of listings that left the market
            for ms, seller_id, campaign_id in self.ads.stop_ended(self.end, day_ms + DAY_MS):
                self.emit(ms, "ad_campaign_status", seller_id, campaign_id=campaign_id, action="stop")

    def _hour(self, us: np.ndarray, ts: np.ndarray, hour_ms: int) -> None:
        """All sessions starting in one hour: feeds in bulk, then clicks in time order."""
        rng, users, cfg, col = self.rng, self.users, self.cfg, self.col
        cand = np.flatnonzero((col["created"] < hour_ms + HOUR_MS) & (self.end > hour_ms))
        if not len(cand):
            return
        S, n_leaves = len(us), len(catalog.LEAVES)
        leaf, created = col["leaf"][cand], col["created"][cand]
        avail = (created[None, :] <= ts[:, None]) & (self.end[cand][None, :] > ts[:, None]) \
            & (col["seller"][cand][None, :] != us[:, None])
        intent = self.last_intent[us].copy()
        redraw = (intent < 0) | (rng.random(S) < 0.45)
        cdf = np.cumsum(users.taste[us], axis=1)
        drawn = np.minimum((cdf < rng.random(S)[:, None] * cdf[:, -1:]).sum(1), n_leaves - 1)
        intent = np.where(redraw, drawn, intent)
        leaf_match = leaf[None, :] == intent[:, None]
        in_leaf = avail & leaf_match
        r = rng.random(S)
        surface = np.where(r < 0.3, 0, np.where(r < 0.45, 1, 2))
        surface[~in_leaf.any(1)] = 2
        # Feed keys (0 = not shown). Search and category pages list the intent's newest items.
        # The home feed samples without replacement with weight exp(-age / 2 days), x4 near
        # the session's interest: top-k of weight / Exp(1) noise (the Gumbel top-k trick).
        home = surface == 2
        newest = ((created - created.min()) / 1000 + 1).astype(np.float32)
        keys = np.where(in_leaf, newest[None, :], np.float32(0))
        if home.any():
            weight = np.exp((created - hour_ms) / (2 * DAY_MS)).astype(np.float32)
            noise = rng.standard_exponential((int(home.sum()), len(cand)), dtype=np.float32) + np.float32(1e-30)
            keys[home] = np.where(avail[home], weight * (1 + 3 * leaf_match[home]) / noise, np.float32(0))
        brand_of_query = np.full(S, -1)
        queries = [""] * S
        for s in np.flatnonzero(surface == 0):
            brand_of_query[s], queries[s] = self._search(int(us[s]), int(ts[s]), int(intent[s]), in_leaf[s], cand)
        brand_filter = (surface == 0) & (brand_of_query >= 0)
        if brand_filter.any():
            match = col["brand"][cand][None, :] == brand_of_query[brand_filter][:, None]
            keys[brand_filter] = np.where(match, keys[brand_filter], np.float32(0))
        K = min(MAX_IMPRESSIONS, len(cand))
        top = np.argpartition(-keys, K - 1, axis=1)[:, :K] if K < len(cand) else np.tile(np.arange(K), (S, 1))
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, 1), axis=1, kind="stable"), 1)
        n_imp = np.maximum(3, rng.poisson(cfg.impressions_per_session, S))
        shown = (np.take_along_axis(keys, top, 1) > 0) & (np.arange(K)[None, :] < n_imp[:, None])
        idx = cand[top]   # (S, K) item indices
        util = utility(users, us, col["leaf"][idx], col["brand"][idx], col["price"][idx],
                       (ts[:, None] - col["created"][idx]) / DAY_MS, col["quality"][idx], intent)
        clicks = shown & (rng.random((S, K)) < _sigmoid(util - 2.2))
        rows, pos = np.nonzero(shown)
        self.emit_impressions(ts[rows] + pos * IMPRESSION_GAP_MS, us[rows], idx[rows, pos], surface[rows], pos)
        clicked = clicks.any(1)
        for s in range(S):   # time order: an ad's listing sold in an earlier session is not shown
            if self.ads is not None and surface[s] != 1:
                self._ads(int(us[s]), int(ts[s]), SURFACES[surface[s]], int(intent[s]), queries[s], idx[s][shown[s]])
            if clicked[s]:
                self._clicks(int(us[s]), int(ts[s]) + int(n_imp[s]) * IMPRESSION_GAP_MS, SURFACES[surface[s]],
                             idx[s][clicks[s]], util[s][clicks[s]])

    def _ads(self, u: int, t: int, surface: str, intent: int, query: str, organic: np.ndarray) -> None:
        """The ads of one home or search session's list, with their impressions and clicks."""
        for ms, kind, fields in self.ads.serve(t, u, self.user_ids[u], surface, intent, query,
                                               self.item_id_array[organic].tolist(), self.col, self.end):
            self.emit(ms, kind, u, **fields)

    def _search(self, u: int, t: int, intent: int, in_leaf_row: np.ndarray, cand: np.ndarray) -> tuple[int, str]:
        """Emit the session's search; returns the brand searched for (or -1) and the query."""
        brands = self.col["brand"][cand][in_leaf_row]
        liked = [int(b) for b in np.unique(brands[brands >= 0]) if self.users.brand_pref[u, b]]
        brand = liked[int(self.rng.integers(len(liked)))] if liked and self.rng.random() < 0.6 else -1
        query = texts.query(self.session_text, catalog.LEAVES[intent], BRANDS[brand] if brand >= 0 else None)
        self.emit(t - 4000, "search", u, query=query)
        return brand, query

    def _clicks(self, u: int, now: int, surface: str, items: np.ndarray, util: np.ndarray) -> None:
        for item, value in zip(items.tolist(), util.tolist()):
            now += int(self.rng.integers(3000, 60000))
            if self.end[item] <= now:
                continue
            self.emit_click(now, u, item, surface)
            self.last_intent[u] = self.col["leaf"][item]
            now = self._after_click(u, item, value, now)

    def _after_click(self, u: int, item: int, value: float, now: int) -> int:
        rng = self.rng
        seller = int(self.col["seller"][item])
        fraud_seller = self.users.fraud[seller]
        if rng.random() < _sigmoid(value - 3.0):
            now += int(rng.integers(1000, 20000))
            self.emit(now, "favorite", u, item_id=self.item_ids[item])
        if fraud_seller and rng.random() < 0.35:   # scammers message everyone who looks
            self._chat(seller, u, item, now + int(rng.integers(20000, 300000)), fraud_seller)
        if rng.random() >= 0.3 * _sigmoid(value - 2.5):
            return now
        now += int(rng.integers(20000, 120000))
        self._chat(u, seller, item, now, ())
        now += int(rng.integers(30000, 600000))
        self._chat(seller, u, item, now, fraud_seller)
        if not fraud_seller and rng.random() < 0.4 and self.end[item] > now:
            now += int(rng.integers(20000, 300000))
            self.emit(now, "listing_status", seller, item_id=self.item_ids[item], status="reserved")
            self.end[item] = now
            now += int(rng.integers(60000, 600000))
            price = int(round(self._listed_price(item) * float(rng.choice([1.0, 1.0, 0.95, 0.9])), -2))
            self.emit(now, "purchase", u, item_id=self.item_ids[item], price=price)
            self.emit(now + 1000, "listing_status", seller, item_id=self.item_ids[item], status="sold")
            self.sold.add(item)
        return now

    def _listed_price(self, item: int) -> int:
        return int(round(np.exp(self.items.price[item] + catalog.LOG_MEDIAN[self.items.leaf[item]])))

    def _chat(self, sender: int, to: int, item: int, now: int, fraud: tuple) -> None:
        tr = self.session_text
        types, evidence, hard, wave = [], "", 0, False
        from_seller = self.items.seller[item] == sender
        text_fraud = [c for c in TEXT_FRAUD if c in fraud]
        if text_fraud and self.wave_from_ms is not None and now >= self.wave_from_ms and tr.random() < self.cfg.wave_share:
            text = evidence = texts.wave(tr)
            types.append(ACCOUNT_TRANSFER)
            wave = True
        elif text_fraud:
            category = tr.choice(text_fraud)
            text, evidence = texts.scam(tr, category)
            types.append(category)
        elif fraud:   # behaviour-only scammer: pushy but clean words
            text = tr.choice(("급처라 오늘만 이 가격이에요", "다른 분도 문의 많아요 빨리 결정해주세요", "네 바로 가능합니다"))
            types.append(ANOMALOUS_BEHAVIOUR)
        elif tr.random() < 0.07:
            pool = texts.HARD_NEGATIVE_LISTING if from_seller else texts.HARD_NEGATIVE_CHAT
            text, hard = texts.fill(tr, tr.choice(pool), self._listed_price(item)), 1
        else:
            text = texts.chat(tr, from_seller, self._listed_price(item))
        event_id = self.emit(now, "chat", sender, item_id=self.item_ids[item], to_user_id=self.user_ids[to], text=text)
        self.message_labels.append((event_id, self.item_ids[item], self.user_ids[sender], ";".join(types), hard,
                                    evidence))
        self.feedback.message(now, event_id, self.user_ids[to], text, types)
        if wave:
            self.wave_labels.append((event_id, self._ts(now)))

    def _removals(self, day_ms: int) -> None:
        """Listings whose time ran out today without a sale are taken down by their seller."""
        for item in np.flatnonzero((self.end >= day_ms) & (self.end < day_ms + DAY_MS)).tolist():
            if item not in self.sold:
                self.emit(int(self.end[item]), "listing_status", self.items.seller[item],
                          item_id=self.item_ids[item], status="removed")

    def _signups(self, day_ms: int, first: bool) -> None:
        """Sign-ups of the day; the first day's file also carries every earlier account."""
        users = self.users
        mask = (users.signup_ms < day_ms + DAY_MS) & ((users.signup_ms >= day_ms) | first)
        for u in np.flatnonzero(mask).tolist():
            self.emit(int(users.signup_ms[u]), "signup", u,
                      gender="FM"[users.gender[u]] if users.gender_reported[u] else None,
                      birth_year=int(users.birth_year[u]) if users.birth_reported[u] else None)

    # -- the run -------------------------------------------------------------------------

    def run(self) -> dict:
        t0 = time.perf_counter()
        (self.out / "images").mkdir(parents=True, exist_ok=True)
        (self.out / "labels").mkdir(exist_ok=True)
        pool = ProcessPoolExecutor(self.workers) if self.workers > 0 else None
        jobs: list[Future] = []
        try:
            # a bar at a terminal only: nothing in a log or a pipe
            days = progress.bar(range(self.days), "simulate", total=self.days, unit="day") if self.progress else range(self.days)
            for day in days:
                day_ms = self.start_ms + day * DAY_MS
                self._signups(day_ms, first=day == 0)
                self._new_listings(day)
                specs, self.pending_images = self.pending_images, []
                if pool:
                    jobs += [pool.submit(images.write_all, self.out, specs[i:i + 200]) for i in range(0, len(specs), 200)]
                else:
                    images.write_all(self.out, specs)
                self._sessions(day)
                for ms, kind, user_id, fields in self.feedback.due(day_ms + DAY_MS):
                    self.emit(ms, kind, user_id, **fields)
                self._flush_day(day)
            self._write_labels()
            for job in jobs:
                job.result()
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
        return {
            "out": str(self.out), "users": self.users.n, "days": self.days, "seed": self.seed,
            "start": self.start.isoformat(), "events": self.n_events, "by_type": dict(sorted(self.counts.items())),
            "listings": len(self.items), "images": len(self.image_labels),
            "fraud_users": sum(1 for f in self.users.fraud if f), "seconds": round(time.perf_counter() - t0, 2),
        }

    def _write_labels(self) -> None:
        labels, users = self.out / "labels", self.users
        with open(labels / "users.jsonl", "w", encoding="utf-8") as f:
            for u in range(users.n):
                top = np.argsort(-users.taste[u], kind="stable")[:4]
                f.write(_dumps({
                    "user_id": self.user_ids[u],
                    "gender": "FM"[users.gender[u]] if users.gender_reported[u] else None,
                    "birth_year": int(users.birth_year[u]) if users.birth_reported[u] else None,
                    "signup_ts": self._ts(int(users.signup_ms[u])),
                    "activity": round(float(users.activity[u]), 4),
                    "tastes": {
                        "categories": {catalog.LEAVES[k].path: round(float(users.taste[u, k]), 4) for k in top},
                        "brands": [BRANDS[b] for b in np.flatnonzero(users.brand_pref[u])],
                        "price_range": [round(float(np.exp(users.price_pref[u] - 0.6)), 3),
                                        round(float(np.exp(users.price_pref[u] + 0.6)), 3)],
                    },
                    "fraud_types": list(users.fraud[u]),
                }) + "\n")
        _csv(labels / "listings.csv", ("item_id", "seller_id", "fraud_types", "hard_negative", "evidence"),
             self.listing_labels)
        _csv(labels / "messages.csv", ("event_id", "item_id", "user_id", "fraud_types", "hard_negative", "evidence"),
             self.message_labels)
        _csv(labels / "images.csv", ("image", "item_id", "seller_id", "copy_of", "transform", "fraud_types",
                                     "text_in_image"), self.image_labels)
        if self.wave_from_ms is not None:
            _csv(labels / "wave_messages.csv", ("event_id", "ts"), self.wave_labels)
        _csv(labels / "fraud_users.csv", ("user_id", "fraud_types"),
             [(self.user_ids[u], ";".join(f)) for u, f in enumerate(users.fraud) if f])


def _csv(path: Path, header: tuple, rows: list) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
