"""Undo the tricks scammers use to slip contact details past filters (standard library only).

:func:`normalise` returns a :class:`Normalised`: the cleaned text plus, for every one
of its characters, the span of the original text it came from, so a rule that fires on
the cleaned text can quote what the user actually wrote.

Steps, in order (each one a regular expression or a translation table, so the whole
thing runs in linear time):

1. Unicode compatibility forms (NFKC): full-width letters and digits, circled digits.
2. Lower case; invisible characters (zero width, bidi controls, Hangul fillers) removed.
3. Look-alike Cyrillic and Greek letters mapped to the Latin letters they imitate.
4. Defanged links and addresses re-armed: ``hxxp``, ``[.]``, ``(dot)``, ``[at]``, ``골뱅이``.
5. Spaced-out single characters joined: ``카 카 오 톡``, ``카.톡``, ``0 1 0 - 1 2 3``.
6. Jamo abbreviations and misspellings of messenger names: ``ㅋㅌ``, ``까톡``, ``텔레그렘``.
7. Hangul numerals where they stand for digits (runs of at least eight):
   ``공일공 일이삼사 오육칠팔`` becomes ``010 1234 5678``.

>>> n = normalise("카.톡 ＡＢ１２３")
>>> n.text
'카톡 ab123'
>>> n.source(0, 2)
'카.톡'
>>> normalise("공일공 일이삼사 오육칠팔").text
'010 1234 5678'
>>> normalise("hxxps://bunjang[.]co[.]kr").text
'https://bunjang.co.kr'
>>> normalise("ㅋㅋㅇㅌ 주세요").text
'카카오톡 주세요'
>>> domain_skeleton("b0njang-pay.c0m") == domain_skeleton("bonjangpay.com")
True
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Callable, Iterable

# Characters that separate the letters or digits of an obfuscated word.
SEPARATORS = " \t.-_·•∙‧・ㅡ─―—–~*/|,'\"`^+=:;"
SEP = f"[{re.escape(SEPARATORS)}]"

_INVISIBLE_CHARS = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff"
)
_INVISIBLE = re.compile(f"[{_INVISIBLE_CHARS}]+")

# Cyrillic and Greek letters that render like Latin ones (lower case, after NFKC).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ɡ": "g", "ɩ": "i", "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k",
    "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w",
})

_CONFUSABLE_BLOCKS = "\u0250-\u052f"
_CONFUSABLE_HINT = re.compile(f"[{_CONFUSABLE_BLOCKS}]")
_INVISIBLE_OR_CONFUSABLE = re.compile(f"[{_INVISIBLE_CHARS}{_CONFUSABLE_BLOCKS}]")  # one scan for both rare cases
_DEFANG_HINT = re.compile(r"\[|\(|\{|골뱅이|hxxp|h\*\*p")  # literals, not a class: see _ALIAS_HINT
_DEFANG = re.compile(
    r"h(?:xx|\*\*|tt)p(s?)(?:\[:\]|\(:\)|:)?(?=/)"   # hxxp://, hxxp[:]//
    r"|\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}|\[점\]|\(점\)"
    r"|\[at\]|\(at\)|\{at\}|\[@\]|\(@\)|\s?골뱅이\s?"
    r"|\[/\]|\[:\]"
)

# A run of single letters or digits, each set apart by 1-3 separators ("카 카 오 톡").
# Explicit classes rather than \w: they are much faster to test in CPython's engine.
_WORD = "0-9a-z가-힣ㄱ-ㅠㅢ-ㆎ"  # not ㅡ: typed as a dash between digits (010ㅡ1234)
_SPACED = re.compile(rf"(?<![{_WORD}])[{_WORD}](?:{SEP}{{1,3}}[{_WORD}](?![{_WORD}]))+")
_SEP_CHARS = re.compile(f"{SEP}+")
_SEP_CHAR = re.compile(SEP)

_JAMO = "ㄱ-ㆎ"
_ALIASES = {
    # jamo abbreviations, only as a whole run of jamo (so "ㅋㅋㅋ" laughter stays)
    "ㅋㅌ": "카톡", "ㅋㅋㅇㅌ": "카카오톡", "ㅋㅋㅇ": "카카오", "ㅋㅇㅌ": "카카오톡",
    "ㅌㄹ": "텔레그램", "ㅌㄹㄱㄹ": "텔레그램", "ㅌㄹㄱㄹㅁ": "텔레그램",
}
_MISSPELLINGS = {
    "까톡": "카톡", "카톸": "카톡", "캌톡": "카톡", "까똑": "카톡", "카똑": "카톡", "깨톡": "카톡",
    "카록": "카톡", "캬톡": "카톡", "카카오똑": "카카오톡", "까까오톡": "카카오톡", "카까오톡": "카카오톡",
    "카카오톸": "카카오톡", "카카오떡": "카카오톡",
    "텔레그렘": "텔레그램", "텔래그램": "텔레그램", "텔레그람": "텔레그램", "텔레구람": "텔레그램",
    "털레그램": "텔레그램", "텔그": "텔레그램", "탤레그램": "텔레그램", "뗄레그램": "텔레그램",
}
# Plain alternation of the words: CPython skips ahead to their first letters, so testing
# for any of them costs a fifth of one substring test per word, and far less than the
# expression below (its look-behind is tried at every position).
_ALIAS_HINT = re.compile("|".join(map(re.escape, (*_ALIASES, *_MISSPELLINGS))))
_ALIAS_RE = re.compile(
    f"(?<![{_JAMO}])(?:{'|'.join(sorted(_ALIASES, key=len, reverse=True))})(?![{_JAMO}])"
    f"|{'|'.join(sorted(_MISSPELLINGS, key=len, reverse=True))}"
)

_NUMERALS = {
    "공": "0", "영": "0", "빵": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5",
    "육": "6", "륙": "6", "칠": "7", "팔": "8", "구": "9",
    "하나": "1", "둘": "2", "셋": "3", "넷": "4", "다섯": "5", "여섯": "6", "일곱": "7",
    "여덟": "8", "아홉": "9",
}
MIN_NUMERAL_RUN = 8  # a phone or account number; shorter runs are ordinary words (이사, 오일)
MIN_HANGUL_NUMERALS = 3  # "2024-01-15 이후": one numeral-like syllable beside digits is a word
_NUMERAL_TOKEN = "(?:하나|다섯|여섯|일곱|여덟|아홉|[공영빵일이삼사오육륙칠팔구둘셋넷0-9])"
# Only runs long enough to be a number reach Python (numeral syllables are common in words).
_NUMERAL_RUN = re.compile(f"{_NUMERAL_TOKEN}(?:{SEP}{{0,3}}{_NUMERAL_TOKEN}){{{MIN_NUMERAL_RUN - 1},}}")
_NUMERAL_TOKENS = re.compile(_NUMERAL_TOKEN)


class Normalised:
    """Normalised text and, per character, the span of the original it came from.

    The map is built only when asked for (:meth:`span`): most texts fire no rule and
    never need it, so :func:`normalise` first runs without tracking positions.
    """

    __slots__ = ("original", "text", "_starts", "_ends", "_tracked")

    def __init__(self, original: str, text: str):
        self.original = original
        self.text = text
        self._tracked = False
        self._starts: list[int] | None = None
        self._ends: list[int] | None = None

    def _map(self) -> None:
        if not self._tracked:
            builder = _run(self.original, _Builder(self.original, track=True))
            self._starts, self._ends, self._tracked = builder.starts, builder.ends, True

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span behind ``text[start:end]`` (``end > start``)."""
        self._map()
        if self._starts is None:  # nothing moved: positions are the same
            return start, end
        return self._starts[start], self._ends[end - 1]

    def source(self, start: int, end: int) -> str:
        """The original characters behind ``text[start:end]``."""
        a, b = self.span(start, end)
        return self.original[a:b]

    def __repr__(self) -> str:
        return f"Normalised({self.text!r})"


class _Builder:
    """Text being rewritten; with ``track``, also the original span of each character."""

    def __init__(self, text: str, track: bool = False):
        self.text = text
        self.track = track
        self.starts: list[int] | None = None
        self.ends: list[int] | None = None

    def _positions(self) -> tuple[list[int], list[int]]:
        if self.starts is None:
            self.starts = list(range(len(self.text)))
            self.ends = list(range(1, len(self.text) + 1))
        return self.starts, self.ends

    def rewrite(self, pattern: re.Pattern, replace: Callable[[re.Match], str | None]) -> None:
        """Replace every match of ``pattern`` by ``replace(match)`` (None keeps it)."""
        if not self.track:
            self.text = pattern.sub(lambda m: _keep_if_none(replace(m), m), self.text)
            return
        self.splice((*match.span(), replace(match)) for match in pattern.finditer(self.text))

    def splice(self, edits: Iterable[tuple[int, int, str | None]]) -> None:
        """Replace ``text[a:b]`` by ``new`` for each ``(a, b, new)`` (in order, disjoint;
        None keeps it), carrying the original spans along."""
        text = self.text
        pieces: list[str] = []
        new_starts: list[int] = []
        new_ends: list[int] = []
        last = 0
        for a, b, new in edits:
            if new is None or new == text[a:b] or a == b:
                continue
            starts, ends = self._positions()
            pieces.append(text[last:a])
            new_starts += starts[last:a]
            new_ends += ends[last:a]
            pieces.append(new)
            if len(new) == b - a:
                new_starts += starts[a:b]
                new_ends += ends[a:b]
            else:  # every new character stands for the whole replaced span
                new_starts += [starts[a]] * len(new)
                new_ends += [ends[b - 1]] * len(new)
            last = b
        if not pieces:
            return
        starts, ends = self._positions()
        pieces.append(text[last:])
        self.text = "".join(pieces)
        self.starts = new_starts + starts[last:]
        self.ends = new_ends + ends[last:]

    def per_char(self, convert: Callable[[str], str]) -> None:
        """Apply a per-character conversion that may change lengths."""
        self.rewrite(_ANY_CHAR, lambda m: convert(m.group()))



def _keep_if_none(new: str | None, match: re.Match) -> str:
    return match.group() if new is None else new


_ANY_CHAR = re.compile(".", re.DOTALL)


@lru_cache(maxsize=4096)
def _nfkc_lower(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).lower()


_KEYBOARD_JAMO = re.compile("[\u3131-\u318e]+")
# Blocks holding characters NFKC changes (full-width forms, circled and styled letters...).
_COMPAT_BLOCKS = ((0x00A0, 0x33FF), (0xA640, 0xA69F), (0xF900, 0xFFEF), (0x1D400, 0x1D7FF), (0x1F100, 0x1F2FF))


@lru_cache(maxsize=1)
def _unstable() -> re.Pattern:
    """The characters NFKC changes, except keyboard jamo (NFKC would turn ㅋ into a
    conjoining jamo). Built on first use: most texts are already NFKC-normalised."""
    codes = [c for lo, hi in _COMPAT_BLOCKS for c in range(lo, hi + 1)
             if not 0x3131 <= c <= 0x318E and unicodedata.normalize("NFKC", chr(c)) != chr(c)]
    ranges: list[list[int]] = []
    for c in codes:  # as ranges: a class of single characters would be slow to test
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return re.compile("[" + "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "")
                                    for a, b in ranges) + "]")


def _join_spaced(match: re.Match) -> str | None:
    joined = _SEP_CHARS.sub("", match.group())
    if joined.isdigit() and len(joined) < 4:  # "1.5", "192.168.0.1": decimals and addresses stay
        return None
    return joined


def _alias(match: re.Match) -> str:
    word = match.group()
    return _ALIASES.get(word) or _MISSPELLINGS[word]


def _numerals(match: re.Match) -> str | None:
    run = match.group()
    if run.isascii():  # digits only (a phone number written plainly): nothing to convert
        return None
    tokens = list(_NUMERAL_TOKENS.finditer(run))
    keep = ""
    if tokens and "가" <= match.string[match.end():match.end() + 1] <= "힣":
        # the last "numeral" starts a word ("2024-01-15 구매"): leave it as written
        keep, run, tokens = run[tokens[-1].start():], run[:tokens[-1].start()], tokens[:-1]
    hangul = sum(not t.group().isdigit() for t in tokens)
    if len(tokens) < MIN_NUMERAL_RUN or hangul < MIN_HANGUL_NUMERALS:
        return None
    return _NUMERAL_TOKENS.sub(lambda m: _NUMERALS.get(m.group(), m.group()), run) + keep


def _defang(match: re.Match) -> str:
    token = match.group()
    if token.startswith("h"):
        return f"http{match.group(1)}:" if ":" in token or "[" in token or "(" in token else f"http{match.group(1)}"
    if "골뱅이" in token or "at" in token or "@" in token:
        return "@"
    if "/" in token:
        return "/"
    if ":" in token:
        return ":"
    return "."


def normalise(text: str) -> Normalised:
    """Clean ``text`` for the rules, keeping a map back to the original characters."""
    return Normalised(text, _run(text, _Builder(text)).text)


def _run(text: str, builder: _Builder) -> _Builder:
    """The normalisation steps, in order, on ``builder``."""
    if not (text.isascii() or unicodedata.is_normalized("NFKC", text)
            or unicodedata.is_normalized("NFKC", _KEYBOARD_JAMO.sub("", text))):  # ㅋㅋ, ㅠ: kept as typed
        builder.rewrite(_unstable(), lambda m: _nfkc_lower(m.group()))
    lowered = builder.text.lower()
    if len(lowered) == len(builder.text):
        builder.text = lowered
    else:  # a few characters (İ) lower to two; keep the positions right
        builder.per_char(str.lower)
    ascii_only = builder.text.isascii()
    # Each step below first checks cheaply whether it can apply: most texts need few of them.
    # Every invisible and look-alike character is outside ASCII.
    if not ascii_only and _INVISIBLE_OR_CONFUSABLE.search(builder.text):
        builder.rewrite(_INVISIBLE, lambda m: "")
        if _CONFUSABLE_HINT.search(builder.text):
            builder.text = builder.text.translate(_CONFUSABLES)
    if _DEFANG_HINT.search(builder.text):
        builder.rewrite(_DEFANG, _defang)
    if builder.track:  # delete the separators only, so each joined character keeps its own position
        text = builder.text
        builder.splice((*sep.span(), "") for run in _SPACED.finditer(text) if _join_spaced(run) is not None
                       for sep in _SEP_CHAR.finditer(text, *run.span()))
    else:
        builder.rewrite(_SPACED, _join_spaced)
    if not ascii_only:
        if _ALIAS_HINT.search(builder.text):
            builder.rewrite(_ALIAS_RE, _alias)
        builder.rewrite(_NUMERAL_RUN, _numerals)
    return builder


_LEET = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "3": "e", "4": "a", "@": "a",
                       "5": "s", "$": "s", "7": "t", "8": "b", "9": "g", "-": None, "_": None})


def domain_skeleton(host: str) -> str:
    """A host name with leetspeak and look-alike letters folded (``b0njang`` ~ ``bonjang``).

    >>> domain_skeleton("paypa1.com") == domain_skeleton("paypal.com")
    True
    """
    folded = host.lower().translate(_CONFUSABLES).translate(_LEET)
    return folded.replace("rn", "m").replace("vv", "w")
