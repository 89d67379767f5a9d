"""The report of an any-to-any experiment (evaluation.directions): LMT's questions per class.

For each system, per class of directions (X->En, En->X, X->Y): chrF++/BLEU with the source-blind
floor and the gap above it, the off-target rate, and how the outputs look (length against the
references, repetition loops, the same output for different sources), with the paired bootstrap
against the baseline pooled per class. LMT's shallow mapping trap is a fluent X->En output
detached from the source: a small gap over the floor, many identical outputs, training sentences
replayed (evaluate/repetition.recalls), English targets repeated in training. So the report also
gives each trained system's data: pairs per class and how often each English target repeats
(before the trainer's over-long filter), and every output's recall of the training text.

Plain data in (the DirectionsEvaluation, the training summaries, the spec), so it is tested on
fake results. The per-direction matrices are eval/results.md's.
"""

from __future__ import annotations

import contextlib
import io

from ..evaluate.any_to_any import ENGLISH
from ..evaluate.report import metric_name
from ..evaluate.repetition import RECALL_NGRAM, output_stats
from . import directions_compare
from .report import BuiltReport, _f, _table, head_section, time_section, training_section

MAIN_CLASSES = ("X->En", "En->X", "X->Y")


def training_lists(spec, run_config=None) -> dict[str, list]:
    """Per trained system with data.multiway: its training list (train/pipeline.training_pairs:
    the corpus read again, no model, before the trainer's over-long filter).
    run_config(system) -> RunConfig: the run as trained (the runner's: with the pseudo-corpus of a
    with_pseudo system); by default the system's own run config."""
    from ..runconfig import RunConfig
    from ..train.pipeline import plan_training, training_pairs

    run_config = run_config or (lambda s: RunConfig(**{"encoder": None, **s.run}))
    out = {}
    for s in spec.trained:
        if not (s.run.get("data") or {}).get("multiway"):
            continue
        with contextlib.redirect_stdout(io.StringIO()):  # its data report is the training log's
            out[s.name] = training_pairs(plan_training(run_config(s)))
    return out


def training_data(lists: dict[str, list]) -> dict[str, dict]:
    """Per system: pairs per class and how often each English target repeats."""
    from ..data.downsample import target_repetition

    out = {}
    for name, pairs in lists.items():
        english = target_repetition([p for p in pairs if p.tgt_lang == ENGLISH]).get(ENGLISH)
        out[name] = {
            "pairs": len(pairs),
            "x_en": sum(p.tgt_lang == ENGLISH for p in pairs),
            "en_x": sum(p.src_lang == ENGLISH for p in pairs),
            "x_y": sum(ENGLISH not in (p.src_lang, p.tgt_lang) for p in pairs),
            "with_auxiliary": sum(p.pivot is not None for p in pairs),
            "english_targets": None if english is None else english.distinct,
            "english_repeat_mean": None if english is None else english.mean,
            "english_repeat_max": None if english is None else english.max,
        }
    return out


def training_ngrams(lists: dict[str, list]) -> dict[str, set]:
    """Language -> the word n-grams (evaluate/repetition.word_ngrams) of every sentence in it that
    any system of the experiment trained on, on either side or as a PMP auxiliary. One set for all
    systems (the LLM alone included): each output is checked against the same training text."""
    from ..evaluate.repetition import word_ngrams

    texts: dict[str, set[str]] = {}
    for pairs in lists.values():
        for p in pairs:
            for text, lang in ((p.src, p.src_lang), (p.tgt, p.tgt_lang), (p.pivot, p.pivot_lang)):
                if text is not None:
                    texts.setdefault(lang, set()).add(text)
    return {lang: set().union(*map(word_ngrams, ts)) for lang, ts in texts.items()}


def _classes(report) -> list[str]:
    return [c for c in MAIN_CLASSES if report.classes.get(c)]


def _data_section(spec, data: dict) -> list[str]:
    if not data:
        return []
    rows = [[name, str(d["pairs"]), str(d["x_en"]), str(d["en_x"]), str(d["x_y"]),
             "–" if d["english_targets"] is None else str(d["english_targets"]),
             _f(d["english_repeat_mean"], 1), "–" if d["english_repeat_max"] is None else str(d["english_repeat_max"]),
             f"{100 * d['with_auxiliary'] / d['pairs']:.0f}%" if d["pairs"] else "–"] for name, d in data.items()]
    return ["## Training data", "",
            _table(["system", "pairs", "X->En", "En->X", "X->Y", "distinct English targets",
                    "pairs per English target", "most repeated", "with a PMP auxiliary"], rows), "",
            "The pairs each system's training draws from (train/pipeline.training_pairs: data.multiway, then "
            "data.downsample; before the over-long filter). With every X->En direction kept, each English "
            "target repeats once per source language: LMT's condition for the shallow mapping trap.", ""]


def _pseudo_section(spec, counts: dict | None) -> list[str]:
    """The pseudo-corpus step's filters, per direction (pseudo/corpus.jsonl.report.json)."""
    if not counts:
        return []
    rows = []
    for d in counts["directions"]:
        dropped = d["dropped"]
        rows.append([f"{d['src_lang']}->{d['tgt_lang']}", str(d["candidates"]), str(dropped.get("over_long", 0)),
                     str(dropped["empty_pivot"] + dropped["empty_output"]),
                     str(dropped["language_id"]) if d["language_id"] == "checked" else "n/a",
                     str(dropped["length_ratio"]), str(d["kept"])])
    total = counts["total"]
    rows.append(["total", str(total["candidates"]), str(total["dropped"].get("over_long", 0)),
                 str(total["dropped"]["empty_pivot"] + total["dropped"]["empty_output"]),
                 str(total["dropped"]["language_id"]), str(total["dropped"]["length_ratio"]), str(total["kept"])])
    p = spec.pseudo or {}
    header = ["direction", "candidates", "over-long", "empty", "off-target", "length ratio", "kept"]
    return ["## Pseudo-corpus", "", _table(header, rows), "",
            f"{p.get('translator', 'the stage-1 system')}'s bridge translated each held-out source sentence into "
            f"{counts['pivot']} and on into every other language (pseudo/corpus.jsonl; a source or "
            f"pivot over the bridge's max_source_tokens was not translated: over-long); the pairs (real source, "
            f"generated target) then went through the language identifier ({counts['identifier']}: off-target "
            f"outputs dropped) and the length filter (len(tgt)/len(src) in characters beyond "
            f"{counts['length_ratio']['max']}x the direction's median, either way). The systems marked with_pseudo "
            f"train on these pairs and the base data.", ""]


def _score_section(report, metric: str) -> list[str]:
    classes = _classes(report)
    header = ["system"] + [f"{c} {what}" for c in classes for what in ("score", "floor", "gap")]
    rows = [[s] + [_f(report.average(s, metric, c, what)) for c in classes for what in ("score", "floor", "gap")]
            for s in report.systems]
    name = metric_name(metric)
    return [f"## {name} by class", "", _table(header, rows), "",
            f"Each class's mean over its directions ({', '.join(f'{c}: {len(report.classes[c])}' for c in classes)}). "
            f"Floor: the same outputs scored against other segments' references; gap = score - floor, what "
            f"reading the source earned. Per direction: eval/results.md.", ""]


def _pooled_section(report, metric: str) -> list[str]:
    rows = []
    for cls in _classes(report):
        for s, r in report.pooled.get(cls, {}).get(metric, {}).items():
            rows.append([cls, s, str(r["segments"]), _f(r["baseline_score"]), _f(r["score"]),
                         f"{r['difference']:+.2f}", "–" if r["p"] is None else f"{r['p']:.4f}"])
    if not rows:
        return []
    return [f"Paired bootstrap against {report.baseline}, {metric_name(metric)} over each class's pooled segments:", "",
            _table(["class", "system", "segments", report.baseline, "system's", "difference", "p"], rows, 2), ""]


def _off_target_section(report) -> list[str]:
    if not report.off_target:
        return []
    classes = _classes(report)
    rows = [["references"] + [_rate(report.off_target_average(None, c)) for c in classes]]
    rows += [[s] + [_rate(report.off_target_average(s, c)) for c in classes] for s in report.systems]
    return ["## Off-target rate", "", _table(["system", *classes], rows), "",
            f"Share of outputs the language identifier ({report.identifier}) does not call the target language; "
            f"the references' row is its own error on real sentences.", ""]


def _rate(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _class_ngrams(report, c: str, seen: dict[str, set] | None):
    """Per direction of class c, the training n-grams in its target language (None: no recall)."""
    return [seen.get(d.tgt, set()) for d in report.classes[c]] if seen else None


def _reference_recall(ev, seen: dict[str, set]) -> dict[str, float]:
    """A faithful output's level of recall, per class: each test reference checked as if it were
    the output for another verse (the floor's pairing, i against i + n//2): how often a real verse
    of the test books holds a training n-gram that another test verse lacks."""
    by_name = {ts.name: ts for ts in ev.testsets}
    out = {}
    for c in _classes(ev.report):
        refs = [by_name[d.name].references for d in ev.report.classes[c]]
        others = [[rs[(i + len(rs) // 2) % len(rs)] for i in range(len(rs))] for rs in refs]
        out[c] = output_stats(refs, others, _class_ngrams(ev.report, c, seen)).recalled
    return out


def _output_section(ev, seen: dict[str, set] | None) -> tuple[list[str], dict, dict]:
    report, by_name = ev.report, {ts.name: ts for ts in ev.testsets}
    classes = _classes(report)
    stats = {s: {c: output_stats([ev.hypotheses[s][d.name] for d in report.classes[c]],
                                 [by_name[d.name].references for d in report.classes[c]],
                                 _class_ngrams(report, c, seen))
                 for c in classes}
             for s in report.systems}
    what = ("length", "loops", "identical") + (("recalls training",) if seen else ())
    header = ["system"] + [f"{c} {w}" for c in classes for w in what]
    rows = [[s] + [v for c in classes for v in (_f(stats[s][c].length_ratio), _rate(stats[s][c].looping),
                                                 _rate(stats[s][c].identical))
                   + ((_rate(stats[s][c].recalled),) if seen else ())] for s in report.systems]
    lines = ["## Output length, loops, identical outputs and recalled training text", "", _table(header, rows), "",
             "Length: output words / reference words. Loops: outputs with a word 4-gram 3 times or more. "
             "Identical: outputs equal to another output of the same direction (one answer for different "
             "sources: the trap's signature).", ""]
    references = _reference_recall(ev, seen) if seen else {}
    if seen:
        lines += [f"Recalls training: outputs holding a word {RECALL_NGRAM}-gram of a sentence trained on in the "
                  "target language (by any system of the experiment, the same text for every system) that their "
                  "reference does not hold: a training sentence replayed instead of the source translated, the "
                  "trap's other face. The level of a faithful translation (each test reference checked against "
                  "another verse's reference, the floor's pairing): "
                  + ", ".join(f"{c} {_rate(references[c])}" for c in classes) + ".", ""]
    return lines, {s: {c: vars(v) for c, v in by_class.items()} for s, by_class in stats.items()}, references


def build(spec, ev, summaries: dict, *, run: dict | None = None, translation_seconds: dict | None = None,
          pending: dict[str, str] | None = None, data: dict | None = None,
          pseudo: dict | None = None, seen: dict[str, set] | None = None) -> BuiltReport:
    """pseudo: the pseudo-corpus step's counts (pseudo_step.pseudo_counts), when it has run.
    seen: training_ngrams of the experiment's training lists (the recall column), when it has them."""
    report = ev.report
    out = head_section(spec, report.title, report.notes, run, pending)
    out += _data_section(spec, data or {}) + _pseudo_section(spec, pseudo)
    for m in report.metrics:
        out += _score_section(report, m) + _pooled_section(report, m)
    out += _off_target_section(report)
    compare_lines, compared = directions_compare.compare(spec.report or {}, ev, _classes(report))
    out += compare_lines
    output_lines, stats, reference_recall = _output_section(ev, seen)
    out += output_lines
    paper = (spec.report or {}).get("paper") or {}
    if paper:
        out += ["## The paper's figures", ""] + [f"- {k}: {v}" for k, v in paper.items()] + [""]
    out += training_section(spec, summaries)
    time_lines, per_system, train_minutes = time_section(spec, summaries, translation_seconds)
    out += time_lines
    averages = {s: {m: {c: {w: report.average(s, m, c, w) for w in ("score", "floor", "gap")}
                        for c in _classes(report)} for m in report.metrics} for s in report.systems}
    off_target = {s: {c: report.off_target_average(s, c) for c in _classes(report)} for s in report.systems}
    json_data = {"experiment": spec.name, "quick": spec.quick, "pending": list(pending or {}),
                 "training_data": data or {}, "pseudo_corpus": pseudo, "averages": averages, "off_target": off_target, "outputs": stats,
                 "references_recalled": reference_recall, **compared,
                 "pooled": report.pooled, "training": {k: vars(v) for k, v in summaries.items()},
                 "translation_seconds_by_system": per_system, "training_minutes": train_minutes}
    return BuiltReport("\n".join(out).rstrip() + "\n", json_data)
