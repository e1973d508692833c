"""What the project's scikit-learn estimators share beyond scikit-learn itself.

>>> classes, codes = binary_target(["honest", "fraud", "honest"])
>>> classes.tolist(), codes.tolist()
(['fraud', 'honest'], [1, 0, 1])
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from bunjang_lab.errors import InvalidInput


def binary_target(y) -> tuple[np.ndarray, np.ndarray]:
    """(``classes_``, ``y`` as indices 0/1 into them) for a binary classifier.

    Refuses what scikit-learn's binary-only classifiers refuse, in their words, and a
    single class (nothing to separate)."""
    check_classification_targets(y)
    kind = type_of_target(y, input_name="y")
    if kind != "binary":
        raise InvalidInput(f"Only binary classification is supported. The type of the target is {kind}.")
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise InvalidInput(f"y holds one class ({classes[0]!r}); a binary classifier needs two")
    return classes, codes
