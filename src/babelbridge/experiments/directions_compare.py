"""Paired comparisons and groups of languages in an any-to-any experiment's report.

The report's pooled bootstrap tests every system against the one baseline; some questions are
between two other systems, on part of a class. LMT's PMP claim is one: the same bridge with and
without the auxiliary sentence (not against p = 100%), on the "in-group" directions (whose
auxiliary is a relative) apart from the others. The experiment file asks for them:

    report:
      compare:                                   # paired bootstrap, system against another
        - {system: lmt-p5-pmp-o, against: lmt-p5}
      groups:                                    # each class split by its non-hub language(s)
        Romance: [fra_Latn, spa_Latn, ita_Latn, por_Latn, ron_Latn]
        other: [deu_Latn, pol_Latn, tur_Latn]

A group holds the directions of a class whose every non-hub language is in it (X->En: the source;
En->X: the target; X->Y: both). Each comparison is tested per class, on the whole class and on
each group, for every sacrebleu metric, segments pooled as in the baseline's test.
"""

from __future__ import annotations

from ..errors import BabelBridgeError
from ..evaluate.any_to_any import MAX_POOLED_SEGMENTS
from ..evaluate.report import _fmt_p, metric_name
from ..evaluate.significance import DEFAULT_SAMPLES
from .report import _f, _table

WHOLE_CLASS = "all"


def check_section(section: dict, systems, languages, where: str) -> None:
    """report.compare and report.groups of an experiment file, checked when it is read."""
    compare = section.get("compare")
    if compare is not None:
        if not isinstance(compare, list):
            raise BabelBridgeError(f"{where}: report.compare must be a list of {{system: A, against: B}}")
        for i, entry in enumerate(compare):
            if not isinstance(entry, dict) or set(entry) != {"system", "against"}:
                raise BabelBridgeError(f"{where}: report.compare[{i}] must be {{system: A, against: B}}; "
                                       f"got {entry!r}")
            missing = [str(entry[k]) for k in ("system", "against") if entry[k] not in systems]
            if missing:
                raise BabelBridgeError(f"{where}: report.compare[{i}] names {', '.join(missing)}, not among the "
                                       f"systems ({', '.join(systems)})")
            if entry["system"] == entry["against"]:
                raise BabelBridgeError(f"{where}: report.compare[{i}] compares {entry['system']} with itself")
    groups = section.get("groups")
    if groups is not None:
        if not isinstance(groups, dict) or not groups:
            raise BabelBridgeError(f"{where}: report.groups must map a group's name to its languages")
        known = set(languages or ())
        for name, langs in groups.items():
            if not isinstance(langs, list) or not langs:
                raise BabelBridgeError(f"{where}: report.groups.{name} must be a non-empty list of language codes")
            unknown = [str(lang) for lang in langs if lang not in known]
            if unknown:
                raise BabelBridgeError(f"{where}: report.groups.{name}: {', '.join(unknown)} not among the "
                                       f"evaluation's languages ({', '.join(languages or ())})")
            if WHOLE_CLASS == name:
                raise BabelBridgeError(f"{where}: report.groups: {WHOLE_CLASS!r} names the whole class; "
                                       "call the group something else")


def restricted(section: dict, keep: set) -> dict:
    """report.compare with only the comparisons whose two systems are kept."""
    if "compare" not in section:
        return section
    return {**section, "compare": [c for c in section["compare"] if c["system"] in keep and c["against"] in keep]}


def group_directions(directions, hubs, languages) -> list:
    """The directions whose every non-hub language (one at least) is among `languages`."""
    inside = set(languages)
    own = [(d, [lang for lang in (d.src, d.tgt) if lang not in hubs]) for d in directions]
    return [d for d, langs in own if langs and all(lang in inside for lang in langs)]


def _scopes(report, classes, groups: dict) -> list[tuple[str, str, list]]:
    """(class, group, directions) for each class and each group with directions in it."""
    out = []
    for c in classes:
        ds = report.classes[c]
        out.append((c, WHOLE_CLASS, ds))
        for name, langs in groups.items():
            part = group_directions(ds, report.hubs, langs)
            if part:
                out.append((c, name, part))
    return out


def _group_averages(report, scopes) -> dict:
    """system -> metric -> class -> group -> {score, floor, gap}: the mean over the group's cells."""
    out: dict = {}
    for s in report.systems:
        for m in report.metrics:
            for c, g, ds in scopes:
                out.setdefault(s, {}).setdefault(m, {}).setdefault(c, {})[g] = {
                    w: report.average_over(ds, s, m, w) for w in ("score", "floor", "gap")}
    return out


def _pairs(section: dict, systems) -> list[tuple[str, str]]:
    return [(c["system"], c["against"]) for c in section.get("compare") or []
            if c["system"] in systems and c["against"] in systems]


def compare(section: dict, ev, classes, *, n_samples: int = DEFAULT_SAMPLES) -> tuple[list[str], dict]:
    """The report's lines and JSON for report.groups and report.compare (none when the file has neither)."""
    from ..evaluate.metrics import SACREBLEU_METRICS, sacrebleu_metric
    from ..evaluate.significance import pooled_paired_bootstrap

    report = ev.report
    groups = section.get("groups") or {}
    pairs = _pairs(section, report.systems)
    if not groups and not pairs:
        return [], {}
    scopes = _scopes(report, classes, groups)
    lines: list[str] = []
    data: dict = {}
    if groups:
        averages = _group_averages(report, scopes)
        data["groups"] = {"languages": groups, "averages": averages}
        lines += ["## By group of languages", "",
                  "Each class split by its non-hub language: " + "; ".join(f"{g}: {', '.join(ls)}"
                                                                          for g, ls in groups.items()) + ".", ""]
        shown = [(c, g, ds) for c, g, ds in scopes if g != WHOLE_CLASS]
        for m in report.metrics:
            rows = [[s] + [_score_gap(averages[s][m][c][g]) for c, g, _ in shown] for s in report.systems]
            lines += [f"{metric_name(m)}, score (gap over the floor):", "",
                      _table(["system"] + [f"{c} {g} ({len(ds)})" for c, g, ds in shown], rows), ""]
    if pairs:
        segments = ev.segments()  # the shape pooled_paired_bootstrap reads (results.json's)
        metrics = [m for m in report.metrics if m in SACREBLEU_METRICS]
        tests = []
        for system, against in pairs:
            for c, g, ds in scopes:
                result = {"system": system, "against": against, "class": c, "group": g,
                          "directions": [d.name for d in ds]}
                for m in metrics:
                    r = pooled_paired_bootstrap(segments, result["directions"], sacrebleu_metric(m), baseline=against,
                                                system=system, n_samples=n_samples, max_segments=MAX_POOLED_SEGMENTS)
                    result[m] = {k: r[k] for k in ("baseline_score", "score", "difference", "p", "segments")}
                tests.append(result)
        data["compare"] = tests
        header = ["system", "against", "class", "directions"]
        for m in metrics:
            header += [f"{metric_name(m)} against", "score", "difference", "p"]
        rows = [[t["system"], t["against"], t["class"], f"{t['group']} ({len(t['directions'])})"]
                + [v for m in metrics for v in (_f(t[m]["baseline_score"]), _f(t[m]["score"]),
                                                _f(t[m]["difference"], signed=True), _fmt_p(t[m]["p"]))]
                for t in tests]
        lines += ["## Paired comparisons (report.compare)", "",
                  _table(header, rows, text_columns=4), "",
                  f"Paired bootstrap ({n_samples} resamples), the segments of the directions pooled into one corpus; "
                  "\"against\" is the second system's score on the same segments.", ""]
    return lines, data


def _score_gap(cell: dict) -> str:
    score, gap = cell["score"], cell["gap"]
    return _f(score) + ("" if score is None or gap is None else f" ({gap:+.2f})")

