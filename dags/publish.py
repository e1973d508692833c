"""publish (after a new model or new fraud results): products and flags to the cache.

Computes the recommendation products of the newest day the triggering assets name
(with that day's fraud flags keeping flagged listings out of the feeds) into
``runs/<day>/products``: the shared tables first, then the per-user tables mapped over
``user_shards`` shards of users (one task each, spread over the workers), merged into one
products folder; then publishes ``runs/<day>`` to the serving cache as a new
version, refits the ads' click-through calibration on its vectors and forgets the cache's
per-day ad state of old days. The cache URL comes
from the Airflow Connection ``bunjang_cache`` (for example
``redis://redis:6379/0``); without it, the ``cache_url`` Param, then ``BUNJANG_CACHE_URL``,
then the embedded SQLite cache under ``BUNJANG_HOME``.
"""

from __future__ import annotations

from airflow.sdk import BaseHook, Param, dag, task
from airflow.sdk.exceptions import AirflowNotFoundException, AirflowSkipException
from bunjang_common import (
    CACHE_CONNECTION, DAYS_PARAM, DEFAULT_ARGS, FRAUD_RESULTS, MODEL_LATEST, SERVING_CACHE, START_DATE, folders, params, run_days,
)


def cache_url(explicit: str | None) -> str:
    """The Param, else the ``bunjang_cache`` Connection, else the BUNJANG_HOME default."""
    if explicit:
        return explicit
    try:
        connection = BaseHook.get_connection(CACHE_CONNECTION)
    except AirflowNotFoundException:
        from bunjang_lab import paths

        return paths.cache_url()
    if connection.conn_type == "redis":
        from bunjang_lab.connections import redis_url

        return redis_url(connection.host, connection.port, connection.schema, connection.login, connection.password)
    return connection.get_uri()


@dag(
    dag_id="publish",
    schedule=(MODEL_LATEST | FRAUD_RESULTS),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,  # versions must be published in order
    default_args=DEFAULT_ARGS,
    params=params(
        "lake", "runs", "models",
        days=DAYS_PARAM,
        cache_url=Param(None, type=["null", "string"], description="cache URL overriding the bunjang_cache Connection"),
        keep=Param(3, type="integer", minimum=1, description="cache versions kept for roll-back"),
        user_shards=Param(2, type="integer", minimum=1, description="user shards the home feeds are computed in (one mapped task each)"),
    ),
    tags=["bunjang", "serving"],
    doc_md=__doc__,
)
def publish():
    @task
    def plan_products(**context) -> list[dict]:
        from bunjang_lab.pipeline import plan_product_shards

        params = context["params"]
        where = folders(params)
        return plan_product_shards(where["lake"], where["models"], where["runs"], run_days(context, "days", "day")[-1],
                                   params["user_shards"])

    @task
    def user_shard(planned: dict, params=None) -> dict:
        from bunjang_lab.pipeline import compute_day_product_shard

        where = folders(params)
        compute_day_product_shard(where["lake"], where["models"], where["runs"], planned)
        return planned

    @task
    def products(shards, params=None) -> str:
        from bunjang_lab.pipeline import merge_day_products

        shards = list(shards)
        merge_day_products(folders(params)["lake"], folders(params)["runs"], shards[0]["day"], shards[0]["shards"])
        return shards[0]["day"]

    @task(outlets=[SERVING_CACHE])
    def to_cache(day: str, params=None, outlet_events=None) -> dict:
        from bunjang_lab.pipeline import publish_day

        result = publish_day(folders(params)["runs"], day, cache_url(params.get("cache_url")), params["keep"])
        outlet_events[SERVING_CACHE].extra = {"day": day, "version": result.get("version")}
        return result

    @task
    def ad_calibration(day: str, params=None) -> dict:
        """Refit the ads' click-through calibration on the published vectors (skipped while
        there are too few ad impressions to fit it)."""
        from bunjang_lab.errors import NotEnoughData
        from bunjang_lab.pipeline import calibrate_ads

        where = folders(params)
        try:
            return calibrate_ads(where["lake"], where["runs"], day, cache_url(params.get("cache_url")))
        except NotEnoughData as exc:
            raise AirflowSkipException(str(exc)) from None

    @task
    def ad_state(day: str, params=None) -> dict:
        """Forget the cache's per-day ad state of days the ads ledger has long billed."""
        from bunjang_lab.pipeline import forget_ad_state

        return forget_ad_state(cache_url(params.get("cache_url")), day)

    day = products(user_shard.expand(planned=plan_products()))
    to_cache(day) >> [ad_calibration(day), ad_state(day)]


publish()
