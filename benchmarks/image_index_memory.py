"""Resident memory per picture of the image index ``fraud_scan`` and ``score image`` open.

    .venv/bin/python -m bunjang_lab images index data/sample --index /tmp/sample-index   # once
    .venv/bin/python benchmarks/image_index_memory.py /tmp/sample-index

Opens the :class:`~bunjang_lab.fraud.images.index.ImageIndex` in the folder, builds its
hash tables (the first query does), then matches ``--queries`` of its own pictures with
:func:`~bunjang_lab.fraud.images.matching.find_matches` (reading their candidates'
thumbnails); prints the process's resident memory (RSS) per stored picture after opening
and after matching, minus the RSS before (imports excluded), and the bytes of the arrays it
holds per picture. Run it with ``PYTHONPATH=<an older src>`` for a same-machine baseline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bunjang_lab.fraud.images.hashing import hash_image
from bunjang_lab.fraud.images.index import ImageIndex
from bunjang_lab.fraud.images.loading import open_image
from bunjang_lab.fraud.images.matching import find_matches


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("index", help="an image index folder")
    parser.add_argument("--queries", type=int, default=20, help="stored pictures matched against the index")
    args = parser.parse_args()
    queries = []  # hashed before measuring: the queries' own memory is not the index's
    index_path = Path(args.index)
    names = json.loads(next(index_path.glob("seg-*.pictures.json")).read_text(encoding="utf-8"))["image"]
    for image in names[: args.queries]:
        queries.append(hash_image(open_image(Path(image).read_bytes())))
    before = resident_bytes()
    index = ImageIndex(index_path)
    index.phash.query(0, 0), index.dhash.query(0, 0), index.pdq.query([0, 0, 0, 0], 0)  # builds the tables
    opened = resident_bytes()
    for hashes in queries:
        find_matches(index, hashes)
    matched = resident_bytes()
    n = len(index)
    thumbnails = index.thumbnails
    in_memory = thumbnails.nbytes if isinstance(thumbnails, np.ndarray) else 0
    print(f"pictures {n:,}, hash rows {index.rows:,}, thumbnails {len(thumbnails):,} "
          f"({'in memory' if in_memory else 'on disk, mapped'})")
    print(f"resident per picture: {(opened - before) / n:,.0f} B opened with its tables, "
          f"{(matched - before) / n:,.0f} B after matching {len(queries)} pictures; thumbnails in memory "
          f"{in_memory / n:,.0f} B")


if __name__ == "__main__":
    main()
