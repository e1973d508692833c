"""Undo the tricks scammers use to slip contact details past filters (standard library only).

:func:`normalise` returns a :class:`Normalised`: the cleaned text plus, for every one
of its characters, the span of the original text it came from, so a rule that fires on
the cleaned text can quote what the user actually wrote.

Steps, in order (each one a regular expression or a translation table, so the whole
thing runs in linear time):

1. Every character outside ASCII, Hangul and keyboard jamo is folded to what it imitates:
   compatibility forms (NFKC: full-width, circled, styled letters and digits), any other
   digit (``❶``, ``➀``, ``〇``, ``零``), Latin letters with marks, small capitals, in squares
   or parentheses (``⒦``), regional-indicator letters (``🇰``), Cyrillic and Greek
   look-alikes, conjoining jamo; invisible characters and combining marks are dropped.
   Then lower case.
2. Decomposed syllables composed again: ``ㅋㅏㅋㅏㅇㅗㅌㅗㄱ`` becomes ``카카오톡``.
3. Defanged links and addresses re-armed: ``hxxp``, ``[.]``, ``(dot)``, ``[at]``, ``골뱅이``, ``&#46;``,
   ``닷컴``, ``naver 점 com``, ``bit . ly / 3ab``, ``골뱅이 네이버 닷컴``, ``.c0m``, ``pay,com``.
4. Symbols and emoji inside a word dropped (``카🍫톡``, ``01０✨1234``), or read as the dot
   before a link's ending (``safe🔸com``); spaced-out single characters joined, whatever
   separates them (``카 카 오 톡``, ``카·톡``, ``0 1 0 - 1 2 3``, line breaks), and composed
   again if they were jamo; links re-armed again once their endings are whole.
5. Digits spelled in English, three or more in a row (``zero one zero``), or in Hangul,
   seven or more (``제로원제로 세븐…``); digits written
   with look-alike letters inside a long number (``O1O-l234-S678``); messenger names in
   leetspeak (``k4k40``, ``7elegram``).
6. Jamo abbreviations of messenger names and payment words (``ㅋㅌ``, ``ㅅㅇㄱ``), their
   misspellings (``까톡``, ``텔레그렘``, half-Latin ``카kao톡``), and the words the rules look
   for split by separators (``카카.오톡``, ``계 좌``).
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
>>> normalise("카🍫톡 ☞ kim77, ❶❷❸ ㅋㅏㅋㅏㅇㅗㅌㅗㄱ").text
'카톡 ☞ kim77, 123 카카오톡'
>>> domain_skeleton("b0njang-pay.c0m") == domain_skeleton("bonjangpay.com")
True
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache, partial
from itertools import product
from typing import Callable, Iterable

from bunjang_lab.fraud.patterns import TLDS, LazyPattern, grouped_by_first_letter, lazy, literal_first_grouped
from bunjang_lab.text.hangul import compose

# Symbols, emoji and punctuation outside ASCII (after folding): noise when inside a word.
_JUNK_CHARS = (
    "\u00a1-\u00bf\u00d7\u00f7\u02b0-\u02ff\u2010-\u2bff\u2e00-\u2e7f\u3000-\u303f\u30fb"
    "\u318d\u318e\u3200-\u33ff\ufe10-\ufe6f\uff5f-\uff65\ue000-\uf8ff\U0001f000-\U0001fbff"
)
# Characters that separate the letters or digits of an obfuscated word.
_ASCII_SEPARATORS = " \t\n\r.-_~*/|,'\"`^+=:;"  # line breaks too: a word written down a column
SEP = f"[{re.escape(_ASCII_SEPARATORS)}ㅡ{_JUNK_CHARS}]"
# The separators a text without symbols or emoji can hold (after folding, the junk characters
# come from unusual characters only): expressions spelled with it instead of SEP find the
# same in such a text (most chat) and compile for a fraction (SEP spans 14,000 code points).
_PLAIN_SEP = f"[{re.escape(_ASCII_SEPARATORS)}ㅡ]"

# Invisible characters (zero-width, bidi controls, Hangul fillers, variation selectors, tags),
# as code point ranges: _fold tests one character at a time, and a class this wide costs
# milliseconds to compile in every `score text` process.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180E),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xE0000, 0xE0FFF),
)

# Cyrillic and Greek letters that render like Latin ones (lower case, after NFKC).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ɡ": "g", "ɩ": "i", "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k",
    "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "γ": "y", "ω": "w",
    "з": "3", "б": "6",  # and digits: 01O.ЗЗ44.5566
    # Canadian syllabics drawn as Latin letters by "fancy font" apps ("ᗰOOᑎ_ᗷᗩKEᖇY")
    **dict(zip("ᗩᗷᑕᗪᗴᖴᕼᒍᒪᗰᑎᑭᑫᖇᔕᑌᐯᗯ᙭ᘔ", "abcdefhjlmnpqrsuvwxz")),
    # Cherokee letters drawn as Latin capitals ("ᏦᎪᏦᎪᎾ ᎢᎪᏞᏦ"), in both cases (lower() makes the small ones)
    **{cherokee: latin for capital, latin in zip("ᎪᏴᏟᎠᎬᏀᎻᎥᎫᏦᏞᎷᎾᏢᎡᏚᎢᏙᎳᏃᎩ", "abcdeghijklmoprstvwzy")
       for cherokee in (capital, capital.lower())},
})
# Folded by hand: NFKC leaves them, and they imitate a dot, a middle dot or a zero. (Every
# middle dot becomes the Latin-1 one: an expression with a class beyond Latin-1 costs a
# millisecond more to compile, and `score text` compiles its expressions in every process.)
_SPECIAL = {"。": ".", "｡": ".", "ꓸ": ".", "․": ".", "‥": ".", "﹒": ".", "點": ".", "∶": ":", "꞉": ":", "⁄": "/", "∕": "/", "⧸": "/", "ㆍ": "·", "ᆞ": "·", "•": "·", "∙": "·", "・": "·", "‧": "·", "〇": "0", "先": "선",
            # Chinese numerals (digits to Unicode, but letters: NFKC keeps them)
            **{numeral: str(value) for value, numeral in enumerate("零一二三四五六七八九")},
            # the payment and bank words in Hanja, read in Korean (入金 입금, 計座 계좌, 國民 국민)
            **dict(zip("入金送移替計座預銀行國民新韓農協現", "입금송이체계좌예은행국민신한농협현"))}
_LATIN_NAME = lazy(
    # (turned letters too: "ʞɐʞɐo ʇɐlʞ", written upside down)
    r"(?:LATIN (?:CAPITAL |SMALL )?LETTER (?:SMALL CAPITAL |TURNED )?|REGIONAL INDICATOR SYMBOL LETTER )([A-Z])\b")
_JAMO_NAME = lazy(r"HANGUL (?:CHOSEONG|JUNGSEONG|JONGSEONG) ([A-Z-]+)$")

# Everyday characters need no folding: ASCII, Hangul syllables, keyboard jamo (not the filler).
_UNUSUAL = lazy("[^\x00-\x7f가-힣ㄱ-ㅣㅥ-ㆌ]")

# Domain endings a dot spelled out or set apart by spaces may lead to ("naver 점 com", "pay . shop").
# (me, ly, io, gg only before a path: "t 점 me 슬래시 …", not "5점 me too")
_SPOKEN_TLD = (r"(?:com|net|org|co\.kr|kr|shop|xyz|top|site|online|info|biz|store|click|link|"
               r"(?:me|ly|io|gg)(?= ?(?:/|슬래)))(?![0-9a-z])")
# ... and the endings read out in Hangul ("bunjang-pay 닷 씨오 닷 케이알 슬래시 오더": .co.kr/)
_READ_ENDINGS = {"씨오": "co", "케이알": "kr", "오알지": "org", "아이오": "io", "넷": "net", "샵": "shop", "숍": "shop",
                 "탑": "top", "사이트": "site", "인포": "info", "엑스와이지": "xyz", "스토어": "store", "온라인": "online",
                 "클릭": "click", "링크": "link", "비즈": "biz", "컴": "com"}
_READ_ENDING = "|".join(sorted(_READ_ENDINGS, key=len, reverse=True))
# a spoken dot or slash continues a host when a name or an ending read out comes right before it
_HOST_BEFORE = lazy(rf"(?:[0-9a-z]|{_READ_ENDING}) ?$")
_BRACKETED = r"(?= ?(?:\.|dot|점|닷|쩜|at|@|골뱅이|/|:) ?[\])}])"  # what a bracket holds in a defanged link
_DEFANG_HINTS = (  # literals first, not a class: see _ALIAS_HINT
    rf"\[{_BRACKETED}", rf"\({_BRACKETED}", rf"\{{{_BRACKETED}", "골뱅이", "hxxp", r"h\*\*p", "dot", r"\.(?<= \.)",
    rf",(?<=[a-z],)(?={_SPOKEN_TLD})",
    *(f"{word}(?<=[0-9a-z]{gap}{word})" for word in ("닷", "쩜", "점", "슬래") for gap in ("", " ")),
)
_DEFANG_HINT = lazy(grouped_by_first_letter(_DEFANG_HINTS))
_DEFANG = lazy(
    r"h(?:xx|\*\*|tt)p(s?)(?:\[:\]|\(:\)|:)?(?=/)"   # hxxp://, hxxp[:]//
    # a dot or an at in brackets, with the spaces around it: [.] (dot) [점] ( at ) [골뱅이]
    r"| ?[\[({] ?(?:\.|dot|점|닷|쩜|at|@|골뱅이) ?[\])}] ?"
    r"|\s?골뱅이\s?"
    r"|\[/\]|\[:\]"
    r"| ?(?:닷|쩜|점) ?컴| ?닷넷"
    rf"| +\. ?(?P<spaced_host>{TLDS}) ?/ ?(?=[0-9a-z])"  # "bit . ly / 3abc": a host and its path spaced out
    rf"| ?(?:닷|쩜|점|dot) ?(?={_SPOKEN_TLD})| +\. ?(?={_SPOKEN_TLD})"
    rf"|,(?<=[a-z],)(?={_SPOKEN_TLD})"  # a comma for the dot ("bunjangpay,com")
    rf"| ?(?:닷|쩜|점) ?(?P<read_ending>{_READ_ENDING})(?=[^가-힣]|$|이|으로|로|에)"
    r"| ?(?P<slash>슬래시|슬래쉬) ?"
)
def _spellings(choices: Iterable[Iterable[str]]) -> list[str]:
    """Every word made of one of each position's ``choices``.

    >>> _spellings([("카", "ka"), ("톡", "talk")])
    ['카톡', '카talk', 'ka톡', 'katalk']
    """
    return ["".join(parts) for parts in product(*choices)]


# Leetspeak in a link's ending (".c0m", ".sh0p"): the endings a spoken dot may lead to, each
# with 0/1/3 for o/i/l/e (every combination but the plain one; ".10" is a number, not ".io").
_LEET_OF = {"o": "0", "i": "1", "l": "1", "e": "3"}
_LEET_TLDS = {leet: tld for tld in ("com", "net", "org", "info", "shop", "top", "site", "online", "store", "click", "link",
                                     "xyz", "biz", "kr", "io", "co")
              for leet in _spellings((ch, *_LEET_OF.get(ch, "")) for ch in tld) if leet != tld and not leet.isdigit()}
_LEET_TLD = lazy(r"\.(?<=[0-9a-z]\.)(?:" + "|".join(sorted(_LEET_TLDS, key=len, reverse=True)) + ")(?![0-9a-z])")
_SPOKEN_DOT_AFTER = lazy("[0-9a-z]")
# Mail providers said in Hangul after an at ("jun.kim 골뱅이 네이버 닷컴"); 다음 (also "next")
# only with its ending.
_MAIL_PROVIDERS = {"네이버": "naver.com", "지메일": "gmail.com", "한메일": "hanmail.net", "네이트": "nate.com",
                   "다음": "daum.net"}
_HANGUL_MAIL = lazy(r"@ ?(?P<provider>네이버|지메일|한메일|네이트|다음)(?P<ending> ?(?:닷|쩜|점|\.) ?(?:컴|com|넷|net))?")
# "minsu88 at naver.com": an e-mail's @ spoken out, once the dots are back; only after a
# handle-like word ("log in at icicibank.com" is English).
_SPOKEN_AT = lazy(r" (?:at|앳|에이티) (?=[0-9a-z\-]{2,30}\.[a-z]{2,}|네이버|지메일|한메일|네이트|다음)")  # (then a provider in Hangul: below)
_HANDLE_BEFORE = lazy(r"(?=[a-z]*[0-9_.])[0-9a-z_.]{3,30}$")  # "naver 점 com": a spoken dot only right after a name

# A run of single letters or digits, each set apart by 1-3 separators ("카 카 오 톡").
# Explicit classes rather than \w: they are much faster to test in CPython's engine.
_WORD = "0-9a-z가-힣ㄱ-ㅠㅢㅣㅥ-ㆌ"  # not ㅡ: typed as a dash between digits (010ㅡ1234)
_WORD_CHAR = lazy(f"[{_WORD}]")
# Junk right before a letter or digit (most emoji end a message, after a space: never looked at).
# (a class first: see _SPACED); or before a space and a digit ("110 · 481 · 229374")
_JUNK_BEFORE_WORD = lazy(f"[{_JUNK_CHARS}][{_JUNK_CHARS}]{{0,3}}(?=[{_WORD}]| \\d)")
# After a Latin letter or digit and before a link's ending, symbols stand for the dot
# ("bunjang-safe🔸com", "www·shop").
_TLD_AHEAD = lazy(f"(?:{TLDS})(?![0-9a-z])")
# Matched from the separators after the first character (which stays outside the match): a
# class first, the look-behind after it, so the engine skips from separator to separator
# instead of trying every position (most characters are letters, few are separators).
# Then each further character after one to three separators (the first gap is one to three
# with the separator matched first, hence no three more); one unit repeated, not a first
# unit and its repetition: each class of the Hangul syllables written costs every process
# a third of a millisecond to compile, and the unit needs no separator of its own before a
# later character (the one before it ends where a letter cannot follow).
_SPACED, _SPACED_PLAIN = (
    lazy(rf"{sep}(?<=(?<![{_WORD}])[{_WORD}](?s:.))(?!{sep}{{3}})(?:{sep}{{0,3}}[{_WORD}](?![{_WORD}]))+")
    for sep in (SEP, _PLAIN_SEP))
# The vowel ㅡ standing alone is a dash ("텔레 ㅡ @minji"), as it is between digits; beside
# other jamo it is a letter or a face ("ㅡㅡ" stays: nothing but a dash follows from it).
_LONE_EU = lazy("(?<![ㄱ-ㅣ])ㅡ(?![ㄱ-ㅣ])")
# A consonant and "r" drawn for ㅏ ("ㅋr톡 ㅇr이디": 카톡 아이디), beside Hangul, not inside a Latin word.
_R_FOR_A = lazy("([ㄱ-ㅎ])r(?![a-z])(?<![a-z][ㄱ-ㅎ]r)")  # (a class first: see _SPACED)
# Laughs or other jamo between digits separate groups ("110ㅋ482ㅋㅋ719305"); ㅇ stays, the look-alike 0.
_JAMO_BETWEEN_DIGITS = lazy("([0-9])[ㄱ-ㅆㅈ-ㅎㅜㅠ]{1,3}(?=[0-9])")  # (the digit first: the engine skips to digits)
# Circles drawn for the letter o inside a link or an ID ("shop⭕-pay.c⭕m"); alone they mean "yes".
_CIRCLE_CHARS = "⭕○◯⚪⚬◦⓪"
_CIRCLES = frozenset(_CIRCLE_CHARS)
_CIRCLE_IN_LATIN = lazy(rf"(?<=[0-9a-z])[{_CIRCLE_CHARS}](?=[0-9a-z.\-/])|(?<=[.\-/])[{_CIRCLE_CHARS}](?=[0-9a-z])")
# A country's flag right after a host stands for its ending ("safe-pay🇰🇷/p/12": safe-pay.kr).
_REGIONAL_INDICATORS = frozenset(map(chr, range(0x1F1E6, 0x1F200)))
_FLAG_AFTER_HOST = lazy("(?<=[0-9A-Za-z]) ?([\U0001F1E6-\U0001F1FF]{2})(?= ?/)")  # (a path after it: not "made in japan 🇯🇵")
_SEP_CHARS = lazy(f"{SEP}+")
_SEP_CHAR = lazy(SEP)
_SEP_BUT_UNDERSCORE = lazy(f"(?!_){SEP}")
_SEP_BUT_UNDERSCORES = lazy(f"(?:(?!_){SEP})+")
# A link spelled out letter by letter keeps its marks: "b j - p a y . c o m / 3 3 9" is bj-pay.com/339.
_SEP_BUT_LINK_MARK = lazy(rf"(?![.\-/]){SEP}")
_SEP_BUT_LINK_MARKS = lazy(rf"(?:(?![.\-/]){SEP})+")
_SPACED_LINK_MARK = lazy(r"(?<=[0-9a-z]) [.\-/] (?=[0-9a-z])")
_LATIN_LETTER = lazy("[a-z]")  # (a link's, not a number's: "0 1 0 - 1 2 3 4" is 0101234)

_CONSONANTS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_FINALS = "ㄱㄲㄴㄷㄹㅁㅂㅅㅆㅇㅈㅊㅋㅌㅍㅎ"
_TYPED_VOWELS = {"ㅗㅏ": "ㅘ", "ㅗㅐ": "ㅙ", "ㅗㅣ": "ㅚ", "ㅜㅓ": "ㅝ", "ㅜㅔ": "ㅞ", "ㅜㅣ": "ㅟ", "ㅡㅣ": "ㅢ"}
_JAMO_SYLLABLE = lazy(f"([{_CONSONANTS}])(ㅗ[ㅏㅐㅣ]|ㅜ[ㅓㅔㅣ]|ㅡㅣ|[ㅏ-ㅣ])([{_FINALS}](?![ㅏ-ㅣ]))?")
_JAMO_SYLLABLE_HINT = lazy("[ㄱ-ㅎ][ㅏ-ㅣ]")

# A long number written with look-alike letters (o and ㅇ for 0, i and l for 1, z for 2, s for 5, b for 8).
_DIGITISH = lazy(r"(?<![0-9a-z])[0-9oilzsbㅇ](?:[ \-.ㅡ~/]{0,3}[0-9oilzsbㅇ]){7,}(?![0-9a-z])")  # ("0l0 - 52O8")
_DIGITISH_HINT = lazy(r"[oilzsbㅇ](?:[ \-.]?\d|(?<=\d[oilzsbㅇ])|(?<=\d[ \-.][oilzsbㅇ]))")  # a class first: see _ALIAS_HINT
_LETTERS_TOGETHER = lazy(r"[zsb][a-zㅇ]|[a-zㅇ][zsb]")
# ㅇ typed for the letter o inside a Latin word or a host ("bunjang-pay.cㅇm").
_JAMO_O_IN_LATIN = lazy("ㅇ(?<=[a-z.]ㅇ)(?=[a-z])")
_LOOKALIKE_DIGITS = str.maketrans({"o": "0", "ㅇ": "0", "i": "1", "l": "1", "z": "2", "s": "5", "b": "8"})
# Messenger names in leetspeak ("k4k40t4lk", "7elegram", "wh4tsapp"): a word of letters and
# digits whose skeleton (domain_skeleton) is a messenger's.
_LEET_HINT = lazy(r"[a-z](?:(?=[0-9@$])|(?<=[0-9@$][a-z]))")  # a letter touching a digit (letters first: fewer)
_LEET_WORD = lazy(r"[0-9a-z@$](?<![0-9a-z@$][0-9a-z@$])[0-9a-z@$]{3,11}(?![0-9a-z@$])")
# Either hint above in one scan (class first, the letter's look-behind telling the two apart):
# most texts hold neither, and skip the second scan.
_LOOKALIKE_HINT = lazy(r"[a-zㅇ](?:(?<=[oilzsbㅇ])(?:[ \-.]?\d|(?<=\d[oilzsbㅇ])|(?<=\d[ \-.][oilzsbㅇ]))"
                       r"|(?<=[a-z])(?:(?=[0-9@$])|(?<=[0-9@$][a-z])))")

_JAMO = "ㄱ-ㆎ"
_ALIASES = {
    # jamo abbreviations, only as a whole run of jamo (so "ㅋㅋㅋ" laughter stays)
    "ㅋㅌ": "카톡", "ㅋㅋㅇㅌ": "카카오톡", "ㅋㅋㅇ": "카카오", "ㅋㅇㅌ": "카카오톡", "ㅇㅍㅊ": "오픈채팅", "ㅇㅍㅌ": "오픈톡",
    "ㅌㄹ": "텔레그램", "ㅌㄹㄱㄹ": "텔레그램", "ㅌㄹㄱㄹㅁ": "텔레그램",
    "ㅅㅇㄱ": "선입금", "ㄱㅈ": "계좌", "ㄱㅈㅂㅎ": "계좌번호", "ㅇㄱ": "입금",  # the payment words too
    "ㅁㅈ": "문자", "ㅍㄴ": "폰 번호", "ㅌㅅ": "토스", "ㅋㅂ": "카뱅", "ㅈㄱㄹ": "직거래", "ㄱㄴ": "가능", "ㄴㄴ": "노노",
}
# Traders' clipped words, as whole words only ("선입 부탁드려요", not 선입견; "폰번 앞은 010")
_CLIPPED = {"안결": "안전결제", "선입": "선입금", "직입": "직접 입금", "직송금": "직접 송금", "폰번": "폰 번호"}
_MISSPELLINGS = {
    "까톡": "카톡", "카톸": "카톡", "캌톡": "카톡", "까똑": "카톡", "카똑": "카톡", "깨톡": "카톡",
    "카록": "카톡", "캬톡": "카톡", "카카오똑": "카카오톡", "까까오톡": "카카오톡", "카까오톡": "카카오톡",
    "카카오톸": "카카오톡", "카카오떡": "카카오톡", "카카오특": "카카오톡", "카카톡": "카카오톡",
    "텔레그렘": "텔레그램", "텔래그램": "텔레그램", "텔레그람": "텔레그램", "텔레구람": "텔레그램",
    "털레그램": "텔레그램", "텔그": "텔레그램", "탤레그램": "텔레그램", "뗄레그램": "텔레그램", "텔레그랩": "텔레그램",
    "텔렉램": "텔레그램", "텔레그레": "텔레그램", "텔그램": "텔레그램",
    "ㅋ톡": "카톡", "노란톡": "카톡", "노랑톡": "카톡", "노란 메신저": "카톡", "노란색 메신저": "카톡", "카카오talk": "카카오톡",
    "카talk": "카톡", "kakao톡": "카카오톡", "오카방": "오픈카톡방", "텔방": "텔레그램방",
}
# The rules' words typed with the keyboard left in Latin (dubeolsik keys, lower case: "dlqrma" 입금).
# A message typed so is often all Latin: these are looked for in ASCII texts too.
_KEYBOARD_TYPED = {
    "zkxhr": "카톡", "zkzkdhxhr": "카카오톡", "xpffprmfoa": "텔레그램", "dhvmscoxld": "오픈채팅", "dlqrma": "입금",
    "tjsdlqrma": "선입금", "thdrma": "송금", "dlcp": "이체", "rpwhk": "계좌", "rpwhkqjsgh": "계좌번호", "xhdwkd": "통장",
    "anxhdwkd": "무통장", "dprmawn": "예금주", "ajswj": "먼저", "dkdlel": "아이디", "qjsgh": "번호", "dusfkrcj": "연락처",
}
_MISSPELLINGS.update(_KEYBOARD_TYPED)
_KEYBOARD_RE = lazy("|".join(sorted(_KEYBOARD_TYPED, key=len, reverse=True)))
# Messenger names written half in Hangul, half in Latin ("카kao톡", "텔레gram", "whats앱"): every
# mix of each syllable's two spellings.
_NAME_SYLLABLES = {
    "카카오톡": (("카", "ka"), ("카오", "kao"), ("톡", "talk", "tok")), "카톡": (("카", "ka"), ("톡", "talk", "tok")),
    "카카오": (("카", "ka"), ("카오", "kao")), "텔레그램": (("텔레", "tele"), ("그램", "gram")),
    "왓츠앱": (("왓츠", "whats"), ("앱", "app")),
}


_MISSPELLINGS.update({mixed: name for name, parts in _NAME_SYLLABLES.items() for mixed in _spellings(parts)
                      if not mixed.isascii() and any(ch.isascii() for ch in mixed)})
# Plain alternation of the words: CPython skips ahead to their first letters, so testing
# for any of them costs a fifth of one substring test per word, and far less than the
# expression below (its look-behind is tried at every position).
_ALIAS_HINT = lazy(literal_first_grouped([*_ALIASES, *_MISSPELLINGS]))
# One scan for the hints of three steps most texts need none of (composing jamo, re-arming
# defanged links, aliases), each branch spelled literal first (see _ALIAS_HINT): a text
# without any skips them, and is scanned again only once another step has changed it.
_REWRITE_HINT = lazy(grouped_by_first_letter(
    [*(f"{chr(c)}[ㅏ-ㅣ]" for c in range(ord("ㄱ"), ord("ㅎ") + 1)), *_DEFANG_HINTS, *map(re.escape, (*_ALIASES, *_MISSPELLINGS))]))
_ALIAS_RE = lazy(
    f"(?<![{_JAMO}])(?:{'|'.join(sorted(_ALIASES, key=len, reverse=True))})(?![{_JAMO}])"
    f"|{'|'.join(sorted(_MISSPELLINGS, key=len, reverse=True))}"
)
# (its own step: most texts holding 선입 hold 선입금, which no hint should send through the rewriting)
_CLIPPED_RE = lazy(f"(?<![가-힣])(?:{'|'.join(sorted(_CLIPPED, key=len, reverse=True))})(?![가-힣](?<![은는이가을를로만도]))")
# Words the rules look for, found again when separators split them ("카카.오톡", "계 좌").
_SPLIT_WORDS = ("카카오톡", "카카오", "카톡", "텔레그램", "오픈채팅", "오픈톡", "위챗", "왓츠앱", "라인", "계좌번호", "계좌",
                "선입금", "입금", "송금", "이체", "무통장", "예금주", "연락처", "전화번호", "안전결제", "안전거래", "번개페이")

# Emoji inside a word are gone by then: the separators left are the typed ones.
_TYPED_SEP = r"[ .\-_~*|,·]{0,3}"
_WHOLE_WORDS = frozenset(_SPLIT_WORDS)
_SPLIT_WORD = lazy(grouped_by_first_letter(_TYPED_SEP.join(word) for word in _SPLIT_WORDS))

_NUMERALS = {
    "공": "0", "영": "0", "빵": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5",
    "육": "6", "륙": "6", "칠": "7", "팔": "8", "구": "9",
    "하나": "1", "둘": "2", "셋": "3", "넷": "4", "다섯": "5", "여섯": "6", "일곱": "7",
    "여덟": "8", "아홉": "9",
}
MIN_NUMERAL_RUN = 8  # a phone or account number; shorter runs are ordinary words (이사, 오일)
MIN_HANGUL_NUMERALS = 3  # "2024-01-15 이후": one numeral-like syllable beside digits is a word
_NUMERAL_TOKEN = "(?:하나|다섯|여섯|일곱|여덟|아홉|[공영빵일이삼사오육륙칠팔구둘셋넷0-9])"
# The same, each character its own branch: a run then starts with a literal in every branch,
# and the engine skips to those characters (a class among words makes it try every position).
_FIRST_NUMERAL_TOKEN = f"(?:하나|다섯|여섯|일곱|여덟|아홉|{'|'.join('공영빵일이삼사오육륙칠팔구둘셋넷0123456789')})"
# Only runs long enough to be a number reach Python (numeral syllables are common in words).
# Possessive: no separator starts a token, and nothing follows the run, so giving back
# characters never finds another match; the engine just stops retrying.
_NUMERAL_RUN, _NUMERAL_RUN_PLAIN = (
    lazy(f"{_FIRST_NUMERAL_TOKEN}(?:{sep}{{0,3}}+{_NUMERAL_TOKEN}){{{MIN_NUMERAL_RUN - 1},}}+") for sep in (SEP, _PLAIN_SEP))
_NUMERAL_TOKENS = lazy(_NUMERAL_TOKEN)
# The characters tokens are written with: a run lies in a chain of eight or more of them, and
# a run worth converting holds a Hangul numeral, so its chain is not ASCII. One class-first
# scan for such chains costs half the token expression, which stops at every common syllable
# (이, 사, 오…); most chains in chat are plain digits (prices, phone numbers).
_NUMERAL_CHARS = "".join(sorted({*"".join(_NUMERALS), *"0123456789"}))
_NUMERAL_CHAIN, _NUMERAL_CHAIN_PLAIN = (
    lazy(f"[{_NUMERAL_CHARS}](?:{sep}{{0,3}}[{_NUMERAL_CHARS}]){{{MIN_NUMERAL_RUN - 1},}}") for sep in (SEP, _PLAIN_SEP))
# A dash read out between groups of numerals ("삼삼삼삼 다시 공일 다시 …"), written as one.
_SPOKEN_DASH = lazy(f"(?<=[{_NUMERAL_CHARS}][{_NUMERAL_CHARS}]) ?(?:다시|다음|빼기) ?(?=[{_NUMERAL_CHARS}]{{2}})")  # (다음: "next", 빼기: "minus")


# Digits spelled in English, three or more in a row ("zero one zero 5512 3434"; a comma between
# groups read aloud too: "zero one zero, seven seven two one").
_ENGLISH_DIGITS = {word: str(i) for i, word in enumerate(
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"))}
_ENGLISH_DIGIT = "(?:" + "|".join(_ENGLISH_DIGITS) + ")"
_ENGLISH_DIGIT_FIRST = "(?:" + "|".join(f"{word}(?<![a-z]{word})" for word in _ENGLISH_DIGITS) + ")"
_ENGLISH_DIGIT_RUN = lazy(rf"{_ENGLISH_DIGIT_FIRST}(?:(?:, ?|[ \-]{{1,2}}){_ENGLISH_DIGIT}){{2,}}(?![a-z])")


# A character written as an HTML numeric entity ("bjsafe&#46;store&#47;o"): the ASCII it stands for.
_HTML_ENTITY = lazy(r"&#(?:x[0-9a-f]{1,4}|[0-9]{1,5});")


def _html_entity(match: re.Match) -> str | None:
    body = match.group()[2:-1]
    code = int(body[1:], 16) if body.startswith("x") else int(body)
    return chr(code) if 32 < code < 127 else None


def _english_digits(match: re.Match) -> str:
    return "".join(_ENGLISH_DIGITS[word] for word in re.findall("[a-z]+", match.group()))


# The same words written in Hangul ("제로원제로 세븐포투식스 …"): seven or more in a row (원, 투 and 포
# are words of their own), two of them words nothing else spells (제로, 쓰리, 식스, 세븐, 에잇, 나인…).
_HANGUL_ENGLISH_DIGITS = {"제로": "0", "원": "1", "투": "2", "쓰리": "3", "포": "4", "파이브": "5", "식스": "6",
                          "세븐": "7", "에잇": "8", "에이트": "8", "나인": "9"}
_HANGUL_ENGLISH_ONLY = ("제로", "쓰리", "파이브", "식스", "세븐", "에잇", "에이트", "나인")
_HANGUL_ENGLISH_DIGIT = "(?:" + "|".join(sorted(_HANGUL_ENGLISH_DIGITS, key=len, reverse=True)) + ")"
_HANGUL_ENGLISH_RUN = lazy(rf"{_HANGUL_ENGLISH_DIGIT}(?:(?:[ \-,]{{0,2}}| ?(?:다음|다시|빼기) ?){_HANGUL_ENGLISH_DIGIT}){{6,}}")
_HANGUL_ENGLISH_TOKEN = lazy(_HANGUL_ENGLISH_DIGIT)


def _hangul_english_digits(match: re.Match) -> str | None:
    run = match.group()
    if len({word for word in _HANGUL_ENGLISH_ONLY if word in run}) < 2:
        return None
    return _HANGUL_ENGLISH_TOKEN.sub(lambda m: _HANGUL_ENGLISH_DIGITS[m.group()], run)


# An ID spelled out with the Korean names of Latin letters after an ID marker ("아이디는 에이치 와이 유 엔
# 언더바 일일" is hyun_11). 이 and 오 alone are the letters e and o; numerals of two syllables or more
# ("일일"), and the other numerals alone, are digits.
_LETTER_NAMES = {
    "에이": "a", "비": "b", "씨": "c", "디": "d", "이": "e", "에프": "f", "지": "g", "에이치": "h", "에치": "h", "아이": "i",
    "제이": "j", "케이": "k", "엘": "l", "엠": "m", "엔": "n", "오": "o", "피": "p", "큐": "q", "알": "r", "에스": "s",
    "티": "t", "유": "u", "브이": "v", "더블유": "w", "떠블유": "w", "엑스": "x", "와이": "y", "제트": "z", "지읒": "z",
    "쥐": "g", "쥐이": "g", "큐우": "q", "제로": "0", "쓰리": "3", "파이브": "5", "식스": "6", "세븐": "7", "에잇": "8",
    "에이트": "8", "나인": "9",  # (English digit names: "세븐세븐" is 77)
    "언더바": "_", "언더스코어": "_", "밑줄": "_", "하이픈": "-", "대시": "-", "닷": ".", "점": ".",
}
# (the names of two syllables or more: a run needs two of them to be read as letters, not as words)
_PLAIN_LETTER_NAMES = frozenset(name for name in _LETTER_NAMES if len(name) >= 2 and _LETTER_NAMES[name].isalpha())
_SPELLED_TOKEN = "(?:" + "|".join(sorted((*_LETTER_NAMES, "[공영빵일이삼사오육칠팔구]+"), key=len, reverse=True)) + ")"
# (the spaces may be gone: single syllables set apart are joined by then, "유 엔" is "유엔")
# (a few words may come between: "아이디 영어 발음대로 적을게요 케이 와이 …")
_SPELLED_ID = lazy(rf"(?:아이디|아디|아뒤|id)(?:는|은|가|:)? ?(?:[가-힣 ]{{0,16}}?(?:적을게요|적어요|쓸게요|이에요|예요|요)[ .,:]*)?"
                   rf"({_SPELLED_TOKEN}(?: ?{_SPELLED_TOKEN}){{3,15}})(?![가-힣])")
_SPELLED_TOKENS = lazy(_SPELLED_TOKEN)


def _spelled_id(match: re.Match) -> str | None:
    tokens = _SPELLED_TOKENS.findall(match.group(1))
    if sum(token in _PLAIN_LETTER_NAMES for token in tokens) < 2:
        return None
    return "".join(_LETTER_NAMES[t] if t in _LETTER_NAMES and (len(t) > 1 or t not in _NUMERALS or t in "이오")
                   else "".join(_NUMERALS[ch] for ch in t) for t in tokens)


def _spell_out_ids(builder: _Builder) -> None:
    """Each ID spelled with letter names written in letters; the marker before it stays as written."""
    edits = [(m.start(1), m.end(1), new) for m in _SPELLED_ID.finditer(builder.text) if (new := _spelled_id(m))]
    if not edits:
        return
    if builder.track:
        builder.splice(edits)
        return
    text, pieces, last = builder.text, [], 0
    for start, end, new in edits:
        pieces += [text[last:start], new]
        last = end
    builder.text = "".join(pieces) + text[last:]
    builder.steps.append(_spell_out_ids)


class Normalised:
    """Normalised text and, per character, the span of the original it came from.

    The map is built only when asked for (:meth:`span`): most texts fire no rule and
    never need it, so :func:`normalise` first runs without tracking positions, and keeps
    the steps that changed the text to replay them with positions.
    """

    __slots__ = ("original", "text", "_steps", "_starts", "_ends", "_tracked", "_ascii_checks")

    def __init__(self, original: str, text: str, steps: list[Callable[[_Builder], None]]):
        self.original = original
        self.text = text
        self._steps = steps
        self._tracked = False
        self._ascii_checks = 0
        self._starts: list[int] | None = None
        self._ends: list[int] | None = None

    def _map(self) -> None:
        if not self._tracked:
            self._tracked = True
            if self.text == self.original.lower() and len(self.text) == len(self.original):
                return  # nothing but case changed (most honest texts): positions are the same
            builder = _Builder(self.original, track=True)
            for step in self._steps:
                step(builder)
            self._starts, self._ends = builder.starts, builder.ends

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

    def spelled_in_ascii(self, start: int, end: int) -> bool:
        """Whether ``text[start:end]`` was written in ASCII as it reads (not with full-width,
        Cyrillic or invisible characters, nor a spoken dot). When each occurrence of it in
        the cleaned text is one in the original (most links), no map back is needed.

        >>> n = normalise("😊 раураl.com pay.com")
        >>> n.spelled_in_ascii(2, 12), n.spelled_in_ascii(13, 20)
        (False, True)
        """
        written = self.text[start:end]
        self._ascii_checks += 1
        # (a few links only: each count reads the whole text, the map is built once)
        if (not self._tracked and self._ascii_checks <= 4 and written.isascii()
                and self.text.count(written) == self.original.count(written)):
            return True
        return self.source(start, end).isascii()

    def __repr__(self) -> str:
        return f"Normalised({self.text!r})"


class _Builder:
    """Text being rewritten; with ``track``, also the original span of each character.
    Without, ``steps`` collects the steps that changed the text (each a function of a
    builder): replayed in order on a tracking builder, they give the same text, with its map."""

    def __init__(self, text: str, track: bool = False):
        self.text = text
        self.track = track
        self.starts: list[int] | None = None
        self.ends: list[int] | None = None
        self.steps: list[Callable[[_Builder], None]] = []

    def _positions(self) -> tuple[list[int], list[int]]:
        if self.starts is None:
            self.starts = list(range(len(self.text)))
            self.ends = list(range(1, len(self.text) + 1))
        return self.starts, self.ends

    def rewrite(self, pattern: re.Pattern, replace: Callable[[re.Match], str | None]) -> None:
        """Replace every match of ``pattern`` by ``replace(match)`` (None keeps it)."""
        if not self.track:
            text = pattern.sub(lambda m: _keep_if_none(replace(m), m), self.text)
            if text != self.text:
                self.text = text
                self.steps.append(partial(_Builder.rewrite, pattern=pattern, replace=replace))
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

def _keep_if_none(new: str | None, match: re.Match) -> str:
    return match.group() if new is None else new


@lru_cache(maxsize=8192)
def _fold(ch: str) -> str:
    """What an unusual character stands for: a digit, a Latin letter, a keyboard jamo,
    nothing (invisible characters, combining marks), or itself (symbols, other scripts)."""
    if ch in _SPECIAL:
        return _SPECIAL[ch]
    if any(low <= ord(ch) <= high for low, high in _INVISIBLE_RANGES) or unicodedata.category(ch) in ("Mn", "Me"):
        return ""
    digit = unicodedata.digit(ch, None)
    if digit is None and unicodedata.category(ch) in ("Nl", "No"):
        value = unicodedata.numeric(ch, None)
        digit = int(value) if value in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9) else None
    if digit is not None:
        return str(digit)
    folded = unicodedata.normalize("NFKC", ch).lower().translate(_CONFUSABLES)
    if len(folded) == 3 and folded[0] == "(" and folded[2] == ")":  # ⒦, ⑴, ㈎: the letter in parentheses
        return folded[1]
    if len(folded) != 1 or folded.isascii() or "가" <= folded <= "힣":
        return folded
    name = unicodedata.name(folded, "")
    latin = _LATIN_NAME.search(name)
    if latin:
        return latin.group(1).lower()
    jamo = _JAMO_NAME.match(name)
    if jamo:
        try:
            return unicodedata.lookup(f"HANGUL LETTER {jamo.group(1)}")
        except KeyError:
            return folded
    return folded


def _compose(match: re.Match) -> str:
    initial, medial, final = match.groups()
    return compose(initial, _TYPED_VOWELS.get(medial, medial), final or "")


def _join_spaced(match: re.Match) -> str | None:
    joined = _separators_of(match.group()).sub("", match.group())  # the letters after the first one
    if joined.isdigit() and match.string[match.start() - 1].isdigit() and len(joined) < 3:
        return None  # "1.5", "192.168.0.1": decimals and addresses stay
    return joined


def _junk_inside_word(match: re.Match) -> str | None:
    a, b, text = match.start(), match.end(), match.string
    if text.startswith(" ", b):  # between digits only, spaces around ("1002 ▪ 845")
        return "" if text[max(0, a - 2):a].strip(" ").isdigit() and a > 0 else None
    if a == 0 or not _WORD_CHAR.match(text, a - 1):
        return None
    return "." if text[a - 1].isascii() and _TLD_AHEAD.match(text, b) else ""


def _digitish(match: re.Match) -> str | None:
    run = match.group()
    digits = sum(ch.isdigit() for ch in run)
    lookalikes = sum(ch in "oilzsbㅇ" for ch in run)
    if lookalikes == 0 or digits < 4 or lookalikes > digits or _LETTERS_TOGETHER.search(run):
        return None  # "bs12345678": a code's letters, not digits in disguise
    return run.translate(_LOOKALIKE_DIGITS)


def _alias(match: re.Match) -> str:
    word = match.group()
    return _ALIASES.get(word) or _MISSPELLINGS[word]


def _split_word(match: re.Match) -> str | None:
    word = _SEP_CHARS.sub("", match.group())
    return None if word == match.group() else word


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
    if len(tokens) < MIN_NUMERAL_RUN or hangul == 0:
        return None
    converted = _NUMERAL_TOKENS.sub(lambda m: _NUMERALS.get(m.group(), m.group()), run)
    # fewer Hangul numerals than that read as words beside digits, unless they spell a mobile ("공1공-…")
    digits = "".join(ch for ch in converted if ch.isdigit())
    if hangul < MIN_HANGUL_NUMERALS and not (digits.startswith("01") and len(digits) in (10, 11)):
        return None
    return converted + keep


def _defang(match: re.Match) -> str | None:
    token = match.group()
    if match.group("spaced_host"):
        return f".{match.group('spaced_host')}/"
    if match.group("read_ending") or match.group("slash"):
        if not _HOST_BEFORE.search(match.string, max(0, match.start() - 6), match.start()):
            return None
        return "/" if match.group("slash") else "." + _READ_ENDINGS[match.group("read_ending")]
    if token.startswith("h"):
        return f"http{match.group(1)}:" if ":" in token or "[" in token or "(" in token else f"http{match.group(1)}"
    if token.endswith(("컴", "닷넷")):
        return None if match.start() == 0 or not _SPOKEN_DOT_AFTER.match(match.string, match.start() - 1) else (
            ".com" if token.endswith("컴") else ".net")
    if token.strip() in ("닷", "쩜", "점", "dot", "."):  # spoken or spaced dot: only right after a name
        return "." if match.start() > 0 and _SPOKEN_DOT_AFTER.match(match.string, match.start() - 1) else None
    if "골뱅이" in token or "at" in token or "@" in token:
        return "@"
    if "/" in token:
        return "/"
    if ":" in token:
        return ":"
    return "."


def _hangul_mail(match: re.Match) -> str | None:
    provider = match.group("provider")
    if provider == "다음" and not match.group("ending"):
        return None
    return "@" + _MAIL_PROVIDERS[provider]


def normalise(text: str) -> Normalised:
    """Clean ``text`` for the rules, keeping a map back to the original characters."""
    builder = _run(text, _Builder(text))
    return Normalised(text, builder.text, builder.steps)


def _leet_name(match: re.Match) -> str | None:
    word = match.group()
    return None if word.isalpha() else _LEET_NAMES.get(domain_skeleton(word))


def _compose_jamo(builder: _Builder, ascii_only: bool) -> None:
    if not ascii_only and _JAMO_SYLLABLE_HINT.search(builder.text):
        builder.rewrite(_JAMO_SYLLABLE, _compose)


def _lower(builder: _Builder) -> None:
    """Lower case (what is left is ASCII, Hangul and jamo: lengths stay, and positions)."""
    text = builder.text.lower()
    if text != builder.text:
        builder.text = text
        if not builder.track:
            builder.steps.append(_lower)


def _join_spaced_runs(builder: _Builder, spaced: re.Pattern | LazyPattern) -> None:
    if not builder.track:
        text = builder.text
        builder.rewrite(spaced, _join_spaced)
        if builder.text != text:  # replayed as below, not as a rewrite
            builder.steps[-1] = partial(_join_spaced_runs, spaced=spaced)
        return
    text = builder.text  # delete the separators only, so each joined character keeps its own position
    builder.splice((*sep.span(), "") for run in spaced.finditer(text) if _join_spaced(run) is not None
                   for sep in _separators_of(run.group(), _SEP_CHAR, _SEP_BUT_UNDERSCORE, _SEP_BUT_LINK_MARK)
                   .finditer(text, *run.span()))


def _separators_of(run: str, every=_SEP_CHARS, but_underscore=_SEP_BUT_UNDERSCORES,
                  but_link_marks=_SEP_BUT_LINK_MARKS) -> LazyPattern:
    """What joining ``run`` deletes: every separator, but an underscore among other separators,
    which is part of a handle spelled out ("m.i.n.j.i_s.h.o.p"), not a gap ("k_a_k_a_o"), and
    a link's dot, dash or slash set apart like the letters where single spaces are the gaps."""
    if "_" in run and _SEP_CHARS.sub("", run.replace("_", "")) != run.replace("_", ""):
        return but_underscore
    if (" " in run and _SPACED_LINK_MARK.search(run) and _LATIN_LETTER.search(run)
            and run.count(" ") > 2 * len(_SPACED_LINK_MARK.findall(run)) + 2):
        return but_link_marks
    return every


def _run(text: str, builder: _Builder) -> _Builder:
    """The normalisation steps, in order, on ``builder``."""
    # Each step first checks cheaply whether it can apply: most texts need few of them.
    ascii_only = text.isascii()
    # what unusual characters stand for; emoji, the most common, stand for themselves
    unusual = () if ascii_only else set(_UNUSUAL.findall(text))
    if not _REGIONAL_INDICATORS.isdisjoint(unusual):  # (before the flags' letters are folded apart)
        builder.rewrite(_FLAG_AFTER_HOST, lambda m: "." + "".join(_fold(ch) for ch in m.group(1)))
    folded = [_fold(ch) for ch in unusual]
    if folded != list(unusual):
        builder.rewrite(_UNUSUAL, lambda m: _fold(m.group()))
    _lower(builder)
    if "&#" in builder.text:
        builder.rewrite(_HTML_ENTITY, _html_entity)
    ascii_only = builder.text.isascii()
    checked = builder.text
    plain = _REWRITE_HINT.search(checked) is None
    if not plain:
        _compose_jamo(builder, ascii_only)
        if _DEFANG_HINT.search(builder.text):
            builder.rewrite(_DEFANG, _defang)
    if " at " in builder.text or " 앳 " in builder.text or " 에이티 " in builder.text:
        builder.rewrite(_SPOKEN_AT, lambda m: "@" if _HANDLE_BEFORE.search(m.string, max(0, m.start() - 30), m.start())
                        else None)
    if not ascii_only and "@" in builder.text and _HANGUL_MAIL.search(builder.text):
        builder.rewrite(_HANGUL_MAIL, _hangul_mail)
    if not ascii_only and "ㅡ" in builder.text:
        builder.rewrite(_LONE_EU, lambda m: "-")
    if not ascii_only and "r" in builder.text and _R_FOR_A.search(builder.text):
        builder.rewrite(_R_FOR_A, lambda m: compose(m.group(1), "ㅏ", ""))
    if not ascii_only and _JAMO_BETWEEN_DIGITS.search(builder.text):
        builder.rewrite(_JAMO_BETWEEN_DIGITS, lambda m: m.group(1) + "-")
    if not _CIRCLES.isdisjoint(unusual):
        builder.rewrite(_CIRCLE_IN_LATIN, lambda m: "o")
    junk_possible = any(not new.isascii() for new in folded)  # junk comes from unusual characters only
    if junk_possible and _JUNK_BEFORE_WORD.search(builder.text):
        builder.rewrite(_JUNK_BEFORE_WORD, _junk_inside_word)
    if "." in builder.text and _LEET_TLD.search(builder.text):
        builder.rewrite(_LEET_TLD, lambda m: "." + _LEET_TLDS[m.group()[1:]])
    _join_spaced_runs(builder, _SPACED if junk_possible else _SPACED_PLAIN)
    if builder.text != checked:
        checked = builder.text
        plain = _REWRITE_HINT.search(checked) is None
    if not plain:
        _compose_jamo(builder, ascii_only)  # again: jamo typed apart ("ㅋ ㅏ ㅋ ㅏ") are together now
        if _DEFANG_HINT.search(builder.text):  # again: a spaced-out ending is whole now ("pay . c o m / pay")
            builder.rewrite(_DEFANG, _defang)
    spelled = builder.text  # every digit word holds an e or an o, but six
    if ("e" in spelled or "o" in spelled or "six" in spelled) and _ENGLISH_DIGIT_RUN.search(spelled):
        builder.rewrite(_ENGLISH_DIGIT_RUN, _english_digits)
    if not ascii_only and any(word in builder.text for word in _HANGUL_ENGLISH_ONLY):  # (a run holds two)
        builder.rewrite(_HANGUL_ENGLISH_RUN, _hangul_english_digits)
    if not ascii_only and "ㅇ" in builder.text and _JAMO_O_IN_LATIN.search(builder.text):
        builder.rewrite(_JAMO_O_IN_LATIN, lambda m: "o")
    if _LOOKALIKE_HINT.search(builder.text):
        if _DIGITISH_HINT.search(builder.text):
            builder.rewrite(_DIGITISH, _digitish)
        if _LEET_HINT.search(builder.text):
            builder.rewrite(_LEET_WORD, _leet_name)
    if ascii_only and _KEYBOARD_RE.search(builder.text):
        builder.rewrite(_KEYBOARD_RE, lambda m: _KEYBOARD_TYPED[m.group()])
        ascii_only = False  # Hangul now: the steps below apply
    if not ascii_only:
        if not (plain and builder.text == checked) and _ALIAS_HINT.search(builder.text):
            builder.rewrite(_ALIAS_RE, _alias)
        if any(map(builder.text.__contains__, _CLIPPED)) and _CLIPPED_RE.search(builder.text):
            builder.rewrite(_CLIPPED_RE, lambda m: _CLIPPED[m.group()])
        if not _WHOLE_WORDS.issuperset(_SPLIT_WORD.findall(builder.text)):  # most are written whole
            builder.rewrite(_SPLIT_WORD, _split_word)
        if "다시" in builder.text or "다음" in builder.text or "빼기" in builder.text:
            builder.rewrite(_SPOKEN_DASH, lambda m: "-")
        text = builder.text  # (three substring tests cost a quarter of one search for the markers)
        if ("디" in text or "뒤" in text or "id" in text) and _SPELLED_ID.search(text):
            _spell_out_ids(builder)
        chains = (_NUMERAL_CHAIN if junk_possible else _NUMERAL_CHAIN_PLAIN).findall(builder.text)
        if not all(map(str.isascii, chains)):
            builder.rewrite(_NUMERAL_RUN if junk_possible else _NUMERAL_RUN_PLAIN, _numerals)
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


_LEET_NAMES = {domain_skeleton(name): name for name in ("kakao", "kakaotalk", "katalk", "telegram", "whatsapp", "wechat")}
