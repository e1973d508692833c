"""Why an item is shown: the short reasons stored beside recommended ids (standard library
only; serving words the popular lists' reasons at lookup time).

Each generator of a list says what proposed an item; the wording lives here, in one place.

>>> popular_with("F|20s"), popular_with("M|50+"), popular_with("unknown|30s"), popular_with("all")
('popular with women in their 20s', 'popular with men aged 50+', 'popular with people in their 30s', 'popular right now')
>>> viewed("루이비통 카드지갑"), new_in("패션의류>니트"), same_category("패션의류>니트")
('because you viewed 루이비통 카드지갑', 'new in 니트', 'also in 니트')
"""

from __future__ import annotations

from bunjang_lab.marketplace import segments

CO_VIEWED = "viewed together with this"
SIMILAR_TITLE = "similar title"
FOR_YOU = "picked for you"
"""A personal item whose generator is not known (a cache published before reasons existed)."""

_PEOPLE = {"M": "men", "F": "women"}
_SEPARATOR = ">"


def leaf(category: str) -> str:
    """The last part of a category path.

    >>> leaf("패션의류>니트"), leaf("신발")
    ('니트', '신발')
    """
    return str(category).rsplit(_SEPARATOR, 1)[-1]


def segment_phrase(segment: str) -> str:
    """Who a segment is, in words (``"F|20s"`` -> ``"women in their 20s"``); '' for everyone.

    >>> segment_phrase("F|unknown"), segment_phrase("unknown|unknown")
    ('women', '')
    """
    gender, _, band = str(segment).partition("|")
    people = _PEOPLE.get(gender, "people")
    if band == segments.KNOWN_AGE_BANDS[-1]:
        return f"{people} aged {band}"
    if band in segments.KNOWN_AGE_BANDS:
        return f"{people} in their {band}"
    return people if gender in _PEOPLE else ""


def popular_with(segment: str) -> str:
    phrase = segment_phrase(segment)
    return f"popular with {phrase}" if phrase else "popular right now"


def viewed(title: str) -> str:
    return f"because you viewed {title}" if str(title).strip() else "because of what you viewed"


def new_in(category: str) -> str:
    return f"new in {leaf(category)}"


def same_category(category: str) -> str:
    return f"also in {leaf(category)}"
