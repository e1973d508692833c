"""Prometheus metrics and the JSON access log of the HTTP service (an ASGI wrapper).

The access log is one JSON object per request, ``{"ts", "method", "path", "query",
"status", "ms", "client", "pid"}``, gathered in memory and written to a stream (stderr) in
one call at most :data:`FLUSH_SECONDS` later and when the service stops: a write per
request was a system call per request, and :mod:`logging` records cost a quarter of a
lookup's whole CPU time.

Per route: ``bunjang_serving_requests_total{route,method,status}``,
``bunjang_serving_request_seconds{route}`` (a histogram with buckets from half a
millisecond), ``bunjang_serving_errors_total{route,status}`` (answers of 400 and more), and
``bunjang_serving_cache_version``. The labelled series of each (route, method, status) are
looked up once and then reused. With several workers, uvicorn's processes share the
figures through ``PROMETHEUS_MULTIPROC_DIR`` (the ``serve`` command sets it).

>>> import asyncio, io
>>> stream = io.StringIO()
>>> log = AccessLog(stream)
>>> async def two_requests():
...     log.add({"path": "/healthz", "status": 200})
...     log.add({"path": "/metrics", "status": 200})
...     written_at_once = stream.getvalue()
...     log.flush()
...     return written_at_once
>>> asyncio.run(two_requests()), stream.getvalue()
('', '{"path":"/healthz","status":200}\\n{"path":"/metrics","status":200}\\n')
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import TextIO

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
OTHER_ROUTE = "other"  # unknown paths share one label: a scanner cannot grow the series
FLUSH_SECONDS = 0.5
"""Longest an access line waits in memory before it is written."""
MAX_HELD_LINES = 1000
"""Access lines written at once without waiting, so a burst holds little memory."""


class AccessLog:
    """JSON access lines gathered in memory and written in batches (call :meth:`add` on
    the event loop; :meth:`flush` when the service stops)."""

    def __init__(self, stream: TextIO, flush_seconds: float = FLUSH_SECONDS, max_lines: int = MAX_HELD_LINES):
        self.stream, self.flush_seconds, self.max_lines = stream, flush_seconds, max_lines
        self._lines: list[str] = []

    def add(self, record: dict) -> None:
        lines = self._lines
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        if len(lines) == 1:
            asyncio.get_running_loop().call_later(self.flush_seconds, self.flush)
        elif len(lines) >= self.max_lines:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            lines, self._lines = self._lines, []
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("bunjang_serving_requests", "HTTP requests answered", ["route", "method", "status"],
                                registry=self.registry)
        self.latency = Histogram("bunjang_serving_request_seconds", "Time to answer a request", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.errors = Counter("bunjang_serving_errors", "Answers with a status of 400 or more", ["route", "status"],
                              registry=self.registry)
        self.cache_version = Gauge("bunjang_serving_cache_version", "Cache version the worker answers from",
                                   registry=self.registry, multiprocess_mode="livemostrecent")
        self._series: dict[tuple[str, str, int], tuple] = {}

    def series(self, route: str, method: str, status: int) -> tuple:
        """(requests counter, latency histogram, errors counter or None) of one kind of answer."""
        found = self._series.get((route, method, status))
        if found is None:
            errors = self.errors.labels(route, str(status)) if status >= 400 else None
            found = self.requests.labels(route, method, str(status)), self.latency.labels(route), errors
            self._series[route, method, status] = found
        return found

    def exposition(self) -> tuple[bytes, str]:
        """The metrics page (every worker's figures when several share a folder)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def observe(self, app, routes: set[str], access_log: AccessLog | None):
        """``app`` wrapped to count, time and log (unless ``access_log`` is None) every HTTP request."""
        series, pid = self.series, os.getpid()
        methods = {"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"}  # others share one label too

        async def observed(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            started = time.perf_counter()
            status = 500

            async def send_status(message):
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, send_status)
            finally:
                seconds = time.perf_counter() - started
                path, method = scope["path"], scope["method"]
                requests, latency, errors = series(path if path in routes else OTHER_ROUTE,
                                                   method if method in methods else OTHER_ROUTE, status)
                requests.inc()
                latency.observe(seconds)
                if errors is not None:
                    errors.inc()
                if access_log is not None:
                    client = scope.get("client")
                    access_log.add({"ts": round(time.time(), 3), "method": method, "path": path,
                                    "query": scope.get("query_string", b"").decode("latin-1")[:200], "status": status,
                                    "ms": round(seconds * 1000, 3), "client": client[0] if client else None, "pid": pid})

        return observed
