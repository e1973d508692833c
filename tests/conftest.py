"""Shared fixtures: every test writes under its own temporary BUNJANG_HOME."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Keep ``make test``'s ``--dist loadgroup`` groups on pytest 9.2.

    pytest-xdist 3.8 marks a grouped test by appending ``@group`` to its node id through
    ``item._nodeid``, which pytest 9.2's structured node ids no longer read
    (pytest-dev/pytest-xdist#1386): the groups were silently dropped, so ``sample_demo``
    ran the whole demo once on each worker. This sets the same suffix where pytest reads
    it; it does nothing once xdist's own suffix is in place or outside ``loadgroup``.
    """
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers only
        return
    for item in items:
        groups = {str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                  for mark in item.iter_markers("xdist_group")}
        suffix = "@" + "_".join(sorted(groups))
        if groups and not item.nodeid.endswith(suffix):
            from _pytest.nodeid import NodeId  # pytest 9.2's own node ids (older ones took xdist's suffix)

            item._id = NodeId.parse(item.nodeid + suffix)


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
