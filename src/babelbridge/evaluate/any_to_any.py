"""Any-to-any evaluation: every direction of a language set, reported as source x target matrices.

A direction is one (source, target) pair, read from a multi-way test set (the Bible's test
books, FLORES-200) as its own TestSet (testsets.load_direction_testsets), so translation,
caching, scores, floors and per-direction p-values are the one-target evaluation's own
(runner.translate_all, runner.score_all). On top of them:

- a matrix per system and metric: rows are sources, columns targets, "-" on the diagonal,
  "·" where a direction was not evaluated; each cell "score (gap over the source-blind floor)",
  the floors in a second matrix;
- averages per class of directions: X->En, En->X, X->Y (neither side English), and with hubs
  into hubs (target a hub), out of hubs (source a hub), no hub (neither side); every class's
  average is the mean over its directions (empty when a direction lacks the score);
- the paired bootstrap of each system against a baseline per direction and, pooled over the
  segments of each class's directions, per class (significance.pooled_paired_bootstrap; a pool
  above MAX_POOLED_SEGMENTS is resampled on an evenly spread subset, its scores stay whole);
- the off-target rate per cell and class: the share of outputs an offline language
  identifier (langid.py) does not call the target language, next to the references' own rate
  (the identifier's noise); "n/a" where it cannot recognise the target language.

Directions are given as `all` (every ordered pair of the languages), `hub-centric` (each
language to and from each hub), `into-hubs`, `out-of-hubs`, or a list "deu_Latn-eng_Latn,...".
Everything here is plain functions on plain data (no argparse): `evaluate_directions`
translates and scores, `score_directions` scores given hypotheses, `build_directions_report`
makes a report from given scores; `DirectionsReport.markdown()` is the markdown.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Mapping, NamedTuple, Sequence

from ..errors import InputError
from ..languages import UnknownLanguageError, normalize_language
from .report import Cell, _cell, _fmt, _fmt_p, _mean, _pct, _table, metric_name
from .significance import DEFAULT_SAMPLES

ENGLISH = "eng_Latn"
SPECS = ("all", "hub-centric", "into-hubs", "out-of-hubs")
HUB_SPECS = ("hub-centric", "into-hubs", "out-of-hubs")
ACCEPTED = ("all, hub-centric, into-hubs, out-of-hubs (the last three with --hubs), or a comma-separated "
            "list of SRC-TGT directions (e.g. deu_Latn-eng_Latn,eng_Latn-fra_Latn)")
ALL = "All"
CLASS_RULES = {  # name -> which directions belong; the hub classes only with hubs
    "X->En": lambda d, hubs: d.tgt == ENGLISH,
    "En->X": lambda d, hubs: d.src == ENGLISH,
    "X->Y": lambda d, hubs: ENGLISH not in d,
    "into hubs": lambda d, hubs: d.tgt in hubs,
    "out of hubs": lambda d, hubs: d.src in hubs,
    "no hub": lambda d, hubs: d.src not in hubs and d.tgt not in hubs,
}
HUB_CLASSES = ("into hubs", "out of hubs", "no hub")
# The pooled bootstrap resamples at most this many segments of a class (stratified over its
# directions): sacrebleu holds 1000 x segments x 24 floats for chrF++, ~0.5 GB at 5,000.
MAX_POOLED_SEGMENTS = 5000
DIAGONAL, NOT_EVALUATED, NA = "-", "·", "n/a"
REFERENCES = "references"  # the off-target row of the references themselves


class Direction(NamedTuple):
    src: str
    tgt: str

    @property
    def name(self) -> str:
        return f"{self.src}-{self.tgt}"

    @classmethod
    def of(cls, value: Direction | tuple[str, str] | str) -> Direction:
        """A Direction from itself, a (src, tgt) pair or its name "src-tgt" (FLORES codes)."""
        if isinstance(value, str):
            src, sep, tgt = value.partition("-")
            if not sep:
                raise InputError(f"direction {value!r} is not SRC-TGT")
            return cls(src, tgt)
        return cls(*value)


# ---- which directions ---------------------------------------------------------------------------


def _code(option: str, code: str) -> str:
    try:
        return normalize_language(code)
    except UnknownLanguageError as err:
        raise InputError(f"{option}: {err}") from None


def parse_directions(text: str, langs: Sequence[str] = (), hubs: Sequence[str] = ()) -> list[Direction]:
    """The directions `text` names (see the module docstring) over `langs` (FLORES-200 codes).

    hubs must be among langs; an explicit list needs no langs, but with langs every language
    of it must be one of them. Errors are one line naming what is accepted.
    """
    langs, hubs, spec = list(langs), list(hubs), text.strip()
    for option, codes in (("--langs", langs), ("--hubs", hubs)):
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        if repeated:
            raise InputError(f"{option} names {', '.join(repeated)} more than once")
    if langs:
        outside = [h for h in hubs if h not in langs]
        if outside:
            raise InputError(f"--hubs {', '.join(outside)} not among --langs ({', '.join(langs)}); "
                             f"a hub is one of the evaluated languages")
    if spec in SPECS:
        if len(langs) < 2:
            raise InputError(f"--directions {spec} needs --langs with at least two languages")
        if spec in HUB_SPECS and not hubs:
            raise InputError(f"--directions {spec} needs --hubs (e.g. --hubs eng_Latn or --hubs eng_Latn,zho_Hans)")
        if spec == "all":
            return [Direction(s, t) for s in langs for t in langs if s != t]
        out = []
        for hub in hubs:
            for x in langs:
                if x != hub:
                    out += ([Direction(x, hub)] if spec != "out-of-hubs" else []) + \
                           ([Direction(hub, x)] if spec != "into-hubs" else [])
        return list(dict.fromkeys(out))  # two hubs name the directions between them twice
    parts = [p.strip() for p in spec.split(",")]
    if not spec or not all(parts):
        raise InputError(f"--directions {text!r}: expected {ACCEPTED}")
    out: list[Direction] = []
    for part in parts:
        src, sep, tgt = part.partition("-")
        if not sep or not src.strip() or not tgt.strip() or "-" in tgt:
            raise InputError(f"--directions {text!r}: {part!r} is not SRC-TGT; accepted: {ACCEPTED}")
        d = Direction(_code(f"--directions {part}", src.strip()), _code(f"--directions {part}", tgt.strip()))
        if d.src == d.tgt:
            raise InputError(f"--directions {part}: source and target are both {d.src}")
        if d in out:
            raise InputError(f"--directions names {d.name} more than once")
        outside = [c for c in d if langs and c not in langs]
        if outside:
            raise InputError(f"--directions {part}: {', '.join(outside)} not among --langs ({', '.join(langs)})")
        out.append(d)
    seen = {c for d in out for c in d}
    outside = [h for h in hubs if h not in seen]
    if outside:
        raise InputError(f"--hubs {', '.join(outside)} in no direction of --directions {text!r}")
    return out


def direction_classes(directions: Sequence[Direction], hubs: Sequence[str] = ()) -> dict[str, list[Direction]]:
    """Class name -> its directions, in order: X->En, En->X, X->Y, (with hubs) into hubs, out of
    hubs, no hub, then All. A class no direction belongs to is left out (All never is)."""
    hubs = set(hubs)
    classes = {name: [d for d in directions if rule(d, hubs)] for name, rule in CLASS_RULES.items()
               if hubs or name not in HUB_CLASSES}
    return {**{name: ds for name, ds in classes.items() if ds}, ALL: list(directions)}


# ---- the report -------------------------------------------------------------------------------


def _rate(value: float | None) -> str:
    return NA if value is None else f"{100 * value:.1f}%"


def _score_gap(cell: Cell | None) -> str:
    if cell is None:
        return "–"
    return _fmt(cell.score) + ("" if cell.gap is None else f" ({cell.gap:+.2f})")


def _num(value) -> str:
    return "" if value is None else repr(value)


@dataclass
class DirectionsReport:
    scores: dict[str, dict[str, dict[str, Cell]]]  # system -> direction name -> metric -> Cell
    systems: list[str]
    directions: list[Direction]
    languages: list[str]  # the matrices' order
    metrics: list[str]
    hubs: list[str] = field(default_factory=list)
    baseline: str | None = None
    off_target: dict[str, dict[str, float | None]] = field(default_factory=dict)  # system -> direction -> rate
    reference_off_target: dict[str, float | None] = field(default_factory=dict)  # direction -> rate
    pooled: dict[str, dict[str, dict[str, dict]]] = field(default_factory=dict)  # class -> metric -> system
    ratios: list[tuple[str, str]] = field(default_factory=list)
    identifier: str | None = None  # the language identifier and its version
    title: str = "Any-to-any evaluation"
    notes: list[str] = field(default_factory=list)

    # ---- numbers ----------------------------------------------------------------------------
    @property
    def classes(self) -> dict[str, list[Direction]]:
        return direction_classes(self.directions, self.hubs)

    @property
    def sources(self) -> list[str]:
        return [lang for lang in self.languages if any(d.src == lang for d in self.directions)]

    @property
    def targets(self) -> list[str]:
        return [lang for lang in self.languages if any(d.tgt == lang for d in self.directions)]

    def cell(self, system: str, direction, metric: str) -> Cell | None:
        return self.scores.get(system, {}).get(Direction.of(direction).name, {}).get(metric)

    def average(self, system: str, metric: str, cls: str = ALL, what: str = "score") -> float | None:
        """Mean score / floor / gap over a class's directions (None if any is missing)."""
        return self.average_over(self.classes.get(cls, []), system, metric, what)

    def average_over(self, directions, system: str, metric: str, what: str = "score") -> float | None:
        """Mean score / floor / gap over some directions (None if any is missing)."""
        values = []
        for d in directions:
            c = self.cell(system, d, metric)
            values.append(None if c is None else getattr(c, what))
        return _mean(values)

    def off_target_rate(self, system: str | None, direction) -> float | None:
        """A system's off-target rate in one direction; system None: the references'."""
        name = Direction.of(direction).name
        return (self.reference_off_target if system is None else self.off_target.get(system, {})).get(name)

    def off_target_average(self, system: str | None, cls: str = ALL) -> float | None:
        """Mean off-target rate over the class's directions the identifier covers (None: none)."""
        rates = [r for d in self.classes.get(cls, []) if (r := self.off_target_rate(system, d)) is not None]
        return sum(rates) / len(rates) if rates else None

    def ratio(self, numerator: str, denominator: str, metric: str, cls: str = ALL) -> float | None:
        a, b = self.average(numerator, metric, cls), self.average(denominator, metric, cls)
        return None if a is None or b is None or b == 0 else a / b

    def _has(self, what: str, metric: str) -> bool:
        return any(getattr(c, what) is not None for s in self.systems for d in self.directions
                   if (c := self.cell(s, d, metric)) is not None)

    # ---- tables ---------------------------------------------------------------------------
    def grid(self, value: Callable[[Direction], str]) -> str:
        """Sources x targets of value(direction); "-" on the diagonal, "·" where not evaluated."""
        evaluated = set(self.directions)
        rows = [[s] + [DIAGONAL if s == t else value(Direction(s, t)) if (s, t) in evaluated else NOT_EVALUATED
                       for t in self.targets] for s in self.sources]
        return _table(["source \\ target", *self.targets], rows)

    def matrix(self, system: str, metric: str, what: str = "score_gap") -> str:
        """One system's matrix: "score (gap)" cells, or one of score, floor, gap, p_value."""
        def value(d):
            c = self.cell(system, d, metric)
            if what == "score_gap":
                return _score_gap(c)
            v = None if c is None else getattr(c, what)
            return _fmt_p(v) if what == "p_value" else _fmt(v)

        return self.grid(value)

    def off_target_matrix(self, system: str | None) -> str:
        return self.grid(lambda d: _rate(self.off_target_rate(system, d)))

    def class_table(self, metric: str, what: str = "score_gap") -> str:
        """Systems x classes: the average of each class's directions ("score (gap)" or one value)."""
        classes = list(self.classes)

        def value(s, cls):
            if what != "score_gap":
                return _fmt(self.average(s, metric, cls, what))
            score, gap = self.average(s, metric, cls), self.average(s, metric, cls, "gap")
            return _fmt(score) + ("" if score is None or gap is None else f" ({gap:+.2f})")

        rows = [[s] + [value(s, c) for c in classes] for s in self.systems]
        return _table(["system", *(f"{c} ({len(ds)})" for c, ds in self.classes.items())], rows)

    def off_target_class_table(self) -> str:
        classes = list(self.classes)
        rows = [[REFERENCES] + [_rate(self.off_target_average(None, c)) for c in classes]]
        rows += [[s] + [_rate(self.off_target_average(s, c)) for c in classes] for s in self.systems]
        return _table(["system", *(f"{c} ({len(ds)})" for c, ds in self.classes.items())], rows)

    def pooled_table(self, metric: str) -> str:
        rows = []
        for cls, by_metric in self.pooled.items():
            for s, r in by_metric.get(metric, {}).items():
                boot = r.get("bootstrap_segments", r["segments"])
                size = str(r["segments"]) if boot == r["segments"] else f"{boot} of {r['segments']}"
                rows.append([cls, s, str(len(r["testsets"])), size, _fmt(r["baseline_score"]),
                             _fmt(r["score"]), f"{r['difference']:+.2f}", _fmt_p(r["p"])])
        return _table(["class", "system", "directions", "segments", self.baseline or "baseline", "score",
                       "difference", "p"], rows, numeric_from=2)

    # ---- outputs ----------------------------------------------------------------------------
    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        out += [*self.notes, ""] if self.notes else []
        classes = ", ".join(f"{c} {len(ds)}" for c, ds in self.classes.items())
        out += [f"{len(self.directions)} directions over {len(self.languages)} languages"
                + (f"; hubs: {', '.join(self.hubs)}" if self.hubs else "") + f". Directions per class: {classes}. "
                f"Matrices: rows are sources, columns targets; \"{DIAGONAL}\" the diagonal, \"{NOT_EVALUATED}\" "
                f"a direction not evaluated.", ""]
        for metric in self.metrics:
            out += self._metric_markdown(metric)
        if self.off_target:
            out += self._off_target_markdown()
        if self.ratios:
            out += ["## Ratios (class average of one system / of another)", ""]
            rows = [[f"{a} / {b}", metric_name(m)] + [_pct(self.ratio(a, b, m, c)) for c in self.classes]
                    for a, b in self.ratios for m in self.metrics]
            out += [_table(["ratio", "metric", *self.classes], rows, numeric_from=2), ""]
        return "\n".join(out).rstrip() + "\n"

    def _metric_markdown(self, metric: str) -> list[str]:
        name = metric_name(metric)
        has_floor, has_p = self._has("floor", metric), self.baseline is not None and self._has("p_value", metric)
        gap = " (gap over the source-blind floor)" if has_floor else ""
        out = [f"## {name}", "", f"Average {name}{gap} over each class's directions (how many in brackets):", "",
               self.class_table(metric), ""]
        if any(metric in by_metric for by_metric in self.pooled.values()):
            out += [f"Paired bootstrap against {self.baseline}, each class's segments pooled into one test set "
                    f"(p < 0.05 marked *; \"N of M\": the test resamples N segments spread evenly over the "
                    f"class's directions, the scores are the whole pool's):", "", self.pooled_table(metric), ""]
        for s in self.systems:
            out += [f"### {name}: {s}", "", self.matrix(s, metric), ""]
            if has_floor:
                out += [f"Floor ({s}'s output against other segments' references):", "",
                        self.matrix(s, metric, "floor"), ""]
            if has_p and s != self.baseline:
                out += [f"p vs {self.baseline} (paired bootstrap per direction; p < 0.05 marked *):", "",
                        self.matrix(s, metric, "p_value"), ""]
        return out

    def _off_target_markdown(self) -> list[str]:
        out = [f"## Off-target rate ({self.identifier or 'language identifier'})", "",
               "Share of outputs whose identified language is not the target; "
               f"\"{REFERENCES}\" is the rate of the references themselves (the identifier's own errors). "
               f"{NA}: the identifier cannot recognise the target language; class averages leave those "
               "directions out.", "", self.off_target_class_table(), ""]
        for s in [*self.systems, None]:
            out += [f"### Off-target: {s or REFERENCES}", "", self.off_target_matrix(s), ""]
        return out

    def csv_text(self) -> str:
        """One row per system, metric and direction, then one per class average ("avg:CLASS")."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["system", "metric", "direction", "src_lang", "tgt_lang", "score", "floor", "gap", "p_value",
                    "off_target"])
        for s in self.systems:
            for m in self.metrics:
                for d in self.directions:
                    c = self.cell(s, d, m)
                    w.writerow([s, m, d.name, d.src, d.tgt, *(_num(getattr(c, k)) if c else "" for k in
                                                              ("score", "floor", "gap", "p_value")),
                                _num(self.off_target_rate(s, d))])
                for cls in self.classes:
                    w.writerow([s, m, f"avg:{cls}", "", "", *(_num(self.average(s, m, cls, k))
                                                              for k in ("score", "floor", "gap")), "",
                                _num(self.off_target_average(s, cls))])
        return buf.getvalue()

    def matrix_csv(self, metric: str | None = None) -> str:
        """Wide matrices: one block of rows per system (system, source, one column per target) of a
        metric's scores, or (metric None) of off-target rates with a block for the references."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["system", "source", *self.targets])
        evaluated = set(self.directions)
        systems = self.systems if metric is not None else [*self.systems, None]
        for s in systems:
            for src in self.sources:
                if metric is None:
                    values = [_num(self.off_target_rate(s, (src, t))) if (src, t) in evaluated else ""
                              for t in self.targets]
                else:
                    values = [_num(c.score) if (c := self.cell(s, (src, t), metric)) else "" for t in self.targets]
                w.writerow([s or REFERENCES, src, *values])
        return buf.getvalue()

    def to_dict(self) -> dict:
        classes = self.classes
        return {
            "title": self.title, "notes": self.notes, "kind": "directions",
            "systems": self.systems, "languages": self.languages, "metrics": self.metrics, "hubs": self.hubs,
            "baseline": self.baseline, "identifier": self.identifier,
            "directions": [{"name": d.name, "src_lang": d.src, "tgt_lang": d.tgt,
                            "classes": [c for c, ds in classes.items() if d in ds]} for d in self.directions],
            "classes": {c: [d.name for d in ds] for c, ds in classes.items()},
            "scores": {s: {d.name: {m: {"score": c.score, "floor": c.floor, "gap": c.gap, "p_value": c.p_value}
                                    for m in self.metrics if (c := self.cell(s, d, m)) is not None}
                           for d in self.directions} for s in self.systems},
            "averages": {s: {m: {c: {w: self.average(s, m, c, w) for w in ("score", "floor", "gap")}
                                 for c in classes} for m in self.metrics} for s in self.systems},
            "off_target": {s: {d.name: self.off_target_rate(s, d) for d in self.directions}
                           for s in self.systems} if self.off_target else {},
            "reference_off_target": {d.name: self.off_target_rate(None, d) for d in self.directions}
            if self.off_target else {},
            "off_target_averages": {s or REFERENCES: {c: self.off_target_average(s, c) for c in classes}
                                    for s in [*self.systems, None]} if self.off_target else {},
            "pooled": self.pooled,
            "ratios": [{"numerator": a, "denominator": b, "metric": m, "class": c, "value": self.ratio(a, b, m, c)}
                       for a, b in self.ratios for m in self.metrics for c in classes],
        }


def build_directions_report(scores: Mapping[str, Mapping[str, Mapping[str, Cell | float]]], *,
                            directions: Sequence | None = None, languages: Sequence[str] | None = None,
                            metrics: Sequence[str] | None = None, hubs: Sequence[str] = (),
                            baseline: str | None = None,
                            off_target: Mapping[str, Mapping[str, float | None]] | None = None,
                            reference_off_target: Mapping[str, float | None] | None = None,
                            pooled: Mapping | None = None, ratios: Sequence[tuple[str, str]] = (),
                            identifier: str | None = None, title: str = "Any-to-any evaluation",
                            notes: Sequence[str] = ()) -> DirectionsReport:
    """Check and normalise scores[system]["src-tgt"][metric]; orders default to first appearance."""
    norm = {s: {Direction.of(d).name: {m: _cell(v) for m, v in by_metric.items()} for d, by_metric in by_dir.items()}
            for s, by_dir in scores.items()}
    systems = list(norm)
    if not systems:
        raise InputError("no scores to report")
    if directions is None:
        directions = list(dict.fromkeys(d for by_dir in norm.values() for d in by_dir))
    directions = [Direction.of(d) for d in directions]
    seen = list(dict.fromkeys(c for d in directions for c in d))
    languages = list(languages) if languages is not None else seen
    outside = [c for c in seen if c not in languages]
    if outside:
        raise InputError(f"directions name {', '.join(outside)}, not among the languages ({', '.join(languages)})")
    outside = [h for h in hubs if h not in seen]
    if outside:
        raise InputError(f"hub(s) {', '.join(outside)} in no direction")
    metrics = list(metrics) if metrics is not None else list(
        dict.fromkeys(m for by_dir in norm.values() for ms in by_dir.values() for m in ms))
    for name in ([baseline] if baseline else []) + [x for pair in ratios for x in pair]:
        if name not in norm:
            raise InputError(f"system {name!r} has no scores; systems: {', '.join(systems)}")
    return DirectionsReport(
        norm, systems, directions, languages, metrics, list(hubs), baseline,
        {s: {Direction.of(d).name: r for d, r in rates.items()} for s, rates in (off_target or {}).items()},
        {Direction.of(d).name: r for d, r in (reference_off_target or {}).items()},
        {c: {m: dict(by_s) for m, by_s in by_m.items()} for c, by_m in (pooled or {}).items()},
        [tuple(r) for r in ratios], identifier, title, list(notes))


# ---- scoring and evaluation -----------------------------------------------------------------


@dataclass
class DirectionsEvaluation:
    report: DirectionsReport
    testsets: list  # one TestSet per direction, named "src-tgt"
    hypotheses: dict[str, dict[str, list[str]]]  # system -> direction name -> one per segment
    signatures: dict[str, str] = field(default_factory=dict)
    translation: dict[str, dict[str, dict]] = field(default_factory=dict)  # how each was obtained
    comet: dict | None = None
    identified: dict[str, dict[str, list[str | None]]] = field(default_factory=dict)  # system|references -> ...

    def segments(self) -> dict:
        out = {}
        for ts in self.testsets:
            seg = {"src_lang": ts.src_lang, "tgt_lang": ts.tgt_lang, "origin": ts.origin,
                   "sources": list(ts.sources), "references": list(ts.references),
                   "hypotheses": {s: self.hypotheses[s][ts.name] for s in self.hypotheses}}
            if self.identified:
                seg["identified"] = {s: codes[ts.name] for s, codes in self.identified.items()}
            out[ts.name] = seg
        return out


def _by_direction(testsets: Sequence) -> list:
    """The test sets named by their direction; one per direction."""
    named = [ts if ts.name == Direction(ts.src_lang, ts.tgt_lang).name
             else dataclasses.replace(ts, name=Direction(ts.src_lang, ts.tgt_lang).name) for ts in testsets]
    names = [ts.name for ts in named]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(f"more than one test set for direction(s) {', '.join(repeated)}")
    if not named:
        raise InputError("an any-to-any evaluation needs at least one direction")
    return named


def _testset_notes(testsets: Sequence) -> list[str]:
    origins = list(dict.fromkeys(ts.origin for ts in testsets))
    sizes = sorted(len(ts) for ts in testsets)
    skipped = sum(1 for ts in testsets if ts.empty_skipped)
    size = f"{sizes[0]}" if sizes[0] == sizes[-1] else f"{sizes[0]}-{sizes[-1]}"
    shown = "; ".join(origins[:3]) + (f"; and {len(origins) - 3} more" if len(origins) > 3 else "")
    return [f"Test set: {shown}; {len(testsets)} directions, {size} segments each"
            + (f"; pairs with an empty side skipped in {skipped} of them" if skipped else "") + "."]


def score_directions(testsets: Sequence, hypotheses: Mapping[str, Mapping[str, Sequence[str]]],
                     metrics: Sequence[str] = ("chrf++", "bleu"), *, hubs: Sequence[str] = (),
                     languages: Sequence[str] | None = None, baseline: str | None = None, spm=None, comet=None,
                     floor: bool = True, bootstrap_samples: int = DEFAULT_SAMPLES, pooled: bool = True,
                     pooled_max_segments: int | None = MAX_POOLED_SEGMENTS, off_target: bool = True,
                     ratios: Sequence[tuple[str, str]] = (),
                     title: str = "Any-to-any evaluation", notes: Sequence[str] = ()) -> DirectionsEvaluation:
    """Score given hypotheses[system]["src-tgt"] (one per segment) on one TestSet per direction."""
    from . import langid
    from .metrics import SACREBLEU_METRICS, sacrebleu_metric
    from .runner import score_all
    from .significance import pooled_paired_bootstrap

    testsets = _by_direction(testsets)
    systems = list(hypotheses)
    if baseline is not None and baseline not in systems:
        raise InputError(f"baseline {baseline!r} is not a system; systems: {', '.join(systems)}")
    for s in systems:
        missing = [ts.name for ts in testsets if ts.name not in hypotheses[s]]
        if missing:
            raise InputError(f"system {s!r} has no hypotheses for {', '.join(missing)}")
    cells, signatures = score_all(testsets, hypotheses, metrics, spm=spm, comet=comet, baseline=baseline,
                                  floor=floor, bootstrap_samples=bootstrap_samples)
    directions = [Direction(ts.src_lang, ts.tgt_lang) for ts in testsets]
    rates: dict[str, dict[str, float | None]] = {}
    reference_rates: dict[str, float | None] = {}
    identified: dict[str, dict[str, list]] = {}
    identifier = None
    if off_target:
        identifier, memo = langid.identifier_version(), {}
        for s in [*systems, None]:
            key = s or REFERENCES
            identified[key] = {ts.name: langid.identify(ts.references if s is None else hypotheses[s][ts.name], memo)
                               for ts in testsets}
            by_dir = {ts.name: langid.rate_of(identified[key][ts.name], ts.tgt_lang) for ts in testsets}
            if s is None:
                reference_rates = by_dir
            else:
                rates[s] = by_dir
    pooled_results: dict[str, dict[str, dict[str, dict]]] = {}
    others = [s for s in systems if s != baseline]
    if pooled and baseline is not None and others:
        segments = {ts.name: {"references": list(ts.references),
                              "hypotheses": {s: list(hypotheses[s][ts.name]) for s in systems}} for ts in testsets}
        for cls, ds in direction_classes(directions, hubs).items():
            for m in (m for m in metrics if m in SACREBLEU_METRICS):
                metric = sacrebleu_metric(m, spm)
                pooled_results.setdefault(cls, {})[m] = {
                    s: pooled_paired_bootstrap(segments, [d.name for d in ds], metric, baseline=baseline,
                                               system=s, n_samples=bootstrap_samples,
                                               max_segments=pooled_max_segments) for s in others}
    notes = [*_testset_notes(testsets), *notes]
    if floor:
        notes.append("Floor: each system's output scored against the references of other segments "
                     "(segment i against reference i + n//2 mod n); gap = score - floor.")
    report = build_directions_report(cells, directions=directions, languages=languages, metrics=list(metrics),
                                     hubs=hubs, baseline=baseline, off_target=rates if off_target else None,
                                     reference_off_target=reference_rates if off_target else None,
                                     pooled=pooled_results, ratios=ratios, identifier=identifier, title=title,
                                     notes=notes)
    hyps = {s: {ts.name: list(hypotheses[s][ts.name]) for ts in testsets} for s in systems}
    return DirectionsEvaluation(report, testsets, hyps, signatures, identified=identified)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def evaluate_directions(systems: Sequence, directions, testset, *, limit: int | None = None,
                        languages: Sequence[str] | None = None, hubs: Sequence[str] = (),
                        metrics: Sequence[str] = ("chrf++", "bleu"), spm=None, comet=None,
                        baseline: str | None = None, ratios: Sequence[tuple[str, str]] = (),
                        generation: Mapping | None = None, batch_size: int = 16,
                        cache_dir: str | os.PathLike | None = None, floor: bool = True,
                        bootstrap_samples: int = DEFAULT_SAMPLES, pooled: bool = True,
                        pooled_max_segments: int | None = MAX_POOLED_SEGMENTS, off_target: bool = True,
                        log=_stderr, progress: bool = False,
                        title: str = "Any-to-any evaluation") -> DirectionsEvaluation:
    """Translate every direction with every system (through the translation cache), score, report.

    systems: runner.System objects. directions: Directions / (src, tgt) pairs, or a spec string
    (parse_directions over `languages` and `hubs`). testset: a --testset spec (str or
    TestSetSpec, read per direction with `limit`) or TestSets, one per direction at least.
    Write the files with writer.write_directions_results(out, ev.report, segments=ev.segments()).
    """
    from .cache import TranslationCache
    from .runner import translate_all
    from .testsets import TestSet, TestSetSpec, load_direction_testsets

    if isinstance(directions, str):
        directions = parse_directions(directions, languages or (), hubs)
    directions = [Direction.of(d) for d in directions]
    labels = [s.label for s in systems]
    if baseline is not None and baseline not in labels:
        raise InputError(f"baseline {baseline!r} is not a system; systems: {', '.join(labels)}")
    if "comet" in metrics and comet is None:
        raise InputError("the comet metric needs a CometScorer (--comet-python)")
    if isinstance(testset, (str, TestSetSpec)):
        testsets = load_direction_testsets(testset, directions, limit)
    else:
        given = {Direction(ts.src_lang, ts.tgt_lang): ts for ts in testset if isinstance(ts, TestSet)}
        missing = [d.name for d in directions if d not in given]
        if missing:
            raise InputError(f"no test set for direction(s) {', '.join(missing)}")
        testsets = [given[d] for d in directions]
    testsets = _by_direction(testsets)
    cache = TranslationCache(cache_dir) if cache_dir is not None else None
    hyps, info = translate_all(systems, testsets, generation=generation, batch_size=batch_size, cache=cache,
                               log=log, progress=progress)
    ev = score_directions(testsets, hyps, metrics, hubs=hubs, languages=languages, baseline=baseline, spm=spm,
                          comet=comet, floor=floor, bootstrap_samples=bootstrap_samples, pooled=pooled,
                          pooled_max_segments=pooled_max_segments, off_target=off_target, ratios=ratios,
                          title=title)
    ev.translation = info
    ev.comet = {"model": comet.model, "python": comet.python, "version": comet.version} if comet else None
    return ev
