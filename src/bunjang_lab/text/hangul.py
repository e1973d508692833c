"""Hangul decomposition for input-method-aware matching.

A Korean keyboard produces jamo one keystroke at a time, so while a user types 나이키
the box shows ``ㄴ``, ``나``, ``낭``, ``나이``, ``나잌``, ``나이키``. Comparing the
keystroke sequences (:func:`keystrokes`) makes each of those a prefix of the word.
Users also type initial consonants only (``ㄴㅇㅋ``), matched by :func:`chosung`.

>>> keystrokes("나이키")
'ㄴㅏㅇㅣㅋㅣ'
>>> keystrokes("낭").startswith("ㄴㅏㅇ") and keystrokes("나이키").startswith(keystrokes("낭"))
True
>>> chosung("나이키 에어포스")
'ㄴㅇㅋ ㅇㅇㅍㅅ'
>>> is_jamo_only("ㄴㅇㅋ"), is_jamo_only("나이키")
(True, False)
"""

from __future__ import annotations

_SYLLABLE_BASE, _SYLLABLE_LAST = 0xAC00, 0xD7A3
_CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_JONG = ["", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"]

# Compound jamo as the keys that type them on a 2-beolsik keyboard.
_KEYS = {
    "ㅘ": "ㅗㅏ", "ㅙ": "ㅗㅐ", "ㅚ": "ㅗㅣ", "ㅝ": "ㅜㅓ", "ㅞ": "ㅜㅔ", "ㅟ": "ㅜㅣ", "ㅢ": "ㅡㅣ",
    "ㄳ": "ㄱㅅ", "ㄵ": "ㄴㅈ", "ㄶ": "ㄴㅎ", "ㄺ": "ㄹㄱ", "ㄻ": "ㄹㅁ", "ㄼ": "ㄹㅂ", "ㄽ": "ㄹㅅ",
    "ㄾ": "ㄹㅌ", "ㄿ": "ㄹㅍ", "ㅀ": "ㄹㅎ", "ㅄ": "ㅂㅅ",
}


def is_syllable(ch: str) -> bool:
    return _SYLLABLE_BASE <= ord(ch) <= _SYLLABLE_LAST


def is_jamo(ch: str) -> bool:
    """A compatibility jamo letter (U+3131..U+318E), as keyboards type them."""
    return 0x3131 <= ord(ch) <= 0x318E


def is_jamo_only(text: str) -> bool:
    letters = [ch for ch in text if not ch.isspace()]
    return bool(letters) and all(is_jamo(ch) for ch in letters)


def decompose(ch: str) -> tuple[str, str, str]:
    """(initial, medial, final) compatibility jamo of one syllable; final may be ''.

    >>> decompose("닭")
    ('ㄷ', 'ㅏ', 'ㄺ')
    """
    index = ord(ch) - _SYLLABLE_BASE
    return _CHO[index // 588], _JUNG[(index % 588) // 28], _JONG[index % 28]


def compose(initial: str, medial: str, final: str = "") -> str:
    """The syllable of compatibility jamo (the inverse of :func:`decompose`).

    >>> compose("ㅋ", "ㅏ"), compose("ㄷ", "ㅏ", "ㄺ")
    ('카', '닭')
    """
    return chr(_SYLLABLE_BASE + _CHO.index(initial) * 588 + _JUNG.index(medial) * 28 + _JONG.index(final))


def keystrokes(text: str) -> str:
    """The jamo keystrokes that type ``text``; other characters pass through."""
    out = []
    for ch in text:
        parts = decompose(ch) if is_syllable(ch) else (ch,)
        out.extend(_KEYS.get(part, part) for part in parts)
    return "".join(out)


def chosung(text: str) -> str:
    """Initial consonant of each syllable; other characters pass through."""
    return "".join(_CHO[(ord(ch) - _SYLLABLE_BASE) // 588] if is_syllable(ch) else ch for ch in text)


# The 2-beolsik (두벌식) layout: the Latin key under each jamo; shifted keys type the tense
# consonants and ㅒ/ㅖ. Text typed with the wrong input mode comes out as the other column.
_LATIN_OF = dict(zip("ㅂㅈㄷㄱㅅㅛㅕㅑㅐㅔㅁㄴㅇㄹㅎㅗㅓㅏㅣㅋㅌㅊㅍㅠㅜㅡ", "qwertyuiopasdfghjklzxcvbnm"))
_LATIN_OF.update(zip("ㅃㅉㄸㄲㅆㅒㅖ", "QWERTOP"))
_JAMO_OF = {latin: jamo for jamo, latin in _LATIN_OF.items()}
_JAMO_OF.update({upper: _JAMO_OF[upper.lower()] for upper in "ASDFGHJKLZXCVBNMYUI"})


def jamo_of_latin(text: str) -> str:
    """The jamo keystrokes that Latin text types when the keyboard is in Korean mode: what
    the user meant when they forgot to switch to Korean; '' when ``text`` is not all letters.

    >>> jamo_of_latin("dkdlvhs"), jamo_of_latin("Rkqtm"), jamo_of_latin("nike 2")
    ('ㅇㅏㅇㅣㅍㅗㄴ', 'ㄲㅏㅂㅅㅡ', '')
    """
    letters = "".join(text.split())
    if not letters or not all(ch in _JAMO_OF for ch in letters):
        return ""
    return "".join(_JAMO_OF[ch] for ch in letters)


def latin_of_jamo(text: str) -> str:
    """The Latin letters a Korean-mode keyboard typed as ``text`` (syllables or jamo): what
    the user meant when they forgot to switch to English; '' when some key has no letter.

    >>> latin_of_jamo("ㅜㅑㅏㄷ"), latin_of_jamo("메ㅔㅣㄷ")
    ('nike', 'apple')
    """
    strokes = keystrokes("".join(text.split()))
    if not strokes or not all(ch in _LATIN_OF for ch in strokes):
        return ""
    return "".join(_LATIN_OF[ch] for ch in strokes).lower()
