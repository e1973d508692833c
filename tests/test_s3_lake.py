"""The lake on a real S3 API: moto's server on loopback, reached through s3fs.

Every stage of a day (ingest, fraud, training, products in user shards, publish, report,
the ads' click-through calibration) runs with the lake at an ``s3://`` URL, the ads ledger
and the fraud retrain answer from it as from a local lake, and an ingest run killed with
SIGKILL on object storage (where files are written in place, never renamed) commits
nothing, and the next run commits every event exactly once.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow.compute as pc
import pytest

from bunjang_lab import pipeline
from bunjang_lab.lake import EVENTS, TMP, event_ids, filesystem, read_events, read_manifests

REPO_ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("s3_local", REPO_ROOT / "tools" / "s3_local.py")
s3_local = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(s3_local)


@pytest.fixture(scope="module")
def s3_server():
    with s3_local.LocalS3() as server:
        yield server


@pytest.fixture
def s3(s3_server, monkeypatch) -> str:
    """A fresh ``s3://`` prefix on the server, with its settings in this process's environment."""
    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    return f"s3://{s3_server.bucket}/{uuid.uuid4().hex[:8]}"


def _write_inputs(folder: Path, files: int = 3, per_file: int = 1_000) -> set[str]:
    """Events over 12 days (a part per day to upload), a few re-sent; returns the distinct ids."""
    ids = set()
    for f in range(files):
        with open(folder / f"{f}.jsonl", "w", encoding="utf-8") as out:
            for n in range(per_file):
                number = f * per_file + n if n % 50 else n  # every 50th line repeats an id of the first file
                ids.add(f"e{number}")
                out.write(json.dumps({"event_id": f"e{number}", "type": "click", "user_id": f"u{n % 97}", "item_id": f"i{n % 501}",
                                      "ts": f"2026-10-{1 + number % 12:02d}T{number % 24:02d}:00:00+09:00"}) + "\n")
    return ids


def _objects(lake: str, folder: str) -> list[str]:
    fs, root = filesystem(lake)
    return fs.find(f"{root}/{folder}")


def _ingest(inputs: Path, lake: str, *, killed_at_commit: bool = False) -> subprocess.Popen:
    """An ingest run in a process of its own; ``killed_at_commit`` SIGKILLs it right before its
    manifest is written, when every part is already uploaded."""
    code = ("import os, signal, sys\n"
            "from bunjang_lab import lake\n"
            + ("lake.write_manifest = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)\n" if killed_at_commit else "")
            + "from bunjang_lab.cli import main\nfrom bunjang_lab.__main__ import COMMANDS\n"
            "sys.exit(main('python -m bunjang_lab', '', COMMANDS, ['ingest', sys.argv[1], '--lake', sys.argv[2], "
            "'--now', '2026-11-26T00:00:00Z', '--json']))\n")
    return subprocess.Popen([sys.executable, "-c", code, str(inputs), lake], cwd=REPO_ROOT, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _assert_manifests_add_up(lake: str) -> list[dict]:
    manifests = read_manifests(lake)
    for manifest in manifests:
        assert manifest["read"] == manifest["accepted"] + manifest["duplicates"] + manifest["quarantined"], manifest
    ids = event_ids(lake)
    assert len(ids) == sum(m["accepted"] for m in manifests) == pc.count_distinct(ids).as_py()
    return manifests


def test_an_ingest_killed_on_object_storage_commits_nothing_and_the_rerun_commits_everything_once(s3, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    expected = _write_inputs(inputs)
    lake = f"{s3}/lake"

    at_commit = _ingest(inputs, lake, killed_at_commit=True)
    at_commit.communicate(timeout=120)
    assert at_commit.returncode == -signal.SIGKILL
    uploaded = _objects(lake, EVENTS)
    assert len(uploaded) >= 12 and not _objects(lake, TMP)  # written in place, no temporary copies
    assert read_manifests(lake) == [] and read_events(lake).empty  # uploaded parts no manifest lists: not the lake's

    mid_upload = _ingest(inputs, lake)  # killed as soon as its first part is there, the others on their way
    deadline = time.monotonic() + 120
    while not set(_objects(lake, EVENTS)) - set(uploaded) and mid_upload.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    mid_upload.send_signal(signal.SIGKILL)
    mid_upload.communicate(timeout=60)
    assert mid_upload.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert _assert_manifests_add_up(lake) == []

    rerun = _ingest(inputs, lake)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err.decode()
    stats = json.loads(out.decode().splitlines()[-1])
    assert stats["read"] == stats["accepted"] + stats["duplicates"] + stats["quarantined"] == 3_000
    assert stats["accepted"] == len(expected)
    manifests = _assert_manifests_add_up(lake)
    assert set(event_ids(lake).to_pylist()) == expected
    assert len(_objects(lake, EVENTS)) == sum(len(m["parts"]) for m in manifests)  # what the killed runs left is gone


def test_landing_and_lake_on_s3(s3, tmp_path):
    fs, landing = filesystem(f"{s3}/landing")
    fs.pipe(f"{landing}/day.jsonl", b'{"event_id": "a1", "type": "search", "ts": "2026-03-01T01:00:00Z", "user_id": "u1", "query": "x"}\n')
    first = pipeline.ingest_landing(f"{s3}/landing", f"{s3}/lake", "hour-01")
    assert (first["accepted"], first["dates"]) == (1, ["2026-03-01"])
    assert fs.exists(f"{landing}/_processed/{first['run_id']}/day.jsonl") and not fs.exists(f"{landing}/day.jsonl")
    fs.pipe(f"{landing}/again.jsonl", fs.cat_file(f"{landing}/_processed/{first['run_id']}/day.jsonl"))
    again = pipeline.ingest_landing(f"{s3}/landing", f"{s3}/lake", "hour-02")
    assert (again["accepted"], again["duplicates"]) == (0, 1)


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory) -> Path:
    from bunjang_lab.simulate import simulate

    out = tmp_path_factory.mktemp("sample")
    simulate(users=30, days=2, seed=5, out=out, progress=False)
    return out


def test_every_stage_of_a_day_runs_on_the_s3_lake(s3, small_sample, isolated_home, monkeypatch):
    """The DAG tasks' functions in their order, the lake on S3 (runs, models and the cache stay
    local: docs/scaling.md); one image shard of three pictures keeps the test short."""
    from bunjang_lab import paths
    from bunjang_lab.ingest import expand_inputs, ingest_files

    lake = f"{s3}/lake"
    monkeypatch.setenv("BUNJANG_LAKE", lake)
    monkeypatch.setenv("BUNJANG_IMAGE_ROOTS", str(small_sample))
    runs, models, reports = str(paths.runs_dir()), str(paths.models_dir()), str(paths.reports_dir())
    index, cache = str(isolated_home / "image_index"), paths.cache_url()

    ingested = ingest_files(expand_inputs([small_sample]), paths.lake_dir())
    assert paths.lake_dir() == lake and not (isolated_home / "lake").exists()
    assert ingested["accepted"] == sum(m["accepted"] for m in read_manifests(lake)) > 0
    day = pipeline.latest_activity_day(lake)

    shards = pipeline.plan_image_shards(lake, [day], shard_size=3)
    part = pipeline.scan_image_shard(shards[0], runs, index)
    fraud = pipeline.scan_fraud_days(lake, runs, [day], index, [part], models=models)[day]
    assert fraud["images"] == 3 and (Path(runs) / day / "fraud" / "listings.parquet").exists()

    candidate = pipeline.train_candidate(lake, models, day, runs=runs)
    assert pipeline.gate_candidate(candidate, models, lake, runs, day)["promoted"] is True

    planned = pipeline.plan_product_shards(lake, models, runs, day, 2)  # the publish DAG's mapped products
    for shard in planned:
        pipeline.compute_day_product_shard(lake, models, runs, shard)
    products = pipeline.merge_day_products(lake, runs, day, 2)
    assert products["lake"] == lake and products["shards"] == 2 and products["rows"]["home"] > 0
    assert pipeline.publish_day(runs, day, cache)["version"]

    report = Path(pipeline.build_day_report(lake, runs, reports, day, models=models))
    assert report.is_file() and str(ingested["accepted"]) in report.read_text(encoding="utf-8").replace(",", "")

    # the publish DAG's ads tasks (here after the report, whose counts the ad events would
    # change): the click-through calibration reads the ad impressions of the day from the
    # lake, logged for the users and listings just published, and fits what it fits from
    # a local lake; then the cache's old ad state is forgotten
    ad_events = _ad_impressions(Path(runs) / day / "products" / "vectors", day, isolated_home / "ads.jsonl")
    ingest_files([ad_events], lake, now="2026-12-01T00:00:00Z")
    local_lake = str(isolated_home / "local_lake")
    ingest_files([ad_events], local_lake, now="2026-12-01T00:00:00Z")
    calibrated = {where: pipeline.calibrate_ads(source, runs, day, cache) for where, source in (("s3", lake), ("local", local_lake))}
    assert calibrated["s3"]["scored"] == calibrated["s3"]["impressions"] > 0 and calibrated["s3"]["slope"] > 0
    assert calibrated["s3"] == calibrated["local"]
    assert pipeline.forget_ad_state(cache, day)["before"] < day


def _ad_impressions(vectors: Path, day: str, path: Path, count: int = 600) -> Path:
    """Ad impressions of ``day`` for the users and listings of the FM ``vectors``, clicked
    more often the higher their score (what the calibration fits), written to ``path``."""
    import numpy as np
    import pandas as pd

    users, items = pd.read_parquet(vectors / "users.parquet"), pd.read_parquet(vectors / "items.parquet")
    rng = np.random.default_rng(3)
    u, i = rng.integers(len(users), size=count), rng.integers(len(items), size=count)
    scores = (np.stack(users["vector"].to_numpy())[u] * np.stack(items["vector"].to_numpy())[i]).sum(axis=1) + items["bias"].to_numpy()[i]
    clicked = rng.random(count) < 1 / (1 + np.exp(-(scores - np.median(scores)) / (scores.std() + 1e-9)))
    lines = []
    for n in range(count):
        common = {"user_id": str(users["user_id"][u[n]]), "auction_id": f"a{n}", "campaign_id": "c1",
                  "item_id": str(items["item_id"][i[n]]), "surface": "home", "position": 1, "billing": "cpc", "price_charged": 100}
        ts = f"{day}T{n * 24 // count:02d}:{n % 60:02d}:00+00:00"
        lines.append({"event_id": f"imp{n}", "type": "ad_impression", "ts": ts, **common})
        if clicked[n]:
            lines.append({"event_id": f"clk{n}", "type": "ad_click", "ts": ts.replace(":00+", ":30+"), **common})
    path.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    return path


def test_the_ads_ledger_and_the_fraud_retrain_read_the_s3_lake_as_a_local_one(s3, small_sample, tmp_path):
    """The two DAGs outside the day's chain (ads_billing, fraud_retrain): the same answers
    from the lake on S3 as from the same events in a local lake."""
    import pandas as pd

    from bunjang_lab.ads.auction import Auction
    from bunjang_lab.ads.charges import kst_day
    from bunjang_lab.ads.pacing import Pacer
    from bunjang_lab.ingest import expand_inputs, ingest_files
    from bunjang_lab.simulate.ads import make_ad_market, make_requests, run_ads

    market = make_ad_market(n_users=100, n_campaigns=12, seed=3)
    requests = make_requests(market, 300, seed=4)
    ads = run_ads(market, Auction(slots=2).fit(market.campaigns), requests,
                  lambda r, pairs: market.true_ctr(r.user, pairs, r.intent), Pacer(slack=0.2), seed=5)
    (tmp_path / "ads.jsonl").write_text("".join(json.dumps(e) + "\n" for e in ads.events), encoding="utf-8")
    sample = expand_inputs([small_sample])
    lakes = {"s3": f"{s3}/lake", "local": str(tmp_path / "lake")}
    for lake in lakes.values():
        ingest_files([tmp_path / "ads.jsonl", *sample], lake, now="2026-12-01T00:00:00Z")
    day = pipeline.latest_activity_day(lakes["local"])
    decided = [{"event_id": f"mod{n}", "type": "moderation", "ts": f"{day}T{n // 2:02d}:30:00+09:00", "user_id": "moderator",
                "target_kind": "chat", "target_id": f"m{n}", "decision": "confirmed" if n % 2 else "cleared",
                "target_text": f"카톡 scam{n} 으로 선입금 주세요" if n % 2 else f"내일 {n}시에 직거래 가능할까요"}
               for n in range(24)]  # enough decisions of both labels for the retrain to train
    (tmp_path / "moderation.jsonl").write_text("".join(json.dumps(e) + "\n" for e in decided), encoding="utf-8")
    for lake in lakes.values():
        ingest_files([tmp_path / "moderation.jsonl"], lake, now="2026-12-01T00:00:00Z")

    hour_end = (pd.Timestamp(kst_day(requests[0].request.ts_ms) + "T00:00:00+09:00") + pd.Timedelta(days=1)).isoformat()
    bills = {where: pipeline.bill_ads_hour(lake, str(tmp_path / f"runs-{where}"), hour_end) for where, lake in lakes.items()}
    assert bills["s3"]["ad_events"] > 0 and bills["s3"] == bills["local"]

    decisions = {where: pipeline.fraud_retrain_window(lake, str(tmp_path / f"models-{where}"), day)
                 for where, lake in lakes.items()}
    assert decisions["s3"]["held_back"]["decisions"] > 0
    assert ({k: v for k, v in decisions["s3"].items() if k not in ("seconds", "version")}
            == {k: v for k, v in decisions["local"].items() if k not in ("seconds", "version")})
