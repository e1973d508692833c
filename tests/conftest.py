"""Shared fixtures: every test writes under its own temporary BUNJANG_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Point BUNJANG_HOME and the models folder at a temporary folder."""
    home = tmp_path / "bunjang_home"
    monkeypatch.setenv("BUNJANG_HOME", str(home))
    monkeypatch.setenv("BUNJANG_MODELS", str(home / "models"))
    monkeypatch.delenv("BUNJANG_CACHE_URL", raising=False)
    return home
