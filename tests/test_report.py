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

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample_day(tmp_path_factory):
    """data/sample through every stage into a temporary home; returns the home and the run day."""
    from bunjang_lab import demo

    home = tmp_path_factory.mktemp("report_home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BUNJANG_HOME", str(home))
        env.setenv("BUNJANG_MODELS", str(home / "models"))
        env.setenv("USER", "bunjang")
        env.delenv("BUNJANG_CACHE_URL", raising=False)
        summary = demo.run_demo(SAMPLE, report=lambda line: None)
    return home, summary


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
    assert set(figures["sections"]) == {"Data health", "Recommender", "Fraud", "Operations"}
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
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()) == home / "reports" / summary["day"] / "report.html"
    missing = subprocess.run([sys.executable, "-m", "bunjang_lab", "report", "--date", "1999-01-01"],
                             capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no run '1999-01-01'" in missing.stderr


def test_report_of_an_empty_home_says_what_is_missing(tmp_path):
    from bunjang_lab.report.build import build_report

    html_path = build_report(tmp_path / "lake", tmp_path / "runs", tmp_path / "out")
    page = html_path.read_text(encoding="utf-8")
    assert "The lake holds no events yet." in page and "No fraud results in this run." in page
