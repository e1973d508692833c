"""Serving: the versioned cache, the publish step and the ``score`` commands.

Nothing here may import pandas, numpy, scikit-learn, xlearn or Airflow at module level:
``python -m bunjang_lab.score`` answers cached lookups in milliseconds.
"""
