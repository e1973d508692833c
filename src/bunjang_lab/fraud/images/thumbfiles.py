"""Verification thumbnails left on disk and read on demand, so an index of many pictures
keeps only its hashes in memory (3 KB a thumbnail; a picture has one to several).

:class:`MappedThumbnails` is one file of thumbnails stored back to back (the data of a
``.npy`` segment of the image index), memory-mapped and read only for a query's
candidates, by an array of numbers like the ``(n, SIDE, SIDE, 3)`` array it stands for.

>>> import tempfile
>>> from pathlib import Path
>>> thumbs = np.arange(2 * THUMB_BYTES, dtype=np.uint64).astype(np.uint8).reshape(2, SIDE, SIDE, 3)
>>> path = Path(tempfile.mkdtemp()) / "t.npy"
>>> np.save(path, thumbs)
>>> mapped = MappedThumbnails.of_npy(path)
>>> len(mapped), bool((mapped[[1, 0]] == thumbs[[1, 0]]).all())
(2, True)
"""

from __future__ import annotations

import mmap

import numpy as np

from bunjang_lab.errors import InvalidInput
from bunjang_lab.fraud.images.verify import SIDE

THUMB_BYTES = SIDE * SIDE * 3
THUMB_SHAPE = (SIDE, SIDE, 3)
#: The largest page-cache folio a fault maps (a huge page), what a read is unmapped by.
FOLIO = 2 << 20


class MappedThumbnails:
    """``count`` thumbnails (``SIDE x SIDE x 3`` uint8) back to back in the file at
    ``path`` from byte ``offset`` on; mapped at the first read (or :meth:`mapped`)."""

    def __init__(self, path, count: int, offset: int = 0):
        self.path, self.count, self.offset = path, count, offset
        self._mapping: mmap.mmap | None = None
        self._array: np.ndarray | None = None

    @classmethod
    def of_npy(cls, path) -> "MappedThumbnails":
        """The thumbnails array a ``.npy`` file holds (saved by ``np.save``)."""
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(handle)
            offset = handle.tell()
        if dtype != np.uint8 or fortran or tuple(shape[1:]) != THUMB_SHAPE:
            raise InvalidInput(f"{path}: not an array of {SIDE}x{SIDE} RGB thumbnails ({shape}, {dtype})")
        return cls(path, shape[0], offset)

    def __len__(self) -> int:
        return self.count

    def mapped(self) -> "MappedThumbnails":
        """Map the file now (reads then work after the file is deleted); returns self."""
        if self._array is None:
            with open(self.path, "rb") as handle:
                self._mapping = mmap.mmap(handle.fileno(), self.offset + self.count * THUMB_BYTES, prot=mmap.PROT_READ)
            # no read-ahead: a fault on a file not in memory read up to 2 MB around the 3 KB
            # wanted, and the CPU time of the faults was the tail of a query (docs/benchmarks.md)
            self._mapping.madvise(mmap.MADV_RANDOM)
            self._array = np.frombuffer(self._mapping, dtype=np.uint8, count=self.count * THUMB_BYTES,
                                        offset=self.offset).reshape(self.count, *THUMB_SHAPE)
        return self

    def copy_to(self, handle, chunk: int = 64 << 20) -> None:
        """Write the thumbnails' bytes to ``handle``, ``chunk`` bytes at a time (read, not
        mapped: a merge copies whole files, which would stay resident)."""
        with open(self.path, "rb") as source:
            source.seek(self.offset)
            left = self.count * THUMB_BYTES
            while left:
                data = source.read(min(chunk, left))
                if not data:
                    raise InvalidInput(f"{self.path}: {left} bytes of thumbnails missing")
                handle.write(data)
                left -= len(data)

    def __getitem__(self, numbers) -> np.ndarray:
        return self.read(numbers)

    def read(self, numbers) -> np.ndarray:
        """The thumbnails ``numbers`` (within this file), copied out of the mapping."""
        numbers = np.asarray(numbers, dtype=np.int64).reshape(-1)
        if not len(numbers):
            return np.empty((0, *THUMB_SHAPE), dtype=np.uint8)
        out = self.mapped()._array[numbers]
        # Unmap what was read: the kernel maps a whole page-cache folio (up to 2 MB) per
        # fault, so 3,000 random thumbnails kept 780 MB resident (measured). Only the 2 MB
        # windows read: advising the whole mapping walks all its page tables (GBs at scale).
        for start in np.unique(self.offset + numbers * THUMB_BYTES).tolist():
            low, high = start // FOLIO * FOLIO, -(-(start + THUMB_BYTES) // FOLIO) * FOLIO
            self._mapping.madvise(mmap.MADV_DONTNEED, low, min(high, len(self._mapping)) - low)
        return out
