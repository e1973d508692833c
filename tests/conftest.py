"""Shared fixtures: every test writes under its own temporary BUNJANG_HOME."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Point BUNJANG_HOME and the models folder at a temporary folder; pictures may be
    read from anywhere under it and the sample data (the image roots)."""
    home = tmp_path / "bunjang_home"
    monkeypatch.setenv("BUNJANG_HOME", str(home))
    monkeypatch.setenv("BUNJANG_IMAGE_ROOTS", os.pathsep.join([str(tmp_path), str(SAMPLE_DIR)]))
    monkeypatch.setenv("BUNJANG_MODELS", str(home / "models"))
    monkeypatch.delenv("BUNJANG_CACHE_URL", raising=False)
    return home


SERVING_REDIS_DB = "redis://127.0.0.1:6379/11"  # the serving tests' own Redis database


@pytest.fixture(params=["sqlite", "redis"])
def cache_url(request, tmp_path):
    """A fresh cache URL on each backend; the Redis keys live under a prefix of their own."""
    from bunjang_lab.serving.backends import open_cache

    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cache.sqlite'}"
        return
    url = f"{SERVING_REDIS_DB}?prefix=test-{uuid.uuid4().hex}:"
    yield url
    with open_cache(url) as cache:
        cache.clear()


@pytest.fixture(scope="session")
def sample_demo(tmp_path_factory):
    """data/sample through every stage of the demo into a home of its own, once per session
    (the report and README tests read it; a test that changes it works on a copy).

    Returns ``(home, summary)`` with the demo's summary (its stage seconds, counts, report path).
    """
    from bunjang_lab import demo

    home = tmp_path_factory.mktemp("sample_home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BUNJANG_HOME", str(home))
        env.setenv("BUNJANG_MODELS", str(home / "models"))
        env.setenv("USER", os.environ.get("USER") or "bunjang")
        env.delenv("BUNJANG_CACHE_URL", raising=False)
        summary = demo.run_demo(SAMPLE_DIR, report=lambda line: None)
    return home, summary
