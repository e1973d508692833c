"""Links in normalised text, each with the rule code its host earns.

The normaliser has already re-armed defanged links (``hxxps://``, ``naver[.]com``,
``(dot)``) and mapped look-alike Cyrillic letters to Latin ones. A host the user spelled
with such letters (or full-width ones) is a look-alike, even of a domain the brand owns.

>>> from bunjang_lab.fraud.normalise import normalise
>>> [link.code for link in find_links(normalise("hxxps://bunjang-pay[.]com/order 에서 결제"))]
['lookalike_domain']
>>> [link.code for link in find_links(normalise("naver[.]com, bit.ly/3abc, m.bunjang.co.kr/products/1"))]
['known_site', 'url_shortener', None]
>>> [link.code for link in find_links(normalise("раураl.com/login"))]
['lookalike_domain']
>>> [link.code for link in find_links(normalise("185.23.4.1:8080/pay 에서 결제, t.me/seller"))]
['ip_link']

Standard library only; every pattern runs in linear time.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterator, NamedTuple

from bunjang_lab.fraud.normalise import Normalised, domain_skeleton
from bunjang_lab.fraud.patterns import TLDS, lazy

# The platform's own domains: links there are never a reason.
ALLOWED_DOMAINS = frozenset({"bunjang.co.kr", "bunjang.com", "bgzt.in"})
# Brands scammers imitate, with the domains they really own.
BRANDS = {
    "bunjang": {"bunjang.co.kr", "bunjang.com"}, "bungae": set(), "naver": {"naver.com", "naver.me"},
    "kakao": {"kakao.com", "kakaopay.com", "kakaobank.com"}, "kakaopay": {"kakaopay.com"},
    "toss": {"toss.im", "tossbank.com"}, "paypal": {"paypal.com"}, "payco": {"payco.com"},
    "cjlogistics": {"cjlogistics.com"}, "epost": {"epost.go.kr"}, "hanjin": {"hanjin.com", "hanjin.co.kr"},
    "lotteglogis": {"lotteglogis.com"}, "coupang": {"coupang.com"}, "daangn": {"daangn.com"},
    "joongna": {"joongna.com"}, "apple": {"apple.com"}, "paypass": set(), "safepay": set(),
    "kbstar": {"kbstar.com"}, "shinhan": {"shinhan.com"}, "wooribank": {"wooribank.com"},
}
_BRAND_SKELETONS = {domain_skeleton(b): b for b in BRANDS}
# Sites people point to when describing an item (maker, shop, review, price comparison):
# a link there is no lure. With the brands' own domains they earn "known_site".
KNOWN_SITES = frozenset({
    "youtube.com", "youtu.be", "google.com", "daum.net", "tistory.com", "wikipedia.org", "namu.wiki", "apple.com",
    "samsung.com", "lge.co.kr", "lg.com", "sony.com", "nike.com", "adidas.com", "danawa.com", "musinsa.com",
    "kream.co.kr", "11st.co.kr", "gmarket.co.kr", "auction.co.kr", "ssg.com", "lotteon.com", "oliveyoung.co.kr",
    "29cm.co.kr", "wconcept.co.kr", "amazon.com", "ebay.com", "ikea.com", "dyson.co.kr", "nintendo.com",
    # makers of what is resold most, whose pages describe an item
    "lego.com", "uniqlo.com", "zara.com", "hm.com", "newbalance.com", "converse.com", "vans.com", "canon.com",
    "nikon.com", "fujifilm.com", "dji.com", "bose.com", "microsoft.com", "playstation.com", "xbox.com",
    "logitech.com", "asus.com", "lenovo.com", "dell.com", "gucci.com", "louisvuitton.com", "chanel.com",
    "hermes.com", "prada.com", "thenorthface.com", "patagonia.com", "arcteryx.com", "muji.com", "sonystore.com",
    # couriers' own sites, where a parcel is tracked
    "ilogen.com", "cjlogistics.com", "hanjin.com", "hanjin.co.kr", "lotteglogis.com", "kdexp.com", "cvsnet.co.kr",
    "cupost.co.kr",
    # where a buyer checks a seller's number or account, and where a graded card's certificate is looked up
    "thecheat.co.kr", "police.go.kr", "ecrm.police.go.kr", "psacard.com", "beckett.com", "cgccards.com",
    "github.com",  # (code and firmware; github.io pages are anyone's: _USER_HOSTED)
    # makers of computer parts and gadgets, whose drivers and manuals a listing points to
    "nvidia.com", "amd.com", "intel.com", "msi.com", "gigabyte.com", "hp.com", "razer.com", "corsair.com",
    "steelseries.com", "garmin.com", "gopro.com", "sonos.com",
})
# Known sites where anyone names a subdomain (blogs, pages): a brand's name there is an imitation.
_USER_HOSTED = frozenset({"tistory.com", "blogspot.com", "github.io", "notion.site", "wordpress.com", "wixsite.com",
                          "weebly.com", "netlify.app", "vercel.app", "web.app", "firebaseapp.com", "pages.dev"})
KNOWN_SITE = "known_site"
OWNED_SITE_CODES = frozenset({None, KNOWN_SITE})  # the platform's own, and sites everyone knows
# ... and paths of a known host where anyone publishes (an app's closed test on Google Play)
_PUBLISHED_PATHS = ("play.google.com/apps/internaltest", "play.google.com/apps/testing")
# Well-known hosts where anyone publishes a page or an app under a path (link pages, forms,
# shared files, beta apps): no lure alone, like a known site, but a payment or login asked
# for there is a page the writer made (rule payment_link).
PUBLISHED_PAGE = "published_page"
_ANYONE_PUBLISHES = frozenset({"linktr.ee", "testflight.apple.com", "sites.google.com", "docs.google.com",
                               "blog.naver.com", "m.blog.naver.com", "mybox.naver.com",
                               "drive.google.com", "storage.googleapis.com", "canva.site", "my.canva.site",
                               "s3.amazonaws.com", "litt.ly", "inpock.co.kr", "bio.link", "beacons.ai", "carrd.co",
                               "form.naver.com", "forms.gle", "forms.office.com", "tally.so"})
# Brands too short or too close to English words to match one edit away ("example" ~ "apple").
_EXACT_ONLY = frozenset({"apple", "toss", "payco", "safepay", "paypass", "epost", "hanjin", "kakao"})
SHORTENERS = frozenset({
    "bit.ly", "han.gl", "me2.do", "vo.la", "tinyurl.com", "goo.gl", "t.co", "is.gd", "ow.ly", "buly.kr",
    "url.kr", "c11.kr", "naver.me", "shorturl.at", "rb.gy", "cutt.ly", "tiny.cc", "t2m.io", "abit.ly",
    "bitly.com", "rebrand.ly", "s.id", "lrl.kr", "zrr.kr", "gg.gg", "v.gd", "qrco.de", "lnkd.in", "kko.to",
})
# A payment app's send-money links (toss.me/<id>, Kakao Pay's QR code link): money sent there
# leaves the safe payment, an account transfer by another way, not a phishing page.
PAYMENT_APP_HOSTS = frozenset({"toss.me", "qr.kakaopay.com", "link.kakaopay.com", "revolut.me", "paypal.me", "cash.app"})
PAYMENT_APP_LINK = "payment_app_link"
_SECOND_LEVEL = frozenset({"co", "or", "go", "ne", "ac", "re", "pe", "com", "net", "org", "gov", "ltd", "plc"})
# Links that lead to a messenger are external channels (the rules' own), not phishing.
_MESSENGER_HOSTS = frozenset({"open.kakao.com", "t.me", "telegram.me", "telegram.dog", "line.me", "wa.me"})

# A bare domain checks the character before it once its first letter matched (a look-behind
# first would be tried at every position of the text: a third slower over chat).
# A scheme may be followed by a name and "@" ("https://bunjang.co.kr@pay-check.top"): the
# link goes to what follows it. A bare host ends in a known ending, or in any word of letters
# when a path of letters follows it ("lotte-parcel.delivery/pay", "tally.so/r/…"; not "av.tanvi/9953921288").
_URL = lazy(
    r"(?:(?:https?:?//(?P<userinfo>[0-9a-z.\-_%:]{1,80}@)?|www\.)(?P<host>[0-9a-z\-]{1,63}(?:\. ?[0-9a-z\-]{1,63}){0,6})"
    r"(?::\d{1,5})?"
    r"|(?P<bare>[0-9a-z\-](?<![0-9a-z@.\-][0-9a-z\-])[0-9a-z\-]{0,62}\.(?:[0-9a-z\-]{1,63}\.){0,5}"
    r"(?:" + TLDS + r"|[a-z]{2,24}(?=/[a-z])))"
    r"(?![0-9a-z\-])(?::\d{1,5})?)"
    r"(?P<path>[/?#][^\s<>\"'가-힣]{0,200})?"
)
IP_ADDRESS = lazy(r"\d{1,3}(?:\.\d{1,3}){3}")
_IPV6_LINK = lazy(r"https?://\[[0-9a-f:]{2,39}\](?::\d{1,5})?(?:/[^\s<>\"'가-힣]{0,200})?")  # "http://[2406:da12::31]/pay"
# A bare IP address followed by a path (the link pattern wants letters in a domain's last label).
# (A digit first, the look-behind after it: the engine skips to digits.)
_IP_PATH = lazy(rf"\d(?<![0-9.]\d)\d{{0,2}}(?:\.\d{{1,3}}){{3}}(?::\d{{1,5}})?/")
# Starts with a literal in every branch (the letter before the dot is checked behind it),
# so the engine jumps from dot to dot instead of trying each position.
_LINK_HINT = lazy(r"\.(?<=[0-9a-z]\.) ?[0-9a-z]|//|www")


# Hosts whose name alone leads nowhere: what counts is the path after them.
_PATHS_LEAD = frozenset({"url_shortener", PAYMENT_APP_LINK})
_PATH_APART = lazy(r"[^\n/.?!]{1,16}?(?<![0-9a-z])/[0-9a-z_\-]{3,40}")

# A host name written in Hangul (번개페이.kr): an internationalised name, like xn-- ones.
_DOT_TLD = lazy(r"\.(?:한국|co\.kr|kr|com|net|shop|xyz|site|online|store|top|info)(?![0-9a-z])")
_HANGUL_LABEL = lazy(r"[가-힣0-9\-]{1,30}$")
# ... or in emoji and symbols ("⚡💳.ws/bj"): an internationalised name too.
# (emoji and symbols only, and a path after: "…day\ufffd.do well" is a sentence's end; found from the dot,
# a literal the engine skips to, then back over the symbols)
_SYMBOL = "\u2190-\u2bff\U0001f000-\U0001faff\ufe0f"
_SYMBOL_HOST = lazy(rf"\.(?<=[{_SYMBOL}]\.)(?:" + TLDS + r")/[0-9a-z_\-/?=&.]{1,80}")
_SYMBOL_CHAR = lazy(f"[{_SYMBOL}]")
# A redirect through a known site ("google.com/url?q=https://…"): the link goes where its parameter says.
# (a parameter holding a link, or Google's AMP cache serving another site's page: google.com/amp/s/…)
_REDIRECT_TARGET = lazy(r"=(?=https?://|www\.)|/amp/(?:s/)?(?=[0-9a-z\-]{1,63}\.[0-9a-z])")


class Link(NamedTuple):
    start: int
    end: int
    code: str | None  # the rule code the host earns; None for the platform's own


def registrable_domain(host: str) -> str:
    """``m.bunjang.co.kr`` -> ``bunjang.co.kr``; ``a.b.example.com`` -> ``example.com``.

    >>> registrable_domain("m.bunjang.co.kr"), registrable_domain("www.paypal.com")
    ('bunjang.co.kr', 'paypal.com')
    """
    labels = host.strip(".").split(".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) <= 1 or (len(diffs) == 2 and diffs[1] == diffs[0] + 1
                                   and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1:]


def _near_substring(label: str, brand: str) -> bool:
    """Whether some part of ``label`` is one edit away from ``brand`` (``secure-navarpay``)."""
    n = len(brand)
    return any(_edit_distance_at_most_one(label[i:i + size], brand)
               for size in (n - 1, n, n + 1) for i in range(0, max(1, len(label) - size + 1)))


@lru_cache(maxsize=8192)
def classify_host(host: str) -> str | None:
    """The rule code for a link to ``host`` (None for the platform's own domains,
    :data:`KNOWN_SITE` for a brand's own or a well-known site).

    >>> [classify_host(h) for h in ("bunjang.co.kr", "bunjang-pay.com", "bit.ly", "xn--80ak6aa92e.com", "blog.example.com")]
    [None, 'lookalike_domain', 'url_shortener', 'punycode_domain', 'external_link']
    >>> classify_host("blog.naver.com"), classify_host("www.apple.com"), classify_host("cafe.naver.com")
    ('published_page', 'known_site', 'known_site')
    >>> classify_host("paypa1.com"), classify_host("cjlogistlcs.com"), classify_host("10.0.0.1")
    ('lookalike_domain', 'lookalike_domain', 'ip_link')
    """
    host = host.strip(".-")
    if IP_ADDRESS.fullmatch(host):
        return "ip_link"
    if host in PAYMENT_APP_HOSTS:
        return PAYMENT_APP_LINK
    domain = registrable_domain(host)
    if domain in ALLOWED_DOMAINS:
        return None
    if "xn--" in host:
        return "punycode_domain"
    if domain in SHORTENERS or host in SHORTENERS:
        return "url_shortener"
    if host in _ANYONE_PUBLISHES or domain in _ANYONE_PUBLISHES:
        return PUBLISHED_PAGE
    skeleton = domain_skeleton(host)
    label = domain_skeleton(domain.split(".")[0])
    if domain in _USER_HOSTED and host != domain:
        named = domain_skeleton(host[:-len(domain)])
        return "lookalike_domain" if any(brand in named for brand in _BRAND_SKELETONS) else classify_host(domain)
    if domain in KNOWN_SITES or host in KNOWN_SITES or domain.endswith(".go.kr"):  # (.go.kr: the government's)
        return KNOWN_SITE
    for brand_skeleton, brand in _BRAND_SKELETONS.items():
        if domain in BRANDS[brand]:
            return KNOWN_SITE
        if brand_skeleton in skeleton or (brand not in _EXACT_ONLY and _near_substring(label, brand_skeleton)):
            return "lookalike_domain"
    return "external_link"


def find_links(n: Normalised) -> Iterator[Link]:
    """Every link in ``n.text`` but the messengers': hosts written in Hangul, then the
    others in order, then bare IP addresses with a path."""
    text = n.text
    if "." in text:
        for match in _DOT_TLD.finditer(text):
            label = _HANGUL_LABEL.search(text, max(0, match.start() - 30), match.start())
            if label and "가" <= text[match.start() - 1] <= "힣":
                yield Link(label.start(), match.end(), "punycode_domain")
    if "." in text and not text.isascii():
        for match in _SYMBOL_HOST.finditer(text):
            start = match.start()
            while start > max(0, match.start() - 8) and _SYMBOL_CHAR.match(text, start - 1):
                start -= 1
            yield Link(start, match.end(), "punycode_domain")
    if ("." not in text and "//" not in text) or not _LINK_HINT.search(text):
        return
    for match in _URL.finditer(text):
        host_group = "host" if match.group("host") else "bare"
        host = match.group(host_group).replace(" ", "").strip(".-")
        if host in _MESSENGER_HOSTS or ("." not in host and host_group == "bare"):
            continue
        code = classify_host(host)
        if code == KNOWN_SITE and (host + (match.group("path") or "")).startswith(_PUBLISHED_PATHS):
            code = PUBLISHED_PAGE
        end = match.end()
        if code in _PATHS_LEAD and len(match.group("path") or "") < 2:
            # a shortener's or payment app's name alone leads nowhere ("naver.me 링크 조심하세요"),
            # unless its path is given apart ("bit.ly 주소 뒤에 /bj_pay22 붙이세요")
            apart = _PATH_APART.match(text, end)
            if apart is None:
                continue
            end = apart.end()
        if code in (None, KNOWN_SITE, "external_link") and (
                match.group("userinfo") or not n.spelled_in_ascii(*match.span(host_group))):
            code = "lookalike_domain"  # Cyrillic or full-width letters, or a name before "@", passing for another host
        yield Link(match.start(), end, code)
        path = match.group("path")
        if code in OWNED_SITE_CODES and path and ("=" in path or "/amp/" in path):
            inner = _REDIRECT_TARGET.search(text, match.start("path"), match.end())
            if inner is not None:
                target = _URL.match(text, inner.end())
                target_host = target and (target.group("host") or target.group("bare") or "").replace(" ", "").strip(".-")
                if target_host and classify_host(target_host) not in OWNED_SITE_CODES:
                    yield Link(target.start(), target.end(), classify_host(target_host))
    for match in _IP_PATH.finditer(text):
        yield Link(match.start(), match.end(), "ip_link")
    if "[" in text:
        for match in _IPV6_LINK.finditer(text):
            yield Link(match.start(), match.end(), "ip_link")
