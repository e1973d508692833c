"""The normaliser's offset map and the masker."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bunjang_lab.fraud.mask import mask
from bunjang_lab.fraud.normalise import domain_skeleton, normalise

TRICKY = st.text(alphabet=st.sampled_from(list("카톡ㅋㅌ공일이삼 .-_ab01９①\u200bаA@[]()hxp:/ㅡ텔레그램하나둘")), max_size=60)


@settings(max_examples=300, deadline=None)
@given(TRICKY)
def test_every_normalised_character_maps_into_the_original(text):
    n = normalise(text)
    for i in range(len(n.text)):
        a, b = n.span(i, i + 1)
        assert 0 <= a < b <= len(text)
    if n.text:
        a, b = n.span(0, len(n.text))
        assert 0 <= a < b <= len(text)


@settings(max_examples=200, deadline=None)
@given(TRICKY)
def test_normalising_is_idempotent_on_its_output(text):
    once = normalise(text).text
    assert normalise(once).text == normalise(once).text  # deterministic
    assert "\u200b" not in once


def test_obfuscations_are_undone():
    cases = {
        "카 카 오 톡": "카카오톡", "카.톡": "카톡", "0 1 0 - 1 2 3 4": "0101234", "010ㅡ1234": "010-1234", "텔레 ㅡ @minji": "텔레 - @minji", "ㅡㅡ": "ㅡㅡ",
        "m.i.n.j.i_s.h.o.p": "minji_shop", "k_a_k_a_o": "kakao", "shop⭕-pay.c⭕m": "shopo-pay.com", "택배 ⭕": "택배 ⭕",
        "safe-pay🇰🇷/pay/12": "safe-pay.kr/pay/12",
        "공일공 일이삼사 오육칠팔": "010 1234 5678", "영일영 하나둘셋넷 다섯여섯일곱여덟": "010 1234 5678",
        "ㅋㅌ": "카톡", "ㅋㅋㅇㅌ": "카카오톡", "ㅌㄹ": "텔레그램", "까톡": "카톡", "카톸": "카톡",
        "ＡＢＣ１２３": "abc123", "①②③": "123", "hxxp://ab[.]cd(.)com": "http://ab.cd.com", "x[at]y[dot]kr": "x@y.kr",
        "раураl": "paypal", "카\u200b\u200d톡": "카톡",
        # the keyboard left in Latin, in an all-Latin text and beside Hangul; Hanja read in Korean
        "rpwhk qjsgh 110 tjsdlqrma": "계좌번호 110 선입금", "dkdlel rainy_7": "아이디 rainy_7", "zkxhr 주세요": "카톡 주세요", "送金 確認": "송금 確認",
        # a dash read out between numerals; a host's dots, endings and slash read out in Hangul; ㅇ for o in a
        # Latin word; look-alike colon and slash; Cherokee and turned letters
        "빵일빵 다시 이이삼삼 다시 사사오오": "010-2233-4455", "제로원제로 세븐포투식스 에잇나인원쓰리": "010 7426 8913",
        "원투 펀치 세븐일레븐": "원투 펀치 세븐일레븐", "bunjang-payꓸcom": "bunjang-pay.com", "pay-check 점 케이알": "pay-check.kr",
        "safe-deal 쩜 온라인 슬래시 pay": "safe-deal.online/pay", "lotte-post.ㅇrg": "lotte-post.org",
        "http∶⁄⁄a.kr": "http://a.kr", "ᎢᎬᏞᎬᏀᎡᎪᎷ": "telegram", "ʇǝlǝᵷɹɐɯ": "telegram",
        # an ID spelled with the letters' Korean names after an ID marker
        "아이디 에스 에이 엠 언더바 구구 요": "아이디 sam_99 요", "id: 더블유 오 엔 닷 케이 팔팔": "id: won.k88",
    }
    for raw, expected in cases.items():
        assert normalise(raw).text == expected, raw


def test_ordinary_words_are_left_alone():
    for text in ("이사 가요", "오일 교체", "ㅋㅋㅋ", "사이즈 2.5", "192.168.0.1", "공구 세트 하나 남음", "사이 다시 오세요",
                 "오늘 점 하나 찍었어요", "사진 다시 올릴게요 슬래시 말고 대시요", "ㅇㅇ ok", "아이디가 이상해요",
                 "아이디 비밀번호 찾기"):
        assert normalise(text).text == text.lower()


def test_evidence_maps_back_to_what_was_written():
    n = normalise("연락 공일공-일이삼사-오육칠팔 주세요")
    start = n.text.index("010")
    assert n.source(start, start + len("010-1234-5678")) == "공일공-일이삼사-오육칠팔"


def test_leetspeak_skeleton():
    assert domain_skeleton("b0njang") == domain_skeleton("bonjang")
    assert domain_skeleton("paypa1") == domain_skeleton("paypal")
    assert domain_skeleton("rnaver") == domain_skeleton("maver")


def test_mask_hides_personal_data_but_a_few_characters():
    assert mask("전화 010-1234-5678") == "전화 01*-****-**78"
    assert mask("카톡 ID: seller99") == "카톡 ID: se****99"
    assert mask("텔레그램 @scam_king") == "텔레그램 @sc**_**ng"
    assert mask("open.kakao.com/o/sAbCdEf") == "open.kakao.com/o/sA***Ef"
    assert mask("신한 110-123-456789") == "신한 11*-***-****89"
    assert mask("공일공 일이삼사 오육칠팔") == "공일* **** **칠팔"


def test_mask_keeps_ordinary_text():
    for text in ("가격 150,000원", "모델 A1234", "", "아이폰 15 프로", "2024-01-15 구매"):
        assert mask(text) == text


PHONE_FORMATS = ["{a}-{b}-{c}", "{a} {b} {c}", "{a}{b}{c}", "{a}.{b}.{c}", "{a}ㅡ{b}ㅡ{c}", "({a}) {b}-{c}"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["010", "011", "070", "031"]), st.integers(1000, 9999), st.integers(1000, 9999),
       st.sampled_from(PHONE_FORMATS), st.sampled_from(["연락 ", "전화: ", "문자 주세요 ", ""]))
def test_masked_phone_numbers_never_show_their_middle_digits(prefix, middle, last, layout, lead):
    number = layout.format(a=prefix, b=middle, c=last)
    hidden = mask(lead + number + " 입니다")
    assert str(middle) not in hidden.replace("-", "").replace(" ", "")
    assert len(hidden) == len(lead + number + " 입니다")  # masking keeps positions


@settings(max_examples=300, deadline=None)
@given(TRICKY)
def test_the_tracked_run_cleans_exactly_like_the_fast_one(text):
    from bunjang_lab.fraud.normalise import _Builder, _run

    assert _run(text, _Builder(text, track=True)).text == normalise(text).text


_MESSENGER_WORDS = st.sampled_from([
    "카카오톡", "카톡", "kakao talk", "ka톡", "텔레 그램", "텔레", "tg", "온라인", "라인", "online", "line", "위챗", "weixin",
    "微信", "whats app", "아이디", "아디", "계정", "id", "idea", "친구 추가", "친추", "가격", "",
])
_HANDLE_PIECE = st.tuples(_MESSENGER_WORDS, st.sampled_from(["", " ", ":", " @"]),
                          st.sampled_from(["", "으로", "id", "아이디"]), st.sampled_from(["", " ", ": "]),
                          st.sampled_from(["ab12", "seller_9", "x", "가격"])).map("".join)
MESSENGER_TEXT = st.lists(_HANDLE_PIECE, max_size=4).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(MESSENGER_TEXT)
def test_literal_first_spelling_finds_the_same_handles(text):
    """HANDLE_AFTER, spelled one branch per word for speed, matches like its grouped form
    with the look-behinds in front of the words (the first, slower spelling)."""
    import re

    from bunjang_lab.fraud.patterns import HANDLE, HANDLE_AFTER

    messenger = (r"카카오 ?톡|카톡|kakao ?talk|katalk|ka톡|kakao|텔레 ?그램|telegram|텔레(?=\W{0,3}(?:아이디|id|@))|"
                 r"(?<![a-z])tg(?=\W{0,3}(?:id|@))|(?<![온])라인|(?<![a-z])line|위챗|wechat|weixin|微信|왓츠앱|whatsapp|whats app")
    id_marker = r"(?:아이디|아디|계정|(?<![a-z])id(?![a-z]))"
    grouped = re.compile(rf"(?:{messenger}|{id_marker}|친추|친구 ?추가)[^0-9a-z가-힣]{{0,3}}(?:{id_marker}|으로|로|은|는)?"
                         rf"[^0-9a-z가-힣]{{0,3}}({HANDLE})")
    expected = [(m.span(), m.span(1)) for m in grouped.finditer(text)]
    assert [(m.span(), m.span(m.lastindex)) for m in HANDLE_AFTER.finditer(text)] == expected


_PAYMENT_PIECE = st.sampled_from([
    "선입금", "선 송금", "입금", "송금", "이체", "먼저", "부터", "계좌", "계좌로", "통장으로", "무통장", "토스", "현금", "만", "으로",
    "로", "에", "번호", "바로", "보내", "넣어", "쏴", "해", "하", "주세요", "주시면", "부탁", "보증금", "예약금 만원", "2만원", "돈",
    "반값", "확인 후", "되는 대로", "발송", "택배", "알려", "드릴게요", "상품권", "핀 번호", "코인", "atm", "받아요", "pay", "me",
    "first", "up front", "send the money", "to my bank account", "transfer only", "카톡", "카카오톡", "kakao", "카카오페이", "연락",
    "문의는", "대화", "아이디", "프로필", "추가", "안전결제", "번개페이", "수수료", "아까워서", "말고", "대신", "없이", "🙅", "❌",
    "요", "다", "가능해요", "되나요", "현금", "직접", "바로", "deposit", "wire",
])
PAYMENT_TEXT = st.lists(st.tuples(_PAYMENT_PIECE, st.sampled_from(["", " ", "\n", "?", ".", ","])).map("".join),
                        max_size=10).map("".join)


@settings(max_examples=400, deadline=None)
@given(PAYMENT_TEXT, st.integers(0, 30))
@example("입금 먼저 주세요, 계좌로 주세요", 0)  # two branches match at the same place: the first one listed wins
@example("연락은 카톡 주세요", 0)
def test_alternations_find_what_the_whole_expression_finds(text, start):
    """The prepayment request, found family by family (each family compiled only when one
    of its words is where a match could start), matches exactly like the whole alternation
    compiled as one expression, from any start, and so does literal_first's spelling (a
    branch per first letter) like one branch per word."""
    import re

    from bunjang_lab.fraud import rules

    whole = re.compile(rules._PREPAY.pattern)
    assert [m.span() for m in rules._PREPAY.finditer(text, start)] == [m.span() for m in whole.finditer(text, start)]
    per_word = re.compile("|".join(f"{word}{rest}" for words, rest, *_ in rules._PREPAY_FAMILIES for word in words))
    assert [m.span() for m in whole.finditer(text, start)] == [m.span() for m in per_word.finditer(text, start)]


SPACED_TEXT = st.text(alphabet=st.sampled_from(list("카톡ab1가ㅋ .-_·☆\n,~*|")), max_size=40)


@settings(max_examples=400, deadline=None)
@given(SPACED_TEXT)
@example("카 톡 아 이 디    a b")  # gaps of one to four separators
@example("카 ☆ . 톡 - 가")
def test_spaced_letters_match_like_their_first_spelling(text):
    """_SPACED, one unit repeated (cheaper to compile), finds the runs of spaced-out
    characters its first spelling (a first unit, then its repetition) found, and so does
    its spelling for texts without symbols or emoji on such texts."""
    import re

    from bunjang_lab.fraud.normalise import _JUNK_CHARS, _SPACED, _SPACED_PLAIN, _WORD, SEP

    first = re.compile(rf"{SEP}(?<=(?<![{_WORD}])[{_WORD}](?s:.))(?:{SEP}{{0,2}}[{_WORD}](?![{_WORD}]))"
                       rf"(?:{SEP}{{1,3}}[{_WORD}](?![{_WORD}]))*")
    expected = [m.span() for m in first.finditer(text)]
    assert [m.span() for m in _SPACED.finditer(text)] == expected
    if not re.search(f"[{_JUNK_CHARS}]", text):
        assert [m.span() for m in _SPACED_PLAIN.finditer(text)] == expected


@settings(max_examples=300, deadline=None)
@given(TRICKY)
@example("카 카 오 톡 ①② ＡＢ hxxp://ab[.]cd")
def test_replaying_the_steps_that_changed_the_text_gives_the_whole_runs_map(text):
    """The map is built by replaying only the steps that changed the text: the same text
    and map as running every step while tracking positions."""
    from bunjang_lab.fraud.normalise import _Builder, _run

    whole = _run(text, _Builder(text, track=True))
    n = normalise(text)
    assert n.text == whole.text
    for i in range(len(n.text)):
        assert n.span(i, i + 1) == ((i, i + 1) if whole.starts is None else (whole.starts[i], whole.ends[i]))


NUMERAL_TEXT = st.text(alphabet=st.sampled_from(list("공영일이삼사오육칠팔구하나둘셋 0123456789-.ㅡ·✨가")), max_size=40)


@settings(max_examples=400, deadline=None)
@given(NUMERAL_TEXT)
@example("2024-01-15 구매 010 1234 5678")
@example("공1공-1234-5678")
def test_numeral_runs_change_nothing_when_every_chain_is_digits(text):
    """The Hangul-numeral step is skipped when no chain of numeral characters holds a Hangul
    one: on such texts its rewrite would change nothing."""
    from bunjang_lab.fraud.normalise import _NUMERAL_CHAIN, _NUMERAL_RUN, _numerals

    if all(chain.isascii() for chain in _NUMERAL_CHAIN.findall(text)):
        assert _NUMERAL_RUN.sub(lambda m: _numerals(m) or m.group(), text) == text


HINT_TEXT = st.text(alphabet=st.sampled_from(list("카톡ㅋㅌㅏ텔레그램 .,[]()닷점hxpdotcom계좌번호입금a1")), max_size=40)


@settings(max_examples=400, deadline=None)
@given(HINT_TEXT)
def test_grouped_alternations_match_like_one_branch_per_alternative(text):
    """Grouping an alternation's branches by first letter finds the same matches."""
    import re

    from bunjang_lab.fraud import normalise as n

    for grouped, branches in ((n._DEFANG_HINT, n._DEFANG_HINTS),
                              (n._SPLIT_WORD, [n._TYPED_SEP.join(word) for word in n._SPLIT_WORDS])):
        plain = re.compile("|".join(branches))
        assert [m.span() for m in grouped.finditer(text)] == [m.span() for m in plain.finditer(text)]


LOOKALIKE_TEXT = st.text(alphabet=st.sampled_from(list("oilzsbㅇak7 -.@$0123가")), max_size=30)


@settings(max_examples=400, deadline=None)
@given(LOOKALIKE_TEXT)
@example("o1o-l234")
@example("k4k40")
@example("ㅇ1")
@example("1 s")
@example("$a")
def test_the_lookalike_hint_finds_a_text_when_either_of_its_parts_does(text):
    """One scan stands for the look-alike digits' hint and the leetspeak's: it finds
    something exactly when one of them does, so a text it passes by needs neither step."""
    from bunjang_lab.fraud import normalise as n

    either = n._DIGITISH_HINT.search(text) is not None or n._LEET_HINT.search(text) is not None
    assert (n._LOOKALIKE_HINT.search(text) is not None) == either


HANDLE_TEXT = st.text(alphabet=st.sampled_from(list("카톡 친추로@_.-0123456789중간끝은")), max_size=40)


@settings(max_examples=300, deadline=None)
@given(HANDLE_TEXT)
def test_texts_without_a_latin_letter_hold_no_handle(text):
    """The masker looks for messenger handles only in texts with a Latin letter: every
    handle holds one."""
    from bunjang_lab.fraud.patterns import HANDLE_AFTER, HANDLE_BEFORE, PHONE_IN_PIECES

    assert HANDLE_AFTER.search(text) is None and HANDLE_BEFORE.search(text) is None
    if "01" not in text:
        assert PHONE_IN_PIECES.search(text) is None
