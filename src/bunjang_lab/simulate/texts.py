"""Korean marketplace text: titles, descriptions, chats, search queries, and the ways
scammers hide a contact, a link or a bank account in them (with honest look-alikes).

Every function takes a :class:`random.Random` so the output is deterministic per seed.

>>> import random
>>> rng = random.Random(1)
>>> sentence, evidence = scam(rng, "external_channel")
>>> evidence in sentence
True
>>> hangul_digits("010")
'공일공'
"""

from __future__ import annotations

import random
import string

from bunjang_lab.fraud.categories import ACCOUNT_TRANSFER, EXTERNAL_CHANNEL, PHISHING_LINK
from bunjang_lab.simulate.catalog import BRAND_ALIASES, CONDITIONS, SIZES, Leaf
from bunjang_lab.text.hangul import chosung

EMOJI = ("😊", "🙏", "✨", "💯", "🔥", "👍", "❤️", "ㅎㅎ", "^^", "!!")
TYPOS = {"거의": "거이", "했어요": "햇어요", "없어요": "업어요", "깨끗": "깨긋", "됩니다": "되요", "택배": "택베"}
LOCATIONS = ("강남역", "홍대입구역", "잠실역", "서울대입구역", "부평역", "서면역", "동성로", "수원역", "판교역", "신촌역")

# -- honest listing text -------------------------------------------------------------------


def title(rng: random.Random, leaf: Leaf, brand: str | None, condition: int) -> str:
    noun = rng.choice(leaf.nouns)
    top = leaf.path.split(">")[0]
    parts = []
    if rng.random() < 0.15:
        parts.append(rng.choice(("[급처]", "(정품)", "[택포]", "💥", "최저가")))
    if brand:
        parts.append(rng.choice((brand, brand, BRAND_ALIASES.get(brand, (brand,))[0])))
    parts.append(noun)
    if top in SIZES and rng.random() < 0.7:
        parts.append(rng.choice(SIZES[top]))
    if top in ("디지털", "가전") and rng.random() < 0.6:
        parts.append(_model_number(rng))
    if rng.random() < 0.5:
        parts.append(CONDITIONS[condition])
    return " ".join(parts)


def _model_number(rng: random.Random) -> str:
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
    return rng.choice((f"{letters}-{rng.randint(100, 999)}{rng.choice('NKLS')}", f"{rng.randint(64, 512)}GB",
                       f"A{rng.randint(1000, 2999)}", f"{rng.randint(20, 24)}년형"))


_DESC_LINES = (
    "{cond} 상태입니다", "한두번 착용했어요", "실사용 {n}개월", "박스 풀구성이에요", "구성품 다 있어요",
    "직거래 {loc} 가능", "택배비 별도입니다", "택포 가격이에요", "네고 문의 사절", "쿨거래시 네고 가능",
    "생활기스 조금 있어요", "정품 맞습니다", "거의 새것이에요 깨끗합니다", "교환 안받아요", "급하게 처분해요",
    "편의점 반값택배 가능", "사진 더 필요하시면 말씀주세요", "구매한지 얼마 안됐어요",
)


def description(rng: random.Random, leaf: Leaf, brand: str | None, condition: int) -> str:
    lines = [rng.choice(_DESC_LINES).format(cond=CONDITIONS[condition], n=rng.randint(1, 18), loc=rng.choice(LOCATIONS))
             for _ in range(rng.randint(1, 4))]
    text = "\n".join(dict.fromkeys(lines))
    if rng.random() < 0.25:
        word = rng.choice(list(TYPOS))
        text = text.replace(word, TYPOS[word])
    if rng.random() < 0.4:
        text += " " + rng.choice(EMOJI)
    return text


# Honest text that shares words or shapes with scams; rules must stay quiet on these.
HARD_NEGATIVE_LISTING = (
    "카카오프렌즈 라이언 인형 정품이에요", "라인프렌즈 브라운 쿠션 팝니다", "텔레비전 받침대도 같이 드려요",
    "우체국 택배로 보내드려요", "모델번호 {model} 입니다", "시리얼 넘버 {serial} 정품등록 가능",
    "번개장터 안전결제(번개페이)로 거래해요", "제 다른 상품도 봐주세요 https://m.bunjang.co.kr/shop/{n}",
    "{bank} {loc}지점 앞에서 직거래 가능해요", "카톡 말고 번개톡으로 문의주세요",
)
HARD_NEGATIVE_CHAT = (
    "우체국 택배 가능한가요?", "번개페이로 결제할게요", "안전결제로 진행해도 될까요?",
    "텔레비전 사이즈가 몇인치예요?", "카카오프렌즈 정품 맞나요?", "모델번호 {model} 맞죠?",
    "{bank} 앞에서 만나요", "번개톡으로 연락드릴게요", "상품 링크 https://m.bunjang.co.kr/products/{n} 이거 맞나요?",
)
GREETINGS = ("", "", "안녕하세요 ", "안녕하세요! ", "혹시 ", "저기 ")
BUYER_CHAT = (
    "구매 가능할까요?", "네고 가능한가요?", "직거래 가능하세요?", "택배 거래 되나요?", "실측 사이즈 알 수 있을까요?",
    "아직 판매중인가요?", "{price}원에 가능할까요?", "사진 더 볼 수 있을까요?", "오늘 바로 거래 가능해요?",
    "{loc} 직거래 되나요?", "{hour}시쯤 {loc}에서 가능할까요?", "하자 있는 부분 있나요?", "구성품 다 있나요?",
    "택포 {price}원 어떠세요?", "정품 인증 가능할까요?", "예약 가능할까요? 내일 입금할게요", "몇 번 사용하셨어요?",
)
SELLER_CHAT = (
    "네 판매중입니다", "네고는 조금 어려워요 ㅠ", "직거래는 {loc}에서 가능해요", "택배비 포함 가격이에요",
    "사진 보내드릴게요", "내일 저녁에 가능합니다", "네 구매 가능하세요", "번개페이로 결제해주시면 바로 보내드려요",
    "{hour}시 이후에 {loc} 가능해요", "{price}원까지는 해드릴게요", "하자 없어요 상태 좋아요", "네 예약 걸어둘게요",
    "편의점 택배로 보내드릴게요", "오늘 발송 가능합니다",
)
BANKS = ("국민은행", "신한은행", "우리은행", "하나은행", "농협", "카카오뱅크", "토스뱅크", "기업은행")
# Honest chat that names payment methods, messengers, banks, numbers and links: buyers
# asking how to pay, people keeping the talk on the platform or warning about scams. The
# rules must stay quiet on them, so their precision is measured on more than easy chat.
PAYMENTS = ("계좌이체", "무통장 입금", "토스 송금", "카카오페이 송금", "현금", "이체")
SAFE = ("번개페이", "안전결제", "앱 결제")
MESSENGERS = ("카톡", "카카오톡", "텔레그램", "라인", "문자", "오픈채팅")
BUYER_MENTIONS = (
    "{pay} 되세요? 안 되면 {safe}로 할게요", "{pay}도 받으시나요? 아니면 {safe} 진행할게요", "결제는 {safe}로 해도 되죠?",
    "{pay}랑 {safe} 중에 어느 쪽이 편하세요?", "만나서 {pay}로 드려도 될까요?", "{safe}로 결제 완료했습니다 확인해주세요",
    "{messenger}는 잘 안 써서 여기로 계속 연락드릴게요", "{messenger} 말고 번개톡으로 얘기해요", "선입금은 좀 부담돼서 {safe}로 할게요",
    "{bank} 앞에서 {hour}시에 봬요", "모델명이 {model} 맞나요?", "{price}원에 {safe}로 바로 살게요",
    "{messenger}로 오라는 판매자는 사기라던데 여기서 거래해요", "계좌 먼저 보내라는 글 조심하세요 저는 {safe}만 해요",
)
SELLER_MENTIONS = (
    "{safe}로 주문 넣어주시면 {hour}시 전에 발송해요", "직거래면 {pay}도 괜찮고 택배는 {safe}로 해요", "{messenger}는 안 해요 번개톡 주세요",
    "{bank} 근처에서 직거래 가능해요", "상품 링크 https://m.bunjang.co.kr/products/{n} 확인해주세요", "택배 접수번호는 앱에 올려둘게요",
    "{safe} 수수료는 제가 낼게요", "고객센터 1588-{n4} 에서 보증 확인했어요", "개인 연락처는 안 드려요 여기서 얘기해요",
    "송장번호 {n}{n4} 입니다 내일 도착해요",
)


def fill(rng: random.Random, template: str, price: int = 10000) -> str:
    return template.format(model=_model_number(rng), serial=f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}-{rng.randint(10, 99)}",
                           n=rng.randint(10000, 99999999), bank=rng.choice(BANKS), loc=rng.choice(LOCATIONS),
                           price=f"{max(1000, price * 9 // 10000 * 1000):,}", hour=rng.randint(1, 11),
                           pay=rng.choice(PAYMENTS), safe=rng.choice(SAFE), messenger=rng.choice(MESSENGERS),
                           n4=rng.randint(1000, 9999))


MENTION_SHARE = 0.2  # honest lines that name a payment method, a messenger, a bank, a number or a link


def chat(rng: random.Random, from_seller: bool, price: int) -> str:
    """An honest chat line: an optional greeting, one or two phrases, sometimes an emoji."""
    pool = SELLER_CHAT if from_seller else BUYER_CHAT
    if rng.random() < MENTION_SHARE:
        pool = SELLER_MENTIONS if from_seller else BUYER_MENTIONS
    text = rng.choice(GREETINGS) + " ".join(fill(rng, rng.choice(pool), price) for _ in range(rng.choice((1, 1, 2))))
    return text + (" " + rng.choice(EMOJI) if rng.random() < 0.2 else "")


# -- search queries ------------------------------------------------------------------------


def query(rng: random.Random, leaf: Leaf, brand: str | None) -> str:
    """What a user types looking for ``leaf``/``brand``: names, aliases, partial words, chosung."""
    noun = rng.choice(leaf.nouns)
    r = rng.random()
    if brand and r < 0.35:
        return rng.choice(BRAND_ALIASES.get(brand, (brand, chosung(brand))))
    if brand and r < 0.55:
        return f"{brand} {noun}"
    if r < 0.65 and len(noun) > 2:
        return noun[: rng.randint(2, len(noun) - 1)]  # typed partially
    if r < 0.72:
        return chosung(noun)
    return noun


# -- scam text -----------------------------------------------------------------------------

_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\ufeff")
_HANGUL_DIGITS = "공일이삼사오육칠팔구"
_KAKAO = ("카톡", "카.톡", "카 카 오 톡", "ㅋㅌ", "ㅋㅋㅇㅌ", "까톡", "카톸", "KakaoTalk", "kakao", "캌톡")
_TELEGRAM = ("텔레그램", "텔레", "ㅌㄹ", "텔그", "telegram", "TG")
_LINE = ("라인 아이디", "LINE ID", "위챗", "WeChat", "왓츠앱")


def hangul_digits(digits: str) -> str:
    return "".join(_HANGUL_DIGITS[int(d)] if d.isdigit() else d for d in digits)


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _spaced(text: str, sep: str) -> str:
    return sep.join(text)


def _handle(rng: random.Random) -> str:
    base = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 6)))
    return base + rng.choice(("", "_", ".")) + str(rng.randint(1, 999))


def _phone(rng: random.Random) -> str:
    """A mobile number in one of the obfuscated forms scammers use."""
    a, b = f"{rng.randint(0, 9999):04d}", f"{rng.randint(0, 9999):04d}"
    raw = f"010{a}{b}"
    form = rng.randrange(8)
    if form == 0:
        return f"010-{a}-{b}"
    if form == 1:
        return f"{hangul_digits('010')} {hangul_digits(a)} {hangul_digits(b)}"
    if form == 2:
        return _spaced(f"010-{a}-{b}", " ")
    if form == 3:
        return f"010ㅡ{a}ㅡ{b}"
    if form == 4:
        return _fullwidth(f"010-{a}-{b}")
    if form == 5:
        return rng.choice(_ZERO_WIDTH).join(raw)
    if form == 6:
        return f"010.{a}.{b}"
    return f"공1공 {a} {hangul_digits(b)}"


def _contact(rng: random.Random) -> str:
    form = rng.randrange(7)
    if form <= 1:
        return f"{rng.choice(_KAKAO)} {rng.choice(('아이디', 'ID', ':', ''))} {_handle(rng)}".replace("  ", " ")
    if form == 2:
        return f"{rng.choice(_TELEGRAM)} @{_handle(rng)}" if rng.random() < 0.7 else f"t.me/{_handle(rng)}"
    if form == 3:
        return f"오픈채팅 open.kakao.com/o/s{''.join(rng.choice(string.ascii_letters) for _ in range(7))}"
    if form == 4:
        return f"{rng.choice(_LINE)}: {_handle(rng)}"
    if form == 5:
        return f"{_handle(rng)}@{rng.choice(('naver.com', 'gmail.com', 'daum.net'))}"
    return _phone(rng)


_LOOKALIKES = ("bunjang-pay.com", "bunjang.safe-pay.kr", "bunjjang.co.kr", "bunj4ng.com", "bunjаng.com",  # Cyrillic а
               "naver-pay.shop", "secure-navarpay.com", "toss-safe.kr", "cj-delivery.top", "xn--bunjang-pay-9b2e.com",
               "bit.ly/3{x}", "han.gl/{x}", "185.{a}.{b}.22/pay", "m-bunjang.co/safe")


def _link(rng: random.Random) -> str:
    x = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(5))
    host = rng.choice(_LOOKALIKES).format(x=x, a=rng.randint(10, 250), b=rng.randint(10, 250))
    scheme = rng.choice(("https://", "http://", "hxxp://", "", "www."))
    url = f"{scheme}{host}"
    if rng.random() < 0.2:
        url = url.replace(".", "[.]", 1)
    if "/" not in host:
        url += rng.choice(("/order/", "/pay?id=", "/safe/")) + str(rng.randint(1000, 99999))
    return url


def _account(rng: random.Random) -> str:
    number = f"{rng.randint(100, 999999):06d}-{rng.randint(10, 99)}-{rng.randint(100000, 999999)}"
    if rng.random() < 0.2:
        number = f"3333-{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}"
    if rng.random() < 0.15:
        number = hangul_digits(number.replace("-", " "))
    return f"{rng.choice(BANKS)} {number}"


_TEMPLATES = {
    EXTERNAL_CHANNEL: (
        "자세한 문의는 {c} 로 주세요", "여기 채팅 잘 안봐요 {c} 연락주세요", "{c} 추가해주시면 바로 답장드려요",
        "급처합니다 {c}", "번개톡 알림이 안와서요 {c} 으로 주세요", "{c}\n로 연락 부탁드려요",
    ),
    PHISHING_LINK: (
        "안전결제 링크 보내드릴게요 {c}", "이 링크에서 결제해주세요 {c}", "번개페이 안전거래 {c} 여기서 진행해요",
        "결제 완료 확인은 {c} 에서 가능합니다", "택배 조회 {c}",
    ),
    ACCOUNT_TRANSFER: (
        "{c} 으로 선입금 부탁드려요", "계좌이체만 가능해요 {c}", "번개페이 수수료 아까우니까 {c} 로 보내주세요",
        "입금 확인되면 바로 발송합니다 {c}", "안전결제 말고 계좌로 주시면 만원 빼드릴게요 {c}", "선입금 후 발송 {c} 예금주 김민수",
    ),
}
_MAKERS = {EXTERNAL_CHANNEL: _contact, PHISHING_LINK: _link, ACCOUNT_TRANSFER: _account}
URGENCY = ("군인이라 택배거래만 해요", "해외 출장중이라 직거래 어려워요", "오늘만 이 가격", "급전 필요해서 싸게 팔아요", "")


def scam(rng: random.Random, category: str) -> tuple[str, str]:
    """(sentence, evidence) for one scam of ``category``; the evidence is a substring."""
    evidence = _MAKERS[category](rng)
    sentence = rng.choice(_TEMPLATES[category]).format(c=evidence)
    prefix = rng.choice(URGENCY)
    return (f"{prefix} {sentence}" if prefix else sentence), evidence


def contact(rng: random.Random) -> str:
    """A short contact line to write inside a picture (plain enough for OCR to read)."""
    form = rng.randrange(3)
    if form == 0:
        return f"카톡 {_handle(rng)}"
    if form == 1:
        return f"010-{rng.randint(0, 9999):04d}-{rng.randint(0, 9999):04d}"
    return f"텔레 @{_handle(rng)}"


# A fraud wave (Config.wave_day): a new lure no rule knows, an "insurance fee" paid up front.
WAVE_TEMPLATES = (
    "중고안심보험 가입비 {f}원만 처리해 주시면 오늘 바로 발송해 드려요",
    "배송보험 적용하려면 보험료 {f}원 선처리 부탁드려요 확인되면 출고합니다",
    "요즘 분실이 많아서 안심보험 {f}원 먼저 처리해주셔야 발송 가능해요",
    "보험 처리비 {f}원 해주시면 파손 보상까지 돼요 처리되면 바로 보내드릴게요",
    "안심배송 보험료 {f}원 결제 먼저 해주시면 송장 바로 드립니다",
    "거래보험 {f}원 선결제 건만 발송하고 있어요 양해 부탁드려요",
)


def wave(rng: random.Random) -> str:
    """One message of the fraud wave (its evidence is the whole message)."""
    fee = rng.choice(("4,900", "9,900", "12,000", "15,000", "19,800", "29,000"))
    prefix = rng.choice(URGENCY)
    sentence = rng.choice(WAVE_TEMPLATES).format(f=fee)
    return f"{prefix} {sentence}" if prefix else sentence
