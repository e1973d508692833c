"""Build the committed sample, data/sample: the one command that writes it (``make sample``).

    python tools/sample.py [--out data/sample]

The sample's base world (1,500 users, 14 days, seed 7: events, pictures, labels) was written
by ``python -m bunjang_lab simulate`` at commit 97b97f0. The simulator has changed since, and
simulating it again would change its texts and pictures, on which tests, the README and the
documented figures rest, so later event streams are added to it, each by a step below that
replaces what it wrote before (run it again: the same bytes):

* ``feedback``: users' reports and moderators' decisions (``bunjang_lab.simulate.extend.add_feedback``);
* ``ads``: sellers' campaigns and the ads of the home and search sessions, charged by the
  ledger's rule (``bunjang_lab.simulate.extend.add_ads``).

A stream the simulator learns to write later is one more step here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bunjang_lab.simulate.extend import add_ads, add_feedback

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
SEED = 7  # the sample's seed: each step draws from its own generator of it


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=SAMPLE, help=f"the sample folder (default {SAMPLE})")
    args = p.parse_args()
    print(json.dumps({"feedback": add_feedback(args.out, SEED), "ads": add_ads(args.out, SEED)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
