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


def matrix_filename(metric: str | None) -> str:
    """matrix_<metric>.csv (chrf++ -> matrix_chrfpp.csv); matrix_off_target.csv for None."""
    if metric is None:
        return "matrix_off_target.csv"
    return "matrix_" + chart_filename(metric).removeprefix("chart_").removesuffix(".png") + ".csv"


def write_directions_results(out_dir: str | os.PathLike, report, *, segments: Mapping | None = None,
                             run: Mapping | None = None) -> dict[str, Path]:
    """An any-to-any report (any_to_any.DirectionsReport): results.md/.csv/.json as write_results,
    plus one wide CSV per metric (matrix_<metric>.csv: system, source, one column per target)
    and matrix_off_target.csv. No charts: the matrices are the picture."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {"results.md": _write(out / "results.md", report.markdown()),
               "results.csv": _write(out / "results.csv", report.csv_text()),
               "results.json": write_json(out / "results.json", {**report.to_dict(), "segments": segments or {}})}
    for metric in [*report.metrics, *([None] if report.off_target else [])]:
        name = matrix_filename(metric)
        written[name] = _write(out / name, report.matrix_csv(metric))
    if run is not None:
        written["run.json"] = write_json(out / "run.json", dict(run))
    return written
