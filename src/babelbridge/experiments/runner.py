"""Run an experiment: train each system that is not trained yet, evaluate all, write the report.

Layout of the output directory:

    runs/<system>/config.yaml   the system's whole run config (`babelbridge train` reproduces it)
    runs/<system>/...           the trainer's run: checkpoints, metrics.jsonl, bridge/
    runs/<system>/timing.json   wall seconds spent training, summed over sessions
    eval/                       `babelbridge eval`'s files: results.md/.csv/.json, charts, cache/
    report.md, report.json      the experiment's own report (the experiment's report builder)

Nothing is redone: a system whose bridge/ exists is trained; an interrupted training resumes
from its last checkpoint (the trainer's own resume); translations come from eval/cache. So a
run killed at any point, started again with the same command, continues where it stopped.
A runs/<system> trained with other settings (e.g. --quick into a full run's folder) is an error,
never silently mixed.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import BabelBridgeError
from ..textio import atomic_output
from .spec import ExperimentSpec, SystemSpec

WEIGHTS = "bridge.safetensors"


@dataclass
class TrainingSummary:
    """What one trained system's run says about itself (metrics.jsonl, timing.json)."""

    system: str
    steps: int | None = None
    seconds: float | None = None
    last_loss: float | None = None  # training loss at the last logged step
    val_loss: float | None = None  # at the last validation
    val_loss_mismatched_src: float | None = None
    source_gap: float | None = None
    train_pairs: int | None = None


@dataclass
class ExperimentResult:
    out: Path
    trained_now: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    summaries: dict[str, TrainingSummary] = field(default_factory=dict)
    evaluation: object | None = None  # evaluate.runner.Evaluation


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_dir(out: Path, system: SystemSpec) -> Path:
    return out / "runs" / system.name


def system_run_config(out: Path, system: SystemSpec) -> dict:
    run = json.loads(json.dumps(system.run))  # deep copy
    run.setdefault("train", {})["output_dir"] = str(run_dir(out, system).resolve())
    return run


def _comparable(run: dict) -> dict:
    """Settings that decide what is trained (output_dir moves with the folder: not compared)."""
    run = json.loads(json.dumps(run))
    run.get("train", {}).pop("output_dir", None)
    return run


def is_trained(out: Path, system: SystemSpec) -> bool:
    return (run_dir(out, system) / "bridge" / WEIGHTS).is_file()


def check_run_dir(out: Path, system: SystemSpec) -> None:
    """A runs/<system> made with other settings is an error, before anything is loaded."""
    config = run_dir(out, system) / "config.yaml"
    if not config.is_file():
        return
    previous = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    if _comparable(previous) != _comparable(system_run_config(out, system)):
        changed = sorted(k for k in set(previous) | set(system.run)
                         if _comparable(previous).get(k) != _comparable(system.run).get(k))
        raise BabelBridgeError(
            f"{config} was written for other settings of system {system.name} (they differ in: "
            f"{', '.join(changed)}); a full run and a --quick run need different --out folders. "
            f"Use another --out, or delete {config.parent} to retrain it")


def train_system(out: Path, system: SystemSpec, log=_stderr) -> float:
    """Train (or resume) one system; returns the seconds spent in this call."""
    from ..runconfig import load_run_config
    from ..train.pipeline import train_from_run_config

    folder = run_dir(out, system)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yaml"
    with atomic_output(config) as f:
        f.write(f"# system {system.name}: {system.describe}\n# babelbridge train {config}\n")
        f.write(yaml.safe_dump(system_run_config(out, system), sort_keys=False, allow_unicode=True))
    started = time.perf_counter()
    train_from_run_config(load_run_config(config), {"config_file": str(config), "experiment_system": system.name})
    seconds = time.perf_counter() - started
    timing = folder / "timing.json"
    sessions = json.loads(timing.read_text()).get("sessions", []) if timing.is_file() else []
    sessions.append(round(seconds, 1))
    with atomic_output(timing) as f:
        f.write(json.dumps({"seconds": round(sum(sessions), 1), "sessions": sessions}) + "\n")
    gc.collect()  # the backbones of this run go before the next one loads its own
    return seconds


def training_summary(out: Path, system: SystemSpec) -> TrainingSummary:
    folder = run_dir(out, system)
    summary = TrainingSummary(system.name)
    metrics = folder / "metrics.jsonl"
    if metrics.is_file():
        for line in metrics.read_text().splitlines():
            record = json.loads(line)
            if "loss" in record:
                summary.steps, summary.last_loss = record["step"], record["loss"]
            if "val_loss" in record:
                summary.val_loss = record["val_loss"]
                summary.val_loss_mismatched_src = record.get("val_loss_mismatched_src")
                summary.source_gap = record.get("source_gap")
    if (folder / "timing.json").is_file():
        summary.seconds = json.loads((folder / "timing.json").read_text())["seconds"]
    if (folder / "run_config.json").is_file():
        summary.train_pairs = json.loads((folder / "run_config.json").read_text()).get("train_pairs")
    return summary


def evaluation_systems(out: Path, spec: ExperimentSpec, *, device: str, dtype: str) -> list:
    from ..pretrained import resolve_bridge_path
    from ..evaluate import System

    systems = []
    for s in spec.systems.values():
        path = run_dir(out, s) / "bridge" if s.trained else resolve_bridge_path(s.bridge)
        systems.append(System.from_checkpoint(s.name, path, device=device, dtype=dtype))
    return systems


def run_experiment(spec: ExperimentSpec, out: str | Path, *, device: str = "cpu", dtype: str = "float32",
                   log=_stderr, progress: bool = False, run_info: dict | None = None) -> ExperimentResult:
    from ..pretrained import resolve_bridge_path
    from ..evaluate import evaluate, load_testsets, write_results
    from ..evaluate.provenance import run_info as eval_run_info
    from ..evaluate.writer import write_json
    from . import report as experiment_report

    out = Path(out)
    ev_cfg = spec.evaluation
    # Every check before the first model: folders, given bridges, the test set itself.
    for system in spec.trained:
        check_run_dir(out, system)
    for system in spec.systems.values():
        if not system.trained:
            resolve_bridge_path(system.bridge)
    testsets = load_testsets(ev_cfg["testset"], ev_cfg["langs"], ev_cfg["tgt_lang"], ev_cfg["limit"])

    result = ExperimentResult(out)
    for i, system in enumerate(spec.trained, 1):
        if is_trained(out, system):
            log(f"[{i}/{len(spec.trained)}] {system.name}: trained already ({run_dir(out, system)}/bridge), skipped")
            result.skipped.append(system.name)
            continue
        log(f"[{i}/{len(spec.trained)}] {system.name}: training ({system.describe})")
        seconds = train_system(out, system, log)
        log(f"[{i}/{len(spec.trained)}] {system.name}: trained in {seconds / 60:.1f} min")
        result.trained_now.append(system.name)
    result.summaries = {s.name: training_summary(out, s) for s in spec.trained}

    generation = {"num_beams": ev_cfg["beam"], "max_new_tokens": ev_cfg["max_new_tokens"],
                  "truncate": ev_cfg["truncate"]}
    systems = evaluation_systems(out, spec, device=device, dtype=dtype)
    ev = evaluate(systems, testsets, metrics=ev_cfg["metrics"], baseline=ev_cfg["baseline"],
                  groups=ev_cfg["groups"], ratios=experiment_report.ratios(spec), generation=generation,
                  batch_size=ev_cfg["batch_size"], cache_dir=out / "eval" / "cache", log=log, progress=progress,
                  title=spec.title)
    info = eval_run_info(device, **(run_info or {}), experiment=spec.name, quick=spec.quick,
                         experiment_file=str(spec.path), systems={s.label: s.identity for s in systems},
                         generation=generation, testsets={ts.name: ts.identity for ts in testsets},
                         signatures=ev.signatures, translation=ev.translation)
    write_results(out / "eval", ev.report, segments=ev.segments(), run=info)
    built = experiment_report.build(spec, ev.report, result.summaries, translation=ev.translation, run=info)
    with atomic_output(out / "report.md") as f:
        f.write(built.markdown)
    write_json(out / "report.json", built.data)
    result.evaluation = ev
    return result
