"""`babelbridge translate`: translate texts, stdin or a file with a saved bridge.

Everything the user can get wrong (language codes, the checkpoint path, the input file and
its lines, the output directory, the numbers) is checked before torch is imported or a model
is loaded: a typo fails in a fraction of a second, not after a minute of loading. This module
therefore imports nothing heavy at the top; torch, the bridges and tqdm are imported in run()
once the arguments have passed.

An --input file is translated in bulk (bulk.BulkRun): read in chunks of CHUNK_BATCHES *
--batch-size lines, each chunk's output lines appended to <output>.partial/ (fsynced) as it is
done, so memory does not grow with the file and a killed run continues where it stopped when
the same command is run again. Under `accelerate launch` chunk k goes to process k % N and
process 0 writes the output. Before anything is written, a first pass over the file (no model)
checks every line, and a second (the tokenizer only) every source's length.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from ..bulk import BulkRun
from ..errors import InputError
from .checks import DTYPES, check_device, check_device_name, check_language, check_pmp_bridge, check_positive
from .processes import process_shard, world_size
from ..pretrained import BUILTIN_BRIDGES, resolve_bridge_path
from ..textio import (FORMATS, BadLine, Record, detect_format, format_record, iter_lines, parse_plain, parse_record,
                      raise_problems, split_lines)

# Lines per chunk of an --input file = CHUNK_BATCHES * --batch-size: one Bridge.translate call per
# source language (length-sorted batches inside), one fsync, one progress step. A few batches
# keep the sorting useful and a kill costs at most that much work.
CHUNK_BATCHES = 8
# What a file's bad-line error adds: the other way out.
SKIP_HINT = "; or pass --skip-bad-lines to skip such lines (each becomes an empty output line)"
PMP_MODES = ("oracle", "self")

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

bulk translation (--input): every line is checked before anything is written (a bad line
  names itself and nothing is translated); --skip-bad-lines instead skips bad lines (empty
  source, malformed jsonl, invalid UTF-8, no "src_lang", no auxiliary sentence, over the source
  limit), writes an empty output line for each (line N of the output stays line N of the
  input) and lists them on stderr at the end. The file is read in chunks (8 x --batch-size
  lines); each finished chunk is saved in OUTPUT.partial/, so after a kill or a crash the same
  command continues where it stopped (another command or a changed input is refused: delete
  OUTPUT.partial/ to start over). OUTPUT appears only once every line is translated; until
  then an existing OUTPUT is left as it was. A progress bar (sentences/s, ETA) shows on a
  terminal, or with --progress.
  Several processes share the file: chunk k goes to process k % N and process 0 writes
  OUTPUT, line for line what one process writes (greedy decoding); a killed run resumes too:
  accelerate launch --num_processes 4 -m babelbridge.cli.main translate --bridge B --src-lang de \\
      --device cuda --input big.txt --output big.en.txt

PMP (LMT's Parallel Multilingual Prompting; prompted and lora bridges): the prompt also holds
the source's sentence in an auxiliary language (--aux-lang; default: a related high-resource
language of X for En<->X, English for Zh<->X, printed on stderr).
  --pmp oracle       the auxiliary sentences come with the input: a tsv file's column 2 (or
                     --aux-column N), a jsonl line's "aux"; TEXT, stdin and plain files cannot
                     carry them
  --pmp self         the bridge first translates the sources into the auxiliary language itself
                     (PMP-S: one more translation pass, the same --beam/--max-new-tokens)
  A bridge made without PMP (config pmp: false) is refused unless --force-pmp.
  babelbridge translate --bridge runs/lora-pmp/bridge --src-lang en --tgt-lang ron_Latn --pmp self "Good morning."
  babelbridge translate --bridge runs/lora-pmp/bridge --src-lang en --tgt-lang ron_Latn --pmp oracle \\
      --aux-lang fra_Latn --input en-fr.tsv --output en-fr-ro.tsv

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
                   help="where to write the translated --input (written completely or not at all; progress is "
                        "kept in FILE.partial/ until then, and the same command resumes from it)")
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
    p.add_argument("--skip-bad-lines", action="store_true",
                   help="--input: skip the lines that cannot be translated (empty source, malformed jsonl, invalid "
                        "UTF-8, over the source limit, ...) instead of failing: each becomes an empty output line, "
                        "and they are listed on stderr")
    p.add_argument("--pmp", choices=PMP_MODES,
                   help="LMT's parallel multilingual prompting (prompted/lora bridges): oracle takes each source's "
                        "auxiliary sentence from the input (tsv column 2 or --aux-column, jsonl \"aux\"); self lets "
                        "the bridge translate the sources into the auxiliary language first")
    p.add_argument("--aux-lang", metavar="CODE",
                   help="the auxiliary language of --pmp (default: per direction, a related high-resource language "
                        "of X for En<->X, English for Zh<->X; printed on stderr)")
    p.add_argument("--aux-column", type=int, metavar="N",
                   help="--pmp oracle with tsv input: the column holding the auxiliary sentence (default: 2)")
    p.add_argument("--force-pmp", action="store_true",
                   help="allow --pmp on a bridge made without PMP (config pmp: false), e.g. the LLM alone")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps, ... (default: %(default)s)")
    p.add_argument("--dtype", default="float32", choices=DTYPES,
                   help="dtype of the backbones (default: %(default)s)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--quiet", "-q", action="store_true",
                       help="no progress bar or summary on stderr (skipped lines are still listed)")
    shown.add_argument("--progress", action="store_true",
                       help="show the progress bar of an --input file even when stderr is not a terminal")
    p.set_defaults(func=run)


# ---- validation (light: no torch) -------------------------------------------------------------


def _lines(numbers: list[int], limit: int = 20) -> str:
    return ", ".join(map(str, numbers[:limit])) + (f" ... ({len(numbers)} in all)" if len(numbers) > limit else "")


@dataclass
class InputScan:
    """What the first pass over an --input file found (streamed: memory does not grow with the
    file, except for the bad lines kept for the report)."""

    path: Path
    lines: int = 0
    sources: int = 0  # lines to translate: not blank, not bad
    src_langs: list[str] = field(default_factory=list)  # the source languages met, in order
    bad: dict[int, BadLine] = field(default_factory=dict)  # skipped lines (--skip-bad-lines), by line number
    chunk_sources: list[int] = field(default_factory=list)  # sources per chunk (the progress bar)


@dataclass
class Job:
    """What run() will do, fully validated."""

    bridge: Path
    src_lang: str | None
    tgt_lang: str | list[str]  # a list: several target languages
    records: list[Record]  # TEXT and stdin; an --input file is read again chunk by chunk (scan)
    where: str  # how to name a record's position in messages, e.g. "line" or "TEXT"
    output: Path | None = None  # None: stdout
    fmt: str = "plain"
    generation: dict = field(default_factory=dict)
    pmp: str | None = None  # "oracle" | "self": LMT's PMP
    aux_langs: dict[tuple[str, str], str] = field(default_factory=dict)  # (source, target) -> auxiliary language
    aux_notes: list[str] = field(default_factory=list)  # how each auxiliary language was chosen (stderr)
    aux_column: int = 2  # --pmp oracle, tsv: the column (1-based) holding the auxiliary sentence
    scan: InputScan | None = None  # an --input file
    skip_bad_lines: bool = False
    batch_size: int = 16

    @property
    def chunk_lines(self) -> int:
        return CHUNK_BATCHES * self.batch_size


def validate(args) -> Job:
    """Check every argument and read the input; raises before anything heavy happens."""
    # Language codes first: a typo fails the same way whatever else is wrong.
    src_lang = check_language("--src-lang", args.src_lang) if args.src_lang is not None else None
    tgt_langs = list(dict.fromkeys(check_language("--tgt-lang", code.strip()) for code in args.tgt_lang.split(",")))
    tgt_lang = tgt_langs[0] if len(tgt_langs) == 1 else tgt_langs
    aux_lang = check_language("--aux-lang", args.aux_lang) if args.aux_lang is not None else None

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
    if args.input is None and args.skip_bad_lines:
        raise InputError("--skip-bad-lines applies to --input files (TEXT and stdin sources are all translated)")
    if args.input is None and world_size() > 1:
        raise InputError(f"{world_size()} processes (WORLD_SIZE) share an --input file between them; TEXT and "
                         f"stdin are translated by one process")
    jsonl_input = args.input is not None and detect_format(args.input, args.format) == "jsonl"
    if src_lang is None and not jsonl_input:
        raise InputError("--src-lang is required (e.g. --src-lang deu_Latn); only jsonl input whose lines "
                         "all carry \"src_lang\" can go without it")

    bridge = resolve_bridge_path(args.bridge)
    check_pmp_options(args, bridge)
    generation = {"num_beams": args.beam, "max_new_tokens": args.max_new_tokens, "truncate": args.truncate}
    job = Job(bridge, src_lang, tgt_lang, [], "line", generation=generation, pmp=args.pmp,
              aux_column=args.aux_column or 2, skip_bad_lines=args.skip_bad_lines, batch_size=args.batch_size)

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
        job.scan = scan_input(job, source)
        src_langs = job.scan.src_langs
    else:
        if args.texts:
            empty = [i for i, t in enumerate(args.texts, 1) if not t.strip()]
            if empty:
                raise InputError(f"TEXT argument {', '.join(map(str, empty))} is empty")
            job.records, job.where = [Record(i, t) for i, t in enumerate(args.texts, 1)], "TEXT argument"
        else:
            if sys.stdin.isatty() and not args.quiet:
                print("reading sources from stdin, one per line (end with Ctrl-D)", file=sys.stderr)
            job.records, job.where = parse_plain(split_lines(sys.stdin.read())), "stdin line"
        src_langs = list(dict.fromkeys(r.src_lang or src_lang for r in job.records if r.src is not None))

    if job.pmp is not None:
        choose_aux_langs(job, aux_lang, tgt_langs, src_langs)
    return job


def record_aux(job: Job, record: Record) -> str | None:
    """--pmp oracle: the record's auxiliary sentence (tsv column aux_column, jsonl "aux"), or None."""
    if record.src is None:
        return None
    if job.fmt == "tsv":
        aux = record.data[job.aux_column - 1] if len(record.data) >= job.aux_column else None
    else:
        aux = record.data.get("aux")
        aux = aux if isinstance(aux, str) else None
    return aux if aux is not None and aux.strip() else None


def check_record(job: Job, record: Record | BadLine) -> Record | BadLine:
    """What the command needs of a parsed line beyond its format: a source language, and the
    auxiliary sentence of --pmp oracle."""
    if isinstance(record, BadLine) or record.src is None:
        return record
    if record.src_lang is None and job.src_lang is None:
        return BadLine(record.line, "src_lang", 'no "src_lang" (and no --src-lang)')
    if job.pmp == "oracle" and record_aux(job, record) is None:
        where = f"column {job.aux_column}" if job.fmt == "tsv" else 'a non-empty "aux" string'
        return BadLine(record.line, "aux", f"no auxiliary sentence ({where})")
    return record


def read_input(job: Job) -> Iterator[str | BadLine]:
    """The --input file's lines, streamed (tests wrap this to count what is read)."""
    return iter_lines(job.scan.path)


def parsed(job: Job, lines: Iterable[str | BadLine], first: int = 1) -> Iterator[Record | BadLine]:
    """Each line as a Record (blank plain lines too), or a BadLine: the format's checks, then the
    command's (check_record). Lines found bad before (scan.bad) stay bad."""
    for n, line in enumerate(lines, first):
        if isinstance(line, BadLine):
            yield line
        elif n in job.scan.bad:
            yield job.scan.bad[n]
        else:
            yield check_record(job, parse_record(n, line, job.fmt))


def scan_input(job: Job, path: Path) -> InputScan:
    """The first pass (no model): every line parsed and checked, sources counted per chunk.
    A bad line is an error naming it (and every other), unless --skip-bad-lines."""
    scan = job.scan = InputScan(path)
    langs: dict[str, None] = {}
    for item in parsed(job, read_input(job)):
        n = item.line
        if (n - 1) % job.chunk_lines == 0:
            scan.chunk_sources.append(0)
        scan.lines = n
        if isinstance(item, BadLine):
            scan.bad[n] = item
        elif item.src is not None:
            scan.sources += 1
            scan.chunk_sources[-1] += 1
            langs.setdefault(item.src_lang or job.src_lang)
    scan.src_langs = list(langs)
    if scan.bad and not job.skip_bad_lines:
        raise_bad_lines(job, list(scan.bad.values()))
    return scan


def raise_bad_lines(job: Job, bad: list[BadLine]) -> None:
    """An --input file's bad lines as one error, in the order of the checks: UTF-8, the format,
    the source language, the auxiliary sentence."""
    by_kind: dict[str, list[BadLine]] = {}
    for b in bad:
        by_kind.setdefault(b.kind, []).append(b)
    path = job.scan.path
    if "utf8" in by_kind:
        raise InputError(f"{path} {by_kind['utf8'][0].problem}{SKIP_HINT}")
    if "empty" in by_kind or "invalid" in by_kind:
        raise_problems(str(path), job.fmt, [b.line for b in by_kind.get("empty", [])],
                       [b.problem for b in by_kind.get("invalid", [])], SKIP_HINT)
    if "src_lang" in by_kind:
        raise InputError(f"--src-lang is required: {job.where} {_lines([b.line for b in by_kind['src_lang']])} "
                         f"has no \"src_lang\"{SKIP_HINT}")
    if "aux" in by_kind:
        where = f"column {job.aux_column}" if job.fmt == "tsv" else 'a non-empty "aux" string'
        raise InputError(f"--pmp oracle: {job.where} {_lines([b.line for b in by_kind['aux']])} has no auxiliary "
                         f"sentence ({where}); every line needs one{SKIP_HINT}")
    raise AssertionError(f"unexpected bad lines: {sorted(by_kind)}")


def check_pmp_options(args, bridge: Path) -> None:
    """--pmp and its options against the bridge (its bridge.json, no torch) and the input kind."""
    if args.pmp is None:
        given = [name for name, value in (("--aux-lang", args.aux_lang), ("--aux-column", args.aux_column),
                                          ("--force-pmp", args.force_pmp or None)) if value is not None]
        if given:
            verb = "needs" if len(given) == 1 else "need"
            raise InputError(f"{' and '.join(given)} {verb} --pmp oracle or --pmp self")
        return
    check_pmp_bridge("--pmp", f"--bridge {args.bridge}", bridge, force=args.force_pmp)
    if args.aux_column is not None:
        if args.pmp != "oracle":
            raise InputError("--aux-column applies to --pmp oracle (--pmp self writes the auxiliary sentences itself)")
        fmt = detect_format(args.input, args.format) if args.input is not None else None
        if fmt != "tsv":
            raise InputError("--aux-column applies to tsv input (a jsonl line carries its auxiliary in \"aux\")")
        if args.aux_column < 2:
            raise InputError(f"--aux-column must be 2 or more (column 1 is the source), got {args.aux_column}")
    if args.pmp == "oracle":
        fmt = detect_format(args.input, args.format) if args.input is not None else None
        if fmt not in ("tsv", "jsonl"):
            given = "a plain --input file" if fmt == "plain" else "TEXT arguments" if args.texts else "stdin"
            raise InputError(f"--pmp oracle takes each source's auxiliary sentence from the input: a tsv file's "
                             f"column 2 (or --aux-column N) or a jsonl line's \"aux\"; {given} cannot carry one "
                             f"(--pmp self lets the bridge write them)")


def choose_aux_langs(job: Job, aux_lang: str | None, tgt_langs: list[str], sources: list[str]) -> None:
    """job.aux_langs for every (source, target) direction of the job: --aux-lang, else
    pmp_auxiliary's choice (one language for --pmp oracle: the input's column holds one)."""
    from ..languages.auxiliary import pmp_auxiliary

    for src in sources:
        for tgt in tgt_langs:
            if aux_lang is not None:
                if aux_lang in (src, tgt):
                    raise InputError(f"--aux-lang {aux_lang} is a side of the direction {src} -> {tgt}; the "
                                     f"auxiliary must be a third language")
                job.aux_langs[(src, tgt)] = aux_lang
                continue
            chosen = pmp_auxiliary(src, tgt)
            if chosen.lang is None:
                raise InputError(f"--pmp: no auxiliary language for {src} -> {tgt} (no related high-resource "
                                 f"language); give --aux-lang CODE")
            job.aux_langs[(src, tgt)] = chosen.lang
            job.aux_notes.append(f"PMP: auxiliary language for {src} -> {tgt}: {chosen.lang} ({chosen.why}; "
                                 f"--aux-lang to change it)")
    if job.pmp == "oracle" and len(set(job.aux_langs.values())) > 1:
        chosen = ", ".join(f"{s} -> {t}: {a}" for (s, t), a in job.aux_langs.items())
        raise InputError(f"--pmp oracle: the input's auxiliary sentences are in one language, but the default "
                         f"choice differs per direction ({chosen}); give --aux-lang CODE")


# ---- translation (heavy) --------------------------------------------------------------------


def load(path: Path, device: str, dtype: str):
    from .. import bridges

    return bridges.load_bridge(path, device=device, dtype=dtype)


def source_limit(bridge, job: Job) -> int | None:
    """The bridge's source limit in tokens, or None: --truncate, or a bridge without
    FrozenEncoder's interface (mirrors FrozenEncoder.tokenize's limit)."""
    encoder = getattr(bridge, "encoder", None)
    if job.generation.get("truncate") or not hasattr(encoder, "token_ids") or not hasattr(encoder, "max_length"):
        return None
    configured = getattr(bridge.config, "max_source_tokens", None)
    return min(configured or encoder.max_length, encoder.max_length)


def check_source_lengths(bridge, job: Job) -> None:
    """Before translating, every source over the bridge's token limit (without --truncate): an
    error naming them, or with --skip-bad-lines bad lines. An --input file is read once more
    for this (the tokenizer only)."""
    limit = source_limit(bridge, job)
    if limit is None:
        return
    records = job.records if job.scan is None else parsed(job, read_input(job))
    too_long = []
    for r in records:
        if isinstance(r, Record) and r.src is not None:
            n = len(bridge.encoder.token_ids(r.src, r.src_lang or job.src_lang))
            if n > limit:
                too_long.append((r.line, n))
    if not too_long:
        return
    if job.scan is not None and job.skip_bad_lines:
        for line, n in too_long:
            job.scan.bad[line] = BadLine(line, "long", f"{n} tokens, over the bridge's limit of {limit} source tokens")
            job.scan.sources -= 1
            job.scan.chunk_sources[(line - 1) // job.chunk_lines] -= 1
        return
    shown = ", ".join(f"{line} ({n} tokens)" for line, n in too_long[:10])
    more = f" and {len(too_long) - 10} more" if len(too_long) > 10 else ""
    raise InputError(f"{job.where} {shown}{more} over the bridge's limit of {limit} source tokens; "
                     f"shorten them or pass --truncate" + (SKIP_HINT if job.scan is not None else ""))


def translate_records(bridge, records: list[Record], src_lang: str | None, tgt_lang: str | list[str], *,
                      batch_size: int, generation: dict, emit, progress=None,
                      aux_langs: dict[tuple[str, str], str] | None = None,
                      aux_texts: list[str | None] | None = None) -> list:
    """Translate every record with a source and call emit(record, translation) in input order.
    With several target languages (a list) a translation is {language: text}, from
    Bridge.translate_multi. aux_langs (PMP): the auxiliary language of each (source, target);
    aux_texts: one auxiliary sentence per record (PMP-O), else the bridge writes them (PMP-S).

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
            if aux_langs is not None:
                outputs = translate_pmp(bridge, texts, lang, tgt_lang, aux_langs,
                                        None if aux_texts is None else [aux_texts[i] for i in part],
                                        batch_size=batch_size, generation=generation)
            elif isinstance(tgt_lang, list):
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


def translate_pmp(bridge, texts: list[str], src_lang: str, tgt_lang: str | list[str],
                  aux_langs: dict[tuple[str, str], str], aux_texts: list[str] | None, *,
                  batch_size: int, generation: dict) -> list:
    """One chunk with PMP: the targets grouped by their auxiliary language, one call per group
    (PMP-S then writes each auxiliary language once)."""
    targets = tgt_lang if isinstance(tgt_lang, list) else [tgt_lang]
    groups: dict[str, list[str]] = {}
    for tgt in targets:
        groups.setdefault(aux_langs[(src_lang, tgt)], []).append(tgt)
    by_lang: dict[str, list[str]] = {}
    for aux, tgts in groups.items():
        options = dict(batch_size=batch_size, aux_texts=aux_texts, aux_lang=aux, **generation)
        if isinstance(tgt_lang, list):
            by_lang.update(bridge.translate_multi(texts, src_lang, tgts, **options))
        else:
            by_lang[tgts[0]] = bridge.translate(texts, src_lang, tgts[0], **options)
    if not isinstance(tgt_lang, list):
        return by_lang[tgt_lang]
    return [{t: by_lang[t][j] for t in tgt_lang} for j in range(len(texts))]


def run(args) -> None:
    job = validate(args)  # raises on any user mistake, before torch
    if not args.quiet:
        for note in job.aux_notes:  # --pmp without --aux-lang: the auxiliary language chosen
            print(note, file=sys.stderr)
    if job.scan is not None:
        run_file(job, args)
        return

    # TEXT and stdin: in memory, translations to stdout as they come.
    n_sources = sum(r.src is not None for r in job.records)
    if n_sources == 0:  # nothing to translate: no model to load
        bridge = None
    else:
        check_device(args.device)
        bridge = load(job.bridge, args.device, args.dtype)
        check_source_lengths(bridge, job)
    options = dict(batch_size=args.batch_size, generation=job.generation)
    if job.pmp is not None:  # self only: oracle needs a file's column
        options.update(aux_langs=job.aux_langs)

    def emit(record, translation):
        print(format_record(record, translation, "plain"), file=sys.stdout, flush=True)

    try:
        translate_records(bridge, job.records, job.src_lang, job.tgt_lang, emit=emit, **options)
    except BrokenPipeError:  # e.g. `| head`: the reader is gone; stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


# ---- an --input file: bulk, resumable, sharded --------------------------------------------------


def bulk_state(job: Job, args) -> dict:
    """What decides the output file, kept in <output>.partial/state.json: a resumed run must
    match it. Not the device, the bar or the paths: moving the input or the checkpoint (same
    bytes) or another GPU still resumes."""
    from ..evaluate.cache import checkpoint_identity, file_sha256

    path = job.scan.path
    oracle_tsv = job.pmp == "oracle" and job.fmt == "tsv"
    return {"command": "translate",
            "arguments": {"bridge_sha256": checkpoint_identity(job.bridge)["sha256"], "dtype": args.dtype,
                          "src_lang": job.src_lang, "tgt_lang": job.tgt_lang, "format": job.fmt,
                          "batch_size": job.batch_size, "generation": job.generation, "pmp": job.pmp,
                          "aux_langs": {f"{s}->{t}": a for (s, t), a in job.aux_langs.items()},
                          "aux_column": job.aux_column if oracle_tsv else None,
                          "skip_bad_lines": job.skip_bad_lines},
            "input": {"size": path.stat().st_size, "sha256": file_sha256(path), "lines": job.scan.lines}}


def translate_chunk(bridge, job: Job, chunk: int, lines: list, progress=None) -> list[str]:
    """The output lines of one chunk of the input (chunk k starts at line k * chunk_lines + 1):
    each line's output record, an empty line for a blank plain line or a skipped bad line."""
    first = chunk * job.chunk_lines + 1
    out = [""] * len(lines)
    records = []
    for item in parsed(job, lines, first):
        if isinstance(item, BadLine):
            if item.line not in job.scan.bad:
                raise InputError(f"{job.where} {item.line} changed while it was being translated "
                                 f"({item.reason}); run the command again")
            continue
        records.append(item)

    def emit(record, translation):
        out[record.line - first] = format_record(record, translation, job.fmt)

    options = dict(batch_size=job.batch_size, generation=job.generation)
    if job.pmp is not None:
        options.update(aux_langs=job.aux_langs)
        if job.pmp == "oracle":
            options.update(aux_texts=[record_aux(job, r) for r in records])
    translate_records(bridge, records, job.src_lang, job.tgt_lang, emit=emit, progress=progress, **options)
    return out


def run_file(job: Job, args) -> None:
    """Translate an --input file chunk by chunk into <output>.partial/, then write <output>."""
    from tqdm import tqdm

    started = time.perf_counter()
    scan = job.scan
    shard, device = process_shard(args.device)
    lead = shard.rank == 0  # the process that reports (and writes the output)
    run = BulkRun(job.output, bulk_state(job, args), job.chunk_lines, shard, command="babelbridge translate")
    run.check()  # another command's progress is refused before a model is loaded
    bridge = None
    if scan.sources:
        check_device(device)
        bridge = load(job.bridge, device, args.dtype)
        check_source_lengths(bridge, job)  # the last check: nothing is written before it passes
    done = run.open()
    n_chunks = len(scan.chunk_sources)
    if done and lead and not args.quiet:
        print(f"resuming from {run.dir}: {len(done)} of {n_chunks} chunk(s) already translated", file=sys.stderr)
    mine = [k for k in range(n_chunks) if shard.owns(k)]
    show = lead and not args.quiet and (args.progress or sys.stderr.isatty())
    with tqdm(total=sum(scan.chunk_sources[k] for k in mine), initial=sum(scan.chunk_sources[k] for k in mine
                                                                           if k in done),
              unit="sent", desc="translating", file=sys.stderr, disable=not show, dynamic_ncols=True) as bar:
        for k, lines in run.chunks(read_input(job)):
            run.save(k, translate_chunk(bridge, job, k, lines, bar))
    run.finish()
    if not lead:
        return
    if scan.bad:  # listed even with --quiet: these lines have no translation
        print(f"skipped {len(scan.bad)} bad line(s) of {scan.path} (each written as an empty line):", file=sys.stderr)
        for line in sorted(scan.bad):
            print(f"  line {line}: {scan.bad[line].reason}", file=sys.stderr)
    if not args.quiet:
        print(f"translated {scan.sources} source(s) to {job.output} in {time.perf_counter() - started:.1f} s"
              + (f" ({shard.world} processes)" if shard.world > 1 else ""), file=sys.stderr)
