"""Service URLs from Airflow Connection fields: a password may hold any character."""

from __future__ import annotations

import pytest

from bunjang_lab.connections import redis_url
from bunjang_lab.serving.resp import Connection


@pytest.mark.parametrize("password", ["p@ss:word", "a/b?c#d%e", "with space", "비밀:번호@1"])
def test_a_password_with_url_characters_reaches_redis_unchanged(password):
    url = redis_url("cache.internal", 6380, "2", login="app@team", password=password)

    parsed = Connection(url)  # parses only; connects on first use
    assert (parsed.host, parsed.port, parsed.db) == ("cache.internal", 6380, 2)
    assert (parsed.username, parsed.password) == ("app@team", password)


def test_without_a_login_the_password_alone_is_sent():
    parsed = Connection(redis_url("cache.internal", password="p@ss:word"))
    assert (parsed.username, parsed.password) == (None, "p@ss:word")


def test_missing_fields_are_the_redis_defaults():
    assert redis_url() == "redis://127.0.0.1:6379/0"
    assert redis_url("cache.internal", None, None, None, None) == "redis://cache.internal:6379/0"
