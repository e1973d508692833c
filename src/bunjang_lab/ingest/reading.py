"""Input files as regions of whole lines: a plain file mapped into memory, a ``.gz`` one (or one
that cannot be mapped) read as a stream; a BOM dropped, an over-long line cut to its head.
Also the lines of a region, and which of them the fast path may try.
"""

from __future__ import annotations

import gzip
import mmap
import os
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

import numpy as np

from bunjang_lab.errors import InvalidInput
from bunjang_lab.events import MAX_LINE_BYTES
from bunjang_lab.ingest.context import RAW_KEEP

BOM = b"\xef\xbb\xbf"
READ_BLOCK = 8 << 20  # bytes read from a file at a time (one region of lines)
SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".ndjson", ".ndjson.gz")


class UnreadableInput(InvalidInput):
    """An input file that cannot be read to its end (e.g. a truncated .gz); nothing was written."""


def expand_inputs(paths: Sequence[str | os.PathLike]) -> list[Path]:
    """The files to read: each path as given, or the JSON Lines files inside a folder (sorted)."""
    files = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(SUFFIXES))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", str(path))
    return files


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")


def _regions(stream: BinaryIO) -> Iterator[tuple[str, memoryview | bytes]]:
    """("lines", complete lines) or ("long", the head of one too-long line), in input order.

    A line longer than the limit that spans reads is skipped while reading (only its
    head is kept), so memory stays bounded whatever the input. Lines are numbered when
    the regions' results are merged, so reading never scans the bytes.
    """
    carry, skipping, first = b"", None, True
    while True:
        # Each read lands after the carried partial line in a fresh buffer, so a region is a
        # view of it rather than a copy.
        buffer = bytearray(len(carry) + READ_BLOCK)
        buffer[:len(carry)] = carry
        end = len(carry) + (stream.readinto(memoryview(buffer)[len(carry):]) or 0)
        at_end = end == len(carry)
        start = 0
        if first:
            start, first = (len(BOM) if buffer.startswith(BOM) else 0), False
        if skipping is not None:
            newline = buffer.find(b"\n", start, end)
            if not at_end and newline < 0:
                continue
            yield "long", skipping
            skipping = None
            if at_end:
                return
            start = newline + 1
        if at_end:
            if end > start:
                yield "lines", bytes(buffer[start:end]) + b"\n"
            return
        cut = buffer.rfind(b"\n", start, end) + 1 or start
        if cut > start:
            yield "lines", memoryview(buffer)[start:cut]
        carry = bytes(buffer[cut:end])
        if len(carry) > MAX_LINE_BYTES + 1:
            skipping, carry = carry[:RAW_KEEP], b""


def _mapped_regions(mapped: mmap.mmap) -> Iterator[tuple[str, memoryview | bytes]]:
    """What :func:`_regions` gives, for a file mapped into memory: regions are views of the
    page cache, so nothing is copied or zero-filled."""
    size, view = len(mapped), memoryview(mapped)
    mapped.madvise(mmap.MADV_SEQUENTIAL)
    start = len(BOM) if mapped[:len(BOM)] == BOM else 0
    ended = mapped.rfind(b"\n", start) + 1 or start  # every line before this ends with a newline
    while start < ended:
        cut = mapped.rfind(b"\n", start, min(start + READ_BLOCK, ended)) + 1
        if cut == 0:  # no line ends within a region: the line runs on
            cut = mapped.find(b"\n", start) + 1
            if cut - 1 - start > MAX_LINE_BYTES + 1:
                yield "long", mapped[start:start + RAW_KEEP]
                start = cut
                continue
        yield "lines", view[start:cut]
        start = cut
    if ended < size:  # the last line has no newline
        tail_long = size - ended > MAX_LINE_BYTES + 1
        yield ("long", mapped[ended:ended + RAW_KEEP]) if tail_long else ("lines", mapped[ended:] + b"\n")


def _file_regions(stream: BinaryIO) -> Iterator[tuple[str, memoryview | bytes]]:
    """A plain file's regions from a memory map; a compressed or empty file's, or one on a
    filesystem that cannot map it, from the stream."""
    if not isinstance(stream, gzip.GzipFile):
        try:
            return _mapped_regions(mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ))
        except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
            pass
    return _regions(stream)


class _Lines:
    """Line boundaries of a region, and which lines look like one plain JSON object each."""

    def __init__(self, data: memoryview | bytes):
        raw = np.frombuffer(data, dtype=np.uint8)
        self.data = data
        self.ends = np.flatnonzero(raw == 0x0A)  # the region ends with a newline
        self.starts = np.concatenate([[0], self.ends[:-1] + 1])
        length = self.ends - self.starts
        last = raw[self.ends - 1]
        closes = (last == 0x7D) | ((last == 0x0D) & (raw[np.maximum(self.ends - 2, 0)] == 0x7D))
        # Blank lines, BOMs, stray whitespace and over-long lines all fail this and take the exact path.
        self.regular = (length >= 2) & (length <= MAX_LINE_BYTES) & (raw[self.starts] == 0x7B) & closes

    def join(self, index: np.ndarray) -> memoryview | bytes:
        """The bytes of the chosen lines (ascending indexes), newline-terminated; no copy for one run."""
        breaks = np.flatnonzero(np.diff(index) != 1)
        firsts, lasts = np.concatenate([[0], breaks + 1]), np.concatenate([breaks, [len(index) - 1]])
        view = memoryview(self.data)
        runs = [view[self.starts[index[a]]:self.ends[index[b]] + 1] for a, b in zip(firsts, lasts)]
        return runs[0] if len(runs) == 1 else b"".join(runs)

    def line(self, i: int) -> bytes:
        return bytes(self.data[self.starts[i]:self.ends[i]])
