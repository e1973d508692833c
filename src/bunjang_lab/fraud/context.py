"""Who says what about a word the rules found: a question, a refusal, a warning about others.

A rule that fires on a request without a concrete identifier ("카톡 주세요", "선입금 부탁해요")
asks this module about the clause around its evidence, and stays quiet when the writer

* asks a **question** about it ("계좌이체 가능해요?", "선입금 해야 하나요?"), unless the
  question is a polite request to the reader ("선입금 해주실 수 있나요?");
* **refuses** it: a Korean negation after the word ("카톡 안 해요", "카톡은 말고",
  "계좌이체는 부담스러우시면"), an English one before it ("I rarely use WhatsApp");
* **warns** others about it ("계좌번호 먼저 달라는 분들 사기니까 조심하세요"), but not when
  the clause reassures ("사기 아니에요").

A rule that quotes a concrete identifier (a handle, a number, a link) fires whatever the
clause says. Standard library only.

>>> about = Clauses("계좌이체 가능해요? 아니면 번개페이로 할게요")
>>> about.question(0, 4), about.refusal(0, 4)
(True, False)
>>> Clauses("카톡 안 해요 여기서 얘기해요").refusal(0, 2)
True
>>> Clauses("카톡으로 주세요 여기 잘 안 봐요").refusal(0, 2)
False
>>> Clauses("계좌번호 먼저 달라는 분들 사기니까 조심하세요").warning(0, 4)
True
>>> Clauses("선입금 해주실 수 있나요?").question(0, 3)
False
"""

from __future__ import annotations

from bunjang_lab.fraud.patterns import digit_runs, lazy, words_then

QUESTION = "question"
REFUSAL = "refusal"
WARNING = "warning"
REQUEST_CONTEXTS = frozenset({QUESTION, REFUSAL, WARNING})  # where a request without an identifier is quiet
WARNED_ABOUT = "warned_about"  # where a handle is quiet: its own sentence warns about it ("… 사칭 계정이에요")

# Where a clause ends: sentence marks, a line break, "or else" turns ("아니면", "안 되면").
# (Every branch starts with a literal, look-behinds after it: the engine then skips to those
# characters instead of trying every position; see patterns.literal_first.)
_CLAUSE_END = lazy(r"\?|!|\n|\.(?=\s|$)|\.\.+|아니면|아님|안 ?되면|안 ?될 ?경우|otherwise|or(?<![a-z]or)(?![a-z])")
# Chat runs sentences together: a polite or plain ending and a space also close one.
_SENTENCE_END = lazy(r"[요다죠][ㅠㅜㅎㅋ~^]* ")  # (a face after it too: "없어요ㅠ 직송금 …")
# Endings that ask, when no question mark says so.
# (not an instruction to do what the rules look for, "주문번호 입력하세요", "여기서 결제하세요")
_INSTRUCTED = ("입력", "결제", "결재", "입금", "송금", "이체", "접속", "클릭", "인증", "설치", "로그인", "추가")
_ASKING = lazy(
    r"(?:나요(?<![끝떠지]나요)|까요|[인건한는된은운던]가요|는지요?|습니까|은가|는가|건가|던가|을까|ㄹ까|냐|니|죠|지요|(?:여쭤|궁금)[가-힣]*|"
    r"되세요|" + "".join(f"(?<!{verb})(?<!{verb} )" for verb in _INSTRUCTED) + r"하세요|받으세요|쓰세요|있으세요|가능하세요|편하세요|괜찮으세요)\W*$"
)
# ... unless a question word asks it ("선입금은 어디로 입금하세요")
_QUESTION_WORD = lazy(r"어디|어떻게|언제|뭐|무엇|무슨|몇|왜|누구|얼마")
_ENDS_HASEYO = lazy(r"하세요\W*$")
# A polite request to the reader phrased as a question: still a request.
_ASKS_THE_READER = lazy(r"주실|주시겠|주시면 안|주실래|해 ?줄 ?수|줄래|부탁|ok(?<![a-z]ok)(?![a-z])|오케이")  # "선입금 ok?"
# (not "제 (상점) 이름으로": what another uses in the writer's name, "제 상점 이름으로 텔레그램 @… 쓰는 사람은 제가 아닙니다")
_OWN_BEFORE = lazy(r"(?<![가-힣a-z])(?:제|내|저의|저희|저는|제가|my)(?![가-힣a-z])(?! ?(?:상점 ?|가게 ?)?(?:이름|사진|닉네임|명의)(?:으로|로|을|를))")
# What a report says in either of the lists below: the writer blocked whoever sent it, a lookup site's
# verdict, a disclaimer (the writer is not the one using it)
_REPORTED = (r"차단 ?(?:했|함|할게|시켰|먹였|하세요)|먹튀|더치트|thecheat|"
             r"(?:제가|저|본인) ?(?:아닙니다|아니에요|아니예요|아님|아녜요|아니니)")
# A scam named as such, or a warning not to go there (not 신고 or 더라고: "신고/조회: hometax-…" is a lure's label)
_NAMED_SCAM = lazy(r"사기|사칭|피싱|가짜|조심|주의|속지|유의|scam|fraud|phishing|fake|beware|신고 ?(?:했|눌|넣|접수|할게)|"
                   + _REPORTED + "|"
                   # what the writer was sent, shown as such ("… 이런 문자 왔는데"; not hearsay, "-대요", "-더라고요":
                   # lures speak so, "… 에서 로그인만 하시면 풀린대요")
                   r"이런 ?(?:식|문자|메시지|메세지|링크|주소|연락|카톡|계좌|번호)|"
                   r"제 ?(?:계정|번호|아이디|카톡|인스타|상점|가게)[이가]? ?아니|"
                   # another's request reported ("거기로 오라길래", "결제하라는데", "오라고 한다던데")
                   r"(?:(?!이)[가-힣]라|[가-힣]자)(?:고 ?(?:한다|했|해서|하던|하더|하는|하셨|하시(?!면)|하길래)|길래|면서|며|는데|던데)|"
                   r"(?:누르|들어가|클릭하|접속하|연락하|결제하|추가하)지 ?(?:마|말)")
# ... and what asks the reader to go there
_GO_THERE = lazy(r"(?<!신고해 )(?<!신고해)주세요|주시면|줘|주셈|추가|친추|연락 ?(?:주|하세요|바랍|부탁)|오세요|와 ?주|(?:dm|디엠)(?:으로|로)? ?(?:주|줘|보내|ㄱ|하세요|해 ?주|요)|말 ?걸어|message me|add me|"
                 r"거래(?:해요|합니다|하세요|해 ?주)|진행|(?:로|에서)만|"
                 # (not a report asked for, "신고 부탁드려요", "신고해주세요")
                 r"(?<!신고 )(?<!신고)부탁|(?:결제|접속|클릭|입력|인증|입금|송금|이체)(?:하세요|해 ?주|하시면|하시고|해서)|"
                 r"들어가(?:서|세요|시면|시고)|보내(?:세요|시면)|"
                 r"눌러 ?(?:주|보세요|서)|누르(?:세요|시면|시고)")
_QUOTE_REPORTED = lazy(r"[^'\"\n]{0,20}['\"] ?(?:하길래|하고|하던데|하더니|하면서|하는데|이라는|라는|이런|이라고|라고)")
_EN_QUESTION = lazy(r"^\W*(?:can|could|may|do|does|is|are|should|would|will)(?![a-z])")

_KO_NEGATION = (
    r"안 ?(?:해|하[고는지시]|할|합|돼|되|됩|받|써|쓰|씁|씀|봐|보|들어|드려|드립|줘|줍|넘어|옮|깔|열|눌|누르|알려|알리)|않|"
    r"못 ?(?:해|하|할|받|써|쓰|드려|봐|보|알려)|없어|없습|없음|없고|없는|노노|사절|불가|금지|말고|말구|대신|보다는|보단|싫|어렵|"
    r"곤란|부담|불편|거절|사양|x(?<![0-9a-z]x)(?![0-9a-z])|[🙅❌✖⛔🚫]|"
    r"아니(?:고|라|에요|예요|요|야|죠|ㅂ니다)|아닙"  # ("라인 메신저 캐릭터 아니고 전선 정리용이에요")
)
# After the word: particles, then the first predicate. A request there ends the search.
_PREDICATE = lazy(
    rf"(?P<no>{_KO_NEGATION})|(?P<ask>주세요|주시|줘|주셈|부탁|바랍|드릴게|드려요|드립니다|ㄱㄱ|하세요|해요|할게|합시다|오세요|와요|가요)"
)
_EN_NEGATION = lazy(
    r"(?<![a-z])(?:don'?t|do not|doesn'?t|never|rarely|seldom|not|no|won'?t|can'?t|cannot|without|instead of|rather than)(?![a-z'])"
)
# A refusing mark right before the word: a list of what not to do ("✖ 선입금 요구", "🚫 카톡").
_REFUSING_MARK_BEFORE = lazy(r"[🙅❌✖⛔🚫] ?$")
# The writer will pay on the platform ("안전결제로 할게요"): whatever they asked, they are the buyer.
_PAYS_ON_PLATFORM = lazy(r"(?:안전 ?결제|번개 ?페이|앱 ?결제|페이)(?:로|으로)?(?:만)? ?(?:결제 ?|진행 ?)?(?:할게|할께|하겠|살게|사요|삽니다|구매해요)")
# The writer asks for the platform's safe payment ("안전결제 부탁드려요", "번개페이로 하이소").
_ASKS_FOR_SAFE_PAYMENT = lazy(
    r"(?:안전 ?결제|안전 ?거래|번개 ?페이)(?:로|으로)? ?(?:결제 ?|진행 ?|거래 ?)?"
    r"(?:해 ?주|하이소|하소|부탁|주세요|바랍|할게|할께|하겠|합시다|해요|하세요|만 ?(?:해요|받|가능|돼)|만(?=[ ,./!\n]|$))"
    # ... or to pay here ("결제는 번장으로 해주세요", "결제는 여기서 할게요")
    r"|(?:결제|거래|구매)[는은]? ?(?:번장|번개 ?장터|여기|이 ?앱|앱)(?:으로|로|에서|서)?(?:만)? ?"
    r"(?:해 ?주|부탁|할게|할께|하겠|합시다|해요|하세요|진행|하시면 ?(?:돼|됩))"
    # ... or to buy with it ("계좌이체 말고 안전결제로 구매해주세요")
    r"|(?:안전 ?결제|안전 ?거래|번개 ?페이)(?:로|으로) ?(?:구매|주문)(?:해 ?주|하세요|부탁)"
)
_ACCOUNT_DIGITS = digit_runs(10)
_WARNING = lazy(
    r"사기|사칭|피싱|가짜|조심|주의하|주의 ?(?:요|하|바|부탁)|속지|신고|당했|당할|당하|당함|당한|거르|거르세요|피하|믿지|유의|"
    r"(?:하자는|하라는|달라는) ?줄|"  # (a misunderstanding told: "텔레그램 하자는 줄 아셨대요")
    + _REPORTED + r"|잠수 ?(?:탄|타|탔)|"
    # where the writer came from, told ("오픈채팅 교환방에서 이 상점 추천받고 왔어요")
    r"(?:보고|추천 ?받고|소개 ?받고|듣고) ?왔|"
    r"유도|요구하|scam|fraud|phishing|beware|careful|watch out|report|someone (?:asked|told|wanted)|heads[- ]?up|"
    # another's request reported ("카톡으로 하자고 하셨는데 …"): not the writer's own
    # (not the copula, "15만원이라고 했는데"; and what another said they would do, "페이팔로 보낸다고 하셨는데")
    # (not what the reader might ask, "안전결제 하자고 하시면 곤란해요")
    r"(?:[가-힣]자|(?!이)[가-힣]라|[가-힣]다)(?:고 ?(?:하셨|하시(?!면)|했|해서|하던|하더|하는데|하길래)|길래|는데|던데)|"
    # what another sent or gave the writer ("오픈채팅 링크 주시던데 저는 안 들어가요")
    r"(?:주|보내|올리|남기)(?:시던데|셨는데|시더니|셨던데|셨길래)|"
    r"더라고|더라구|보내주신 ?(?:링크|주소|번호)"  # what the writer saw others do, or was sent
)
# "…라는 분들": what people who ask for it do. Its own expression, asked when the one above
# finds nothing (only whether either finds something counts), so its words share one rest,
# compiled once rather than once per word.
_ABOUT_ASKERS = lazy(words_then(("라는", "자는", "달라는", "하라는", "준다는", "판다는", "오라는", "보내라는", "유도하는", "요구하는",
                                 "요구하면", "유도하면"),
                                r"\s?(?:분|사람|판매자|구매자|계정|글|경우|거|건|문자|놈|곳|연락|문의|요청|메시지|메세지|말씀|얘기)"))
# The warning taken back in the next sentence ("… 연락하지 마세요ㅋㅋㅋ 농담이고 거기로 주시면 제일 빨라요")
_KIDDING = lazy(r"[^가-힣a-z0-9]*(?:농담|장난)")
_REASSURANCE = lazy(r"사기 ?(?:아니|아닙|아님|절대|걱정|안 ?쳐|치는 ?거 ?아|없어요|없습니다)|믿으셔도|안심하")


class Clauses:
    """The clauses of a normalised text, found once and asked about spans of it."""

    __slots__ = ("text", "_ends", "_sentence_ends")

    def __init__(self, text: str):
        self.text = text
        self._ends: list[tuple[int, int]] | None = None
        self._sentence_ends: list[tuple[int, int]] | None = None

    def _bounds(self, start: int, end: int, sentences: bool = True) -> tuple[int, int, str]:
        """(start, end, closing mark) of the clause holding ``text[start:end]``; with
        ``sentences``, unmarked sentence ends ("할게요 카톡 …") close it too."""
        if self._ends is None:
            self._ends = [m.span() for m in _CLAUSE_END.finditer(self.text)]
            self._sentence_ends = sorted(self._ends + [(a + 1, b) for a, b in
                                                       (m.span() for m in _SENTENCE_END.finditer(self.text))])
        begin, finish, mark = 0, len(self.text), ""
        for a, b in (self._sentence_ends if sentences else self._ends):
            if b <= start:
                begin = b
            elif a >= end:
                finish, mark = a, self.text[a:b]
                break
        return begin, finish, mark

    def question(self, start: int, end: int) -> bool:
        """Whether the clause asks about it rather than asks the reader to do it."""
        begin, finish, mark = self._bounds(start, end)
        clause = self.text[begin:finish]
        asked = (mark == "?" or bool(_ASKING.search(clause)) or bool(_EN_QUESTION.search(clause))
                 or ("하세요" in clause and bool(_ENDS_HASEYO.search(clause)) and bool(_QUESTION_WORD.search(clause))))
        return asked and not _ASKS_THE_READER.search(self.text, start, finish)

    def refusal(self, start: int, end: int) -> bool:
        """Whether the writer turns it down: the first predicate after its first word is a
        negation (Korean), a negation comes before it in the clause (English) or a refusing
        mark right before it ("✖ 선입금"), or the writer says they will pay on the platform."""
        begin, finish, _ = self._bounds(start, end)
        predicate = _PREDICATE.search(self.text, start + 1, min(finish, end + 16))
        if (predicate is not None and predicate.group("no")) or _PAYS_ON_PLATFORM.search(self.text, begin, finish):
            return True
        if _REFUSING_MARK_BEFORE.search(self.text, max(begin, start - 2), start):
            return True
        # an English negation covers a list ("I don't use Telegram or KakaoTalk"): back to the
        # sentence's start, not to an "or"
        window = self.text[max(0, start - 30):start]
        sentence = max(map(window.rfind, ".?!\n")) + 1
        return bool(_EN_NEGATION.search(self.text, max(0, start - 30) + sentence, start))

    def warning(self, start: int, end: int) -> bool:
        """Whether the clause warns others about it (scam words, or what "people who ask
        for it" do), without reassuring the reader."""
        begin, finish, _ = self._bounds(start, end, sentences=False)
        clause = self.text[begin:finish]
        return bool(_WARNING.search(clause) or _ABOUT_ASKERS.search(clause)) and not _REASSURANCE.search(clause)

    def quiet(self, start: int, end: int, contexts: frozenset[str]) -> bool:
        """Whether any of ``contexts`` holds for ``text[start:end]``."""
        return ((QUESTION in contexts and self.question(start, end))
                or (REFUSAL in contexts and self.refusal(start, end))
                or (WARNING in contexts and self.warning(start, end))
                or (WARNED_ABOUT in contexts and self.warned_about(start, end)))

    def warned_about(self, start: int, end: int) -> bool:
        """Whether its sentence, its end marked or not, names it a scam in so many words *after*
        it, as a report does ("'bunjang-pay.shop' 이라는 링크 … 가짜 사이트래요", "@… 고객센터 사칭
        계정"; a warning before it is how lures open: "사기가 많아서 텔레그램 @… 에서 거래해요"), it is
        not the writer's own ("제 카톡 …"), and nothing asks to go there ("… 로 연락주세요")."""
        begin, finish, _ = self._bounds(start, end)
        after = self.text[end:finish]  # (not its own letters: "@scam_king")
        # what another said, quoted: its request is theirs ("'카톡 … 로 오세요' 하길래 신고 눌렀어요")
        quoted = _QUOTE_REPORTED.match(after)
        asked = self.text[begin:start] + " " + (after[quoted.end():] if quoted else after)
        return ((_NAMED_SCAM.search(after) or _ABOUT_ASKERS.search(after)) is not None
                and not _REASSURANCE.search(asked) and not _OWN_BEFORE.search(self.text, max(begin, start - 12), start)
                and not _GO_THERE.search(asked) and not _KIDDING.match(self.text, finish))


def asks_for_safe_payment(text: str) -> bool:
    """Whether the writer asks to pay through the platform's safe payment and gives no number
    long enough to pay into: what they say about accounts is then a buyer's question or an
    honest seller's refusal ("계좌번호 먼저 물어보시면 답 안 해요 안전결제 부탁드려요").

    >>> asks_for_safe_payment("계좌는 안 받아요 번개페이로 하이소"), asks_for_safe_payment("안전결제로 해주세요 110-234-998877")
    (True, False)
    """
    return _ASKS_FOR_SAFE_PAYMENT.search(text) is not None and _ACCOUNT_DIGITS.search(text) is None


# A search on the platform itself ("상점명 … 그대로 번장에서 검색하시면 다른 옷도 나와요")
_SEARCH_HERE = lazy(r"(?:번장|번개 ?장터|여기|이 ?앱)(?:에서|서)? ?(?:검색|찾아)")


def stays_on_platform(text: str) -> bool:
    """Whether the writer keeps the deal on the platform: asks for its safe payment
    (:func:`asks_for_safe_payment`) or points to a search on it.

    >>> stays_on_platform("상점명 haru_closet 그대로 번장에서 검색하시면 다른 옷도 나와요")
    True
    """
    return asks_for_safe_payment(text) or _SEARCH_HERE.search(text) is not None


# Money paid when the item is handed over, or paid out by the platform ("만나서 물건 보시고 그 자리에서 입금 해주시면
# 돼요", "판매 대금은 번장이 알아서 정산해서 통장으로 넣어줘요"): no payment asked for before the item ships.
_PAID_ON_HANDOVER = lazy(r"(?:만나서|그 ?자리에서|현장에서|물건 ?(?:보시고|확인하시고|받으시고))[^.?!\n]{0,30}?(?:입금|송금|이체|결제|계좌)|"
                         r"(?:번장|번개 ?장터|플랫폼|앱)(?:이|가|에서) ?[^.?!\n]{0,20}?(?:정산|넣어|입금|보내)")


def paid_on_handover(text: str) -> bool:
    """Whether the money the text names is paid in person when the item is handed over, paid
    out by the platform itself, or paid by the writer on the platform ("… 먼저 달라고 하시면 거래
    안 해요ㅠ 안전결제로만 할게요").

    >>> paid_on_handover("만나서 물건 보시고 그 자리에서 입금 해주시면 돼요"), paid_on_handover("선입금 해주시면 바로 보내요")
    (True, False)
    """
    return _PAID_ON_HANDOVER.search(text) is not None or _PAYS_ON_PLATFORM.search(text) is not None


def reports_a_scam(text: str) -> bool:
    """Whether the writer names a scam in so many words or reports another's request (what
    "people who ask for it" do), without reassuring the reader and without asking anyone to go
    anywhere or send anything: what such a text quotes is the scammer's, not the writer's.

    >>> reports_a_scam("저도 bunjang-pay.top 주소 받아서 신고했어요"), reports_a_scam("사기 아니에요 카톡 주세요")
    (True, False)
    """
    return (bool(_NAMED_SCAM.search(text) or _ABOUT_ASKERS.search(text)) and not _GO_THERE.search(text)
            and not _REASSURANCE.search(text))

