"""Known fraud phone and account numbers, read from a text file and re-read when it changes.

File format: one number per line (separators ignored), an optional kind ``phone`` or
``account``, ``#`` comments. The default file ships in ``bunjang_lab/resources``;
``BUNJANG_FRAUD_BLOCKLIST`` points at another.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "list.txt"
>>> _ = path.write_text("010-9999-1111  # reported twice\\n110-222-333333 account\\n")
>>> blocklist = Blocklist(path)
>>> blocklist.kind("01099991111"), blocklist.kind("110222333333"), blocklist.kind("123")
('phone', 'account', None)
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "resources" / "fraud_blocklist.txt"
ENV_VAR = "BUNJANG_FRAUD_BLOCKLIST"
CHECK_EVERY_SECONDS = 1.0  # how often a long-running scorer looks at the file's mtime

_NOT_DIGITS = re.compile(r"\D+")
_PHONE_LIKE = re.compile(r"0\d{8,10}|82\d{9,10}")


def default_path() -> Path:
    return Path(os.environ.get(ENV_VAR) or DEFAULT_PATH)


class Blocklist:
    """Numbers and their kind; reloads itself when the file's modification time changes."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_path()
        self._numbers: dict[str, str] = {}
        self._mtime: float | None = None
        self._checked = float("-inf")
        self.reload()

    def reload(self) -> None:
        """Read the file now (a missing file is an empty list: the rules still run)."""
        try:
            mtime = self.path.stat().st_mtime
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            mtime, lines = None, []
        numbers = {}
        for line in lines:
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            kind = fields[-1].lower() if fields[-1].lower() in ("phone", "account") else None
            digits = _NOT_DIGITS.sub("", " ".join(fields[:-1] if kind else fields))
            if digits:
                numbers[digits] = kind or ("phone" if _PHONE_LIKE.fullmatch(digits) else "account")
        self._numbers, self._mtime = numbers, mtime
        self._checked = time.monotonic()

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY_SECONDS:
            return
        self._checked = now
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        if mtime != self._mtime:
            self.reload()

    def kind(self, digits: str) -> str | None:
        """``"phone"``/``"account"`` if ``digits`` is listed, else None."""
        self._refresh()
        return self._numbers.get(digits)

    def __len__(self) -> int:
        return len(self._numbers)


_shared: Blocklist | None = None
_shared_setting: str | None = None


def shared() -> Blocklist:
    """The process-wide blocklist at :func:`default_path` (re-created if that path changes)."""
    global _shared, _shared_setting
    setting = os.environ.get(ENV_VAR)
    if _shared is None or setting != _shared_setting:
        _shared, _shared_setting = Blocklist(), setting
    return _shared
