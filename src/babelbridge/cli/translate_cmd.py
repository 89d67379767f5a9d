"""`babelbridge translate`: translate texts, stdin or a file with a saved bridge.

Everything the user can get wrong (language codes, the checkpoint path, the input file and
its lines, the output directory, the numbers) is checked before torch is imported or a model
is loaded: a typo fails in a fraction of a second, not after a minute of loading. This module
therefore imports nothing heavy at the top; torch, the bridges and tqdm are imported in run()
once the arguments have passed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BabelBridgeError, CheckpointError, InputError
from .checks import DTYPES, check_device, check_device_name, check_language, check_positive  # noqa: F401 (eval, serve use them)
from ..pretrained import BUILTIN_BRIDGES, CHECKPOINT_FILES, resolve_bridge_path  # noqa: F401 (eval, serve, demo use them)
from ..textio import FORMATS, Record, detect_format, format_record, parse_plain, read_records, split_lines

CHUNK_BATCHES = 8  # sentences per Bridge.translate call = CHUNK_BATCHES * --batch-size

EPILOG = """examples:
  babelbridge translate --bridge runs/hca-deu-eng/bridge --src-lang de "Guten Morgen." "Wie geht's?"
  babelbridge translate --bridge runs/hca-deu-eng/bridge --src-lang deu_Latn < news.de.txt > news.en.txt
  babelbridge translate --bridge runs/hca-deu-eng/bridge --src-lang de --input test.tsv --output test.en.tsv
  babelbridge translate --bridge runs/hca-multi/bridge --input mixed.jsonl --output mixed.en.jsonl \\
      --beam 4 --batch-size 32 --device cuda --dtype bfloat16

input and output:
  TEXT ...           each argument is one source; one translation per line on stdout
  (nothing)          sources from stdin, one per line; one translation per line on stdout
  --input/--output   a file, in the format given by --format or by the input's extension
                     (.tsv -> tsv, .jsonl -> jsonl, anything else -> plain):
    plain  one source per line; blank lines stay blank in the output and are not translated
    tsv    source in column 1; all columns are kept and the translation is appended as a new
           last column (no header, no quoting)
    jsonl  one object per line with "src" (or "text"); a "src_lang" key overrides --src-lang
           for that line; the output object is the input object plus "translation"
  Empty sources in tsv/jsonl files are an error that names their lines. Line breaks (and
  tabs, in tsv) inside a translation are written as spaces: one input line, one output line.
  The output file appears only once every line is translated; a failure leaves no output
  file (an existing one is left as it was).

Language codes: FLORES-200 codes (deu_Latn), ISO 639-1/639-3 codes (de, deu) or English
names (German); `babelbridge languages` lists them."""


def add_parser(sub) -> None:
    import argparse

    p = sub.add_parser(
        "translate", help="translate texts, stdin or a file (plain/tsv/jsonl) with a saved bridge",
        description="Translate with a saved bridge checkpoint: the frozen encoder reads each source,\n"
                    "the frozen LLM writes its translation.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("texts", nargs="*", metavar="TEXT",
                   help="sources to translate (put `--` before a text that starts with '-'); "
                        "without TEXT or --input, sources are read from stdin, one per line")
    p.add_argument("--bridge", required=True, metavar="CHECKPOINT",
                   help="a bridge checkpoint directory (holding bridge.json and bridge.safetensors), "
                        "e.g. the bridge/ folder in a training run's output_dir, or a shipped bridge: "
                        + ", ".join(sorted(BUILTIN_BRIDGES)))
    p.add_argument("--src-lang", metavar="CODE",
                   help="source language, e.g. deu_Latn, de or German (required, except for jsonl "
                        "input whose every line has \"src_lang\")")
    p.add_argument("--tgt-lang", default="eng_Latn", metavar="CODE[,CODE...]",
                   help="target language, or several separated by commas: each source is translated into "
                        "each (an XBridge bridge decodes one LLM pass into all of them); plain output then has "
                        "one tab-separated column per language, tsv one appended column each, jsonl a "
                        "\"translations\" object (default: %(default)s)")
    p.add_argument("--input", metavar="FILE", help="translate this file instead of TEXT/stdin (needs --output)")
    p.add_argument("--output", metavar="FILE",
                   help="where to write the translated --input (written completely or not at all)")
    p.add_argument("--format", choices=FORMATS,
                   help="format of --input and --output (default: from the input's extension: "
                        ".tsv, .jsonl, else plain)")
    p.add_argument("--batch-size", type=int, default=16, metavar="N",
                   help="sentences per forward pass, length-sorted (default: %(default)s)")
    p.add_argument("--beam", type=int, default=1, metavar="N",
                   help="beam size; 1 is greedy decoding (default: %(default)s)")
    p.add_argument("--max-new-tokens", type=int, default=256, metavar="N",
                   help="longest translation, in LLM tokens (default: %(default)s)")
    p.add_argument("--truncate", action="store_true",
                   help="cut sources longer than the bridge's source limit instead of failing")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps, ... (default: %(default)s)")
    p.add_argument("--dtype", default="float32", choices=DTYPES,
                   help="dtype of the backbones (default: %(default)s)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary on stderr")
    p.set_defaults(func=run)


# ---- validation (light: no torch) -------------------------------------------------------------


@dataclass
class Job:
    """What run() will do, fully validated."""

    bridge: Path
    src_lang: str | None
    tgt_lang: str | list[str]  # a list: several target languages
    records: list[Record]
    where: str  # how to name a record's position in messages, e.g. "line" or "TEXT"
    output: Path | None = None  # None: stdout
    fmt: str = "plain"
    generation: dict = field(default_factory=dict)


def validate(args) -> Job:
    """Check every argument and read the input; raises before anything heavy happens."""
    # Language codes first: a typo fails the same way whatever else is wrong.
    src_lang = check_language("--src-lang", args.src_lang) if args.src_lang is not None else None
    tgt_langs = list(dict.fromkeys(check_language("--tgt-lang", code.strip()) for code in args.tgt_lang.split(",")))
    tgt_lang = tgt_langs[0] if len(tgt_langs) == 1 else tgt_langs

    check_positive(args, "--batch-size", "--beam", "--max-new-tokens")
    check_device_name(args.device)

    if args.texts and args.input is not None:
        raise InputError("give either TEXT arguments or --input FILE, not both")
    if args.input is None and args.output is not None:
        raise InputError("--output needs --input (TEXT and stdin translations go to stdout)")
    if args.input is not None and args.output is None:
        raise InputError("--input needs --output FILE")
    if args.input is None and args.format is not None:
        raise InputError("--format applies to --input files; TEXT and stdin are one source per line")
    jsonl_input = args.input is not None and detect_format(args.input, args.format) == "jsonl"
    if src_lang is None and not jsonl_input:
        raise InputError("--src-lang is required (e.g. --src-lang deu_Latn); only jsonl input whose lines "
                         "all carry \"src_lang\" can go without it")

    bridge = resolve_bridge_path(args.bridge)
    generation = {"num_beams": args.beam, "max_new_tokens": args.max_new_tokens, "truncate": args.truncate}
    job = Job(bridge, src_lang, tgt_lang, [], "line", generation=generation)

    if args.input is not None:
        source, output = Path(args.input), Path(args.output)
        if not source.exists():
            raise InputError(f"--input {source}: no such file")
        if not source.is_file():
            raise InputError(f"--input {source} is not a file")
        if output.is_dir():
            raise InputError(f"--output {output} is a directory; give a file path")
        if not output.parent.is_dir():
            raise InputError(f"--output {output}: directory {output.parent} does not exist")
        if output.exists() and output.resolve() == source.resolve():
            raise InputError(f"--output {output} is the --input file; write the translation elsewhere")
        job.output, job.fmt, job.where = output, detect_format(source, args.format), f"{source} line"
        job.records = read_records(source, job.fmt)
    elif args.texts:
        empty = [i for i, t in enumerate(args.texts, 1) if not t.strip()]
        if empty:
            raise InputError(f"TEXT argument {', '.join(map(str, empty))} is empty")
        job.records, job.where = [Record(i, t) for i, t in enumerate(args.texts, 1)], "TEXT argument"
    else:
        if sys.stdin.isatty() and not args.quiet:
            print("reading sources from stdin, one per line (end with Ctrl-D)", file=sys.stderr)
        job.records, job.where = parse_plain(split_lines(sys.stdin.read())), "stdin line"

    if src_lang is None:
        missing = [r.line for r in job.records if r.src is not None and r.src_lang is None]
        if missing:
            shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
            raise InputError(f"--src-lang is required: {job.where} {shown} has no \"src_lang\"")
    return job


# ---- translation (heavy) --------------------------------------------------------------------


def load(path: Path, device: str, dtype: str):
    from .. import bridges

    return bridges.load_bridge(path, device=device, dtype=dtype)


def check_source_lengths(bridge, job: Job) -> None:
    """Fail before translating when a source is over the bridge's token limit (without --truncate).

    Mirrors FrozenEncoder.tokenize's limit; skipped for bridges without that encoder interface.
    """
    encoder = getattr(bridge, "encoder", None)
    if job.generation.get("truncate") or not hasattr(encoder, "token_ids") or not hasattr(encoder, "max_length"):
        return
    configured = getattr(bridge.config, "max_source_tokens", None)
    limit = min(configured or encoder.max_length, encoder.max_length)
    too_long = []
    for r in job.records:
        if r.src is not None:
            n = len(encoder.token_ids(r.src, r.src_lang or job.src_lang))
            if n > limit:
                too_long.append((r.line, n))
    if too_long:
        shown = ", ".join(f"{line} ({n} tokens)" for line, n in too_long[:10])
        more = f" and {len(too_long) - 10} more" if len(too_long) > 10 else ""
        raise InputError(f"{job.where} {shown}{more} over the bridge's limit of {limit} source tokens; "
                         f"shorten them or pass --truncate")


def translate_records(bridge, records: list[Record], src_lang: str | None, tgt_lang: str | list[str], *,
                      batch_size: int, generation: dict, emit, progress=None) -> list:
    """Translate every record with a source and call emit(record, translation) in input order.
    With several target languages (a list) a translation is {language: text}, from
    Bridge.translate_multi.

    Records are grouped by source language, then sent CHUNK_BATCHES * batch_size at a time to
    Bridge.translate (which sorts each chunk by length into batches and restores the order).
    emit runs as soon as every earlier record is done, so output streams for one-language input.
    """
    chunk = CHUNK_BATCHES * batch_size
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        if r.src is not None:
            groups.setdefault(r.src_lang or src_lang, []).append(i)
    results: list[str | None] = [None] * len(records)
    done = [r.src is None for r in records]
    emitted = 0

    def flush() -> None:
        nonlocal emitted
        while emitted < len(records) and done[emitted]:
            emit(records[emitted], results[emitted])
            emitted += 1

    flush()
    for lang, indices in groups.items():
        for start in range(0, len(indices), chunk):
            part = indices[start : start + chunk]
            texts = [records[i].src for i in part]
            if isinstance(tgt_lang, list):
                by_lang = bridge.translate_multi(texts, lang, tgt_lang, batch_size=batch_size, **generation)
                outputs = [{t: by_lang[t][j] for t in tgt_lang} for j in range(len(part))]
            else:
                outputs = bridge.translate(texts, lang, tgt_lang, batch_size=batch_size, **generation)
            for i, out in zip(part, outputs, strict=True):
                results[i], done[i] = out, True
            if progress is not None:
                progress.update(len(part))
            flush()
    assert emitted == len(records)
    return results


def run(args) -> None:
    job = validate(args)  # raises on any user mistake, before torch
    started = time.perf_counter()
    n_sources = sum(r.src is not None for r in job.records)
    quiet = args.quiet or not sys.stderr.isatty()

    if n_sources == 0:  # nothing to translate: no model to load
        bridge = None
    else:
        check_device(args.device)
        bridge = load(job.bridge, args.device, args.dtype)
        check_source_lengths(bridge, job)
    options = dict(batch_size=args.batch_size, generation=job.generation)

    if job.output is None:
        def emit(record, translation):
            print(format_record(record, translation, "plain"), file=sys.stdout, flush=True)

        try:
            translate_records(bridge, job.records, job.src_lang, job.tgt_lang, emit=emit, **options)
        except BrokenPipeError:  # e.g. `| head`: the reader is gone; stop quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return

    from tqdm import tqdm

    from ..textio import atomic_output

    with atomic_output(job.output) as f, tqdm(total=n_sources, unit="sent", desc="translating",
                                              file=sys.stderr, disable=quiet, dynamic_ncols=True) as bar:
        def emit(record, translation):
            f.write(format_record(record, translation, job.fmt) + "\n")

        translate_records(bridge, job.records, job.src_lang, job.tgt_lang, emit=emit, progress=bar, **options)
    if not args.quiet:
        print(f"translated {n_sources} source(s) to {job.output} in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
