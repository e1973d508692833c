"""The values the event contract enumerates, and its bound on ids, in a module of their own.

Standard library only and nothing else: the serving path (the marketplace's facts, the ad
campaigns) reads them on every one-shot call, and importing the whole contract with its
validator costs such a call about 20 ms. :mod:`bunjang_lab.events` uses them from here.
"""

MAX_EVENT_ID_CHARS = 128  # the longest user, item or event id
STATUSES = ("active", "reserved", "sold", "removed")
GENDERS = ("M", "F")
BILLINGS = ("cpc", "cpm", "hourly")  # per click, per thousand impressions, per reserved hour
CAMPAIGN_ACTIONS = ("pause", "resume", "stop")
TARGET_KINDS = ("listing", "chat", "user")  # what a report or a moderation decision is about
REPORT_REASONS = ("scam", "off_platform", "fake_item", "spam", "abusive", "other")
DECISIONS = ("confirmed", "cleared")  # fraud confirmed, or the target cleared (also on appeal)
