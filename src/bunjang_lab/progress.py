"""Progress for a person at a terminal, silence everywhere else (Airflow logs, pipes, CI).

A bar is drawn on stderr only when stderr is a terminal, so the same code path shows a bar
in ``make demo`` and writes nothing into a task log or a captured test output.

>>> list(bar(range(3), "counting"))  # stderr is not a terminal here: no bar, same items
[0, 1, 2]
"""

from __future__ import annotations

import sys
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def attached() -> bool:
    """Whether stderr is a terminal a person watches."""
    return bool(getattr(sys.stderr, "isatty", None) and sys.stderr.isatty())


def bar(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """``items``, with a tqdm bar on stderr when :func:`attached` (tqdm imported only then)."""
    if not attached():
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)
