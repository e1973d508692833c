"""Drives the day-by-day simulation and writes events, images and labels."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bunjang_lab.fraud.categories import ANOMALOUS_BEHAVIOUR, IMAGE_TEXT, STOLEN_IMAGE
from bunjang_lab.simulate import catalog, images, texts
from bunjang_lab.simulate.market import (BRANDS, DAY_MS, DIURNAL, HOUR_MS, LAST_SESSION_START, LEAF_BRANDS, TEXT_FRAUD,
                                         Config, Items, Pyrand, assign_fraud, make_users, utility)

KST = dt.timezone(dt.timedelta(hours=9))
HONEST_IMAGE_WORDS = ("정품", "새상품", "SALE", "택포", "미개봉", "풀박스", "실착 1회")


def _dumps(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class Simulation:
    def __init__(self, n_users: int, days: int, seed: int, out: Path, start: dt.date, cfg: Config,
                 compress: bool, progress: bool):
        self.days, self.seed, self.out, self.cfg, self.compress = days, seed, out, cfg, compress
        self.progress = progress
        self.start_ms = int(dt.datetime(start.year, start.month, start.day, tzinfo=KST).timestamp() * 1000)
        self.start = start
        root = np.random.SeedSequence(seed)
        user_seq, fraud_seq, list_seq, sess_seq = root.spawn(4)
        self.rng_list = np.random.default_rng(list_seq)
        self.rng = np.random.default_rng(sess_seq)
        self.text = Pyrand(seed)
        self.users = make_users(np.random.default_rng(user_seq), n_users, self.start_ms, days, cfg)
        self.plans = assign_fraud(np.random.default_rng(fraud_seq), self.users, self.start_ms, days, cfg)
        self.items = Items()
        self.uid_width = len(str(n_users))
        self.user_ids = [f"u{u:0{self.uid_width}d}" for u in range(n_users)]
        self.item_ids: list[str] = []
        self.image_names: list[list[str]] = []
        self.n_events = 0
        self.counts: dict[str, int] = {}
        self.lines: list = []
        self.last_intent = np.full(n_users, -1)
        # labels
        self.listing_labels: list[tuple] = []
        self.message_labels: list[tuple] = []
        self.image_labels: list[tuple] = []

    # -- output helpers ----------------------------------------------------------------

    def _event_id(self) -> str:
        self.n_events += 1
        return f"s{self.seed}-{self.n_events:09d}"

    def _ts(self, ms: int) -> str:
        t = dt.datetime.fromtimestamp(ms / 1000, KST)
        return t.isoformat(timespec="milliseconds")

    def emit(self, ms: int, type_: str, user: int, **fields) -> str:
        event_id = self._event_id()
        record = {"event_id": event_id, "type": type_, "ts": self._ts(ms), "user_id": self.user_ids[user], **fields}
        self.lines.append((ms, self.n_events, _dumps(record)))
        self.counts[type_] = self.counts.get(type_, 0) + 1
        return event_id

    def emit_fast(self, ms: int, type_: str, user: int, item: int, surface: str, position: int = -1) -> None:
        """Impressions and clicks are most of the volume: format them without json.dumps."""
        self.n_events += 1
        tail = f',"position":{position}}}' if position >= 0 else "}"
        self.lines.append((ms, self.n_events,
                           f'{{"event_id":"s{self.seed}-{self.n_events:09d}","type":"{type_}","ts":"{self._ts(ms)}",'
                           f'"user_id":"{self.user_ids[user]}","item_id":"{self.item_ids[item]}","surface":"{surface}"{tail}'))
        self.counts[type_] = self.counts.get(type_, 0) + 1

    def _flush_day(self, day: int) -> None:
        date = self.start + dt.timedelta(days=day)
        self.lines.sort()
        body = ("\n".join(line for _, _, line in self.lines) + "\n").encode()
        name = f"{date.isoformat()}.jsonl"
        if self.compress:
            with open(self.out / f"{name}.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                                             filename="", compresslevel=6) as gz:
                gz.write(body)
        else:
            (self.out / name).write_bytes(body)
        self.lines = []

    # -- listings ----------------------------------------------------------------------

    def _new_listings(self, day: int) -> None:
        rng, cfg, users = self.rng_list, self.cfg, self.users
        day_ms = self.start_ms + day * DAY_MS
        rates = users.listing_rate * (users.signup_ms < day_ms + DAY_MS)
        counts = rng.poisson(rates)
        sellers = np.repeat(np.arange(users.n), counts)
        created = day_ms + rng.choice(DAY_MS // HOUR_MS, len(sellers), p=DIURNAL) * HOUR_MS \
            + rng.integers(0, HOUR_MS, len(sellers))
        created = np.maximum(created, users.signup_ms[sellers] + 60_000)
        if day == 0:   # opening inventory, listed in the first hours of day one
            n0 = int(cfg.initial_listings_per_user * users.n)
            extra = rng.choice(users.n, n0, p=users.listing_rate / users.listing_rate.sum())
            extra = extra[users.signup_ms[extra] < day_ms]
            sellers = np.concatenate([extra, sellers])
            created = np.concatenate([day_ms + rng.integers(0, 6 * HOUR_MS, len(extra)), created])
        leaves = np.array([rng.choice(len(catalog.LEAVES), p=users.taste[s]) for s in sellers], dtype=np.int64)
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
        order = np.argsort(created, kind="stable")
        for i in order:
            self._listing(int(sellers[i]), int(leaves[i]), int(created[i]), float(factor[i]), fraud[i])

    def _listing(self, seller: int, leaf_idx: int, created: int, price_factor: float, fraud: tuple) -> None:
        rng, tr, leaf = self.rng_list, self.text, catalog.LEAVES[leaf_idx]
        condition = int(rng.choice(len(catalog.CONDITIONS), p=catalog.CONDITION_P))
        brand = int(rng.choice(LEAF_BRANDS[leaf_idx])) if len(LEAF_BRANDS[leaf_idx]) and rng.random() < 0.85 else -1
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
        names, image_types = self._listing_images(index, item_id, seller, leaf_idx, fraud, tr)
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
        it.price.append(np.log(price) - catalog.LOG_MEDIAN[leaf_idx])
        it.created.append(created)
        it.end.append(created + int(lifetime))
        it.quality.append(float(rng.normal(0, 0.4)))
        it.fraud.append(bool(fraud))
        self.listing_labels.append((item_id, self.user_ids[seller], ";".join(types), int(hard), " | ".join(evidence)))

    def _listing_images(self, index, item_id, seller, leaf_idx, fraud, tr) -> tuple[list[str], list[str]]:
        rng = np.random.default_rng([self.seed, 11, index])   # per listing: re-runs render the same pictures
        n = int(rng.choice([1, 1, 1, 1, 1, 2, 2, 3]))
        names, types = [], []
        stolen = STOLEN_IMAGE in fraud and self._honest_images_before(rng)
        for k in range(n):
            name = f"images/{item_id}_{k}.jpg"
            copy_of, transform, text, img_types = "", "", "", []
            if k == 0 and stolen:
                copy_of = stolen
                overlay = tr.choice(("", "", "정품", "최저가", "급처", "@bunjang")) if rng.random() < 0.5 else ""
                original = Image.open(self.out / copy_of).convert("RGB")
                img, transform = images.transform_copy(rng, original, overlay)
                text = overlay
                img_types.append(STOLEN_IMAGE)
                quality = int(rng.integers(35, 80))
            elif IMAGE_TEXT in fraud and k == n - 1:
                category = tr.choice([c for c in TEXT_FRAUD if c in fraud] or [texts.EXTERNAL_CHANNEL])
                text, _ = texts.contact(tr, "external_channel" if category != "external_channel" else category)
                img = images.draw_text(images.render_product(rng, self.cfg.text_image_size), text, rng)
                img_types.append(IMAGE_TEXT)
                quality = 85
            else:
                img = images.render_product(rng, self.cfg.image_size)
                if not fraud and rng.random() < 0.05:
                    text = tr.choice(HONEST_IMAGE_WORDS)
                    img = images.draw_text(img, text, rng, banner=rng.random() < 0.5)
                quality = images.JPEG_QUALITY
            (self.out / name).write_bytes(images.jpeg_bytes(img, quality))
            self.image_labels.append((name, item_id, self.user_ids[seller], copy_of, transform, ";".join(img_types), text))
            names.append(name)
            types += [t for t in img_types if t not in types]
        self.image_names.append(names)
        return names, types

    def _honest_images_before(self, rng) -> str:
        honest = [i for i in range(max(0, len(self.items) - 400), len(self.items)) if not self.items.fraud[i]]
        if not honest:
            return ""
        return self.image_names[int(rng.choice(honest))][0]

    # -- behaviour ---------------------------------------------------------------------

    def _sessions(self, day: int) -> None:
        rng, users = self.rng, self.users
        day_ms = self.start_ms + day * DAY_MS
        counts = rng.poisson(users.activity)
        counts[users.signup_ms >= day_ms + LAST_SESSION_START] = 0
        who = np.repeat(np.arange(users.n), counts)
        starts = day_ms + rng.choice(24, len(who), p=DIURNAL) * HOUR_MS + rng.integers(0, HOUR_MS, len(who))
        starts = np.minimum(np.maximum(starts, users.signup_ms[who] + 30_000), day_ms + LAST_SESSION_START)
        order = np.argsort(starts, kind="stable")
        it = self.items
        created, end = np.asarray(it.created), np.asarray(it.end)
        live_today = np.flatnonzero((created < day_ms + DAY_MS) & (end > day_ms))
        cols = {
            "leaf": np.asarray(it.leaf)[live_today], "brand": np.asarray(it.brand)[live_today],
            "price": np.asarray(it.price)[live_today], "quality": np.asarray(it.quality)[live_today],
            "seller": np.asarray(it.seller)[live_today], "created": created[live_today],
        }
        self._end = end   # sales update it in place during the day
        for s in order:
            self._session(int(who[s]), int(starts[s]), live_today, cols)
        self._removals(day_ms)

    def _session(self, u: int, t: int, live: np.ndarray, cols: dict) -> None:
        rng, users, cfg = self.rng, self.users, self.cfg
        alive = (cols["created"] <= t) & (self._end[live] > t) & (cols["seller"] != u)
        if not alive.any():
            return
        intent = int(self.last_intent[u])
        if intent < 0 or rng.random() < 0.45:
            intent = int(rng.choice(len(catalog.LEAVES), p=users.taste[u]))
        in_leaf = alive & (cols["leaf"] == intent)
        r = rng.random()
        n_imp = max(3, int(rng.poisson(cfg.impressions_per_session)))
        if r < 0.3 and in_leaf.any():
            surface = "search"
            brands = cols["brand"][in_leaf]
            liked = [b for b in np.unique(brands[brands >= 0]) if users.brand_pref[u, b]]
            brand = int(rng.choice(liked)) if liked and rng.random() < 0.6 else -1
            query = texts.query(self.text, catalog.LEAVES[intent], BRANDS[brand] if brand >= 0 else None)
            self.emit(t - 4000, "search", u, query=query)
            pool = np.flatnonzero(in_leaf & ((cols["brand"] == brand) if brand >= 0 else True))
            if not len(pool):
                pool = np.flatnonzero(in_leaf)
            shown = pool[np.argsort(-cols["created"][pool], kind="stable")][:n_imp]   # newest first
        elif r < 0.45 and in_leaf.any():
            surface = "category"
            pool = np.flatnonzero(in_leaf)
            shown = pool[np.argsort(-cols["created"][pool], kind="stable")][:n_imp]
        else:
            surface = "home"   # what a naive feed shows: fresh items, a few near the user's recent interest
            pool = np.flatnonzero(alive)
            age = (t - cols["created"][pool]) / DAY_MS
            w = np.exp(-age / 2.0) * (1 + 3 * (cols["leaf"][pool] == intent))
            k = min(n_imp, len(pool))
            shown = rng.choice(pool, k, replace=False, p=w / w.sum())
        util = utility(users, u, cols["leaf"][shown], cols["brand"][shown], cols["price"][shown],
                       (t - cols["created"][shown]) / DAY_MS, cols["quality"][shown], intent)
        clicks = rng.random(len(shown)) < 1 / (1 + np.exp(-(util - 2.2)))
        items = live[shown]
        for pos, item in enumerate(items):
            self.emit_fast(t + pos * 150, "impression", u, int(item), surface, pos)
        now = t + len(items) * 150
        for pos in np.flatnonzero(clicks):
            item, value = int(items[pos]), float(util[pos])
            now += int(rng.integers(3000, 60000))
            if self._end[item] <= now:
                continue
            self.emit_fast(now, "click", u, item, surface)
            self.last_intent[u] = int(cols["leaf"][shown[pos]])
            now = self._after_click(u, item, value, now)

    def _after_click(self, u: int, item: int, value: float, now: int) -> int:
        rng, tr = self.rng, self.text
        seller = self.items.seller[item]
        fraud_seller = self.users.fraud[seller]
        if rng.random() < 1 / (1 + np.exp(-(value - 3.0))):
            now += int(rng.integers(1000, 20000))
            self.emit(now, "favorite", u, item_id=self.item_ids[item])
        if fraud_seller and rng.random() < 0.35:   # scammers message everyone who looks
            now += int(rng.integers(20000, 300000))
            self._chat(seller, u, item, now, fraud_seller)
        if rng.random() >= 0.15 / (1 + np.exp(-(value - 2.5))) * 2:
            return now
        now += int(rng.integers(20000, 120000))
        self._chat(u, seller, item, now, ())
        now += int(rng.integers(30000, 600000))
        self._chat(seller, u, item, now, fraud_seller)
        if not fraud_seller and rng.random() < 0.4 and self._end[item] > now:
            now += int(rng.integers(20000, 300000))
            self.emit(now, "listing_status", seller, item_id=self.item_ids[item], status="reserved")
            self._end[item] = self.items.end[item] = now
            now += int(rng.integers(60000, 600000))
            price = int(round(self._listed_price(item) * float(rng.choice([1.0, 1.0, 0.95, 0.9])), -2))
            self.emit(now, "purchase", u, item_id=self.item_ids[item], price=price)
            self.emit(now + 1000, "listing_status", seller, item_id=self.item_ids[item], status="sold")
            self._sold.add(item)
        return now

    def _listed_price(self, item: int) -> int:
        return int(round(np.exp(self.items.price[item] + catalog.LOG_MEDIAN[self.items.leaf[item]])))

    def _chat(self, sender: int, to: int, item: int, now: int, fraud: tuple) -> None:
        tr = self.text
        types, evidence, hard = [], "", 0
        text_fraud = [c for c in TEXT_FRAUD if c in fraud]
        if text_fraud:
            category = tr.choice(text_fraud)
            text, evidence = texts.scam(tr, category)
            types.append(category)
        elif fraud:   # behaviour-only scammer: pushy but clean
            text = tr.choice(("급처라 오늘만 이 가격이에요", "다른 분도 문의 많아요 빨리 결정해주세요", "네 바로 가능합니다"))
        elif tr.random() < 0.07:
            pool = texts.HARD_NEGATIVE_LISTING if self.items.seller[item] == sender else texts.HARD_NEGATIVE_CHAT
            text, hard = texts.fill(tr, tr.choice(pool), self._listed_price(item)), 1
        elif self.items.seller[item] == sender:
            text = texts.fill(tr, tr.choice(texts.SELLER_CHAT))
        else:
            text = texts.fill(tr, tr.choice(texts.BUYER_CHAT), self._listed_price(item))
        event_id = self.emit(now, "chat", sender, item_id=self.item_ids[item], to_user_id=self.user_ids[to], text=text)
        if fraud and ANOMALOUS_BEHAVIOUR in fraud and not types:
            types.append(ANOMALOUS_BEHAVIOUR)
        self.message_labels.append((event_id, self.item_ids[item], self.user_ids[sender], ";".join(types), hard, evidence))

    def _removals(self, day_ms: int) -> None:
        """Listings whose time ran out today without a sale are taken down by their seller."""
        end = self._end
        due = np.flatnonzero((end >= day_ms) & (end < day_ms + DAY_MS))
        for item in due:
            item = int(item)
            if item not in self._sold:
                self.emit(int(end[item]), "listing_status", self.items.seller[item], item_id=self.item_ids[item],
                          status="removed")

    # -- the run -----------------------------------------------------------------------

    def run(self) -> dict:
        from tqdm import tqdm

        t0 = time.perf_counter()
        (self.out / "images").mkdir(parents=True, exist_ok=True)
        (self.out / "labels").mkdir(exist_ok=True)
        self._sold: set[int] = set()
        for day in tqdm(range(self.days), desc="simulate", unit="day", disable=not self.progress, file=sys.stderr):
            day_ms = self.start_ms + day * DAY_MS
            self._signups(day_ms, first=day == 0)
            self._new_listings(day)
            self._sessions(day)
            self._flush_day(day)
        self._write_labels()
        return {
            "out": str(self.out), "users": self.users.n, "days": self.days, "seed": self.seed,
            "start": self.start.isoformat(), "events": self.n_events, "by_type": dict(sorted(self.counts.items())),
            "listings": len(self.items), "images": len(self.image_labels),
            "fraud_users": sum(1 for f in self.users.fraud if f), "seconds": round(time.perf_counter() - t0, 2),
        }

    def _signups(self, day_ms: int, first: bool) -> None:
        """Sign-ups of the day; the first day's file also carries every earlier account."""
        users = self.users
        mask = (users.signup_ms < day_ms + DAY_MS) & ((users.signup_ms >= day_ms) | first)
        for u in np.flatnonzero(mask):
            u = int(u)
            self.emit(int(users.signup_ms[u]), "signup", u,
                      gender="FM"[users.gender[u]] if users.gender_reported[u] else None,
                      birth_year=int(users.birth_year[u]) if users.birth_reported[u] else None)

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
        _csv(labels / "fraud_users.csv", ("user_id", "fraud_types"),
             [(self.user_ids[u], ";".join(f)) for u, f in enumerate(users.fraud) if f])


def _csv(path: Path, header: tuple, rows: list) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
