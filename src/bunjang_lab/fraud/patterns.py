"""Regular expressions shared by the rules and the masker, over normalised text.

Every pattern is linear-time: quantifiers are bounded or run over character classes that
cannot overlap with what follows them, so 200,000 characters of adversarial input cost
no more than 200,000 ordinary ones.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from bunjang_lab.text import regex_cache


class LazyPattern:
    """A regular expression compiled when first used, with the methods of ``re.Pattern``.

    ``score text`` answers one text in a fresh process, and most expressions never run on
    it: compiling all of them up front cost more than the scoring itself (0.2 s). Those it
    runs come from :mod:`bunjang_lab.text.regex_cache`, compiled once per interpreter.
    """

    def __init__(self, source: str):
        self.pattern = source

    def __getattr__(self, name: str):  # only until the compiled methods are in place
        compiled = regex_cache.compile(self.pattern)
        for method in ("search", "match", "fullmatch", "finditer", "findall", "sub"):
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


def lazy(source: str) -> LazyPattern:
    return LazyPattern(source)

# Separators allowed inside a written number ("010-1234-5678", "010 1234 5678", "(02)123.4567").
_NUMBER_SEP = r"[ \n\t\-.ㅡ─―—–~/)(\][}{+*_=|^'·#]"


def digit_runs(min_digits: int) -> LazyPattern:
    """Written numbers (digits joined by up to three separators) of at least ``min_digits``
    digits, each matched whole; shorter ones (prices, sizes, times) never leave the engine.

    >>> [m.group() for m in digit_runs(7).finditer("29,000원 010-1234-5678, 10시")]
    ['010-1234-5678']

    ASCII digits: the normaliser has folded every other (and ``[0-9]`` is tested faster than ``\\d``).
    """
    return lazy(rf"[0-9](?:{_NUMBER_SEP}{{0,3}}[0-9]){{{min_digits - 1},}}")


# Top-level domains a bare link may end in (with a scheme or www., any ends one).
TLDS = (
    "com|net|org|kr|me|ly|io|biz|info|uk|xyz|top|site|online|shop|app|link|click|cc|tk|ml|ga|cf|gq|ru|"
    "cn|gl|do|la|vn|us|in|asia|store|live|club|pw|ws|tv|co|jp|de|fr|im|gy|id|at|be|eu|ph|to|mobi|win|"
    "loan|vip|fun|icu|buzz|cyou|rest|bar|lol|work|today|page|dev|ai|sh|st|su|cx|one|pro|pay|bank|help|"
    "download|support|website|space|cloud|tech|center|gle|"
    # newer endings cheap to register and common in phishing ("lotte-glogis.cfd"); not those that are English
    # words after a sentence's dot with its space left out ("...sambar.life"), nor file extensions (.zip, .mov)
    "cfd|sbs|bond|autos|makeup|quest|beauty|monster|bid|racing|cam|surf|lat|yachts|kim|agency|"
    # country endings a link page and a shortener live on ("linktr.ee", "is.gd")
    "ee|gd"
)

DIGIT_GROUP = lazy("[0-9]+")
LATIN_LETTER = lazy("[a-z]")  # every handle (HANDLE, AT_HANDLE) holds one; most Korean chat none
DATE = lazy(r"(?:19|20)\d{2}[-./ ]{1,2}\d{1,2}[-./ ]{1,2}\d{1,2}")  # 2024-01-15: not personal data


def literal_first(words: tuple[str, ...], rest: str) -> str:
    """``(?:word|…)rest`` spelled with one branch per first letter, ``w(?:ord|…)rest|…``.

    When every branch of an expression starts with a literal, CPython's engine jumps
    between those first letters instead of trying each position of the text (several
    times faster over chat), for the same matches in the same order. Words therefore
    put any look-behind after themselves (``라인(?<!온라인)``, not ``(?<!온)라인``), and start
    with a letter, a digit or a space. Words sharing their first letter share one copy of
    ``rest`` (each copy costs every process that compiles it); branches of different first
    letters never match at the same place, so only the order within a letter matters, and
    it is kept.

    >>> literal_first(("카톡", "kakao", "카카오"), "!")
    '카(?:톡|카오)!|k(?:akao)!'
    """
    return "|".join(_literal_first_branches(words, rest))


def _literal_first_branches(words: tuple[str, ...], rest: str) -> list[str]:
    tails: dict[str, list[str]] = {}
    for word in words:
        if not (word[0].isalnum() or word[0] == " ") or word[1:2] in ("?", "*", "+", "{"):
            raise ValueError(f"{word!r} does not start with a letter of its own")
        tails.setdefault(word[0], []).append(word[1:])
    return [f"{letter}(?:{'|'.join(rests)}){rest}" for letter, rests in tails.items()]


def words_then(words: tuple[str, ...], rest: str) -> str:
    """``(?:word|…)rest``, for an expression that is this alone (or a branch of an
    :class:`Alternation`): the engine still jumps between the words' first letters, as
    with :func:`literal_first`, and ``rest`` is compiled once instead of once per word.
    Every ``score text`` process compiles the expressions its text wakes, and a class
    holding the Hangul syllables costs a third of a millisecond each time it is written."""
    return f"(?:{'|'.join(words)}){rest}"


class Alternation:
    """``literal_first(words, rest)|…`` over several families of words, each with its own
    rest, with the matches of that whole expression (``finditer``), compiled family by
    family, each only once a text holds what its matches start with.

    One expression must spell every family :func:`literal_first` to stay fast, writing each
    rest once per first letter of its words (the prepayment request, once per word, took 18 ms
    to compile in every ``score text`` process that woke it). Here one scan finds where a family could match: one of its
    words followed by its ``lead``, the rest itself unless the family gives a cheaper
    condition that every match of the rest meets (the rest without its classes of Hangul
    syllables: the scan repeats the lead per first letter). At each place found, the
    families with a word starting with the letter there, spelled :func:`words_then`, are
    tried in order, and the first that matches is the match, as in the whole expression.

    >>> pay = Alternation((("입금", "송금"), " ?먼저"), (("먼저",), "[은는]? ?돈", ".{0,2}돈"))
    >>> [m.group() for m in pay.finditer("먼저는 돈 주시면 입금 먼저")]
    ['먼저는 돈', '입금 먼저']
    """

    def __init__(self, *families: tuple[str, ...]):
        """Each family is ``(words, rest)`` or ``(words, rest, lead)``."""
        self.pattern = "|".join(literal_first(words, rest) for words, rest, *_ in families)
        self._scan = lazy(grouped_by_first_letter(branch for words, rest, *lead in families
                                                  for branch in _literal_first_branches(words, lead[0] if lead else rest)))
        self._by_letter: dict[str, list[LazyPattern]] = {}
        for words, rest, *_ in families:
            family = lazy(words_then(words, rest))
            for letter in dict.fromkeys(word[0] for word in words):
                self._by_letter.setdefault(letter, []).append(family)

    def finditer(self, text: str, pos: int = 0) -> Iterator[re.Match]:
        search = self._scan.search
        while (found := search(text, pos)) is not None:
            at = found.start()
            for family in self._by_letter[text[at]]:
                match = family.match(text, at)
                if match is not None:
                    yield match
                    pos = match.end()
                    break
            else:
                pos = at + 1


def literal_first_grouped(words: list[str]) -> str:
    """Plain ``words`` (longest first) as one alternation with a branch per first letter:
    at each position the engine tries one branch per letter, not one per word.

    >>> literal_first_grouped(["오픈", "오늘", "급"])
    '오(?:픈|늘)|급(?:)'
    """
    return grouped_by_first_letter(map(re.escape, words))


_SPECIAL_FIRST = frozenset(".^$*+?{}[]|()")


def grouped_by_first_letter(branches: Iterable[str]) -> str:
    r"""Alternatives that each start with a literal character (perhaps escaped: ``\[``) as one
    alternation with a branch per first character, ``a(?:x|y)|b(?:z)``. CPython's engine
    tries an alternation's branches one after another at every place a first character
    occurs: with a hundred branches, one per character is a third faster over chat. Branches
    of different first characters never match at the same place and the order within a
    character is kept, so the matches are the same.

    >>> grouped_by_first_letter(["ab", r"\[x", "ac?", r"\[y"])
    'a(?:b|c?)|\\[(?:x|y)'
    """
    groups: dict[str, list[str]] = {}
    for branch in branches:
        size = 2 if branch.startswith("\\") else 1
        first = branch[:size]
        if (first in _SPECIAL_FIRST or (size == 2 and first[1].isalnum())
                or branch[size:size + 1] in ("?", "*", "+", "{")):
            raise ValueError(f"{branch!r} does not start with a literal character of its own")
        groups.setdefault(first, []).append(branch[size:])
    return "|".join(f"{first}(?:{'|'.join(rests)})" for first, rests in groups.items())


def _any(words: tuple[str, ...]) -> str:
    return f"(?:{'|'.join(words)})"


# Messenger names, after normalisation (misspellings and jamo abbreviations already folded).
KAKAO_WORDS = ("카카오 ?톡", "카톡", "kakao ?talk", "katalk", "ka톡", "kakao", "카카오", "플친", "플러스친구")  # (플친: a Kakao channel)
TELEGRAM_WORDS = ("텔레 ?그램", "telegram", r"텔레(?=\W{0,3}(?:아이디|아디|아뒤|id|@|문의|연락|dm|디엠))", r"tg(?<![a-z]tg)(?=\W{0,3}(?:id|@))")
LINE_WORDS = ("라인(?<!온라인)", "line(?<![a-z]line)")
WECHAT_WORDS = ("위챗", "wechat", "weixin", "微信")
WHATSAPP_WORDS = ("왓츠앱", "whatsapp", "whats app")
ID_MARKER_WORDS = ("아이디", "아디", "아뒤", "계정", "id(?<![a-z]id)(?![a-z])")  # not the "id" of "did", "idea"
KAKAO, WECHAT, WHATSAPP, ID_MARKER = map(_any, (KAKAO_WORDS, WECHAT_WORDS, WHATSAPP_WORDS, ID_MARKER_WORDS))
# Words before an ID to add or to write to, on a messenger the rules do not name.
FRIEND_WORDS = ("친추", "친구 ?추가", *ID_MARKER_WORDS, "인스타", "insta(?<![a-z]insta)", "디엠", "dm(?<![a-z]dm)(?=[ :])",
                "페북", "facebook", "디스코드", "디코", "discord")
# Messengers and social apps without a rule of their own, where lures also move a chat: a
# request to continue there is a lure like one for KakaoTalk. Ambiguous names only in their
# unambiguous forms ("네이버 밴드", not a watch band; "signal" after "on", not a phone's signal).
OTHER_MESSENGER_WORDS = ("시그널", "바이버", "viber", "디스코드", "디코(?![더딩])", "discord", "페메", "페이스북 ?메신저",
                         "facebook ?messenger", "스냅챗", "snapchat", "스카이프", "skype", "네이버 ?밴드", "밴드방",
                         "네이버 ?톡톡", "위쳇", "잘로", "zalo", "qq(?<![a-z]qq)(?![a-z])",
                         "틱톡", "tiktok", "트위치", "twitch")
MESSENGER_WORDS = (*KAKAO_WORDS, *TELEGRAM_WORDS, *LINE_WORDS, *WECHAT_WORDS, *WHATSAPP_WORDS)

# A messenger handle: Latin letters/digits with a few symbols, at least one letter.
HANDLE = r"(?<![0-9a-z_.@])@?(?=[0-9._\-]{0,19}[a-z])[a-z0-9][a-z0-9_.\-]{2,19}(?![0-9a-z_@])"
# Latin words that follow a messenger name but are not handles.
NOT_HANDLES = frozenset({
    "id", "kakao", "talk", "katalk", "line", "open", "chat", "openchat", "please", "pls", "plz",
    "ok", "okay", "only", "contact", "add", "me", "pay", "friends", "friend", "telegram", "wechat",
    "whatsapp", "message", "msg", "dm", "call", "text", "number", "app", "the", "and", "for",
})
# A handle after a messenger's name or an ID marker (the group). Grouped rather than
# literal_first: the masker runs it only on texts where a rule fired, and one branch per
# word would take 50 ms to compile.
HANDLE_AFTER = lazy(
    f"(?:{'|'.join((*MESSENGER_WORDS, *FRIEND_WORDS, *OTHER_MESSENGER_WORDS))})"
    rf"[^0-9a-z가-힣]{{0,3}}(?:{ID_MARKER}|으로|로|은|는)?[^0-9a-z가-힣]{{0,3}}({HANDLE})"
)
# A handle right before a messenger's name or a request to add it ("ab1234 로 카톡", "gomdori_88 친추").
HANDLE_BEFORE = lazy(
    rf"({HANDLE})[^0-9a-z가-힣]{{0,3}}(?:으로|로)? ?(?:{'|'.join(KAKAO_WORDS)}|친추|친구 ?추가)"
)
# Dots inside, as Instagram's ("@vintage.closet_"), before a part with a letter ("@rs.4150" is a price).
AT_HANDLE = lazy(r"(?<![0-9a-z_.*])@_{0,3}[a-z][a-z0-9_]{3,31}(?:\.(?=[0-9]{0,30}[a-z_])[a-z0-9_]{1,30}){0,3}(?![0-9a-z_@.])")

# A mobile number given in pieces ("010-73**-**92 인데 가운데는 7355 끝은 1292", "앞은 010 중간 4821 뒤 0093"):
# the prefix, then two groups each named by its place. The prefix sets it off: the places'
# words start with common syllables (가, 나, 마, 중) that would slow every text's trigger scan.
PIECE_WORDS = ("01",)
_PLACE = (r"(?:가운데|중간|뒷|뒤|끝|마지막|나머지|다음)(?: ?(?:자리|번호|네 ?자리|4 ?자리|부분))?(?:[은는이가도]|요)? ?[:=]? ?"
          r"(?:[가-힣]{1,4} [가-힣]{1,4} ?)?")  # (and what the digits are: "다음은 제 생일 0923")
_PIECE = rf"{_PLACE}\d{{3,4}}(?!\d)"
# (or the eight digits after the prefix under one place, "앞자리는 010 이고요\n뒤는 3928 1174"; a line
# break may come between the prefix and the rest)
PHONE_IN_PIECES = lazy(rf"0(?<!\d0)1[016789](?!\d{{7}})[\s\S]{{0,30}}?{_PLACE}"
                       rf"(?:\d{{3,4}}(?!\d)[^\n]{{0,20}}?{_PIECE}|\d{{4}}[ \-.]?\d{{4}}(?!\d))")

EMAIL = lazy(
    r"(?<![0-9a-z._%+\-])([0-9a-z][0-9a-z._%+\-]{0,63})@((?:[0-9a-z\-]{1,63}\.){1,5}[a-z]{2,12})(?![0-9a-z])"
)

# Path tokens that identify a person: open-chat rooms, Telegram and LINE profiles, payment-app IDs.
PROFILE_LINK = lazy(
    r"(?:open\.kakao\.com/(?:o|me)/|(?<![a-z])t\.me/|telegram\.(?:me|dog)/|line\.me/(?:ti/p|r/ti/p)/~?|wa\.me/|"
    r"(?<![a-z])toss\.me/|(?:qr|link)\.kakaopay\.com/)"
    r"([0-9a-z_+\-]{1,64})"
)
