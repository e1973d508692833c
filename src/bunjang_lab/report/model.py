"""What a report is made of: sections holding charts, tables, galleries and notes.

The same objects are rendered three ways: HTML for people, JSON for the figures' data,
CSV for the tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Chart:
    name: str
    title: str
    data: pd.DataFrame  # the numbers drawn, written to JSON beside the picture
    png: bytes


@dataclass
class Table:
    name: str
    title: str
    frame: pd.DataFrame


@dataclass
class Gallery:
    """Rows of thumbnails shown side by side (e.g. one reused-image cluster a row)."""

    name: str
    title: str
    rows: list[list[tuple[str, bytes]]]  # (caption, PNG/JPEG bytes)


@dataclass
class Note:
    text: str


@dataclass
class Section:
    title: str
    summary: dict[str, object] = field(default_factory=dict)  # headline figures
    items: list = field(default_factory=list)

    def add(self, item) -> None:
        self.items.append(item)
