"""ads_billing (hourly): the ads ledger of the current KST day, reconciled with the events.

Charges every ad impression and click of the day in the lake so far exactly once (by event
id), writes the ledger and the statement per advertiser into ``runs/<KST day>/ads/`` and
checks that they reconcile to the events. The run for the hour that closes a KST day
(15:00 UTC) bills that day whole; a rerun replaces the day's folder with the same rows.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, task
from bunjang_common import DEFAULT_ARGS, START_DATE, folders, params


@dag(
    dag_id="ads_billing",
    schedule=CronDataIntervalTimetable("@hourly", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=params("lake", "runs"),
    tags=["bunjang", "ads"],
    doc_md=__doc__,
)
def ads_billing():
    @task
    def reconcile(**context) -> dict:
        from bunjang_lab.pipeline import bill_ads_hour

        where = folders(context["params"])
        end = context.get("data_interval_end") or context["dag_run"].run_after
        return bill_ads_hour(where["lake"], where["runs"], end.isoformat())

    reconcile()


ads_billing()
