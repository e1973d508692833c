"""What rebuilding the confirmed-scam blocklist from the lake costs a publish.

    .venv/bin/python benchmarks/publish_blocklist.py LAKE

Publishes the test run (``bunjang_lab.testing.write_run``) into a new SQLite cache in a
temporary folder three times: with an empty lake (the same-run baseline), with ``LAKE``
(the rebuild), and with ``LAKE`` again (nothing changes); prints each publish's CPU and wall
seconds and its ``blocklist`` answer.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bunjang_lab.serving.publish import publish_run
from bunjang_lab.testing import write_run


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("lake", help="a lake holding moderation decisions (e.g. the ingested sample's)")
    lake = args.parse_args().lake
    with tempfile.TemporaryDirectory() as folder:
        run, cache = write_run(Path(folder) / "run"), f"sqlite:///{folder}/cache.sqlite"
        for label, source in (("empty lake", str(Path(folder) / "no_lake")), ("rebuild", lake), ("again", lake)):
            cpu, wall = time.process_time(), time.perf_counter()
            answer = publish_run(run, cache, lake=source)
            print(json.dumps({"publish": label, "cpu_s": round(time.process_time() - cpu, 3),
                              "wall_s": round(time.perf_counter() - wall, 3), "blocklist": answer["blocklist"]}))


if __name__ == "__main__":
    main()
