"""Input and output conventions shared by the serving commands (standard library only).

Every command prints JSON: one object, or one object per line for ``--jsonl`` input.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Iterator

from bunjang_lab.cli import UserError


def emit(obj: Any) -> None:
    """Print one JSON object on one line (Korean text stays readable)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def open_input(path: str):
    """A text stream for ``path``, or stdin for ``-``."""
    return sys.stdin if path == "-" else open(path, encoding="utf-8")


def parse_jsonl(lines: Iterable[str], path: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-empty line; a bad line is a one-line error."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise UserError(f"{path}:{number}: expected a JSON object")
        yield number, obj


def read_jsonl(path: str) -> Iterator[tuple[int, dict]]:
    """:func:`parse_jsonl` over the file at ``path`` (``-`` for stdin)."""
    stream = open_input(path)
    try:
        yield from parse_jsonl(stream, path)
    finally:
        if stream is not sys.stdin:
            stream.close()
