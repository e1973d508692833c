"""bunjang_lab: recommendation and fraud-detection pipeline for a used-goods marketplace.

Kept import-light on purpose: ``python -m bunjang_lab.score`` imports this package
first, and a cached lookup must answer in milliseconds.
"""

__version__ = "0.1.0"
