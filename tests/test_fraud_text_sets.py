"""The rules on hand-written honest messages and on obfuscated lures (tests/data).

The honest set (tests/data/fraud_honest_ko.tsv) was written by hand, apart from the
simulator: buyers asking about payment, people refusing outside messengers or warning
others, banks as meeting places, numbers, links and brand names. The lures
(tests/data/fraud_lures_ko.tsv, ``benchmarks/fraud_text.py --write-lures``) use
phrasings and obfuscations of their own. Three more sets, written by hand in later rounds
(tests/data/fraud_fresh_ko.tsv, column ``round``: round 2 has 120 lures and 102 hard
negatives, round 3 60 and 51, round 4 45 and 30), use obfuscations and phrasings neither
the rules nor the first sets had seen (parenthesized and circled Hangul, math-bold and
superscript digits, leetspeak names, half-Latin names, words down a column, a name before
"@" in a link, symbols standing for dots, spaced hosts, any link ending before a path...);
a line break and a tab are written ``\\n`` and ``\\t`` there. Each round was scored once
before the rules were corrected on its misses (recall 0.81, 0.87, 0.84, 0.84 for rounds 2-5):
those first figures are the held-out measure, the ones after are not. Round 6 (97 lures, 78
hard negatives), written with round 5, is kept out of these tests: it was scored once, after
round 5's fixes, as the held-out estimate; so is round 7 (90 lures, 78 hard negatives), written by
hand before the character n-gram second opinion was built, and round 8 (99 lures, 80 hard negatives),
written without reading the rules and scored once with the code of 3cfe59a (its misses are kept
out of the docs); so are rounds 9 and 10 (99 lures, 80 hard negatives each), written the same way and scored
once with the code they were committed with, and round 11, written blind after round 10's fixes and
never read here. Figures: docs/fraud.md.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from bunjang_lab.fraud.risk import flagged, rules_risk
from bunjang_lab.fraud.rules import reasons

DATA = Path(__file__).resolve().parent / "data"


def rows(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


HONEST = rows("fraud_honest_ko.tsv")
LURES = rows("fraud_lures_ko.tsv")
# Rounds 6 on are held out: each was written before the code it measures and scored once (rounds 9
# to 17 were corrected on afterwards), so the targets below hold for the rounds the rules were first
# corrected on.
HELD_OUT_ROUNDS = {str(n) for n in range(6, 100)}
FRESH = [{**row, "text": row["text"].replace("\\n", "\n").replace("\\t", "\t")} for row in rows("fraud_fresh_ko.tsv")
         if row["round"] not in HELD_OUT_ROUNDS]


def caught(row: dict) -> bool:
    """A lure is caught when it is flagged and a rule of its own category fired."""
    found = reasons(row["text"])
    return flagged(rules_risk(found)) and row["category"] in {r["category"] for r in found}


def test_the_honest_set_is_large_and_varied():
    assert len(HONEST) >= 500 and len({r["text"] for r in HONEST}) == len(HONEST)
    kinds = Counter(r["kind"] for r in HONEST)
    assert len(kinds) >= 10 and min(kinds.values()) >= 10


def test_at_most_two_percent_of_honest_messages_are_flagged():
    flags = [r["text"] for r in HONEST if flagged(rules_risk(reasons(r["text"])))]
    assert len(flags) <= 0.02 * len(HONEST), flags


@pytest.mark.parametrize("text", [
    "계좌이체 가능해요? 아니면 번개페이로 할게요", "혹시 계좌이체도 되나요? 안되면 안전결제 할게요",
    "I rarely use WhatsApp, let's chat here on Bunjang", "카톡 안 해요", "계좌번호 먼저 달라는 분들 사기니까 조심하세요",
    "카톡 아이디 물어보시는데 여기서만 거래해요", "2025.01.03 ~ 2025.01.05 여행 가서 답장 늦어요", "토스로 보내드리면 되나요?",
])
def test_the_issue_examples_are_not_flagged(text):
    assert reasons(text) == []


@pytest.mark.parametrize("lures", [LURES, [row for row in FRESH if row["label"] == "lure"]], ids=["first", "fresh"])
def test_lures_are_caught_in_every_category(lures):
    hits = Counter(row["category"] for row in lures if caught(row))
    totals = Counter(row["category"] for row in lures)
    assert len(totals) == 3 and sum(hits.values()) >= 0.95 * len(lures)
    for category, total in totals.items():
        assert hits[category] >= 0.9 * total, category


def test_at_most_two_percent_of_the_fresh_hard_negatives_are_flagged():
    negatives = [row["text"] for row in FRESH if row["label"] == "honest"]
    assert len(negatives) >= 100 and len({row["kind"] for row in FRESH if row["label"] == "honest"}) >= 8
    flags = [text for text in negatives if flagged(rules_risk(reasons(text)))]
    assert len(flags) <= 0.02 * len(negatives), flags


@pytest.mark.parametrize("text,code", [
    ("카🍫톡 ☞ kim77", "kakao_id"), ("ㅋㅏㅋㅏㅇㅗㅌㅗㄱ : minsu88", "kakao_id"), ("O1O-l234-5678 문자주세요", "phone_number"),
    ("⓪①⓪ ❶❷❸❹ ⑤⑥⑦⑧", "phone_number"), ("bunjang-pay 닷컴/order 에서 결제", "lookalike_domain"),
    ("카카.오톡 주세요", "kakao_contact"), ("선💰입금 해주시면 발송", "prepayment_request"),
    ("신🌸한 110·234·567890", "bank_account"), ("텔☆레☆그☆램 @dealer", "telegram_id"),
    ("⒦⒜⒦⒜⒪ : sunny0412", "kakao_id"), ("㉸톡 아이디 jiwoo_92", "kakao_id"), ("k4k40t4lk: dongmin_21", "kakao_id"),
    ("카kao톡 jinho.lee8 추가", "kakao_id"), ("카\n카\n오\n톡\nsujin_55", "kakao_id"), ("ㅋ ㅏ ㅋ ㅏ ㅇ ㅗ ㅌ ㅗ ㄱ mk2580", "kakao_id"),
    ("인스타 DM 주세요 @vintage.closet_", "messenger_id"), ("공⑴공-⑵⑶⑷⑸-⑹⑺⑻⑼ 문자", "phone_number"),
    ("零一零 四五六七 八九零一 문자 주세요", "phone_number"), ("jiyoon.park [골뱅이] gmail [점] com", "email_address"),
    ("https://bunjang.co.kr@pay-verify.top/order/77", "lookalike_domain"), ("bit . ly / 3xYz9Q", "url_shortener"),
    ("cj-delivery.c0m/track 배송조회", "payment_link"), ("bunjang-safe🔸com/pay", "lookalike_domain"),
    ("택배비 결제 링크: lotte-parcel.delivery/pay", "payment_link"), ("우리 1002 ▪ 845 ▪ 339201 입금", "bank_account"),
    ("입금처: 신한 110 [234] 567890", "bank_account"), ("토스 1908-4455-6621 로 보내주시면 돼요", "bank_account"),
    ("메일 jun.kim 골뱅이 네이버 닷컴", "email_address"), ("연락은 디스코드 seller#1234 로 주세요", "messenger_id"),
    ("카톡 ID는 프로필에 적어놨어요", "kakao_contact"), ("돈 먼저 보내주세요", "prepayment_request"),
    ("토스로 먼저 보내주세요", "prepayment_request"), ("입금 확인 즉시 발송합니다", "prepayment_request"),
    ("번개페이 쓰지 마시고 계좌로 주세요", "prepayment_request"), ("연락처 O1O.ЗЗ44.5566", "phone_number"),
    ("결제 url bunjang-pay . c o m / pay", "lookalike_domain"), ("선입금 ok? 그럼 바로 쏴드림", "prepayment_request"),
    ("입금 완료되면 바로 택배 접수해요", "prepayment_request"),
    # round 5: look-alike letters beyond o/i/l, regional-indicator letters, a comma for the dot, jamo initials of
    # payment words, digits spelled in English, sums and ways to pay outside asked for first
    ("O1O-l234-S678 로 전화주세요", "phone_number"), ("🇰 🇦 🇰 🇦 🇴 : lee_shop7", "kakao_id"),
    ("결제 주소 bunjangpay,com/checkout", "lookalike_domain"), ("ㅅㅇㄱ 해주시면 바로 보내요", "prepayment_request"),
    ("zero one zero 5512 3434 로 연락주세요", "phone_number"), ("반값 먼저 보내주시면 나머지는 받고 주세요", "prepayment_request"),
    ("보증금 2만원 먼저 보내주세요", "prepayment_request"), ("문화상품권 핀번호로 결제해주세요", "prepayment_request"),
    ("페이코 송금으로 먼저 주세요", "prepayment_request"), ("ATM으로 바로 넣어주시면 돼요", "prepayment_request"),
    ("110-345-678901 여기로 보내주세요", "account_number"), ("wire the money first to my account", "prepayment_request"),
    ("오카방 들어오세요 방이름 명품정리", "kakao_openchat"),
])
def test_obfuscations_of_every_kind_are_undone(text, code):
    assert code in {r["code"] for r in reasons(text)}


@pytest.mark.parametrize("text", [
    "naver.me 링크로 결제하라는 판매자 조심하세요", "예약금은 안 받아요 먼저 결제하시는 분께 팝니다", "문화상품권 핀번호 달라는 사람 100% 사기예요",
    "기프티콘 결제는 안 돼요 죄송해요", "무통장 입금도 되나요? 아니면 번개페이로 할게요", "one two buckle my shoe", "제품 코드 bs12345678",
])
def test_round_five_hard_negatives_stay_quiet(text):
    assert not flagged(rules_risk(reasons(text)))


def test_evidence_quotes_only_the_scored_text():
    for row in LURES[:60] + FRESH[:120]:
        for reason in reasons(row["text"]):
            plain = reason["evidence"].replace("*", "")
            assert all(ch in row["text"] for ch in plain if ch not in " …"), (row["text"], reason)
