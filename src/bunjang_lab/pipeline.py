"""One library function per DAG task, with explicit partition arguments.

The DAGs in ``dags/`` (and ``demo``) only resolve *which* partition a run owns (the
day of its data interval, or the days an ingest run touched) and call these functions.
Each function:

* takes every location explicitly (lake, runs, models, cache, landing folder);
* writes only its own partition, and builds it beside the target before swapping it
  in (:func:`bunjang_lab.files.replace_folder`), so a crash never leaves a half-written
  partition and a re-run replaces it whole;
* gives the same result when run twice with the same inputs.

Partition layout under ``BUNJANG_HOME`` (see docs/airflow.md)::

    landing/                      new JSON Lines files dropped by producers
    landing/_processed/<run>/     files already ingested by ingest run <run>
    lake/                         the event lake (ingest owns it; deduplicated)
    runs/<YYYY-MM-DD>/fraud/      fraud_scan of that day
    runs/<YYYY-MM-DD>/fraud/image_parts/shard-<n>.parquet   one mapped image task each
    runs/<YYYY-MM-DD>/products/   recommendation products of that day
    runs/<YYYY-MM-DD>/train.json  what the training gate decided that day (and its evaluation)
    runs/<YYYY-MM-DD>/publish.json  what was published to the cache, and as which version
    runs/<YYYY-MM-DD>/ads/        the ads ledger and statements of that KST day (ads_billing)
    runs/<YYYY-MM-DD>/stages/     how long each task of the day took (:mod:`bunjang_lab.stages`)
    reports/<YYYY-MM-DD>/         the batch report of that day

No Airflow here: the domain and these functions run the same from the demo, a test
or a DAG task.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from contextlib import nullcontext
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bunjang_lab import stages
from bunjang_lab.errors import MissingInput
from bunjang_lab.files import replace_folder, write_json

LANDING_PATTERNS = ("*.jsonl", "*.jsonl.gz")
PROCESSED_DIR = "_processed"


# ----------------------------------------------------------------------------- days


def as_day(value: date | datetime | str) -> date:
    """The UTC calendar day of a date, an aware datetime or an ISO string.

    >>> as_day("2026-03-01")
    datetime.date(2026, 3, 1)
    >>> as_day(datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-2))))
    datetime.date(2026, 3, 2)
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.date()
    return value


def day_bounds(day: date | str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a UTC day.

    >>> [t.isoformat() for t in day_bounds("2026-03-01")]
    ['2026-03-01T00:00:00+00:00', '2026-03-02T00:00:00+00:00']
    """
    start = datetime.combine(as_day(day), datetime.min.time(), tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def days_in_interval(start: datetime, end: datetime) -> list[str]:
    """The UTC days a data interval ``[start, end)`` covers (at least the start's day).

    >>> days_in_interval(datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 3, 3, tzinfo=timezone.utc))
    ['2026-03-01', '2026-03-02']
    >>> days_in_interval(datetime(2026, 3, 1, 5, tzinfo=timezone.utc), datetime(2026, 3, 1, 6, tzinfo=timezone.utc))
    ['2026-03-01']
    """
    first, last = as_day(start), as_day(end - timedelta(microseconds=1))
    return [(first + timedelta(days=n)).isoformat() for n in range(max((last - first).days, 0) + 1)]


def resolve_days(requested: str | Iterable[str] | None, touched: Iterable[Iterable[str]], fallback: Iterable[str]) -> list[str]:
    """Which days an event-triggered run owns, most explicit source first.

    ``requested``: days a user asked for (a Param: one day, a comma list or a list);
    ``touched``: the ``dates`` each triggering ingest reported; ``fallback``: the days
    of the run's own data interval.

    >>> resolve_days("2026-03-02, 2026-03-01", [], ["2026-03-05"])
    ['2026-03-01', '2026-03-02']
    >>> resolve_days(None, [["2026-03-01"], ["2026-03-02", "2026-03-01"]], ["2026-03-05"])
    ['2026-03-01', '2026-03-02']
    >>> resolve_days(None, [], ["2026-03-05"])
    ['2026-03-05']
    """
    if isinstance(requested, str):
        requested = [part for part in requested.replace(",", " ").split() if part]
    for source in (requested or [], [d for dates in touched for d in dates], fallback):
        days = sorted({as_day(d).isoformat() for d in source})
        if days:
            return days
    return []


# ----------------------------------------------------------------------- partitions


def _jsonable(obj: Any) -> Any:
    """Library results may hold paths, numpy scalars or timestamps: make them plain."""
    return json.loads(json.dumps(obj, default=str))


def run_dir(runs: str | os.PathLike, day: date | str) -> Path:
    """The run folder of one day: ``runs/<YYYY-MM-DD>``."""
    return Path(runs) / as_day(day).isoformat()


# -------------------------------------------------------------------------- ingest


def _is_local(fs) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    return bool({"file", "local"} & set(protocols))


def list_landing(landing: str) -> list[str]:
    """New JSON Lines files in a landing folder or URL prefix, oldest name first.

    Files in ``_processed/`` and hidden or temporary files (``.name``, ``*.tmp``: a
    producer still writing should use such a name and rename when done) are ignored.
    """
    from bunjang_lab.lake import filesystem

    fs, root = filesystem(landing)
    if not fs.exists(root):
        raise MissingInput(f"landing folder not found: {landing}")
    found = set()
    for pattern in LANDING_PATTERNS:
        for path in fs.glob(f"{root.rstrip('/')}/{pattern}"):
            if not Path(path).name.startswith("."):
                found.add(path)
    prefix = "" if _is_local(fs) else f"{fs.protocol[0] if isinstance(fs.protocol, (tuple, list)) else fs.protocol}://"
    return [p if p.startswith(prefix) else prefix + p for p in sorted(found)]


def archive_landed(files: Iterable[str], landing: str, run_id: str) -> list[str]:
    """Move ingested files to ``landing/_processed/<run_id>/`` and return their new places.

    A file already moved by an earlier attempt of the same run is simply not there any
    more, so retrying is harmless.
    """
    from bunjang_lab.lake import filesystem

    fs, root = filesystem(landing)
    target = f"{root.rstrip('/')}/{PROCESSED_DIR}/{run_id}"
    fs.makedirs(target, exist_ok=True)
    moved = []
    for url in files:
        _, path = filesystem(url)
        if fs.exists(path):
            destination = f"{target}/{Path(path).name}"
            fs.mv(path, destination)
            moved.append(destination)
    return moved


def ingest_landing(landing: str, lake: str, run_prefix: str, *, media_root: str | None = None) -> dict:
    """Ingest every new file of ``landing`` into ``lake`` and move the files aside.

    The ingest run id is ``<run_prefix>-<time and random suffix>``: every attempt gets its
    own manifest, and ingest deduplicates by ``event_id`` against the whole lake, so a
    retry after a crash between the two steps accepts nothing twice. Files under a URL
    prefix are copied to a local staging folder first. Returns ingest's counts plus
    ``files`` (as moved), ``run_id`` and ``dates`` (event days that received events, which
    the fraud scan and publish of those days then own).
    """
    import tempfile

    from bunjang_lab.ingest import ingest_files, new_run_id
    from bunjang_lab.lake import filesystem

    files = list_landing(landing)
    run_id = f"{run_prefix}-{new_run_id()}"
    if not files:
        return {"run_id": run_id, "files": [], "read": 0, "accepted": 0, "duplicates": 0, "quarantined": 0, "dates": []}
    fs, _ = filesystem(landing)
    with tempfile.TemporaryDirectory(prefix="bunjang-landing-") as staging:
        local = files
        if not _is_local(fs):
            local = [str(Path(staging) / Path(f).name) for f in files]
            for remote, copy in zip(files, local):
                fs.get(filesystem(remote)[1], copy)
        counts = ingest_files(local, lake, run_id=run_id, media_root=media_root)
    run_id = counts["run_id"]  # ingest may suffix it to keep it unused
    moved = archive_landed(files, landing, run_id)
    summary = _jsonable(counts)
    summary.update(files=moved, dates=_manifest_dates(lake, run_id))
    return summary


UNDATED_TYPES = ("signup",)
"""Signups carry the account's creation time (often years back): they make no day stale."""


def _manifest_dates(lake: str, run_id: str) -> list[str]:
    """Days an ingest run wrote marketplace activity to, from its manifest."""
    from bunjang_lab.lake import MANIFESTS, filesystem

    fs, root = filesystem(lake)
    manifest = json.loads(fs.cat_file(f"{root}/{MANIFESTS}/{run_id}.json"))
    return sorted({part["date"] for part in manifest.get("parts", []) if part["type"] not in UNDATED_TYPES})



def latest_activity_day(lake: str) -> str:
    """The newest UTC day with marketplace activity in the lake (from the ingest manifests)."""
    from bunjang_lab.lake import read_manifests

    newest = [ms for manifest in read_manifests(lake) for kind, ms in manifest.get("max_ts_ms", {}).items()
              if kind not in UNDATED_TYPES]
    if not newest:
        raise MissingInput(f"no events in {lake}: ingest some first")
    return as_day(datetime.fromtimestamp(max(newest) / 1000, tz=timezone.utc)).isoformat()

# --------------------------------------------------------------------------- fraud


FRAUD_LOOKBACK_DAYS = 7
"""A day's fraud run scores the listings, chats and images of this many days up to it, so
the run folder carries a flag for every listing still on sale (the cache gets flags
only from the run it publishes)."""


def fraud_window(day: date | str, lookback_days: int = FRAUD_LOOKBACK_DAYS) -> tuple[datetime, datetime]:
    """``[start, end)`` a day's fraud run covers.

    >>> [t.date().isoformat() for t in fraud_window("2026-10-14", 7)]
    ['2026-10-08', '2026-10-15']
    """
    if lookback_days < 1:
        raise ValueError("lookback_days must be at least 1")
    start, end = day_bounds(day)
    return start - timedelta(days=lookback_days - 1), end


def plan_image_shards(lake: str, days: Iterable[str], shard_size: int = 200, lookback_days: int = FRAUD_LOOKBACK_DAYS) -> list[dict]:
    """Shards of the listing images in each day's fraud window, one mapped task each.

    Every shard carries its ``day`` and ``number`` so its part file has a fixed name
    (``runs/<day>/image_parts/shard-<number>.parquet``) and a retry overwrites it.
    Pictures already in the index are cheap to scan again (their OCR is cached).
    """
    from bunjang_lab.fraud.images.scan import plan_shards

    shards = []
    for day in sorted(set(days)):
        start, end = fraud_window(day, lookback_days)
        for number, shard in enumerate(plan_shards(lake, start, end, shard_size)):
            shards.append({"day": day, "number": number, "shard": _jsonable(shard)})
    return shards


def _image_part(runs: str, day: str, number: int) -> Path:
    return run_dir(runs, day) / "image_parts" / f"shard-{number:05d}.parquet"


def scan_image_shard(planned: dict, runs: str, image_index: str) -> str:
    """Hash and OCR one shard of images into its own part file (overwritten on retry)."""
    with stages.timed(run_dir(runs, planned["day"]), "fraud-images", part=planned["number"]):
        from bunjang_lab.fraud.images.scan import scan_shard

        return scan_shard(planned["shard"], image_index, _image_part(runs, planned["day"], planned["number"]))


def scan_fraud_days(lake: str, runs: str, days: Iterable[str], image_index: str, part_files: Iterable[str] = (), *,
                    models: str | None = None, lookback_days: int = FRAUD_LOOKBACK_DAYS) -> dict:
    """Score each day's fraud window into ``runs/<day>/fraud`` (listings, messages, sellers, images).

    ``part_files`` are the mapped image shards of these days: each day's are merged into
    the image index and its ``images.parquet`` before the text and behaviour scan, which
    then sees every image match. ``models`` holds trained fraud models (rules and a
    window-fitted anomaly detector when none are trained). Stale part files of a day
    (from an earlier plan with more shards) are removed.
    """
    parts_by_day: dict[str, list[str]] = {}
    for part in part_files:
        parts_by_day.setdefault(Path(part).parent.parent.name, []).append(str(part))
    results = {}
    for day in sorted(set(days)):
        start, end = fraud_window(day, lookback_days)
        parts = sorted(parts_by_day.get(day, []))

        def build(staging: Path, start=start, end=end, parts=parts) -> dict:
            from bunjang_lab.fraud.images.scan import merge_shards
            from bunjang_lab.fraud.scan import scan_fraud_folder

            if parts:  # the scan uses the images.parquet it finds in its folder
                merge_shards(parts, image_index, staging)
            return _jsonable(scan_fraud_folder(lake, staging, start, end, image_index=image_index, models_dir=models))

        with stages.timed(run_dir(runs, day), "fraud-scan"):  # imports included: they are part of the stage's cost
            results[day] = replace_folder(run_dir(runs, day) / "fraud", build)
        for stale in set((run_dir(runs, day) / "image_parts").glob("shard-*.parquet")) - {Path(p) for p in parts}:
            stale.unlink()
            stages.forget(run_dir(runs, day), "fraud-images", part=int(stale.stem.split("-")[1]))
    return results


# ------------------------------------------------------------------------ training


def model_version(day: date | str) -> str:
    """The version name of the model trained on data up to the end of ``day``.

    >>> model_version("2026-03-01")
    'fm-20260301'
    """
    return f"fm-{as_day(day):%Y%m%d}"


def train_candidate(lake: str, models: str, day: str, *, retrain: bool = False, runs: str | None = None,
                    **params: Any) -> str:
    """Train the FM on every event before the end of ``day`` into ``models/fm-<day>``.

    A complete ``models/fm-<day>`` means the day is already trained: it is returned as is
    (a re-run changes nothing), unless ``retrain``. The model is built beside its folder
    and swapped in; ``models/latest`` is not touched here (see :func:`gate_candidate`).
    With ``runs``, the time it took is kept in the day's stage records.
    """
    _, until = day_bounds(day)
    target = Path(models) / model_version(day)
    with stages.timed(run_dir(runs, day), "train") if runs else nullcontext():
        from bunjang_lab.ranking.training import train_model

        if (target / "meta.json").exists() and not retrain:
            return str(target)
        return str(train_model(lake, until, models, promote=False, version=target.name, **params))


def gate_candidate(candidate: str, models: str, lake: str, runs: str, day: str, tolerance: float | None = None) -> dict:
    """Promote the candidate to ``models/latest`` only if it is not worse than production.

    ``tolerance``: the relative drop of the gate metric allowed (default: the ranker's
    ``GATE_TOLERANCE``). The decision (metrics of both, tolerance, promoted or kept) is
    written to ``runs/<day>/train.json`` and returned; a rejected candidate leaves
    ``latest`` alone.
    """
    with stages.timed(run_dir(runs, day), "gate"):
        from bunjang_lab.evaluation.gate import GATE_TOLERANCE, promote_if_not_worse

        tolerance = GATE_TOLERANCE if tolerance is None else tolerance
        decision = _jsonable(promote_if_not_worse(candidate, models, lake, tolerance))
    decision.setdefault("candidate", candidate)
    decision.setdefault("tolerance", tolerance)
    write_json(run_dir(runs, day) / "train.json", decision, sort_keys=True)
    return decision


def fraud_retrain_window(lake: str, models: str, day: str, window_days: int = 14, tolerance: float | None = None) -> dict:
    """Retrain the fraud models on the moderators' decisions of the ``window_days`` up to the
    end of ``day``; the candidate is served only if the gate finds it not worse
    (:func:`bunjang_lab.fraud.retrain.retrain_window`). Returns the gate's decision.

    >>> [t.date().isoformat() for t in fraud_window("2026-10-14", 14)]
    ['2026-10-01', '2026-10-15']
    """
    from bunjang_lab.fraud.retrain import retrain_window
    from bunjang_lab.intervals import NOT_WORSE_TOLERANCE

    start, end = fraud_window(day, window_days)
    decision = retrain_window(lake, start, end, models, NOT_WORSE_TOLERANCE if tolerance is None else tolerance)
    return _jsonable({**decision, "day": str(as_day(day))})


# ------------------------------------------------------------------------- publish


def _products_inputs(models: str, runs: str, day: str) -> tuple[Path, datetime, Path]:
    """(model folder, ``now``, run folder) of a day's products: ``now`` is the end of the
    day, so the same day always gives the same products."""
    model_dir = Path(models) / "latest"
    if not model_dir.exists():
        raise MissingInput(f"no model at {model_dir}: run recommender_train (or `train`) first")
    _, end = day_bounds(day)
    return model_dir.resolve(), end - timedelta(milliseconds=1), run_dir(runs, day)


def compute_day_products(lake: str, models: str, runs: str, day: str) -> dict:
    """Recommendation products of ``day`` from ``models/latest`` into ``runs/<day>/products``.

    The day's fraud results (``runs/<day>/fraud``, when present) keep flagged listings out.
    The products folder is swapped in whole by ``compute_products``.
    """
    model_dir, now, out = _products_inputs(models, runs, day)
    with stages.timed(out, "products"):
        from bunjang_lab.products.recommend import compute_products

        return _jsonable(compute_products(lake, model_dir, out, now=now, fraud_dir=out / "fraud"))


def plan_product_shards(lake: str, models: str, runs: str, day: str, shards: int) -> list[dict]:
    """The shared tables of ``day``'s products (popular, related, suggest), then one
    ``{"day", "shard", "shards"}`` per user shard for :func:`compute_day_product_shard`."""
    model_dir, now, out = _products_inputs(models, runs, day)
    with stages.timed(out, "products-shared"):
        from bunjang_lab.products.recommend import compute_shared_products

        compute_shared_products(lake, out, now=now, fraud_dir=out / "fraud")
    return [{"day": as_day(day).isoformat(), "shard": n, "shards": shards} for n in range(shards)]


def compute_day_product_shard(lake: str, models: str, runs: str, planned: dict) -> str:
    """The per-user products of one user shard of a day (one mapped task each)."""
    model_dir, now, out = _products_inputs(models, runs, planned["day"])
    with stages.timed(out, "products-users", part=planned["shard"]):
        from bunjang_lab.products.recommend import compute_user_shard

        return compute_user_shard(lake, model_dir, out, planned["shard"], planned["shards"], now=now, fraud_dir=out / "fraud")


def merge_day_products(lake: str, runs: str, day: str, shards: int) -> dict:
    """``runs/<day>/products`` written once from the day's shards (then published as one version)."""
    out = run_dir(runs, day)
    with stages.timed(out, "products-merge"):
        from bunjang_lab.products.recommend import merge_product_shards

        return _jsonable(merge_product_shards(lake, out, shards))


def publish_day(runs: str, day: str, cache_url: str, keep: int = 3) -> dict:
    """Publish ``runs/<day>`` (products and fraud flags) to the cache as a new version.

    What was published (version, counts, seconds) is kept in ``runs/<day>/publish.json``
    for the report.
    """
    with stages.timed(run_dir(runs, day), "publish"):
        from bunjang_lab.serving.publish import publish_run

        published = _jsonable(publish_run(run_dir(runs, day), cache_url, keep=keep))
    write_json(run_dir(runs, day) / "publish.json", published, sort_keys=True)
    return published


# ---------------------------------------------------------------------------- ads


def bill_ads_day(lake: str, runs: str, day: str, until: datetime | str | None = None) -> dict:
    """The ads ledger of one KST ``day`` (its ad events before ``until``, when given) into
    ``runs/<day>/ads``: ``ledger.parquet`` (one row per ad event), ``statement.parquet`` and
    ``.csv`` (per advertiser and campaign), ``billing.json`` (totals and the reconciliation).

    Computed from the events alone, so a rerun (after a kill, or the next hour's) replaces
    the folder whole with the same rows for the same events.
    """
    import pandas as pd

    from bunjang_lab.ads.ledger import AD_EVENTS, bill
    from bunjang_lab.ads.charges import kst_day_bounds
    from bunjang_lab.lake import read_events

    start_ms, end_ms = kst_day_bounds(as_day(day).isoformat())
    start, end = pd.Timestamp(start_ms, unit="ms", tz="UTC"), pd.Timestamp(end_ms, unit="ms", tz="UTC")
    if until is not None:
        until = pd.Timestamp(until)
        end = min(end, until.tz_convert("UTC") if until.tzinfo else until.tz_localize("UTC"))
    campaigns = read_events(lake, ["ad_campaign", "ad_campaign_status"], end=end)
    ads = read_events(lake, list(AD_EVENTS), start=start, end=end)
    ledger, table, checks = bill(pd.concat([campaigns, ads], ignore_index=True))
    summary = {"day": as_day(day).isoformat(), "window": [start.isoformat(), end.isoformat()],
               "ad_events": len(ledger), "charged_krw": int(ledger["charge_milli"].sum()) / 1000,
               "advertisers": int(table["seller_id"].nunique()), "campaigns": int(table["campaign_id"].nunique()),
               "reconciliation": checks}

    def build(folder: Path) -> dict:
        ledger.to_parquet(folder / "ledger.parquet", index=False)
        table.to_parquet(folder / "statement.parquet", index=False)
        table.to_csv(folder / "statement.csv", index=False)
        write_json(folder / "billing.json", summary, sort_keys=True)
        return summary

    return _jsonable(replace_folder(run_dir(runs, day) / "ads", build))


def bill_ads_hour(lake: str, runs: str, hour_end: datetime | str) -> dict:
    """:func:`bill_ads_day` of the KST day an hour ``[hour_end - 1 h, hour_end)`` belongs to,
    up to ``hour_end`` (the ``ads_billing`` DAG's task; the hour that closes a day bills it whole)."""
    import pandas as pd

    from bunjang_lab.ads.charges import kst_day

    end = pd.Timestamp(hour_end)
    end = end.tz_convert("UTC") if end.tzinfo else end.tz_localize("UTC")
    return bill_ads_day(lake, runs, kst_day(end.value // 1_000_000 - 1), until=end)


def calibrate_ads(lake: str, runs: str, day: str, cache_url: str | None = None, lookback_days: int = 7) -> dict:
    """Fit the ads' click-through calibration on the ad impressions of the ``lookback_days``
    before the end of ``day``, scored with the FM vectors of ``runs/<day>/products/vectors``
    the way serving scores them (user vector · item vector + item bias), and the pacing's
    traffic curve on their times; write both to ``runs/<day>/ads_calibration.json`` and, with
    ``cache_url``, to the cache for ``score ads``.
    """
    import numpy as np
    import pandas as pd

    from bunjang_lab.ads.calibration import CTRCalibrator, logged_impressions
    from bunjang_lab.ads.ledger import AD_EVENTS
    from bunjang_lab.ads.pacing import traffic_curve
    from bunjang_lab.lake import read_events

    vectors = run_dir(runs, day) / "products" / "vectors"
    if not (vectors / "users.parquet").exists() or not (vectors / "items.parquet").exists():
        raise MissingInput(f"no FM vectors in {vectors}: compute the day's products first")
    _, end = day_bounds(day)
    ad_events = read_events(lake, list(AD_EVENTS), start=end - timedelta(days=lookback_days), end=end)
    logged = logged_impressions(ad_events)
    users = pd.read_parquet(vectors / "users.parquet", columns=["user_id", "vector"])
    items = pd.read_parquet(vectors / "items.parquet", columns=["item_id", "vector", "bias"])
    user_at = {str(u): n for n, u in enumerate(users["user_id"])}
    item_at = {str(i): n for n, i in enumerate(items["item_id"])}
    known = logged[logged["user_id"].isin(user_at) & logged["item_id"].isin(item_at)]
    u = np.stack(users["vector"].to_numpy())[[user_at[x] for x in known["user_id"]]] if len(known) else np.empty((0, 1))
    v = np.stack(items["vector"].to_numpy())[[item_at[x] for x in known["item_id"]]] if len(known) else np.empty((0, 1))
    bias = items["bias"].to_numpy()[[item_at[x] for x in known["item_id"]]] if len(known) else np.empty(0)
    calibrator = CTRCalibrator().fit((u * v).sum(axis=1) + bias, known["clicked"].to_numpy())
    shown_at = ad_events.loc[ad_events["type"] == "ad_impression", "ts"]
    curve = traffic_curve((shown_at - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).tolist()
    result = {"day": as_day(day).isoformat(), "slope": calibrator.slope_, "intercept": calibrator.intercept_,
              "traffic_curve": curve, "impressions": len(logged), "scored": len(known),
              "clicks": int(known["clicked"].sum()), "published_to": cache_url}
    write_json(run_dir(runs, day) / "ads_calibration.json", result, sort_keys=True)
    if cache_url:
        from bunjang_lab.serving.ads import publish_calibration
        from bunjang_lab.serving.backends import open_cache

        with open_cache(cache_url) as cache:
            publish_calibration(cache, calibrator.slope_, calibrator.intercept_, curve)
    return result


def load_ad_campaigns(lake: str, cache_url: str, day: str) -> dict:
    """The campaigns of the lake's campaign events up to the end of ``day`` (terms and status)
    into the cache's live key space, as real-time events would have left them: for a cache
    that never received those events (``demo`` publishes the sample to a new one)."""
    from bunjang_lab.ads.campaigns import campaigns_from_events
    from bunjang_lab.lake import read_events
    from bunjang_lab.serving.ads import load_campaigns
    from bunjang_lab.serving.backends import open_cache

    _, end = day_bounds(day)
    campaigns = campaigns_from_events(read_events(lake, ["ad_campaign", "ad_campaign_status"], end=end))
    with open_cache(cache_url) as cache:
        load_campaigns(cache, campaigns)
    return {"campaigns": len(campaigns), "active": sum(c.status == "active" for c in campaigns)}


def forget_ad_state(cache_url: str, day: str, keep_days: int = 2) -> dict:
    """Delete the cache's per-day ad state (applied-event markers, spend, frequency counts) of
    the KST days more than ``keep_days`` before ``day``; the ads ledger keeps the history."""
    from bunjang_lab.serving.ads import forget_ad_days
    from bunjang_lab.serving.backends import open_cache

    before = (as_day(day) - timedelta(days=keep_days)).isoformat()
    with open_cache(cache_url) as cache:
        return {"before": before, "deleted": forget_ad_days(cache, before)}


# -------------------------------------------------------------------------- report


def build_day_report(lake: str, runs: str, reports: str, day: str, *, models: str | None = None, labels: str | None = None) -> str:
    """The batch report of ``day`` into ``reports/<day>/``; returns the HTML path.

    ``labels`` (simulator ground truth, optional) adds precision and recall per rule.
    """
    from bunjang_lab.report.build import build_report

    day = as_day(day).isoformat()
    target = Path(reports) / day

    def build(staging: Path) -> Path:
        return Path(build_report(lake, runs, staging, date=day, labels=labels, models=models)).relative_to(staging)

    return str(target / replace_folder(target, build))
