"""The simulation itself: users with latent tastes, one-of-a-kind listings that sell or
expire, sessions of impressions/clicks/searches/favorites/chats/purchases, and scammers.

Vectorised with numpy where the work is bulk (users, listings, session schedules); one
small loop per session keeps the causal parts honest (an item sold in one session is gone
for the next). Determinism: every random draw comes from generators seeded by ``seed``,
consumed in a fixed order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bunjang_lab.fraud.categories import (ACCOUNT_TRANSFER, ANOMALOUS_BEHAVIOUR, EXTERNAL_CHANNEL, IMAGE_TEXT,
                                          PHISHING_LINK, STOLEN_IMAGE)
from bunjang_lab.marketplace import segments
from bunjang_lab.simulate import catalog

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
TEXT_FRAUD = (EXTERNAL_CHANNEL, PHISHING_LINK, ACCOUNT_TRANSFER)
# share of a day's sessions that start in each hour (KST): lunch and evening peaks
DIURNAL = np.array([3, 1.5, 0.8, 0.5, 0.4, 0.5, 1, 2, 3, 3.5, 4, 4.5, 5.5, 5, 4.5, 4.5, 4.5, 5, 5.5, 6, 7, 7.5, 7, 5])
DIURNAL = DIURNAL / DIURNAL.sum()
LAST_SESSION_START = DAY_MS - 40 * 60_000   # a session's events stay inside its day file


@dataclass(frozen=True)
class FeedbackConfig:
    """Rates of reporting and moderation (a report is per target: the first one counts)."""

    report_fraud_message: float = 0.3     # a scam message's recipient reports it
    report_honest_message: float = 0.004  # noise: an honest message reported anyway
    report_fraud_listing: float = 0.25    # someone reports a scam listing
    report_honest_listing: float = 0.01
    moderator_accuracy: float = 0.92      # a decision is right this often
    decision_median_hours: float = 8.0    # log-normal delay from the first report
    appeal_share: float = 0.6             # honest targets confirmed by mistake that appeal and are cleared


@dataclass(frozen=True)
class Config:
    """Rates of the simulated marketplace; the defaults give the documented ranges."""

    sessions_per_user_day: float = 0.7   # mean; per-user activity is log-normal around it
    seller_share: float = 0.25           # users who list regularly
    listings_per_seller_day: float = 0.27
    initial_listings_per_user: float = 0.3   # inventory listed in the first hours of day one
    new_user_share: float = 0.12         # users who sign up inside the window
    fraud_share: float = 0.03            # users who are scammers
    impressions_per_session: float = 9.0
    image_size: int = 176
    text_image_size: int = 256           # pictures with writing are larger so OCR can read them
    missing_gender: float = 0.1
    missing_birth_year: float = 0.12
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)  # reports and moderator decisions
    wave_day: int | None = None          # from this day (0-based) a new scam wording appears in chat (texts.wave)
    wave_share: float = 0.6              # share of text scammers' messages in the wave's wording from then on
    ad_campaign_share: float = 0.05      # honest listings their seller promotes (simulate.ads.MarketplaceAds); 0: no ads


@dataclass
class Users:
    n: int
    gender: np.ndarray        # latent 0=F, 1=M
    gender_reported: np.ndarray  # bool: shown in the signup event
    birth_year: np.ndarray
    birth_reported: np.ndarray
    age_band: np.ndarray
    signup_ms: np.ndarray
    activity: np.ndarray      # mean sessions per day
    listing_rate: np.ndarray  # mean listings per day
    taste: np.ndarray         # (n, n_leaves) probability of a session's intent
    brand_pref: np.ndarray    # (n, n_brands) 0/1
    price_pref: np.ndarray    # log-price offset from each leaf's median
    fraud: list = field(default_factory=list)  # per user: tuple of fraud categories


@dataclass
class Items:
    """Growing columns of every listing so far."""

    seller: list = field(default_factory=list)
    leaf: list = field(default_factory=list)
    brand: list = field(default_factory=list)   # global brand index or -1
    price: list = field(default_factory=list)
    created: list = field(default_factory=list)
    end: list = field(default_factory=list)     # when it leaves the market (sold, reserved, removed)
    quality: list = field(default_factory=list)
    fraud: list = field(default_factory=list)

    def __len__(self):
        return len(self.seller)


BRANDS: tuple[str, ...] = tuple(dict.fromkeys(b for leaf in catalog.LEAVES for b in leaf.brands))
BRAND_INDEX = {b: i for i, b in enumerate(BRANDS)}
LEAF_BRANDS = [np.array([BRAND_INDEX[b] for b in leaf.brands], dtype=np.int64) for leaf in catalog.LEAVES]


def make_users(rng: np.random.Generator, n: int, start_ms: int, days: int, cfg: Config) -> Users:
    n_leaves = len(catalog.LEAVES)
    gender = (rng.random(n) < 0.5).astype(np.int64)
    birth_year = rng.choice(np.arange(1962, 2011), n, p=_age_weights())
    # each user's band as an index into the affinity tables (birth years keep every age in a band)
    age_band = np.array([segments.KNOWN_AGE_BANDS.index(segments.age_band(b, 2026)) for b in birth_year.tolist()])
    new = rng.random(n) < cfg.new_user_share
    signup = np.where(new, start_ms + (rng.random(n) * days * DAY_MS).astype(np.int64),
                      start_ms - (rng.uniform(2, 730, n) * DAY_MS).astype(np.int64))
    activity = cfg.sessions_per_user_day * rng.lognormal(-0.32, 0.8, n)
    seller = rng.random(n) < cfg.seller_share
    listing_rate = np.where(seller, cfg.listings_per_seller_day * rng.lognormal(-0.3, 0.7, n), 0.004)

    prior = catalog.GENDER_AFFINITY[:, gender].T * catalog.AGE_AFFINITY[:, age_band].T  # (n, leaves)
    prior /= prior.sum(1, keepdims=True)
    taste = np.empty((n, n_leaves))
    brand_pref = np.zeros((n, len(BRANDS)))
    for u in range(n):  # a few favourite leaves drawn from the segment prior
        k = int(rng.integers(2, 5))
        fav = rng.choice(n_leaves, k, replace=False, p=prior[u])
        taste[u] = 0.25 * prior[u]
        taste[u, fav] += 0.75 * rng.dirichlet(np.ones(k))
        for leaf in fav:
            if len(LEAF_BRANDS[leaf]) and rng.random() < 0.8:
                brand_pref[u, rng.choice(LEAF_BRANDS[leaf], min(2, len(LEAF_BRANDS[leaf])), replace=False)] = 1
    price_pref = rng.normal(0.0, 0.45, n) + 0.08 * (age_band - 1.5)
    return Users(n, gender, rng.random(n) >= cfg.missing_gender, birth_year, rng.random(n) >= cfg.missing_birth_year,
                 age_band, signup, activity, listing_rate, taste, brand_pref, price_pref, [()] * n)


def _age_weights() -> np.ndarray:
    years = np.arange(1962, 2011)
    w = np.exp(-0.5 * ((years - 1997) / 9.0) ** 2) + 0.08
    return w / w.sum()


def assign_fraud(rng: np.random.Generator, users: Users, start_ms: int, days: int, cfg: Config) -> dict[int, dict]:
    """Pick scammers and their plans: types, the day of their burst, how they behave."""
    n_fraud = max(3, int(round(cfg.fraud_share * users.n)))
    ids = np.sort(rng.choice(users.n, n_fraud, replace=False))
    plans = {}
    for u in ids:
        u = int(u)
        anomalous = rng.random() < 0.75
        if rng.random() < 0.12:   # behaviour-only scammer: the text looks honest
            types = []
        else:
            types = list(rng.choice(TEXT_FRAUD, int(rng.integers(1, 3)), replace=False))
        if rng.random() < 0.45:
            types.append(STOLEN_IMAGE)
        if rng.random() < 0.55:
            types.append(IMAGE_TEXT)
        if anomalous or not types:
            types.append(ANOMALOUS_BEHAVIOUR)
        day = int(rng.integers(0, days))
        first_ms = start_ms + day * DAY_MS + int(rng.uniform(8, 22) * HOUR_MS)
        if ANOMALOUS_BEHAVIOUR in types:   # fresh account, burst of cheap listings in hot categories
            users.signup_ms[u] = first_ms - int(rng.uniform(0.05, 2.5) * DAY_MS)
            n_listings = int(rng.integers(4, 10))
            created = first_ms + np.sort(rng.uniform(0, 2 * HOUR_MS, n_listings)).astype(np.int64)
            leaves = rng.choice(catalog.HOT_LEAVES, n_listings)
            price_factor = rng.uniform(0.25, 0.55, n_listings)
        else:                              # quiet scammer: old account, a few listings spread out
            n_listings = int(rng.integers(2, 6))
            created = first_ms + np.sort(rng.uniform(0, 4 * DAY_MS, n_listings)).astype(np.int64)
            leaves = rng.choice(len(catalog.LEAVES), n_listings, p=users.taste[u])
            price_factor = rng.uniform(0.6, 0.95, n_listings)
        users.fraud[u] = tuple(t for t in (*TEXT_FRAUD, STOLEN_IMAGE, IMAGE_TEXT, ANOMALOUS_BEHAVIOUR) if t in types)
        users.activity[u] *= 0.3
        users.listing_rate[u] = 0.0
        plans[u] = {"created": created, "leaves": leaves, "price_factor": price_factor}
    return plans


def utility(users: Users, u: np.ndarray, leaf: np.ndarray, brand: np.ndarray, log_rel_price: np.ndarray,
            age_days: np.ndarray, quality: np.ndarray, intent: np.ndarray) -> np.ndarray:
    """How much users ``u`` (shape (S,)) want items (shape (S, K)): taste, brand, price fit,
    bargains, the session's intent and freshness."""
    n_leaves = users.taste.shape[1]
    uu = u[:, None]
    util = 0.9 * np.log(users.taste[uu, leaf] * n_leaves + 1e-3)
    util += np.where(brand >= 0, users.brand_pref[uu, np.maximum(brand, 0)], 0.0)
    util -= np.minimum(0.8 * ((log_rel_price - users.price_pref[uu]) / 0.6) ** 2, 3.0)
    util += 0.6 * np.maximum(0.0, -log_rel_price - 0.3)   # a bargain catches the eye
    util += 1.0 * (leaf == intent[:, None])
    util -= 0.3 * age_days
    return util + quality
