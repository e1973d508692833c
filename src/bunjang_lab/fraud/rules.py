"""Fraud rules over normalised text: each with a stable code, a category and a weight.

:func:`reasons` is the whole public surface: it normalises the text, runs every rule
and returns one reason per rule that fired, strongest first, with masked evidence
quoted from what the user actually wrote::

>>> [r["code"] for r in reasons("카.톡 ab1234 으로 연락 주세요")]
['kakao_id']
>>> reasons("카.톡 ab1234 으로 연락 주세요")[0]["evidence"]
'카.톡 ab**34'
>>> reasons("번개톡으로 연락 주세요, 안전결제 가능해요")
[]
>>> sorted({r["category"] for r in reasons("국민은행 123456-78-901234 선입금 부탁드려요")})
['account_transfer']

Standard library only (the ``score text`` path imports it). Every pattern runs in
linear time; input is cut at :data:`MAX_CHARS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from bunjang_lab.fraud import categories as cat
from bunjang_lab.fraud.blocklist import shared as shared_blocklist
from bunjang_lab.fraud.mask import masked, personal_spans
from bunjang_lab.fraud.links import Link, find_links
from bunjang_lab.fraud.normalise import Normalised, normalise
from bunjang_lab.fraud.patterns import (
    AT_HANDLE, EMAIL, HANDLE, ID_MARKER, ID_MARKER_WORDS, KAKAO, KAKAO_WORDS, LINE_WORDS,
    NOT_HANDLES, TELEGRAM_WORDS, WECHAT, WHATSAPP, literal_first, literal_first_grouped,
)
from bunjang_lab.fraud.phones import after_serial_label, is_korean_mobile, written_numbers

MAX_CHARS = 20_000
MAX_EVIDENCE = 80


@dataclass(frozen=True)
class Rule:
    code: str
    category: str
    weight: float
    description: str


_RULE_LIST = [
    # external_channel
    Rule("kakao_id", cat.EXTERNAL_CHANNEL, 0.9, "KakaoTalk ID next to the messenger's name"),
    Rule("kakao_openchat", cat.EXTERNAL_CHANNEL, 0.95, "KakaoTalk open-chat link (open.kakao.com)"),
    Rule("kakao_contact", cat.EXTERNAL_CHANNEL, 0.8, "asks to continue on KakaoTalk"),
    Rule("telegram_id", cat.EXTERNAL_CHANNEL, 0.9, "Telegram handle next to the messenger's name"),
    Rule("telegram_link", cat.EXTERNAL_CHANNEL, 0.95, "t.me / telegram.me link"),
    Rule("telegram_contact", cat.EXTERNAL_CHANNEL, 0.8, "asks to continue on Telegram"),
    Rule("line_id", cat.EXTERNAL_CHANNEL, 0.85, "LINE ID or link, or asks to continue on LINE"),
    Rule("wechat_id", cat.EXTERNAL_CHANNEL, 0.85, "WeChat ID or asks to continue on WeChat"),
    Rule("whatsapp", cat.EXTERNAL_CHANNEL, 0.85, "WhatsApp number, wa.me link or asks to continue there"),
    Rule("messenger_id", cat.EXTERNAL_CHANNEL, 0.7, "an ID to add as a friend, no messenger named"),
    Rule("phone_number", cat.EXTERNAL_CHANNEL, 0.85, "a phone number (Korean, UK, Indian, +country), any spelling"),
    Rule("sms_short_code", cat.EXTERNAL_CHANNEL, 0.5, "'text WORD to 85069': an SMS short code"),
    Rule("email_address", cat.EXTERNAL_CHANNEL, 0.75, "an e-mail address"),
    Rule("blocklisted_phone", cat.EXTERNAL_CHANNEL, 1.0, "a phone number on the fraud blocklist"),
    # phishing_link
    Rule("lookalike_domain", cat.PHISHING_LINK, 0.95, "host imitating the platform or a payment/delivery brand"),
    Rule("punycode_domain", cat.PHISHING_LINK, 0.9, "internationalised (xn--) host name"),
    Rule("ip_link", cat.PHISHING_LINK, 0.9, "link to a bare IP address"),
    Rule("url_shortener", cat.PHISHING_LINK, 0.75, "link through a URL shortener"),
    Rule("payment_link", cat.PHISHING_LINK, 0.9, "payment or delivery words next to an outside link"),
    Rule("external_link", cat.PHISHING_LINK, 0.6, "a link outside the platform's own domains"),
    # account_transfer
    Rule("bank_account", cat.ACCOUNT_TRANSFER, 0.95, "a bank's name next to an account number"),
    Rule("account_number", cat.ACCOUNT_TRANSFER, 0.9, "'account' / 입금 next to an account number"),
    Rule("prepayment_request", cat.ACCOUNT_TRANSFER, 0.85, "asks to pay first or by bank transfer"),
    Rule("safe_payment_refusal", cat.ACCOUNT_TRANSFER, 0.85, "refuses the platform's safe payment (fees...)"),
    Rule("blocklisted_account", cat.ACCOUNT_TRANSFER, 1.0, "a bank account on the fraud blocklist"),
    # suspicious_context
    Rule("urgency", cat.SUSPICIOUS_CONTEXT, 0.1, "hurry words: 급처, 오늘까지, urgent"),
    Rule("abroad_or_military", cat.SUSPICIOUS_CONTEXT, 0.25, "'I'm in the army / abroad', cannot meet"),
    Rule("too_good_price", cat.SUSPICIOUS_CONTEXT, 0.2, "too-good price or prize words"),
]
RULES: dict[str, Rule] = {rule.code: rule for rule in _RULE_LIST}

_CONTACT_VERB = (
    r"(?:주세요|주시|줘|주셈|주면|주시면|드릴|드려|연락|문의|대화|얘기|이야기|친추|추가|ㄱㄱ|하실|해주|해 ?주|"
    r"로 와|으로 와|오세요|부탁|남겨|보내|주라|할게|해요|하세요|거래|톡 ?주|contact|add|message|text|dm|me)"
)
_KAKAO_NOT = r"(?! ?(?:프렌즈|페이|뱅크|pay|friends|택시|맵|게임|선물|이모티콘|웹툰|쇼핑|기프트|gift))"
# Spelled with literal_first where every branch can start with a word (several times faster).
_LINE_ID = re.compile(
    literal_first(LINE_WORDS, rf"[^0-9a-z가-힣]{{0,3}}{ID_MARKER}[^0-9a-z]{{0,3}}{HANDLE}") + r"|line\.me/|"
    + literal_first(LINE_WORDS, r"(?:으로|로|에서)? ?(?:친추|연락|대화|메신저|메세지|messenger|추가)"))
_KAKAO_ID = re.compile(rf"{KAKAO}{_KAKAO_NOT}.{{0,12}}?({HANDLE})|({HANDLE}).{{0,8}}?{KAKAO}{_KAKAO_NOT}")
_KAKAO_CONTACT = re.compile(
    literal_first(KAKAO_WORDS, rf"{_KAKAO_NOT}.{{0,8}}?{_CONTACT_VERB}") + "|"
    + literal_first(("연락", "문의", "대화", "거래"), rf"[은는]?.{{0,6}}?{KAKAO}{_KAKAO_NOT}")
)
# The handle is whichever group matched (one per branch).
_TELEGRAM_ID = re.compile(literal_first(TELEGRAM_WORDS, rf".{{0,12}}?({HANDLE})"))
_TELEGRAM_CONTACT = re.compile(literal_first(TELEGRAM_WORDS, rf".{{0,8}}?{_CONTACT_VERB}"))
_MESSENGER_ID = re.compile(literal_first(("친추", "친구 ?추가", *ID_MARKER_WORDS), rf"[^0-9a-z가-힣]{{0,3}}({HANDLE})"))
_SHORT_CODE = re.compile(
    r"(?<![a-z])(?:text|txt|send|reply|rply|sms|msg|mms|opt out|stop)[a-z]{0,3}(?![a-z]).{0,40}?"
    r"(?:to|on|2)\s{0,2}(?:no:?\s{0,2})?(\d{4,6})(?![\d%])"
)

_BANK_NAMES = ("국민", "신한", "우리", "하나", "농협", "기업", "카카오 ?뱅크", "카뱅", "토스 ?뱅크", "케이 ?뱅크", "케뱅",
               "새마을", "신협", "우체국", "수협", "sc ?제일", "씨티", "부산", "대구", "경남", "광주", "전북", "제주", "산업", "저축")
_BANK = re.compile(
    literal_first(_BANK_NAMES, "(?:은행|뱅크|금고)?") + "|은행|"
    + "|".join(f"{word}(?<![a-z]{word})(?![a-z])" for word in ("kb", "nh", "ibk", "kdb", "sc", "bank"))
)
_ACCOUNT_WORD = re.compile(r"계좌|입금|송금|이체|예금주|account|acct|a/c|sort code")
_PREPAY = re.compile(
    r"선 ?입금|선 ?결제|입금 ?먼저|먼저 ?(?:입금|송금|이체|결제)|계좌 ?이체|계좌로 ?(?:보내|입금|송금|결제)|"
    r"입금 ?(?:해|하)[가-힣]{0,4} ?(?:주시면|주면|후|하시면|시면|주셔야)|입금 ?(?:확인 ?)?(?:후|되면|하면|시) ?(?:바로 |즉시 )?(?:발송|배송|보내|택배)|"
    r"무통장|pay (?:me )?first|transfer first|payment first|deposit first|send (?:the )?money first"
)
_SAFE_PAY_WORDS = ("안전 ?결제", "안전 ?거래", "번개 ?페이", "번페", "에스크로", "escrow", "safe ?pay[a-z]{0,4}")
_SAFE_PAY = f"(?:{'|'.join(_SAFE_PAY_WORDS)})"
_REFUSED = (
    r"(?:말고|대신|싫|안 ?(?:해|돼|되|받|씀|써)|못 ?(?:해|받)|불가|노노|사절|거부|귀찮|복잡|번거|"
    r"(?<![0-9a-z./])(?:x|no)(?![0-9a-z]))"
)
_SAFE_PAY_REFUSAL = re.compile(
    literal_first(_SAFE_PAY_WORDS, rf".{{0,15}}?{_REFUSED}")
    + r"|수수료.{0,8}?(?:아끼|아까|아깝|없이|절약|빼|때문|싫|떼)|"
    + literal_first(("말고", "대신", "없이"), rf".{{0,4}}?{_SAFE_PAY}")
)
_URGENCY = re.compile(r"급처|급매|급해|급하게|빨리 ?(?:입금|결제|송금|답|연락)|오늘 ?(?:까지|안에|중으로)|지금 ?(?:바로|당장)|선착순|urgent|asap|immediately|final attempt")
_ABROAD = re.compile(r"군인|군대|부대|훈련소|해외|출장 ?중|외국|유학|abroad|overseas|army|military")
_TOO_GOOD = re.compile(
    r"반값(?! ?택배)|공짜|정가 ?(?:의)? ?(?:절반|반)|말도 ?안 ?되는 ?가격|too good|unbelievable price|"
    r"you(?:'ve| have)? (?:won|been selected)|claim (?:your|a|the) (?:prize|reward)|cash prize|winner"
)
# Each rule runs only when one of its words is in the text (one pass over the text for
# all the words costs far less than every rule's expression): (code, pattern, words).
_KAKAO_WORDS = ("카톡", "카카오", "kakao", "katalk", "ka톡")
_TELEGRAM_WORDS = ("텔레", "telegram", "tg")
_HANDLE_RULES = [
    ("kakao_id", _KAKAO_ID, _KAKAO_WORDS),
    ("telegram_id", _TELEGRAM_ID, _TELEGRAM_WORDS),
    ("messenger_id", _MESSENGER_ID, ("친추", "친구", "아이디", "아디", "계정", "id")),
]
_SEARCH_RULES = [
    ("kakao_contact", _KAKAO_CONTACT, _KAKAO_WORDS),
    ("telegram_contact", _TELEGRAM_CONTACT, _TELEGRAM_WORDS),
    ("kakao_openchat", re.compile(r"open\.kakao\.com/|오픈 ?채팅|오픈 ?톡|오픈 ?카톡"), ("open.kakao", "오픈")),
    ("telegram_link", re.compile(r"(?:(?<![a-z])t\.me|telegram\.(?:me|dog))/[0-9a-z_+\-]{0,64}"), ("t.me", "telegram.")),
    ("line_id", _LINE_ID, ("라인", "line")),
    ("wechat_id", re.compile(rf"{WECHAT}.{{0,12}}?(?:{HANDLE}|{_CONTACT_VERB})"), ("위챗", "wechat", "weixin", "微信")),
    ("whatsapp", re.compile(rf"wa\.me/|{WHATSAPP}.{{0,12}}?(?:\d|{HANDLE}|{_CONTACT_VERB})"),
     ("wa.me", "왓츠앱", "whatsapp", "whats app")),
    ("sms_short_code", _SHORT_CODE, ("text", "txt", "send", "reply", "rply", "sms", "msg", "mms", "opt out", "stop")),
    ("prepayment_request", _PREPAY, ("입금", "결제", "이체", "송금", "무통장", "first")),
    ("safe_payment_refusal", _SAFE_PAY_REFUSAL, ("안전", "번개", "번페", "에스크로", "escrow", "safe", "수수료")),
    ("urgency", _URGENCY, ("급", "빨리", "오늘", "지금", "선착순", "urgent", "asap", "immediately", "final attempt")),
    ("abroad_or_military", _ABROAD, ("군", "부대", "훈련소", "해외", "출장", "외국", "유학", "abroad", "overseas", "army",
                                     "military")),
    ("too_good_price", _TOO_GOOD, ("반값", "공짜", "정가", "말도", "too good", "unbelievable", "you", "claim",
                                   "cash prize", "winner")),
]
_HANDLE_RULES = [(code, pattern, frozenset(words)) for code, pattern, words in _HANDLE_RULES]
# A handle rule's match starts at its first word, or up to this far before it: a KakaoTalk
# ID may come first ("ab1234 카톡": a handle of up to 21 characters, then up to 8). Searching
# from there skips the rest of the text, where the handle-first branch is costly.
_REACH = {"kakao_id": 29}
_SEARCH_RULES = [(code, pattern, frozenset(words)) for code, pattern, words in _SEARCH_RULES]
# One pass finds which rule words the text holds; a word found also stands for the words
# inside it ("open.kakao" holds "kakao"), which the pass could not see separately.
_WORDS = sorted({w for _, _, words in _HANDLE_RULES + _SEARCH_RULES for w in words}, key=len, reverse=True)
_TRIGGER = re.compile(literal_first_grouped(_WORDS))
_IMPLIED = {w: frozenset(v for v in _WORDS if v in w) for w in _WORDS}


def _present_words(text: str) -> set[str]:
    present: set[str] = set()
    for word in set(_TRIGGER.findall(text)):
        present |= _IMPLIED[word]
    return present
_PAYMENT_NEAR_LINK = re.compile(
    r"결제|결재|입금|송금|페이|pay|배송 ?조회|택배 ?조회|주문서|구매 ?확인|인증|로그인|login|verify|confirm|claim|환불|refund"
)


# A generic reason is dropped when a more specific one fired on the same message.
_SPECIFIC_IDS = frozenset({"kakao_id", "kakao_openchat", "telegram_id", "telegram_link", "line_id", "wechat_id", "whatsapp"})
_SUPPRESSED_BY = {
    "messenger_id": _SPECIFIC_IDS,
    "kakao_contact": frozenset({"kakao_id", "kakao_openchat"}),
    "telegram_contact": frozenset({"telegram_id", "telegram_link"}),
    "external_link": frozenset({"lookalike_domain", "punycode_domain", "ip_link", "url_shortener",
                                "telegram_link", "kakao_openchat", "line_id", "whatsapp"}),
    "phone_number": frozenset({"blocklisted_phone"}),
    "bank_account": frozenset({"blocklisted_account"}),
    "account_number": frozenset({"blocklisted_account", "bank_account"}),
}


@dataclass(frozen=True)
class _Hit:
    code: str
    start: int
    end: int
    category: str | None = None  # overrides the rule's (the blocklist's kind)


def _hits(n: Normalised) -> Iterator[_Hit]:
    text = n.text
    links = list(find_links(n))
    yield from _link_hits(text, links)
    yield from _number_hits(text, links)
    present = _present_words(text)
    for code, pattern, words in _HANDLE_RULES:
        found = words & present
        if found:
            start = max(0, min(text.find(word) for word in found) - _REACH.get(code, 0))
            for match in pattern.finditer(text, start):
                handle = next(g for g in match.groups() if g)
                if handle.lstrip("@") not in NOT_HANDLES:
                    yield _Hit(code, *match.span())
                    break
    if "@" in text:
        for match in EMAIL.finditer(text):
            yield _Hit("email_address", *match.span())
        for match in AT_HANDLE.finditer(text):
            yield _Hit("messenger_id", *match.span())
    for code, pattern, words in _SEARCH_RULES:
        if not words.isdisjoint(present):
            match = pattern.search(text)
            if match:
                yield _Hit(code, *match.span())


def _number_hits(text: str, links: list[Link]) -> Iterator[_Hit]:
    """Phone numbers, bank accounts and blocklisted numbers."""
    candidates = list(written_numbers(text, [(a, b) for a, b, _ in links]))
    if not candidates:
        return
    blocklist = shared_blocklist()
    banks = [m.span() for m in _BANK.finditer(text)]
    account_words = [m.span() for m in _ACCOUNT_WORD.finditer(text)]

    def near(spans, start, end, reach=20):
        """The first span within ``reach`` characters of [start, end), or None."""
        return next(((a, b) for a, b in spans if a < end + reach and b > start - reach), None)

    for start, end, digits, kind in candidates:
        listed = blocklist.kind(digits)
        if listed:
            yield _Hit(f"blocklisted_{listed}", start, end)
        if after_serial_label(text, start):
            continue
        if kind == "phone" and (is_korean_mobile(digits) or not near(banks, start, end)):
            yield _Hit("phone_number", start, end)
        elif len(digits) < 10:
            continue
        elif bank := near(banks, start, end):  # evidence quotes the bank's name with the number
            yield _Hit("bank_account", min(bank[0], start), max(bank[1], end))
        elif near(account_words, start, end):
            yield _Hit("account_number", start, end)


def _link_hits(text: str, links: list[Link]) -> Iterator[_Hit]:
    seen = set()
    for start, end, code in links:
        if code is None:
            continue
        if code not in seen:
            seen.add(code)
            yield _Hit(code, start, end)
        if "payment_link" not in seen and _PAYMENT_NEAR_LINK.search(text, max(0, start - 30), min(len(text), end + 30)):
            seen.add("payment_link")
            yield _Hit("payment_link", start, end)


def reasons(text: str, source: str = "text") -> list[dict]:
    """One reason per rule that fires on ``text``, strongest first.

    Each reason is ``{"code", "category", "weight", "evidence", "source"}``; the evidence
    quotes the original text (masked). Only the first :data:`MAX_CHARS` characters count.
    """
    if not text:
        return []
    normalised = normalise(text[:MAX_CHARS])
    found: dict[str, _Hit] = {}
    for hit in _hits(normalised):
        found.setdefault(hit.code, hit)
    for code in [c for c in found if _SUPPRESSED_BY.get(c, frozenset()) & found.keys()]:
        del found[code]
    out = []
    hidden = masked(normalised.original, personal_spans(normalised)) if found else ""
    for code, hit in found.items():
        rule = RULES[code]
        a, b = normalised.span(hit.start, hit.end)
        evidence = hidden[a:b]
        if len(evidence) > MAX_EVIDENCE:
            evidence = evidence[:MAX_EVIDENCE - 1] + "…"
        out.append({"code": code, "category": rule.category, "weight": rule.weight,
                    "evidence": evidence, "source": source})
    out.sort(key=lambda r: (-r["weight"], r["code"]))
    return out


def rule_table() -> list[Rule]:
    """Every rule, in a stable order (for docs and feature columns)."""
    return list(_RULE_LIST)
