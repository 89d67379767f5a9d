"""The experiment's report, laid out like the HCA paper's Tables 2 and 4.

Input is plain data (the evaluation's Report, the training summaries, the experiment spec), so
it is tested on fake results. The `report:` section of an experiment file names the roles:

    report:
      zero_shot: hca-deu            # trained on one pair ...
      oracle: hca-oracle            # ... against trained on every pair: the zero-shot/oracle ratio
      ablation_full: hca-deu        # Table 4: the full model,
      ablations: [hca-no-source-adapter, hca-no-query-residual]   # its ablations,
      ablation_reference: zero-shot # and the LLM alone
      ablation_groups: [Low, All]   # the averages Table 4 shows
      pivots: [hca-deu, hca-arb]    # one-pair systems trained on different pairs: the first is
                                    # the reference, compared where none of them was trained
      same_pair_baselines: [lora-deu]  # other methods trained on zero_shot's pair (Table 2's
                                    # Qwen3+LoRA row), each against zero_shot
      paper: {...}                  # optional: the paper's figures, quoted next to ours

Every score comes with its source-blind floor (the system's own output scored against other
segments' references) because on a narrow domain a fluent generic sentence scores well above
zero; the gap above the floor is what reading the source earned.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BabelBridgeError
from ..evaluate.report import ALL, Report, metric_name

REPORT_KEYS = {"zero_shot", "oracle", "ablation_full", "ablations", "ablation_reference", "ablation_groups",
               "pivots", "same_pair_baselines", "paper",
               "compare", "groups"}  # the last two: any-to-any experiments (directions_compare.py)


@dataclass
class BuiltReport:
    markdown: str
    data: dict


def check_report_section(section: dict, systems, where: str) -> None:
    unknown = sorted(set(section) - REPORT_KEYS)
    if unknown:
        raise BabelBridgeError(f"{where}: unknown key(s) in report: {', '.join(unknown)}; "
                               f"accepted: {', '.join(sorted(REPORT_KEYS))}")
    names = [section.get(k) for k in ("zero_shot", "oracle", "ablation_full", "ablation_reference")]
    names += [n for role in ("ablations", "pivots", "same_pair_baselines") for n in section.get(role) or []]
    missing = [n for n in names if n is not None and n not in systems]
    if missing:
        raise BabelBridgeError(f"{where}: report names {', '.join(map(str, missing))}, not among the systems "
                               f"({', '.join(systems)})")


def ratios(spec) -> list[tuple[str, str]]:
    section = spec.report
    if section.get("zero_shot") and section.get("oracle"):
        return [(section["zero_shot"], section["oracle"])]
    return []


def _f(value, digits: int = 2, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _pct(a, b) -> str:
    return "–" if a is None or b is None or b == 0 else f"{100 * a / b:.1f}%"


def _table(header: list[str], rows: list[list[str]], text_columns: int = 1) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i < text_columns else "---:" for i in range(len(header))) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def trained_languages(spec, system: str) -> list[str]:
    """Source languages in a system's training data (the paper marks these cells green)."""
    s = spec.systems[system]
    if not s.trained:
        return []
    return list(dict.fromkeys(e.get("src_lang") for e in s.run.get("data", {}).get("train", []) if e.get("src_lang")))


def main_table(spec, report: Report, metric: str, what: str = "score") -> str:
    """Table 2: a row per system, a column per source language, then the group averages.
    A language the system was trained on is marked with a dagger."""
    cols = list(report.columns)
    rows = []
    for s in report.systems:
        seen = set(trained_languages(spec, s))
        cells = []
        for lang in report.languages:
            c = report.cell(s, lang, metric)
            value = None if c is None else getattr(c, what)
            cells.append(_f(value) + ("†" if lang in seen and value is not None else ""))
        rows.append([s] + cells + [_f(report.average(s, metric, g, what)) for g in cols])
    return _table(["system", *(l.split("_")[0] for l in report.languages), *(f"avg {g}" for g in cols)], rows)


UNSEEN = "unseen"


def _mean_over(report: Report, system: str, metric: str, languages: list[str], what: str) -> float | None:
    """Mean of score / floor / gap over the given languages (None if any is missing or none given)."""
    cells = [report.cell(system, lang, metric) for lang in languages]
    values = [None if c is None else getattr(c, what) for c in cells]
    return None if not values or any(v is None for v in values) else sum(values) / len(values)


def unseen_languages(spec, report: Report) -> list[str]:
    """The test languages the zero-shot system was not trained on (empty without one)."""
    zs = spec.report.get("zero_shot")
    seen = set(trained_languages(spec, zs)) if zs else set()
    return [l for l in report.languages if l not in seen] if zs else []


def languages_none_trained_on(spec, report: Report, systems: list[str]) -> list[str]:
    """The test languages that none of these systems was trained on."""
    seen = {lang for s in systems for lang in trained_languages(spec, s)}
    return [l for l in report.languages if l not in seen]


def ratio_section(spec, report: Report, pooled: list[dict] | None = None) -> tuple[list[str], list[dict]]:
    section = spec.report
    zs, oracle = section.get("zero_shot"), section.get("oracle")
    if not (zs and oracle):
        return [], []
    # The paper's claim is about languages the zero-shot model never saw, so they get their own
    # column: the overall average still counts the trained pair, where zero-shot is not zero-shot.
    columns = {**report.columns, UNSEEN: unseen_languages(spec, report)}
    rows, data = [], []
    for m in report.metrics:
        for what, label in (("score", metric_name(m)), ("gap", f"{metric_name(m)} gap over floor")):
            values = [(_mean_over(report, zs, m, langs, what), _mean_over(report, oracle, m, langs, what))
                      for langs in columns.values()]
            rows.append([label] + [f"{_f(a)} / {_f(b)} = {_pct(a, b)}" for a, b in values])
            data += [{"metric": m, "what": what, "group": g, "zero_shot": a, "oracle": b,
                      "ratio": None if a is None or not b else a / b} for g, (a, b) in zip(columns, values)]
    out = [f"## Zero-shot / oracle: {zs} (one pair) over {oracle} (every pair)", "",
           _table(["", *(f"avg {g}" for g in columns)], rows), "",
           f"avg {UNSEEN}: the {_plural(len(columns[UNSEEN]), 'language')} {zs} was not trained on.", ""]
    if pooled:
        r0 = pooled[0]
        out += [f"Pooled over those languages ({r0['segments']} segments as one corpus), {zs} against {oracle}, "
                "paired bootstrap:", "",
                pooled_table(pooled, oracle, zs), ""]
    paper = (section.get("paper") or {}).get("ratio")
    if paper:
        out += [f"The paper: {paper}", ""]
    return out, data


def _side_by_side(report: Report, metric: str, columns: dict[str, list[str]], reference: str, systems: list[str]):
    """(what, label, system, its means per column, the reference's) for score then gap over floor."""
    for what, label in (("score", metric_name(metric)), ("gap", "gap over floor")):
        references = [_mean_over(report, reference, metric, langs, what) for langs in columns.values()]
        for s in systems:
            yield what, label, s, [_mean_over(report, s, metric, langs, what) for langs in columns.values()], references


def pooled_table(pooled: list[dict], baseline: str, system: str) -> str:
    return _table(["metric", baseline, system, "difference", "p"],
                  [[metric_name(r["metric"]), _f(r["baseline_score"]), _f(r["score"]),
                    _f(r["difference"], signed=True), _f(r["p"], 3)] for r in pooled])


def pivot_section(spec, report: Report, pooled: list[dict] | None = None) -> tuple[list[str], list[dict]]:
    """The paper's robustness test (5.2.2): does the pair trained on matter? Systems trained on
    one pair each, compared on the languages none of them saw, so no one plays at home."""
    pivots = [p for p in spec.report.get("pivots") or [] if p in report.systems]
    if len(pivots) < 2:
        return [], []
    neither = languages_none_trained_on(spec, report, pivots)
    columns = {g: [l for l in langs if l in neither] for g, langs in report.columns.items()}
    columns = {g: langs for g, langs in columns.items() if langs}
    if not columns:
        return [], []
    reference = pivots[0]
    out = [f"## Which pair to train on: {' vs '.join(pivots)}", "",
           f"Averages over the {_plural(len(neither), 'test language')} none of them was trained on "
           f"({', '.join(f'{g} {len(langs)}' for g, langs in columns.items())}); the ratio is each against "
           f"{reference}.", ""]
    data = []
    for m in report.metrics:
        rows = []
        for what, label, s, values, references in _side_by_side(report, m, columns, reference, pivots):
            trained = ", ".join(l.split("_")[0] for l in trained_languages(spec, s))
            rows.append([f"{label}, {s} ({trained})"] + [
                _f(v) + ("" if s == reference else f" ({_pct(v, r)})") for v, r in zip(values, references)])
            data += [{"metric": m, "what": what, "system": s, "group": g, "value": v,
                      "ratio_to_reference": None if v is None or not r else v / r}
                     for g, v, r in zip(columns, values, references)]
        out += [_table(["", *(f"avg {g}" for g in columns)], rows), ""]
    if pooled:
        by_system: dict[str, list[dict]] = {}
        for r in pooled:
            by_system.setdefault(r["system"], []).append(r)
        for system, results in by_system.items():
            out += [f"Pooled over those languages ({results[0]['segments']} segments as one corpus), {system} "
                    f"against {reference}, paired bootstrap:", "", pooled_table(results, reference, system), ""]
    paper = (spec.report.get("paper") or {}).get("pivots")
    if paper:
        out += [f"The paper: {paper}", ""]
    return out, data


def same_pair_systems(spec, report: Report) -> list[str]:
    """The zero-shot system then its same-pair baselines in the report; empty if either is missing."""
    reference = spec.report.get("zero_shot")
    baselines = [b for b in spec.report.get("same_pair_baselines") or [] if b in report.systems]
    return [reference, *baselines] if reference in report.systems and baselines else []


def same_pair_columns(spec, report: Report) -> dict[str, list[str]]:
    """Where the same-pair baselines meet the zero-shot system: the languages all of them were
    trained on (where a fine-tuned LLM plays at home), those none was (the transfer the paper
    claims), then the report's groups. Empty when there is nothing to compare."""
    systems = same_pair_systems(spec, report)
    if not systems:
        return {}
    shared = set.intersection(*(set(trained_languages(spec, s)) for s in systems))
    columns = {"trained": [l for l in report.languages if l in shared],
               UNSEEN: languages_none_trained_on(spec, report, systems), **report.columns}
    return {g: langs for g, langs in columns.items() if langs}


def same_pair_section(spec, report: Report, pooled: list[dict] | None = None) -> tuple[list[str], list[dict]]:
    """The paper's Table 2 baselines on the zero-shot system's own pair (Qwen3+LoRA): does the
    bridge beat simply fine-tuning the LLM on the same data, at home and on what neither saw?"""
    columns = same_pair_columns(spec, report)
    if not columns:
        return [], []
    reference, *baselines = same_pair_systems(spec, report)
    out = [f"## Against baselines trained on the same pair: {' vs '.join([reference, *baselines])}", "",
           f"avg trained: the {_plural(len(columns.get('trained', [])), 'language')} all of them were trained on; "
           f"avg {UNSEEN}: the {_plural(len(columns.get(UNSEEN, [])), 'language')} none of them was. In brackets: "
           f"each baseline minus {reference}.", ""]
    data = []
    for m in report.metrics:
        rows = []
        for what, label, s, values, references in _side_by_side(report, m, columns, reference,
                                                                 same_pair_systems(spec, report)):
            deltas = [None if v is None or r is None else v - r for v, r in zip(values, references)]
            rows.append([f"{label}, {s}"] + [_f(v) + ("" if s == reference else f" ({_f(d, signed=True)})")
                                             for v, d in zip(values, deltas)])
            data += [{"metric": m, "what": what, "system": s, "group": g, "value": v, "delta_vs_reference": d}
                     for g, v, d in zip(columns, values, deltas)]
        out += [_table(["", *(f"avg {g}" for g in columns)], rows), ""]
    if pooled:
        out += [f"Each baseline against {reference}, the segments of each column pooled as one corpus, "
                "paired bootstrap:", "",
                _table(["baseline", "metric", "over", "segments", reference, "baseline's", "difference", "p"],
                       [[r["system"], metric_name(r["metric"]), r["group"], str(r["segments"]),
                         _f(r["baseline_score"]), _f(r["score"]), _f(r["difference"], signed=True), _f(r["p"], 3)]
                        for r in pooled], text_columns=3), ""]
    paper = (spec.report.get("paper") or {}).get("same_pair_baselines")
    if paper:
        out += [f"The paper: {paper}", ""]
    return out, data


def ablation_groups(spec, report: Report) -> list[str]:
    """The average columns of the ablation table (the paper's Table 4: Low-resource and overall)."""
    return [g for g in (spec.report.get("ablation_groups") or [ALL]) if g in report.columns] or [ALL]


def ablation_section(spec, report: Report, pooled: list[dict] | None = None) -> tuple[list[str], list[dict]]:
    section = spec.report
    full, variants = section.get("ablation_full"), list(section.get("ablations") or [])
    if not (full and variants):
        return [], []
    reference = section.get("ablation_reference")
    groups = ablation_groups(spec, report)
    out, data = [], []
    for m in report.metrics:
        header = ["variant"]
        for g in groups:
            header += [f"avg {g}", f"Δ {g} vs full", f"gap {g}"]
        rows = []
        for s in [full, *variants] + ([reference] if reference else []):
            row = [s + (" (full)" if s == full else "")]
            record = {"metric": m, "system": s}
            for g in groups:
                score, base = report.average(s, m, g), report.average(full, m, g)
                gap = report.average(s, m, g, "gap")
                delta = None if score is None or base is None or s == full else score - base
                row += [_f(score), _f(delta, signed=True) if s != full else "", _f(gap)]
                record[g] = {"score": score, "delta_vs_full": delta, "gap": gap}
            rows.append(row)
            data.append(record)
        out += [f"## Ablations ({metric_name(m)}; the layout of the paper's Table 4)", "", _table(header, rows), ""]
    if pooled:
        # One seed per system: a delta of 1-2 points can be noise; the paired test on each
        # group's segments pooled says which deltas are not.
        out += [f"Each variant against {full}, the segments of each group pooled as one corpus, paired bootstrap:", "",
                _table(["variant", "metric", "group", "segments", full, "variant's", "difference", "p"],
                       [[r["system"], metric_name(r["metric"]), r["group"], str(r["segments"]),
                         _f(r["baseline_score"]), _f(r["score"]), _f(r["difference"], signed=True), _f(r["p"], 3)]
                        for r in pooled], text_columns=3), ""]
    paper = (section.get("paper") or {}).get("ablations")
    if paper:
        out += [f"The paper: {paper}", ""]
    return out, data


def retrieval_section(spec, rows: list[dict]) -> list[str]:
    """R@1 / MRR of each system's source vectors against the English teachers (LLINK's metric),
    with the LLM reading the source itself and an untrained projector, and the LLM tokenizer's
    inflation of each language."""
    from ..evaluate.retrieval import BEFORE, markdown_table

    if not rows:
        return []
    r = spec.retrieval or {}
    out = ["## Retrieval (the LLINK paper's R@1)", "",
           f"Each source sentence's vector against the teacher vectors of all {rows[0]['n']} English references of "
           f"the test set ({r.get('testset')}, the first {rows[0]['n']} of each language): the teacher is the frozen "
           "LLM's last hidden state at the reserved position after the English sentence, inside the instruction. "
           "Before: the LLM's state at the same position after the source sentence itself.", "",
           markdown_table(rows, {n: f"{n}: {spec.systems[n].describe}" for n in spec.systems}), ""]
    before = [row for row in rows if row["row"] == BEFORE]
    if before:
        out += ["LLM tokens per sentence (its own tokenizer) against the English reference's:", "",
                _table(["source", "LLM tokens", "English LLM tokens", "inflation", "encoder tokens"],
                       [[row["lang"], _f(row["llm_tokens_source"], 1), _f(row["llm_tokens_english"], 1),
                         f"{row['inflation']:.2f}x", _f(row["encoder_tokens_source"], 1)] for row in before]), ""]
    paper = (spec.report.get("paper") or {}).get("retrieval")
    if paper:
        out += [f"The paper: {paper}", ""]
    return out


def training_section(spec, summaries: dict) -> list[str]:
    if not summaries:
        return []
    rows = []
    for name, t in summaries.items():
        langs = ", ".join(l.split("_")[0] for l in trained_languages(spec, name))
        rows.append([name, spec.systems[name].describe, langs if len(langs) < 40 else f"{len(langs.split(','))} languages",
                     _f(t.train_pairs, 0) if t.train_pairs is not None else "–", _f(t.steps, 0) if t.steps else "–",
                     _f(None if t.seconds is None else t.seconds / 60, 1), _f(t.last_loss, 3), _f(t.val_loss, 3),
                     _f(t.val_loss_mismatched_src, 3), _f(t.source_gap, 3)])
    header = ["system", "what", "trained on (→ eng)", "pairs available", "steps", "minutes", "train loss",
              "val loss", "val loss, mismatched sources", "source gap"]
    extra = [("val R@1", "val_retrieval_r1"), ("slot gap", "slot_gap")]
    extra = [(title, key) for title, key in extra if any(getattr(t, key) is not None for t in summaries.values())]
    rows = [row + [_f(getattr(summaries[row[0]], key), 3) for _, key in extra] for row in rows]
    notes = []
    if extra:
        notes = [" LLINK: stage A's loss is InfoNCE per pair, its val R@1 the retrieval of each validation pair's "
                 "English teacher among the set's; stage B's slot gap is the validation loss with the slots "
                 "replaced by the placeholder minus the loss with them (at or below 0: the slots are ignored)."]
    return ["## Training", "", _table(header + [t for t, _ in extra], rows, text_columns=3), "",
            "Validation loss in nats per target token; the source gap is the validation loss with every "
            "source swapped for another pair's minus the loss with the true sources: how much the bridge "
            "reads the source at all." + "".join(notes), ""]


def head_section(spec, title: str, notes: list[str], run: dict | None, pending: dict[str, str] | None) -> list[str]:
    """Title, how it was made, the evaluation's notes, the systems and those not trained yet."""
    out = [f"# {title}", ""]
    if spec.quick:
        out += ["**Quick version** (`--quick`): fewer training steps and test segments than the full "
                "experiment; a smoke test of the pipeline, not a result.", ""]
    if run and run.get("argv"):
        out += ["Made with (the last invocation; each trained system's exact run config is "
                "runs/<system>/config.yaml):", "", "    " + " ".join(run["argv"]), ""]
    out += [*notes, ""]
    out += ["Systems:", ""] + [f"- **{s.name}**: {s.describe}" + (f" (PMP at inference: {s.pmp})" if s.pmp else "")
                               for s in spec.systems.values()] + [""]
    if pending:
        out += ["**Not trained yet**, so not in the tables below (the same command trains them; "
                "`--systems NAME` trains one):", ""] + [f"- {name}: {text}" for name, text in pending.items()] + [""]
    return out


def time_section(spec, summaries: dict, translation_seconds: dict | None) -> tuple[list[str], dict, float]:
    """(lines, translation seconds per system, training minutes in all)."""
    per_system = {name: sum((translation_seconds or {}).get(name, {}).values()) for name in spec.systems}
    train_minutes = sum(t.seconds or 0.0 for t in summaries.values()) / 60
    lines = ["## Time", "", f"Training: {train_minutes:.1f} min in all. Translating every test set: "
             f"{sum(per_system.values()) / 60:.1f} min in all; "
             + ", ".join(f"{n} {v / 60:.1f}" for n, v in per_system.items()) + " min. Summed over sessions; "
             "machine and versions of the last: eval/run.json.", ""]
    return lines, per_system, train_minutes


def build(spec, report: Report, summaries: dict, *, translation_seconds: dict | None = None,
          run: dict | None = None, pending: dict[str, str] | None = None,
          pooled: list[dict] | None = None, pivots_pooled: list[dict] | None = None,
          ablations_pooled: list[dict] | None = None, same_pair_pooled: list[dict] | None = None,
          retrieval: list[dict] | None = None) -> BuiltReport:
    """translation_seconds: system -> test set -> seconds it took when really translated (any
    session). pending: systems not trained yet (name -> description), listed so a partial
    report says what it lacks. pooled: zero-shot against oracle over the unseen languages'
    pooled segments, one significance.pooled_paired_bootstrap result (plus "metric") each;
    pivots_pooled: the same for each pivot against the first, over the languages none saw;
    ablations_pooled: each ablation against the full model over each ablation group (plus "group");
    same_pair_pooled: each same-pair baseline against the zero-shot system over each of
    same_pair_columns (plus "group"). retrieval: evaluate.retrieval's rows (before, chance, systems)."""
    out = head_section(spec, report.title, report.notes, run, pending)
    for m in report.metrics:
        name = metric_name(m)
        out += [f"## {name} per source language (the layout of the paper's Table 2)", "",
                main_table(spec, report, m), "",
                f"† trained on this source language. Source-blind floor of each cell ({name} of the same "
                f"output against other segments' references):", "", main_table(spec, report, m, "floor"), "",
                f"Gap over the floor ({name} minus floor): what reading the source earned.", "",
                main_table(spec, report, m, "gap"), ""]
    ratio_lines, ratio_data = ratio_section(spec, report, pooled)
    pivot_lines, pivot_data = pivot_section(spec, report, pivots_pooled)
    same_pair_lines, same_pair_data = same_pair_section(spec, report, same_pair_pooled)
    ablation_lines, ablation_data = ablation_section(spec, report, ablations_pooled)
    out += ratio_lines + pivot_lines + same_pair_lines + ablation_lines + retrieval_section(spec, retrieval or [])
    out += training_section(spec, summaries)
    time_lines, per_system, train_minutes = time_section(spec, summaries, translation_seconds)
    out += time_lines
    seconds = sum(per_system.values())
    data = {"experiment": spec.name, "quick": spec.quick, "pending": list(pending or {}), "ratios": ratio_data,
            "zero_shot_vs_oracle_pooled": list(pooled or []), "pivots": pivot_data,
            "pivots_pooled": list(pivots_pooled or []), "same_pair_baselines": same_pair_data,
            "same_pair_baselines_pooled": list(same_pair_pooled or []), "ablations": ablation_data,
            "ablations_pooled": list(ablations_pooled or []),
            "training": {k: vars(v) for k, v in summaries.items()},
            "trained_languages": {s: trained_languages(spec, s) for s in spec.systems},
            "averages": report.to_dict()["averages"], "translation_seconds": seconds,
            "translation_seconds_by_system": per_system,
            "training_minutes": train_minutes, "retrieval": list(retrieval or [])}
    return BuiltReport("\n".join(out).rstrip() + "\n", data)
