"""The cache's key layout in one place (documented with the values in docs/serving.md).

Versioned keys (written by publish, rewritten per user by events):

>>> home("u1"), candidates("u1"), user("u1"), popular("F|20s"), related("i9")
('home:u1', 'cand:u1', 'user:u1', 'pop:F|20s', 'rel:i9')
>>> suggestions("ㄴ"), flag("i9"), item_vector("i9"), user_vector("u1"), factor("recent_item=i9")
('sug:ㄴ', 'flag:i9', 'ivec:i9', 'uvec:u1', 'factor:recent_item=i9')
>>> seller("u7"), item("i9")
('seller:u7', 'item:i9')

Live keys (outside versions, kept across publish and rollback):

>>> unavailable("i9")
'gone:i9'

Ads (live, updated by ad events; see docs/ads.md):

>>> ad_campaign("c1"), AD_CAMPAIGNS, ad_spend("c1", "2026-11-03"), ad_seen("u1", "2026-11-03")
('adcamp:c1', 'adcampaigns', 'adspend:c1:2026-11-03', 'adseen:u1:2026-11-03')
>>> ad_event("e7", "2026-11-03")
'adev:2026-11-03:e7'

Confirmed fraud identifiers (live, updated by moderation events; see docs/fraud.md):

>>> BLOCKLIST, blocked("phone:01012345678"), moderated("chat", "e7")
('fraudbl', 'fbl:phone:01012345678', 'fmod:chat:e7')
"""

MANIFEST = "_manifest"
REALTIME_PARAMS = "realtime_params"
"""The recent-weighting parameters the model was trained with (half-life, top-n...)."""


def home(user_id: str) -> str:
    return f"home:{user_id}"


def candidates(user_id: str) -> str:
    return f"cand:{user_id}"


def user(user_id: str) -> str:
    return f"user:{user_id}"


def popular(segment: str) -> str:
    return f"pop:{segment}"


def related(item_id: str) -> str:
    return f"rel:{item_id}"


def suggestions(bucket: str) -> str:
    return f"sug:{bucket}"


_FLAG, _GONE = "flag:", "gone:"   # (one spelling for one key and for many at once)


def flag(item_id: str) -> str:
    return f"{_FLAG}{item_id}"


def seller(user_id: str) -> str:
    return f"seller:{user_id}"


def item(item_id: str) -> str:
    """A live listing's title, category, price and listing time (``score ... --explain``)."""
    return f"item:{item_id}"


def item_vector(item_id: str) -> str:
    return f"ivec:{item_id}"


def user_vector(user_id: str) -> str:
    return f"uvec:{user_id}"


def factor(name: str) -> str:
    return f"factor:{name}"


def unavailable(item_id: str) -> str:
    return f"{_GONE}{item_id}"


def flags(item_ids) -> list[str]:
    """:func:`flag` of each of ``item_ids`` (a list answers read many at once)."""
    return [f"{_FLAG}{i}" for i in item_ids]


def unavailables(item_ids) -> list[str]:
    """:func:`unavailable` of each of ``item_ids``."""
    return [f"{_GONE}{i}" for i in item_ids]


AD_CAMPAIGNS = "adcampaigns"
"""``{"ids", "stamp"}``: every campaign an ``ad_campaign`` event created, and a counter each
campaign event bumps (what serving holds per campaign list is keyed by it)."""
AD_CALIBRATION = "adcalibration"
"""Platt scaling of the FM's scores into ad click probabilities, and the pacing's traffic curve:
{"slope", "intercept", "curve" (24 hourly shares, KST, or null)}."""


def ad_campaign(campaign_id: str) -> str:
    return f"adcamp:{campaign_id}"


def ad_spend(campaign_id: str, day: str) -> str:
    return f"adspend:{campaign_id}:{day}"


def ad_seen(user_id: str, day: str) -> str:
    return f"adseen:{user_id}:{day}"


def ad_event(event_id: str, day: str) -> str:
    """An ad event applied on a KST day (the day leads, so old days are found by prefix)."""
    return f"adev:{day}:{event_id}"


BLOCKLIST = "fraudbl"
"""``{"version", "entries", "updated_at"}``: the confirmed-identifier blocklist's version (bumped
by each decision that changes it) and its size."""


def blocked(identifier: str) -> str:
    """A confirmed identifier (``phone:010...``): ``{"targets": {target: {"categories", "ts"}}}``."""
    return f"fbl:{identifier}"


def moderated(target_kind: str, target_id: str) -> str:
    """A target's latest decision: ``{"decision", "ts", "categories", "identifiers"}``."""
    return f"fmod:{target_kind}:{target_id}"
