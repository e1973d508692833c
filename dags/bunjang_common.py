"""What every bunjang_lab DAG shares: assets, default arguments, folder Params.

Thin glue only: tasks resolve their folders and days here and call one function of
``bunjang_lab.pipeline``. Nothing runs at import time (folders are resolved when a task
runs, so ``BUNJANG_HOME`` set on the worker is honoured).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, Param

START_DATE = pendulum.datetime(2026, 1, 1, tz="UTC")

LAKE_EVENTS = Asset(name="bunjang_lake_events", uri="bunjang://lake/events")
"""Updated by marketplace_ingest when new events land; extra: {"run_id", "dates"}."""
FRAUD_RESULTS = Asset(name="bunjang_fraud_results", uri="bunjang://runs/fraud")
"""Updated by fraud_scan; extra: {"days"}."""
MODEL_LATEST = Asset(name="bunjang_model_latest", uri="bunjang://models/latest")
"""Updated by recommender_train when the gate promotes a model; extra: {"day", "version"}."""
SERVING_CACHE = Asset(name="bunjang_serving_cache", uri="bunjang://serving/cache")
"""Updated by publish; extra: {"day", "version"}."""

CACHE_CONNECTION = "bunjang_cache"

#: The Celery queue of the image shards (OCR-heavy bursts): workers started with
#: ``--queues images`` take them, so they do not starve training (docs/scaling.md).
IMAGE_QUEUE = "images"

DEFAULT_ARGS = {
    "owner": "data-ml",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=2),
}


def _folder(description: str) -> Param:
    return Param(None, type=["null", "string"], description=f"{description} (empty: the BUNJANG_HOME default)")


FOLDER_PARAMS = {
    "landing": _folder("landing folder or URL prefix where producers drop JSON Lines files"),
    "lake": _folder("event lake, a path or an fsspec URL"),
    "runs": _folder("folder of per-day run partitions"),
    "models": _folder("trained models folder (holds `latest`)"),
    "reports": _folder("batch reports folder"),
    "image_index": _folder("perceptual-hash index of listing images"),
}
DAYS_PARAM = Param(
    None,
    type=["null", "string"],
    description="days to process, e.g. '2026-03-01' or '2026-03-01,2026-03-02' (empty: from the triggering assets or the data interval)",
)


def params(*names: str, **extra: Param) -> dict:
    """The folder Params a DAG uses, plus its own."""
    return {name: FOLDER_PARAMS[name] for name in names} | extra


def folders(params: dict) -> dict:
    """Every folder a task may need: the Param when given, else the BUNJANG_HOME default."""
    from bunjang_lab import paths

    defaults = {
        "lake": str(paths.lake_dir()),
        "runs": str(paths.runs_dir()),
        "models": str(paths.models_dir()),
        "reports": str(paths.reports_dir()),
        "image_index": str(paths.home() / "image_index"),
        "landing": str(paths.home() / "landing"),
    }
    return {name: params.get(name) or default for name, default in defaults.items()}


def interval_start(context: dict):
    """Start of the run's data interval; runs without one (asset-triggered, or triggered
    with no logical date) use the time they were queued for."""
    return context.get("data_interval_start") or context.get("logical_date") or context["dag_run"].run_after


def interval_days(context: dict) -> list[str]:
    """The UTC days of the run's data interval (runs without one: the day they run)."""
    from bunjang_lab.pipeline import days_in_interval

    start = interval_start(context)
    end = context.get("data_interval_end") or start
    return days_in_interval(start, max(end, start + timedelta(microseconds=1)))


def triggered_days(context: dict, key: str) -> list[list[str]]:
    """The ``key`` lists (or single values) of every triggering asset event's extra."""
    found = []
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in events:
            value = (event.extra or {}).get(key)
            if value:
                found.append([value] if isinstance(value, str) else list(value))
    return found


def run_days(context: dict, *keys: str) -> list[str]:
    """Days a run owns: every day of the ``days`` Param, else the newest day the
    triggering assets name (older ones are inside its look-back window), else its interval."""
    from bunjang_lab.pipeline import resolve_days

    if context["params"].get("days"):
        return resolve_days(context["params"]["days"], [], [])
    touched = [days for key in keys for days in triggered_days(context, key)]
    return resolve_days(None, touched, interval_days(context))[-1:]
