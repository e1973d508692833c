"""batch_report (daily): the HTML, JSON and CSV report of the day into ``reports/<day>/``."""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task
from bunjang_common import DEFAULT_ARGS, START_DATE, folders, interval_days, params


@dag(
    dag_id="batch_report",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    default_args=DEFAULT_ARGS,
    params=params(
        "lake", "runs", "models", "reports",
        labels=Param(None, type=["null", "string"], description="ground-truth labels folder (adds precision and recall per rule)"),
    ),
    tags=["bunjang", "report"],
    doc_md=__doc__,
)
def batch_report():
    @task
    def report(**context) -> str:
        from bunjang_lab.pipeline import build_day_report

        params = context["params"]
        where = folders(params)
        return build_day_report(where["lake"], where["runs"], where["reports"], interval_days(context)[0],
                                models=where["models"], labels=params.get("labels"))

    report()


batch_report()
