"""Where the pipeline reads and writes by default.

Everything generated lives under one home folder, ``BUNJANG_HOME`` (default: ``var/``
in the repository root), so a user who types no paths still gets a working setup::

    var/lake/          the Parquet event lake (ingest)
    var/runs/<run>/    products and fraud results of one batch run
    var/cache.sqlite   the embedded serving cache
    var/reports/       batch reports

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


def lake_dir() -> Path:
    return home() / "lake"


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
