"""A day's stages with the lake on an S3 API (moto's server on loopback) beside the same
run's local lake: seconds per stage.

Simulates a small marketplace (``--users``, ``--days``), then runs the DAG tasks' functions in
their order in fresh homes: once on a local lake to warm up (imports, caches; not reported),
then with the lake at ``s3://bunjang/lake`` and with the lake in the home folder (runs,
models and the cache stay local in both). The image scan
is one shard of ``--pictures`` pictures. moto answers from one Python process, so the S3
figures are an upper bound for the request overhead of s3fs, not a forecast for AWS.

    .venv/bin/python benchmarks/s3_lake.py [--users 30] [--days 2] [--pictures 3] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _s3_local():
    spec = importlib.util.spec_from_file_location("s3_local", REPO_ROOT / "tools" / "s3_local.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def day_stages(sample: Path, home: Path, lake: str, pictures: int) -> dict[str, float]:
    from bunjang_lab import pipeline
    from bunjang_lab.ingest import expand_inputs, ingest_files

    runs, models, reports, index = (str(home / name) for name in ("runs", "models", "reports", "image_index"))
    seconds: dict[str, float] = {}

    def timed(name, call):
        started = time.perf_counter()
        result = call()
        seconds[name] = round(time.perf_counter() - started, 2)
        return result

    timed("ingest", lambda: ingest_files(expand_inputs([sample]), lake))
    day = pipeline.latest_activity_day(lake)
    shard = timed("image plan", lambda: pipeline.plan_image_shards(lake, [day], shard_size=pictures))[0]
    part = timed("image shard", lambda: pipeline.scan_image_shard(shard, runs, index))
    timed("fraud scan", lambda: pipeline.scan_fraud_days(lake, runs, [day], index, [part], models=models))
    candidate = timed("train", lambda: pipeline.train_candidate(lake, models, day, runs=runs))
    timed("gate", lambda: pipeline.gate_candidate(candidate, models, lake, runs, day))
    planned = timed("products shared", lambda: pipeline.plan_product_shards(lake, models, runs, day, 2))
    timed("products 2 shards", lambda: [pipeline.compute_day_product_shard(lake, models, runs, p) for p in planned])
    timed("products merge", lambda: pipeline.merge_day_products(lake, runs, day, 2))
    timed("publish", lambda: pipeline.publish_day(runs, day, f"sqlite:///{home / 'cache.sqlite'}"))
    timed("report", lambda: pipeline.build_day_report(lake, runs, reports, day, models=models))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--pictures", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    from bunjang_lab.simulate import simulate

    scratch = Path(tempfile.mkdtemp(prefix="s3-lake-bench-"))
    sample = scratch / "sample"
    simulate(users=args.users, days=args.days, seed=5, out=sample, progress=False)
    os.environ["BUNJANG_IMAGE_ROOTS"] = str(sample)
    results = {}
    with _s3_local().LocalS3() as s3:
        os.environ.update(s3.environment())
        for where in ("warm-up", "s3", "local"):
            home = scratch / where
            os.environ["BUNJANG_HOME"], os.environ["BUNJANG_MODELS"] = str(home), str(home / "models")
            results[where] = day_stages(sample, home, f"s3://{s3.bucket}/lake" if where == "s3" else str(home / "lake"),
                                        args.pictures)
    del results["warm-up"]
    if not args.json:
        print(f"{'stage':<20} {'S3 lake s':>10} {'local lake s':>13}")
        for stage in results["s3"]:
            print(f"{stage:<20} {results['s3'][stage]:>10} {results['local'][stage]:>13}")
        print(f"{'total':<20} {round(sum(results['s3'].values()), 2):>10} {round(sum(results['local'].values()), 2):>13}")
    print(json.dumps({"users": args.users, "days": args.days, **results}))


if __name__ == "__main__":
    main()
