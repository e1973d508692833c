"""Open a serving cache by URL; each backend is imported only when its URL is used.

- ``sqlite:///path/to/cache.sqlite`` (the default, embedded, no server), and
- ``redis://host:port/db[?prefix=name:]``.

>>> import tempfile, os
>>> cache = open_cache("sqlite:///" + os.path.join(tempfile.mkdtemp(), "c.sqlite"), create=True)
>>> with cache.new_version(run="demo") as writer:
...     writer.put("pop:all", [["i1", 0.9]])
>>> with cache.snapshot() as snap:
...     snap.version, snap.get("pop:all"), snap.get("pop:nothing")
(1, [['i1', 0.9]], None)
>>> cache.close()
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from bunjang_lab.serving.cache import MAX_VALUE_BYTES, Cache, CacheError


def open_cache(url: str | None = None, create: bool = False, pooled: bool = False) -> Cache:
    """The cache at ``url`` (default: ``BUNJANG_CACHE_URL`` or the embedded SQLite file).

    ``create`` makes a missing SQLite file (publish does); readers get a clear error instead.
    A query parameter ``max_value_bytes`` overrides the size cap; Redis takes ``prefix``.
    ``pooled`` speaks to Redis through redis-py's connection pool (the long-lived service)
    instead of the standard-library client (one-shot commands, which cannot afford redis-py's
    import).

    >>> open_cache("memcached://x")
    Traceback (most recent call last):
    ...
    bunjang_lab.serving.cache.CacheError: unsupported cache URL 'memcached://x': use sqlite:///PATH or redis://HOST:PORT/DB
    """
    if url is None:
        from bunjang_lab.paths import cache_url

        url = cache_url()
    parts = urlsplit(url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    try:
        limit = int(query.pop("max_value_bytes", MAX_VALUE_BYTES))
    except ValueError:
        raise CacheError(f"max_value_bytes in cache URL {url!r} must be an integer") from None
    if parts.scheme == "sqlite":
        from bunjang_lab.serving.sqlite_cache import SQLiteCache

        # SQLAlchemy's convention: sqlite:///relative.sqlite, sqlite:////absolute/path.sqlite
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise CacheError(f"cache URL {url!r} names no file: use sqlite:///PATH")
        return SQLiteCache(url, path, create=create, max_value_bytes=limit)
    if parts.scheme in ("redis", "rediss"):
        from bunjang_lab.serving.redis_cache import RedisCache

        return RedisCache(url, prefix=query.pop("prefix", "bunjang:"), max_value_bytes=limit, pooled=pooled)
    raise CacheError(f"unsupported cache URL {url!r}: use sqlite:///PATH or redis://HOST:PORT/DB")
