"""Peak memory and time of ingesting a folder of many small files (bounded memory: a file keeps
only its counts).

Writes ``--files`` JSON Lines files of ``--per-file`` events each (one in a hundred lines
truncated), then runs ``python -m bunjang_lab ingest FOLDER --lake LAKE`` in a child process
and reports its wall time and peak resident memory (``ru_maxrss`` of the child).

    .venv/bin/python benchmarks/ingest_many_files.py [--files 100000] [--per-file 5]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_files(folder: Path, files: int, per_file: int) -> None:
    rng = random.Random(5)
    for f in range(files):
        lines = []
        for n in range(per_file):
            number = f * per_file + n
            event = {"event_id": f"e{number}", "type": "click", "user_id": f"u{number % 997}", "item_id": f"i{number % 5003}",
                     "ts": f"2026-10-{1 + number % 30:02d}T{number % 24:02d}:{number % 60:02d}:00+09:00"}
            text = json.dumps(event, separators=(",", ":"))
            lines.append(text[:len(text) // 2] if rng.random() < 0.01 else text)
        (folder / f"{f:06d}.jsonl").write_text("\n".join(lines) + "\n")


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--files", type=int, default=100_000)
    cli.add_argument("--per-file", type=int, default=5)
    args = cli.parse_args()
    with tempfile.TemporaryDirectory(prefix="bunjang-many-") as work:
        folder, lake = Path(work) / "in", Path(work) / "lake"
        folder.mkdir()
        began = time.perf_counter()
        write_files(folder, args.files, args.per_file)
        written = time.perf_counter() - began
        began = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "bunjang_lab", "ingest", str(folder), "--lake", str(lake),
                              "--now", "2026-11-26T00:00:00Z", "--json"], capture_output=True, check=True)
        wall = time.perf_counter() - began
        stats = json.loads(run.stdout.decode().splitlines()[-1])
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"files": args.files, "per_file": args.per_file, "read": stats["read"], "accepted": stats["accepted"],
                      "quarantined": stats["quarantined"], "ingest_s": round(wall, 1), "peak_mb": round(peak_mb),
                      "write_inputs_s": round(written, 1)}))


if __name__ == "__main__":
    main()
