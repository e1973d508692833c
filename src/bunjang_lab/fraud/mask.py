"""Mask personal data (phone and account numbers, e-mail addresses, messenger IDs) in text.

Evidence, logs and reports show only a few characters of each, so a reviewer can still
tell two numbers apart without the report leaking them. Obfuscated forms are found
through the normaliser and masked where the user wrote them.

>>> mask("카.톡 ab1234 으로 연락 주세요")
'카.톡 ab**34 으로 연락 주세요'
>>> mask("전화 010-1234-5678")
'전화 01*-****-**78'
>>> mask("공일공 일이삼사 오육칠팔")
'공일* **** **칠팔'
>>> mask("mail seller.kim@naver.com")
'mail se****.*im@naver.com'
>>> mask("가격 150,000원, 모델 A1234")
'가격 150,000원, 모델 A1234'
"""

from __future__ import annotations

from bunjang_lab.fraud.normalise import Normalised, normalise
from bunjang_lab.fraud.patterns import (
    AT_HANDLE, DATE, DIGIT_GROUP, EMAIL, HANDLE_AFTER, HANDLE_BEFORE, LATIN_LETTER, NOT_HANDLES, PHONE_IN_PIECES,
    PROFILE_LINK, digit_runs,
)

MIN_MASKED_DIGITS = 8  # phone numbers (9-11 digits) and accounts (10-14); prices and model numbers stay
_MASKED_NUMBER = digit_runs(MIN_MASKED_DIGITS)


def _personal_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the normalised text that hold personal data."""
    spans = []
    for match in _MASKED_NUMBER.finditer(text):
        if not DATE.fullmatch(match.group()):
            spans.append(match.span())
    if "@" in text:
        spans += [m.span(1) for m in EMAIL.finditer(text)]
        spans += [m.span() for m in AT_HANDLE.finditer(text)]
    # (every handle holds a Latin letter, and HANDLE_BEFORE, starting with one, is tried at
    # every place: most flagged Korean chat has none, and skips most of the masking's time)
    if LATIN_LETTER.search(text):
        for match in (*HANDLE_AFTER.finditer(text), *HANDLE_BEFORE.finditer(text)):
            if match.group(match.lastindex).lstrip("@") not in NOT_HANDLES:
                spans.append(match.span(match.lastindex))
    if "01" in text:  # how every number in pieces starts
        for match in PHONE_IN_PIECES.finditer(text):  # each piece after the prefix
            spans += [m.span() for m in DIGIT_GROUP.finditer(text, match.start() + 3, match.end())
                      if m.end() - m.start() >= 2]
    if "/" in text:  # every profile link has one
        spans += [m.span(1) for m in PROFILE_LINK.finditer(text)]
    return spans


def _hide(chunk: str) -> str:
    """Keep the first and last characters of a chunk, star the letters and digits between."""
    positions = [i for i, ch in enumerate(chunk) if ch.isalnum()]
    n = len(positions)
    head, tail = (2, 2) if n >= 6 else (2, 1) if n >= 5 else (1, 0)
    hidden = set(positions[head:n - tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(chunk))


def personal_spans(normalised: Normalised) -> list[tuple[int, int]]:
    """Sorted spans of the *original* text that hold personal data."""
    return sorted(normalised.span(a, b) for a, b in _personal_spans(normalised.text) if b > a)


def masked(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each of ``spans`` hidden but a few characters (same length as ``text``,
    so a slice of the result masks the same slice of the text)."""
    out, last = [], 0
    for start, end in spans:
        start = max(start, last)
        if start >= end:
            continue
        out.append(text[last:start])
        out.append(_hide(text[start:end]))
        last = end
    out.append(text[last:])
    return "".join(out)


def mask(text: str) -> str:
    """``text`` with phone/account numbers, e-mail local parts and messenger IDs masked."""
    if not text:
        return text
    return masked(text, personal_spans(normalise(text)))
