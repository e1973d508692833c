"""The four sections of the batch report, each built from the lake and the run folders.

Inputs that a run may lack (no fraud results yet, no evaluation) become a note saying
so, never an error: the report is most needed when something upstream went wrong.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

from bunjang_lab import lake as lake_io
from bunjang_lab import stages
from bunjang_lab.fraud.mask import mask
from bunjang_lab.marketplace import state
from bunjang_lab.report import charts
from bunjang_lab.report.model import Chart, Gallery, Note, Section, Table

KEY_METRICS = ("ndcg@10", "hr@10", "recall@20", "coverage")
DAYS_SHOWN = 30  # daily charts cover the last month; sign-ups reach back years
MAX_REASONS_SHOWN = 3


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_parquet(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.exists() else None


def _has_data(frame: pd.DataFrame, points: int = 1) -> bool:
    """At least ``points`` rows, and a value other than zero or missing somewhere."""
    numbers = frame.select_dtypes("number")
    return len(frame) >= points and bool(numbers.fillna(0).ne(0).any().any())


def _chart(section: Section, name: str, title: str, data, draw, empty: str, points: int = 1) -> None:
    """A chart of ``data``, or the sentence ``empty`` when there is nothing to draw (no
    rows, only zeros, or fewer than ``points`` rows for a trend): never an empty axis."""
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    if _has_data(frame, points):
        section.add(Chart(name, title, frame, draw()))
    else:
        section.add(Note(empty))


# --- Data health -----------------------------------------------------------------

def data_health(lake: str) -> Section:
    section = Section("Data health")
    events = lake_io.read_events(lake, columns=["event_id", "type", "ts", "user_id", "item_id", "status"])
    if events.empty:
        section.add(Note("The lake holds no events yet."))
        return section
    events["day"] = events["ts"].dt.strftime("%Y-%m-%d")
    # A sign-up is stamped with the account's creation, years back for old accounts: the
    # window the marketplace's behaviour covers is that of every other event.
    signup = events["type"] == "signup"
    behaviour, signups = events.loc[~signup, "day"], events.loc[signup, "day"]
    first_day = behaviour.min() if len(behaviour) else events["day"].min()  # daily charts start there, not years back
    per_day = pd.crosstab(events["day"], events["type"]).loc[first_day:].tail(DAYS_SHOWN)
    section.summary.update(events=int(len(events)),
                           behaviour_from=behaviour.min() if len(behaviour) else None,
                           behaviour_to=behaviour.max() if len(behaviour) else None,
                           oldest_signup=signups.min() if len(signups) else None)
    _chart(section, "events_per_type_per_day", f"Events per type per day (last {DAYS_SHOWN} days)", per_day,
           lambda: charts.stacked_bars(per_day, "Events per type per day", "events"), "No events per day to draw.")

    manifests = pd.DataFrame(lake_io.read_manifests(lake))
    if manifests.empty:
        section.add(Note("No ingest manifests: the lake was not written by `ingest`."))
    else:
        counts = manifests.set_index("run_id")[["accepted", "duplicates", "quarantined"]]
        section.summary.update({k: int(v) for k, v in counts.sum().items()})
        section.summary["read"] = int(manifests["read"].sum())
        _chart(section, "ingest_outcomes", "Accepted, duplicate and quarantined records per ingest run", counts,
               lambda: charts.stacked_bars(counts, "Ingest outcomes per run", "records"), "The ingest runs read no records.")
        reasons = lake_io.read_quarantine(lake)
        if not reasons.empty:
            by_reason = reasons["reason"].value_counts()
            _chart(section, "quarantine_reasons", "Quarantined records by reason", by_reason,
                   lambda: charts.horizontal_bars(by_reason, "Quarantine reasons", "records"), "No record was quarantined.")
        timing_columns = [c for c in ("late", "out_of_order") if c in manifests.columns]
        if timing_columns:
            late = manifests.set_index("run_id")[timing_columns].fillna(0)
            section.summary.update({c: int(late[c].sum()) for c in timing_columns})
            _chart(section, "late_and_out_of_order", "Late and out-of-order events per ingest run", late,
                   lambda: charts.stacked_bars(late, "Late and out-of-order events", "events"),
                   f"No late or out-of-order events in any of the {len(late)} ingest runs.")
        scalars = [c for c in manifests.columns if not manifests[c].map(lambda v: isinstance(v, (dict, list))).any()]
        section.add(Table("ingest_runs", "Ingest runs", manifests[scalars]))

    _chart(section, "users_and_live_listings", "Users and live listings at the end of each day",
           growth := _users_and_live_listings(events, first_day),
           lambda: charts.lines(growth, "Users and live listings over time"),
           "Users and live listings need two days of events to draw a trend.", points=2)
    return section


def _users_and_live_listings(events: pd.DataFrame, first_day: str) -> pd.DataFrame:
    """Users (every account so far) and live listings at the end of each day from ``first_day``."""
    days = sorted(events["day"].unique())
    signups = events[events["type"] == "signup"].groupby("day").size().reindex(days, fill_value=0).cumsum()
    shown = [day for day in days if day >= first_day][-DAYS_SHOWN:]
    items = state.catalog(events)
    ends = pd.to_datetime(pd.Index(shown)).tz_localize("UTC") + pd.Timedelta(days=1) - pd.Timedelta(milliseconds=1)
    live = [int(state.available(items, end).sum()) for end in ends]
    return pd.DataFrame({"users": signups.loc[shown].to_numpy(), "live listings": live}, index=pd.Index(shown, name="day"))


# --- Recommender -----------------------------------------------------------------

def _evaluation_table(evaluation: dict) -> pd.DataFrame:
    rows = {model: metrics for model, metrics in evaluation.get("results", {}).items() if isinstance(metrics, dict)}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    return frame[[c for c in frame.columns if not isinstance(frame[c].iloc[0], dict)]] if not frame.empty else frame


def recommender(lake: str, runs: list[Path], run_dir: Path) -> Section:
    section = Section("Recommender")
    gate = _read_json(run_dir / "train.json")
    evaluation = (gate or {}).get("evaluation")
    if evaluation:
        table = _evaluation_table(evaluation)
        section.summary.update(evaluated_users=evaluation.get("users"))
        section.add(Table("model_evaluation", f"Models against baselines ({evaluation.get('protocol')})", table.reset_index(names="model")))
        shown = table[[c for c in KEY_METRICS if c in table.columns]]
        _chart(section, "model_evaluation", "Key metrics per model", shown,
               lambda: charts.grouped_bars(shown.T, "Key metrics per model"), "The evaluation holds none of the key metrics.")
        cold = _evaluation_table(evaluation.get("cold") or {})
        if not cold.empty:
            section.add(Table("cold_item_evaluation", "The same on cold items (listed after the cut-off)", cold.reset_index(names="model")))
        for product, metrics in (evaluation.get("products") or {}).items():
            if isinstance(metrics, dict) and isinstance(metrics.get("results"), dict):
                notes = ", ".join(f"{k} {v}" for k, v in metrics.items() if k != "results")
                table = pd.DataFrame.from_dict(metrics["results"], orient="index").reset_index(names="variant")
                section.add(Table(f"product_{product}", f"Product against its baseline: {product} ({notes})", table))
    else:
        section.add(Note("The training gate recorded no evaluation for this run (no model trained, or no validation window)."))

    trend = _metric_trend(runs)
    _chart(section, "metric_trend", "Key metrics of each day's candidate over past runs", trend,
           lambda: charts.lines(trend, "Metric trend over runs"),
           f"The metric trend needs two evaluated runs; {len(trend)} so far.", points=2)

    if gate:
        section.summary["gate"] = "promoted" if gate.get("promoted") else "kept previous model"
        decision = {k: v for k, v in gate.items() if k != "evaluation"}
        section.add(Table("gate", "What the promotion gate decided", pd.json_normalize(decision)))

    home = _read_parquet(run_dir / "products" / "home.parquet")
    if home is None or home.empty:
        section.add(Note("No home feeds in this run."))
        return section
    market = _listings_now(lake)
    listings, live = market.listings.set_index("item_id"), len(market.live)
    exposure = home["item_id"].value_counts()
    section.summary.update(users_with_feed=int(home["user_id"].nunique()),
                           catalogue_coverage=round(len(exposure) / live, 4) if live else None,
                           gini=round(charts.gini(exposure), 4))
    _chart(section, "popularity_concentration", "How concentrated home-feed exposure is", exposure.rename("impressions"),
           lambda: charts.lorenz(exposure, "Popularity concentration"), "No item is shown in any home feed.")
    section.add(Table("example_feeds", "Example feeds", _example_feeds(home, listings)))
    return section


def _metric_trend(runs: list[Path]) -> pd.DataFrame:
    rows = {}
    for run in runs:
        results = ((_read_json(run / "train.json") or {}).get("evaluation") or {}).get("results", {})
        if "candidate" in results:
            rows[run.name] = {m: results["candidate"].get(m) for m in KEY_METRICS if isinstance(results["candidate"].get(m), (int, float))}
    return pd.DataFrame.from_dict(rows, orient="index")


def _listings_now(lake: str) -> state.Snapshot:
    """The listings as the newest event leaves them (only the events that shape listings are read)."""
    events = lake_io.read_events(lake, types=["listing", "listing_status", "purchase"],
                                 columns=["type", "ts", "user_id", "item_id", "title", "category", "price", "status"])
    return state.snapshot(events)


def _example_feeds(home: pd.DataFrame, listings: pd.DataFrame, users: int = 3, k: int = 5) -> pd.DataFrame:
    chosen = home["user_id"].drop_duplicates().head(users)
    feed = home[home["user_id"].isin(chosen) & (home["rank"] <= k)].sort_values(["user_id", "rank"])
    feed = feed.join(listings[["title", "category", "price"]], on="item_id")
    feed["title"] = feed["title"].fillna("").map(mask)
    return feed[["user_id", "rank", "item_id", "title", "category", "price", "score"]].reset_index(drop=True)


# --- Fraud -----------------------------------------------------------------------

def _reasons(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (result row, reason), with the reason's code and category."""
    parsed = frame["reasons"].map(lambda value: json.loads(value) if isinstance(value, str) else list(value or []))
    exploded = frame.assign(reason=parsed).explode("reason").dropna(subset=["reason"])
    exploded["code"] = exploded["reason"].map(lambda r: r.get("code"))
    exploded["category"] = exploded["reason"].map(lambda r: r.get("category"))
    return exploded


def fraud(lake: str, run_dir: Path, labels: Path | None) -> Section:
    section = Section("Fraud")
    fraud_dir = run_dir / "fraud"
    listings = _read_parquet(fraud_dir / "listings.parquet")
    messages = _read_parquet(fraud_dir / "messages.parquet")
    if listings is None and messages is None:
        section.add(Note("No fraud results in this run."))
        return section

    scored = []
    if listings is not None:
        times = lake_io.read_events(lake, types=["listing"], columns=["item_id", "ts"]).drop_duplicates("item_id")
        scored.append(listings.merge(times, on="item_id", how="left").assign(kind="listing", key=lambda f: f["item_id"]))
    if messages is not None:
        times = lake_io.read_events(lake, types=["chat"], columns=["event_id", "ts"])
        scored.append(messages.merge(times, on="event_id", how="left").assign(kind="message", key=lambda f: f["event_id"]))
    results = pd.concat(scored, ignore_index=True)
    flagged = results[results["flagged"].astype(bool)]
    section.summary.update(scored=int(len(results)), flagged=int(len(flagged)),
                           flagged_listings=int((flagged["kind"] == "listing").sum()),
                           flagged_messages=int((flagged["kind"] == "message").sum()))
    hits = _reasons(flagged)
    if not hits.empty:
        hits["day"] = hits["ts"].dt.strftime("%Y-%m-%d")
        per_category = pd.crosstab(hits["day"], hits["category"])
        _chart(section, "flags_per_category_per_day", "Flags per category per day", per_category,
               lambda: charts.stacked_bars(per_category, "Flags per category per day", "flags"), "No flag has a category.")
        per_rule = pd.crosstab(hits["code"], hits["day"])
        section.add(Table("flags_per_rule_per_day", "Flags per rule per day", per_rule.reset_index(names="rule")))
        by_rule = hits["code"].value_counts()
        _chart(section, "flags_per_rule", "Flags per rule", by_rule,
               lambda: charts.horizontal_bars(by_rule, "Flags per rule", "flags"), "No flag names a rule.")

    if labels is not None:
        quality = _rule_quality(results, labels)
        if not quality.empty:
            section.add(Table("rule_quality", "Precision and recall per rule against the labels", quality))

    sellers = _read_parquet(fraud_dir / "sellers.parquet")
    if sellers is not None and not sellers.empty:
        flagged_sellers = sellers["flagged"].astype(bool)
        section.summary.update(sellers=int(len(sellers)), flagged_sellers=int(flagged_sellers.sum()))
        section.add(Table("riskiest_sellers", "Riskiest sellers (personal data masked)", _riskiest_sellers(sellers)))
        if "anomaly_score" in sellers.columns:
            scored_sellers = sellers["anomaly_score"].notna()
            groups = {"flagged": sellers.loc[flagged_sellers & scored_sellers, "anomaly_score"],
                      "not flagged": sellers.loc[~flagged_sellers & scored_sellers, "anomaly_score"]}
            data = sellers.loc[scored_sellers, ["user_id", "anomaly_score", "flagged"]]
            _chart(section, "anomaly_scores", "Seller anomaly scores, flagged and not", data,
                   lambda: charts.histograms(groups, "Seller anomaly scores", "anomaly score"),
                   "No seller has an anomaly score (no anomaly model, or too little activity).")
            unscored = int((flagged_sellers & ~scored_sellers).sum())
            if unscored and scored_sellers.any():  # so the histogram's counts add up to the summary's
                section.add(Note(f"{unscored} of the {int(flagged_sellers.sum())} flagged sellers have no anomaly score "
                                 f"(flagged by their listings' and messages' rules alone) and are not in the histogram."))

    images = _read_parquet(fraud_dir / "images.parquet")
    if images is not None and not images.empty:
        clusters = _image_clusters(images)
        section.summary["reused_image_clusters"] = len(clusters)
        if clusters:
            section.add(Gallery("reused_images", "Reused-image clusters (each row one photo and its copies)",
                                [[(caption, _thumbnail(path)) for caption, path in cluster] for cluster in clusters[:8]]))
    return section


def _labelled_fraud(labels: Path) -> dict[str, dict[str, set[str]]]:
    """kind -> id -> labelled fraud categories (listings by item_id, messages by event_id)."""
    out = {}
    for kind, file, key in (("listing", "listings.csv", "item_id"), ("message", "messages.csv", "event_id")):
        path = labels / file
        if path.exists():
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            out[kind] = {k: set(types.split(";")) - {""} for k, types in zip(frame[key], frame["fraud_types"])}
    return out


def _rule_quality(results: pd.DataFrame, labels: Path) -> pd.DataFrame:
    truth = _labelled_fraud(labels)
    results = results[results["kind"].isin(truth)]
    if results.empty:
        return pd.DataFrame()
    types = [truth[kind].get(key, set()) for kind, key in zip(results["kind"], results["key"])]
    results = results.assign(types=types, fraud=[bool(t) for t in types])
    hits = _reasons(results)
    positives = int(results["fraud"].sum())
    rows = []
    for code, fired in hits.groupby("code"):
        fired = fired.drop_duplicates(["kind", "key"])
        category = fired["category"].iloc[0]
        # Recall against the rule's own category where the labels use it, else against all fraud.
        in_category = results["types"].map(lambda t: category in t)
        relevant = in_category if in_category.any() else results["fraud"]
        caught = int(fired["types"].map(lambda t: category in t if in_category.any() else bool(t)).sum())
        true_hits = int(fired["fraud"].sum())
        rows.append({"rule": code, "category": category, "fired": len(fired),
                     "precision": round(true_hits / len(fired), 4),
                     "recall_in_category": round(caught / int(relevant.sum()), 4) if relevant.any() else None})
    flagged = results["flagged"].astype(bool)
    true_flags = int((flagged & results["fraud"]).sum())
    rows.append({"rule": "(flagged)", "category": "all", "fired": int(flagged.sum()),
                 "precision": round(true_flags / flagged.sum(), 4) if flagged.sum() else None,
                 "recall_in_category": round(true_flags / positives, 4) if positives else None})
    return pd.DataFrame(rows).sort_values("fired", ascending=False, ignore_index=True)


def _riskiest_sellers(sellers: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    top = sellers.sort_values("risk", ascending=False).head(n)
    parsed = _reasons(top.assign(reasons=top["reasons"].fillna("[]")))
    summary = (parsed.assign(text=parsed["reason"].map(lambda r: f"{r.get('code')}: {mask(str(r.get('evidence') or ''))}"))
               .groupby("user_id")["text"].agg(lambda texts: "; ".join(list(texts)[:MAX_REASONS_SHOWN])))
    out = top[["user_id", "risk", "flagged"] + (["anomaly_score"] if "anomaly_score" in top.columns else [])].copy()
    out["reasons"] = out["user_id"].map(summary).fillna("")
    out["risk"] = out["risk"].round(3)
    return out.reset_index(drop=True)


def _image_clusters(images: pd.DataFrame) -> list[list[tuple[str, str]]]:
    """Connected groups of images that matched each other, largest first."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    listing_of = {}
    for row in images.itertuples():
        listing_of[row.image] = row.item_id
        matches = json.loads(row.matches) if isinstance(row.matches, str) else list(row.matches or [])
        for match in matches:
            listing_of.setdefault(match["image"], match.get("listing"))
            parent[find(match["image"])] = find(row.image)
    groups: dict[str, list[str]] = {}
    for image in parent:
        groups.setdefault(find(image), []).append(image)
    clusters = [sorted(members) for members in groups.values() if len(members) > 1]
    clusters.sort(key=len, reverse=True)
    return [[(f"listing {listing_of.get(image)}", image) for image in cluster[:6]] for cluster in clusters]


def _thumbnail(path: str, size: int = 120) -> bytes:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.thumbnail((size, size))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="JPEG", quality=80)
            return buffer.getvalue()
    except OSError:
        return b""


# --- Operations ------------------------------------------------------------------

def operations(run_dir: Path, models_dir: Path) -> Section:
    section = Section("Operations")
    run = _read_json(run_dir / "run.json") or {}
    latest = models_dir / "latest"
    model_meta = _read_json(latest / "meta.json") if latest.exists() else None
    recorded = stages.read(run_dir)
    if recorded:
        timings = pd.DataFrame.from_dict(recorded, orient="index").rename_axis("stage")
        seconds = timings["seconds"]
        section.summary["stages_seconds"] = round(float(seconds.sum()), 1)
        _chart(section, "stage_seconds", "Seconds per stage, as each stage recorded it", seconds,
               lambda: charts.horizontal_bars(seconds, "How long each stage took", "seconds"),
               "Every stage recorded took under a millisecond.")
        section.add(Table("stage_times", "Stage records of this run (runs/<day>/stages/)", timings.reset_index()))
        section.add(Note("Each stage keeps its wall time when it finishes; mapped image shards add their own times "
                         "(in Airflow they may run side by side). Writing this report is not in the sum: see the "
                         "time at the top."))
    else:
        section.add(Note("No stage records in this run (runs/<day>/stages/): it was not built by the pipeline's tasks."))
    section.summary["model_version"] = (run.get("products") or {}).get("model") or (model_meta or {}).get("version")
    published = _read_json(run_dir / "publish.json")
    if published:
        section.summary["cache_version"] = published.get("version")
        section.add(Table("published", "What was published", pd.json_normalize(published)))
    else:
        section.add(Note("This run was not published to the cache."))
    return section
