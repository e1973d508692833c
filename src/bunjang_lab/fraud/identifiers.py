"""The identifiers a text gives away: what a confirmed scam teaches the blocklist.

Phone and bank account numbers, messenger IDs and profile links, e-mail addresses and the
registrable domains of links outside the platform and the sites everyone knows, each as
``"kind:value"`` in a canonical form (digits only, lower case, ``@`` dropped), so the same
identifier written another way (``공일공 …``, ``０１０ㅡ…``, ``카.톡``) is the same entry. The
extractors are the rules' own (:mod:`~bunjang_lab.fraud.normalise`, :mod:`~bunjang_lab.fraud.phones`,
:mod:`~bunjang_lab.fraud.links`, :mod:`~bunjang_lab.fraud.patterns`).

>>> identifiers("카톡 scam_kim 추가, 공일공 일이삼사 오육칠팔 로 문자 http://pay-check.top/a")
['domain:pay-check.top', 'messenger:scam_kim', 'phone:01012345678']
>>> identifiers("입금 국민 1002-123-456789 번개장터 https://m.bunjang.co.kr/p/1 naver.com")
['account:1002123456789']
>>> identifiers("네 내일 직거래 가능해요 2024-01-15")
[]
"""

from __future__ import annotations

from bunjang_lab.fraud.links import OWNED_SITE_CODES, PAYMENT_APP_LINK, PUBLISHED_PAGE, find_links, registrable_domain
from bunjang_lab.fraud.mask import masked
from bunjang_lab.fraud.normalise import normalise
from bunjang_lab.fraud.patterns import AT_HANDLE, EMAIL, HANDLE_AFTER, NOT_HANDLES, PROFILE_LINK
from bunjang_lab.fraud.phones import is_serial, written_numbers
from bunjang_lab.fraud.rules import MAX_CHARS

SHORTENED = "url_shortener"
KINDS = ("phone", "account", "messenger", "email", "domain")
MIN_ACCOUNT_DIGITS = 10  # what a bank account needs (phones.py's candidates are 10-16 digits)


def _host(link_text: str) -> str:
    """The host of a link as written (scheme, user, port and path dropped)."""
    rest = link_text.split("://", 1)[-1].split("@")[-1]
    for stop in "/?#:":
        rest = rest.split(stop, 1)[0]
    return rest.replace(" ", "").strip(".-")


def identifiers(text: str) -> list[str]:
    """Sorted distinct ``"kind:value"`` identifiers in ``text`` (its first :data:`MAX_CHARS`)."""
    if not text:
        return []
    normalised = normalise(text[:MAX_CHARS])
    plain = normalised.text
    found: set[str] = set()
    links = list(find_links(normalised))
    for link in links:
        # a shortener's, payment app's or page host's domain is everyone's (a payment app's ID is taken from its path below)
        if link.code not in OWNED_SITE_CODES and link.code not in (SHORTENED, PAYMENT_APP_LINK, PUBLISHED_PAGE):
            host = _host(plain[link.start:link.end])
            if "." in host:
                found.add(f"domain:{registrable_domain(host)}")
    for number in written_numbers(plain, [(link.start, link.end) for link in links]):
        if is_serial(plain, number):
            continue
        if number.kind == "phone":
            found.add(f"phone:{number.digits}")
        elif len(number.digits) >= MIN_ACCOUNT_DIGITS:
            found.add(f"account:{number.digits}")
    if "@" in plain:
        found |= {f"email:{m.group(1)}@{m.group(2)}" for m in EMAIL.finditer(plain)}
        found |= {f"messenger:{m.group().lstrip('@')}" for m in AT_HANDLE.finditer(plain)}
    for match in HANDLE_AFTER.finditer(plain):
        handle = match.group(match.lastindex).lstrip("@")
        if handle not in NOT_HANDLES:
            found.add(f"messenger:{handle}")
    if "/" in plain:
        found |= {f"messenger:{m.group(1)}" for m in PROFILE_LINK.finditer(plain)}
    return sorted(found)


def kind_of(identifier: str) -> str:
    """``"phone"`` of ``"phone:010..."``."""
    return identifier.split(":", 1)[0]


def shown(identifier: str) -> str:
    """An identifier as evidence may quote it: its value masked.

    >>> shown("phone:01012345678"), shown("domain:pay-check.top")
    ('phone:01*******78', 'domain:pa*-*****.*op')
    """
    kind, value = identifier.split(":", 1)
    return f"{kind}:{masked(value, [(0, len(value))])}"
