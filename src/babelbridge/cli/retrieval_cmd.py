"""`babelbridge retrieval`: LLINK's own metric, R@1 / R@5 / MRR of source vectors against the
English teacher vectors of a test set, next to the LLM reading the source itself (before) and an
untrained projector (chance). Arguments and test sets are checked before any model is loaded."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..errors import InputError
from .checks import DTYPES, check_device, check_device_name, check_language, check_positive, parse_bridge_arg

EPILOG = """examples:
  babelbridge retrieval --bridge runs/pocket-llink-deu-eng-align/bridge --testset bible:test --langs hi,de --limit 1000
  babelbridge retrieval --bridge a=runs/llink-a/bridge --bridge b=runs/llink-b/bridge --testset flores:~/flores200 \\
      --langs khm_Khmr --out eval/retrieval

Each source sentence's vector (the bridge's projection of its encoder sentence vector) is ranked
against the teacher vectors of every English reference of the test set (the frozen LLM's state at
the reserved position after the sentence); its own reference should come first. The 'before' row
is the LLM's state after the source sentence itself, the 'chance' row an untrained projector."""


def add_parser(sub) -> None:
    import argparse

    p = sub.add_parser("retrieval", help="R@1/MRR of an LLINK bridge's source vectors against English teachers",
                       description="Score sentence retrieval, LLINK's alignment metric.", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bridge", action="append", required=True, metavar="[LABEL=]CHECKPOINT",
                   help="an LLINK checkpoint (stage A or B), optionally labelled (repeatable)")
    p.add_argument("--testset", required=True, metavar="SPEC",
                   help="flores:DIR[:dev], bible[:SPLIT], tsv:PATH, jsonl:PATH")
    p.add_argument("--langs", required=True, metavar="CODES", help="source languages, comma-separated")
    p.add_argument("--tgt-lang", default="eng_Latn", metavar="CODE", help="the teachers' language (default: %(default)s)")
    p.add_argument("--limit", type=int, metavar="N", help="first N sentences of each language (the candidates too)")
    p.add_argument("--no-reference-rows", action="store_true", help="skip the before and chance rows")
    p.add_argument("--batch-size", type=int, default=32, metavar="N",
                   help="sentences per forward pass (default: %(default)s)")
    p.add_argument("--out", metavar="DIR", help="write retrieval.md and retrieval.json there (and cache the scores)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, ... (default: %(default)s)")
    p.add_argument("--dtype", default="float32", choices=DTYPES, help="dtype of the backbones (default: %(default)s)")
    p.set_defaults(func=run)


def validate(args):
    from ..evaluate.testsets import load_testsets, parse_testset
    langs = [check_language("--langs", c.strip()) for c in args.langs.split(",") if c.strip()]
    if not langs:
        raise InputError("--langs names no language (e.g. --langs hin_Deva,deu_Latn)")
    check_positive(args, "--batch-size")
    if args.limit is not None and args.limit < 2:
        raise InputError(f"--limit must be at least 2 (retrieval needs candidates to rank), got {args.limit}")
    check_device_name(args.device)
    bridges: dict[str, Path] = {}
    for text in args.bridge:
        label, path = parse_bridge_arg(text)
        if label in bridges:
            raise InputError(f"--bridge: label {label!r} is used twice; name them with LABEL=PATH")
        bridges[label] = path
    testsets = load_testsets(parse_testset(args.testset), langs, check_language("--tgt-lang", args.tgt_lang), args.limit)
    return bridges, testsets


def run(args) -> None:
    bridges, testsets = validate(args)  # every user mistake fails here, before a model loads
    from ..evaluate.cache import checkpoint_identity
    from ..evaluate.retrieval import RetrievalCache, markdown_table, reference_rows, system_rows
    from ..textio import atomic_output

    check_device(args.device)
    out = Path(args.out) if args.out else None
    cache = RetrievalCache(out / "retrieval-cache.json" if out else None)

    def loader(path):
        from .. import bridges as b

        return lambda: b.load_bridge(path, device=args.device, dtype=args.dtype)

    def identity(path) -> str:  # what decides the vectors: the checkpoint's two files and the dtype
        sums = checkpoint_identity(path)["sha256"]
        return ",".join(f"{name}={sums[name][:16]}" for name in sorted(sums)) + f",dtype={args.dtype}"

    systems = {label: (identity(path), loader(path)) for label, path in bridges.items()}
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    rows = []
    if not args.no_reference_rows:  # on the first bridge's backbones and prompt
        first_identity, first_loader = next(iter(systems.values()))
        rows += reference_rows(f"backbones of {first_identity}, whole source", first_loader, testsets,
                               batch_size=args.batch_size,
                               cache=cache, log=log)
    rows += system_rows(systems, testsets, batch_size=args.batch_size, cache=cache, log=log)
    table = markdown_table(rows)
    print(table)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_output(out / "retrieval.md") as f:
            f.write(f"# Retrieval: {args.testset}\n\n    babelbridge {' '.join(sys.argv[1:])}\n\n{table}\n")
        with atomic_output(out / "retrieval.json") as f:
            f.write(json.dumps({"testset": args.testset, "rows": rows}, indent=1) + "\n")
