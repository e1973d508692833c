"""The long-lived HTTP service behind ``python -m bunjang_lab.score serve`` (a Starlette app).

It only wires things together: lookups through :mod:`bunjang_lab.serving.queries` (the
very functions of the ``score`` commands, so the JSON is the same), events through
:func:`bunjang_lab.serving.events.apply_event`, fraud through the text scorer (loaded
once), :mod:`bunjang_lab.serving.listings` and the image scan; the cache through
:class:`~bunjang_lab.serving.memory.MemoryCache` over redis-py's pool or SQLite.

Lookups and short texts run on the event loop (they take well under a millisecond; a
recommend awaits its first read, so on Redis the loop answers other requests meanwhile); the
lookups, events, texts and listings are answered by a small ASGI function ahead of
Starlette's routing (:func:`answered_first`: a query string or a JSON body in, bytes out),
and answers that only read fixed values of the version are held as bytes
(:meth:`~bunjang_lab.serving.memory.MemoryCache.answer`). Events, longer texts, listings
and uploads run in the thread pool. Errors are JSON ``{"error": ...}``: 400 for input the
edge refuses (:mod:`bunjang_lab.serving.inputs`), 404 for an unknown item, 503 when the
cache cannot answer, 500 (logged with its traceback) for anything else.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from bunjang_lab.errors import BunjangError, InvalidInput, MissingInput
from bunjang_lab.serving import queries
from bunjang_lab.serving.ads import ads_answer, recommend_answer, recommend_reads
from bunjang_lab.serving.backends import open_cache
from bunjang_lab.serving.cache import CacheError, Snapshot
from bunjang_lab.serving.events import apply_event
from bunjang_lab.serving.inputs import parse_json
from bunjang_lab.serving.listings import cached_verdicts, checked_listing, score_listing, seller_of
from bunjang_lab.serving.memory import MemoryCache
from bunjang_lab.serving.metrics import AccessLog, Metrics
from bunjang_lab.serving.queries import text_request

MAX_BODY_BYTES = 1 << 20
MAX_IMAGE_BYTES = 10 << 20
MAX_ITEMS_PER_REQUEST = 1000
"""Most events or texts one JSON array may carry."""
INLINE_TEXT_CHARS = 1000
"""Longest text scored on the event loop (about 1 ms with the classifier; a text of the
20,000 characters the rules read takes 10-25 ms, so longer ones go to the thread pool)."""
LOOKUP_PARAMETERS = {"user": "user_id", "item": "item_id"}
"""Query-string names that differ from the lookups' parameter names."""
HELD_PARAMETERS = frozenset({"user_id", "item_id", "prefix", "gender", "age_band", "k"})
"""Parameters of questions whose answers may be held: each names what is read (and is
bounded at the edge). With any other (``explain`` adds a listing's age, which grows with
the clock; one the lookups ignore would only grow the memo) the answer is computed."""

error_log = logging.getLogger("bunjang_lab.serving.errors")


@dataclass(frozen=True)
class Settings:
    """What the service needs; each worker reads it from the environment the command set."""

    cache_url: str | None = None
    models: str | None = None
    image_index: str | None = None
    rules_only: bool = False
    access_log: bool = True

    @classmethod
    def from_environment(cls) -> "Settings":
        env = os.environ.get
        return cls(env("BUNJANG_CACHE_URL"), env("BUNJANG_MODELS"), env("BUNJANG_IMAGE_INDEX"),
                   env("BUNJANG_RULES_ONLY") == "1", env("BUNJANG_ACCESS_LOG") != "0")

    def environment(self) -> dict[str, str]:
        values = {"BUNJANG_CACHE_URL": self.cache_url, "BUNJANG_MODELS": self.models,
                  "BUNJANG_IMAGE_INDEX": self.image_index, "BUNJANG_RULES_ONLY": "1" if self.rules_only else "0",
                  "BUNJANG_ACCESS_LOG": "1" if self.access_log else "0"}
        return {name: value for name, value in values.items() if value is not None}


class PayloadTooLarge(BunjangError):
    """A request body over the service's limit (413)."""


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
"""One encoder for every answer (``json.dumps`` with options builds one per call); answers are
decoded JSON and dicts built from it, never circular."""


def json_bytes(content: Any) -> bytes:
    return _ENCODER.encode(content).encode()


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


def _status(exc: BunjangError) -> int:
    if isinstance(exc, CacheError):
        return 503
    if isinstance(exc, PayloadTooLarge):
        return 413
    return 404 if isinstance(exc, MissingInput) else 400


def error_answer(exc: Exception, method: str, path: str) -> tuple[int, dict]:
    """(status, body) of a failed request: a domain error as itself, anything else a logged 500."""
    if isinstance(exc, BunjangError):
        return _status(exc), {"error": str(exc)}
    error_log.error("unexpected error in %s %s", method, path, exc_info=exc)
    return 500, {"error": "internal error (logged by the service)"}


def answers_errors(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint, with domain errors as JSON ``{"error"}`` and anything else as a logged 500."""

    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except HTTPException:
            raise  # Starlette's own (a malformed multipart body): it answers them
        except Exception as exc:
            status, body = error_answer(exc, request.method, request.url.path)
            return JSONResponse(body, status_code=status)

    return wrapped


Lookup = Callable[[dict], bytes]
"""A lookup answering query-string parameters with the answer's JSON bytes."""
AsyncLookup = Callable[[dict], Awaitable[bytes]]
"""A lookup that awaits its reads."""
BodyRoute = Callable[[bytes], Awaitable[bytes]]
"""A route answering a request body (JSON) with the answer's JSON bytes."""
Answer = Callable[[dict, Callable], Awaitable[bytes]]
"""An answer to an ASGI request (its scope and receive): the JSON bytes of a 200."""


def lookup_params(query_string: bytes) -> dict:
    """A query string as the lookups' parameters (decoded as Starlette decodes it)."""
    return {LOOKUP_PARAMETERS.get(k, k): v for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)}


async def read_body(scope: dict, receive: Callable, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refused past ``limit`` bytes without reading the rest."""
    declared = next((value for name, value in scope["headers"] if name == b"content-length"), None)
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared.decode()} bytes, over the {limit}-byte limit")
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        body += message.get("body", b"")
        if len(body) > limit:
            raise PayloadTooLarge(f"the body is over the {limit}-byte limit")
        if not message.get("more_body", False):
            return bytes(body)


def from_query(lookup: Lookup) -> Answer:
    async def answer(scope: dict, receive: Callable) -> bytes:
        return lookup(lookup_params(scope["query_string"]))

    return answer


def from_query_awaited(lookup: AsyncLookup) -> Answer:
    async def answer(scope: dict, receive: Callable) -> bytes:
        return await lookup(lookup_params(scope["query_string"]))

    return answer


def from_body(route: BodyRoute) -> Answer:
    async def answer(scope: dict, receive: Callable) -> bytes:
        return await route(await read_body(scope, receive))

    return answer


def answered_first(answers: dict[tuple[str, str], Answer], app):
    """``app`` behind an ASGI function answering the (method, path) of ``answers`` itself.

    Those routes are bytes in and bytes out (a query string, a JSON body), so Starlette's
    request, routing and response objects would be a good part of their cost; other
    methods of their paths (405, HEAD) and every other route go to ``app``.
    """
    json_type = (b"content-type", b"application/json")

    async def asgi(scope, receive, send):
        answer = answers.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if answer is None:
            return await app(scope, receive, send)
        try:
            status, body = 200, await answer(scope, receive)
        except ClientDisconnect:
            return  # nobody to answer
        except Exception as exc:
            status, error = error_answer(exc, scope["method"], scope["path"])
            body = json_bytes(error)
        await send({"type": "http.response.start", "status": status,
                    "headers": [json_type, (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return asgi


def one_or_many(value: Any) -> tuple[list, bool]:
    """(the items, whether the body was an array) of a body holding one object or an array."""
    if isinstance(value, list):
        if len(value) > MAX_ITEMS_PER_REQUEST:
            raise PayloadTooLarge(f"at most {MAX_ITEMS_PER_REQUEST} items per request, got {len(value)}")
        return value, True
    return [value], False


def redacted(url: str | None) -> str | None:
    """The URL without its password (health answers are not secret)."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


class Service:
    """The app's state: the cache with its memory layer, the text scorer, the metrics."""

    def __init__(self, settings: Settings):
        from bunjang_lab.fraud.text_scorer import TextScorer
        from bunjang_lab.serving.blocklist import CachedBlocklist, index_pictures

        self.settings = settings
        self.cache = MemoryCache(open_cache(settings.cache_url, pooled=True))
        self.blocklist = CachedBlocklist(self.cache)
        self.text_scorer = TextScorer.from_models(settings.models, use_classifier=not settings.rules_only,
                                                  blocklist=self.blocklist)
        self.image_index = self._image_index()
        self.pictures_of = index_pictures(self.image_index)  # a confirmed listing's photos join the blocklist
        self.metrics = Metrics()

    # --- lookups ------------------------------------------------------------------------

    def lookup(self, name: str) -> Lookup:
        """The lookup ``name`` of :mod:`~bunjang_lab.serving.queries`, answered from one
        version (no await inside) and held while it holds."""
        query = queries.QUERIES[name]

        def answer(params: dict) -> bytes:
            def compute(snap: Snapshot) -> bytes:
                return json_bytes(query(snap, params))

            if HELD_PARAMETERS.issuperset(params):
                return self.cache.answer((name, *sorted(params.items())), compute)
            with self.cache.snapshot() as snap:
                return compute(snap)

        return answer

    def recommend(self) -> AsyncLookup:
        """``GET /api/v1/recommend``: the home feed with the home surface's ads
        (:func:`~bunjang_lab.serving.ads.recommend_answer`, as ``score recommend``), computed per
        request: the feed is a key events rewrite, and budgets move with every ad event. Its
        first read is awaited (:meth:`~bunjang_lab.serving.memory.MemorySnapshot.read_ahead_async`):
        on Redis the loop answers other requests while it travels."""
        cache = self.cache

        async def answer(params: dict) -> bytes:
            feed = queries.feed_of(params)
            now_ms = int(time.time() * 1000)
            with cache.snapshot() as snap:
                await snap.read_ahead_async(*recommend_reads(cache, feed[0], now_ms))
                return json_bytes(recommend_answer(cache, snap, params, now_ms, feed=feed))

        return answer

    # --- events -------------------------------------------------------------------------

    def _apply_all(self, events: list) -> list[dict]:
        answers = []
        for index, event in enumerate(events):
            try:
                answers.append(apply_event(self.cache, event, self.pictures_of))
            except CacheError:
                raise  # the cache itself cannot be used: one 503 for the request
            except BunjangError as exc:
                answers.append({"index": index, "error": str(exc)})
        return answers

    async def events(self, body: bytes) -> bytes:
        """One event (its effect) or an array (one answer per event, failures in place)."""
        events, many = one_or_many(parse_json(body, "body"))
        if not many:
            return json_bytes(await run_in_threadpool(apply_event, self.cache, events[0], self.pictures_of))
        return json_bytes(await run_in_threadpool(self._apply_all, events))

    async def ads(self, request: Request) -> Response:
        """``GET /api/v1/ads?surface=&user=&item=&query=``: the request's ads blended into its
        list (:func:`~bunjang_lab.serving.ads.ads_for` reads budgets that change with every
        event, so the answer is never held)."""
        params = lookup_params(request.scope["query_string"])
        return JSONResponse(await run_in_threadpool(ads_answer, self.cache, params))

    # --- fraud --------------------------------------------------------------------------

    async def text(self, body: bytes) -> bytes:
        """``{"text", "id"?}`` or an array of them: risk, flag and reasons of each."""
        items, many = one_or_many(parse_json(body, "body"))
        if not many:
            ident, text = text_request(items[0])
            if len(text) <= INLINE_TEXT_CHARS:  # a fraction of a millisecond: less than a thread's hand-over
                answer = self.text_scorer.score(text)
            else:
                answer = await run_in_threadpool(self.text_scorer.score, text)
            return json_bytes({"id": ident, **answer} if ident is not None else answer)
        checked: list[tuple[Any, str] | dict] = []
        for index, item in enumerate(items):
            try:
                checked.append(text_request(item))
            except BunjangError as exc:
                checked.append({"index": index, "error": str(exc)})
        texts = [c for c in checked if isinstance(c, tuple)]
        scored = iter(await run_in_threadpool(self.text_scorer.score_many, [t for _, t in texts]))
        return json_bytes([c if isinstance(c, dict) else {"id": c[0], **next(scored)} for c in checked])

    def _score_listing(self, listing: dict) -> dict:
        try:
            with self.cache.snapshot() as snap:
                (cached, sellers), note = cached_verdicts(snap, [listing]), f"version {snap.version}"
        except CacheError as exc:  # the listing is still scored, as the command does
            cached, sellers, note = {}, {}, f"unavailable ({exc})"
        answer = score_listing(listing, self.text_scorer, None, cached.get(str(listing.get("item_id"))), note,
                               sellers.get(seller_of(listing)))
        if listing["images"]:  # paths on the server are not for callers to name: upload them
            answer["parts"]["images"] = {"skipped": "send pictures to POST /api/v1/image"}
        return answer

    async def listing(self, body: bytes) -> bytes:
        """A listing (title, description, item_id, seller_id): text and published verdicts."""
        listing = checked_listing(parse_json(body, "body"))
        return json_bytes(await run_in_threadpool(self._score_listing, listing))

    async def image(self, request: Request) -> Response:
        """One uploaded picture (multipart field ``file``): reused photos and text in it."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_IMAGE_BYTES + MAX_BODY_BYTES:  # the form's other bytes
            raise PayloadTooLarge(f"the upload is {declared} bytes, over the {MAX_IMAGE_BYTES}-byte limit")
        form = await request.form(max_files=1, max_fields=4)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("upload the picture as the multipart field 'file'")
        data = await upload.read(MAX_IMAGE_BYTES + 1)
        await form.close()
        if len(data) > MAX_IMAGE_BYTES:
            raise PayloadTooLarge(f"the picture is over the {MAX_IMAGE_BYTES}-byte limit")
        ocr = request.query_params.get("ocr", "1") != "0"
        answer = await run_in_threadpool(self._scan_upload, data, Path(upload.filename or "upload").suffix[:10], ocr)
        answer["image"] = upload.filename
        return JSONResponse(answer, status_code=422 if "error" in answer else 200)

    def _scan_upload(self, data: bytes, suffix: str, ocr: bool) -> dict:
        from bunjang_lab.fraud.images.scan import scan_images
        from bunjang_lab.fraud.images.sources import ImageSources

        with tempfile.NamedTemporaryFile(suffix=suffix) as file:
            file.write(data)
            file.flush()  # the service's own file, outside the image roots
            return scan_images([file.name], self.image_index, ocr=ocr, sources=ImageSources.from_env().any_local_path(),
                               blocklist=self.blocklist)[0]

    def _image_index(self) -> str | None:
        """The configured index, else the default one when it was built, else none (read at
        start, with the scanning code imported then rather than by the first upload)."""
        from bunjang_lab.fraud.images import scan  # noqa: F401
        from bunjang_lab.fraud.images.cli import default_index
        from bunjang_lab.fraud.images.index import MANIFEST

        if self.settings.image_index:
            return self.settings.image_index
        folder = default_index()
        return str(folder) if (folder / MANIFEST).exists() else None

    # --- operations ---------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        """Cache version and reachability, model versions; 503 until the cache can answer."""
        cache = {"url": redacted(self.cache.url), "version": self.cache.memo.version if self.cache.memo else None}
        try:
            versions = self.cache.backend.versions()
            cache["reachable"], cache["current"] = True, next((v["version"] for v in versions if v["current"]), None)
        except CacheError as exc:
            cache["reachable"], cache["error"] = False, str(exc)
        if self.cache.last_error and "error" not in cache:
            cache["error"] = self.cache.last_error  # e.g. nothing published yet
        healthy = cache["reachable"] and cache["version"] is not None
        answer = {"status": "ok" if healthy else "unavailable", "cache": cache,
                  "models": {"text": self.text_scorer.model, "image_index": self.image_index}, "pid": os.getpid()}
        return JSONResponse(answer, status_code=200 if healthy else 503)

    async def metrics_page(self, request: Request) -> Response:
        if self.cache.memo is not None:
            self.metrics.cache_version.set(self.cache.memo.version)
        body, content_type = self.metrics.exposition()
        return Response(body, media_type=content_type)


def create_app(settings: Settings | None = None):
    """The ASGI app (routes inside the metrics and access-log wrapper); uvicorn's workers
    build it from the environment (:func:`app_from_environment`, ``factory=True``)."""
    settings = settings or Settings.from_environment()
    service = Service(settings)

    access_log = AccessLog(sys.stderr) if settings.access_log else None

    @asynccontextmanager
    async def lifespan(app):
        service.cache.start()
        gc.collect()
        gc.freeze()  # what start-up made (modules, models, the warmed version) is never scanned again
        yield
        service.cache.close()
        if access_log is not None:
            access_log.flush()  # the last requests' lines

    answers: dict[tuple[str, str], Answer] = {
        **{("GET", f"/api/v1/{name}"): from_query(service.lookup(name)) for name in queries.QUERIES},
        ("GET", "/api/v1/recommend"): from_query_awaited(service.recommend()),
        ("POST", "/api/v1/events"): from_body(service.events),
        ("POST", "/api/v1/text"): from_body(service.text),
        ("POST", "/api/v1/listing"): from_body(service.listing),
    }

    def starlette_endpoint(answer: Answer) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:  # a HEAD; the method itself goes to answered_first
            return Response(await answer(request.scope, request.receive), media_type=JSONResponse.media_type)

        return endpoint

    endpoints = {
        **{path: (starlette_endpoint(answer), method) for (method, path), answer in answers.items()},
        "/api/v1/ads": (service.ads, "GET"),
        "/api/v1/image": (service.image, "POST"),
        "/healthz": (service.healthz, "GET"),
        "/metrics": (service.metrics_page, "GET"),
    }
    routes = [Route(path, answers_errors(endpoint), methods=[method]) for path, (endpoint, method) in endpoints.items()]
    app = Starlette(routes=routes, lifespan=lifespan)
    return service.metrics.observe(answered_first(answers, app), set(endpoints), access_log)


def app_from_environment():
    return create_app()

