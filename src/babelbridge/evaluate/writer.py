"""The files of an evaluation directory, each written atomically:

    results.md     the tables (report.py)          results.csv   one row per system/metric/language
    results.json   scores, averages, ratios and every segment (sources, references, hypotheses)
    chart_<metric>.png                             run.json      provenance (provenance.py)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping

from ..textio import atomic_output
from .plots import chart_filename, have_matplotlib, plot_metric
from .report import Report


def _write(path: Path, text: str) -> Path:
    with atomic_output(path) as f:
        f.write(text)
    return path


def write_json(path: Path, obj) -> Path:
    return _write(path, json.dumps(obj, ensure_ascii=False, indent=1) + "\n")


def write_results(out_dir: str | os.PathLike, report: Report, *, segments: Mapping | None = None,
                  run: Mapping | None = None, charts: bool = True) -> dict[str, Path]:
    """Write the report's files into out_dir; returns name -> path of what was written.

    segments: language -> {"sources", "references", "hypotheses": {system: [...]}, ...}, kept
    whole in results.json. Charts are skipped (noted in the report) without matplotlib.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    if charts and not have_matplotlib():
        report.notes.append("Charts skipped: matplotlib is not installed (pip install 'babelbridge[plots]').")
        charts = False
    if charts:
        for metric in report.metrics:
            tmp = out / f".{chart_filename(metric)}.tmp.png"
            plot_metric(report, metric, tmp)
            written[chart_filename(metric)] = tmp.replace(out / chart_filename(metric))
    written["results.md"] = _write(out / "results.md", report.markdown())
    written["results.csv"] = _write(out / "results.csv", report.csv_text())
    written["results.json"] = write_json(out / "results.json", {**report.to_dict(), "segments": segments or {}})
    if run is not None:
        written["run.json"] = write_json(out / "run.json", dict(run))
    return written
