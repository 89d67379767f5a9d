"""One PNG per metric: grouped bars (one per system) for each language and average column.

The source-blind floor of each bar is drawn as a black tick across it, so the part of a
score that the source earned is visible. matplotlib is an optional extra (babelbridge[plots]);
figures are drawn on matplotlib's Agg canvas directly, without pyplot's global state.
"""

from __future__ import annotations

import re
from pathlib import Path

from .report import Report, metric_name


def chart_filename(metric: str) -> str:
    return "chart_" + re.sub(r"[^a-z0-9]+", "_", metric.lower().replace("+", "p")).strip("_") + ".png"


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot_metric(report: Report, metric: str, path: str | Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = list(report.languages) + [f"avg {g}" for g in report.columns]
    n_sys = len(report.systems)
    width = 0.8 / n_sys
    fig = Figure(figsize=(max(6.0, 0.25 * len(columns) * (n_sys + 1) + 2), 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, system in enumerate(report.systems):
        scores, floors = [], []
        for lang in report.languages:
            cell = report.cell(system, lang, metric)
            scores.append(cell.score if cell else float("nan"))
            floors.append(cell.floor if cell and cell.floor is not None else float("nan"))
        for group in report.columns:
            avg, floor = report.average(system, metric, group), report.average(system, metric, group, "floor")
            scores.append(float("nan") if avg is None else avg)
            floors.append(float("nan") if floor is None else floor)
        xs = [x + (i - (n_sys - 1) / 2) * width for x in range(len(columns))]
        ax.bar(xs, scores, width=width * 0.95, label=system)
        ax.hlines(floors, [x - width / 2 for x in xs], [x + width / 2 for x in xs], colors="black", linewidth=1.5)
    ax.set_xticks(range(len(columns)), columns, rotation=45 if len(columns) > 6 else 0, ha="right"
                  if len(columns) > 6 else "center")
    ax.set_ylim(bottom=0)
    ax.set_ylabel(metric_name(metric))
    ax.set_title(f"{metric_name(metric)} per language (black ticks: source-blind floor)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: never over a bar
    ax.grid(axis="y", alpha=0.3)
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path
