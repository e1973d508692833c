"""Batch reports: one self-contained HTML page with charts, the figures as JSON, tables as CSV."""
