"""Search-suggestion matching at lookup time (standard library only; serving imports it).

Queries are folded (Unicode NFKC, case-folded, spaces removed) so ``Nike Air``, ``nike air``
and ``NIKEAIR`` are one suggestion. A typed prefix matches a query when

* its keystrokes start the query's keystrokes: every state a Korean input method shows on
  the way to 나이키 (``ㄴ``, ``나``, ``낭``, ``나이``, ``나잌``) matches it; or
* it is initial consonants only and starts the query's chosung: ``ㄴㅇㅋ`` matches 나이키; or
* it was typed in the wrong input mode of a 2-beolsik keyboard: ``dkdlvhs`` matches 아이폰
  and ``ㅜㅑㅏㄷ`` matches Nike (:func:`readings`); or, after every other match,
* one keystroke replaced, added or left out makes it a prefix (``아이펀`` -> 아이폰), from
  ``MIN_TYPO_KEYSTROKES`` keystrokes on.

Suggestions are ranked by time-decayed popularity, boosted by how well the query's
categories (what searchers of that query clicked next) fit the user's categories:
``score × weight × (1 + boost × affinity)``, affinity in [0, 1]. ``weight`` is 1 when the
folded query starts with the folded prefix as written, ``KEYSTROKE_WEIGHT`` when it only
matches keystroke by keystroke (``나`` is on the way to ``남자``, but usually a finished
syllable), ``CHOSUNG_WEIGHT`` for an abbreviation match (more ambiguous),
``KEYBOARD_WEIGHT`` for the other input mode and ``TYPO_WEIGHT`` within the typo matches. A prefix
ending in a space (``캐논 ``) no longer suggests the word already typed (``캐논``).

>>> entries = [entry("나이키", 10.0, {"신발": 1.0}), entry("나이키 덩크", 4.0, {"신발": 1.0}),
...            entry("노스페이스", 8.0, {"의류": 1.0}), entry("Nike Air", 3.0, {})]
>>> [s["query"] for s in match("낭", entries)]
['나이키', '나이키 덩크']
>>> [s["query"] for s in match("ㄴ", entries, {"의류": 1.0}, k=2)]
['노스페이스', '나이키']
>>> [s["query"] for s in match("ㄴㅇㅋ", entries)], [s["query"] for s in match("NIKE a", entries)]
(['나이키', '나이키 덩크'], ['Nike Air'])
>>> [s["query"] for s in match("나잌덩", entries)], [(s["query"], s["match"]) for s in match("ㅜㅑㅏㄷ", [entry("Nike Air", 3.0)])]
(['나이키 덩크'], [('Nike Air', 'keyboard')])
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Iterable, Mapping

from bunjang_lab.text.hangul import chosung, is_jamo, is_jamo_only, jamo_of_latin, keystrokes, latin_of_jamo

_COMPAT_JAMO = re.compile("[\u3131-\u318e]")
_BARE_VOWEL = re.compile("[\u314f-\u3163]")
DEFAULT_BOOST = 2.0
KEYSTROKE_WEIGHT = 0.5
CHOSUNG_WEIGHT = 0.8
KEYBOARD_WEIGHT = 0.8
TYPO_WEIGHT = 0.5
MIN_TYPO_KEYSTROKES = 5
"""Shorter prefixes are one keystroke away from nearly everything. The first keystroke is
never taken for a typo: it picks the bucket a lookup reads."""


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


def readings(prefix: str) -> list[tuple[str, str]]:
    """The keystrokes a typed prefix may mean: as typed (``"typed"``), and what the other
    input mode of a 2-beolsik keyboard would have typed (``"keyboard"``): Korean typed in
    English mode (``dkdlvhs`` -> 아이폰) or English typed in Korean mode (``ㅜㅑㅏㄷ`` -> nike).

    >>> readings("dkdlvhs"), readings("ㅜㅑㅏㄷ"), readings("아이")
    ([('dkdlvhs', 'typed'), ('ㅇㅏㅇㅣㅍㅗㄴ', 'keyboard')], [('ㅜㅑㅏㄷ', 'typed'), ('nike', 'keyboard')], [('ㅇㅏㅇㅣ', 'typed')])
    """
    folded = fold(prefix)
    out = [(keystrokes(folded), "typed")]
    english = latin_of_jamo(folded) if _BARE_VOWEL.search(folded) else ""  # Korean typing never leaves a bare vowel
    for other in (jamo_of_latin(unicodedata.normalize("NFKC", prefix)), english):
        if other and other != out[0][0]:
            out.append((other, "keyboard"))
    return out


def buckets(prefix: str) -> list[str]:
    """Every bucket a prefix can match in, as typed first (see :func:`readings`).

    >>> buckets("dkdlvhs"), buckets("나")
    (['d', 'ㅇ'], ['ㄴ'])
    """
    return list(dict.fromkeys(strokes[:1] for strokes, _ in readings(prefix) if strokes))


def near_prefix(typed: str, target: str) -> bool:
    """Whether one edit (a keystroke replaced, added or left out) makes ``typed`` a prefix of
    ``target``.

    >>> near_prefix("ㅇㅏㅇㅣㅍㅓㄴ", "ㅇㅏㅇㅣㅍㅗㄴ"), near_prefix("ㅇㅏㅇㅣㅍㅗ", "ㅇㅏㅇㅣㅍㅗㄴ"), near_prefix("ㄴㅏㅂㅣㅋ", "ㄴㅏㅇㅣㅋㅣ")
    (True, True, True)
    >>> near_prefix("ㄱㅏㅂㅏㅇ", "ㄱㅓㅂㅓㅇ"), near_prefix("nkie", "nike"), near_prefix("nie", "nike")
    (False, False, True)
    """
    for i, (a, b) in enumerate(zip(typed, target)):
        if a != b:
            rest = typed[i + 1:]
            return target.startswith(rest, i + 1) or target.startswith(rest, i) or target.startswith(typed[i:], i + 1)
    return len(typed) <= len(target) + 1


def match(
    prefix: str,
    entries: Iterable[Mapping],
    user_categories: Mapping[str, float] | None = None,
    k: int = 10,
    boost: float = DEFAULT_BOOST,
) -> list[dict]:
    """The top ``k`` suggestions among ``entries`` (the buckets of :func:`buckets`) for a
    typed ``prefix``.

    Each entry has ``query``, ``keystrokes``, ``chosung``, ``score`` and ``categories``
    (a mapping or its JSON text). Returns ``{"query", "score", "match"}`` dicts, best first,
    where match is ``"prefix"``, ``"keystrokes"``, ``"chosung"``, ``"keyboard"`` (the other
    input mode) or ``"typo"`` (one keystroke off). Typo matches come after every other match.
    """
    folded = fold(prefix)
    if not folded:
        return []
    ways = readings(prefix)
    typed = ways[0][0]
    abbreviation = is_jamo_only(folded)
    next_word = prefix[-1:].isspace()  # "캐논 ": the user is past 캐논, typing another word
    user_categories = user_categories or {}
    ranked = []
    for e in entries:
        if next_word and e["keystrokes"] == typed:
            continue
        found = _how(e, folded, ways, abbreviation)
        if found is None:
            continue
        how, weight = found
        fit = affinity(_categories(e["categories"]), user_categories) if user_categories else 0.0
        ranked.append((how == "typo", float(e["score"]) * weight * (1.0 + boost * fit), e["query"], how))
    ranked.sort(key=lambda r: (r[0], -r[1], len(r[2]), r[2]))
    return [{"query": q, "score": round(s, 6), "match": how} for _, s, q, how in ranked[:k]]


def _how(entry: Mapping, folded: str, ways: list[tuple[str, str]], abbreviation: bool) -> tuple[str, float] | None:
    """(how, weight) of the best way ``entry`` matches what was typed, None if it does not."""
    strokes = entry["keystrokes"]
    typed = ways[0][0]
    if strokes.startswith(typed):
        # 나 is a state on the way to 남자, but more often the finished syllable
        return ("prefix", 1.0) if fold(entry["query"]).startswith(folded) else ("keystrokes", KEYSTROKE_WEIGHT)
    if abbreviation and entry["chosung"].startswith(folded):
        return "chosung", CHOSUNG_WEIGHT
    if any(strokes.startswith(other) for other, _ in ways[1:]):
        return "keyboard", KEYBOARD_WEIGHT
    if any(len(way) >= MIN_TYPO_KEYSTROKES and way[0] == strokes[:1] and near_prefix(way, strokes) for way, _ in ways):
        return "typo", TYPO_WEIGHT
    return None
