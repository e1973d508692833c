"""Search-suggestion matching at lookup time (standard library only; serving imports it).

Queries are folded (Unicode NFKC, case-folded, spaces removed) so ``Nike Air``, ``nike air``
and ``NIKEAIR`` are one suggestion. A typed prefix matches a query when

* its keystrokes start the query's keystrokes: every state a Korean input method shows on
  the way to 나이키 (``ㄴ``, ``나``, ``낭``, ``나이``, ``나잌``) matches it; or
* it is initial consonants only and starts the query's chosung: ``ㄴㅇㅋ`` matches 나이키.

Suggestions are ranked by time-decayed popularity, boosted by how well the query's
categories (what searchers of that query clicked next) fit the user's categories:
``score × weight × (1 + boost × affinity)``, affinity in [0, 1]. ``weight`` is 1 when the
folded query starts with the folded prefix as written, ``KEYSTROKE_WEIGHT`` when it only
matches keystroke by keystroke (``나`` is on the way to ``남자``, but usually a finished
syllable) and ``CHOSUNG_WEIGHT`` for an abbreviation match (more ambiguous). A prefix
ending in a space (``캐논 ``) no longer suggests the word already typed (``캐논``).

>>> entries = [entry("나이키", 10.0, {"신발": 1.0}), entry("나이키 덩크", 4.0, {"신발": 1.0}),
...            entry("노스페이스", 8.0, {"의류": 1.0}), entry("Nike Air", 3.0, {})]
>>> [s["query"] for s in match("낭", entries)]
['나이키', '나이키 덩크']
>>> [s["query"] for s in match("ㄴ", entries, {"의류": 1.0}, k=2)]
['노스페이스', '나이키']
>>> [s["query"] for s in match("ㄴㅇㅋ", entries)], [s["query"] for s in match("NIKE a", entries)]
(['나이키', '나이키 덩크'], ['Nike Air'])
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Iterable, Mapping

from bunjang_lab.text.hangul import chosung, is_jamo, is_jamo_only, keystrokes

_COMPAT_JAMO = re.compile("[\u3131-\u318e]")
DEFAULT_BOOST = 2.0
KEYSTROKE_WEIGHT = 0.5
CHOSUNG_WEIGHT = 0.8


def fold(text: str) -> str:
    """The canonical form of a query: NFKC, case-folded, without spaces.

    Compatibility jamo (``ㄴ``, as keyboards type them) are kept: NFKC alone would turn
    them into conjoining jamo that no longer compare with decomposed syllables.

    >>> fold(" Nike  AIR  ｍａｘ "), fold("ㄴㅇㅋ")
    ('nikeairmax', 'ㄴㅇㅋ')
    """
    if _COMPAT_JAMO.search(text):
        composed = unicodedata.normalize("NFC", text)
        text = "".join(ch if is_jamo(ch) else unicodedata.normalize("NFKC", ch) for ch in composed)
    else:
        text = unicodedata.normalize("NFKC", text)
    return "".join(text.casefold().split())


def keys(query: str) -> dict:
    """The lookup keys stored with a suggestion (columns of suggest.parquet).

    ``query`` is the display form (spaces normalised); the keys come from the folded form.

    >>> keys(" 나이키  덩크")
    {'query': '나이키 덩크', 'bucket': 'ㄴ', 'keystrokes': 'ㄴㅏㅇㅣㅋㅣㄷㅓㅇㅋㅡ', 'chosung': 'ㄴㅇㅋㄷㅋ'}
    """
    folded = fold(query)
    strokes = keystrokes(folded)
    return {"query": " ".join(query.split()), "bucket": strokes[:1], "keystrokes": strokes, "chosung": chosung(folded)}


def bucket(prefix: str) -> str:
    """The bucket holding every query a prefix can match (its first keystroke), '' if empty.

    >>> bucket("낭"), bucket("ㄴㅇㅋ"), bucket(" Ni")
    ('ㄴ', 'ㄴ', 'n')
    """
    return keystrokes(fold(prefix))[:1]


def entry(query: str, score: float, categories: Mapping[str, float] | None = None) -> dict:
    """A suggestion entry as stored in a bucket (handy for tests and doctests)."""
    return {**keys(query), "score": float(score), "categories": dict(categories or {})}


def affinity(query_categories: Mapping[str, float], user_categories: Mapping[str, float]) -> float:
    """Overlap in [0, 1] of two category distributions (each normalised to sum 1).

    >>> affinity({"신발": 3, "의류": 1}, {"신발": 1})
    0.75
    """
    q_total = sum(query_categories.values())
    u_total = sum(user_categories.values())
    if q_total <= 0 or u_total <= 0:
        return 0.0
    return sum(w * user_categories.get(c, 0.0) for c, w in query_categories.items()) / (q_total * u_total)


def _categories(value) -> Mapping[str, float]:
    if isinstance(value, str):  # as stored in Parquet / the cache
        return json.loads(value) if value else {}
    return value or {}


def match(
    prefix: str,
    entries: Iterable[Mapping],
    user_categories: Mapping[str, float] | None = None,
    k: int = 10,
    boost: float = DEFAULT_BOOST,
) -> list[dict]:
    """The top ``k`` suggestions among ``entries`` (one bucket) for a typed ``prefix``.

    Each entry has ``query``, ``keystrokes``, ``chosung``, ``score`` and ``categories``
    (a mapping or its JSON text). Returns ``{"query", "score", "match"}`` dicts, best first,
    where match is ``"prefix"``, ``"keystrokes"`` or ``"chosung"``.
    """
    folded = fold(prefix)
    if not folded:
        return []
    typed = keystrokes(folded)
    abbreviation = is_jamo_only(folded)
    next_word = prefix[-1:].isspace()  # "캐논 ": the user is past 캐논, typing another word
    user_categories = user_categories or {}
    ranked = []
    for e in entries:
        if next_word and e["keystrokes"] == typed:
            continue
        if e["keystrokes"].startswith(typed):
            # 나 is a state on the way to 남자, but more often the finished syllable
            how, weight = ("prefix", 1.0) if fold(e["query"]).startswith(folded) else ("keystrokes", KEYSTROKE_WEIGHT)
        elif abbreviation and e["chosung"].startswith(folded):
            how, weight = "chosung", CHOSUNG_WEIGHT
        else:
            continue
        fit = affinity(_categories(e["categories"]), user_categories) if user_categories else 0.0
        ranked.append((float(e["score"]) * weight * (1.0 + boost * fit), e["query"], how))
    ranked.sort(key=lambda r: (-r[0], len(r[1]), r[1]))
    return [{"query": q, "score": round(s, 6), "match": how} for s, q, how in ranked[:k]]
