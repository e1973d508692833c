"""Progress bars for a person at a terminal, nothing in logs or pipes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time

from bunjang_lab import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_only_on_a_terminal(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(progress.bar(range(5), "hashing", unit="img")) == [0, 1, 2, 3, 4]
    assert "hashing:" in terminal.getvalue() and "/5 [" in terminal.getvalue()  # cleared when done (leave=False)

    log = io.StringIO()  # an Airflow task log, a pipe, a captured test
    monkeypatch.setattr(sys, "stderr", log)
    assert list(progress.bar(range(5), "hashing", unit="img")) == [0, 1, 2, 3, 4]
    assert log.getvalue() == ""


def test_a_command_in_a_pipe_writes_no_bar(tmp_path):
    images = tmp_path / "pictures"
    images.mkdir()
    from PIL import Image

    for n in range(3):
        Image.new("RGB", (64, 64), (n * 80, 20, 200)).save(images / f"p{n}.jpg")
    proc = subprocess.run([sys.executable, "-m", "bunjang_lab", "images", "index", str(images), "--index", str(tmp_path / "idx")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "hashing" not in proc.stderr and "\r" not in proc.stderr
    assert proc.stdout.startswith(f"indexed {images} into ") and "3 pictures seen, 3 added, 0 unreadable" in proc.stdout


def test_steps_count_on_a_terminal_and_stay_silent_elsewhere(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress.Steps("gate", total=3) as done:
        for line in ("window read", "candidate: ndcg@10 0.1", "products evaluated"):
            done(line)
    assert "gate:" in terminal.getvalue() and "3/3 [" in terminal.getvalue() and "products evaluated" in terminal.getvalue()

    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    with progress.Steps("gate", total=3) as done:
        done("window read")
    assert log.getvalue() == ""


def test_training_and_the_gate_show_their_steps_on_a_terminal(tmp_path, monkeypatch):
    from bunjang_lab.evaluation.gate import gate_baselines, promote_if_not_worse
    from bunjang_lab.ingest import ingest_files
    from bunjang_lab.ranking.training import train_model
    from bunjang_lab.simulate import simulate

    simulate(users=60, days=6, seed=1, out=tmp_path / "world", progress=False)
    assert ingest_files([tmp_path / "world"], tmp_path / "lake")["accepted"] > 0
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    model = train_model(tmp_path / "lake", None, tmp_path / "models", promote=False, k=4, epochs=2)
    drawn = terminal.getvalue()
    assert "train:" in drawn and "5/5 [" in drawn and "events read" in drawn and "fitting the FM" in drawn

    decision = promote_if_not_worse(model, tmp_path / "models", tmp_path / "lake")
    steps = 1 + len(gate_baselines()) + 2  # the candidate, the baselines, the window and the products
    drawn = terminal.getvalue()
    assert "evaluation" in decision and "gate:" in drawn and f"{steps}/{steps} [" in drawn and "products evaluated" in drawn


def test_a_long_step_keeps_its_clock_moving(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "TICK_SECONDS", 0.01)
    with progress.Steps("ingest", total=2) as done:
        done("read day.jsonl")
        drawn = terminal.getvalue().count("\r")
        for _ in range(500):  # no step is done meanwhile: only the ticker redraws
            if terminal.getvalue().count("\r") > drawn:
                break
            time.sleep(0.01)
        assert terminal.getvalue().count("\r") > drawn


def test_ingest_counts_its_files_then_the_write_on_a_terminal(tmp_path, monkeypatch):
    from bunjang_lab.ingest import ingest_files

    for day in ("a", "b"):
        (tmp_path / f"{day}.jsonl").write_text(json.dumps({"event_id": f"e-{day}", "type": "search", "user_id": "u1",
                                                           "ts": "2026-05-01T09:00:00+09:00", "query": "나이키"}) + "\n")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert ingest_files([tmp_path / "a.jsonl", tmp_path / "b.jsonl"], tmp_path / "lake")["accepted"] == 2
    drawn = terminal.getvalue()
    assert "ingest:" in drawn and "read b.jsonl" in drawn and "2 of 2 valid events new to the lake" in drawn and "4/4 [" in drawn


def test_a_batch_answered_into_a_file_counts_its_lines_on_the_terminal(tmp_path, monkeypatch):
    from bunjang_lab.serving.commands.common import read_jsonl

    batch = tmp_path / "batch.jsonl"
    batch.write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sys, "stdout", io.StringIO())  # the answers go to a file
    assert [number for number, _ in read_jsonl(str(batch))] == [1, 2]
    assert "lines:" in terminal.getvalue() and "line/s" in terminal.getvalue()

    monkeypatch.setattr(sys, "stdout", Terminal())  # the answers are on the screen: they are the progress
    before = terminal.getvalue()
    assert [number for number, _ in read_jsonl(str(batch))] == [1, 2]
    assert terminal.getvalue() == before
