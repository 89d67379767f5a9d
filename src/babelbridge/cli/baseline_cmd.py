"""`babelbridge baseline zero-shot|nmt ... --out DIR`: a baseline as a checkpoint.

The prompted LLM and the NMT model alone have nothing to train, but translate, eval and serve
all take `--bridge DIR`: this writes that directory (bridge.json + an empty bridge.safetensors).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

EPILOG = """examples:
  babelbridge baseline zero-shot --decoder Qwen/Qwen3-4B --out baselines/qwen3-4b-0shot
  babelbridge translate --bridge baselines/qwen3-4b-0shot --src-lang de "Guten Morgen."
  babelbridge baseline zero-shot --decoder tiny-random:qwen3 --out /tmp/zs \\
      --template $'Translate from {src_name} to {tgt_name}:\\n{text}' --postprocess strip

The template is the user turn of the LLM's chat template (the plain text, for an LLM without
one); placeholders: {text} (required), {src_name}, {tgt_name}, {src_code}, {tgt_code}.
The decoder is loaded once, to record which model the checkpoint belongs to."""


def add_parser(sub) -> None:
    import argparse

    p = sub.add_parser("baseline", help="write a baseline (the LLM prompted zero-shot) as a bridge checkpoint",
                       description="Write baselines as bridge checkpoints, usable wherever --bridge DIR is.")
    kinds = p.add_subparsers(dest="kind", required=True, metavar="KIND")
    z = kinds.add_parser("zero-shot", help="the frozen LLM alone, prompted to translate (no training)",
                         description="Write a checkpoint for the frozen LLM prompted to translate "
                                     "(method prompted; LMT's prompt unless --template).",
                         epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    z.add_argument("--decoder", required=True, metavar="SPEC",
                   help="the LLM: hub id, local directory, .gguf file, tiny-random:qwen3, pocket:...")
    z.add_argument("--gguf-file", metavar="FILE", help="the .gguf file inside a hub repository given as --decoder")
    z.add_argument("--out", required=True, metavar="DIR", help="the checkpoint directory to create (must not exist "
                                                              "or be empty)")
    z.add_argument("--template", help="the prompt (default: LMT's, see below)")
    z.add_argument("--postprocess", choices=("first_line", "strip"),
                   help="first_line (default): the answer's first non-empty line; strip: the whole answer")
    z.set_defaults(func=run)
    n = kinds.add_parser("nmt", help="the NMT model alone (NLLB-200, M2M100): XBridge's baseline row",
                         description="Write a checkpoint for an encoder-decoder translation model used alone "
                                     "(method nmt), to evaluate beside XBridge on the same test set.",
                         epilog="example:\n  babelbridge baseline nmt --encoder facebook/nllb-200-1.3B --out "
                                "baselines/nllb-1.3b",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    n.add_argument("--encoder", required=True, metavar="SPEC",
                   help="the NMT model: hub id or local directory of NLLB-200 / M2M100, tiny-random:m2m100")
    n.add_argument("--out", required=True, metavar="DIR", help="the checkpoint directory to create (must not exist "
                                                              "or be empty)")
    n.set_defaults(func=run_nmt)


def check_out(path: str) -> Path:
    out = Path(path)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"--out {out} already exists and is not an empty directory; give a new directory")
    return out


def run(args) -> None:
    out = check_out(args.out)
    options = {k: v for k, v in (("template", args.template), ("postprocess", args.postprocess)) if v is not None}
    from ..bridges import PromptedConfig, save_prompted_baseline

    PromptedConfig.from_dict(options)  # a bad template fails before the model loads
    path = save_prompted_baseline(args.decoder, out, gguf_file=args.gguf_file, **options)
    print(f"wrote a zero-shot baseline (method prompted, decoder {args.decoder}) to {path}; "
          f"use it with --bridge {path}")


def run_nmt(args) -> None:
    out = check_out(args.out)
    from ..bridges import save_nmt_baseline

    path = save_nmt_baseline(args.encoder, out)
    print(f"wrote the NMT-alone baseline (method nmt, model {args.encoder}) to {path}; use it with --bridge {path}")
