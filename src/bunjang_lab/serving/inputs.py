"""What serving accepts at its edge: the HTTP service and the ``score`` commands check the
same way (standard library only).

Ids are strings (a JSON integer is read as its decimal text, as the event contract does)
of at most the event contract's ``MAX_EVENT_ID_CHARS`` characters; texts are valid UTF-8 (no lone surrogate,
which ``json`` and ``sys.argv`` both let through) of bounded length; JSON is UTF-8,
without ``NaN``/``Infinity``, nested at most :data:`MAX_DEPTH` deep. Every failure is an
:class:`~bunjang_lab.errors.InvalidInput` of one line, never a traceback.

>>> identifier(42, "user_id"), identifier("u1", "user_id")
('42', 'u1')
>>> identifier(["u1"], "item_id")
Traceback (most recent call last):
...
bunjang_lab.errors.InvalidInput: item_id must be a string id, got a list
>>> parse_json(b'{"type": "click", "user_id": "\\\\ud800"}', "body")
Traceback (most recent call last):
...
bunjang_lab.errors.InvalidInput: body: a string holds a lone surrogate (not valid UTF-8)
>>> parse_json("[" * 50 + "]" * 50, "line 3")
Traceback (most recent call last):
...
bunjang_lab.errors.InvalidInput: line 3: JSON nested deeper than 16 levels
"""

from __future__ import annotations

import json
from typing import Any

from bunjang_lab.errors import InvalidInput
from bunjang_lab.event_values import MAX_EVENT_ID_CHARS

MAX_TEXT_CHARS = 200
"""Longest short text: a typed prefix, a search query, a category, a status."""
MAX_DEPTH = 16
"""Deepest JSON nesting accepted (an event is two levels deep)."""


def _describe(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean", float: "a number"}.get(type(value), type(value).__name__)


def utf8(value: str, name: str) -> str:
    """``value`` when it encodes as UTF-8; a lone surrogate (from JSON or from bytes that
    were not UTF-8 on the command line) is an error naming the field."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{name} is not valid UTF-8") from None
    return value


def identifier(value: Any, name: str) -> str:
    """An id as text: a non-empty string or a non-negative JSON integer, bounded in length."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string id, got {_describe(value)}")
    if not value.strip():
        raise InvalidInput(f"{name} is empty")
    if len(value) > MAX_EVENT_ID_CHARS:
        raise InvalidInput(f"{name} is {len(value)} characters long, over the {MAX_EVENT_ID_CHARS}-character limit")
    return utf8(value, name)


def short_text(value: Any, name: str, limit: int = MAX_TEXT_CHARS) -> str:
    """A string of at most ``limit`` characters that encodes as UTF-8."""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string, got {_describe(value)}")
    if len(value) > limit:
        raise InvalidInput(f"{name} is {len(value)} characters long, over the {limit}-character limit")
    return utf8(value, name)


def _no_constant(name: str):
    raise InvalidInput(f"{name} is not a JSON number")


def _check_tree(value: Any, where: str) -> None:
    """Depth and UTF-8 of every string (keys too), without recursion."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, (dict, list)):
            if depth > MAX_DEPTH:
                raise InvalidInput(f"{where}: JSON nested deeper than {MAX_DEPTH} levels")
            children = list(node.items()) if isinstance(node, dict) else [(None, v) for v in node]
            for key, child in children:
                if key is not None:
                    pending.append((key, depth))
                pending.append((child, depth + 1))
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInput(f"{where}: a string holds a lone surrogate (not valid UTF-8)") from None


def parse_json(data: bytes | str, where: str) -> Any:
    """The JSON value of ``data``; anything malformed is one :class:`InvalidInput` naming ``where``."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{where}: not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidInput(f"{where}: JSON nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{where}: invalid JSON ({exc.msg} at character {exc.pos})") from None
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise InvalidInput(f"{where}: invalid JSON ({exc})") from None
    _check_tree(value, where)
    return value
