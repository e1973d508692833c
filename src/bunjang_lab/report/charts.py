"""Charts as PNG bytes, drawn with matplotlib's Agg backend and a Korean font.

Every chart function takes plain data (pandas objects) and returns PNG bytes, so the
HTML page embeds them and the tests can check each is a valid image.
"""

from __future__ import annotations

import io
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402

KOREAN_FONTS = ("NanumGothic", "NanumBarunGothic", "Noto Sans CJK KR")
PALETTE = ["#3b6fd8", "#e4572e", "#17bebb", "#ffc914", "#76b041", "#8e6c8a", "#2e282a", "#f28c8c", "#5c9ead", "#a0a0a0"]


@lru_cache(maxsize=1)
def korean_font() -> str | None:
    """The first installed Korean font family (Debian ``fonts-nanum``), or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in KOREAN_FONTS if name in installed), None)


def _style() -> None:
    family = korean_font()
    plt.rcParams.update({
        "font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
        "axes.unicode_minus": False,  # NanumGothic has no U+2212 minus sign
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
        "figure.dpi": 100,
        "font.size": 9,
    })


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _figure(width: float = 7.0, height: float = 3.0):
    _style()
    return plt.subplots(figsize=(width, height))


def _empty(ax, message: str = "no data") -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#888")
    ax.set_xticks([])
    ax.set_yticks([])


def stacked_bars(table: pd.DataFrame, title: str, ylabel: str = "") -> bytes:
    """One bar per index value (e.g. day), stacked by column (e.g. event type)."""
    fig, ax = _figure()
    if table.empty:
        _empty(ax)
    else:
        bottom = None
        labels = [str(i) for i in table.index]
        for column in table.columns:
            values = table[column].to_numpy()
            ax.bar(labels, values, bottom=bottom, label=str(column))
            bottom = values if bottom is None else bottom + values
        ax.legend(fontsize=7, ncol=min(5, len(table.columns)), frameon=False)
        ax.tick_params(axis="x", rotation=45, labelsize=7)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    return _png(fig)


def lines(table: pd.DataFrame, title: str, ylabel: str = "", markers: bool = True) -> bytes:
    """One line per column over the index (days, runs)."""
    fig, ax = _figure()
    if table.empty:
        _empty(ax)
    else:
        labels = [str(i) for i in table.index]
        for column in table.columns:
            ax.plot(labels, table[column].to_numpy(), marker="o" if markers else None, label=str(column))
        ax.legend(fontsize=7, frameon=False)
        ax.tick_params(axis="x", rotation=45, labelsize=7)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    return _png(fig)


def _label(value: float) -> str:
    """A bar's value as a person reads it: 1,255 and 41.8, never 1.26e+03.

    >>> _label(1255.041), _label(41.823), _label(0.0042)
    ('1,255', '41.8', '0.0042')
    """
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def horizontal_bars(series: pd.Series, title: str, xlabel: str = "") -> bytes:
    """Labelled horizontal bars, largest on top (reasons, rules, categories)."""
    fig, ax = _figure(height=max(2.0, 0.3 * len(series) + 1))
    if series.empty:
        _empty(ax)
    else:
        ordered = series.sort_values()
        ax.barh([str(i) for i in ordered.index], ordered.to_numpy(), color=PALETTE[0])
        for y, value in enumerate(ordered.to_numpy()):
            ax.text(value, y, f" {_label(value)}", va="center", fontsize=7)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return _png(fig)


def grouped_bars(table: pd.DataFrame, title: str, ylabel: str = "") -> bytes:
    """Bars grouped by index (e.g. metric), one colour per column (e.g. model)."""
    fig, ax = _figure(height=3.4)
    if table.empty:
        _empty(ax)
    else:
        n = len(table.columns)
        width = 0.8 / n
        for k, column in enumerate(table.columns):
            positions = [i + (k - (n - 1) / 2) * width for i in range(len(table.index))]
            ax.bar(positions, table[column].to_numpy(), width=width, label=str(column))
        ax.set_xticks(range(len(table.index)), [str(i) for i in table.index])
        ax.legend(fontsize=7, ncol=min(4, n), frameon=False)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    return _png(fig)


def histograms(groups: dict[str, pd.Series], title: str, xlabel: str = "", bins: int = 30) -> bytes:
    """Overlaid, density-normalised histograms of a few groups (flagged vs not)."""
    fig, ax = _figure()
    present = {name: values.dropna() for name, values in groups.items() if len(values.dropna())}
    if not present:
        _empty(ax)
    else:
        for name, values in present.items():
            ax.hist(values.to_numpy(), bins=bins, alpha=0.55, density=True, label=f"{name} (n={len(values):,})")
        ax.legend(fontsize=7, frameon=False)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return _png(fig)


def lorenz(counts: pd.Series, title: str) -> bytes:
    """Share of exposure against share of items, with the Gini coefficient."""
    fig, ax = _figure(4.2, 3.2)
    if counts.empty or counts.sum() == 0:
        _empty(ax)
    else:
        values = counts.sort_values().to_numpy(dtype=float)
        cumulative = values.cumsum() / values.sum()
        share = [i / len(values) for i in range(1, len(values) + 1)]
        ax.plot([0, *share], [0, *cumulative], label=f"feeds (Gini {gini(counts):.2f})")
        ax.plot([0, 1], [0, 1], linestyle="--", color="#999", label="equal exposure")
        ax.set_xlabel("share of recommended items")
        ax.set_ylabel("share of impressions")
        ax.legend(fontsize=7, frameon=False)
    ax.set_title(title)
    return _png(fig)


def gini(counts: pd.Series) -> float:
    """Gini coefficient of exposure counts: 0 when every item is shown equally often.

    >>> round(gini(pd.Series([1, 1, 1, 1])), 3), round(gini(pd.Series([0, 0, 0, 10])), 3)
    (0.0, 0.75)
    """
    values = counts.sort_values().to_numpy(dtype=float)
    if len(values) == 0 or values.sum() == 0:
        return 0.0
    n = len(values)
    ranks = range(1, n + 1)
    return float(sum((2 * i - n - 1) * v for i, v in zip(ranks, values)) / (n * values.sum()))
