"""`babelbridge train CONFIG.yaml [--set key=value ...]`."""

from __future__ import annotations

EPILOG = """examples:
  babelbridge train configs/smoke-tiny.yaml
  babelbridge train configs/hca-paper-deu-eng.yaml --set train.lr=2e-5 --set data.train.0.path=de-en.tsv
  accelerate launch --num_processes 4 -m babelbridge.cli.main train configs/hca-paper-deu-eng.yaml

A run resumes from its last checkpoint in train.output_dir when started again."""


def add_parser(sub) -> None:
    import argparse

    p = sub.add_parser("train", help="train a bridge from a YAML run config (resumes automatically)",
                       description="Train a bridge: backbones, bridge options, data and optimiser all come "
                                   "from one YAML file; --set overrides any key.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config", metavar="CONFIG.yaml")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. train.lr=1e-4 or data.train.0.path=x.tsv (repeatable)")
    p.set_defaults(func=run)


def run(args) -> None:
    from ..runconfig import load_run_config
    from ..train.pipeline import train_from_run_config

    result = train_from_run_config(load_run_config(args.config, args.overrides),
                                   {"config_file": str(args.config), "overrides": args.overrides})
    if result.last_loss is None:
        print(f"nothing to do: {result.output_dir} already holds all {result.steps} steps; "
              f"bridge at {result.output_dir / 'bridge'}")
        return
    print(f"trained {result.steps} steps; last loss {result.last_loss:.4f}"
          + (f"; best validation loss {result.best_val_loss:.4f}" if result.best_val_loss is not None else "")
          + (" (stopped early)" if result.stopped_early else "")
          + f"; bridge saved to {result.output_dir / 'bridge'}")
