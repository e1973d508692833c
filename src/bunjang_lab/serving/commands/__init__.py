"""One module per ``python -m bunjang_lab.score`` command (see ``bunjang_lab/score.py``)."""
