"""Which ``ts`` strings are RFC 3339 date-times with an offset (:data:`bunjang_lab.events.TS_PATTERN`),
checked as a matrix of bytes when they share one width."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bunjang_lab.dedup import string_buffers
from bunjang_lab.events import TS_PATTERN

_HEAD_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]  # "YYYY-MM-DDThh:mm:ss"
_HEAD_MARKS = [4, 7, 13, 16]
_HEAD_MARK_CHARS = np.frombuffer(b"--::", dtype=np.uint8)[:, None]


def _below(chars: np.ndarray, digit: int) -> np.ndarray:
    """Per column of a (position, row) byte matrix: all ASCII digits below ``digit``? (Bytes
    below "0" wrap round to large numbers.)"""
    return ((chars - np.uint8(ord("0"))) < digit).all(axis=0)


def _rfc3339(values: pa.Array) -> pa.Array:
    """Which strings match TS_PATTERN.

    Producers write one time format, so a region's times usually share one width: then
    they are a matrix of bytes, checked a few character positions at a time (faster than
    the regular expression, which decides every other case).
    """
    offsets, text = string_buffers(values)
    width = int(offsets[1] - offsets[0]) if len(values) else 0
    if values.null_count or not 20 <= width <= 35 or not (np.diff(offsets) == width).all():
        return pc.match_substring_regex(values, TS_PATTERN)
    # One row per character position, so every check below runs along contiguous memory.
    at = np.ascontiguousarray(text[offsets[0]:offsets[-1]].reshape(len(values), width).T)
    head = (_below(at[_HEAD_DIGITS], 10) & (at[_HEAD_MARKS] == _HEAD_MARK_CHARS).all(axis=0)
            & (((at[10] | 0x20) == ord("t")) | (at[10] == ord(" "))))

    def fraction_ok(zone: int) -> np.ndarray | bool:  # nothing, or "." and 1 to 9 digits, before a zone this long
        digits = width - 20 - zone
        if digits == -1:
            return True
        return 1 <= digits <= 9 and (at[19] == ord(".")) & _below(at[20:20 + digits], 10)

    zone = at[width - 6:]  # "+hh:mm"; only the last character counts for "Z"
    zulu = ((at[-1] | 0x20) == ord("z")) & fraction_ok(1)
    hours = (_below(zone[1:2], 2) & _below(zone[2:3], 10)) | ((zone[1] == ord("2")) & _below(zone[2:3], 4))
    offset = (fraction_ok(6) & ((zone[0] == ord("+")) | (zone[0] == ord("-"))) & hours & (zone[3] == ord(":"))
              & _below(zone[4:5], 6) & _below(zone[5:6], 10))
    return pa.array(head & (zulu | offset))
