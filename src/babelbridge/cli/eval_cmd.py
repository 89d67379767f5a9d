"""`babelbridge eval`: translate test sets with one or more bridges, score, write tables.

Every argument (bridges, languages, test set files, metrics and their files, COMET's Python,
groups, baseline) is checked and the test sets are read before any model is loaded.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .checks import (DTYPES, check_device, check_device_name, check_language, check_pmp_bridge, check_positive,
                     parse_bridge_arg)

EPILOG = """examples:
  babelbridge eval --bridge runs/hca-deu-eng/bridge --testset flores:~/flores200 \\
      --langs deu_Latn,zho_Hans,zul_Latn,lao_Laoo --out eval/hca
  babelbridge eval --bridge zero-shot=runs/hca-deu-eng/bridge --bridge oracle=runs/hca-oracle/bridge \\
      --bridge llm=baselines/qwen3-4b --baseline llm --testset flores:~/flores200 \\
      --langs deu_Latn,zho_Hans,rus_Cyrl,arb_Arab,zul_Latn,xho_Latn \\
      --groups "High=deu_Latn,zho_Hans,rus_Cyrl,arb_Arab;Low=zul_Latn,xho_Latn" --ratio zero-shot/oracle \\
      --metrics chrf++,bleu,spbleu,comet --spm ~/flores200_sacrebleu_tokenizer_spm.model \\
      --comet-python ~/comet-env/bin/python --device cuda --dtype bfloat16 --out eval/one-pair
  babelbridge eval --bridge runs/hca/bridge --testset bible:test --langs fra_Latn,swh_Latn --limit 500 --out eval/bible
  babelbridge eval --bridge lmt=runs/lmt/bridge --bridge llm=baselines/qwen3-4b --baseline llm --testset bible:test \\
      --langs eng_Latn,zho_Hans,deu_Latn,swh_Latn --directions all --hubs eng_Latn,zho_Hans --limit 200 --out eval/a2a
  babelbridge eval --bridge plain=runs/lmt-pmp/bridge --bridge pmp-o=runs/lmt-pmp/bridge \\
      --bridge pmp-s=runs/lmt-pmp/bridge --pmp pmp-o=oracle --pmp pmp-s=self --baseline plain \\
      --testset bible:test --langs eng_Latn,fra_Latn,spa_Latn,por_Latn --directions hub-centric --hubs eng_Latn \\
      --out eval/pmp

test sets (--testset):
  flores:DIR[:dev|:devtest]   FLORES-200 directory, classic (<split>/<code>.<split>) or parquet
                              (<split>/<code>.parquet, column text); split devtest by default
  bible[:PATH][:SPLIT]        the Bible corpus (bible.db; default: the fetched asset), split test
  tsv:PATH                    src<TAB>reference lines in the one --langs language; put {lang} in
                              PATH (tsv:dev.{lang}.tsv) to read one file per --langs code
  jsonl:PATH                  {"src", "tgt", "src_lang"} lines; --langs selects languages (and
                              names the language of lines without "src_lang")

any-to-any (--directions, instead of --tgt-lang): every direction is its own test set, read per
direction (the Bible and FLORES-200 are multi-way; tsv needs {src} and {tgt} in its path, jsonl
lines name "src_lang" and "tgt_lang"):
  all                         every ordered pair of --langs
  hub-centric                 each --langs language to and from each --hubs language
  into-hubs, out-of-hubs      one way of hub-centric
  SRC-TGT,SRC-TGT,...         these directions (deu_Latn-eng_Latn,eng_Latn-fra_Latn)
The report has a source x target matrix per system and metric ("score (gap over the floor)"),
averages per class (X->En, En->X, X->Y, and with --hubs into hubs, out of hubs, no hub), the
paired bootstrap against --baseline per direction and pooled per class, and the off-target rate
(outputs an offline language identifier, py3langid, does not call the target language) per
direction and class; matrix_<metric>.csv and matrix_off_target.csv hold the matrices.

PMP (LMT's Parallel Multilingual Prompting; --pmp LABEL=MODE, repeatable): that --bridge translates
with an auxiliary sentence in its prompt. MODE oracle: the test set's own sentence in the auxiliary
language (multi-way test sets only: bible, flores; every system is then scored on the segments
all three languages have); self: the bridge first translates the source into the auxiliary
language itself. The auxiliary of each direction is --aux-lang, or the one training chose: the
closest high-resource relative among the evaluated languages (--langs, and --tgt-lang), as
data.multiway picks it. The same bridge under several labels is evaluated plain and with PMP
side by side. A bridge trained without PMP needs --force-pmp.

output (--out DIR): results.md, results.csv, results.json (every hypothesis), chart_<metric>.png,
run.json (signatures, command, versions, machine, date), cache/ (translations: re-running with
another metric or system translates only what is new).

metrics: chrf++ (sacrebleu CHRF word_order=2), bleu, spbleu (BLEU on FLORES-200 sentencepiece
pieces; needs --spm, the model file, as sacrebleu would download it), comet (needs a separate
Python with unbabel-comet: python -m venv ~/comet-env && ~/comet-env/bin/pip install unbabel-comet).
Every score comes with a source-blind floor (the output scored against other segments'
references) and the gap above it."""


def add_parser(sub) -> None:
    import argparse

    from ..evaluate.comet import COMET_PYTHON_ENV, DEFAULT_COMET_MODEL

    p = sub.add_parser("eval", help="evaluate bridges on test sets: chrF++/BLEU/spBLEU/COMET tables and charts",
                       description="Translate a test set with each --bridge, score it, and write per-language "
                                   "tables with averages, floors and significance.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bridge", action="append", required=True, metavar="[LABEL=]CHECKPOINT",
                   help="a bridge checkpoint directory or named bridge, optionally labelled (repeatable)")
    p.add_argument("--testset", required=True, metavar="SPEC", help="flores:DIR[:dev], bible[:SPLIT], tsv:PATH, jsonl:PATH")
    p.add_argument("--langs", metavar="CODES", help="source languages, comma-separated (deu_Latn,zul_Latn or de,zu)")
    p.add_argument("--tgt-lang", metavar="CODE", help="target language (default: eng_Latn; not with --directions)")
    p.add_argument("--directions", metavar="SPEC",
                   help="any-to-any: all, hub-centric, into-hubs, out-of-hubs or SRC-TGT,SRC-TGT,... over --langs")
    p.add_argument("--hubs", metavar="CODES", help="hub languages for --directions (e.g. eng_Latn,zho_Hans): "
                                                   "hub-centric directions and the into/out-of-hub averages")
    p.add_argument("--pmp", action="append", default=[], metavar="LABEL=MODE",
                   help="LMT's PMP for the --bridge labelled LABEL: oracle (the test set's auxiliary sentences) or "
                        "self (the bridge writes them) (repeatable)")
    p.add_argument("--aux-lang", metavar="CODE",
                   help="the auxiliary language of every --pmp direction (default: per direction, the closest "
                        "high-resource relative among the evaluated languages)")
    p.add_argument("--force-pmp", action="store_true",
                   help="allow --pmp on a bridge made without PMP (config pmp: false), e.g. the LLM alone")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the results (created)")
    p.add_argument("--metrics", default="chrf++,bleu", help="chrf++, bleu, spbleu, comet (default: %(default)s)")
    p.add_argument("--spm", metavar="PATH", help="the FLORES-200 sentencepiece model file, for spbleu")
    p.add_argument("--comet-model", default=DEFAULT_COMET_MODEL, metavar="NAME_OR_PATH",
                   help="COMET model: hub name, .ckpt file or downloaded directory (default: %(default)s)")
    p.add_argument("--comet-python", metavar="PATH",
                   help=f"Python with unbabel-comet installed (default: ${COMET_PYTHON_ENV})")
    p.add_argument("--baseline", metavar="LABEL", help="test every other system against this one (paired bootstrap)")
    p.add_argument("--groups", metavar="SPEC", help='language groups to average, e.g. "High=deu_Latn,zho_Hans;Low=zul_Latn"')
    p.add_argument("--ratio", action="append", default=[], metavar="NUM/DEN",
                   help="report avg(NUM) / avg(DEN), e.g. zero-shot/oracle (repeatable)")
    p.add_argument("--limit", type=int, metavar="N", help="first N segments of each language (or direction) only")
    p.add_argument("--batch-size", type=int, default=16, metavar="N", help="sentences per forward pass (default: %(default)s)")
    p.add_argument("--beam", type=int, default=1, metavar="N", help="beam size; 1 is greedy (default: %(default)s)")
    p.add_argument("--max-new-tokens", type=int, default=256, metavar="N", help="longest translation (default: %(default)s)")
    p.add_argument("--truncate", action="store_true", help="cut over-long sources instead of failing")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps, ... (default: %(default)s)")
    p.add_argument("--dtype", default="float32", choices=DTYPES, help="dtype of the backbones (default: %(default)s)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress or log lines on stderr")
    p.set_defaults(func=run)


# ---- validation (before any model) ---------------------------------------------------------


@dataclass
class Plan:
    bridges: dict[str, Path]  # label -> checkpoint directory
    testsets: list
    metrics: list[str]
    out: Path
    groups: dict[str, list[str]] = field(default_factory=dict)
    ratios: list[tuple[str, str]] = field(default_factory=list)
    comet: object | None = None
    directions: list | None = None  # any-to-any: the Directions (testsets: one per direction)
    hubs: list[str] = field(default_factory=list)
    langs: list[str] = field(default_factory=list)
    pmp: dict[str, str] = field(default_factory=dict)  # label -> PMP mode
    auxiliaries: dict = field(default_factory=dict)  # (src, tgt) -> languages.auxiliary.Auxiliary


def parse_pmp(values: list[str], bridges: dict[str, Path], *, force: bool) -> dict[str, str]:
    """--pmp LABEL=MODE, each LABEL a --bridge whose bridge.json allows PMP."""
    from ..evaluate.pmp import PMP_MODES

    modes: dict[str, str] = {}
    for text in values:
        label, sep, mode = text.partition("=")
        if not sep or mode not in PMP_MODES:
            raise InputError(f"--pmp {text!r}: expected LABEL=MODE with MODE one of {', '.join(PMP_MODES)}")
        if label not in bridges:
            raise InputError(f"--pmp {text!r}: {label!r} is not a --bridge label; labels: {', '.join(bridges)}")
        if label in modes:
            raise InputError(f"--pmp names {label!r} twice; label the same bridge twice (--bridge A=DIR --bridge "
                             f"B=DIR) to evaluate it in two modes")
        check_pmp_bridge("--pmp", f"--bridge {label}", bridges[label], force=force)
        modes[label] = mode
    return modes


def parse_groups(text: str, languages: list[str]) -> dict[str, list[str]]:
    example = 'e.g. --groups "High=deu_Latn,zho_Hans;Low=zul_Latn,xho_Latn"'
    groups: dict[str, list[str]] = {}
    for part in filter(None, (x.strip() for x in text.split(";"))):
        name, sep, codes = part.partition("=")
        if not sep or not name.strip() or not codes.strip():
            raise InputError(f"--groups {text!r}: expected NAME=CODE,CODE;NAME=CODE,... ({example})")
        name = name.strip()
        if name in groups or name == "All":
            raise InputError(f"--groups: group name {name!r} is repeated or reserved ('All' is every language)")
        groups[name] = [check_language(f"--groups {name}", c.strip()) for c in codes.split(",") if c.strip()]
        outside = [c for c in groups[name] if c not in languages]
        if outside:
            raise InputError(f"--groups {name}: {', '.join(outside)} not among the evaluated languages "
                             f"({', '.join(languages)})")
    if not groups:
        raise InputError(f"--groups {text!r} names no group ({example})")
    return groups


def validate(args) -> Plan:
    from ..evaluate.cache import JsonCache
    from ..evaluate.comet import CometScorer
    from ..evaluate.metrics import parse_metrics, spbleu_metric
    from ..evaluate.testsets import load_testsets, parse_testset

    langs = [check_language("--langs", c.strip()) for c in (args.langs or "").split(",") if c.strip()]
    repeated = sorted({c for c in langs if langs.count(c) > 1})
    if repeated:
        raise InputError(f"--langs names {', '.join(repeated)} more than once")
    directions_mode = getattr(args, "directions", None) is not None
    if directions_mode and args.tgt_lang is not None:
        raise InputError("--tgt-lang is not used with --directions: each direction names its target")
    if directions_mode and args.groups:
        raise InputError("--groups is not used with --directions: its averages are the classes X->En, En->X, "
                         "X->Y and, with --hubs, into hubs, out of hubs, no hub")
    hubs = [check_language("--hubs", c.strip()) for c in (getattr(args, "hubs", None) or "").split(",") if c.strip()]
    if getattr(args, "hubs", None) is not None and not directions_mode:
        raise InputError("--hubs is only used with --directions (e.g. --directions hub-centric --hubs eng_Latn)")
    tgt_lang = check_language("--tgt-lang", args.tgt_lang or "eng_Latn")
    check_positive(args, "--batch-size", "--beam", "--max-new-tokens")
    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be a positive integer, got {args.limit}")
    check_device_name(args.device)
    metrics = parse_metrics(args.metrics)
    if args.spm is not None and "spbleu" not in metrics:
        raise InputError("--spm is only used by the spbleu metric; add spbleu to --metrics")
    if "spbleu" in metrics:
        spbleu_metric(args.spm)  # the model file is checked (and parsed) now, not after translating

    bridges: dict[str, Path] = {}
    for text in args.bridge:
        label, path = parse_bridge_arg(text)
        if label in bridges:
            raise InputError(f"--bridge: label {label!r} is used twice; name them with LABEL=PATH")
        bridges[label] = path
    pmp = parse_pmp(getattr(args, "pmp", None) or [], bridges, force=getattr(args, "force_pmp", False))
    aux_lang = getattr(args, "aux_lang", None)
    if not pmp and (aux_lang is not None or getattr(args, "force_pmp", False)):
        raise InputError(f"{'--aux-lang' if aux_lang is not None else '--force-pmp'} needs --pmp LABEL=MODE")
    aux_lang = check_language("--aux-lang", aux_lang) if aux_lang is not None else None
    if args.baseline is not None and args.baseline not in bridges:
        raise InputError(f"--baseline {args.baseline!r} is not a --bridge label; labels: {', '.join(bridges)}")
    if args.baseline is not None and len(bridges) < 2:
        raise InputError("--baseline needs at least one other --bridge to compare with it")
    ratios = []
    for text in args.ratio:
        num, sep, den = text.partition("/")
        if not sep or num not in bridges or den not in bridges:
            raise InputError(f"--ratio {text!r}: expected NUM/DEN, two --bridge labels ({', '.join(bridges)})")
        ratios.append((num, den))

    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a directory")

    comet = None
    if "comet" in metrics:
        comet = CometScorer(args.comet_python, args.comet_model, cache=JsonCache(out / "cache"),
                            gpus=1 if args.device.startswith("cuda") else 0)  # COMET runs where the bridges do
        comet.check()
    elif args.comet_python is not None:
        raise InputError("--comet-python is only used by the comet metric; add comet to --metrics")

    from ..evaluate.pmp import auxiliary_languages

    testset = parse_testset(args.testset)
    if directions_mode:
        from ..evaluate.any_to_any import parse_directions
        from ..evaluate.testsets import load_direction_testsets

        directions = parse_directions(args.directions, langs, hubs)
        # Every system reads the same segments: with PMP, those the auxiliary language has too.
        languages = langs or list(dict.fromkeys(c for d in directions for c in d))
        auxiliaries = auxiliary_languages(directions, languages, aux_lang=aux_lang) if pmp else {}
        testsets = load_direction_testsets(testset, directions, args.limit,
                                           {d: a.lang for d, a in auxiliaries.items()} if pmp else None)
        return Plan(bridges, testsets, metrics, out, {}, ratios, comet, directions, hubs, langs, pmp, auxiliaries)
    auxiliaries = auxiliary_languages([(c, tgt_lang) for c in langs], [*langs, tgt_lang],
                                      aux_lang=aux_lang) if pmp else {}
    testsets = load_testsets(testset, langs, tgt_lang, args.limit,
                             {d: a.lang for d, a in auxiliaries.items()} if pmp else None)
    groups = parse_groups(args.groups, [ts.name for ts in testsets]) if args.groups else {}
    return Plan(bridges, testsets, metrics, out, groups, ratios, comet, pmp=pmp, auxiliaries=auxiliaries)


# ---- running -----------------------------------------------------------------------------------


def run(args) -> None:
    plan = validate(args)  # raises on any user mistake, before a model is loaded
    from ..evaluate import System, evaluate, write_results
    from ..evaluate.provenance import run_info
    from ..evaluate.report import metric_name

    log = (lambda message: None) if args.quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    for origin, skipped in dict.fromkeys((ts.origin, ts.empty_skipped) for ts in plan.testsets):
        if skipped:
            log(f"{origin}: skipped {skipped} pair(s) with an empty side")
    for (src, tgt), aux in plan.auxiliaries.items():
        log(f"PMP: auxiliary language for {src} -> {tgt}: {aux.lang} ({aux.why})")
    check_device(args.device)
    systems = [System.from_checkpoint(label, path, device=args.device, dtype=args.dtype, pmp=plan.pmp.get(label))
               for label, path in plan.bridges.items()]
    generation = {"num_beams": args.beam, "max_new_tokens": args.max_new_tokens, "truncate": args.truncate}
    if plan.directions is not None:
        return _run_directions(args, plan, systems, generation, log)
    ev = evaluate(systems, plan.testsets, metrics=plan.metrics, spm=args.spm, comet=plan.comet,
                  baseline=args.baseline, groups=plan.groups, ratios=plan.ratios, generation=generation,
                  batch_size=args.batch_size, cache_dir=plan.out / "cache", log=log,
                  progress=not args.quiet and sys.stderr.isatty())
    options = {k: v for k, v in vars(args).items() if k != "func"}
    options["tgt_lang"] = args.tgt_lang or "eng_Latn"  # the default, recorded as before --directions
    info = run_info(args.device, options=options, testset=args.testset,
                    systems={s.label: s.identity for s in systems}, generation=generation,
                    testsets={ts.name: ts.identity for ts in plan.testsets},
                    signatures=ev.signatures, comet=ev.comet, translation=ev.translation)
    written = write_results(plan.out, ev.report, segments=ev.segments(), run=info)
    for metric in ev.report.metrics:  # the main tables on stdout
        print(f"{metric_name(metric)}\n{ev.report.table(metric)}\n")
    log(f"wrote {', '.join(sorted(written))} to {plan.out}")


def _run_directions(args, plan: Plan, systems, generation: dict, log) -> None:
    from ..evaluate.any_to_any import evaluate_directions
    from ..evaluate.provenance import run_info
    from ..evaluate.report import metric_name
    from ..evaluate.writer import write_directions_results

    ev = evaluate_directions(systems, plan.directions, plan.testsets, languages=plan.langs or None, hubs=plan.hubs,
                             metrics=plan.metrics, spm=args.spm, comet=plan.comet, baseline=args.baseline,
                             ratios=plan.ratios, generation=generation, batch_size=args.batch_size,
                             cache_dir=plan.out / "cache", log=log, progress=not args.quiet and sys.stderr.isatty())
    options = {k: v for k, v in vars(args).items() if k != "func"}
    info = run_info(args.device, options=options, testset=args.testset,
                    systems={s.label: s.identity for s in systems}, generation=generation,
                    directions=[d.name for d in plan.directions], hubs=plan.hubs,
                    testsets={ts.name: ts.identity for ts in ev.testsets}, signatures=ev.signatures,
                    comet=ev.comet, translation=ev.translation, language_identifier=ev.report.identifier)
    written = write_directions_results(plan.out, ev.report, segments=ev.segments(), run=info)
    for metric in ev.report.metrics:  # the class averages on stdout; the matrices are in results.md
        print(f"{metric_name(metric)} by class\n{ev.report.class_table(metric)}\n")
    if ev.report.off_target:
        print(f"Off-target rate by class\n{ev.report.off_target_class_table()}\n")
    log(f"wrote {', '.join(sorted(written))} to {plan.out}")
