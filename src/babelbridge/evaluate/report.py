"""Tables from scores: per language, averages, group averages, floors, p-values and ratios.

Input is plain data, so any experiment can call it: scores[system][language][metric] is a
number or a Cell (score, source-blind floor, p-value against the baseline). The layout
follows the HCA paper's Table 2: one row per system, one column per language, then the
group averages (e.g. High, Low) and the average over all languages. An average is given only
when the system has a score for every language it covers (a partial average would not be
comparable), as the paper leaves X-ALMA's averages empty.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..errors import InputError
from .metrics import METRICS

ALL = "All"
SIGNIFICANT = 0.05  # p below this gets a * in the markdown tables


@dataclass(frozen=True)
class Cell:
    score: float
    floor: float | None = None  # the source-blind floor (floor.py)
    p_value: float | None = None  # paired bootstrap against the baseline

    @property
    def gap(self) -> float | None:
        return None if self.floor is None else self.score - self.floor


def metric_name(metric: str) -> str:
    return METRICS.get(metric, metric)


def _mean(values: list[float | None]) -> float | None:
    if not values or any(v is None for v in values):
        return None
    return sum(values) / len(values)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _pct(ratio: float | None) -> str:
    return "–" if ratio is None else f"{100 * ratio:.1f}%"


def _fmt_p(p: float | None) -> str:
    return "–" if p is None else f"{p:.4f}" + ("*" if p < SIGNIFICANT else "")


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class Report:
    scores: dict[str, dict[str, dict[str, Cell]]]
    systems: list[str]
    languages: list[str]
    metrics: list[str]
    groups: dict[str, list[str]] = field(default_factory=dict)
    baseline: str | None = None
    ratios: list[tuple[str, str]] = field(default_factory=list)
    title: str = "Evaluation results"
    notes: list[str] = field(default_factory=list)  # lines printed under the title

    # ---- numbers ----------------------------------------------------------------------------
    def cell(self, system: str, language: str, metric: str) -> Cell | None:
        return self.scores.get(system, {}).get(language, {}).get(metric)

    @property
    def columns(self) -> dict[str, list[str]]:
        """Average columns in order: each group, then All (every language)."""
        return {**self.groups, ALL: list(self.languages)}

    def average(self, system: str, metric: str, group: str = ALL, what: str = "score") -> float | None:
        """Mean of score / floor / gap over a group's languages (None if any is missing)."""
        values = []
        for lang in self.columns[group]:
            cell = self.cell(system, lang, metric)
            values.append(None if cell is None else getattr(cell, what))
        return _mean(values)

    def ratio(self, numerator: str, denominator: str, metric: str, group: str = ALL) -> float | None:
        """avg(numerator) / avg(denominator), e.g. zero-shot / oracle (the HCA paper's 96.7%)."""
        a, b = self.average(numerator, metric, group), self.average(denominator, metric, group)
        return None if a is None or b is None or b == 0 else a / b

    def _has(self, what: str, metric: str) -> bool:
        return any(getattr(c, what) is not None for s in self.systems for l in self.languages
                   if (c := self.cell(s, l, metric)) is not None)

    # ---- outputs ----------------------------------------------------------------------------
    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        out += [*self.notes, ""] if self.notes else []
        for metric in self.metrics:
            out += self._metric_markdown(metric)
        if self.ratios:
            out += ["## Ratios (average of one system / average of another)", ""]
            rows = [[f"{a} / {b}", metric_name(m)] + [_pct(self.ratio(a, b, m, g)) for g in self.columns]
                    for a, b in self.ratios for m in self.metrics]
            out += [_table(["ratio", "metric", *self.columns], rows, numeric_from=2), ""]
        return "\n".join(out).rstrip() + "\n"

    def table(self, metric: str, what: str = "score") -> str:
        """Systems x (languages, group averages, All) of score, floor or gap: the paper's Table 2."""
        cols = list(self.columns)
        rows = [[s] + [_fmt(getattr(c, what) if (c := self.cell(s, l, metric)) else None) for l in self.languages]
                + [_fmt(self.average(s, metric, g, what)) for g in cols] for s in self.systems]
        return _table(["system", *self.languages, *cols], rows)

    def _metric_markdown(self, metric: str) -> list[str]:
        name = metric_name(metric)
        has_floor, has_p = self._has("floor", metric), self.baseline is not None and self._has("p_value", metric)
        out = [f"## {name}", "", self.table(metric), ""]
        if has_floor:
            out += [f"Gap over the source-blind floor ({name} minus {name} against other segments' references):",
                    "", self.table(metric, "gap"), ""]
        header = ["language", "system", name] + (["floor", "gap"] if has_floor else []) + \
                 ([f"p vs {self.baseline}"] if has_p else [])
        rows = []
        for lang in self.languages:
            for s in self.systems:
                c = self.cell(s, lang, metric)
                row = [lang, s, _fmt(c.score if c else None)]
                row += [_fmt(c.floor if c else None), _fmt(c.gap if c else None)] if has_floor else []
                row += [_fmt_p(c.p_value if c else None)] if has_p else []
                rows.append(row)
        out += [_table(header, rows, numeric_from=2), ""]
        if has_p:
            out += [f"p: paired bootstrap resampling against {self.baseline} (sacrebleu's test); "
                    f"* p < {SIGNIFICANT}.", ""]
        return out

    def rows(self) -> list[dict]:
        """One flat row per system x metric x language, then per average column."""
        rows = []
        for s in self.systems:
            for m in self.metrics:
                for lang in self.languages:
                    c = self.cell(s, lang, m)
                    if c is not None:
                        rows.append({"system": s, "metric": m, "language": lang, "score": c.score,
                                     "floor": c.floor, "gap": c.gap, "p_value": c.p_value})
                for g in self.columns:
                    rows.append({"system": s, "metric": m, "language": f"avg:{g}",
                                 "score": self.average(s, m, g), "floor": self.average(s, m, g, "floor"),
                                 "gap": self.average(s, m, g, "gap"), "p_value": None})
        return rows

    def csv_text(self) -> str:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, ["system", "metric", "language", "score", "floor", "gap", "p_value"],
                                lineterminator="\n")
        writer.writeheader()
        for row in self.rows():
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        return buf.getvalue()

    def to_dict(self) -> dict:
        cols = self.columns
        return {
            "systems": self.systems, "languages": self.languages, "metrics": self.metrics,
            "groups": self.groups, "baseline": self.baseline,
            "scores": {s: {l: {m: {"score": c.score, "floor": c.floor, "gap": c.gap, "p_value": c.p_value}
                               for m in self.metrics if (c := self.cell(s, l, m)) is not None}
                           for l in self.languages} for s in self.systems},
            "averages": {s: {m: {g: {w: self.average(s, m, g, w) for w in ("score", "floor", "gap")}
                                 for g in cols} for m in self.metrics} for s in self.systems},
            "ratios": [{"numerator": a, "denominator": b, "metric": m, "group": g, "value": self.ratio(a, b, m, g)}
                       for a, b in self.ratios for m in self.metrics for g in cols],
        }


def _cell(value) -> Cell:
    if isinstance(value, Cell):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"a score must be a number or a Cell, got {value!r}")
    return Cell(float(value))


def build_report(scores: Mapping[str, Mapping[str, Mapping[str, Cell | float]]], *,
                 languages: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
                 groups: Mapping[str, Sequence[str]] | None = None, baseline: str | None = None,
                 ratios: Sequence[tuple[str, str]] = (), title: str = "Evaluation results",
                 notes: Sequence[str] = ()) -> Report:
    """Check and normalise scores[system][language][metric]; orders default to first appearance."""
    norm = {s: {l: {m: _cell(v) for m, v in by_metric.items()} for l, by_metric in by_lang.items()}
            for s, by_lang in scores.items()}
    systems = list(norm)
    if not systems:
        raise InputError("no scores to report")
    seen_langs = list(dict.fromkeys(l for by_lang in norm.values() for l in by_lang))
    seen_metrics = list(dict.fromkeys(m for by_lang in norm.values() for ms in by_lang.values() for m in ms))
    languages = list(languages) if languages is not None else seen_langs
    metrics = list(metrics) if metrics is not None else seen_metrics
    groups = {str(g): list(ls) for g, ls in (groups or {}).items()}
    for g, ls in groups.items():
        if g == ALL:
            raise InputError(f"group name {ALL!r} is reserved for the average over every language")
        unknown = [l for l in ls if l not in languages]
        if unknown or not ls:
            raise InputError(f"group {g!r}: {', '.join(unknown) or 'no languages'} not among the evaluated "
                             f"languages ({', '.join(languages)})")
    for name in ([baseline] if baseline else []) + [x for pair in ratios for x in pair]:
        if name not in norm:
            raise InputError(f"system {name!r} has no scores; systems: {', '.join(systems)}")
    return Report(norm, systems, languages, metrics, groups, baseline, [tuple(r) for r in ratios], title,
                  list(notes))
