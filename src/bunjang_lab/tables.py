"""Aligned plain-text tables: what commands print for people (``--json`` is for machines).

Standard library only, so the serving commands can use it too. Numbers are right-aligned
and thousands-separated; everything else is left-aligned; a missing value prints ``-``.

>>> print(text_table([{"kind": "home", "keys": 1500, "bytes": 1234567}, {"kind": "pop", "keys": 19}]))
kind   keys      bytes
home  1,500  1,234,567
pop      19          -
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence


def cell(value: Any) -> str:
    """How one value prints: ``1,234``, ``0.1235`` (4 decimals), ``yes``/``no``, ``-`` for None.

    >>> [cell(v) for v in (1234, 0.123456, 2.5, True, None, "text")]
    ['1,234', '0.1235', '2.5000', 'yes', '-', 'text']
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def text_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """``rows`` (dicts) as an aligned table with a header; ``columns`` default to the keys of
    every row, in order of first appearance."""
    if columns is None:
        columns = list(dict.fromkeys(name for row in rows for name in row))
    cells = [[cell(row.get(name)) for name in columns] for row in rows]
    numeric = [all(isinstance(row.get(name), (int, float)) and not isinstance(row.get(name), bool)
                   for row in rows if row.get(name) is not None) for name in columns]
    widths = [max([len(name)] + [len(line[i]) for line in cells]) for i, name in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if right else v.ljust(w) for v, w, right in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(list(columns))] + [line(values) for values in cells])
