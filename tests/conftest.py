"""Shared fixtures: every test writes under its own temporary BUNJANG_HOME."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"

# ``make test``'s ``--dist loadgroup`` groups, told by the workers to the controller in files.
# pytest-xdist 3.8 tells them by appending ``@group`` to each grouped test's node id through
# ``item._nodeid``, which pytest 9.2's structured node ids no longer read
# (pytest-dev/pytest-xdist#1386): the groups were silently dropped and ``sample_demo`` ran the
# whole demo on each worker. Only public hooks carry them here: each worker writes its tests'
# groups where ``pytest_configure_node`` told it, and the controller's scheduler reads them.
GROUPS_FILE = "bunjang_xdist_groups"
_groups_folder = pytest.StashKey[tempfile.TemporaryDirectory]()


def xdist_group(item: pytest.Item) -> str | None:
    """The item's group as xdist names it: its ``xdist_group`` names sorted and joined by ``_``."""
    names = {str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
             for mark in item.iter_markers("xdist_group")}
    return "_".join(sorted(names)) or None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """Controller: the file this worker writes its groups to."""
    config = node.config
    if config.getvalue("dist") != "loadgroup":
        return
    if _groups_folder not in config.stash:
        config.stash[_groups_folder] = tempfile.TemporaryDirectory(prefix="xdist-groups-")
    node.workerinput[GROUPS_FILE] = os.path.join(config.stash[_groups_folder].name, f"{node.gateway.id}.json")


def pytest_collection_modifyitems(config, items):
    path = getattr(config, "workerinput", {}).get(GROUPS_FILE)
    if path:  # a worker under --dist loadgroup
        groups = {item.nodeid: group for item in items if (group := xdist_group(item))}
        Path(path).write_text(json.dumps(groups), encoding="utf-8")


@pytest.hookimpl(optionalhook=True, tryfirst=True)  # before xdist's own
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` with the groups the workers wrote (xdist's own scheduler otherwise)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class WrittenGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if not hasattr(self, "groups"):  # every worker has reported its collection by now
                self.groups = {}
                for path in Path(config.stash[_groups_folder].name).glob("*.json"):
                    self.groups.update(json.loads(path.read_text(encoding="utf-8")))
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return WrittenGroupScheduling(config, log)


def pytest_unconfigure(config):
    if _groups_folder in config.stash:
        config.stash[_groups_folder].cleanup()


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
