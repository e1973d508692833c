"""Input and output conventions shared by the serving commands (standard library only).

Every command prints JSON: one object, or one object per line for ``--jsonl`` input. A
batch answers every line: a line that is not valid UTF-8 or JSON, or that fails, prints
``{"line": n, "error": ...}`` in its place and the exit code is :data:`EXIT_PARTIAL`.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Iterator

from bunjang_lab.errors import BunjangError, InvalidInput
from bunjang_lab.serving.inputs import parse_json

EXIT_PARTIAL = 1
"""Exit code of a batch in which some lines failed (each failure is reported in its line)."""


def emit(obj: Any) -> None:
    """Print one JSON object on one line (Korean text stays readable)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def read_input(path: str) -> bytes:
    """The bytes of ``path``, or of stdin for ``-`` (decoded by the caller, line by line)."""
    if path == "-":
        return sys.stdin.buffer.read()
    with open(path, "rb") as stream:
        return stream.read()


def parse_object(data: bytes | str, where: str) -> dict:
    """One JSON object; anything else is an :class:`InvalidInput` naming ``where``."""
    obj = parse_json(data, where)
    if not isinstance(obj, dict):
        raise InvalidInput(f"{where}: expected a JSON object")
    return obj


def read_jsonl(path: str) -> Iterator[tuple[int, dict | InvalidInput]]:
    """(line number, object) for each non-empty line of ``path`` (``-``: stdin), or (line
    number, the error) for a line that is not one valid JSON object, so a batch goes on.
    When the answers go to a file or a pipe, a person at the terminal sees the lines counted."""
    if sys.stdout.isatty():  # the answers themselves show the progress
        return _objects(path)
    from bunjang_lab import progress  # a bar only when stderr is a terminal (tqdm imported only then)

    return progress.bar(_objects(path), "lines", unit="line")


def _objects(path: str) -> Iterator[tuple[int, dict | InvalidInput]]:
    stream = sys.stdin.buffer if path == "-" else open(path, "rb")
    try:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                yield number, parse_object(line, f"{path}:{number}")
            except InvalidInput as exc:
                yield number, exc
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def answer_lines(path: str, answer: Callable[[dict], dict], fatal: type[BaseException] = ()) -> int:
    """Print ``answer(obj)`` for each line of ``path``, or the line's error; errors of type
    ``fatal`` stop the batch (one line on stderr). Returns 0 or :data:`EXIT_PARTIAL`."""
    failed = False
    for number, obj in read_jsonl(path):
        try:
            if isinstance(obj, InvalidInput):
                raise obj
            emit(answer(obj))
        except fatal:
            raise
        except BunjangError as exc:
            emit({"line": number, "error": str(exc)})
            failed = True
    return EXIT_PARTIAL if failed else 0

