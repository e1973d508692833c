"""Local files that readers never see half-written: one way to write, link and swap them.

Every writer goes through a temporary name unique to the process and thread beside the
target, then :func:`os.replace`, which is atomic on POSIX: a reader sees the old content
or the new one, never a mix, and two writers never share a temporary file.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_text(folder / "a.json", '{"n": 1}')
>>> (folder / "a.json").read_text()
'{"n": 1}'
>>> with atomic_path(folder / "b.bin") as tmp:
...     _ = tmp.write_bytes(b"xy")
>>> (folder / "b.bin").read_bytes(), sorted(p.name for p in folder.iterdir())
(b'xy', ['a.json', 'b.bin'])
>>> replace_symlink(folder / "latest", "a.json")
>>> (folder / "latest").read_text()
'{"n": 1}'
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

T = TypeVar("T")


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")


@contextmanager
def atomic_path(path: str | os.PathLike, fsync: bool = False) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; it replaces ``path`` when the
    block ends without an error and is removed otherwise. ``fsync`` flushes it to disk
    first (for files that must survive a power cut, not just a crash of this process)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str, fsync: bool = False) -> None:
    """Replace ``path``'s content with ``text`` (UTF-8) atomically."""
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any, **dumps_options) -> None:
    """Replace ``path`` with ``obj`` as indented JSON (UTF-8, non-ASCII kept) atomically."""
    options = {"ensure_ascii": False, "indent": 2, "default": str, **dumps_options}
    write_text(path, json.dumps(obj, **options) + "\n")


def replace_symlink(link: str | os.PathLike, target: str) -> None:
    """Point ``link`` at ``target`` atomically: a reader follows the old target or the new."""
    link = Path(link)
    tmp = _temporary_name(link)
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)


def replace_folder(target: str | os.PathLike, build: Callable[[Path], T]) -> T:
    """Fill a fresh staging folder with ``build(staging)``, then swap it in for ``target``.

    A crash while building leaves ``target`` as it was; a reader sees the old folder or the
    new one, apart from the instant between two renames when neither is there.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging, retired = _temporary_name(target), target.with_name(f".{target.name}.{os.getpid()}.old")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        result = build(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(retired, ignore_errors=True)
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
    return result


@contextmanager
def exclusive_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block: the
    writers of one folder take turns, across processes."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
