"""Fraud detection: text rules, learned models, image checks and one explained risk."""
