"""Progress bars for a person at a terminal, nothing in logs or pipes."""

from __future__ import annotations

import io
import subprocess
import sys

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
