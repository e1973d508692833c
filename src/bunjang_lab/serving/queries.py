"""Cached lookups asked with a dict of parameters: a ``--jsonl`` line, the options of a
``score`` command, an HTTP query string. Each checks its parameters at the edge
(:mod:`bunjang_lab.serving.inputs`) and answers through :mod:`bunjang_lab.serving.lookup`,
so the CLI and the HTTP service give the same answers and the same errors.

>>> integer("7", "k"), integer(None, "k", 20)
(7, 20)
>>> integer("many", "k")
Traceback (most recent call last):
...
bunjang_lab.errors.InvalidInput: k must be an integer, got 'many'
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from bunjang_lab.errors import InvalidInput
from bunjang_lab.serving import lookup
from bunjang_lab.serving.cache import Snapshot
from bunjang_lab.serving.inputs import identifier, short_text

MAX_K = 1000
"""Most items one answer may list."""


def integer(value: Any, name: str, default: int | None = None) -> int | None:
    """``value`` as an int (``default`` when absent); anything else is a one-line error."""
    if value is None or value == "":
        return default
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise InvalidInput(f"{name} must be an integer, got {value!r}")
    try:
        return int(short_text(value, name, 20) if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(f"{name} must be an integer, got {str(value)[:40]!r}") from None


def _k(params: Mapping, default: int) -> int:
    k = integer(params.get("k"), "k", default)
    if k > MAX_K:
        raise InvalidInput(f"k must be at most {MAX_K}, got {k}")
    return k


def _required_id(params: Mapping, name: str) -> str:
    if params.get(name) in (None, ""):
        raise InvalidInput(f"{name} is required")
    return identifier(params[name], name)


def _optional_text(params: Mapping, name: str) -> str | None:
    value = params.get(name)
    return None if value in (None, "") else short_text(value, name)


def flag(value: Any, name: str) -> bool:
    """A yes/no parameter: JSON true/false, or ``1``/``0``, ``true``/``false``, ``yes``/``no`` as text.

    >>> flag("1", "explain"), flag(None, "explain"), flag(True, "explain")
    (True, False, True)
    """
    if value is None or value == "" or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no"):
        return False
    raise InvalidInput(f"{name} must be true or false, got {str(value)[:40]!r}")


def _explained(snap: Snapshot, params: Mapping, answer: dict) -> dict:
    """With ``explain``, each item also carries its title, category, price and listing age."""
    return lookup.explained(snap, answer) if flag(params.get("explain"), "explain") else answer


def feed_of(params: Mapping) -> tuple[str, int]:
    """``(user_id, k)`` of a :func:`recommend` question, checked."""
    return _required_id(params, "user_id"), _k(params, 20)


def recommend(snap: Snapshot, params: Mapping) -> dict:
    """``user_id`` and optionally ``k``, ``gender``, ``birth_year``, ``explain``."""
    user_id, k = feed_of(params)
    return _explained(snap, params, feed(snap, params, user_id, k))


def feed(snap: Snapshot, params: Mapping, user_id: str, k: int) -> dict:
    """:func:`recommend` without ``explain``, for the ``(user_id, k)`` :func:`feed_of` found in ``params``."""
    return lookup.recommend(snap, user_id, k=k, gender=_optional_text(params, "gender"),
                            birth_year=integer(params.get("birth_year"), "birth_year"))


def popular(snap: Snapshot, params: Mapping) -> dict:
    """Optionally ``gender``, ``age_band``, ``k``, ``explain``."""
    return _explained(snap, params, lookup.popular(snap, gender=_optional_text(params, "gender"),
                                                   age_band=_optional_text(params, "age_band"), k=_k(params, 20)))


def related(snap: Snapshot, params: Mapping) -> dict:
    """``item_id`` and optionally ``k``, ``explain``."""
    return _explained(snap, params, lookup.related(snap, _required_id(params, "item_id"), k=_k(params, lookup.RELATED_K)))


def suggest(snap: Snapshot, params: Mapping) -> dict:
    """``prefix`` and optionally ``user_id``, ``k``."""
    if params.get("prefix") is None:
        raise InvalidInput("prefix is required")
    user_id = params.get("user_id")
    return lookup.suggest(snap, short_text(params["prefix"], "prefix"),
                          user_id=None if user_id in (None, "") else identifier(user_id, "user_id"), k=_k(params, 10))


QUERIES: dict[str, Callable[[Snapshot, Mapping], dict]] = {
    "recommend": recommend, "popular": popular, "related": related, "suggest": suggest}


def text_request(obj: Any) -> tuple[Any, str]:
    """(id, text) of a text to score: ``{"text", "id"?}`` with a string text."""
    if not isinstance(obj, Mapping) or not isinstance(obj.get("text"), str):
        raise InvalidInput("each line needs a string field 'text'")
    ident = obj.get("id")
    if ident is not None and not isinstance(ident, (str, int)) or isinstance(ident, bool):
        raise InvalidInput("id must be a string or an integer")
    return ident, obj["text"]
