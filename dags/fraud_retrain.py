"""fraud_retrain (daily): retrain the fraud models on the moderators' decisions, gate, promote or keep.

The window is the ``window_days`` up to the end of the run's data interval. The candidate
trains on the window's older decisions and is compared with the served models on the most
recent ones held back (paired bootstrap interval, the ranker's gate); ``models/fraud/latest``
moves only if it is not worse. Every candidate is kept with its gate decision in its
``meta.json``; ``python -m bunjang_lab fraud rollback`` serves the previous version again.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task
from bunjang_common import DEFAULT_ARGS, START_DATE, folders, interval_days, params


@dag(
    dag_id="fraud_retrain",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # runs move the same models/fraud/latest
    default_args=DEFAULT_ARGS,
    params=params(
        "lake", "models",
        window_days=Param(14, type="integer", minimum=1, description="days of decisions up to the run's day"),
        # 0.02 is intervals.NOT_WORSE_TOLERANCE, not imported so parsing this file stays light
        tolerance=Param(0.02, type="number", minimum=0, maximum=1,
                        description="relative drop of agreement with the decisions allowed against production"),
    ),
    tags=["bunjang", "fraud"],
    doc_md=__doc__,
)
def fraud_retrain():
    @task
    def retrain(**context) -> dict:
        from bunjang_lab.pipeline import fraud_retrain_window

        params = context["params"]
        where = folders(params)
        return fraud_retrain_window(where["lake"], where["models"], interval_days(context)[-1], params["window_days"],
                                    params["tolerance"])

    retrain()


fraud_retrain()
