"""The marketplace as the events describe it: the one place its facts are derived.

Standard library only here and in :mod:`~bunjang_lab.marketplace.segments`, because the
serving path imports them on every call; the tables (listings with their status, user
profiles, weighted interactions) are built by :mod:`~bunjang_lab.marketplace.state`.

>>> sorted(INTERACTION_WEIGHTS, key=INTERACTION_WEIGHTS.get)
['click', 'favorite', 'chat', 'purchase']
>>> UNAVAILABLE, ENDED
(('reserved', 'sold', 'removed'), ('sold', 'removed'))
"""

from bunjang_lab.event_values import STATUSES

# Positive interactions and how much each says about a taste; impressions say nothing on
# their own. The ranker's training rows and real-time states use the same weights.
INTERACTION_WEIGHTS = {"click": 1.0, "favorite": 2.0, "chat": 3.0, "purchase": 4.0}
INTERACTION_TYPES = tuple(INTERACTION_WEIGHTS)

ACTIVE = STATUSES[0]
# A listing in one of these statuses cannot be bought now; "reserved" may become active
# again, the ended ones never do (a purchase ends a listing too).
UNAVAILABLE = tuple(s for s in STATUSES if s != ACTIVE)
ENDED = ("sold", "removed")
SOLD = "sold"
