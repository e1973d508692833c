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


def flag(item_id: str) -> str:
    return f"flag:{item_id}"


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
    return f"gone:{item_id}"
