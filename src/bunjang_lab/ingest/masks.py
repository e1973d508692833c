"""Arrow's boolean results as numpy masks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _mask(condition) -> np.ndarray:
    """A boolean Arrow result without nulls as a numpy mask, unpacked from its bits (Arrow's
    own conversion goes value by value)."""
    chunks = [c for c in (condition.chunks if isinstance(condition, pa.ChunkedArray) else [condition]) if len(c)]
    bits = [np.unpackbits(np.frombuffer(c.buffers()[1], np.uint8), count=c.offset + len(c), bitorder="little")[c.offset:]
            for c in chunks]
    return (bits[0] if len(bits) == 1 else np.concatenate(bits or [np.zeros(0, np.uint8)])).view(bool)


def _present(values) -> np.ndarray:
    return _mask(pc.is_valid(values))


def _true(condition) -> np.ndarray:
    """A numpy mask of a boolean Arrow result, null counting as True (the value is absent)."""
    return _mask(pc.fill_null(condition, True))
