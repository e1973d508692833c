"""The domain's exceptions: what a library function raises when it cannot do its job.

Every one says in a single line what went wrong and how to fix it. Library code (events,
the lake, ranking, products, fraud, serving) raises these and nothing from the command
layer; the command dispatcher (:mod:`bunjang_lab.cli`) turns them into one line on stderr
and exit code 2, an Airflow task into a failed try with that message, and the HTTP service
into an error response.

>>> try:
...     raise MissingInput("no events in var/lake")
... except BunjangError as exc:
...     print(exc)
no events in var/lake
"""

from __future__ import annotations


class BunjangError(Exception):
    """Base of every error the project raises on purpose."""


class InvalidInput(BunjangError, ValueError):
    """A value handed in is malformed or out of range (an argument, an event, a file's content)."""


class MissingInput(BunjangError, LookupError):
    """Something the call needs does not exist: a lake, events in a window, a model, a run folder."""


class NotEnoughData(BunjangError):
    """The input exists but holds too little to fit or evaluate a model."""


class ModelError(BunjangError, ValueError):
    """A saved model is unreadable, incomplete or was made by an incompatible version."""
