"""The home feed's business-rule limits and default knobs (standard library only).

Shared by the batch feed (``products.feed``) and the real-time re-ranking of the serving
cache (``serving.events``), so a feed keeps the same rules after a click.
"""

HOME_SIZE = 50  # items in a user's home feed
SELLER_CAP = 3  # at most this many items of one seller in a feed
CATEGORY_CAP = 15  # at most this many items of one leaf category in a feed
FRESHNESS_WEIGHT = 0.3  # score boost of a listing posted now, halved every 48 hours
