"""The `babelbridge` command. Thin: parse, call the library, print.

User mistakes (bad codes, missing files, mismatched checkpoints) print one line and exit 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import BabelBridgeError


def cmd_languages(args) -> None:
    from ..languages import format_language_table, get_language, search_languages

    langs = search_languages(args.query, family=args.family, branch=args.branch, script=args.script)
    if not langs and args.query:
        get_language(args.query)  # no match at all: raises with the closest valid codes
    print(format_language_table(langs))
    print(f"{len(langs)} language(s)", file=sys.stderr)


def cmd_inspect(args) -> None:
    from .inspect_cmd import run

    print(run(args.target))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babelbridge",
        description="Give a frozen LLM many languages through small trainable bridges.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("languages", help="list the FLORES-200 language codes (filterable)",
                       description="List language codes with name, script, family and branch.")
    p.add_argument("query", nargs="?", help="substring of a code, alias or English name (e.g. 'ger', 'de')")
    p.add_argument("--family", help="e.g. Indo-European, Niger-Congo")
    p.add_argument("--branch", help="e.g. Germanic, Bantu, Semitic")
    p.add_argument("--script", help="ISO 15924 script, e.g. Latn, Arab, Deva")
    p.set_defaults(func=cmd_languages)

    p = sub.add_parser("inspect", help="show a bridge checkpoint or config: method, backbones, parameters",
                       description="Print the method, the backbones and the trainable/frozen parameter "
                                   "counts of a checkpoint directory or a run config (YAML; built on the "
                                   "meta device, so any size is counted without memory).")
    p.add_argument("target", metavar="PATH_OR_CONFIG")
    p.set_defaults(func=cmd_inspect)

    # One file per command; each registers its own subparser.
    from . import (baseline_cmd, data_cmd, demo_cmd, eval_cmd, experiment_cmd, retrieval_cmd, serve_cmd, train_cmd,
                   translate_cmd)

    for command in (demo_cmd, translate_cmd, train_cmd, eval_cmd, retrieval_cmd, experiment_cmd, serve_cmd, baseline_cmd,
                    data_cmd):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (BabelBridgeError, ValueError) as err:
        # ValueError covers UnknownLanguageError and config validation.
        print(f"babelbridge {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
