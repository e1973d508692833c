"""The simulated marketplace's catalogue: a Bunjang-like category tree, brands, prices and
the words sellers use.

Each leaf category carries a median price (KRW), the spread of log-prices, product nouns
and the brands sold in it. Each top category carries an affinity per gender and age band,
which is what makes segment popularity a real signal.

>>> leaf = LEAVES[0]
>>> leaf.path.count(">"), leaf.median_price > 0
(1, True)
>>> len({leaf.path for leaf in LEAVES}) == len(LEAVES)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

@dataclass(frozen=True)
class Leaf:
    path: str            # "신발>스니커즈"
    median_price: int    # KRW
    price_sigma: float   # spread of log-price
    nouns: tuple[str, ...]
    brands: tuple[str, ...]
    hot: bool = False    # where scammers concentrate (phones, luxury, tickets...)


@dataclass(frozen=True)
class Top:
    name: str
    # affinity by gender (F, M) and by age band (marketplace.segments.KNOWN_AGE_BANDS): multiplies the taste prior
    gender: tuple[float, float]
    age: tuple[float, float, float, float, float]
    leaves: tuple[Leaf, ...]


def _leaf(path, price, sigma, nouns, brands, hot=False):
    return Leaf(path, price, sigma, tuple(nouns.split()), tuple(brands.split(",")) if brands else (), hot)


TOPS: tuple[Top, ...] = (
    Top("여성의류", (3.0, 0.2), (1.2, 1.5, 1.2, 0.8, 0.5), (
        _leaf("여성의류>원피스", 35000, 0.6, "원피스 롱원피스 미니원피스 셔츠원피스", "자라,망고,에잇세컨즈,마인,타임"),
        _leaf("여성의류>니트", 30000, 0.6, "니트 가디건 스웨터 니트조끼", "자라,유니클로,에잇세컨즈,앤아더스토리즈"),
        _leaf("여성의류>아우터", 80000, 0.7, "코트 자켓 패딩 트위드자켓", "마인,타임,자라,막스마라"),
    )),
    Top("남성의류", (0.2, 3.0), (1.3, 1.5, 1.2, 0.8, 0.6), (
        _leaf("남성의류>티셔츠", 25000, 0.6, "반팔티 긴팔티 맨투맨 후드티", "스투시,슈프림,나이키,유니클로,커버낫"),
        _leaf("남성의류>아우터", 90000, 0.7, "패딩 바람막이 자켓 코트", "노스페이스,파타고니아,아크테릭스,스톤아일랜드"),
        _leaf("남성의류>바지", 35000, 0.6, "청바지 슬랙스 카고팬츠 조거팬츠", "리바이스,디스이즈네버댓,무신사스탠다드"),
    )),
    Top("신발", (1.0, 1.4), (1.5, 1.5, 1.0, 0.7, 0.5), (
        _leaf("신발>스니커즈", 120000, 0.6, "운동화 스니커즈 덩크 조던 에어포스", "나이키,아디다스,뉴발란스,컨버스,반스", hot=True),
        _leaf("신발>구두", 70000, 0.6, "로퍼 구두 더비슈즈", "닥터마틴,금강,탠디"),
        _leaf("신발>샌들", 30000, 0.5, "샌들 슬리퍼 쪼리", "버켄스탁,크록스,테바"),
    )),
    Top("가방", (1.8, 0.6), (0.6, 1.3, 1.5, 1.2, 0.8), (
        _leaf("가방>명품가방", 1500000, 0.7, "숄더백 토트백 크로스백 미니백", "샤넬,루이비통,구찌,프라다,디올", hot=True),
        _leaf("가방>백팩", 60000, 0.6, "백팩 책가방 노트북가방", "잔스포츠,노스페이스,허쉘"),
        _leaf("가방>지갑", 150000, 0.8, "반지갑 장지갑 카드지갑", "루이비통,구찌,프라다,몽블랑", hot=True),
    )),
    Top("디지털", (0.8, 1.8), (1.2, 1.4, 1.3, 1.0, 0.7), (
        _leaf("디지털>휴대폰", 600000, 0.6, "아이폰 갤럭시 폴드 플립", "애플,삼성", hot=True),
        _leaf("디지털>노트북", 900000, 0.6, "노트북 맥북 그램 게이밍노트북", "애플,삼성,LG,레노버", hot=True),
        _leaf("디지털>태블릿", 450000, 0.6, "아이패드 갤럭시탭 태블릿", "애플,삼성", hot=True),
        _leaf("디지털>음향기기", 150000, 0.7, "에어팟 버즈 헤드폰 블루투스스피커", "애플,삼성,소니,보스,마샬"),
        _leaf("디지털>게임기", 300000, 0.5, "닌텐도스위치 플스5 엑스박스", "닌텐도,소니,마이크로소프트", hot=True),
        _leaf("디지털>카메라", 500000, 0.8, "미러리스 필름카메라 액션캠 렌즈", "캐논,소니,후지필름,니콘"),
    )),
    Top("가전", (1.0, 1.0), (0.4, 0.9, 1.4, 1.4, 1.2), (
        _leaf("가전>TV", 400000, 0.7, "텔레비전 스마트TV 모니터", "삼성,LG"),
        _leaf("가전>생활가전", 120000, 0.8, "공기청정기 청소기 전자레인지 에어프라이어", "다이슨,LG,삼성,필립스"),
    )),
    Top("스포츠", (0.7, 1.5), (0.9, 1.2, 1.3, 1.2, 1.0), (
        _leaf("스포츠>골프", 250000, 0.8, "드라이버 아이언세트 퍼터 골프백", "타이틀리스트,캘러웨이,핑,테일러메이드"),
        _leaf("스포츠>캠핑", 150000, 0.8, "텐트 캠핑의자 버너 타프", "스노우피크,콜맨,헬리녹스"),
        _leaf("스포츠>자전거", 350000, 0.8, "로드자전거 미니벨로 MTB", "자이언트,삼천리,브롬톤"),
    )),
    Top("스타굿즈", (2.2, 0.6), (2.5, 1.5, 0.6, 0.3, 0.2), (
        _leaf("스타굿즈>앨범", 15000, 0.6, "앨범 포카 포토카드 시즌그리팅", "BTS,뉴진스,아이브,세븐틴,스트레이키즈"),
        _leaf("스타굿즈>응원봉", 40000, 0.4, "응원봉 공식응원봉 키링", "BTS,뉴진스,아이브,세븐틴"),
    )),
    Top("키덜트", (0.7, 1.6), (1.5, 1.4, 1.1, 0.7, 0.4), (
        _leaf("키덜트>피규어", 60000, 0.8, "피규어 넨도로이드 건프라 레고", "반다이,레고,굿스마일"),
        _leaf("키덜트>캐릭터굿즈", 20000, 0.6, "인형 키링 쿠션 피규어", "카카오프렌즈,라인프렌즈,산리오,포켓몬"),
    )),
    Top("도서/티켓", (1.2, 0.9), (1.4, 1.4, 1.0, 0.8, 0.8), (
        _leaf("도서/티켓>도서", 10000, 0.6, "책 문제집 소설 만화책 전공책", ""),
        _leaf("도서/티켓>티켓", 150000, 0.6, "콘서트티켓 뮤지컬티켓 기프티콘", "인터파크,멜론티켓,예스24", hot=True),
    )),
    Top("뷰티", (2.5, 0.4), (1.3, 1.5, 1.2, 0.9, 0.6), (
        _leaf("뷰티>향수", 80000, 0.6, "향수 오드퍼퓸 디퓨저", "딥티크,조말론,샤넬,바이레도"),
        _leaf("뷰티>화장품", 25000, 0.6, "쿠션 립스틱 아이섀도 세럼", "에스티로더,설화수,맥,이니스프리"),
    )),
    Top("가구/인테리어", (1.3, 0.9), (0.3, 0.9, 1.5, 1.4, 1.1), (
        _leaf("가구/인테리어>의자", 80000, 0.8, "의자 사무용의자 체어 스툴", "허먼밀러,시디즈,이케아"),
        _leaf("가구/인테리어>조명", 50000, 0.7, "스탠드 조명 무드등", "이케아,루이스폴센,아르떼미데"),
    )),
    Top("유아동", (1.8, 0.7), (0.1, 0.4, 1.8, 1.4, 0.6), (
        _leaf("유아동>유모차", 200000, 0.7, "유모차 휴대용유모차 카시트", "부가부,스토케,싸이벡스"),
        _leaf("유아동>장난감", 25000, 0.7, "장난감 블록 원목장난감 보드게임", "레고,피셔프라이스,뽀로로"),
    )),
    Top("반려동물", (1.3, 0.9), (0.6, 1.2, 1.3, 1.1, 0.9), (
        _leaf("반려동물>용품", 30000, 0.7, "켄넬 하네스 캣타워 자동급식기", "페스룸,아르르,이츠독"),
    )),
)

LEAVES: tuple[Leaf, ...] = tuple(leaf for top in TOPS for leaf in top.leaves)
LEAF_TOP = np.array([t for t, top in enumerate(TOPS) for _ in top.leaves])
LOG_MEDIAN = np.log(np.array([leaf.median_price for leaf in LEAVES], dtype=float))
PRICE_SIGMA = np.array([leaf.price_sigma for leaf in LEAVES])
HOT_LEAVES = np.flatnonzero([leaf.hot for leaf in LEAVES])
GENDER_AFFINITY = np.array([top.gender for top in TOPS])[LEAF_TOP]   # (n_leaves, 2) F, M
AGE_AFFINITY = np.array([top.age for top in TOPS])[LEAF_TOP]         # (n_leaves, 5)

CONDITIONS = ("새상품", "미개봉", "거의새것", "사용감적음", "사용감있음", "하자있음")
# probability of each condition and how much it moves the price (multiplier)
CONDITION_P = np.array([0.08, 0.07, 0.25, 0.3, 0.22, 0.08])
CONDITION_PRICE = np.array([1.25, 1.3, 1.05, 0.95, 0.8, 0.55])

# How Korean users type brand names in search (romanised, abbreviated, chosung).
BRAND_ALIASES = {
    "나이키": ("nike", "나이키", "ㄴㅇㅋ"), "아디다스": ("adidas", "아디", "ㅇㄷㄷㅅ"),
    "뉴발란스": ("뉴발", "nb", "newbalance"), "루이비통": ("루이비똥", "lv", "ㄹㅇㅂㅌ"),
    "샤넬": ("chanel", "샤넬", "ㅅㄴ"), "애플": ("apple", "애플", "ㅇㅍ"), "삼성": ("samsung", "삼성", "ㅅㅅ"),
    "노스페이스": ("노페", "tnf", "ㄴㅅㅍㅇㅅ"), "스투시": ("stussy", "스투", "ㅅㅌㅅ"),
    "닌텐도": ("닌텐", "nintendo", "ㄴㅌㄷ"), "다이슨": ("dyson", "다이슨"), "구찌": ("gucci", "ㄱㅉ"),
}

SIZES = {
    "여성의류": ("XS", "S", "M", "L", "55", "66", "프리"), "남성의류": ("S", "M", "L", "XL", "100", "105", "2XL"),
    "신발": ("230", "240", "250", "260", "270", "280", "275"),
}
