"""Progress for a person at a terminal, silence everywhere else (Airflow logs, pipes, CI).

A bar is drawn on stderr only when stderr is a terminal, so the same code path shows a bar
in ``make demo`` and writes nothing into a task log or a captured test output.

>>> list(bar(range(3), "counting"))  # stderr is not a terminal here: no bar, same items
[0, 1, 2]
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
TICK_SECONDS = 1.0
EACH_STEP_SHOWN = 100  # a bar of more steps (ingest's files) is drawn at tqdm's rate: a redraw costs ~0.2 ms of CPU
# A ticker never draws while the process forks (xlearn's fit runs in a forked child): a child
# born while the ticker held stderr's lock would hang on its first write.
_drawing = threading.Lock()
os.register_at_fork(before=_drawing.acquire, after_in_parent=_drawing.release, after_in_child=_drawing.release)


def attached() -> bool:
    """Whether stderr is a terminal a person watches."""
    return bool(getattr(sys.stderr, "isatty", None) and sys.stderr.isatty())


def bar(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """``items``, with a tqdm bar on stderr when :func:`attached` (tqdm imported only then)."""
    if not attached():
        yield from items
        return
    from tqdm import tqdm

    with tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True) as shown:
        ticker = _Ticker(shown)
        try:
            yield from shown
        finally:
            ticker.stop()


class _Ticker:
    """Redraws a bar every :data:`TICK_SECONDS` from a thread, so its elapsed time keeps moving
    through a long item or step (a shard, the lake write, the FM fit) and the screen never looks stuck."""

    def __init__(self, shown) -> None:
        self._shown, self._stopped = shown, threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress-ticker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(TICK_SECONDS):
            with _drawing:
                self._shown.refresh()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


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
        self._bar = self._ticker = None

    def __enter__(self) -> "Steps":
        if attached():
            from tqdm import tqdm

            self._bar = tqdm(desc=self.desc, total=self.total, unit=self.unit, file=sys.stderr, leave=False, dynamic_ncols=True)
            self._ticker = _Ticker(self._bar)
        return self

    def __call__(self, line: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(line, refresh=False)
            self._bar.update(1)
            if self.total is not None and self.total <= EACH_STEP_SHOWN:
                self._bar.refresh()  # few slow steps: each one is shown, whatever tqdm's rate limit

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._ticker.stop()
            self._bar.close()
            self._bar = self._ticker = None
