"""batch_report (daily): the HTML, JSON and CSV report of the day into ``reports/<day>/``."""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, dag, task
from bunjang_common import DEFAULT_ARGS, START_DATE, folders, params


@dag(
    dag_id="batch_report",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    params=params("lake", "runs", "reports"),
    tags=["bunjang", "report"],
    doc_md=__doc__,
)
def batch_report():
    @task
    def report(params=None, data_interval_start=None) -> str:
        from bunjang_lab.pipeline import as_day, build_day_report

        where = folders(params)
        return build_day_report(where["lake"], where["runs"], where["reports"], as_day(data_interval_start).isoformat())

    report()


batch_report()
