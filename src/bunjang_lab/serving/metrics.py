"""Prometheus metrics and the JSON access log of the HTTP service (an ASGI wrapper).

The access log is one JSON object per request written straight to a stream (stderr):
``{"ts", "method", "path", "query", "status", "ms", "client", "pid"}``. It bypasses
:mod:`logging`, whose records cost a quarter of a lookup's whole CPU time.

Per route: ``bunjang_serving_requests_total{route,method,status}``,
``bunjang_serving_request_seconds{route}`` (a histogram with buckets from half a
millisecond), ``bunjang_serving_errors_total{route,status}`` (answers of 400 and more), and
``bunjang_serving_cache_version``. With several workers, uvicorn's processes share the
figures through ``PROMETHEUS_MULTIPROC_DIR`` (the ``serve`` command sets it).
"""

from __future__ import annotations

import json
import os
import time
from typing import TextIO

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
OTHER_ROUTE = "other"  # unknown paths share one label: a scanner cannot grow the series


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

    def exposition(self) -> tuple[bytes, str]:
        """The metrics page (every worker's figures when several share a folder)."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def observe(self, app, routes: set[str], access_log: TextIO | None):
        """``app`` wrapped to count, time and log (unless ``access_log`` is None) every HTTP request."""
        metrics, pid = self, os.getpid()

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
                route = scope["path"] if scope["path"] in routes else OTHER_ROUTE
                metrics.requests.labels(route, scope["method"], str(status)).inc()
                metrics.latency.labels(route).observe(seconds)
                if status >= 400:
                    metrics.errors.labels(route, str(status)).inc()
                if access_log is not None:
                    client = scope.get("client")
                    access_log.write(json.dumps({
                        "ts": round(time.time(), 3), "method": scope["method"], "path": scope["path"],
                        "query": scope.get("query_string", b"").decode("latin-1")[:200], "status": status,
                        "ms": round(seconds * 1000, 3), "client": client[0] if client else None, "pid": pid}) + "\n")

        return observed
