"""Charts and rendering, without the pipeline: every chart is a valid PNG, empty data included."""

import io
import json

import pandas as pd
import pytest
from PIL import Image

from bunjang_lab.report import charts, render
from bunjang_lab.report.model import Chart, Gallery, Note, Section, Table


def assert_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.verify()
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.width > 100 and image.height > 100
    return image


DAYS = pd.DataFrame({"click": [5, 7], "검색": [2, 3]}, index=["2026-10-01", "2026-10-02"])


@pytest.mark.parametrize("draw", [
    lambda: charts.stacked_bars(DAYS, "이벤트 per day"),
    lambda: charts.lines(DAYS, "users"),
    lambda: charts.horizontal_bars(pd.Series({"카톡 유도": 4, "phishing": 1}), "rules"),
    lambda: charts.grouped_bars(DAYS, "models"),
    lambda: charts.histograms({"flagged": pd.Series([0.1, 0.9, 0.8]), "not": pd.Series([0.1, 0.2])}, "scores"),
    lambda: charts.lorenz(pd.Series([1, 2, 10]), "exposure"),
])
def test_every_chart_kind_is_a_valid_png(draw):
    assert_png(draw())


@pytest.mark.parametrize("draw", [
    lambda: charts.stacked_bars(pd.DataFrame(), "empty"),
    lambda: charts.horizontal_bars(pd.Series(dtype=float), "empty"),
    lambda: charts.histograms({"flagged": pd.Series(dtype=float)}, "empty"),
    lambda: charts.lorenz(pd.Series(dtype=float), "empty"),
])
def test_empty_data_still_draws_a_chart_saying_so(draw):
    assert_png(draw())


def test_korean_font_is_installed_and_used():
    assert charts.korean_font() is not None, "install fonts-nanum (make system-deps)"


def test_render_outputs_agree(tmp_path):
    frame = pd.DataFrame({"model": ["fm", "popular"], "ndcg@10": [0.31, 0.12]})
    section = Section("Recommender", summary={"users": 120})
    section.add(Chart("metrics", "Metrics", frame.set_index("model"), charts.grouped_bars(frame.set_index("model"), "m")))
    section.add(Table("metrics_table", "Metrics <table>", frame))
    section.add(Gallery("clusters", "Clusters", [[("a", b"\xff\xd8fake")]]))
    section.add(Note("nothing else"))
    page = render.to_html("t", "s", [section])
    assert page.count("<img") == 2 and "Metrics &lt;table&gt;" in page and "http" not in page
    figures = render.to_json("t", [section])
    assert figures["sections"]["Recommender"]["tables"]["metrics_table"]["rows"][0]["ndcg@10"] == 0.31
    json.dumps(figures)
    written = render.write_csv([section], tmp_path)
    assert sorted(p.name for p in written) == ["metrics.csv", "metrics_table.csv"]
    assert pd.read_csv(tmp_path / "metrics_table.csv")["model"].tolist() == ["fm", "popular"]
