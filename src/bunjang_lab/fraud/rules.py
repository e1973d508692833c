"""Fraud rules over normalised text: each with a stable code, a category, a weight and the
detector that finds its evidence.

:func:`reasons` is the entry point: it normalises the text, runs every rule and
returns one reason per rule that fired, strongest first, with masked evidence quoted
from what the user actually wrote::

>>> [r["code"] for r in reasons("카.톡 ab1234 으로 연락 주세요")]
['kakao_id']
>>> reasons("카.톡 ab1234 으로 연락 주세요")[0]["evidence"]
'카.톡 ab**34'
>>> reasons("번개톡으로 연락 주세요, 안전결제 가능해요")
[]
>>> sorted({r["category"] for r in reasons("국민은행 123456-78-901234 선입금 부탁드려요")})
['account_transfer']

Adding a rule is adding one :class:`Rule` to :data:`_RULE_LIST` (and its test set to
``tests/test_fraud_rules.py::POSITIVES``). Its :class:`Detector` comes from
:func:`first_match` or :func:`handle_after` for an expression, or reads the links
(:mod:`~bunjang_lab.fraud.links`) or written numbers (:mod:`~bunjang_lab.fraud.phones`)
that :class:`_Message` found once for all rules.

Standard library only (the ``score text`` path imports it). Every pattern runs in
linear time; input is cut at :data:`MAX_CHARS`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Iterable, Iterator, NamedTuple

from bunjang_lab.fraud import categories as cat
from bunjang_lab.fraud.blocklist import shared as shared_blocklist
from bunjang_lab.fraud.context import (QUESTION, REFUSAL, REQUEST_CONTEXTS, WARNED_ABOUT, WARNING, Clauses,
                                       asks_for_safe_payment, paid_on_handover, stays_on_platform)
from bunjang_lab.fraud.links import KNOWN_SITES, OWNED_SITE_CODES, PAYMENT_APP_LINK, find_links
from bunjang_lab.fraud.mask import masked, personal_spans
from bunjang_lab.fraud.normalise import Normalised, normalise
from bunjang_lab.fraud.patterns import (
    AT_HANDLE, EMAIL, FRIEND_WORDS, HANDLE, ID_MARKER, KAKAO, LATIN_LETTER, Alternation, LazyPattern, lazy, KAKAO_WORDS, LINE_WORDS,
    NOT_HANDLES, OTHER_MESSENGER_WORDS, PHONE_IN_PIECES, PIECE_WORDS, TELEGRAM_WORDS, WECHAT, WHATSAPP, literal_first, literal_first_grouped, words_then,
)
from bunjang_lab.fraud.phones import (WrittenNumber, is_korean_mobile, is_nationwide, is_serial, place_landline,
                                      written_numbers)

MAX_CHARS = 20_000
MAX_EVIDENCE = 80

Span = tuple[int, int]
# Stand-ins in a message's words for "holds a link" and "holds a written number": detectors
# that look at those run only then, like the others on their trigger words.
LINK = "<link>"
NUMBER = "<number>"


# The words around a written number that make it a bank account (public: OCR checks its
# readings of Hangul against them, fraud.images.ppocr.contact_lexicon).
BANK_NAMES = ("국민", "신한", "우리(?=은행|뱅크|[^가-힣]|$)", "하나(?!씩|만|도|정도|밖에|뿐|쯤|둘|더|같|요)", "농협", "기업", "아이비케이", "카카오 ?뱅크", "카뱅", "토스 ?뱅크", "토스", "케이 ?뱅크", "케뱅", "토뱅",
               "새마을", "신협", "우체국", "수협", "sc ?제일", "씨티", "부산", "대구", "경남", "광주", "전북", "제주", "산업", "저축")
# (and any "…뱅크", "…bank": banks renamed or new, "iM뱅크"; the big banks' names romanised)
_BANK = lazy(
    literal_first(BANK_NAMES, "(?:은행|뱅크|금고)?") + "|은행|뱅크|"
    + "|".join(f"{word}(?<![a-z]{word})(?![a-z])" for word in ("kb", "nh", "ibk", "kdb", "sc", "bank", "shinhan", "sinhan",
                                                              "kookmin", "kukmin", "woori", "nonghyup", "nonghyeop",
                                                              "kakaobank", "tossbank", "kbank", "hanabank", "suhyup"))
)
# (and a request to send money there: "110-345-678901 여기로 보내주세요")
_ACCOUNT_WORD = lazy(r"계좌|입금|송금|이체|예금주|account|acct|a/c|sort code|보내 ?주(?:세요|시면)|wire|"
                     r"(?:send|sned|snd|pay|transfer)(?: it| the money| money)? to|"
                     r"ipgeum|songgeum|gyejwa|gyeojwa")  # (the Korean words romanised)

# The chat said not to work, the excuse for a contact elsewhere ("본 채팅창은 상시 확인이 어렵습니다",
# "번장은 알림이 늦게 와서"): a shop's or an office's line given with it is where the writer moves to.
_CHAT_EXCUSE = lazy(r"(?:채팅|채팅창|번장|번개톡|여기|앱)[은는이가]? ?(?:상시 |잘 |자주 |제때 |바로 )?"
                    r"(?:확인이? ?(?:어렵|힘들|못)|알림이? ?(?:안 ?와|안 ?뜨|늦|잘 안)|(?:잘 )?안 ?(?:봐요|봅니다|들어와)|답장?이? ?늦)")


class _Message:
    """A normalised text and what several rules look at, each found once."""

    __slots__ = ("text", "_has_latin", "_listed", "clauses", "words", "links", "numbers", "phones", "accounts", "banks",
                 "account_words", "korean_account_words", "assembled")

    def __init__(self, normalised: Normalised):
        text = normalised.text
        self.text = text
        self._has_latin: bool | None = None
        self._listed: list[tuple[WrittenNumber, str | None]] | None = None
        self.assembled: tuple[str, Span] | None | bool = False  # _assembled_kind's answer, once asked
        self.clauses = Clauses(text)
        self.words = _present_words(text)
        self.links = list(find_links(normalised))
        self.numbers = list(written_numbers(text, [(link.start, link.end) for link in self.links]))
        if self.links:
            self.words.add(LINK)
        self.phones: list[WrittenNumber] = []
        self.accounts: list[WrittenNumber] = []  # long enough for a bank account, and no phone
        self.banks: list[Span] = []
        self.account_words: list[Span] = []
        self.korean_account_words: list[Span] = []
        if self.numbers:
            self.words.add(NUMBER)
            self._sort_numbers()

    @property
    def has_latin(self) -> bool:
        """Whether the text holds a Latin letter (no handle without one): asked only by the
        handle rules, on the texts holding their words."""
        if self._has_latin is None:
            self._has_latin = LATIN_LETTER.search(self.text) is not None
        return self._has_latin

    def listed(self) -> list[tuple[WrittenNumber, str | None]]:
        """Each written number with its kind on the fraud blocklist (None when not on it),
        looked up once for the phone and the account rules."""
        if self._listed is None:
            kind = shared_blocklist().kind
            self._listed = [(number, kind(number.digits)) for number in self.numbers]
        return self._listed

    def _sort_numbers(self) -> None:
        """Phones and account numbers, from the words around each written number."""
        text = self.text
        self.banks = [m.span() for m in _BANK.finditer(text)]
        self.account_words = [m.span() for m in _ACCOUNT_WORD.finditer(text)]
        self.korean_account_words = [(a, b) for a, b in self.account_words if "가" <= text[a] <= "힣"]
        chat_excused = None  # (asked once, and only of texts with a shop's or company's line)
        for number in self.numbers:
            if is_serial(text, number) or place_landline(text, number):
                if number.kind != "phone" or is_nationwide(number.digits):  # (a courier's 1588-… stays one)
                    continue
                if chat_excused is None:
                    chat_excused = _CHAT_EXCUSE.search(text) is not None
                if not chat_excused:
                    continue
            # A phone-shaped number next to a bank's name or 계좌/입금 is an account, unless it
            # dials a Korean mobile ("account" alone does not: SMS lures say "call ... your account").
            if number.kind == "phone" and (is_korean_mobile(number.digits)
                                           or not (_near(self.banks, number) or _near(self.korean_account_words, number))):
                self.phones.append(number)
            elif len(number.digits) >= 10:
                self.accounts.append(number)


def _near(spans: list[Span], number: WrittenNumber, reach: int = 20) -> Span | None:
    """The first of ``spans`` within ``reach`` characters of the number, or None."""
    return next(((a, b) for a, b in spans if a < number.end + reach and b > number.start - reach), None)


class Detector(NamedTuple):
    """How a rule finds its evidence: ``find`` yields candidate spans of the normalised
    text to quote, in order. It runs only on texts holding one of ``words`` (trigger
    words, or :data:`LINK` / :data:`NUMBER`): one pass finds every rule's words, far
    cheaper than running every rule's expression on every text. A candidate in a clause
    that ``quiet_in`` names (:mod:`~bunjang_lab.fraud.context`: a question, a refusal, a
    warning) is skipped: requests without an identifier use it, identifiers never do."""

    find: Callable[[_Message], Iterator[Span]]
    words: frozenset[str]
    quiet_in: frozenset[str] = frozenset()

    def evidence(self, message: _Message) -> Span | None:
        """The first candidate not in a quiet clause, or None."""
        for span in self.find(message):
            if not self.quiet_in or not message.clauses.quiet(*span, self.quiet_in):
                return span
        return None


_SPAN = re.Match.span  # map(_SPAN, matches): a match's span without a generator's frame per match


def _scan_start(message: _Message, words: frozenset[str], reach: int) -> int:
    """Where a search for an expression holding one of ``words`` starts: ``reach``
    characters before the first of them in the text (what comes before cannot match)."""
    return max(0, min(map(message.text.find, words & message.words)) - reach)


def first_match(pattern: str | LazyPattern | Alternation, words: Iterable[str], quiet_in: frozenset[str] = frozenset(),
                reach: int | None = None, needs: tuple[str, ...] = ()) -> Detector:
    """Each match of ``pattern``, on texts holding one of ``words`` (and one of ``needs``
    when given: strings one of which is in every match). With ``reach``, every match holds
    one of ``words`` at most ``reach`` characters after its start, and the search starts there."""
    compiled = lazy(pattern) if isinstance(pattern, str) else pattern
    words = frozenset(words)

    def find(message: _Message) -> Iterator[Span]:
        if needs and not any(map(message.text.__contains__, needs)):
            return iter(())
        start = 0 if reach is None else _scan_start(message, words, reach)
        return map(_SPAN, compiled.finditer(message.text, start))

    return Detector(find, words, quiet_in)


def request(pattern: str | LazyPattern | Alternation, words: Iterable[str], reach: int | None = None) -> Detector:
    """:func:`first_match` for a request without an identifier: quiet when the writer asks
    about it, refuses it or warns about it."""
    return first_match(pattern, words, REQUEST_CONTEXTS, reach)


# The Latin words before a letters-only handle that make it one ("kakao: goodseller").
_NAMES_BEFORE_HANDLE = frozenset({"kakao", "kakaotalk", "talk", "katalk", "telegram", "tg", "line", "wechat", "weixin",
                                  "id", "whatsapp", "app", "insta", "instagram"})
_LATIN_WORD_BEFORE = lazy(r"([a-z]+)[^0-9a-z가-힣]{0,3}$")


def _longest_first(word: str) -> tuple[int, str]:
    return -len(word), word


# A well-known site's or brand's own account ("@nike_korea", "samsung.official"): pointed to when
# describing an item, as their links are (links.KNOWN_SITES), not a contact to move to.
_OFFICIAL_HANDLE = lazy(
    "(?:" + "|".join(sorted({site.split(".")[0] for site in KNOWN_SITES}, key=_longest_first)) + ")"
    + r"(?:[_.]?(?:korea|kr|kor|official|store|seoul|global))?"
    + r"|[a-z0-9_.]{2,30}[_.]official(?:[_.]?(?:kr|korea|kor|store))?"  # any brand's "…_official"
)


def plausible_handle(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` reads as a messenger ID rather than a word: it has a
    digit, ``_`` or ``.``, or starts with ``@``; a letters-only one must not sit inside an
    English phrase ("I don't use KakaoTalk", "WhatsApp, let's chat").

    >>> plausible_handle("카톡 goodseller 추가", 3, 13), plausible_handle("don't use kakaotalk", 0, 3)
    (True, False)
    """
    handle = text[start:end].lstrip("@").rstrip(".")  # a dot at its end closes the sentence ("skype later.")
    if (handle in NOT_HANDLES or _OFFICIAL_HANDLE.fullmatch(handle) or text.endswith(("?id=", "&id="), 0, start)
            or _SIZE.fullmatch(handle)):
        # (a link's parameter, "details?id=kr.co.app", is no one's ID; nor a size, "900x400")
        return False
    if text[start] == "@" or not handle.isalpha():
        return True
    after = text[end:end + 3].lstrip(" ,")
    if text.startswith("'", end) or (after[:1].isascii() and after[:1].isalpha()):
        return False
    before = _LATIN_WORD_BEFORE.search(text, max(0, start - 24), start)
    return before is None or before.group(1) in _NAMES_BEFORE_HANDLE


_SIZE = lazy(r"[0-9]+(?:\.[0-9]+)?(?:x[0-9]+(?:\.[0-9]+)?)+(?:mm|cm|m)?")
# A handle or a link a warning names is the scammer's, reported ("텔레그램 '@…' 고객센터 사칭 계정이래요"):
# quiet when its own sentence warns about it and does not ask to go there; so is a number or an account
# ("신한 110-… 으로 입금하라던 판매자 사기예요").
_HANDLE_QUIET_IN = frozenset({WARNED_ABOUT})


# A brand's account pointed to, to look at ("이 브랜드 인스타 계정 @… 보면 착용샷 있어요"), asking no contact.
# (or a maker's site to register or look an item up: "정품 등록은 titleist.co.kr 에서 시리얼 넣으면 돼요")
_BRAND_BEFORE = lazy(r"(?:브랜드|공식|디자이너|메이커|제조사|본사|정품 ?등록|정품 ?인증)[^\n]{0,16}$")
_TO_LOOK_AT = lazy(r"[^\n]{0,8}?(?:보면|보시면|참고|들어가 ?보시면|에 (?:올라온|있는|나와)|에서 (?:보|확인)|"
                   r"에서 [^.?!\n]{0,10}?(?:넣으면|입력하면|조회|등록))")
_ASKED_THERE = lazy(r"dm|디엠|연락|문의|메시지|메세지|추가|팔로우 ?(?:하시|해 ?주)|맞팔")


def _brand_to_look_at(text: str, start: int, end: int) -> bool:
    return bool(_BRAND_BEFORE.search(text, max(0, start - 20), start) and _TO_LOOK_AT.match(text, end)
                and not _ASKED_THERE.search(text, end))


def handle_after(pattern: str | LazyPattern, words: Iterable[str], reach: int = 0) -> Detector:
    """Each match of ``pattern`` whose handle (the group that matched: one per branch)
    reads as an ID (:func:`plausible_handle`). The search starts at the first of
    ``words`` in the text, or ``reach`` characters before it when the handle may come
    first: the rest of the text, where a handle-first branch is costly, is skipped."""
    compiled = lazy(pattern) if isinstance(pattern, str) else pattern
    words = frozenset(words)

    def find(message: _Message) -> Iterator[Span]:
        if not message.has_latin:  # most Korean chat: no handle to find
            return
        text = message.text
        position = _scan_start(message, words, reach)
        while (match := compiled.search(text, position)) is not None:
            group = match.lastindex
            if plausible_handle(text, match.start(group), match.end(group)) and not _brand_to_look_at(
                    text, match.start(group), match.end(group)):
                yield match.span()
                position = match.end()
            else:  # a word taken for a handle must not hide the real one after it ("add me on kakao: ab12")
                position = match.start() + 1

    return Detector(find, words, _HANDLE_QUIET_IN)


def either(*detectors: Detector) -> Detector:
    """The evidence of each of ``detectors`` that finds some (each on its own words and
    with its own quiet clauses), in order."""
    def find(message: _Message) -> Iterator[Span]:
        for detector in detectors:
            if detector.words.isdisjoint(message.words):
                continue
            span = detector.evidence(message)
            if span is not None:
                yield span

    return Detector(find, frozenset().union(*(detector.words for detector in detectors)))


def _unless(said: Callable[[str], bool], detector: Detector) -> Detector:
    """``detector``, quiet on texts of which ``said`` holds (asked only once it found something)."""
    def find(message: _Message) -> Iterator[Span]:
        found = detector.find(message)
        first = next(found, None)
        if first is not None and not said(message.text):
            yield first
            yield from found

    return Detector(find, detector.words, detector.quiet_in)


def _unless_safe_payment_asked(detector: Detector) -> Detector:
    """``detector``, quiet on texts asking for the platform's safe payment with no account number
    (a fee complained about, "ATM 수수료 아까워서 …", by a buyer who pays with 번개페이)."""
    return _unless(asks_for_safe_payment, detector)


def _unless_paid_on_handover(detector: Detector) -> Detector:
    """``detector``, quiet when the money is paid in person on handover or paid out by the
    platform (:func:`~bunjang_lab.fraud.context.paid_on_handover`): nothing asked for first."""
    return _unless(paid_on_handover, detector)


def on_links(find: Callable[[_Message], Iterator[Span]]) -> Detector:
    """A detector reading the message's links: it runs only when there are some, and is quiet
    where a warning names the link, as a handle is."""
    return Detector(find, frozenset({LINK}), _HANDLE_QUIET_IN)


def on_numbers(find: Callable[[_Message], Iterator[Span]]) -> Detector:
    """A detector reading the message's written numbers: it runs only when there are some, and
    is quiet where a report names the number, as a handle is."""
    return Detector(find, frozenset({NUMBER}), _HANDLE_QUIET_IN)


def link_classified(code: str) -> Detector:
    """Each link whose host :func:`~bunjang_lab.fraud.links.classify_host` gives ``code``."""
    def find(message: _Message) -> Iterator[Span]:
        return ((link.start, link.end) for link in message.links if link.code == code)

    return on_links(find)


_PAYMENT_NEAR_LINK = lazy(
    # (인증 as verifying oneself, not a certificate's number or mark: "PSA 인증번호 … 에서 조회하시면 등급 나와요")
    r"결제|결재|입금|송금|페이(?<!홈페이)(?!지)|pay|안전 ?거래|구매하기|주문하기|배송 ?조회|택배 ?조회|주문서|구매 ?확인|"
    r"인증(?! ?(?:번호|서|마크|제품|등급))|인증 ?번호 ?(?:입력|넣|알려|보내)|로그인|login|verify|confirm|claim|환불|refund|"
    r"카드 ?번호|유효 ?기간|cvc|생년월일"
)


@on_links
def _payment_link(message: _Message) -> Iterator[Span]:
    text = message.text
    for link in message.links:
        if link.code in OWNED_SITE_CODES or link.code == PAYMENT_APP_LINK:
            continue  # the platform's own, a site everyone knows, a payment app's (rule payment_app): no fake page
        if _brand_to_look_at(text, link.start, link.end) and asks_for_safe_payment(text):
            continue  # a maker's page to look at, by a seller who asks to pay on the platform
        if _PAYMENT_NEAR_LINK.search(text, max(0, link.start - 30), min(len(text), link.end + 30)):
            yield link.start, link.end


# A map's shared place, to meet at ("만날 곳 네이버지도 링크예요 https://naver.me/…"): the maps share short links.
_MAP_BEFORE = lazy(r"(?:지도|맵|map|위치|장소|만날 ?곳|약속 ?장소|주차)[^\n]{0,16}$")


def _shortened_link(message: _Message) -> Iterator[Span]:
    """Each link through a URL shortener but a map's place to meet, no payment words near it."""
    text = message.text
    for link in message.links:
        if link.code != "url_shortener":
            continue
        if (_MAP_BEFORE.search(text, max(0, link.start - 24), link.start)
                and not _PAYMENT_NEAR_LINK.search(text, max(0, link.start - 30), min(len(text), link.end + 30))):
            continue
        yield link.start, link.end


def _external_link(message: _Message) -> Iterator[Span]:
    """Each link outside the platform but a maker's or brand's own site pointed to, to look at."""
    for link in message.links:
        if link.code == "external_link" and not _brand_to_look_at(message.text, link.start, link.end):
            yield link.start, link.end


def blocklisted(kind: str) -> Detector:
    """Each number the fraud blocklist holds as a ``kind`` (``phone``/``account``)."""
    def find(message: _Message) -> Iterator[Span]:
        return ((n.start, n.end) for n, listed in message.listed() if listed == kind)

    return on_numbers(find)


def _at_handle(message: _Message) -> Iterator[Span]:
    """Each @handle but one in the path of a link to the platform or a well-known site
    (``youtube.com/@channel``): such a link is no reason, whatever its path names."""
    owned = [(link.start, link.end) for link in message.links if link.code in OWNED_SITE_CODES]
    text = message.text
    for match in AT_HANDLE.finditer(text):
        if any(start <= match.start() < end for start, end in owned) or _OFFICIAL_HANDLE.fullmatch(match.group()[1:]):
            continue
        # (a brand's account to look at; the writer's own shown to look at, the deal kept here: "인스타 @… 은
        # 착용샷만 올리는 곳이에요 구매는 번장에서 해주세요", no message asked there)
        if not _brand_to_look_at(text, *match.span()) and not (stays_on_platform(text)
                                                                and not _ASKED_THERE.search(text, match.end())):
            yield match.span()


@on_numbers
def _phone_number(message: _Message) -> Iterator[Span]:
    return ((phone.start, phone.end) for phone in message.phones)


# The reader's number asked for, to call or text them instead ("판매자님 번호 남겨주시면 5분 안에 전화드릴게요",
# "번호 하나만 남겨주시겠어요? 제가 문자로 실사진 보내드릴게요"); not to meet in person ("도착하면 전화드릴게요").
_FILLERS = r"(?:(?:좀|하나만|하나|만|여기에|여기|딱) ?){0,2}"  # (words between the thing asked for and the asking)
_CONTACT_ASKED = (rf"(?:번호|연락처|메일 ?주소)[을를]? ?{_FILLERS}"
                  r"(?:(?:남겨|알려|적어|주)(?:주시면|주세요|주실|주시겠|주시고|줘|주셈|시면|세요)|"
                  r"(?:알|받을) ?수 ?있을까요|알 ?수 ?있나요)")
_BY_PHONE_OR_MAIL = r"(?:전화|문자|통화|연락|메일)"
_WILL_SEND = r"(?:드릴|드리고|드리려|할게|할께|드려|보내|보낼|줄게|얘기|연락|대화)"
# ... or the number or address asked for after the call, text or mail it is for ("세부 조건은 문자로 보낼 테니
# 전화번호 남겨주세요", "보증서는 메일로만 보내드려요 이메일 주소 여기 적어주세요")
_NUMBER_ASKED = lazy(
    rf"{_CONTACT_ASKED}[^\n]{{0,40}}?{_BY_PHONE_OR_MAIL}[^.?!\n]{{0,12}}?{_WILL_SEND}|"
    rf"{_BY_PHONE_OR_MAIL}(?:로|으로)[^.?!\n]{{0,12}}?{_WILL_SEND}[^\n]{{0,30}}?{_CONTACT_ASKED}|"
    # (a mail address asked for needs no reason: the chat has no use for one, "지메일 주소만 하나 남겨주세요")
    rf"메일 ?주소[을를]? ?{_FILLERS}(?:남겨|알려|적어)(?:주시면|주세요|주실|주시겠|주시고|줘)"
)
# (meeting or handing over: a station, a gate, a courier, a parcel, a pickup; a review's honest messages)
_MEETING = lazy(r"직거래|도착|만나|만날|출구|근처|앞에서|픽업|방문|[가-힣]역(?![가-힣])|뵐게|뵙|정문|가지러|주차|경비실|퀵|용달|"
                r"택배|기사님|송장|입고|배송|수령|받는 ?분|내려가|늦으면|길 ?(?:헷갈|모르|찾)")


def _number_asked(message: _Message) -> Iterator[Span]:
    if _MEETING.search(message.text) is None:
        for match in _NUMBER_ASKED.finditer(message.text):
            # (asked as a question it is still asked: "연락처 좀 알 수 있을까요? … 문자로 얘기하는 게 편해서요";
            # refused or warned about where the number is named, not in the excuse after it, "잘 안 봐서")
            if not message.clauses.quiet(match.start(), match.start() + 2, _NOT_ASKED_OF_READER):
                yield match.span()


@on_numbers
def _bank_account(message: _Message) -> Iterator[Span]:
    for number in message.accounts:
        bank = _near(message.banks, number)
        if bank:  # the evidence quotes the bank's name with the number
            yield min(bank[0], number.start), max(bank[1], number.end)


@on_numbers
def _account_number(message: _Message) -> Iterator[Span]:
    for number in message.accounts:
        if not _near(message.banks, number) and _near(message.account_words, number):
            yield number.start, number.end


# A character between a keyword and what it goes with: never across the end of a sentence,
# marked ("?", ".") or not ("할게요 카톡 ...": chat often runs sentences together).
# (The endings as literals, not a class: a class beyond Latin-1 costs a millisecond to compile,
# and expressions repeat the gap once per word.)
_GAP = r"(?:(?!요[ .?!\n]|다[ .?!\n]|죠[ .?!\n])[^.?!\n])"
# Between a messenger's name and an ID: also a line break ("카톡\nab1234": the ID on its own line).
_ID_GAP = r"(?:(?!요[ .?!\n]|다[ .?!\n]|죠[ .?!\n])[^.?!])"
# What follows a messenger's name when the writer asks to continue there.
_CONTACT_REQUEST = (
    r"(?:주세요|주시면|주셈|줘|주라|주실|부탁|바랍|남겨|해 ?주|하세요|해요|합시다|하자|할게|하실|드릴게|드릴께|드려요|드립니다|"
    r"연락|문의|친추|추가|ㄱㄱ|와 ?주|오세요|와요|넘어|옮기|contact|add|message|text|dm|call|reach|chat|talk|hit|"
    r"(?:으로|로)만 ?(?:받|상담|답)|"  # (only there: "문의는 네이버 톡톡으로만 받아요")
    # the writer's ID there, to be found in their profile ("카톡 ID는 프로필에 있어요")
    r"(?:아이디|아디|아뒤|id(?<![a-z]id)(?![a-z]))[은는이가]? ?(?:프로필|프사|상메|상태 ?메시지|소개|닉네임|대화명|bio))"
)
# (the app's own things and data, not a contact: "카톡 백업 다 지우고 초기화했어요")
_KAKAO_NOT = (r"(?! ?(?:프렌즈|페이|뱅크|pay|friends|택시|t |맵|게임|선물|이모티콘|웹툰|쇼핑|기프트|gift|알림|프로필|테마|"
              r"백업|데이터|대화 ?(?:내용|기록)|기록|캡처|업데이트|설치|로그아웃|탈퇴))")
# The expressions below start every branch with a word (several times faster): literal_first,
# words_then for one family of words, an Alternation for many families of words each with a
# rest holding classes of Hangul syllables (each rest compiled once, and only when needed).
_KAKAO_ID = lazy(rf"{KAKAO}{_KAKAO_NOT}{_ID_GAP}{{0,12}}?({HANDLE})|({HANDLE}){_ID_GAP}{{0,8}}?{KAKAO}{_KAKAO_NOT}")
_KAKAO_TRIGGERS = ("카톡", "카카오", "kakao", "katalk", "ka톡", "플친", "플러스친구")
_KAKAO_CONTACT = lazy(
    # (the ID asked for with a word or two between: "카톡 아이디 하나만 알려주세요"; a channel to add, whose
    # name may be long: "카카오 채널 당근안심거래센터 추가하시면")
    literal_first(KAKAO_WORDS, rf"{_KAKAO_NOT}(?:{_GAP}{{0,12}}?{_CONTACT_REQUEST}| ?채널{_GAP}{{0,24}}?(?:추가|친추|검색))") + "|"
    + literal_first(("연락", "문의", "대화"), rf"[은는]?{_GAP}{{0,6}}?{KAKAO}{_KAKAO_NOT}")
)
_TELEGRAM_TRIGGERS = ("텔레", "telegram", "tg")
_WECHAT_TRIGGERS = ("위챗", "wechat", "weixin", "微信")
_WHATSAPP_TRIGGERS = ("wa.me", "왓츠앱", "whatsapp", "whats app")
# Grouped, not literal_first: a class holding the Hangul syllables costs a millisecond to
# compile (in every `score text` process), and these run only on texts with a Latin letter,
# from their first word on.
_OTHER_MESSENGER_TRIGGERS = ("시그널", "바이버", "viber", "디스코드", "디코", "discord", "페메", "페이스북", "facebook", "스냅챗",
                             "snapchat", "스카이프", "skype", "밴드", "톡톡", "위쳇", "잘로", "zalo", "qq", "틱톡", "tiktok", "트위치",
                             "twitch")
_OTHER_MESSENGER_CONTACT = words_then(
    OTHER_MESSENGER_WORDS, rf"{_GAP}{{0,8}}?{_CONTACT_REQUEST}"
                           # (or a nickname there, then a friend request: "디코 닉 … 친추로 와주세요")
                           r"| ?(?:닉(?:네임)?|아이디|유저 ?네임|username|사용자 ?이름|태그|tag)[은는이가]?[^\n]{0,60}?"
                           r"(?:친추|친구 ?(?:추가|신청)|추가해|dm|디엠|메시지 ?(?:주|보내)|메세지 ?(?:주|보내)|말 ?걸어)"
                           # (or its server or channel to come into: "디코 서버 … 들어와서 닉 남겨주세요")
                           r"| ?(?:서버|채널)[^\n]{0,60}?(?:들어와|들어오|입장|join)")
# Any messenger, unnamed, to move to ("평소 쓰시는 메신저로 옮겨서 얘기해요")
# (not said to be needless: "다른 메신저로 연락하실 필요 없어요")
_SOME_MESSENGER = lazy(r"(?:다른|평소 ?(?:쓰|사용)[가-힣]{0,3}|편한|편하신|개인|자주 ?쓰[가-힣]{0,3}) ?메신저(?:로|으로) ?"
                       r"(?:옮|넘어|이동|갈아타|얘기|연락|대화)(?![^.?!\n]{0,12}?(?:필요 ?없|안 ?해|안 ?돼|마세요|말고))")
# English puts the request first ("text me on Signal"): "signal" alone is a phone's signal.
_ON_OTHER_MESSENGER = (r"(?:text|message|contact|reach|add|dm|hit|find|call) me(?: up)? (?:on|via|at) "
                       r"(?:signal|viber|discord|snapchat|skype|facebook|messenger|zalo|reddit|twitter|x\.com)(?![a-z])")
_FRIEND_ID = rf"(?:{'|'.join(FRIEND_WORDS)})[^0-9a-z가-힣]{{0,3}}({HANDLE})"
# ... or the ID first ("gomdori_88 ◀ 친추ㄱㄱ", "ab1234 로 친구추가"): found back from the request, since
# an expression starting with a handle would be tried at every place of the text.
_ADD_FRIEND = lazy("친추|친구 ?추가")
_HANDLE_BEFORE_REQUEST = lazy(rf"({HANDLE})[^0-9a-z가-힣]{{0,3}}(?:으로|로)? ?$")


def _handle_before_friend_request(message: _Message) -> Iterator[Span]:
    if not message.has_latin:
        return
    text = message.text
    for request in _ADD_FRIEND.finditer(text):
        found = _HANDLE_BEFORE_REQUEST.search(text, max(0, request.start() - 26), request.start())
        if found is not None and plausible_handle(text, *found.span(1)):
            yield found.start(), request.end()
# A handle right after a messenger without a rule of its own ("스카이프 live:.cid.4f2a", "시그널 haru_22").
_OTHER_MESSENGER_ID = words_then(OTHER_MESSENGER_WORDS, rf"{_ID_GAP}{{0,12}}?({HANDLE})")
# An ID given by reference: the same as the writer's name here ("아이디는 제 닉네임이랑 같아요",
# "상점 이름 그대로가 아이디예요"): a handle to look up elsewhere, without writing it.
_NAME_HERE = r"(?:제 |내 |저의 |제)?(?:번장 |번개장터 |여기 |상점 |이 ?계정 )?(?:닉네임|닉|상점 ?이름|상점명|대화명|이름)"
_ID_AS_NAME = lazy(
    rf"(?:{ID_MARKER}|이?메일)[은는이가도]? ?{_NAME_HERE}(?:이랑|하고|과|와|랑)? ?(?:같|똑같|동일|그대로)|"
    rf"{_NAME_HERE}(?:이랑|하고|과|와|랑)? ?(?:같은|똑같은|동일한|그대로[가는]?|이 ?곧) ?{ID_MARKER}"
)
# 라인 alone is a common word (넥라인, 라인업, 라인 프렌즈), so a bare "라인 <handle>" counts
# only when the handle reads as an ID: two letters or more, then a digit ("라인 minsu88",
# written so on photos; not "라인 s23" or "라인 led").
_LINE_ID = lazy(rf"(?:{'|'.join(LINE_WORDS)})[^0-9a-z가-힣]{{0,3}}{ID_MARKER}[^0-9a-z]{{0,3}}({HANDLE})"
                rf"|(?<![가-힣])라인[^0-9a-z가-힣]{{1,3}}(?=@?[a-z][a-z_.\-]{{1,18}}[0-9])({HANDLE})")
_LINE_CONTACT = literal_first(LINE_WORDS, r"(?:으로|로|에서)? ?(?:친추|연락|대화|메신저|메세지|messenger|추가|주세요)")
_SHORT_CODE = lazy(
    r"(?<![a-z])(?:text|txt|send|reply|rply|sms|msg|mms|opt out|stop)[a-z]{0,3}(?![a-z]).{0,40}?"
    r"(?:to|on|2)\s{0,2}(?:no:?\s{0,2})?(\d{4,6})(?![\d%])"
)

# Who asks for what: the writer asks the reader to pay first, only by transfer, into an
# account, or ships once paid; a buyer offering to pay ("보내드릴게요") is not in here.
_MONEY_WORDS = ("입금", "송금", "이체")
_PLEASE_PAY = r"(?:주세요|주시면|주셔야|줘|주셈|부탁|바랍|주시고|주이소)"  # (주이소: Gyeongsang)
# Verbs of sending money (부쳐: sent, in dialect and older speech).
_SEND = "(?:입금|송금|이체|보내|넣어|부쳐)"
# Sums asked for before the goods: any of them "먼저" is a request to pay first.
# Fees to hold an item for the buyer ("찜비", "홀딩비": a deposit to reserve it): asking for one is
# asking to be paid before the goods, "먼저" or not.
_HOLD_FEES = ("찜비", "홀딩비", "홀딩 ?비용", "예약비", "계약금", "예약금", "보증금", "예치금", "착수금")
_UPFRONT_SUMS = ("돈", "대금", "금액", *_HOLD_FEES, "반값", "절반", "현금", "잔금")
# Ways to pay outside the platform that are no bank transfer (gift-card PINs, coins, cash machines).
_OUTSIDE_MEANS = ("상품권", "핀 ?번호", "기프티콘", "기프트 ?카드", "gift ?card", "코인", "usdt", "페이코", "atm", "주유권")
_PREPAY_FAMILIES = (  # (words, rest[, what the scan needs after a word: see Alternation])
    # not 선결제: paying first into the safe payment is how the platform works
    (("선 ?입금", "선 ?송금", "입금 ?먼저", "송금 ?먼저", "이체 ?먼저", "먼저 ?(?:입금|송금|이체)", "입금 ?부터", "송금 ?부터",
      "이체 ?부터"), ""),
    (("계좌 ?이체", "계좌", "무통장 ?(?:입금)?", "현금 ?입금", *_MONEY_WORDS), " ?(?:으로|로)? ?만(?![가-힣])",
     " ?(?:으로|로)? ?만"),
    (("계좌", "통장", "무통장", "토스"),  # 토스: the transfer app
     rf"(?:번호)?(?:으로|로|에)? ?(?:바로 |먼저 )?{_SEND}[가-힣]{{0,3}} ?{_PLEASE_PAY}",
     f"(?:번호)?(?:으로|로|에)? ?(?:바로 |먼저 )?{_SEND}"),
    # those who pay by transfer are served first ("통장으로 바로 넣어주시는 분께 우선 판매")
    (("계좌", "통장", "무통장", *_MONEY_WORDS),
     rf"(?:번호)?(?:으로|로|에)? ?(?:(?:바로|먼저|빨리) )?{_SEND}?[가-힣]{{0,5}} ?(?:분|사람)(?:께|에게|한테|만|을|를)? ?(?:우선|먼저)",
     ".{0,16}?(?:분|사람)"),
    (("계좌로 ?(?:주세요|주시면|줘|부탁)", "통장으로 ?(?:주세요|주시면|줘|부탁)"), ""),  # "계좌로 주세요": the verb left out
    # a sum, perhaps with its amount ("보증금 2만원 먼저", "예약금 만원만 먼저")
    (_UPFRONT_SUMS, r"(?:[은는을를도만]|부터)? ?(?:[0-9,]+ ?[천만]?원 ?|[가-힣]{1,3}원 ?)?(?:만 ?)?먼저", ""),
    (("돈부터", "먼저 ?돈"), ""),
    # a hold fee with a verb of sending asked for ("찜비 만원만 보내주시면", "홀딩비 2만원 입금하시면")
    (_HOLD_FEES, rf"(?:[은는을를도만])? ?(?:[0-9,]+ ?[천만]?원 ?|[가-힣]{{1,3}}원 ?)?(?:만 ?)?(?:먼저 ?)?"
                 rf"(?:{_SEND}|쏴)[가-힣]{{0,4}}? ?(?:{_PLEASE_PAY}|주면|하시면)", ""),
    # the verb may come after an adverb and a verb of sending ("송금으로 먼저 주세요", "송금하기로 보내주세요")
    (_MONEY_WORDS, rf"(?: ?(?:해|하))?[가-힣]{{0,3}} ?(?:(?:먼저|바로|지금) ?)?(?:(?:보내|넣어|쏴|부쳐) ?)?(?:{_PLEASE_PAY}|주면)",
     rf".{{0,12}}?(?:{_PLEASE_PAY}|주면)"),  # (what comes between is at most 12 characters, no line break)
    # (what comes between may name the vouchers: "상품권 실물 10만원권 두 장 등기로 보내주시면")
    (_OUTSIDE_MEANS, rf"(?:(?:으로|로|을|를)?(?:(?!번개|번페|안전)[^.?!\n]){{0,24}}?(?:결제|송금|보내|넣어|입금)(?: ?(?:해|하))?"
                     rf"[가-힣]{{0,3}} ?(?:{_PLEASE_PAY}|주면)|(?:으로|로) ?(?:만 ?)?받(?:아요|습니다|음))", ""),
    (("돈", "직접", "바로", "먼저", "계좌로", "계좌"), r" ?쏴 ?(?:주세요|주시면|줘|주셈|드림|드릴게)"),
    (_MONEY_WORDS, r" ?(?:확인 ?|완료 ?)?(?:후|되면|하면|시|되는 ?대로|하시면|즉시|되자마자|하자마자) ?"
                   r"(?:바로 |즉시 |당일 |오늘 )?(?:발송|배송|보내|택배|출고|포장)"),
    (("계좌",), r" ?(?:번호)? ?(?:알려|보내|남겨|적어)? ?(?:드릴게|드릴께|드려요|드립니다|드릴 ?테니|드리겠)"),
    # proof of a transfer asked for ("송금 후 입금자명 캡처 보내주세요", "이체 내역 스샷 올려주세요")
    (_MONEY_WORDS, rf"[가-힣 ]{{0,10}}?(?:캡처|캡쳐|스샷|스크린샷|인증샷|확인증)(?:해서|해|을|를)? ?(?:보내|올려)? ?{_PLEASE_PAY}",
     ".{0,10}?(?:캡|스샷|스크린샷|인증샷|확인증)"),
    (("pay", "wire", "send", "transfer"), "(?: me)?(?: the)?(?: money| payment)? first"),
    (("payment first", "deposit first", "pay up ?front", "bank transfer only", "transfer only",
      "only (?:accept )?bank transfer"), ""),
    (("deposit", "transfer", "send"), r"(?: the)?(?: money| payment)? (?:to|into) (?:my|this|the following) (?:bank )?account"),
)
_PREPAY = Alternation(*_PREPAY_FAMILIES)
# A sum sent first ("사만오천원 먼저 넣어주시면", "30% 먼저 보내주세요"): the sum is told right before.
_SENT_FIRST = lazy(rf"먼저 ?(?:{_SEND}|쏴)[가-힣]{{0,3}} ?(?:{_PLEASE_PAY}|주면)")
_SUM_BEFORE = lazy(r"(?:\d[\d,.]*(?: ?[천만억])?|[일이삼사오육칠팔구십백천만억]+) ?(?:원|%|퍼센트|프로)(?:[은는을를도만]|정도|만큼|씩)? ?$")


def _sum_sent_first(message: _Message) -> Iterator[Span]:
    text = message.text
    for match in _SENT_FIRST.finditer(text, text.find("먼저")):
        before = _SUM_BEFORE.search(text, max(0, match.start() - 16), match.start())
        if before is not None:
            yield before.start(), match.end()
# The purchase confirmed before the goods arrive ("안전결제 하시고 구매확정까지 먼저 눌러주시면 … 보내드릴게요"): the
# safe payment's money released first, as good as paid first.
_CONFIRMED_FIRST = lazy(r"(?:구매 ?)?확정[^.?!\n]{0,8}?(?:먼저|미리)|(?:먼저|미리)[^.?!\n]{0,8}?구매 ?확정")
_SAFE_PAY_WORDS = ("안전 ?결제", "안전 ?거래", "번개 ?페이", "번페", "에스크로", "escrow", "safe ?pay[a-z]{0,4}", "세이프 ?페이")
_SAFE_PAY = f"(?:{'|'.join(_SAFE_PAY_WORDS)})"
# not "번개" alone: 번개장터 and 번개톡 are in most chat and are not the safe payment
_SAFE_PAY_TRIGGERS = ("안전", "번개페이", "번개 페이", "번페", "에스크로", "escrow", "safe", "프페", "프 페")  # (세이프페이: 세 is common)
_NOT_ASKED = frozenset({QUESTION, WARNING})  # its own words say no: a refusal is what it finds
_REFUSED = (
    # (not "얼마 안 돼": the fee is little)
    r"(?:말고|대신|싫|안 ?(?:해|돼|되|받|씀|써)(?<!얼마 안 돼)(?<!얼마 안 되)(?<!얼마 안돼)(?<!얼마 안되)|못 ?(?:해|받)|불가|노노|ㄴㄴ|사절|거부|귀찮|복잡|번거|하지 ?마|쓰지 ?마|"
    r"x(?<![0-9a-z./]x)(?![0-9a-z])|no(?<![0-9a-z./]no)(?![0-9a-z]))"  # literals first: see patterns.literal_first
)
_REFUSING_EMOJI = "🙅❌✖⛔🚫"
# The safe payment called unsafe, an account the way out ("번개페이 해킹 사고 나서 다들 계좌로 거래해요")
_DANGER_WORDS = ("해킹", "사고", "털렸", "털려", "먹튀", "위험", "불안", "정지", "막혀", "막혔", "먹통", "점검")
_SAFE_PAY_DANGER = rf"{_GAP}{{0,12}}?(?:{'|'.join(_DANGER_WORDS)})[^\n]{{0,40}}?(?:계좌|통장|이체|입금)"
# ("계좌 말고 번개페이로", "직거래 대신 안전결제": what comes before 말고 is refused, and the
# safe payment after it asked for: no refusal of it.)
_SAFE_PAY_REFUSAL = lazy(
    # (not the reader's feeling, in honorific form: "수수료 아까워하실까봐 가격에서 뺐어요")
    r"수수료" + _GAP + r"{0,8}?(?:아끼|아까(?!워 ?하시|워 ?하실|우시|우실)|아깝|없이|절약|빼|때문|싫|떼)|"
    + literal_first(_SAFE_PAY_WORDS, f"(?: ?[{_REFUSING_EMOJI}]|{_SAFE_PAY_DANGER})")
)
# One of these is in every match of it: most texts that name the safe payment hold none.
_SAFE_PAY_REFUSAL_NEEDS = ("수수료", *_REFUSING_EMOJI, *_DANGER_WORDS)
# The safe payment made, to be cancelled for a discount or an account ("번개페이 결제 취소하시면 만원 더 빼드릴게요")
# (the money then leaving the platform, not a re-order or a refund: "취소하고 다시 주문해주세요")
_SAFE_PAY_CANCELLED = lazy(rf"{_SAFE_PAY}[^.?!\n]{{0,10}}?취소(?:하시|해 ?주|하고|하면)"
                           r"(?![^\n]{0,60}?(?:다시 ?(?:주문|결제|올릴|구매|번개|안전)|새 ?글|재주문|환불|카드사|포인트|쿠폰))"
                           r"[^\n]{0,40}?"
                           r"(?:계좌|송금|이체|직접 ?(?:보내|입금|송금|이체)|따로 ?(?:보내|입금|송금|드릴|드려))")
# Between the safe payment and a negation: another way to pay named, or the safe payment
# asked for ("번개페이로 하이소 계좌는 안 받심더"): the negation is about something else.
_REFUSAL_ELSEWHERE = lazy(
    r"계좌|통장|무통장|직거래|현금|이체|입금|송금|카톡|ㄱㄱ|고고|"
    r"(?:로|으로) ?(?:결제 ?|진행 ?)?(?:해 ?주|하이소|하이다|하소|하세요|해요|할게|할께|합시다|부탁|주세요|바랍)"
)
_SENTENCE_END = lazy(r"[.?!\n요다죠](?:(?<=[.?!\n])|(?<=[요다죠])[ .?!\n])")  # a class first: see context._CLAUSE_END


def word_then(word: str, then: str, reach: int, words: Iterable[str],
              quiet_in: frozenset[str] = frozenset(), not_between: LazyPattern | None = None, back: int = 0) -> Detector:
    """Each match of ``word`` followed, within ``reach`` characters of the same sentence, by
    ``then`` (with no match of ``not_between`` between them): the same as
    ``word.{0,reach}?then`` in one expression, but the engine looks for ``then`` only after
    a ``word``, instead of trying every step of the gap. The search starts ``back`` characters
    before the first of ``words`` (a trigger word may lie inside ``word``)."""
    first, second = lazy(word), lazy(then)
    words = frozenset(words)

    def find(message: _Message) -> Iterator[Span]:
        text = message.text
        start = _scan_start(message, words, back)
        if second.search(text, start) is None:  # most texts: nothing after any of the words
            return
        for match in first.finditer(text, start):
            stop = min(len(text), match.end() + reach + 8)
            sentence = _SENTENCE_END.search(text, match.end(), stop)
            found = second.search(text, match.end(), sentence.end() if sentence else stop)
            if (found is not None and found.start() - match.end() <= reach
                    and (not_between is None or not_between.search(text, match.end(), found.start()) is None)):
                yield match.start(), found.end()

    return Detector(find, words, quiet_in)


# A contact given by reference to a picture, not written ("번호는 제 프로필 사진에 적어놨어요", "카톡 QR 코드
# 사진 세 번째 장에 있어요 찍어서 친추해 주세요"): where it is and that it is there, and the contact named
# before in the same sentence, found back from the picture. Woken by the contact's words, most of them the
# trigger words of other rules already (a picture's words, 사진, 이미지, 그림, start with syllables common in
# chat: as trigger words they cost 5% of the rules' time). 번호 alone only when no word names it before
# but 제/내 (a model's or a parcel's number in a photo is no contact).
_PICTURE_WORDS = ("프사", "프로필", "사진", "이미지", "그림")
_IN_PICTURE = lazy(literal_first(_PICTURE_WORDS, r"[^.?!\n]{0,12}?(?:적어|써 ?(?:놨|뒀|놓|둠)|올려|넣어|있어요|있습니다|있음|"
                                                r"있으니|있어용|나와 ?있|참고|보시면)"))
_CONTACT_NAMES = ("연락처", "전화 ?번호", "폰 ?번호", "번호(?<!(?![제내])[가-힣a-z] 번호)(?<!(?![제내])[가-힣a-z]번호)",
                  *KAKAO_WORDS, "텔레 ?그램", "오픈 ?채팅", "아이디", "아디")
_CONTACT_WORDS = frozenset({"연락처", "번호", *_KAKAO_TRIGGERS, "텔레", "오픈", "아이디", "아디"})
_CONTACT_BEFORE = lazy(f"(?:{'|'.join(_CONTACT_NAMES)})[은는이가도을를]?{_GAP}{{0,14}}$")


# ... or a QR code to scan and add ("QR 찍어서 친추", "큐알 스캔하시면 대화방"): not one on the item (정품 인증 QR)
_QR_TO_SCAN = lazy(r"(?:qr(?<![a-z]qr)|큐알)[^.?!\n]{0,30}?(?:찍|스캔|scan|인식)[^.?!\n]{0,12}?"
                   r"(?:친추|친구|추가|연락|대화|채팅|말 ?걸|들어)")
_QR_WORDS = frozenset({"qr", "큐알"})
# ... or the writer's account in a picture's watermark ("워터마크 보이시죠? 그게 제 인스타 계정이에요 … 디엠 주시면")
_WATERMARK_CONTACT = lazy(r"워터마크[^\n]{0,40}?(?:계정|아이디|인스타|번호|연락처|채널)[^\n]{0,40}?"
                          r"(?:디엠|dm|연락|문자|추가|팔로우|메시지|메세지)")


def _contact_in_picture(message: _Message) -> Iterator[Span]:
    text = message.text
    named = _CONTACT_WORDS & message.words
    # (most texts naming a contact name no picture: these tests cost half the expression's search)
    if named and ("사진" in text or "프" in text or "이미지" in text or "그림" in text):
        for place in _IN_PICTURE.finditer(text, min(map(text.find, named))):
            contact = _CONTACT_BEFORE.search(text, max(0, place.start() - 30), place.start())
            if contact is not None:
                yield contact.start(), place.end()
    if not _QR_WORDS.isdisjoint(message.words):
        yield from map(_SPAN, _QR_TO_SCAN.finditer(text))
    if "워터마크" in message.words:
        yield from map(_SPAN, _WATERMARK_CONTACT.finditer(text))
# A site to find by a search and pay there ("구글에 '번개 안전결제' 치면 나오는 사이트에서 결제해 주세요"):
# a payment page with no link to check, chosen by the writer. (Woken by the search's verb, rarer in chat
# than the engines' names.)
_SITE_BY_SEARCH = lazy(
    literal_first(("구글", "google", "네이버", "naver", "유튜브", "youtube", "검색창", "플레이 ?스토어", "play ?store", "앱 ?스토어", "app ?store",
                   "원스토어", "원 스토어"),
                  # (the platform's own name searched for is its own site)
                  r"(?![^.?!\n]{0,24}?(?:번개 ?장터|번장|bunjang))[^.?!\n]{0,24}?(?:검색|치면|치시면|쳐서|쳐 ?보|입력|search)[^.?!\n]{0,30}?"
                  r"(?:사이트|페이지|홈페이지|주소|링크|site|page|앱|어플|아이콘)[^\n]{0,30}?"
                  r"(?:(?:결제|입금|송금|로그인|인증|주문|카드 ?(?:번호|등록)|pay|login)[을를]? ?"
                  r"(?:해 ?주|하시면|하세요|하면 ?(?:돼|되|됩)|진행|부탁|해야|하셔야|해요|하시고)|결제 ?창|"
                  # ... or a deal's number to enter there ("나오는 사이트에서 거래번호 넣어주세요")
                  r"(?:거래|주문|판매|상품|인증|결제) ?(?:번호|코드)[^.?!\n]{0,12}?(?:넣|입력|치)(?![^.?!\n]{0,14}?조회))")
)
_SITE_BY_SEARCH_NEEDS = ("결제", "입금", "송금", "로그인", "인증", "주문", "카드", "pay", "login", "번호", "코드")
# A URL shortener named in Hangul with its path given apart ("비틀리 주소 뒤에 /bj_pay22 붙이세요").
_SHORTENER_IN_HANGUL = lazy(r"(?:비틀리|빗틀리|빗리|커틀리|컷틀리)[^\n/.?!]{0,16}?(?<![0-9a-z])/[0-9a-z_\-]{3,40}")
# A payment app's ID to send money to ("토스 아이디 @minjoo_k 로 송금", "카카오페이 id: kim_88"): an ID marker
# or an @ before it.
_PAYMENT_APPS = ("토스", "toss", "카카오 ?페이", "kakao ?pay", "페이코", "payco", "네이버 ?페이", "naver ?pay")
# (Woken by the ID marker or the @, rarer in chat than the apps' names: the search starts up to ten
# characters before it, "카카오 페이 아이디".)
_PAYMENT_APP_ID = handle_after(
    words_then(_PAYMENT_APPS, rf"(?:{_GAP}{{0,3}}?{ID_MARKER}[은는이가]?[^0-9a-z가-힣]{{0,3}}({HANDLE})"
                              r"|[^0-9a-z가-힣]{0,3}(@(?=[0-9._\-]{0,19}[a-z])[a-z0-9][a-z0-9_.\-]{2,19}(?![0-9a-z_@])))"),
    ("@", "아이디", "아디", "아뒤", "계정", "id"), reach=10)
_APP = f"(?:{'|'.join(_PAYMENT_APPS)})"
_APP_NAMED = lazy(_APP)
_APP_NAME_SEARCH = lazy(rf"{_APP}[^\n]{{0,40}}?(?:'[^'\n]{{1,20}}'|\"[^\"\n]{{1,20}}\"|"
                        rf"{ID_MARKER}[^0-9a-z가-힣]{{0,3}}{HANDLE}|(?=[a-z]{{0,19}}[0-9_]){HANDLE}(?= ?[을를]? ?(?:검색|찾)))"
                        r"[^\n]{0,12}?(?:검색|찾)[^\n]{0,40}?(?:보내|송금|입금|쏴|(?:저|제 ?(?:이름|프로필|계정))[이가]? ?(?:나와|예요|에요|떠|뜹))")
# A money request sent in the app, to be paid there ("토스로 더치페이 요청 보냈어요 알림 뜨면 보내기만 눌러주세요")
_APP_REQUEST = lazy(rf"{_APP}[^\n]{{0,30}}?(?:송금 ?요청|더치 ?페이|정산 ?요청|돈 ?요청|요청서?)"
                    r"[^.?!\n]{0,6}?(?:보냈|보내 ?드렸|드렸|갔|넣었|보낼게|보내 ?드릴)"
                    # (not what was, or what another said: "드렸던 분들", "갔다고 떠요", "보낼게요 하셔서")
                    r"(?!던|다고|다는|는데)(?![^.?!\n]{0,8}?(?:하셔서|하시길래|라고|하는 ?분))")
_APP_TO_NUMBER = lazy(rf"{_APP}[^\n]{{0,40}}?(?:받는 ?(?:사람|분)|번호|폰|전화)[^0-9\n]{{0,12}}$")
# An ID and its mail provider named after it, to write to ("kimjw_trade 네이버 메일로", "seoyun.sells 지메일로")
_ID_AT_PROVIDER = lazy(r"(?<![0-9a-z_.@])(?=[a-z]{0,29}[0-9_.])[a-z][a-z0-9_.]{3,29}[^0-9a-z가-힣\n]{0,3}"
                       r"(?:(?:네이버|다음|한메일|네이트|초록창|naver) ?(?:메일|mail)|지메일|g메일|gmail)(?:로|으로|에|주소)")
_NUMBER_THEN_APP_WORD = lazy(r" ?(?:번호|폰)(?:로|으로)")
_PAYMENT_APP_NAMES = ("토스", "toss", "카카오페이", "카카오 페이", "kakaopay", "kakao pay", "페이코", "payco", "네이버페이",
                      "네이버 페이", "naverpay", "naver pay")


def _payment_app(message: _Message) -> Iterator[Span]:
    for link in message.links:
        if link.code == PAYMENT_APP_LINK:
            yield link.start, link.end
    if not _PAYMENT_APP_ID.words.isdisjoint(message.words) and any(map(message.text.__contains__, _PAYMENT_APP_NAMES)):
        yield from _PAYMENT_APP_ID.find(message)
    # a name to look up in the app, a money request sent in it
    for needed, expression in (("검색", _APP_NAME_SEARCH), ("요청", _APP_REQUEST)):
        if needed in message.text and any(map(message.text.__contains__, _PAYMENT_APP_NAMES)):
            for match in expression.finditer(message.text):
                if not message.clauses.quiet(*match.span(), REQUEST_CONTEXTS):
                    yield match.span()
    if message.phones and any(map(message.text.__contains__, _PAYMENT_APP_NAMES)):
        for phone in message.phones:  # money sent in the app to the writer's number ("받는 사람에 제 번호 010-…")
            app = _APP_TO_NUMBER.search(message.text, max(0, phone.start - 60), phone.start)
            if app is None and _NUMBER_THEN_APP_WORD.match(message.text, phone.end):  # ("010-… 번호로 봉투 보내시면")
                app = _APP_NAMED.search(message.text, max(0, phone.start - 60), phone.start)
            if app is not None:
                yield app.start(), phone.end


# --- Identifiers the reader is told how to make, and places outside the chat -------------
# A lure that writes no identifier whole tells the reader how to make it: join the pieces ("그 앞에
# 010만 붙이면 제 폰이에요", "이어 붙이면 계좌예요"), repeat or reverse them ("생일 두 번", "뒤에서부터
# 읽어서"), swap a character ("Q를 점으로 바꿔서"), work a sum out, decode it, or read it off a table
# (braille, dice, the phone's keypad, the keyboard left in the other language, a key given as "도=1 레=2").
# It fires when such an instruction, pieces to make it from (digits, Latin letters, a quoted name, runs
# of symbols, emoji, jamo or Morse), what
# they make (a number, an ID, an account, an address) and what to do with it (text, add, send, open)
# are all within a few sentences; what they make decides the category.
# (Woken by what is made, not by the instructions: most of those start with syllables common in chat,
# and each new first letter makes the one scan for every rule's words stop at more places.)
_ASSEMBLED_WORDS = ("번호", "계좌", "통장", "예금주", "아이디", "아디", "카톡", "톡", "주소", "url", "링크", "연락", "폰", "입금", "계정",
                    "송금", "이체", "id", "메일", "폼", "도메인", "사이트", "은행", "입금처",
                    "키보드", "자판")  # (the keyboard as the key, its bank's name alone: "하나 eoq-… 키보드 윗줄 q가 1")
# (and then only on texts holding one of the instructions' stems or a key's "=": one scan of literals,
# far cheaper than the instructions' expression, whose key branch is tried at every place)
_ASSEMBLY_HINT = lazy(literal_first_grouped(sorted(
    ("붙", "이어", "합치", "합쳐", "합친", "두 번", "세 번", "네 번", "두번", "세번", "네번", "거꾸로", "뒤에서부터", "반대로", "역순",
     "바꿔", "바꾸", "계산", "더하", "더해", "디코딩", "decode", "해독", "복호화", "점자", "주사위", "키패드", "키보드", "자판", "한영",
     "나눠서", "쪼개서", "빼고", "모으면", "밀어", "당기면", "모스", "변환", "세시면", "쉬프트", "shift", "적을게", "적었", "적어요",
     "순서대로", "번갈아", "홀수", "짝수", "번째", "글자만", "따서", "이으", "떼고", "지우", "글자씩", "아래에서", "밑에서", "아래부터", "밑부터", "아래 부터", "밑 부터", "처럼 적",
     "처럼적", "처럼 써", "처럼써", "처럼 쓰", "처럼쓰", "인 척", "인척",
     # (the rarer middle of a word where its first syllable is common: each first letter costs every scan)
     "순번", "자리", "소창", "소 창", "이픈", "래시", "잘려", "잘리", "막혀", "막히", "필터", "단돼", "단되", "단당", "내져", "라가서",
     "다음 메시지", "다음 메세지", "다음 톡", "다음 문자", "다음 채팅", "다음메시지", "적어 둘", "적어둘", "적어 놨", "적어놨", "적어 뒀", "적어뒀", "적어 드릴", "적어드릴", "남길게", "남겼"),
    key=len, reverse=True)))
# The chat's filter as the excuse for writing it otherwise ("주소는 채팅에 쓰면 잘려서 사진으로 보냈어요",
# "링크는 여기서 막혀서요"): the excuse itself tells the reader to put it together, pieces or none.
# (the chat named as what cuts it, or writing it as what gets it cut: not "주소 잘려서 다시 보내요")
# (or the link itself blocked, "링크가 막혀서 이렇게 적어요": blocked, not cut)
_FILTER_EXCUSE = (r"(?:(?:채팅|여기|번장|번개톡)[^.?!\n]{0,12}?(?:잘려|잘리|막혀|막히|차단(?:돼|되|당)|안 ?보내져|안 ?올라가)|"
                  r"(?:링크|주소|url|아이디)[이가은는]? ?(?:자꾸 )?(?:막혀|막히|차단(?:돼|되|당)|안 ?보내져|안 ?올라가)|"
                  r"(?:쓰면|치면|적으면|보내면|올리면) ?(?:자꾸 )?(?:잘려|잘리|막혀|막히|차단)|필터)")
_FILTER_EXCUSE_MATCH = lazy(_FILTER_EXCUSE)
_ASSEMBLY = lazy(
    r"붙이|붙여|붙인|이어 ?(?:붙|쓰|적|서)|합치|합쳐|합친|[두세네] ?번(?:씩)? ?(?:쓰|썼|적|치|누르|반복|붙)|"
    r"[0-9]{3,4} ?[두세네] ?번(?:이에요|이요|입니다|요)|한 ?글자씩|[0-9a-z][은는을를]? ?(?:전부|다|모두)? ?지우|거꾸로|뒤에서부터|"
    r"반대로 ?(?:읽|적|쓰|치)|역순|(?:으로|로) ?바꿔|바꿔서|바꾸시면|바꾸면|"
    r"계산해|더하면|더해서|디코딩|decode|해독|복호화|점자|주사위|키패드|키보드|자판|한영[^.?!\n]{0,8}?안 ?(?:바꾸|바꿔|누르|눌러|하고)|"
    r"나눠서|쪼개서|(?:[만을를은는]|다|거) ?[빼떼]고|(?:아래|밑)(?:에서)? ?부터|이으(?:시면|면|세요)|순번으로|"
    # written as something else ("동호수처럼 적을게요", "송장인 척 적을게요")
    r"처럼 ?(?:적|써|쓰)|인 ?척 ?(?:적|써|쓰|할)|[홀짝]수 ?(?:번째|자리)|번째 ?(?:숫자|글자)만|(?:앞|첫) ?글자만|따서|다음 ?(?:메시지|메세지|톡|문자|채팅)(?:로|으로|에)? ?(?:드릴|보낼|보내|줄|알려)|모으면|밀어 ?(?:적|썼|쓴|놨)|당기면|모스|변환|세시면|쉬프트|shift|순서대로|번갈아|"
    # "written in signs": the writer's own writing in some code ("트럼프 카드로 적었어요", "점자로 남길게요")
    r"(?:으로|로) ?(?:적었|적을게|적어 ?(?:둘|놨|뒀|드릴)|남길게|남겼)|"
    # a group told by where to find it ("010 - 이 상품 가격 앞 네 자리 - 2468")
    r"(?:앞|뒷|뒤|끝|마지막|가운데|중간|시작하는|처음|첫) ?(?:그 )?(?:[두세네]|[2-4]) ?자리|"
    # a link dictated into the address bar, its marks spoken ("주소창에 bungae 쓰고 하이픈 pay 쓰고 닷 kr 치시면")
    r"(?:하이픈|슬래시|닷|쩜) ?[0-9a-z]{2,}[^.?!\n]{0,6}?(?:쓰|붙|넣|치)|"
    r"주소 ?창에(?![^.?!\n]{0,30}?(?:bunjang|번개 ?장터|번장))(?=[^\n]{0,50}?(?:결제|입금|송금|카드|로그인))|"
    + _FILTER_EXCUSE
)
# A key: signs each given a digit ("도=1 레=2", "q=1 w=2", "✊=0 ☝=1"; the normaliser may have dropped the
# "=", "도1레2미3"). Its own expression (a class first: tried at every place), run only on texts with an
# "=" or a word saying something is written in signs.
_KEY = lazy(r"(?:[^\s=0-9]{1,3} ?= ?[0-9]{1,2}[ ,/]{1,3}){2,}|(?:[^\s=0-9]{1,3}[0-9]{1,2}[ ,]?){3,}|"
           r"(?:[^\s=0-9]{1,2}[이가은는] [0-9]{1,2}(?:이고|이구|이에요|이요|,)[ ,]*){2,}")  # "가가 1이고 차가 0이에요"
_KEY_HINTS = ("=", "적을게", "적었", "적어요", "순서", "순번")
# (not a price, a size or a capacity: "35,000원", "95 사이즈", "128기가")
_ASSEMBLED_PIECES = lazy(r"[0-9]{2,}(?![0-9,]| ?(?:원|만|천|기가|gb|tb|사이즈|cm|mm|kg|개|장|%|프로|세|살|년|월|일|시|분))|[a-z]{3,}|[0-9](?:[^\s0-9][0-9]){2,}|[공영빵][공영빵일이삼사오육칠팔구]{2,}|[.\-]{4,}|[ㄱ-ㅊㅌㅍ]{3,}|"
                         r"[^\s0-9a-z가-힣ㄱ-ㆎ.,!?~()'\"\[\]=:;/\-…·]{3,}|'[^'\n]{2,20}'|\"[^\"\n]{2,20}\"|[\u2800-\u28ff]|[⚀-⚅]|"
                         r"[공영일이삼사오육칠팔구십백천만]{6,}|(?:[공영일이삼사오육칠팔구십]{2,4} ){2,}[공영일이삼사오육칠팔구십]{2,4}|"
                         r"(?:#[0-9a-z_] ?){3,}|"  # (letters as hashtags, "#s #o #m")
                         r"스펠링|철자|"  # (a word to spell out: "써니데이 영어 스펠링 그대로")
                         # (Latin typed with the Korean keyboard: "ㅠㅕㅜㅓ뭏-ㅔ묘.채ㅡ/ㅐ/5")
                         r"(?=[가-힣ㄱ-ㅣ.\-/0-9]*[ㄱ-ㅣ])[가-힣ㄱ-ㅣ]{2,}[.\-/][가-힣ㄱ-ㅣ0-9.\-/]{2,}")
# Numbers with their units, pieces when the text says to drop the unit ("010원 → 3,481원 … 원 빼고 이으면")
_UNIT_DROPPED = lazy(r"(?:원|ml|g|kg|%|프로|단위)[은는을를만]? ?(?:빼고|떼고|지우고|빼면|떼면)")
_WITH_UNIT = lazy(r"[0-9][0-9,]*(?= ?(?:원|ml|g|kg|%|프로))")
# (category, what the pieces make, what the reader is to do with it), the first that fits wins
_ASSEMBLED_KINDS = (
    # (or a sum to send to what is written: "여기로 38,000원 보내주시면")
    (cat.ACCOUNT_TRANSFER, lazy(r"계좌|통장|예금주|은행|입금처|[0-9][0-9,]* ?[천만]? ?원[을를]? ?(?:보내|입금|송금|넣|쏴)"),
     # (an account told how to read, or its holder named, or written in an account's shape: "ㄱㅎㅎㄴ-ㅁㅁㄴ-ㅈㅎㄱㅇㄹㄷ")
     lazy(r"입금|송금|이체|보내|넣어|넣으|쏴|부쳐|읽어|읽으|불러|예금주|계좌(?:예요|에요|입니다|이에요)|"
          r"(?<!\S)[^\s\-]{2,6}-[^\s\-]{2,6}-[^\s\-]{2,8}(?!\S)")),
    # (or a path: what the pieces make is a link, "…_com/m/33")
    (cat.PHISHING_LINK, lazy(r"주소|링크|url|사이트|결제 ?창|도메인|홈페이지|폼|(?<![0-9a-z])[0-9a-z_\-]{3,}/[0-9a-z]{1,12}|"
                             r"[0-9a-z]\.[a-z]{2,6}/[0-9a-z]"),
     lazy(r"들어가|들어오|접속|치시면|치면|치세요|쳐서|쳐 ?두|쳐 ?주|입력|열어|열면|결제|붙여 ?넣|복사|주소창|불러")),
    # (연락 only as the topic, "연락은 …": "연락 주세요" is the action)
    (cat.EXTERNAL_CHANNEL, lazy(r"번호|폰|연락(?:처|은|는)|전화|아이디|아디|아뒤|닉네임|계정|카톡|톡 ?(?:아이디|아디|아뒤|id)|"
                                r"(?<![0-9])[0-9]{3}-[0-9]{3,4}-[0-9]{4}(?![0-9])|"  # (a phone's shape, its digits shifted)
                                r"id(?<![a-z]id)|메일|☎|📞|📱"),
     lazy(r"문자|연락|전화 ?(?:주|줘|해|하|걸|부탁|드|ㄱ)|톡|추가|친추|검색|말 ?걸|dm|디엠|메시지|메세지|메일|@")),
)
_ASSEMBLY_REACH = (120, 80)  # characters before and after the instruction: what is made is named first
# (a question does not quiet it: how to put it together is told in requests that end like one, "접속하세요")
_NOT_ASKED_OF_READER = frozenset({REFUSAL, WARNING})


def _assembled_kind(message: _Message) -> tuple[str, Span] | None:
    """(category, evidence) of an identifier the text tells how to make, or None."""
    text = message.text
    if "=" not in text and _ASSEMBLY_HINT.search(text) is None:
        return None
    instructions = list(_ASSEMBLY.finditer(text))
    if any(map(text.__contains__, _KEY_HINTS)):  # (not a link's query, "watch?v=Rt8sLq2")
        instructions += (key for key in _KEY.finditer(text)
                         if not any(link.start <= key.start() < link.end for link in message.links))
    for instruction in instructions:
        a, b = max(0, instruction.start() - _ASSEMBLY_REACH[0]), min(len(text), instruction.end() + _ASSEMBLY_REACH[1])
        pieces = list(_ASSEMBLED_PIECES.finditer(text, a, b))
        if not pieces and _UNIT_DROPPED.search(text, a, b):
            pieces = list(_WITH_UNIT.finditer(text, a, b))
        if _FILTER_EXCUSE_MATCH.fullmatch(instruction.group()):
            if asks_for_safe_payment(text):
                continue  # (a video that does not go up in the chat, by one who asks to pay here)
            pieces = pieces or [instruction]  # the excuse alone tells the reader to put it together
        elif not pieces and any(map(str.isdigit, instruction.group())):
            pieces = [instruction]  # a key's digits: what it decodes is in signs the pieces do not cover
        if not pieces:
            continue
        for category, makes, action in _ASSEMBLED_KINDS:
            made = makes.search(text, a, b) or (category == cat.ACCOUNT_TRANSFER and _BANK.search(text, a, b))
            if made and action.search(text, a, b):
                nearest = min(pieces, key=lambda m: abs(m.start() - instruction.start()))
                start, end = min(nearest.start(), instruction.start()), max(nearest.end(), instruction.end())
                if not message.clauses.quiet(instruction.start(), instruction.end(), _NOT_ASKED_OF_READER):
                    return category, (start, end)
    return None


def _assembled(category: str) -> Detector:
    def find(message: _Message) -> Iterator[Span]:
        if message.assembled is False:  # the three rules ask the same question
            message.assembled = _assembled_kind(message)
        found = message.assembled
        if found is not None and found[0] == category:
            yield found[1]

    return Detector(find, frozenset(_ASSEMBLED_WORDS) | {NUMBER, LINK})  # (or a long number written: "신한 1710-… 7은 지우고")


# A payment, card details or a log-in asked for at a place outside the chat that holds the link:
# the shop's profile, an item's or an invitation's description, a file sent by mail, a beta app
# ("결제는 제 상점 소개 맨 아래 적힌 주소로 해주세요", "설명에 있는 링크로 결제해 주세요",
# "번개페이_결제서.html 파일 … 열어서 카드정보 넣으시면"); or a remote-control app to install ("애니데스크
# 받고 접속코드 불러주세요"), through which the writer pays from the reader's phone.
_ELSEWHERE_PLACE = r"(?:상점 ?소개|소개 ?글|소개란|프로필|프사|바이오|bio|설명(?:란|글)?|메모|첨부|캘린더|일정|메일|이메일|블로그|카페)"
_PAY_ACTION = r"(?:결제|결재|카드 ?(?:정보|번호)|로그인|인증|입금|송금)"
_PAYMENT_ELSEWHERE = lazy(
    rf"{_ELSEWHERE_PLACE}[^.?!\n]{{0,20}}?(?:주소|링크|url|사이트|페이지|결제 ?창)[으로에서]{{0,2}} ?[^.?!\n]{{0,14}}?{_PAY_ACTION}"
    r"[^.?!\n]{0,6}?(?:해 ?주|하시면|하세요|해요|진행|부탁|하시고|넣|입력)"
    rf"|{_PAY_ACTION}[은는]? ?[^.?!\n]{{0,16}}?{_ELSEWHERE_PLACE}[^.?!\n]{{0,20}}?(?:주소|링크|url|사이트|페이지)(?:으로|로|에서) ?"
    r"(?:해 ?주|하시면|하세요|해요|진행|부탁)"
    rf"|(?:\.html?|\.htm|\.pdf|pdf|첨부 ?파일|파일|메일)[^\n]{{0,40}}?(?:열어|열면|열고|실행)[^\n]{{0,30}}?{_PAY_ACTION}"
    # ... or an Android package to install ("사진보기.apk 눌러서 설치하면"): what it runs is the writer's
    r"|[0-9a-z가-힣_\-]\.apk(?![0-9a-z])[^\n]{0,30}?(?:설치|실행|눌러|열어)"
    # ... or a text message's link, to pay or verify there ("그 문자에 있는 주소로 들어가서 결제하시면")
    rf"|문자(?:에|의|로)? ?(?:있는|온|받은|보내 ?드린|드린|속|안)?[^.?!\n]{{0,8}}?(?:주소|링크|url)[^\n]{{0,24}}?(?:{_PAY_ACTION}|본인 ?인증)"
    # ... or a QR code to scan that opens the payment page ("QR 사진 … 카메라로 찍으면 결제 페이지 떠요")
    # (not 인증: a genuine product's QR code opens its maker's "정품 인증")
    # ... or a page sent by the phone's sharing, to pay there ("퀵쉐어로 보냈어요 … 열리는 페이지에서 결제")
    r"|(?:퀵 ?쉐어|quick ?share|에어 ?드롭|airdrop|니어바이|nearby ?share)[^\n]{0,60}?"
    r"(?:링크|주소|페이지|url|사이트)[^\n]{0,30}?(?:결제|카드 ?(?:정보|번호)|로그인|입금|송금)"
    r"|(?:qr(?<![a-z]qr)|큐알)[^\n]{0,40}?(?:찍|스캔|scan|인식|비추)[^\n]{0,40}?"
    r"(?:결제 ?(?:페이지|창|화면)|카드 ?(?:정보|번호)|로그인|입금|송금)(?!랑|이랑|과|와|는 ?상관|은 ?상관)"
)
# (woken by the place, rarer in chat than payment words; one of these is in every match)
_PAYMENT_ELSEWHERE_WORDS = ("소개", "프로필", "프사", "바이오", "bio", "설명", "메모", "첨부", "캘린더", "일정", "메일", "블로그",
                            "카페", "htm", "파일", "pdf", "qr", "큐알", "퀵쉐어", "퀵 쉐어", "quick", "에어드롭", "에어 드롭",
                            "airdrop", "니어바이", "nearby", ".apk", "문자")
_PAYMENT_ELSEWHERE_NEEDS = ("결제", "결재", "카드", "로그인", "인증", "입금", "송금", "설치", "실행", "눌러", "열어")
_REMOTE_CONTROL = lazy(
    r"(?:애니 ?데스크|anydesk|팀 ?뷰어|teamviewer|퀵 ?서포트|quick ?support|알서포트|rsupport|원격 ?(?:지원|제어|앱|프로그램|접속|으로))"
    r"[^.?!\n]{0,30}?(?:받|설치|깔|다운|접속 ?코드|접속 ?번호|코드|번호|잡아|도와)"
)
_REMOTE_CONTROL_WORDS = ("애니", "anydesk", "팀 뷰어", "팀뷰어", "teamviewer", "퀵", "quick", "알서포트", "rsupport", "원격")

# A contact on a platform the chat does not reach, by a number or a name to look up there: a friend
# code ("친구코드 884213377 추가하고 메시지"), a video meeting's ID ("줌 회의 ID 812 3345 9901 들어오시면"),
# a numeric messenger ID ("QQ 2384771923 추가해 주시면"), or a name to search on another site and write
# to there ("카카오스토리에서 '소소한옷장' 검색해서 … 메시지 주세요").
_PLATFORM_CONTACT = lazy(
    r"(?:친구 ?코드|friend ?code)[^0-9a-z가-힣]{0,3}(?=[a-z\-]{0,13}[0-9])[0-9a-z][0-9a-z \-]{4,18}[0-9a-z](?![0-9a-z])"
    r"[^.?!\n]{0,20}?(?:추가|친추|메시지|메세지|연락|채팅|대화)"
    r"|(?:줌|zoom|구글 ?미트|google ?meet|웨일 ?온|webex)[^.?!\n]{0,24}?(?:회의|미팅|meeting|방)[^.?!\n]{0,6}?"
    r"(?:id|아이디|번호|코드)[^0-9]{0,4}[0-9][0-9 \-]{5,16}"
    r"|meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}|zoom\.us/(?:j|my)/[0-9a-z]"  # a video call's link
    # a team's or room's invitation code elsewhere ("잔디 … 팀 초대코드 K4R2PX 넣으면 … 들어와져요")
    r"|(?:초대 ?코드|invite ?code|참여 ?코드|입장 ?코드)[^0-9a-z]{0,4}(?=[a-z]{0,11}[0-9])[0-9a-z]{4,12}(?![0-9a-z])"
    r"[^\n]{0,30}?(?:넣|입력|들어|참여|입장|join)"
    r"|(?:session|세션)[^.?!\n]{0,12}?id[^0-9a-z]{0,3}[0-9a-f]{20,}"  # Session's IDs are 66 hex digits
    rf"|(?:{'|'.join(OTHER_MESSENGER_WORDS)})[^0-9가-힣]{{0,6}}[0-9]{{5,12}}(?![0-9])[^.?!\n]{{0,12}}?{_CONTACT_REQUEST}"
    # (a site: to write to the name there; a messenger: to find it is to reach the writer)
    r"|(?:카카오 ?스토리|카스(?![가-힣])|카페|밴드|블로그|인스타|스레드|트위터|틱톡|유튜브|당근|중고나라|에타|에브리타임|"
    r"블라인드|리멤버|게임|서버|페북|페이스북|facebook|링크드인|linkedin|숨고|크몽|스마트 ?스토어|스토어|쇼핑몰|커뮤니티|"
    r"싸이월드|싸이(?=에서|에 )|미니홈피|"
    r"앱|어플)"
    r"[^.?!\n]{0,24}?(?:'[^'\n]{1,24}'|\"[^\"\n]{1,24}\"|닉네임[^.?!\n]{0,16}?)[^\n]{0,40}?"
    r"(?:(?:검색|찾으|찾아)[^.?!\n]{0,40}?(?:메시지|메세지|메신저|채팅|1:1|쪽지|dm|디엠|톡|연락|문의|소식|가입|견적)|쪽지|"
    r"메시지 ?주|메세지 ?주|채팅 ?(?:주|걸어|해 ?주|하시면|주시면)|1:1|귓속말|귓말|귓 ?(?:주|보내)|메일[^.?!\n]{0,12}?(?:보내|있어|주세요|주시면)|"
    r"가입 ?(?:질문|신청|승인|하시면|해 ?주)|비밀 ?(?:댓)?글|연락처 ?(?:남겨|적어)|"
    r"(?:카톡|톡) ?(?:아이디|id)[^.?!\n]{0,10}?있)"
    r"|(?:카페|밴드|블로그|커뮤니티|게임|서버)[^.?!\n]{0,12}?(?:쪽지|메시지|메세지|dm|디엠|귓)[^\n]{0,30}?닉네임"
    # a game's whisper to a name ("/w dia_trader 치면 저랑 귓말돼요")
    r"|(?<![0-9a-z])/(?:w|msg|tell|whisper|귓) [0-9a-z_]{3,20}(?![0-9a-z_])[^.?!\n]{0,12}?(?:치|입력|귓|쳐)"
    r"|(?:텔레|오픈 ?채팅|오픈 ?톡|디코|디스코드|라인(?<!온라인)|카톡|카카오 ?톡|페북|페이스북|facebook|인스타|instagram|메신저)"
    r"[^.?!\n]{0,24}?"  # (not 카카오맵)
    r"(?:'[^'\n]{1,24}'|\"[^\"\n]{1,24}\")[^\n]{0,20}?"
    r"(?:(?:치면|치시면|검색하면|검색하시면|찾으면|찾으시면)[^.?!\n]{0,30}?(?:나와|떠|있어|뜹|보여|저예요|제 ?(?:프로필|계정))|"
    r"추가|친추|입장|들어오)"
    # a game's or console's tag to message there ("게이머태그 SilverFox4471 로 … 메시지 주세요")
    r"|(?:게이머 ?태그|gamer ?tag|psn ?(?:아이디|id)|스팀 ?(?:아이디|id|닉네임|닉)|배틀 ?태그|battle ?tag|라이엇 ?(?:아이디|id)|"
    r"닌텐도 ?(?:아이디|id))[^0-9a-z가-힣]{0,4}[0-9a-z][0-9a-z_#\-]{2,20}[^\n]{0,40}?"
    r"(?:메시지|메세지|친추|친구 ?추가|추가|귓|dm|디엠|연락)"
)
_PLATFORM_CONTACT_WORDS = ("친구코드", "친구 코드", "friend code", "friendcode", "회의", "미팅", "meeting", "검색", "qq", "가입",
                           "비밀글", "비밀 글", "비밀댓글", "비밀 댓글", "연락처 남", "친추",
                           "잘로", "zalo", "바이버", "viber", "스카이프", "skype", "쪽지", "치면", "찾으", "찾아", "귓",
                           "meet.google", "zoom.us", "session", "세션", "초대", "invite", "참여", "메일", "아이디", "추가", "입장",
                           "게이머", "gamer", "치시면",
                           "psn", "스팀", "배틀", "battle", "라이엇", "닌텐도", "닉네임", "'", '"', "/w ", "/msg", "/tell", "/whisper")  # (another site's name: quoted, or after 닉네임)
# The deal itself moved to a community or a messenger ("… 모임 가입하시면 … 거래는 밴드에서 해요"): its own
# expression, small and starting with its words (거래는 alone is in a quarter of all chat).
_DEAL_PLACES = ("밴드", "카페", "카톡", "텔레", "오픈채팅", "오픈 채팅", "단톡", "인스타", "디엠", "dm", "당근", "중고나라", "블로그")
# (woken by the places whose first letters are rare in chat; 당, 중 and 단 begin common words)
_DEAL_PLACE_WORDS = tuple(place for place in _DEAL_PLACES if place[0] not in "당중단")
_DEAL_MOVED = lazy(rf"(?:거래|결제|구매|판매)[는은] ?(?:{'|'.join(_DEAL_PLACES)})(?:에서|으로|로) ?"
                   r"(?:진행 ?)?(?:해요|합니다|할게요|하세요|해 ?주|돼요|됩니다)")
# "톡 ▶ yuri_fleur9", "톡 아이디 peach…": 톡 alone is also the platform's own chat (번개톡), so only
# with an ID marker or an arrow before a handle.
_TALK_ID = lazy(rf"(?<![가-힣])톡[^0-9a-z가-힣]{{0,3}}(?:{ID_MARKER}[은는이가]?|[▶→►=:>-]+|"
                 rf" ?(?:주세요|주세여|주셈|줘|주시면|ㄱㄱ|해 ?주세요|하실 ?분)[^0-9a-z가-힣]{{0,3}}(?={HANDLE} ?"
                 # (after a request, the ID ends the clause: "톡 주세요 nike_sb 덩크" names a shoe)
                 rf"(?:로|으로|요|예요|이에요|입니다|[.!~^ㅎㅋ\n]|$)))[^0-9a-z가-힣]{{0,3}}({HANDLE})")
# Money wired through a remittance service: no account, and no refund.
_REMITTANCE = lazy(r"웨스턴 ?유니온|western ?union|머니 ?그램|moneygram|mtcn(?![a-z])|리아 ?송금|ria money|"
                   r"(?:wise|와이즈|페이팔|paypal)(?<![a-z]wise)(?<![a-z]paypal) ?(?:로|으로|송금|transfer|f ?& ?f|fnf|friends|친구|가족|"
                   r"[^\n]{0,30}?[0-9a-z._\-]+@[0-9a-z\-]+\.[a-z]{2,})|"
                   r"(?:통상환|우편환|전신환|현금 ?등기|현금 ?우편)[^.?!\n]{0,20}?(?:보내|끊어|부쳐)|"  # postal money orders, cash by post
                   # other countries' payment apps, to an ID there ("venmo me at @…", "PayPay로 받아요 ID: …")
                   r"(?:venmo|벤모|zelle|cash ?app|캐시앱|paypay|페이페이|alipay|알리페이|wechat ?pay|위챗페이|line ?pay|라인페이|"
                   r"gcash|revolut)(?<![a-z]venmo)(?<![a-z]zelle)(?<![a-z]gcash)[^\n]{0,40}?(?:@|id|아이디|me at|로 ?(?:받|보내|송금)|"
                   r"으로 ?(?:받|보내|송금))|"
                   # remittance apps of foreign workers and students
                   r"(?:한패스|hanpass|센트비|sentbe|와이어 ?바알리|wirebarley|e9 ?pay|이나인페이|gme ?remit)[^.?!\n]{0,20}?"
                   r"(?:로|으로|앱|송금|보내)")
# A coin wallet's address to send to ("USDT(TRC20)로 … 주소 T… 로 보내주세요"): TRON, Ethereum or Bitcoin.
_COIN_ADDRESS = lazy(r"(?:usdt|테더|코인|비트코인|btc|eth|이더|trc ?20|erc ?20|지갑 ?주소|전자 ?지갑|리플|xrp|업비트|upbit|빗썸|bithumb|바이낸스|"
                     r"binance|코인원|솔라나|sol(?![a-z])|트론|tron|(?<![a-z])ton(?![a-z])|톤 ?코인)[^\n]{0,60}?"
                     # (any coin's: letters and digits mixed, 25 to 64 of them)
                     # (not inside a link: "drive.google.com/file/d/1a2b…")
                     r"(?<![0-9a-z/=?&.])(?:(?=[0-9a-z]{0,63}[0-9])(?=[0-9a-z]{0,63}[a-z])(?:0x)?[0-9a-z]{25,64}(?![0-9a-z/.])|"
                     r"[0-9a-z\-]{3,40}\.eth(?![0-9a-z]))")  # or an ENS name, minsu.eth
# The phone number as the account, its digits given before ("케이뱅크는 제 폰번호가 계좌예요")
# (or a bank's "lifetime number", the phone's: "IBK 평생번호라 제 폰 번호로 보내시면 돼요 010-…")
_PHONE_AS_ACCOUNT = lazy(r"(?:폰|휴대폰|핸드폰|전화) ?번호(?:가|는|이)? ?(?:곧|바로|그대로)? ?계좌(?:예요|에요|번호|입니다|이에요|라서|니까)|"
                         r"계좌 ?(?:번호)?[는은가이]? ?(?:제 )?(?:폰|휴대폰|핸드폰|전화) ?번호(?:랑|와|하고) ?(?:같|똑같|동일)|"
                         r"평생 ?(?:번호|계좌)[^\n]{0,40}?01[016789][\- ]?[0-9]{3,4}[\- ]?[0-9]{4}")
# An account written somewhere else to pay into ("계좌는 … 상점 소개글 맨 아래 줄에 적어놨어요 … 입금하시고").
_ACCOUNT_ELSEWHERE = lazy(r"계좌[^.?!\n]{0,30}?(?:상점 ?소개|소개 ?글|소개란|프로필|프사|사진|이미지|메모)[^\n]{0,30}?"
                          r"(?:적어|써 ?(?:놨|뒀|놓)|올려|있어|넣어 ?(?:놨|뒀))[^\n]{0,40}?(?:입금|송금|이체|보내)"
                          # ... or the writer's phone number as the account ("계좌가 제 폰번호예요 010 …")
                          r"|계좌(?:가|는|번호는|번호가)? ?(?:제 )?(?:폰|휴대폰|핸드폰|전화) ?번호[^\n]{0,12}?"
                          r"01[016789][\- ]?[0-9]{3,4}[\- ]?[0-9]{4}"
                          # ... or digits shown by a name ("계좌번호는 제 닉네임 옆에 붙은 숫자 그대로예요")
                          r"|계좌 ?(?:번호)?[은는이가]? ?[^.?!\n]{0,10}?(?:닉네임|닉|상점 ?(?:이름|명)|아이디|상품 ?(?:명|이름)|제목)"
                          r"[^.?!\n]{0,16}?(?:숫자|번호)")
# A voucher, points or money sent as a gift to the writer's number or ID ("온누리상품권 … 선물하기 … 010-…
# 넣으시면", "포인트 선물하기로 … 받는 분 아이디에 … 넣으시면"): paid outside the safe payment.
_GIFT_TRANSFER = lazy(
    r"(?:상품권|기프티콘|기프트 ?카드|e ?카드|모바일 ?카드|포인트|페이 ?머니|머니|쿠폰|교환권|금액권)[^?!\n]{0,30}?선물(?:하기)?[^\n]{0,40}?"
    r"(?:(?:번호|아이디|id(?<![a-z]id)|@|[0-9]{3,}|[a-z][a-z0-9_]{3,})[^\n]{0,20}?(?:넣|입력|보내|적어)|"
    r"(?:보내|넣|입력)[^\n]{0,30}?(?:번호|아이디|id(?<![a-z]id))[^\n]{0,8}?(?:[0-9]{3,}|[a-z][a-z0-9_]{3,}))"
    # ... or a gift card bought and its code sent ("구글플레이 기프트카드 … 코드 16자리 사진 찍어 보내주세요")
    # ... the gift named first ("카톡 선물하기에서 이마트 금액권 5만원 보내주세요 받는 번호는 010-…")
    r"|선물(?:하기)?[^\n]{0,20}?(?:상품권|기프티콘|금액권|교환권|e ?카드|기프트 ?카드|쿠폰)[^\n]{0,30}?(?:보내|넣|쏴)[^\n]{0,30}?"
    r"(?:번호|아이디|id(?<![a-z]id))[^\n]{0,8}?(?:[0-9]{3,}|[a-z][a-z0-9_]{3,})"
    r"|(?:기프트 ?카드|상품권|gift ?card|기프트 ?코드|문상|해피 ?머니|컬처 ?랜드|컬쳐 ?랜드|북 ?앤 ?라이프|구글 ?플레이 ?카드|"
    r"월렛 ?코드|wallet ?code|스팀 ?(?:월렛|카드|지갑)|주유권|모바일 ?(?:상품권|교환권|금액권)|넥슨 ?카드|게임 ?카드|틴캐시|"
    r"아이튠즈 ?카드|itunes|로블록스|roblox|eshop|닌텐도 ?(?:카드|선불)|플스 ?카드|psn ?카드)"
    r"[^\n]{0,40}?(?:코드|핀|pin|뒷면|바코드|번호)[^\n]{0,30}?(?=[^\n]{0,12}?(?:주세요|주시면|주셔|달라|줘))"
    r"(?:보내 ?주|찍어|알려 ?주|적어 ?주|캡처|캡쳐|올려 ?주|(?:로|으로) ?주)"
)


# A buyer who says the money is sent, tells why it does not show yet and asks to ship now ("이체했어요 캡처
# 보냈으니 바로 발송해 주세요 은행 점검 시간이라 입금 내역은 늦게 뜰 거예요"): a receipt the bank never saw.
# (not one who waits for it: "입금 확인되시면 발송해 주세요")
_DEPOSIT_DELAYED = lazy(r"(?:입금|이체|송금)[^.?!\n]{0,16}?(?:늦게|지연|나중에|안 ?(?:떠|뜰|뜨|보일|보이|찍)|반영이? ?(?:안|늦))|"
                        r"(?:점검|전산)[^\n]{0,24}?(?:입금|이체|송금)|(?:입금|이체|송금)[^\n]{0,24}?(?:점검|전산)")
_SHIP_NOW = lazy(r"(?:발송|배송|택배 ?(?:접수|보내)|보내)[^.?!\n]{0,6}?(?:해 ?주|부탁|주세요|주시면|해주시|주셔)")
_WHEN_ARRIVED = lazy(r"(?:확인|입금|이체|송금)(?:이 ?)?(?:되면|되시면|된 ?후|된 ?다음|되는 ?대로|후에?|하시면|하시는 ?대로)|"
                     r"들어오면|들어오는 ?대로|뜨면|뜨는 ?대로")
# (one of these is in every match of _DEPOSIT_DELAYED: most texts naming a transfer hold none)
_DELAY_WORDS = ("늦", "지연", "나중에", "떠", "뜰", "뜨", "보일", "보이", "찍", "반영", "점검", "전산")
# ... or a bank's notice pasted as the proof ("[KB국민] 출금 420,000원 받는분 판매자님 … 확인하시고 오늘 보내주세요")
_BANK_NOTICE = lazy(r"\[[^\]\n]{0,8}(?:은행|뱅크|국민|신한|농협|하나|우리|기업|kb|nh|ibk)[^\]\n]{0,6}\][^\n]{0,16}?(?:출금|입금|이체)")


def _unconfirmed_payment(message: _Message) -> Iterator[Span]:
    text = message.text
    if _SHIP_NOW.search(text) is None:  # (the cheapest test and the rarest part: asked first)
        return
    delayed = _DEPOSIT_DELAYED.search(text) if any(map(text.__contains__, _DELAY_WORDS)) else None
    if delayed is None and "[" in text:
        delayed = _BANK_NOTICE.search(text)
    if delayed is not None and _WHEN_ARRIVED.search(text) is None:
        yield delayed.span()


class Rule(NamedTuple):
    code: str
    category: str
    weight: float
    description: str
    detector: Detector
    replaced_by: tuple[str, ...] = ()  # more specific codes: when one fires too, this reason is dropped


# The rules whose evidence is a concrete identifier (a number, a handle, an address) or a link suspicious by
# its host: what a second opinion never discounts (ngram_opinion.NgramOpinion.judged). The others fire on
# words, requests and the wording around a link.
IDENTIFIER_RULES = frozenset({
    "phone_number", "bank_account", "account_number", "blocklisted_phone", "blocklisted_account", "email_address",
    "lookalike_domain", "punycode_domain", "ip_link", "url_shortener", "telegram_link", "payment_app", "kakao_id",
    "telegram_id", "wechat_id", "line_id", "whatsapp", "talk_id", "messenger_id",
})

# In a stable order: the classifier's rule features are columns in this order.
_RULE_LIST = [
    # external_channel
    Rule("kakao_id", cat.EXTERNAL_CHANNEL, 0.9, "KakaoTalk ID next to the messenger's name",
         # the ID may come first: "ab1234 카톡" (a handle of up to 21 characters, then up to 8)
         handle_after(_KAKAO_ID, _KAKAO_TRIGGERS, reach=29)),
    Rule("kakao_openchat", cat.EXTERNAL_CHANNEL, 0.95, "KakaoTalk open-chat link (open.kakao.com)",
         either(first_match(r"open\.kakao\.com/", ("open.kakao",), reach=0),
                # (named by one who deals here: "… 시세방 보니까 … 거래는 여기서 할게요")
                _unless_safe_payment_asked(request(r"오픈 ?채팅|오픈 ?톡|오픈 ?카톡", ("오픈",), reach=0)))),
    Rule("kakao_contact", cat.EXTERNAL_CHANNEL, 0.8, "asks to continue on KakaoTalk",
         # "연락은 … 카톡": the messenger's name up to 10 characters after the match starts
         request(_KAKAO_CONTACT, _KAKAO_TRIGGERS, reach=10), replaced_by=("kakao_id", "kakao_openchat")),
    Rule("telegram_id", cat.EXTERNAL_CHANNEL, 0.9, "Telegram handle next to the messenger's name",
         handle_after(words_then(TELEGRAM_WORDS, rf"{_ID_GAP}{{0,12}}?({HANDLE})"), _TELEGRAM_TRIGGERS)),
    Rule("telegram_link", cat.EXTERNAL_CHANNEL, 0.95, "t.me / telegram.me link",
         first_match(r"(?:(?<![a-z])t\.me|telegram\.(?:me|dog))/[0-9a-z_+\-]{0,64}|tg://resolve\?domain=[0-9a-z_]{3,64}",
                     ("t.me", "telegram.", "tg://"))),
    Rule("telegram_contact", cat.EXTERNAL_CHANNEL, 0.8, "asks to continue on Telegram",
         request(words_then(TELEGRAM_WORDS, rf"{_GAP}{{0,8}}?{_CONTACT_REQUEST}"), _TELEGRAM_TRIGGERS, reach=0),
         replaced_by=("telegram_id", "telegram_link")),
    Rule("line_id", cat.EXTERNAL_CHANNEL, 0.85, "LINE ID or link, or asks to continue on LINE",
         either(handle_after(_LINE_ID, ("라인", "line")), first_match(r"line\.me/", ("line",)),
                request(_LINE_CONTACT, ("라인", "line")))),
    Rule("wechat_id", cat.EXTERNAL_CHANNEL, 0.85, "WeChat ID or asks to continue on WeChat",
         either(handle_after(rf"{WECHAT}{_ID_GAP}{{0,12}}?({HANDLE})", _WECHAT_TRIGGERS),
                request(rf"{WECHAT}{_GAP}{{0,12}}?{_CONTACT_REQUEST}", _WECHAT_TRIGGERS))),
    Rule("whatsapp", cat.EXTERNAL_CHANNEL, 0.85, "WhatsApp number, wa.me link or asks to continue there",
         either(first_match(rf"wa\.me/|{WHATSAPP}{_GAP}{{0,12}}?\+?[0-9][0-9 \-]{{6,}}", _WHATSAPP_TRIGGERS),
                handle_after(rf"{WHATSAPP}{_ID_GAP}{{0,12}}?({HANDLE})", _WHATSAPP_TRIGGERS),
                request(rf"{WHATSAPP}{_GAP}{{0,12}}?{_CONTACT_REQUEST}", _WHATSAPP_TRIGGERS))),
    Rule("messenger_id", cat.EXTERNAL_CHANNEL, 0.7,
         "an ID to add as a friend, no messenger named; or a messenger without a rule of its own (Signal, Discord…)",
         either(handle_after(_FRIEND_ID, ("친추", "친구", "아이디", "아디", "아뒤", "계정", "id", "인스타", "insta", "디엠", "dm",
                                          "페북", "facebook", "디스코드", "디코", "discord")),
                Detector(_handle_before_friend_request, frozenset({"친추", "친구"})),
                handle_after(_OTHER_MESSENGER_ID, _OTHER_MESSENGER_TRIGGERS),
                Detector(_at_handle, frozenset({"@"}), _HANDLE_QUIET_IN),
                first_match(r"discord\.(?:gg|com/invite)/|band\.us/|ig\.me/[0-9a-z]|join\.slack\.com/|"
                            r"twitch\.tv/[0-9a-z_]{3,}[^\n]{0,30}?(?:귓속말|귓말|whisper|dm|디엠)",
                            ("discord", "band.us", "twitch", "ig.me", "slack")),
                request(_OTHER_MESSENGER_CONTACT, _OTHER_MESSENGER_TRIGGERS, reach=4),  # "네이버 톡톡"
                request(_ON_OTHER_MESSENGER, ("signal", "viber", "discord", "snapchat", "skype", "facebook", "messenger",
                                              "zalo", "reddit", "twitter", "x.com")),
                request(_ID_AS_NAME, ("아이디", "아디", "아뒤", "계정", "id", "메일")),
                request(_SOME_MESSENGER, ("메신저",), reach=len("평소 사용하시는 "))),
         replaced_by=("kakao_id", "kakao_openchat", "telegram_id", "telegram_link", "line_id", "wechat_id",
                      "whatsapp", "payment_app")),
    Rule("phone_number", cat.EXTERNAL_CHANNEL, 0.85,
         "a phone number (Korean, UK, Indian, +country), any spelling, or the reader's number or mail address asked for, to call, text or mail",
         either(_phone_number, first_match(PHONE_IN_PIECES, PIECE_WORDS),
                Detector(_number_asked, frozenset({"번호", "연락처", "메일"}))), replaced_by=("blocklisted_phone",)),
    Rule("sms_short_code", cat.EXTERNAL_CHANNEL, 0.5, "'text WORD to 85069': an SMS short code",
         first_match(_SHORT_CODE, ("text", "txt", "send", "reply", "rply", "sms", "msg", "mms", "opt out", "stop"))),
    Rule("email_address", cat.EXTERNAL_CHANNEL, 0.75, "an e-mail address, or an ID with its mail provider named",
         either(first_match(EMAIL, ("@",)), first_match(_ID_AT_PROVIDER, ("메일", "mail")))),
    Rule("blocklisted_phone", cat.EXTERNAL_CHANNEL, 1.0, "a phone number on the fraud blocklist", blocklisted("phone")),
    Rule("contact_in_picture", cat.EXTERNAL_CHANNEL, 0.8,
         "a contact given in a picture instead of written (number in the profile photo, a messenger QR code to scan)",
         Detector(_contact_in_picture, _CONTACT_WORDS | _QR_WORDS | {"워터마크"}, REQUEST_CONTEXTS),
         replaced_by=("kakao_id", "kakao_openchat", "telegram_id", "telegram_link", "phone_number")),
    # phishing_link
    Rule("lookalike_domain", cat.PHISHING_LINK, 0.95, "host imitating the platform or a payment/delivery brand",
         link_classified("lookalike_domain")),
    Rule("punycode_domain", cat.PHISHING_LINK, 0.9, "internationalised (xn--) host name",
         link_classified("punycode_domain")),
    Rule("ip_link", cat.PHISHING_LINK, 0.9, "link to a bare IP address", link_classified("ip_link")),
    Rule("url_shortener", cat.PHISHING_LINK, 0.75, "link through a URL shortener (or one named in Hangul, its path given)",
         either(on_links(_shortened_link), first_match(_SHORTENER_IN_HANGUL, ("틀리", "빗리"), reach=1))),
    Rule("payment_link", cat.PHISHING_LINK, 0.9, "payment or delivery words next to an outside link",
         _payment_link),
    Rule("site_by_search", cat.PHISHING_LINK, 0.85, "a site to find by a search engine and pay or log in there",
         first_match(_SITE_BY_SEARCH, ("검색", "치면", "치시면", "쳐서", "쳐 보", "search", "입력"), REQUEST_CONTEXTS,
                     needs=_SITE_BY_SEARCH_NEEDS)),
    Rule("external_link", cat.PHISHING_LINK, 0.6, "a link outside the platform's own domains",
         # (not a shop's own site named by a seller who asks for the platform's payment: payment words
         # next to a link are rule payment_link's)
         _unless_safe_payment_asked(on_links(_external_link)),
         replaced_by=("lookalike_domain", "punycode_domain", "ip_link", "url_shortener",
                      "telegram_link", "kakao_openchat", "line_id", "whatsapp")),
    # account_transfer
    Rule("bank_account", cat.ACCOUNT_TRANSFER, 0.95, "a bank's name next to an account number",
         _bank_account, replaced_by=("blocklisted_account",)),
    Rule("account_number", cat.ACCOUNT_TRANSFER, 0.9, "'account' / 입금 next to an account number",
         _account_number, replaced_by=("blocklisted_account", "bank_account")),
    Rule("prepayment_request", cat.ACCOUNT_TRANSFER, 0.85, "asks to pay first or by bank transfer",
         # every branch of _PREPAY holds one of these words (not 결제: paying on the platform)
         _unless_paid_on_handover(
             either(request(_PREPAY, ("입금", "이체", "송금", "계좌", "통장", "토스", "first", "front", "transfer", "deposit",
                                      # an upfront sum is asked for "먼저": that word, not every sum's name, sets the rule off
                                      "send", "쏴", "먼저", "돈부터", *(word.split(" ?")[0] for word in _OUTSIDE_MEANS),
                                      *(word.split(" ?")[0] for word in _HOLD_FEES)),
                            reach=len("send the money ")),
                    Detector(_sum_sent_first, frozenset({"먼저"}), REQUEST_CONTEXTS),
                    first_match(_CONFIRMED_FIRST, ("확정",), REQUEST_CONTEXTS)))),
    Rule("safe_payment_refusal", cat.ACCOUNT_TRANSFER, 0.85, "refuses the platform's safe payment (fees...)",
         either(word_then("|".join(_SAFE_PAY_WORDS), _REFUSED, 15, _SAFE_PAY_TRIGGERS, _NOT_ASKED, _REFUSAL_ELSEWHERE,
                          back=len("세이")),
                _unless_safe_payment_asked(first_match(_SAFE_PAY_REFUSAL, (*_SAFE_PAY_TRIGGERS, "수수료"), _NOT_ASKED,
                                                       reach=0, needs=_SAFE_PAY_REFUSAL_NEEDS)),
                first_match(_SAFE_PAY_CANCELLED, ("취소",), _NOT_ASKED, reach=len("번개 페이 결제하신 거 취소")))),
    Rule("blocklisted_account", cat.ACCOUNT_TRANSFER, 1.0, "a bank account on the fraud blocklist",
         blocklisted("account")),
    Rule("payment_app", cat.ACCOUNT_TRANSFER, 0.9,
         "a payment app's send-money link (toss.me, qr.kakaopay.com) or ID: paid outside the safe payment",
         # (a money request woken by the apps' names: 요, the first letter of 요청, ends half of all sentences)
         Detector(_payment_app, _PAYMENT_APP_ID.words | {LINK, NUMBER, "검색", "토스", "toss", "카카오", "kakao"})),
    # suspicious_context
    Rule("urgency", cat.SUSPICIOUS_CONTEXT, 0.1, "hurry words: 급처, 오늘까지, urgent",
         first_match(r"급처|급매|급해|급하게|빨리 ?(?:입금|결제|송금|답|연락)|오늘 ?(?:까지|안에|중으로)|지금 ?(?:바로|당장)|"
                     r"선착순|urgent|asap|immediately|final attempt",
                     ("급", "빨리", "오늘", "지금", "선착순", "urgent", "asap", "immediately", "final attempt"), reach=0)),
    Rule("abroad_or_military", cat.SUSPICIOUS_CONTEXT, 0.25, "'I'm in the army / abroad', cannot meet",
         first_match(r"군인|군대|부대|훈련소|해외|출장 ?중|외국|유학|abroad|overseas|army|military",
                     ("군", "부대", "훈련소", "해외", "출장", "외국", "유학", "abroad", "overseas", "army", "military"),
                     reach=0)),
    Rule("too_good_price", cat.SUSPICIOUS_CONTEXT, 0.2, "too-good price or prize words",
         first_match(r"반값(?! ?택배)|공짜|정가 ?(?:의)? ?(?:절반|반)|말도 ?안 ?되는 ?가격|too good|unbelievable price|"
                     r"you(?:'ve| have)? (?:won|been selected)|claim (?:your|a|the) (?:prize|reward)|cash prize|winner",
                     ("반값", "공짜", "정가", "말도", "too good", "unbelievable", "you", "claim", "cash prize", "winner"),
                     reach=0)),
    # (after the rules above: a trained classifier's rule columns keep their places)
    Rule("assembled_contact", cat.EXTERNAL_CHANNEL, 0.85,
         "a phone number or ID the reader is told how to put together (join, repeat, reverse, decode, read off a table)",
         _assembled(cat.EXTERNAL_CHANNEL), replaced_by=("kakao_id", "telegram_id", "phone_number", "messenger_id")),
    Rule("assembled_link", cat.PHISHING_LINK, 0.85, "an address the reader is told how to put together",
         _assembled(cat.PHISHING_LINK)),
    Rule("assembled_account", cat.ACCOUNT_TRANSFER, 0.9, "an account number the reader is told how to put together",
         _assembled(cat.ACCOUNT_TRANSFER), replaced_by=("bank_account", "account_number")),
    Rule("payment_elsewhere", cat.PHISHING_LINK, 0.85,
         "payment, card details or a log-in asked for at a place outside the chat (profile, description, a file), "
         "or a remote-control app to install",
         either(first_match(_PAYMENT_ELSEWHERE, _PAYMENT_ELSEWHERE_WORDS, REQUEST_CONTEXTS, needs=_PAYMENT_ELSEWHERE_NEEDS),
                first_match(_REMOTE_CONTROL, _REMOTE_CONTROL_WORDS, REQUEST_CONTEXTS))),
    Rule("platform_contact", cat.EXTERNAL_CHANNEL, 0.8,
         "a friend code, meeting ID or numeric messenger ID, or a name to search for on another site and write to there",
         # (a code, an ID or a name given is an identifier: asking about it does not quiet it)
         either(first_match(_PLATFORM_CONTACT, _PLATFORM_CONTACT_WORDS, _NOT_ASKED_OF_READER),
                first_match(_DEAL_MOVED, _DEAL_PLACE_WORDS, _NOT_ASKED_OF_READER, reach=len("거래는 "))),
         replaced_by=("messenger_id", "phone_number")),
    Rule("talk_id", cat.EXTERNAL_CHANNEL, 0.85, "a handle after 톡 and an ID marker or an arrow (KakaoTalk)",
         handle_after(_TALK_ID, ("톡",)), replaced_by=("kakao_id",)),
    Rule("remittance_service", cat.ACCOUNT_TRANSFER, 0.85,
         "asks to be paid through a remittance service (Western Union, Wise, PayPal…), a coin wallet, as a gift of vouchers "
         "or points, or into an account written elsewhere (the shop's profile, a picture)",
         either(first_match(_REMITTANCE, ("웨스턴", "western", "머니", "moneygram", "mtcn", "리아", "ria", "wise", "와이즈",
                                          "통상환", "우편환", "전신환", "현금등기", "현금 등기", "현금우편", "현금 우편",
                                          "페이팔", "paypal", "한패스", "hanpass", "센트비", "sentbe", "와이어", "wirebarley",
                                          "e9", "이나인페이", "gme", "venmo", "벤모", "zelle", "cash app", "cashapp",
                                          "캐시앱", "paypay", "페이페이", "alipay", "알리페이", "wechat pay", "wechatpay", "위챗페이",
                                          "line pay", "linepay", "라인페이", "gcash", "revolut"), REQUEST_CONTEXTS),
                first_match(_GIFT_TRANSFER, ("선물", "기프트", "상품권", "gift", "문상", "해피", "컬처", "컬쳐", "북앤", "북 앤",
                                             "월렛", "wallet", "스팀", "주유권", "교환권", "금액권", "넥슨", "게임카드", "구글",
                                             "게임 카드", "틴캐시", "아이튠즈", "itunes", "로블록스", "roblox", "eshop",
                                             "닌텐도", "플스", "psn"),
                            REQUEST_CONTEXTS),
                first_match(_COIN_ADDRESS, ("usdt", "테더", "코인", "비트코인", "btc", "eth", "이더", "trc", "erc", "지갑",
                                            "리플", "xrp", "업비트", "upbit", "빗썸", "bithumb", "바이낸스", "binance",
                                            "솔라나", "sol", "트론", "tron", "ton", "톤")),
                first_match(_ACCOUNT_ELSEWHERE, ("계좌",), REQUEST_CONTEXTS),
                first_match(_PHONE_AS_ACCOUNT, ("계좌", NUMBER), REQUEST_CONTEXTS))),
    Rule("unconfirmed_payment", cat.ACCOUNT_TRANSFER, 0.85,
         "says the money is sent and asks to ship before it shows in the account (a bank check, a delay, a pasted notice)",
         Detector(_unconfirmed_payment, frozenset({"입금", "이체", "송금", "출금"}), REQUEST_CONTEXTS)),
]
RULES: dict[str, Rule] = {rule.code: rule for rule in _RULE_LIST}

# One pass finds which rules' words the text holds; a word found also stands for the words
# inside it ("open.kakao" holds "kakao"), which the pass could not see separately.
# (in one order in every process: the compiled expression is then found in regex_cache)
_WORDS = sorted({word for rule in _RULE_LIST for word in rule.detector.words} - {LINK, NUMBER}, key=_longest_first)
_TRIGGER = lazy(literal_first_grouped(_WORDS))
_IMPLIED: dict[str, frozenset[str]] = {}  # (filled as words are found: a one-shot process finds few)
# The rules each word sets off (their places in the table): a text runs only those.
def _rules_by_word() -> dict[str, list[int]]:
    by_word: dict[str, list[int]] = {}
    for index, rule in enumerate(_RULE_LIST):
        for word in rule.detector.words:
            by_word.setdefault(word, []).append(index)
    return by_word


_RULES_BY_WORD = _rules_by_word()


def _present_words(text: str) -> set[str]:
    present: set[str] = set()
    for word in set(_TRIGGER.findall(text)):
        implied = _IMPLIED.get(word)
        if implied is None:
            implied = _IMPLIED[word] = frozenset(v for v in _WORDS if v in word)
        present |= implied
    return present


@lru_cache(maxsize=4096)
def _rules_woken(words: frozenset[str]) -> tuple[Rule, ...]:
    """The rules ``words`` set off, in the table's order (chat holds few sets of trigger words)."""
    return tuple(_RULE_LIST[i] for i in sorted({i for word in words for i in _RULES_BY_WORD[word]}))


def _evidence(normalised: Normalised) -> dict[str, Span]:
    """The span of the normalised text each rule that fired quotes, by code."""
    message = _Message(normalised)
    found = {}
    for rule in _rules_woken(frozenset(message.words)):
        span = rule.detector.evidence(message)
        if span is not None:
            found[rule.code] = span
    return found


def reasons(text: str, source: str = "text") -> list[dict]:
    """One reason per rule that fires on ``text``, strongest first.

    Each reason is ``{"code", "category", "weight", "evidence", "source"}``; the evidence
    quotes the original text (masked). Only the first :data:`MAX_CHARS` characters count.
    """
    if not text:
        return []
    return normalised_reasons(normalise(text[:MAX_CHARS]), source)


def normalised_reasons(normalised: Normalised, source: str = "text") -> list[dict]:
    """:func:`reasons` of a text already normalised (its first :data:`MAX_CHARS`
    characters, not empty): a scorer that also reads the normalised text for its
    classifier and second opinion normalises it once."""
    found = _evidence(normalised)
    for code in [c for c in found if not found.keys().isdisjoint(RULES[c].replaced_by)]:
        del found[code]
    out = []
    hidden = masked(normalised.original, personal_spans(normalised)) if found else ""
    for code, (start, end) in found.items():
        rule = RULES[code]
        a, b = normalised.span(start, end)
        evidence = hidden[a:b]
        if len(evidence) > MAX_EVIDENCE:
            evidence = evidence[:MAX_EVIDENCE - 1] + "…"
        out.append({"code": code, "category": rule.category, "weight": rule.weight,
                    "evidence": evidence, "source": source})
    out.sort(key=lambda r: (-r["weight"], r["code"]))
    return out


def rule_table() -> list[Rule]:
    """Every rule, in a stable order (for docs and feature columns).

    >>> [(rule.code, rule.category, rule.weight) for rule in rule_table()[:2]]
    [('kakao_id', 'external_channel', 0.9), ('kakao_openchat', 'external_channel', 0.95)]
    """
    return list(_RULE_LIST)
