"""Compiled regular expressions kept between processes, as ``.pyc`` files keep bytecode.

``score text`` answers one message in a fresh process, and compiling the fraud rules'
expressions (parsing them and laying out their Hangul character classes) took about half
of its time, each time the same. :func:`compile` keeps what CPython's compiler makes of an
expression (the engine's code, its groups) in one file per interpreter and engine version,
and builds the pattern straight from it in later processes.

The file lives in ``$BUNJANG_LAB_CACHE`` (default ``~/.cache/bunjang_lab``); setting it to
an empty string turns the cache off, and so does a folder another user owns or others may
write to (what it holds decides what the rules match). A missing, unreadable, damaged or
unwritable cache only costs the compiling: nothing depends on it.

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

MAX_ENTRIES = 2000  # (the fraud rules hold a few hundred expressions)
# (the patch release too: 3.11.5 changed the compiler's output without a new MAGIC)
_VERSION = f"{sys.implementation.cache_tag}-{'.'.join(map(str, sys.version_info[:3]))}-{_sre.MAGIC}-{_sre.CODESIZE}"
# Each entry kept marshalled on its own: a process reads the file whole but decodes only what it uses.
_entries: dict[str, bytes] | None = None
_new: dict[str, bytes] = {}


def cache_path() -> Path | None:
    """The cache file of this interpreter, or None when the cache is off."""
    folder = os.environ.get("BUNJANG_LAB_CACHE", "~/.cache/bunjang_lab")
    if not folder:
        return None
    try:
        path = Path(folder).expanduser()
        status = path.stat()
    except FileNotFoundError:
        return path / f"regex-{_VERSION}.marshal"  # (made by the first save)
    except (OSError, RuntimeError):  # no home to expand ~ in, or no way to look
        return None
    if status.st_uid != os.getuid() or status.st_mode & 0o022:
        return None
    return path / f"regex-{_VERSION}.marshal"


def compile(source: str) -> re.Pattern:  # noqa: A001  (the name re uses)
    """``re.compile(source)``, from the cache when an earlier process compiled it."""
    kept = _cached().get(source)
    if kept is not None:
        try:
            return _sre.compile(source, *marshal.loads(kept))
        except Exception:  # a damaged entry (any way _sre or marshal refuses it): compiled again below
            pass
    entry = _compiled(source)
    pattern = _sre.compile(source, *entry)
    if _cache_on():
        if not _new:
            atexit.register(save)
        _new[source] = marshal.dumps(entry)
    return pattern


_on: bool | None = None


def _cache_on() -> bool:
    global _on
    if _on is None:
        _on = cache_path() is not None
    return _on


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
    except Exception:  # missing, unreadable, or not what save wrote
        return {}
    return entries if isinstance(entries, dict) else {}


def save() -> None:
    """Add the expressions this process compiled to the cache file (written whole, then
    renamed over the old one, so a reader never sees half of it)."""
    import tempfile  # (only a process that compiled something new writes)

    path = cache_path()
    if path is None or not _new:
        return
    temporary = None
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        entries = _read(path)
        if len(entries) + len(_new) > MAX_ENTRIES:  # (old expressions pile up as the rules change: start over)
            entries = {}
        data = marshal.dumps({**entries, **_new})
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, delete=False) as out:
            temporary = out.name
            out.write(data)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        return
    _new.clear()
