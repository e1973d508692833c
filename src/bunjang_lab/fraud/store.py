"""Trained fraud models on disk: ``models/fraud/<version>/`` and an atomically moved ``latest``.

A version folder holds ``text_classifier.pkl`` and/or ``seller_anomaly.pkl`` (pickled
scikit-learn estimators) and ``meta.json`` (training data, parameters, metrics). Finding
the latest version uses the standard library only; unpickling imports scikit-learn, so
callers load a model only when they are about to use it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
from pathlib import Path
from typing import Any

from bunjang_lab import files, paths
from bunjang_lab.errors import ModelError

CLASSIFIER_FILE = "text_classifier.pkl"
ANOMALY_FILE = "seller_anomaly.pkl"
META_FILE = "meta.json"
LATEST = "latest"


def root(models_dir: str | os.PathLike | None = None) -> Path:
    """``<models>/fraud`` (``models_dir`` or :func:`bunjang_lab.paths.models_dir`)."""
    return Path(models_dir or paths.models_dir()) / "fraud"


def latest(models_dir: str | os.PathLike | None = None) -> Path | None:
    """The latest trained version folder, or None when nothing was trained yet."""
    link = root(models_dir) / LATEST
    return link.resolve() if (link / META_FILE).exists() else None


def save(models: dict[str, Any], meta: dict, models_dir: str | os.PathLike | None = None) -> Path:
    """Write a new version (``models``: ``{"classifier": ..., "anomaly": ...}``) and then,
    only once it is complete, point ``latest`` at it in one atomic rename."""
    base = root(models_dir)
    version = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    folder = base / version
    folder.mkdir(parents=True)
    for name, filename in (("classifier", CLASSIFIER_FILE), ("anomaly", ANOMALY_FILE)):
        if models.get(name) is not None:
            with open(folder / filename, "wb") as f:
                pickle.dump(models[name], f, protocol=pickle.HIGHEST_PROTOCOL)
    (folder / META_FILE).write_text(json.dumps({"version": version, **meta}, ensure_ascii=False, indent=2),
                                    encoding="utf-8")
    files.replace_symlink(base / LATEST, version)
    return folder


def load(folder: str | os.PathLike, name: str):
    """The pickled ``"classifier"`` or ``"anomaly"`` of a version folder, or None."""
    path = Path(folder) / (CLASSIFIER_FILE if name == "classifier" else ANOMALY_FILE)
    if not path.exists():
        return None
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception as exc:  # unpickling can fail in many ways; all mean "retrain"
        raise ModelError(f"cannot read the fraud model {path} ({type(exc).__name__}: {exc}); "
                         "retrain it with `python -m bunjang_lab fraud train`") from None


def meta(folder: str | os.PathLike) -> dict:
    return json.loads((Path(folder) / META_FILE).read_text(encoding="utf-8"))
