"""fraud_scan (on new lake events): images in mapped shards, then text, sellers and risk.

Triggered by the lake asset that marketplace_ingest updates. The day it owns is the
newest day the triggering ingest runs put events in (or every day of the ``days`` Param,
to back-fill). A day's run covers the ``lookback_days`` up to it, so its folder flags every
listing still on sale. The listing images of that window are hashed and OCR'd in mapped
tasks (one per shard, spread over the workers; pictures already indexed are cheap), then
one task merges the shards into the image index and scores listings, chats and sellers
into ``runs/<day>/fraud``.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task
from bunjang_common import (DAYS_PARAM, DEFAULT_ARGS, FRAUD_RESULTS, IMAGE_QUEUE, LAKE_EVENTS, START_DATE, folders, params,
                            run_days)


@dag(
    dag_id="fraud_scan",
    schedule=[LAKE_EVENTS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # runs share the image index
    default_args=DEFAULT_ARGS,
    params=params(
        "lake", "runs", "models", "image_index",
        days=DAYS_PARAM,
        shard_size=Param(200, type="integer", minimum=1, description="images per mapped task"),
        lookback_days=Param(7, type="integer", minimum=1, description="days up to the run's day that its scan covers"),
    ),
    tags=["bunjang", "fraud"],
    doc_md=__doc__,
)
def fraud_scan():
    @task
    def plan(**context) -> list[dict]:
        from bunjang_lab.pipeline import plan_image_shards

        params = context["params"]
        return plan_image_shards(folders(params)["lake"], run_days(context, "dates"), params["shard_size"], params["lookback_days"])

    @task(max_active_tis_per_dagrun=2, queue=IMAGE_QUEUE)  # leave task slots to the other DAGs on a small machine
    def scan_images(planned: dict, params=None) -> str:
        from bunjang_lab.pipeline import scan_image_shard

        where = folders(params)
        return scan_image_shard(planned, where["runs"], where["image_index"])

    @task(outlets=[FRAUD_RESULTS], trigger_rule="none_failed")
    def scan(parts, outlet_events=None, **context) -> dict:
        from bunjang_lab.pipeline import scan_fraud_days

        params = context["params"]
        where = folders(params)
        days = run_days(context, "dates")
        results = scan_fraud_days(where["lake"], where["runs"], days, where["image_index"], list(parts or []),
                                  models=where["models"], lookback_days=params["lookback_days"])
        outlet_events[FRAUD_RESULTS].extra = {"days": days}
        return results

    scan(scan_images.expand(planned=plan()))


fraud_scan()
