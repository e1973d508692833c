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


class Steps:
    """A long call's named steps as one bar on stderr when :func:`attached`, silent otherwise.

    Called with one line per step done (the ``progress(line)`` callbacks of training and
    evaluation), it counts the step and shows the line beside the count; used as a context
    manager so the bar is on screen from the start and cleared at the end.

    >>> with Steps("train", total=2) as done:  # stderr is not a terminal here: nothing drawn
    ...     done("lake read")
    ...     done("model saved")
    """

    def __init__(self, desc: str, total: int | None = None, unit: str = "step"):
        self.desc, self.total, self.unit = desc, total, unit
        self._bar = None

    def __enter__(self) -> "Steps":
        if attached():
            from tqdm import tqdm

            self._bar = tqdm(desc=self.desc, total=self.total, unit=self.unit, file=sys.stderr, leave=False, dynamic_ncols=True)
        return self

    def __call__(self, line: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(line, refresh=False)
            self._bar.update(1)
            self._bar.refresh()  # steps are few and slow: each one is shown, whatever tqdm's rate limit

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
