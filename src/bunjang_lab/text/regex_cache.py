"""Compiled regular expressions kept between processes, as ``.pyc`` files keep bytecode.

``score text`` answers one message in a fresh process, and compiling the fraud rules'
expressions (parsing them and laying out their Hangul character classes) took about half
of its time, each time the same. :func:`compile` keeps what CPython's compiler makes of an
expression (the engine's code, its groups) in one file per interpreter and engine version,
and builds the pattern straight from it in later processes.

The file lives in ``$BUNJANG_LAB_CACHE`` (default ``~/.cache/bunjang_lab``); setting it to
an empty string turns the cache off. A missing, unreadable or unwritable cache only costs
the compiling: nothing depends on it.

>>> compile(r"카톡[ :]?([a-z0-9_]{3,20})").search("카톡 kim_77 추가").group(1)
'kim_77'
"""

from __future__ import annotations

import atexit
import marshal
import os
import re
import sys
from pathlib import Path

import _sre
from re import _compiler, _parser

# What CPython's compiler makes of an expression: (flags, code, groups, groupindex, indexgroup),
# the arguments of _sre.compile after the pattern itself.
Entry = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]

MAX_ENTRIES = 4000  # (the fraud rules hold a few hundred expressions)
_VERSION = f"{sys.implementation.cache_tag}-{_sre.MAGIC}-{_sre.CODESIZE}"
# Each entry kept marshalled on its own: a process reads the file whole but decodes only what it uses.
_entries: dict[str, bytes] | None = None
_new: dict[str, bytes] = {}


def cache_path() -> Path | None:
    """The cache file of this interpreter, or None when the cache is off."""
    folder = os.environ.get("BUNJANG_LAB_CACHE", "~/.cache/bunjang_lab")
    return Path(folder).expanduser() / f"regex-{_VERSION}.marshal" if folder else None


def compile(source: str) -> re.Pattern:  # noqa: A001  (the name re uses)
    """``re.compile(source)``, from the cache when an earlier process compiled it."""
    kept = _cached().get(source)
    if kept is not None:
        try:
            return _sre.compile(source, *marshal.loads(kept))
        except (TypeError, ValueError, EOFError, RuntimeError):  # a damaged entry: compiled again below
            pass
    entry = _compiled(source)
    pattern = _sre.compile(source, *entry)
    if not _new and cache_path() is not None:
        atexit.register(save)
    _new[source] = marshal.dumps(entry)
    return pattern


def _compiled(source: str) -> Entry:
    """As ``re._compiler.compile`` makes it (CPython 3.11), before the engine gets it."""
    parsed = _parser.parse(source, 0)
    code = list(map(int, _compiler._code(parsed, 0)))  # (its opcodes are int subclasses, which marshal refuses)
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return parsed.state.flags, code, parsed.state.groups - 1, groupindex, tuple(indexgroup)


def _cached() -> dict[str, bytes]:
    global _entries
    if _entries is None:
        _entries = _read(cache_path())
    return _entries


def _read(path: Path | None) -> dict[str, bytes]:
    if path is None:
        return {}
    try:
        entries = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return entries if isinstance(entries, dict) else {}


def save() -> None:
    """Add the expressions this process compiled to the cache file (written whole, then
    renamed over the old one, so a reader never sees half of it)."""
    import tempfile  # (only a process that compiled something new writes)

    path = cache_path()
    if path is None or not _new:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = _read(path)
        if len(entries) + len(_new) > MAX_ENTRIES:  # expressions built differently by each process: start over
            entries = {}
        data = marshal.dumps({**entries, **_new})
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, delete=False) as out:
            try:
                out.write(data)
            except OSError:
                os.unlink(out.name)
                raise
        os.replace(out.name, path)
    except OSError:
        return
    _new.clear()
