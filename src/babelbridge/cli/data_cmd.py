"""`babelbridge data export ...`, `babelbridge data trilingual ...`, `babelbridge data pseudo ...`,
`babelbridge data multiway ...` and `babelbridge data bible-languages`."""

from __future__ import annotations

EPILOG = """examples:
  babelbridge data export --format bible --src-lang deu_Latn --split train --out de-en.train.tsv
  babelbridge data export --format bible --src-lang fr --tgt-lang de --split test --out fr-de.jsonl
  babelbridge data export --format flores --path /data/flores200 --src-lang de --split dev --out dev.tsv
  babelbridge data export --format bible --src-lang de --tgt-lang fr --pivot-lang en --split train --out de-en-fr.jsonl
  babelbridge data trilingual --corpus tsv:de-en.tsv --src-lang de --bridge runs/nllb --tgt-langs fr,es \\
      --out de-en-y.jsonl
  babelbridge data pseudo --bridge runs/crosslora-stage1/bridge --langs eng_Latn,deu_Latn,zho_Hans \\
      --corpus bible --split train --skip 2000 --limit 2000 --out pseudo.jsonl
  babelbridge data multiway --config run.yaml
  babelbridge data multiway --corpus bible --split train --langs eng_Latn,deu_Latn,fra_Latn --hubs eng_Latn \
      --downsample-into eng_Latn --keep 0.05
  babelbridge data bible-languages"""

MULTIWAY_EPILOG = """Prints what training would read, without loading a model: with --config, the run config's
data section as the trainer reads it (data.train's corpora mixed, data.multiway's directions,
data.downsample), before the over-long filter (that needs the bridge's tokenizer). Without
--config, flags describe data.multiway and data.downsample.

The report: pairs per direction (skipped: not aligned or empty; with PMP, the auxiliary and the
pairs dropped because the auxiliary lacks the sentence), how often identical target strings
repeat per target language (mean / max: LMT's "hub targets repeat once per source"), the PMP
auxiliary table, and with downsampling each direction's pairs and each target's repetition
before -> after.

examples:
  babelbridge data multiway --config run.yaml --set data.downsample.keep=0.1
  babelbridge data multiway --corpus bible --split train --langs en,de,fr,zh --hubs en,zh --pmp
  babelbridge data multiway --corpus flores:/data/flores200 --split dev --langs en,de,fr \
      --directions all --downsample-into en --keep 0.05"""

TRILINGUAL_EPILOG = """For each pair (x -> English or English -> x) and each target language y other than x, the
English side is translated into y with the bridge, and one line is written:
  {"src": x, "tgt": y, "src_lang": ..., "tgt_lang": y, "pivot": English, "pivot_lang": "eng_Latn"}
(read it back with format jsonl and pivot_lang eng_Latn). One language at a time, in batches.

Resumable: finished batches go to OUT.partial/ as they are done; run the same command again
after a stop and it continues there (different arguments against that folder are refused).
OUT appears only when everything is translated, and OUT.partial/ is then removed. Under
`accelerate launch --num_processes N -m babelbridge.cli.main data trilingual ...` the processes
share the batches (batch b on process b % N) and process 0 writes OUT, as translate --input does.

example:
  babelbridge data trilingual --corpus tsv:de-en.tsv --src-lang de --bridge runs/nllb \\
      --tgt-langs fra_Latn,spa_Latn --out de-en-y.jsonl --batch-size 32 --device cuda"""


PSEUDO_EPILOG = """CrossLoRA's stage 2 data. For every direction X -> Y between two --langs other than the pivot,
held-out X sentences are translated X -> pivot (once per X), then pivot -> Y, with the stage-1
bridge, and one line is written per pair that passes the filters:
  {"src": X sentence, "tgt": Y translation, "src_lang", "tgt_lang", "pivot": its pivot translation,
   "pivot_lang": "eng_Latn"}
(read it back with format jsonl and pivot_lang eng_Latn). Filters, each drop counted per direction
in OUT.report.json and printed at the end: an empty translation; the output not identified as Y
(py3langid, as the any-to-any evaluation; a Y it cannot recognise is kept unfiltered and named);
len(tgt)/len(src) in characters farther than a factor --max-length-ratio from the direction's
median (characters: CJK has no words; the median: scripts differ in characters per sentence).

Sources: each X's sentences of the X-pivot direction of a multi-way corpus, in the order and
alignment data.multiway reads them; --skip N leaves out the first N (a stage 1 trained with
data.multiway's `limit: N` on the same split saw exactly those), --limit takes at most N after
them. A stage 1 trained on the whole train split leaves --split dev. Test splits are refused.

Resumable: finished batches go to OUT.partial/ as they are done; run the same command again
after a stop and it continues there (different arguments against that folder are refused; the
filter settings may change). OUT appears only when everything is translated. Under `accelerate
launch --num_processes N` the processes share the batches and process 0 writes OUT, as with
data trilingual.

example:
  babelbridge data pseudo --bridge runs/crosslora-stage1/bridge --pivot eng_Latn \\
      --langs deu_Latn,zho_Hans,rus_Cyrl,ces_Latn,isl_Latn --corpus bible --split train --skip 2000 \\
      --limit 2000 --out pseudo.jsonl --batch-size 32 --device cuda --dtype bfloat16"""


def add_parser(sub) -> None:
    import argparse

    # No import of babelbridge.data here: it loads torch, and every command builds this parser.
    p = sub.add_parser("data", help="export a corpus to TSV/JSONL; make x-en-y triples; make CrossLoRA's pivot "
                            "pseudo-corpus; report multi-way data; list the Bible's languages",
                       description="Work with parallel corpora.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    data_sub = p.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    e = data_sub.add_parser("export", help="read one corpus (any format) and write its pairs as TSV or JSONL",
                            description="Read one corpus as a training config would (same validation, "
                                        "same skipping of empty pairs) and write its pairs, atomically.")
    e.add_argument("--format", required=True, help="tsv, jsonl, text, flores or bible")
    e.add_argument("--path", "--db", dest="path", metavar="PATH",
                   help="corpus file or directory; for --format bible the bible.db "
                        "(default: the cached asset 'bible-db', fetched once)")
    e.add_argument("--tgt-path", metavar="PATH", help="target file of --format text")
    e.add_argument("--src-lang", help="source language, e.g. deu_Latn, de, German")
    e.add_argument("--tgt-lang", help="target language (default: eng_Latn; with --format jsonl and "
                                      "--pivot-lang: each line's own \"tgt_lang\")")
    e.add_argument("--split", help="flores: devtest (default) or dev; bible: train, dev or test (required)")
    e.add_argument("--out", required=True, metavar="FILE")
    e.add_argument("--output-format", metavar="{tsv,jsonl}", help="default: jsonl if FILE ends in .jsonl, else tsv")
    e.add_argument("--limit", type=int, metavar="N", help="write at most N pairs")
    e.add_argument("--pivot-lang", metavar="CODE",
                   help="bible and jsonl: read triples with this third language (e.g. eng_Latn) as "
                        "\"pivot\"; needs JSONL output")
    e.set_defaults(func=export)

    t = data_sub.add_parser("trilingual", help="x-en-y triples: translate the English side of pairs into "
                                               "other languages with a bridge (resumable)",
                            description="Make XBridge's trilingual triples from English-centric pairs.",
                            epilog=TRILINGUAL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--corpus", required=True, metavar="FORMAT[:PATH]",
                   help="the pairs: tsv:PATH, jsonl:PATH, text:PATH (with --tgt-path), flores:DIR, "
                        "bible[:PATH] (with --split); read as `data export --format FORMAT --path PATH`")
    t.add_argument("--tgt-path", metavar="PATH", help="target file of a text corpus")
    t.add_argument("--split", help="flores: devtest (default) or dev; bible: train, dev or test (required)")
    t.add_argument("--limit", type=int, metavar="N", help="use the first N pairs")
    t.add_argument("--src-lang", help="the corpus's source language, e.g. deu_Latn, de, German (jsonl: "
                                      "optional where every line has \"src_lang\")")
    t.add_argument("--tgt-lang", default="eng_Latn",
                   help="the corpus's target language (default: eng_Latn); one side must be English")
    t.add_argument("--bridge", required=True, metavar="CHECKPOINT",
                   help="a bridge that translates out of English (e.g. an NMT baseline checkpoint)")
    t.add_argument("--tgt-langs", required=True, metavar="CODES",
                   help="the third languages y, comma-separated, e.g. fra_Latn,spa_Latn")
    t.add_argument("--out", required=True, metavar="FILE", help="the triples, JSONL (written at the end, atomically)")
    t.add_argument("--empty-lines", choices=("skip", "error"), default="skip",
                   help="an input pair with an empty side: skip and count it, or fail (default: %(default)s)")
    _add_translation_options(t)
    t.set_defaults(func=trilingual)

    ps = data_sub.add_parser("pseudo", help="CrossLoRA's pseudo-corpus: every non-pivot direction X -> Y by "
                                            "pivoting held-out sentences through English with a stage-1 bridge, "
                                            "filtered (resumable)",
                             description="Make CrossLoRA's pivot pseudo-parallel corpus (its stage 2 data).",
                             epilog=PSEUDO_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ps.add_argument("--bridge", required=True, metavar="CHECKPOINT",
                    help="the stage-1 bridge (translates X -> pivot and pivot -> Y)")
    ps.add_argument("--langs", required=True, metavar="CODES",
                    help="the languages, comma-separated, e.g. eng_Latn,deu_Latn,zho_Hans (the pivot may be left out)")
    ps.add_argument("--pivot", default="eng_Latn", metavar="CODE", help="the pivot language (default: %(default)s)")
    ps.add_argument("--corpus", default="bible", metavar="FORMAT[:PATH]",
                    help="where the source sentences come from: a multi-way corpus, bible[:DB] or flores:DIR "
                         "(default: %(default)s, the cached asset)")
    ps.add_argument("--split", required=True, help="bible: train or dev; flores: dev (test splits are refused)")
    ps.add_argument("--skip", type=int, default=0, metavar="N",
                    help="leave out each language's first N sentences: those stage 1 trained on (default: 0)")
    ps.add_argument("--limit", type=int, metavar="N", help="at most N source sentences per language, after --skip")
    ps.add_argument("--out", required=True, metavar="FILE",
                    help="the pairs, JSONL (written at the end, atomically; the counts go to FILE.report.json)")
    ps.add_argument("--max-length-ratio", type=float, default=3.0, metavar="R",
                    help="drop a pair whose len(tgt)/len(src) is more than R times above or below its "
                         "direction's median (default: %(default)s)")
    _add_translation_options(ps)
    ps.set_defaults(func=pseudo)

    m = data_sub.add_parser("multiway", help="the data report of data.multiway / data.downsample "
                                             "(directions, pairs, target repetition) without training",
                            description="Build multi-way training data (every direction among some languages of "
                                        "the Bible or FLORES-200) and print its report.",
                            epilog=MULTIWAY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    m.add_argument("--config", metavar="RUN.yaml", help="a run config: its data section, as `train` reads it")
    m.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="with --config: override a key, e.g. data.downsample.keep=0.1 (repeatable)")
    m.add_argument("--corpus", metavar="FORMAT[:PATH]", help="without --config: bible[:DB] or flores:DIR")
    m.add_argument("--split", help="bible: train, dev or test (required); flores: devtest (default) or dev")
    m.add_argument("--langs", metavar="CODES", help="the languages, comma-separated")
    m.add_argument("--hubs", metavar="CODES", help="hub languages (default: eng_Latn)")
    m.add_argument("--directions", metavar="WHICH",
                   help="hub-centric (default), all, or SRC-TGT,SRC-TGT,...")
    m.add_argument("--limit", type=int, metavar="N", help="pairs per direction")
    m.add_argument("--pmp", action="store_true", help="attach each direction's PMP auxiliary sentence")
    m.add_argument("--pmp-fallback", metavar="CODE", help="PMP's fallback auxiliary")
    m.add_argument("--downsample-into", metavar="CODES", help="strategic downsampling: the hub targets")
    m.add_argument("--keep", type=float, metavar="SHARE", help="with --downsample-into: the share kept, in (0, 1]")
    m.add_argument("--seed", type=int, help="downsampling seed (default: 0; a config's: data.seed, else train.seed)")
    m.set_defaults(func=multiway)

    b = data_sub.add_parser("bible-languages", help="the Bible versions per language and pairs per split",
                            description="The version used for each of the 22 languages and the number of "
                                        "verse pairs with English (WEB) in each split.")
    b.add_argument("--db", metavar="PATH", help="bible.db (default: the cached asset 'bible-db')")
    b.set_defaults(func=bible_languages)


def _add_translation_options(p) -> None:
    """The options of a data command that translates with a bridge (trilingual, pseudo)."""
    from .checks import DTYPES

    p.add_argument("--batch-size", type=int, default=16, metavar="N", help="sentences per translate call "
                                                                             "(default: %(default)s)")
    p.add_argument("--num-beams", type=int, default=4, metavar="N", help="beam size (default: %(default)s)")
    p.add_argument("--max-new-tokens", type=int, default=256, metavar="N",
                   help="longest translation, in tokens (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps, ... (default: %(default)s)")
    p.add_argument("--dtype", default="float32", choices=DTYPES,
                   help="dtype of the bridge's models (default: %(default)s)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")


def _read(spec, empty_lines: str = "skip"):
    """A spec's pairs and a note on what was skipped (the Bible's own report for format bible)."""
    from itertools import islice

    from ..data import read_corpus
    from ..data.bible import BibleReport, bible_pairs

    if spec.format == "bible":  # read directly: its report says which verses were skipped and why
        report = BibleReport()
        pairs = list(islice(bible_pairs(spec.src_lang, spec.tgt_lang, spec.split, spec.path, report,
                                        pivot_lang=spec.pivot_lang), spec.limit))
        return pairs, report.summary()
    corpus = read_corpus(spec, empty_lines=empty_lines)
    return corpus.pairs, corpus.report.summary()


def export(args) -> None:
    from pathlib import Path

    from ..data import WRITE_FORMATS, CorpusSpec, DataError, write_pairs

    fmt = args.output_format or ("jsonl" if Path(args.out).suffix == ".jsonl" else "tsv")
    if fmt not in WRITE_FORMATS:  # before reading: a corpus can take a while
        raise DataError(f"unknown output format {fmt!r}; expected one of: {', '.join(WRITE_FORMATS)}")
    tgt_lang = args.tgt_lang
    if tgt_lang is None:  # a JSONL file of triples names its target languages per line
        tgt_lang = None if args.format == "jsonl" and args.pivot_lang else "eng_Latn"
    spec = CorpusSpec(args.format, args.path, tgt_path=args.tgt_path, src_lang=args.src_lang,
                      tgt_lang=tgt_lang, split=args.split, limit=args.limit, pivot_lang=args.pivot_lang)
    if spec.pivot_lang is not None and fmt != "jsonl":
        raise DataError("--pivot-lang: triples need JSONL output (--output-format jsonl or a .jsonl --out); "
                        "TSV holds two sentences per line")
    pairs, note = _read(spec)
    out = write_pairs(pairs, args.out, fmt, pivot_lang=spec.pivot_lang)
    kind = "triples" if spec.pivot_lang is not None else "pairs"
    print(f"wrote {len(pairs)} {kind} to {out} ({fmt}); {note}")


def parse_corpus_arg(text: str) -> tuple[str, str | None]:
    """--corpus FORMAT[:PATH] -> (format, path or None)."""
    from ..data import FORMATS
    from ..errors import InputError

    fmt, _, path = text.partition(":")
    if fmt not in FORMATS:
        raise InputError(f"--corpus {text!r}: unknown format {fmt!r}; accepted: tsv:PATH, jsonl:PATH, "
                         f"text:PATH (with --tgt-path), flores:DIR, bible[:PATH]")
    if not path and fmt != "bible":
        raise InputError(f"--corpus {text!r}: {fmt} needs a path ({fmt}:PATH)")
    return fmt, path or None


def _load_translator(path, args):
    """The bridge at `path` (a LazyBridge: translate and fits), loaded on first use."""
    from ..data.pseudo import LazyBridge

    def load():
        from .. import bridges
        from .checks import check_device

        check_device(args.device)
        return bridges.load_bridge(path, device=args.device, dtype=args.dtype)

    return LazyBridge(load, batch_size=args.batch_size, num_beams=args.num_beams, max_new_tokens=args.max_new_tokens)


def _shard(args):
    """This process's share under `accelerate launch` (batch b of each step: process b % N), as
    translate --input shares its chunks; --device cuda becomes this process's GPU."""
    from .processes import process_shard

    shard, args.device = process_shard(args.device)
    return shard


def _bridge_translator(path, args):
    """translate(texts, tgt_lang) from English with the bridge at `path` (data trilingual)."""
    translator = _load_translator(path, args)
    return lambda texts, tgt_lang: translator.translate(texts, "eng_Latn", tgt_lang)


def trilingual(args) -> None:
    import sys
    from pathlib import Path

    from ..data import CorpusSpec
    from ..data.trilingual import build_triples, plan_triples
    from ..errors import InputError
    from ..evaluate.cache import checkpoint_identity
    from ..pretrained import resolve_bridge_path
    from .checks import check_device_name, check_language, check_positive

    # Everything is checked and the corpus read before a model is loaded.
    src_lang = check_language("--src-lang", args.src_lang) if args.src_lang is not None else None
    tgt_lang = check_language("--tgt-lang", args.tgt_lang)
    tgt_langs = [check_language("--tgt-langs", c.strip()) for c in args.tgt_langs.split(",") if c.strip()]
    if not tgt_langs:
        raise InputError("--tgt-langs is empty: give the third languages, e.g. --tgt-langs fra_Latn,spa_Latn")
    check_positive(args, "--batch-size", "--num-beams", "--max-new-tokens")
    check_device_name(args.device)
    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"--out {out} is a directory; give a file path")
    fmt, path = parse_corpus_arg(args.corpus)
    spec = CorpusSpec(fmt, path, tgt_path=args.tgt_path, src_lang=src_lang, tgt_lang=tgt_lang,
                      split=args.split, limit=args.limit)
    bridge_path = resolve_bridge_path(args.bridge)
    pairs, note = _read(spec, args.empty_lines)
    shard = _shard(args)
    if shard.rank == 0:
        print(f"corpus {args.corpus}: {note}")
    plan = plan_triples(pairs, tgt_langs, args.batch_size)
    corpus = {"format": spec.format, "path": str(spec.path.resolve()) if spec.path else None,
              "tgt_path": str(spec.tgt_path.resolve()) if spec.tgt_path else None, "split": spec.split,
              "src_lang": spec.src_lang, "tgt_lang": spec.tgt_lang, "limit": spec.limit,
              "empty_lines": args.empty_lines}
    arguments = {"corpus": corpus, "bridge": checkpoint_identity(bridge_path), "dtype": args.dtype,
                 "generation": {"num_beams": args.num_beams, "max_new_tokens": args.max_new_tokens}}
    log = None if args.quiet or shard.rank else (lambda line: print(line, file=sys.stderr, flush=True))
    report = build_triples(plan, _bridge_translator(bridge_path, args), out, arguments=arguments, log=log,
                           shard=shard)
    if shard.rank == 0:
        print(report.summary())


def _check_expert_languages(path, langs) -> None:
    """A CrossLoRA bridge translates only between its expert languages: say so before loading it."""
    import json

    from ..errors import InputError
    from ..pretrained import CHECKPOINT_FILES

    meta = json.loads((path / CHECKPOINT_FILES[0]).read_text(encoding="utf-8"))
    experts = (meta.get("config") or {}).get("languages")
    if meta.get("method") != "crosslora" or not experts:
        return
    missing = [lang for lang in langs if lang not in experts]
    if missing:
        raise InputError(f"--langs: the bridge {path} (crosslora) has no expert for {', '.join(missing)}; its "
                         f"languages are {', '.join(experts)}")


def pseudo(args) -> None:
    import sys
    from pathlib import Path

    from ..data.pseudo import build_pseudo, check_languages, plan_pseudo, read_held_out
    from ..data.pseudo_filters import LanguageIdentifier
    from ..errors import InputError
    from ..evaluate import langid
    from ..evaluate.cache import checkpoint_identity
    from ..pretrained import resolve_bridge_path
    from .checks import check_device_name, check_positive

    # Everything is checked and the corpus read before a model is loaded.
    pivot, langs = check_languages(_codes(args.langs), args.pivot, langs_name="--langs", pivot_name="--pivot")
    check_positive(args, "--batch-size", "--num-beams", "--max-new-tokens")
    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be a positive integer, got {args.limit}")
    if args.skip < 0:
        raise InputError(f"--skip must be 0 or more, got {args.skip}")
    if not args.max_length_ratio > 1:
        raise InputError(f"--max-length-ratio must be > 1 (pairs within a factor R of their direction's median "
                         f"length ratio are kept), got {args.max_length_ratio}")
    check_device_name(args.device)
    out = Path(args.out)
    if out.is_dir():
        raise InputError(f"--out {out} is a directory; give a file path")
    fmt, path = parse_corpus_arg(args.corpus)
    if fmt not in ("bible", "flores"):
        raise InputError(f"--corpus {args.corpus!r}: the sources come from a multi-way corpus (the same sentences "
                         f"in every language); accepted: bible[:DB], flores:DIR")
    bridge_path = resolve_bridge_path(args.bridge)
    _check_expert_languages(bridge_path, (pivot, *langs))
    corpus = {"format": fmt, "path": str(Path(path).resolve()) if path else None, "split": args.split}
    sources = read_held_out(corpus, langs, pivot, skip=args.skip, limit=args.limit)
    shard = _shard(args)
    if shard.rank == 0:
        print(f"corpus {args.corpus} ({args.split}), after skipping {args.skip} per language: "
              + ", ".join(f"{lang} {len(texts)}" for lang, texts in sources.items()) + " source sentences")
    plan = plan_pseudo(sources, pivot, batch_size=args.batch_size, max_length_ratio=args.max_length_ratio)
    identifier = LanguageIdentifier(langid.identify, langid.accepted_codes, langid.identifier_version())
    arguments = {"corpus": {**corpus, "skip": args.skip, "limit": args.limit},
                 "bridge": checkpoint_identity(bridge_path), "dtype": args.dtype,
                 "generation": {"num_beams": args.num_beams, "max_new_tokens": args.max_new_tokens}}
    log = None if args.quiet or shard.rank else (lambda line: print(line, file=sys.stderr, flush=True))
    translator = _load_translator(bridge_path, args)
    report = build_pseudo(plan, translator.translate, identifier, out, fits=translator.fits, arguments=arguments,
                          log=log, shard=shard)
    if shard.rank == 0:
        print(report.summary())


def _codes(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def multiway(args) -> None:
    from ..errors import InputError

    flags = ("corpus", "split", "langs", "hubs", "directions", "limit", "pmp_fallback", "downsample_into", "keep",
             "seed")
    given = [f"--{f.replace('_', '-')}" for f in flags if getattr(args, f) not in (None, False)] + (
        ["--pmp"] if args.pmp else [])
    if args.config is not None:
        if given:
            raise InputError(f"give --config or the flags ({', '.join(given)}), not both "
                             f"(override the config with --set KEY=VALUE)")
        from ..runconfig import load_run_config
        from ..train.pipeline import plan_training, training_pairs

        plan = plan_training(load_run_config(args.config, args.set))
        pairs = training_pairs(plan)
        print(f"{len(pairs)} training pairs before the over-long filter (it needs the bridge's tokenizer)")
        return
    if args.set:
        raise InputError("--set overrides a --config file; without --config, use the flags")
    missing = [f for f, v in (("--corpus", args.corpus), ("--langs", args.langs)) if v is None]
    if missing:
        raise InputError(f"give --config RUN.yaml, or {' and '.join(missing)} (e.g. --corpus bible --split train "
                         f"--langs eng_Latn,deu_Latn,fra_Latn)")
    if (args.downsample_into is None) != (args.keep is None):
        raise InputError("--downsample-into and --keep go together (e.g. --downsample-into eng_Latn --keep 0.05)")
    from ..data import DownsampleSpec, MultiwaySpec, build_multiway, downsample

    fmt, path = parse_corpus_arg(args.corpus)
    directions = args.directions or "hub-centric"
    if directions not in ("hub-centric", "all") and "-" in directions:  # else: the spec names the accepted values
        directions = _codes(directions)
    spec = MultiwaySpec.from_dict({"corpus": {"format": fmt, "path": path, "split": args.split},
                                   "langs": _codes(args.langs), "hubs": _codes(args.hubs),
                                   "directions": directions, "limit": args.limit, "pmp": args.pmp,
                                   "pmp_fallback": args.pmp_fallback})
    cut = DownsampleSpec.from_dict({"into": _codes(args.downsample_into), "keep": args.keep}) \
        if args.keep is not None else None
    data = build_multiway(spec)
    print(data.format())
    if cut is not None:
        _, report = downsample(data.pairs, cut, args.seed or 0)
        print(report.format())


def bible_languages(args) -> None:
    from ..data.bible import SPLITS, book_names, format_counts, split_books, verse_counts

    print(format_counts(verse_counts(args.db)))
    names = book_names(args.db)
    print("\npairs with English (WEB) per split, markers and merged verses skipped; "
          "the English row counts WEB's own verses")
    for split in SPLITS:
        books = split_books(split)
        listed = ", ".join(f"{names.get(b, 'book')} {b}" for b in books) if split != "train" else \
            f"the other {len(books)} books"
        print(f"{split + ':':6} {listed}")
