"""Phone numbers in normalised text: Korean mobiles, landlines, 070/050 and +82 numbers,
UK, Indian and North American ones, however they are written.

The normaliser has already turned obfuscated digits into plain ones (``０１０``,
``0 1 0``, ``010ㅡ1234``, zero-width spaces between them) and Hangul numerals into digits
(``공일공 일이삼사 오육칠팔``). Here each written number (digits joined by a few
separators) is split into its digit groups: the longest run of consecutive groups that
spells a phone number is a phone, and what remains between phones, if 10-16 digits long,
is a candidate account number (the rules decide from the words around it).

>>> from bunjang_lab.fraud.normalise import normalise
>>> [(n.digits, n.kind) for n in written_numbers(normalise("공일공 일이삼사 오육칠팔 로 문자주세요").text)]
[('01012345678', 'phone')]
>>> [(n.digits, n.kind) for n in written_numbers(normalise("０１０ㅡ１２３４ㅡ５６７８").text)]
[('01012345678', 'phone')]
>>> [(n.digits, n.kind) for n in written_numbers("입금 1002-123-456789, 가격 29,000원")]
[('1002123456789', 'account')]
>>> [(n.digits, n.kind) for n in written_numbers("15000 010 1234 5678")]
[('01012345678', 'phone')]
>>> [(n.digits, n.kind) for n in written_numbers("카뱅 3333 028812345")]
[('3333028812345', 'account'), ('028812345', 'phone')]
>>> [n.digits for n in written_numbers("call 6123 4567")], [n.digits for n in written_numbers("6123 4567")]
(['61234567'], [])

Standard library only; every pattern runs in linear time.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Sequence

from bunjang_lab.fraud.links import IP_ADDRESS
from bunjang_lab.fraud.patterns import DIGIT_GROUP, digit_runs, lazy

MIN_NUMBER_DIGITS = 7  # the shortest phone number accepted (after "call", "전화")
_NUMBER = digit_runs(MIN_NUMBER_DIGITS)  # prices, sizes, years: too short for any number we want
_PHONE = lazy(
    r"01[016789]\d{7,8}|0(?:2|[3-6][1-5])\d{7,8}|070\d{8}|050\d{8,9}|"
    r"82(?:10|1[16789]|2|[3-6][1-5]|70)\d{7,8}|"
    r"0[1-9]\d{8,11}|44\d{10}|(?:91)?[6-9]\d{9}|1[2-9]\d{2}[2-9]\d{6}"
)
# Korean company numbers (1588-1234), only when written on their own.
_REP_NUMBER = lazy(r"1(?:5[4-9]|6[0-8]|8[0-9])\d{5}")
# Words after which a shorter number (7-8 digits: Singapore, local lines) is a phone number.
_CALL_CONTEXT = lazy(r"(?:call|ring|dial|num|number|tel|phone|mobile|contact|전화|연락처|폰|문자)[^0-9]{0,12}$")
# Numbers right after these words are serials, orders or parcel numbers: no one's contact.
_SERIAL_LABEL = lazy(
    r"(?:s/n|sn|serial|시리얼|모델|model|imei|품번|제품|주문|송장|운송장|등기|예약|접수|거래|승인|영수증|order|tracking|#|ref)"
    r"(?: ?(?:넘버|번호|number|no\.?|명|code))?[^0-9a-z가-힣]{0,3}(?P<lettered>[a-z]{1,3})?$"
)
# Numbers right after these words are a company's line (a shop, a bank, the platform's help desk).
_SERVICE_LABEL = lazy(
    # Korean labels only: "call customer care 7679046492" is how SMS lures read
    r"(?:고객 ?센터|콜 ?센터|상담 ?센터|서비스 ?센터|a/?s ?센터|대표 ?번호|고객 ?상담)"
    r"[^0-9가-힣]{0,3}(?:번호)?[^0-9]{0,3}$"
)
# A landline right after these words is a shop's or an office's (or the opt-out line of an ad):
# no one's personal contact. Not a mobile: "가게 번호 010-…" is how a lure hands one out.
_PLACE_LABEL = lazy(
    r"(?:매장|가게|사무실|본사|지점|대리점|영업점|수신 ?거부)[^0-9가-힣]{0,3}(?:번호|전화|연락처)?(?:[은는]|로)?[^0-9]{0,3}$"
)
# ... or right after it, a company's too ("02-2038-7777 본사 AS 센터", "1544-0000 고객센터").
_PLACE_LABEL_AFTER = lazy(
    r"[^0-9가-힣\n]{0,3}(?:[은는이가]|으로|로)? ?(?:\(|\[)?(?:매장|가게|사무실|본사|지점|대리점|영업점|고객 ?센터|콜 ?센터|"
    r"상담 ?센터|서비스 ?센터|a/?s ?센터|대표 ?번호)"
)
_OWN_PLACE = lazy(r"(?:저희|제|우리|내)[^0-9\n]{0,12}(?:매장|가게|사무실|지점|대리점|영업점|공방|정비소)[^0-9\n]{0,8}$")
_CALL_ASKED = lazy(r"[^\n]{0,12}?(?:전화|문자|연락)[^\n]{0,6}?(?:주세요|주시면|줘|하세요|하시면|부탁|주셔)")
_KOREAN_MOBILE_PREFIXES = ("010", "011", "016", "017", "018", "019")
# A whole date (a real month and day, one separator), so account numbers that start like one stay.
_DATE = lazy(r"(?<!\d)(?:19|20)\d\d([./-])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])(?!\d)")


class WrittenNumber(NamedTuple):
    start: int
    end: int
    digits: str
    kind: str  # "phone", or "account": 10-16 digits that spell no phone


def written_numbers(text: str, skip: Sequence[tuple[int, int]] = ()) -> Iterator[WrittenNumber]:
    """Every phone-shaped or account-shaped number written in ``text``, in order, but IP
    addresses and the numbers starting inside one of the ``skip`` spans (links)."""
    for run in _NUMBER.finditer(text):
        if any(a <= run.start() < b for a, b in skip) or IP_ADDRESS.fullmatch(run.group()):  # (the cheaper test first)
            continue
        offset = run.start()
        # dates inside a run ("2025.01.03 ~ 2025.01.05") are no one's digits: their groups are left out
        dates = [(offset + m.start(), offset + m.end()) for m in _DATE.finditer(run.group())] if len(run.group()) >= 8 else []
        groups = [(offset + m.start(), offset + m.end(), m.group()) for m in DIGIT_GROUP.finditer(run.group())
                  if not any(a <= offset + m.start() < b for a, b in dates)]
        rest: list[tuple[int, int, str]] = []
        i = 0
        while i <= len(groups):
            phone = _phone_at(text, groups, i) if i < len(groups) else None
            if phone is None and i < len(groups):
                rest.append(groups[i])
                i += 1
                continue
            digits = "".join(g[2] for g in rest)
            if 10 <= len(digits) <= 16:
                yield WrittenNumber(rest[0][0], rest[-1][1], digits, "account")
            elif rest and phone is not None and not is_korean_mobile(phone[1]) and len(digits) + len(phone[1]) <= 16:
                # "3333 028812345": an account whose tail reads as a landline is also a candidate
                # whole (the phone follows it); the words around decide, as for any account
                yield WrittenNumber(rest[0][0], groups[phone[0]][1], digits + phone[1], "account")
            rest = []
            if phone is None:
                break
            j, digits = phone
            yield WrittenNumber(groups[i][0], groups[j][1], digits, "phone")
            i = j + 1


def _phone_at(text: str, groups: list[tuple[int, int, str]], i: int) -> tuple[int, str] | None:
    """(last group, digits) of the longest phone number starting at group ``i``."""
    best = None
    digits = ""
    for j in range(i, len(groups)):
        digits += groups[j][2]
        if len(digits) > 14:
            break
        whole_run = i == 0 and j == len(groups) - 1
        if _PHONE.fullmatch(digits) or (whole_run and _REP_NUMBER.fullmatch(digits)) or (
                7 <= len(digits) <= 8 and _CALL_CONTEXT.search(text, max(0, groups[i][0] - 20), groups[i][0])):
            best = (j, digits)
    return best


def is_nationwide(digits: str) -> bool:
    """Whether ``digits`` are a company's nationwide line (15xx, 16xx, 18xx and four more digits).

    >>> is_nationwide("15889988"), is_nationwide("07048291173")
    (True, False)
    """
    return _REP_NUMBER.fullmatch(digits) is not None


def is_korean_mobile(digits: str) -> bool:
    """Whether ``digits`` dial a Korean mobile (010, 011, 016-019).

    >>> is_korean_mobile("01012345678"), is_korean_mobile("0212345678")
    (True, False)
    """
    return digits.startswith(_KOREAN_MOBILE_PREFIXES) and len(digits) in (10, 11)


def place_landline(text: str, number: WrittenNumber) -> bool:
    """Whether ``number`` is a landline named as a shop's or an office's line, the label
    before it or right after it ("(02) 2038-7777 본사 AS 센터 번호").

    >>> text = "매장 번호는 02-2275-4481 이에요"
    >>> [place_landline(text, n) for n in written_numbers(text)], [place_landline(t, n) for t in (
    ...     "매장 번호는 010-2275-4481", "02-2275-4481 본사 번호예요") for n in written_numbers(t)]
    ([True], [False, True])
    """
    if is_korean_mobile(number.digits):
        return False
    labelled = bool(_PLACE_LABEL.search(text, max(0, number.start - 16), number.start)
                    or _PLACE_LABEL_AFTER.match(text, number.end))
    # the writer's own place with a call asked for is the writer's contact ("저희 사무실 031-… 로 전화 주시면")
    return labelled and not (_OWN_PLACE.search(text, max(0, number.start - 24), number.start)
                             and _CALL_ASKED.match(text, number.end))


# A courier's name right before a company's nationwide line ("로젠택배 1588-9988"): the courier's line.
# (and a maker's service, "삼성전자서비스 1588-…"; or the courier's own name, "로젠(1588-9988)")
_COURIER_BEFORE = lazy(r"(?:택배|서비스|센터|a/?s|로젠|대한통운|한진|롯데|우체국|경동|대신|cj|gs|cu)[^0-9가-힣]{0,3}$")
# ... or a company's service named earlier in the sentence, no call asked ("삼성서비스센터에서 배터리 교체했어요
# 1588-3366 접수번호 있는 영수증 드릴게요"): a nationwide line is a company's, never a trader's own.
_COMPANY_EARLIER = lazy(r"(?:서비스 ?센터|고객 ?센터|a/?s ?센터|택배|본사|공식 ?(?:센터|매장|스토어))[^.?!\n0-9]{0,30}$")
# A delivery's status right after a number ("6865-4193-0934 배달완료"): a parcel's tracking number.
_DELIVERY_STATUS_AFTER = lazy(r"[^0-9a-z가-힣]{0,3}(?:이|가|은|는|로|으로)? ?(?:배달|배송|도착|집하|인수|반송)")


def is_serial(text: str, number: WrittenNumber) -> bool:
    """Whether ``number`` is a serial, order or tracking number or a company's line
    (:func:`after_serial_label`, or a nationwide line after a courier's name), or a parcel's,
    its delivery's status right after it.

    >>> text = "[우체국] 6865-4193-0934 배달완료"
    >>> is_serial(text, next(written_numbers(text)))
    True
    """
    return (after_serial_label(text, number.start) or _DELIVERY_STATUS_AFTER.match(text, number.end) is not None
            or _after_lettered_serial_label(text, number)
            or (is_nationwide(number.digits)
                and (_COURIER_BEFORE.search(text, max(0, number.start - 8), number.start) is not None
                     or (_COMPANY_EARLIER.search(text, max(0, number.start - 40), number.start) is not None
                         and _CALL_ASKED.match(text, number.end) is None))))


def after_serial_label(text: str, start: int) -> bool:
    """Whether the number at ``start`` follows a serial, order or parcel-number label, or
    names a company's line (고객센터 1588-1234): no one's personal contact either way.

    >>> text = "운송장 번호 123456789012"
    >>> after_serial_label(text, text.index("1"))
    True
    >>> text = "애플 고객센터 080-333-4000"
    >>> after_serial_label(text, text.index("0"))
    True
    """
    window = max(0, start - 16)
    label = _SERIAL_LABEL.search(text, window, start)
    return bool((label is not None and label.group("lettered") is None) or _SERVICE_LABEL.search(text, window, start))


def _after_lettered_serial_label(text: str, number: WrittenNumber) -> bool:
    """A serial label with letters before the digits ("주문번호 C01298457712"), unless the digits
    dial a Korean mobile: "모델번호 T010-7733-2048 … T 빼고 문자 주시면" is a phone in disguise."""
    label = _SERIAL_LABEL.search(text, max(0, number.start - 16), number.start)
    return label is not None and label.group("lettered") is not None and not is_korean_mobile(number.digits)
