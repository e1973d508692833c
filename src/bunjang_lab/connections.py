"""Service URLs from connection fields (host, port, login, password), as an Airflow Connection holds them.

In a URL's ``user:password@`` part the characters ``@ : / ? #`` and ``%`` have meanings of
their own, so the user and the password are percent-encoded; the readers of these URLs
(:class:`bunjang_lab.serving.resp.Connection`) decode them.

>>> redis_url("cache.internal", 6380, 2, password="p@ss:w/rd")
'redis://:p%40ss%3Aw%2Frd@cache.internal:6380/2'
"""

from __future__ import annotations

from urllib.parse import quote


def redis_url(host: str | None = None, port: int | str | None = None, db: int | str | None = None,
              login: str | None = None, password: str | None = None) -> str:
    """``redis://[login:password@]host:port/db``; missing fields are Redis's defaults
    (127.0.0.1, 6379, database 0), and an IPv6 address is put in brackets.

    >>> redis_url()
    'redis://127.0.0.1:6379/0'
    >>> redis_url("::1", login="app", password="s3cret")
    'redis://app:s3cret@[::1]:6379/0'
    """
    user = quote(login or "", safe="")
    auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@" if user else ""
    host = host or "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"redis://{auth}{host}:{port or 6379}/{db or 0}"
