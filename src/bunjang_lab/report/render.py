"""Render a report three ways: one self-contained HTML page, JSON figures, CSV tables."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from bunjang_lab.report.model import Chart, Gallery, Note, Section, Table

MAX_TABLE_ROWS = 50

CSS = """
body{font-family:'NanumGothic','Noto Sans KR',sans-serif;margin:0;background:#f5f6f8;color:#222}
header{background:#1f2a44;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9d3e8;font-size:13px}
nav{padding:8px 32px;background:#fff;border-bottom:1px solid #e1e4ea;position:sticky;top:0}
nav a{margin-right:18px;color:#3b6fd8;text-decoration:none;font-size:14px}
main{padding:8px 32px 40px;max-width:1200px}
section{background:#fff;border-radius:8px;margin:18px 0;padding:16px 22px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h2{margin:4px 0 12px;font-size:19px}h3{font-size:14px;margin:18px 0 6px;color:#444}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#f0f3fa;border-radius:6px;padding:8px 12px;min-width:110px}
.card b{display:block;font-size:17px}.card span{font-size:11px;color:#666}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts figure{margin:0}.charts img{max-width:560px;width:100%}
figcaption{font-size:12px;color:#555}table{border-collapse:collapse;font-size:12px;margin:4px 0}
th,td{border-bottom:1px solid #eceef2;padding:4px 8px;text-align:left}th{background:#f7f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}.note{color:#8a6d3b;font-size:13px}
.gallery{display:flex;gap:8px;margin:6px 0;align-items:flex-end}.gallery figure{margin:0;text-align:center}
.gallery img{height:96px;border:1px solid #ddd}
"""


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _anchor(title: str) -> str:
    return title.lower().replace(" ", "-")


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _table_html(frame: pd.DataFrame) -> str:
    shown = frame.head(MAX_TABLE_ROWS)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    rows = []
    for record in shown.itertuples(index=False):
        cells = []
        for value in record:
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else _format(value)
            cells.append(f"<td class='num'>{html.escape(text)}</td>" if numeric else f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p class='note'>{len(frame) - MAX_TABLE_ROWS:,} more rows in the CSV.</p>" if len(frame) > MAX_TABLE_ROWS else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _section_html(section: Section) -> str:
    parts = [f"<section id='{_anchor(section.title)}'><h2>{html.escape(section.title)}</h2>"]
    if section.summary:
        cards = "".join(f"<div class='card'><b>{html.escape(_format(v))}</b><span>{html.escape(k.replace('_', ' '))}</span></div>"
                        for k, v in section.summary.items() if v is not None)
        parts.append(f"<div class='cards'>{cards}</div>")
    charts = [item for item in section.items if isinstance(item, Chart)]
    if charts:
        figures = "".join(f"<figure><img alt='{html.escape(c.title)}' src='{_data_uri(c.png, 'image/png')}'>"
                          f"<figcaption>{html.escape(c.title)}</figcaption></figure>" for c in charts)
        parts.append(f"<div class='charts'>{figures}</div>")
    for item in section.items:
        if isinstance(item, Table):
            parts.append(f"<h3>{html.escape(item.title)}</h3>{_table_html(item.frame)}")
        elif isinstance(item, Gallery):
            parts.append(f"<h3>{html.escape(item.title)}</h3>")
            for row in item.rows:
                figures = "".join(f"<figure><img alt='{html.escape(caption)}' src='{_data_uri(data, 'image/jpeg')}'>"
                                  f"<figcaption>{html.escape(caption)}</figcaption></figure>" for caption, data in row if data)
                parts.append(f"<div class='gallery'>{figures}</div>")
        elif isinstance(item, Note):
            parts.append(f"<p class='note'>{html.escape(item.text)}</p>")
    parts.append("</section>")
    return "".join(parts)


def to_html(title: str, subtitle: str, sections: list[Section]) -> str:
    nav = "".join(f"<a href='#{_anchor(s.title)}'>{html.escape(s.title)}</a>" for s in sections)
    body = "".join(_section_html(s) for s in sections)
    return (f"<!DOCTYPE html><html lang='ko'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
            f"<nav>{nav}</nav><main>{body}</main></body></html>")


def _records(frame: pd.DataFrame) -> list[dict]:
    named = frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()
    return json.loads(named.to_json(orient="records", date_format="iso", force_ascii=False))


def to_json(title: str, sections: list[Section]) -> dict:
    return {
        "title": title,
        "sections": {
            s.title: {
                "summary": s.summary,
                "charts": {c.name: {"title": c.title, "data": _records(c.data)} for c in s.items if isinstance(c, Chart)},
                "tables": {t.name: {"title": t.title, "rows": _records(t.frame)} for t in s.items if isinstance(t, Table)},
                "notes": [n.text for n in s.items if isinstance(n, Note)],
            }
            for s in sections
        },
    }


def write_csv(sections: list[Section], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for section in sections:
        for item in section.items:
            if isinstance(item, (Table, Chart)):
                frame = item.frame if isinstance(item, Table) else item.data
                frame = frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index()
                path = folder / f"{item.name}.csv"
                frame.to_csv(path, index=False)
                written.append(path)
    return written
