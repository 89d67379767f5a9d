"""`babelbridge experiment NAME [--quick] --out DIR`: train, evaluate and report a whole experiment."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import InputError
from .checks import check_device_name

EPILOG = """examples:
  babelbridge experiment one-pair --quick --out results/one-pair/quick
  babelbridge experiment one-pair --out results/one-pair/full     # the full version; resumable
  babelbridge experiment one-pair --out results/one-pair/full --systems hca-oracle   # one system now
  babelbridge experiment one-pair --dry-run                       # the systems and settings, nothing run
  babelbridge experiment one-pair --out results/one-pair/full --status   # where each system stands
  babelbridge experiment --config my-experiment.yaml --out runs/mine

Started again with the same command, an experiment continues where it stopped: trained systems
are skipped, an interrupted training resumes from its last checkpoint, translations come from
DIR/eval/cache. Each system is translated as soon as it is trained; a trained system is recorded
in DIR/runs/<system>/trained.json, so committing DIR without the weights (runs/*/bridge,
runs/*/checkpoints) keeps a long experiment's progress across machines. The report is
DIR/report.md (the paper's tables); DIR/eval/ holds every score, hypothesis and chart,
DIR/runs/<system>/config.yaml the exact run config of each trained system."""


def add_parser(sub) -> None:
    import argparse

    from ..experiments import EXPERIMENTS

    p = sub.add_parser("experiment", help="run a whole experiment: train its systems, evaluate, report",
                       description="Train every system of an experiment that is not trained yet, evaluate all "
                                   "of them on one test set, and write a report in the paper's layout.",
                       epilog=EPILOG + "\n\nshipped experiments:\n" + "\n".join(
                           f"  {name:10s}  {text}" for name, text in EXPERIMENTS.items()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", nargs="?", metavar="NAME", help=f"a shipped experiment: {', '.join(EXPERIMENTS)}")
    p.add_argument("--config", metavar="PATH", help="an experiment file instead of a shipped NAME")
    p.add_argument("--quick", action="store_true", help="the experiment's smaller version (its quick: section)")
    p.add_argument("--out", metavar="DIR", help="output directory (created; reused to resume)")
    p.add_argument("--systems", metavar="NAMES", help="comma-separated: train only these systems now (default: "
                                                      "every one not trained yet); the report covers every "
                                                      "system trained so far")
    p.add_argument("--dry-run", action="store_true", help="print the systems and their settings; run nothing")
    p.add_argument("--status", action="store_true", help="print where each system stands in --out DIR (trained, "
                                                         "last checkpoint, test sets translated) and whether an "
                                                         "experiment process runs there now; run nothing")
    p.add_argument("--device", default="cpu", help="device for the evaluation (training: accelerate decides; "
                                                   "default: %(default)s)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def experiment_path(args) -> Path:
    from ..experiments import EXPERIMENTS, experiment_file

    if (args.name is None) == (args.config is None):
        raise InputError(f"give a shipped experiment NAME ({', '.join(EXPERIMENTS)}) or --config PATH, not "
                         f"{'both' if args.name else 'neither'}")
    if args.config is not None:
        return Path(args.config)
    if args.name not in EXPERIMENTS:
        import difflib

        close = difflib.get_close_matches(args.name, list(EXPERIMENTS), n=3, cutoff=0.4)
        raise InputError(f"unknown experiment {args.name!r}" + (f"; did you mean {', '.join(close)}?" if close else "")
                         + f"; shipped: {', '.join(EXPERIMENTS)} (or --config PATH)")
    return experiment_file(args.name)


def describe(spec) -> str:
    lines = [f"{spec.title}{' (quick)' if spec.quick else ''}", ""]
    for s in spec.systems.values():
        if s.bridge_of is not None:
            lines.append(f"  {s.name:24s} {s.bridge_of}'s bridge, PMP {s.pmp} -> {s.describe}")
        elif s.trained:
            train = s.run.get("train", {})
            data = s.run.get("data", {})
            langs = ", ".join(e.get("src_lang", "?") for e in data.get("train") or [])
            if data.get("multiway"):
                mw = data["multiway"]
                down = data.get("downsample")
                langs = ", ".join(filter(None, [langs, f"multi-way {mw.get('directions', 'hub-centric')} over "
                                                       f"{len(mw.get('langs', []))} languages"
                                                + (f", {mw['limit']} a direction" if mw.get("limit") else "")
                                                + (f", keep {down['keep']:g} into {','.join(down['into'])}"
                                                   if down else "") + (", PMP" if mw.get("pmp") else "")]))
            stage = f" {s.run['bridge']['stage']}" if "stage" in (s.run.get("bridge") or {}) else ""
            start = f", from {s.init_from}" if s.init_from else ""
            lines.append(f"  {s.name:24s} trained: {s.run['method']}{stage}, {train.get('max_steps', '?')} steps of "
                         f"{train.get('global_batch_size', '?')}, {langs if len(langs) < 120 else 'many languages'}"
                         f"{start} -> {s.describe}")
        else:
            pmp = f", PMP {s.pmp}" if s.pmp else ""
            lines.append(f"  {s.name:24s} given: {s.bridge}{pmp} -> {s.describe}")
    ev = spec.evaluation
    if spec.any_to_any:
        lines += ["", f"evaluation: {ev['testset']}, {len(spec.testset_names())} directions ({ev['directions']}"
                      + (f", hubs {', '.join(ev['hubs'])}" if ev["hubs"] else "") + f") over {len(ev['langs'])} "
                      f"languages ({', '.join(ev['langs'])}), {ev['limit'] or 'all'} segments each, metrics "
                      f"{', '.join(ev['metrics'])}, baseline {ev['baseline']}"]
    else:
        lines += ["", f"evaluation: {ev['testset']}, {len(ev['langs'])} languages ({', '.join(ev['langs'])}), "
                      f"{ev['limit'] or 'all'} segments each, metrics {', '.join(ev['metrics'])}, "
                      f"baseline {ev['baseline']}",
                  "groups: " + "; ".join(f"{g}={','.join(c)}" for g, c in ev["groups"].items())]
    if spec.retrieval:
        r = spec.retrieval
        lines.append(f"retrieval: {r['testset']}, {', '.join(r['langs'])}, {r['limit'] or 'all'} sentences each, "
                     f"systems {', '.join(r['systems'])}")
    return "\n".join(lines)


def run(args) -> None:
    from ..experiments import load_experiment

    check_device_name(args.device)
    spec = load_experiment(experiment_path(args), quick=args.quick)  # every check before a model loads
    only = None
    if args.systems is not None:
        only = spec.check_system_names([n.strip() for n in args.systems.split(",") if n.strip()])
        if not only:
            raise InputError(f"--systems: no system named; systems: {', '.join(spec.systems)}")
    if args.dry_run:
        print(describe(spec))
        return
    if not args.out:
        raise InputError("--out DIR is required (except with --dry-run)")
    if args.status:
        from ..experiments.status import experiment_status, format_status, running_process

        if not Path(args.out).is_dir():
            raise InputError(f"--status: {args.out} does not exist; nothing of this experiment has run there")
        running = running_process(args.out)
        print(format_status(spec, args.out, experiment_status(spec, args.out, running=running is not None), running))
        return
    from ..experiments import run_experiment
    from .checks import check_device

    check_device(args.device)
    log = (lambda message: None) if args.quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    options = {k: v for k, v in vars(args).items() if k != "func"}
    result = run_experiment(spec, args.out, only=only, device=args.device, log=log, progress=not args.quiet and sys.stderr.isatty(),
                            run_info={"options": options})
    out = Path(args.out)
    print(f"trained now: {', '.join(result.trained_now) or 'none'}; already trained: "
          f"{', '.join(result.skipped) or 'none'}" + (f"; not trained yet: {', '.join(result.pending)}"
                                                      if result.pending else ""))
    print(f"report: {out / 'report.md'}; every score and hypothesis: {out / 'eval'}")
