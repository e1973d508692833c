"""The batch report built from real runs of the pipeline on data/sample."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE = REPO_ROOT / "data" / "sample"

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sample_demo")]  # on the worker that ran the demo


@pytest.fixture(scope="module")
def sample_day(sample_demo):
    """data/sample through every stage (the session's demo run); returns its home and summary."""
    return sample_demo


def _sample_texts() -> list[str]:
    texts = []
    for day_file in sorted(SAMPLE.glob("*.jsonl*")):
        opener = gzip.open if day_file.suffix == ".gz" else open
        with opener(day_file, "rt", encoding="utf-8") as lines:
            for line in lines:
                event = json.loads(line)
                texts += [event.get(field) or "" for field in ("title", "description", "text")]
    return texts


def _personal_numbers() -> set[str]:
    """Phone and account numbers written in the sample, as digits (obfuscations undone)."""
    from bunjang_lab.fraud.normalise import normalise

    numbers = set()
    for text in _sample_texts():
        numbers.update(re.findall(r"\d{9,14}", re.sub(r"(?<=\d)[\s.\-]+(?=\d)", "", normalise(text).text)))
    return numbers


def _visible_text(page: str) -> str:
    return re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "", page)


def test_report_has_every_section_and_valid_charts(sample_day):
    home, summary = sample_day
    html_path = Path(summary["report"])
    page = html_path.read_text(encoding="utf-8")
    for section in ("Data health", "Recommender", "Fraud", "Operations"):
        assert f"<h2>{section}</h2>" in page
    pictures = re.findall(r"data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)", page)
    charts = [data for kind, data in pictures if kind == "png"]
    assert len(charts) >= 8
    for _, data in pictures:
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        image.verify()
    figures = json.loads((html_path.parent / "figures.json").read_text(encoding="utf-8"))
    assert set(figures["sections"]) == {"Data health", "Recommender", "Fraud", "Fraud feedback", "Operations", "Ads"}
    chart_names = {name for s in figures["sections"].values() for name in s["charts"]}
    assert {"events_per_type_per_day", "flags_per_category_per_day", "anomaly_scores", "stage_seconds"} <= chart_names
    assert figures["sections"]["Data health"]["summary"]["read"] == summary["ingest"]["read"]
    tables = {p.stem: pd.read_csv(p) for p in (html_path.parent / "tables").glob("*.csv")}
    assert {"example_feeds", "rule_quality", "riskiest_sellers", "ingest_runs"} <= set(tables)
    assert (tables["example_feeds"]["title"].str.len() > 0).all()
    quality = tables["rule_quality"].set_index("rule")
    assert 0 < quality.loc["(flagged)", "precision"] <= 1


def test_no_personal_number_appears_unmasked(sample_day):
    _, summary = sample_day
    numbers = _personal_numbers()
    assert len(numbers) > 20  # the sample does contain contact and account numbers
    report_dir = Path(summary["report"]).parent
    for path in [report_dir / "report.html", report_dir / "figures.json", *report_dir.glob("tables/*.csv")]:
        visible = _visible_text(path.read_text(encoding="utf-8"))
        joined = re.sub(r"(?<=\d)[\s.\-]+(?=\d)", "", visible)
        leaked = sorted(n for n in numbers if n in joined)
        assert not leaked, f"{path.name} shows {leaked[:3]}"


def test_page_opens_in_a_real_browser_without_errors_or_requests(sample_day, tmp_path):
    from bunjang_lab.report.browser import check_page

    _, summary = sample_day
    page = check_page(Path(summary["report"]))
    assert page.errors == []
    # Read as a person would: the behaviour window, not the oldest account; the stage total
    assert f"{summary['day']}\nbehaviour to" in page.text and "oldest signup" in page.text
    assert "stages seconds" in page.text and "Writing this report is not in the sum" in page.text
    assert "Seconds per stage, as each stage recorded it" in page.text
    assert all(url.startswith(("file://", "data:")) for url in page.requests)
    shot = Image.open(io.BytesIO(page.screenshot))
    assert shot.format == "PNG" and shot.height > 1000
    # Not a blank page: the screenshot has the header's dark band and varied content.
    assert len(set(shot.convert("L").resize((64, 256)).tobytes())) > 20


def test_report_command_writes_to_the_home_folder_by_default(sample_day):
    home, summary = sample_day
    env = {"BUNJANG_HOME": str(home), "BUNJANG_MODELS": str(home / "models"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "bunjang_lab", "report", "--date", summary["day"]],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr  # no bar in a pipe
    assert Path(proc.stdout.strip()) == home / "reports" / summary["day"] / "report.html"
    missing = subprocess.run([sys.executable, "-m", "bunjang_lab", "report", "--date", "1999-01-01"],
                             capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no run '1999-01-01'" in missing.stderr


def test_report_of_an_empty_home_says_what_is_missing(tmp_path, monkeypatch):
    import io

    from bunjang_lab.report.build import build_report

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)  # a person at a terminal sees the sections counted
    html_path = build_report(tmp_path / "lake", tmp_path / "runs", tmp_path / "out")
    page = html_path.read_text(encoding="utf-8")
    assert "The lake holds no events yet." in page and "No fraud results in this run." in page
    assert "report:" in terminal.getvalue() and "7/7 [" in terminal.getvalue() and "fraud feedback section" in terminal.getvalue()


def test_report_tells_the_truth_about_the_run(sample_day):
    """Stage times add up to the demo's own total, every chart has data, counts agree."""
    from bunjang_lab import lake

    home, summary = sample_day
    figures = json.loads((Path(summary["report"]).parent / "figures.json").read_text(encoding="utf-8"))
    sections = figures["sections"]

    operations = sections["Operations"]
    demo_total = sum(summary["seconds"].values())
    assert abs(operations["summary"]["stages_seconds"] - demo_total) <= 0.1 * demo_total, (operations["summary"], summary["seconds"])
    stages = {row["stage"]: row["seconds"] for row in operations["tables"]["stage_times"]["rows"]}
    assert {"ingest", "fraud-train", "fraud-images", "fraud-scan", "train", "gate", "products", "publish"} <= set(stages)
    assert stages["fraud-images"] + stages["fraud-scan"] == pytest.approx(summary["seconds"]["fraud"], rel=0.1, abs=1)

    for section in sections.values():
        for name, chart in section["charts"].items():
            numbers = [v for row in chart["data"] for v in row.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
            assert any(numbers), f"chart {name} has nothing to draw"
        assert "metric_trend" not in section["charts"]  # one evaluated run: a sentence instead of a single dot
    assert any("needs two evaluated runs" in note for note in sections["Recommender"]["notes"])

    fraud = sections["Fraud"]
    assert fraud["summary"]["flagged_sellers"] == summary["fraud"]["flagged_sellers"]
    assert fraud["summary"]["flagged_listings"] == summary["fraud"]["flagged_listings"]
    histogram_flagged = sum(1 for row in fraud["charts"]["anomaly_scores"]["data"] if row["flagged"])
    unscored = [n for n in fraud["notes"] if "have no anomaly score" in n]
    left_out = int(unscored[0].split()[0]) if unscored else 0
    assert histogram_flagged + left_out == fraud["summary"]["flagged_sellers"]

    events = lake.read_events(str(home / "lake"), columns=["type", "ts"])
    behaviour = events[events["type"] != "signup"]["ts"]
    health = sections["Data health"]["summary"]
    assert health["behaviour_from"] == behaviour.min().strftime("%Y-%m-%d")
    assert health["oldest_signup"] < health["behaviour_from"]  # the sample has accounts older than its window


@pytest.mark.parametrize("make_run, message", [
    (lambda runs: None, "no runs under"),
    (lambda runs: (runs / "today" / "fraud").mkdir(parents=True), "run today under"),
])
def test_report_on_a_run_without_products_is_a_one_line_error(tmp_path, make_run, message):
    home = tmp_path / "home"
    make_run(home / "runs")
    env = {"BUNJANG_HOME": str(home), "BUNJANG_MODELS": str(home / "models"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "bunjang_lab", "report"], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "" and not (home / "reports").exists()
    assert proc.stderr.count("\n") == 1 and message in proc.stderr
