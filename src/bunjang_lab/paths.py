"""Where the pipeline reads and writes by default.

Everything generated lives under one home folder, ``BUNJANG_HOME`` (default: ``var/``
in the repository root), so a user who types no paths still gets a working setup::

    var/lake/          the Parquet event lake (ingest); ``BUNJANG_LAKE`` puts it elsewhere,
                       an object store included (``s3://bucket/lake``, see bunjang_lab.storage)
    var/runs/<run>/    products and fraud results of one batch run
    var/cache.sqlite   the embedded serving cache
    var/reports/       batch reports

A relative output path a user types (``--out runs/today``, ``publish runs/today``) is
taken under the home folder too (:func:`in_home`); input data paths stay relative to the
current folder.

Trained models go to the top-level ``models/`` folder (``BUNJANG_MODELS``).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _root() -> Path:
    """The repository root for a source checkout, else the working directory."""
    return REPO_ROOT if (REPO_ROOT / "pyproject.toml").exists() else Path.cwd()


def home() -> Path:
    return Path(os.environ.get("BUNJANG_HOME") or _root() / "var")


def in_home(path: str | os.PathLike) -> Path:
    """Where a path given for the pipeline's own output lives: a relative path is taken
    under the home folder (not the current one), so ``--out runs/today`` lands in
    ``BUNJANG_HOME/runs/today`` wherever the command runs; an absolute path stays.

    >>> os.environ["BUNJANG_HOME"] = "/srv/bunjang"
    >>> str(in_home("runs/today")), str(in_home("/tmp/run"))
    ('/srv/bunjang/runs/today', '/tmp/run')
    >>> del os.environ["BUNJANG_HOME"]
    """
    path = Path(path).expanduser()
    return path if path.is_absolute() else home() / path


def lake_dir() -> str:
    """``BUNJANG_LAKE`` (a path or an fsspec URL) or the home folder's ``lake``."""
    return os.environ.get("BUNJANG_LAKE") or str(home() / "lake")


def runs_dir() -> Path:
    return home() / "runs"


def reports_dir() -> Path:
    return home() / "reports"


def models_dir() -> Path:
    return Path(os.environ.get("BUNJANG_MODELS") or _root() / "models")


def sample_dir() -> Path:
    return _root() / "data" / "sample"


def cache_url() -> str:
    """``BUNJANG_CACHE_URL`` or the embedded SQLite file under the home folder."""
    return os.environ.get("BUNJANG_CACHE_URL") or f"sqlite:///{home() / 'cache.sqlite'}"
