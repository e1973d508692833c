"""marketplace_ingest (hourly): new landing files into the lake, then announce them.

Picks up the JSON Lines files producers dropped in the landing folder, ingests them
(validated, deduplicated, bad records quarantined), moves them to
``landing/_processed/<ingest run>/`` and updates the lake asset with the event days that
received events, which triggers fraud_scan for exactly those days.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, task
from airflow.sdk.exceptions import AirflowSkipException
from bunjang_common import DEFAULT_ARGS, LAKE_EVENTS, START_DATE, folders, interval_start, params


@dag(
    dag_id="marketplace_ingest",
    schedule=CronDataIntervalTimetable("@hourly", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # two runs moving the same landing files would race
    default_args=DEFAULT_ARGS,
    params=params("landing", "lake"),
    tags=["bunjang", "ingest"],
    doc_md=__doc__,
)
def marketplace_ingest():
    @task
    def ingest(**context) -> dict:
        from bunjang_lab.pipeline import ingest_landing

        where = folders(context["params"])
        return ingest_landing(where["landing"], where["lake"], f"airflow-{interval_start(context):%Y%m%dT%H%M}")

    @task(outlets=[LAKE_EVENTS])
    def announce(summary: dict, outlet_events=None) -> dict:
        """Update the lake asset only when events were accepted (else nothing downstream)."""
        if not summary["accepted"]:
            raise AirflowSkipException(f"no new events ({len(summary['files'])} files read)")
        outlet_events[LAKE_EVENTS].extra = {"run_id": summary["run_id"], "dates": summary["dates"]}
        return {"dates": summary["dates"], "accepted": summary["accepted"]}

    announce(ingest())


marketplace_ingest()
