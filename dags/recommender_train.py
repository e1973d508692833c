"""recommender_train (daily): train the FM on the day, gate it, promote or keep.

Trains a candidate on every event up to the end of the data interval into
``models/fm-<day>``, evaluates it against the baselines and the model in production,
and moves ``models/latest`` only if it is not worse beyond the tolerance. A failed gate
keeps the old model: ``promote`` is then skipped (the run shows it, and the decision is
in ``runs/<day>/train.json``) and publish is not triggered.
"""

from __future__ import annotations

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task
from airflow.sdk.exceptions import AirflowSkipException
from bunjang_common import DEFAULT_ARGS, MODEL_LATEST, START_DATE, folders, interval_days, params


@dag(
    dag_id="recommender_train",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # runs move the same models/latest
    default_args=DEFAULT_ARGS,
    params=params(
        "lake", "runs", "models",
        # 0.02 is evaluation.gate.GATE_TOLERANCE, not imported so parsing this file stays light
        tolerance=Param(0.02, type="number", minimum=0, maximum=1,
                        description="relative drop of the gate metric allowed against production"),
        retrain=Param(False, type="boolean", description="train again even when models/fm-<day> exists"),
    ),
    tags=["bunjang", "recommender"],
    doc_md=__doc__,
)
def recommender_train():
    @task
    def train(**context) -> str:
        from bunjang_lab.pipeline import train_candidate

        params = context["params"]
        where = folders(params)
        return train_candidate(where["lake"], where["models"], interval_days(context)[0], retrain=params["retrain"],
                               runs=where["runs"])

    @task
    def gate(candidate: str, **context) -> dict:
        from bunjang_lab.pipeline import gate_candidate

        params = context["params"]
        where = folders(params)
        day = interval_days(context)[0]
        return gate_candidate(candidate, where["models"], where["lake"], where["runs"], day, params["tolerance"]) | {"day": day}

    @task(outlets=[MODEL_LATEST])
    def promote(decision: dict, outlet_events=None) -> dict:
        """Announce the new model; skipped (so publish is not triggered) when the gate said no."""
        if not decision.get("promoted"):
            raise AirflowSkipException(f"gate kept the production model: {decision.get('reason', decision)}")
        outlet_events[MODEL_LATEST].extra = {"day": decision["day"], "version": decision.get("version", decision["candidate"])}
        return decision

    promote(gate(train()))


recommender_train()
