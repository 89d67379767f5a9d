"""Run an experiment: train each system that is not trained yet, translate with it, write the report.

Layout of the output directory:

    runs/<system>/config.yaml   the system's whole run config (`babelbridge train` reproduces it)
    runs/<system>/...           the trainer's run: checkpoints/, metrics.jsonl, bridge/
    runs/<system>/timing.json   wall seconds spent training, summed over sessions (killed ones too)
    runs/<system>/trained.json  written when training ends: the bridge's checksums (its identity)
    pseudo/                     the pseudo-corpus step's corpus.jsonl, its counts and step.json
                                (experiments/pseudo_step.py), when the file has a pseudo: section
    eval/                       `babelbridge eval`'s files: results.md/.csv/.json, charts, cache/
    report.md, report.json      the experiment's own report (the experiment's report builder)

Nothing is redone: a system with trained.json is trained; an interrupted training resumes from
its last checkpoint (the trainer's own resume); translations come from eval/cache. A system is
translated as soon as it is trained, before the next one starts: the small files (trained.json,
metrics, eval/cache) are what a results folder keeps in git, not the bridges' weights, so an
experiment longer than one session moves on from whatever the last session committed. A
runs/<system> trained with other settings (e.g. --quick into a full run's folder) is an error,
never silently mixed.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import BabelBridgeError
from ..textio import atomic_output
from .spec import ExperimentSpec, SystemSpec

WEIGHTS = "bridge.safetensors"
TRAINED = "trained.json"


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
    val_retrieval_r1: float | None = None  # LLINK stage A: R@1 on the validation pairs
    slot_gap: float | None = None  # LLINK stage B: validation L_zero - L_SFT (<= 0: the slots are ignored)


@dataclass
class ExperimentResult:
    out: Path
    trained_now: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # not trained yet: left out of the report
    summaries: dict[str, TrainingSummary] = field(default_factory=dict)
    evaluation: object | None = None  # evaluate.runner.Evaluation


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_dir(out: Path, system: SystemSpec) -> Path:
    return out / "runs" / system.name


def system_run_config(out: Path, system: SystemSpec) -> dict:
    run = json.loads(json.dumps(system.run))  # deep copy
    run.setdefault("train", {})["output_dir"] = str(run_dir(out, system).resolve())
    if system.init_from:  # a later stage starts from the earlier system's finished bridge
        run["train"]["init_from"] = str((out / "runs" / system.init_from / "bridge").resolve())
    if system.pseudo_data:  # the experiment's pseudo-corpus (a path relative to runs/<system>/config.yaml)
        run.setdefault("data", {})["train"] = [*(run["data"].get("train") or []), dict(system.pseudo_data)]
    return run


def _comparable(run: dict) -> dict:
    """Settings that decide what is trained. Not compared: output_dir (it moves with the folder)
    and how often the run logs and checkpoints (a long run may checkpoint more often when resumed)."""
    run = json.loads(json.dumps(run))
    for key in ("output_dir", "save_every", "keep_last", "log_every", "init_from"):  # init_from: a path in the folder
        run.get("train", {}).pop(key, None)
    return run


def is_trained(out: Path, system: SystemSpec) -> bool:
    folder = run_dir(out, system)
    return (folder / TRAINED).is_file() or (folder / "bridge" / WEIGHTS).is_file()


def record_trained(out: Path, system: SystemSpec) -> dict:
    """runs/<system>/trained.json: the finished bridge's checksums, written once.

    The evaluation cache keys a system's translations by these (and a folder-relative path), so
    they stay valid after the weights are gone or the folder has moved."""
    from ..evaluate.cache import checkpoint_identity

    folder = run_dir(out, system)
    record_file = folder / TRAINED
    if record_file.is_file():
        record = json.loads(record_file.read_text(encoding="utf-8"))
        if (folder / "bridge" / WEIGHTS).is_file():
            now = checkpoint_identity(folder / "bridge")["sha256"]
            if now != record["sha256"]:
                raise BabelBridgeError(
                    f"{folder / 'bridge'} is not the bridge {record_file} describes (its checksums differ): it was "
                    f"retrained or edited. Delete {record_file} (and {out / 'eval' / 'cache'} entries of "
                    f"{system.name}, or the whole cache) to use it")
        return record
    record = {"system": system.name, "checkpoint": f"runs/{system.name}/bridge",
              "sha256": checkpoint_identity(folder / "bridge")["sha256"]}
    with atomic_output(record_file) as f:
        f.write(json.dumps(record, indent=1) + "\n")
    return record


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


def _as_trained(out: Path, system: SystemSpec):
    """The RunConfig `babelbridge train runs/<system>/config.yaml` reads (relative paths resolve there)."""
    from ..runconfig import RunConfig

    return RunConfig(**{"encoder": None, **system_run_config(out, system)}, path=run_dir(out, system) / "config.yaml")


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
    timing = folder / "timing.json"
    sessions = json.loads(timing.read_text()).get("sessions", []) if timing.is_file() else []
    sessions = close_killed_sessions(sessions, last_checkpoint_time(folder))
    # from_step: where this session resumes, so --status can tell its pace while it runs
    sessions.append({"started": round(time.time(), 1), "from_step": last_checkpoint_step(folder), "seconds": None})
    _write_timing(timing, sessions)
    started = time.perf_counter()
    train_from_run_config(load_run_config(config), {"config_file": str(config), "experiment_system": system.name})
    seconds = time.perf_counter() - started
    sessions[-1]["seconds"] = round(seconds, 1)
    _write_timing(timing, sessions)
    gc.collect()  # the backbones of this run go before the next one loads its own
    return seconds


def last_checkpoint_time(folder: Path) -> float | None:
    from ..train.state import checkpoints

    found = checkpoints(folder)
    return (found[-1] / "trainer_state.json").stat().st_mtime if found else None


def last_checkpoint_step(folder: Path) -> int:
    """The step training resumes from: the last complete checkpoint's, 0 without one."""
    from ..train.state import checkpoints

    found = checkpoints(folder)
    return json.loads((found[-1] / "trainer_state.json").read_text())["step"] if found else 0


def close_killed_sessions(sessions: list, checkpoint_time: float | None) -> list[dict]:
    """timing.json's sessions, each {"started": epoch seconds, "from_step": the step it resumed
    from, "seconds": wall seconds}.

    A session still open (seconds None) was killed, e.g. at the end of a working session; what it
    did up to its last checkpoint is what the resumed run keeps, so that is what it counts; its
    steps after the checkpoint are redone and counted where they are redone. Old files list
    plain seconds."""
    closed = []
    for s in sessions:
        s = {"seconds": s} if isinstance(s, (int, float)) else dict(s)
        if s.get("seconds") is None:
            kept = 0.0 if checkpoint_time is None else max(0.0, checkpoint_time - s.get("started", checkpoint_time))
            s.update(seconds=round(kept, 1), killed=True)
        closed.append(s)
    return closed


def _write_timing(path: Path, sessions: list[dict]) -> None:
    total = sum(s["seconds"] or 0.0 for s in sessions)
    with atomic_output(path) as f:
        f.write(json.dumps({"seconds": round(total, 1), "sessions": sessions}) + "\n")


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
                summary.val_retrieval_r1 = record.get("val_r@1")
                summary.slot_gap = record.get("slot_gap")
    if (folder / "timing.json").is_file():
        summary.seconds = json.loads((folder / "timing.json").read_text())["seconds"]
    if (folder / "run_config.json").is_file():
        summary.train_pairs = json.loads((folder / "run_config.json").read_text()).get("train_pairs")
    return summary


TRANSLATION_TIME = "translation_seconds.json"


def record_translation_time(out: Path, info: dict) -> dict:
    """eval/translation_seconds.json: seconds each system took per test set when it was really
    translated (a cache hit takes none), kept across sessions for the report's time section."""
    path = out / "eval" / TRANSLATION_TIME
    recorded = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    fresh = {(s, t): v["seconds"] for s, by_set in info.items() for t, v in by_set.items() if not v["cached"]}
    if fresh:
        for (system, testset), seconds in fresh.items():
            recorded.setdefault(system, {})[testset] = seconds
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as f:
            f.write(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    return recorded


def trained_system(out: Path, system: SystemSpec, *, device: str, dtype: str, label: str | None = None,
                   pmp: str | None = None):
    """An evaluation System for a trained one; it loads the bridge only for an uncached translation.
    label, pmp: a bridge_of system's (the same bridge translating with PMP)."""
    from ..evaluate import System

    record, weights = record_trained(out, system), run_dir(out, system) / "bridge"

    def load():
        if not (weights / WEIGHTS).is_file():
            raise BabelBridgeError(
                f"system {system.name} needs translating, but its bridge ({weights}) is not here: the weights "
                f"of a finished run are not kept with the results (only {TRAINED} and the translations in "
                f"{out / 'eval' / 'cache'}). Restore {weights}, or delete {run_dir(out, system) / TRAINED} "
                f"to train it again")
        from .. import bridges

        return bridges.load_bridge(weights, device=device, dtype=dtype)

    identity = {"checkpoint": record["checkpoint"], "sha256": record["sha256"], "dtype": dtype}
    return System(label or system.name, identity, load, pmp=pmp)


def restore_start(out: Path, spec: ExperimentSpec, system: SystemSpec, log=_stderr) -> None:
    """A later stage starting from scratch needs the earlier stage's bridge (restore_bridge)."""
    from ..train.state import checkpoints

    if not system.init_from or checkpoints(run_dir(out, system)):
        return  # nothing to start from, or the run resumes from its own checkpoint
    restore_bridge(out, spec, spec.systems[system.init_from], f"{system.name} starts from", log)


def restore_bridge(out: Path, spec: ExperimentSpec, dep: SystemSpec, why: str, log=_stderr) -> None:
    """Make sure a trained system's bridge weights are here. Weights are not kept with results,
    so on another machine they may be gone: the system is trained again (runs are deterministic;
    record_trained then checks its checksums against trained.json)."""
    folder = run_dir(out, dep)
    if (folder / "bridge" / WEIGHTS).is_file():
        return
    restore_start(out, spec, dep, log)
    log(f"{why} {dep.name}, whose bridge is not here: training {dep.name} again")
    # The rerun reproduces the recorded run (record_trained checks its checksums): its metrics
    # replace the recorded ones (the same numbers, not appended a second time), and the
    # training time stays the recorded run's, not counted twice.
    timing = (folder / "timing.json").read_text() if (folder / "timing.json").is_file() else None
    (folder / "metrics.jsonl").unlink(missing_ok=True)
    seconds = train_system(out, dep, log)
    record_trained(out, dep)  # the checksums must match trained.json's, or this raises
    if timing is not None:
        with atomic_output(folder / "timing.json") as f:
            f.write(timing)
    log(f"{dep.name} restored in {seconds / 60:.1f} min, bit-identical to its recorded run")


def make_pseudo_corpus(out: Path, spec: ExperimentSpec, *, device: str, dtype: str, log=_stderr) -> None:
    """The pseudo-corpus step (experiments/pseudo_step.py), once, before the first with_pseudo
    system trains: its translator's bridge restored if need be, then X -> pivot -> Y."""
    from .pseudo_step import build_experiment_pseudo, is_built

    if is_built(out):
        return
    translator = spec.systems[spec.pseudo["translator"]]
    restore_bridge(out, spec, translator, "the pseudo-corpus is translated by", log)
    build_experiment_pseudo(out, spec, bridge_dir=run_dir(out, translator) / "bridge",
                            translator_sha256=record_trained(out, translator)["sha256"], device=device, dtype=dtype,
                            log=log)


def retrieval_systems(out: Path, systems: list[SystemSpec], *, device: str, dtype: str) -> dict:
    """label -> (identity, loader) for evaluate.retrieval: identity is the bridge's checksums."""
    from .. import bridges

    def loader(system):
        def load():
            weights = run_dir(out, system) / "bridge"
            if not (weights / WEIGHTS).is_file():
                raise BabelBridgeError(f"system {system.name} needs retrieval scores, but its bridge ({weights}) is "
                                       f"not here; restore it, or delete {run_dir(out, system) / TRAINED} to train "
                                       f"it again")
            return bridges.load_bridge(weights, device=device, dtype=dtype)
        return load

    result = {}
    for system in systems:
        record = record_trained(out, system)
        sums = record["sha256"]
        result[system.name] = (",".join(f"{k}={v[:16]}" for k, v in sorted(sums.items())) + f",dtype={dtype}",
                               loader(system))
    return result


def reference_key(system: SystemSpec) -> str:
    """What decides the before and chance rows: the backbones and the bridge options (no weights)."""
    import hashlib

    run = {k: system.run.get(k) for k in ("encoder", "decoder", "encoder_options", "decoder_options")}
    bridge = {k: v for k, v in (system.run.get("bridge") or {}).items() if k != "stage"}
    # "before": what the row reads (the whole source sentence; an earlier version cut it at max_target_tokens)
    text = json.dumps({**run, "bridge": bridge, "seed": 0, "before": "whole source"}, sort_keys=True)
    return "reference:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def reference_bridge(system: SystemSpec, device: str, dtype: str):
    """A stage-A bridge on the system's backbones with its options, freshly initialised: the LLM
    reading the source itself, and the untrained projector, need no trained weights."""
    from ..backbones import load_decoder, load_encoder
    from ..bridges import build_bridge

    run = system.run
    encoder = load_encoder(run["encoder"], dtype=dtype, device=device, **(run.get("encoder_options") or {}))
    decoder = load_decoder(run["decoder"], dtype=dtype, device=device, **(run.get("decoder_options") or {}))
    return build_bridge(run["method"], encoder, decoder, {**(run.get("bridge") or {}), "stage": "align"}).eval()


def given_system(system: SystemSpec, *, device: str, dtype: str, label: str | None = None, pmp: str | None = None):
    from ..evaluate import System
    from ..pretrained import resolve_bridge_path

    return System.from_checkpoint(label or system.name, resolve_bridge_path(system.bridge), device=device, dtype=dtype,
                                  pmp=pmp)


def evaluation_system(out: Path, system: SystemSpec, *, device: str, dtype: str):
    """The evaluation System of any system of the file: trained, given, or bridge_of another's."""
    owner = system.owner
    make = trained_system if owner.trained else given_system
    if owner is system:
        return make(out, system, device=device, dtype=dtype, pmp=system.pmp) if owner.trained else \
            make(system, device=device, dtype=dtype, pmp=system.pmp)
    if owner.trained:
        return make(out, owner, device=device, dtype=dtype, label=system.name, pmp=system.pmp)
    return make(owner, device=device, dtype=dtype, label=system.name, pmp=system.pmp)


def experiment_testsets(spec: ExperimentSpec) -> tuple[list, list | None]:
    """(test sets, directions or None). With PMP systems, the test sets carry each direction's
    auxiliary (evaluate/pmp.py) and every system is scored on the segments all three languages have."""
    from ..evaluate import load_direction_testsets, load_testsets
    from ..evaluate.any_to_any import parse_directions
    from ..evaluate.pmp import auxiliary_languages

    ev = spec.evaluation
    pmp = any(s.pmp for s in spec.systems.values())
    if spec.any_to_any:
        directions = parse_directions(str(ev["directions"]), ev["langs"], ev["hubs"])
        aux = auxiliary_languages(directions, ev["langs"], aux_lang=ev["aux_lang"]) if pmp else {}
        return load_direction_testsets(ev["testset"], directions, ev["limit"],
                                       {d: a.lang for d, a in aux.items()} or None), directions
    pairs = [(c, ev["tgt_lang"]) for c in ev["langs"]]
    aux = auxiliary_languages(pairs, [*ev["langs"], ev["tgt_lang"]], aux_lang=ev["aux_lang"]) if pmp else {}
    return load_testsets(ev["testset"], ev["langs"], ev["tgt_lang"], ev["limit"],
                         {d: a.lang for d, a in aux.items()} or None), None


def pooled_comparisons(spec: ExperimentSpec, ev) -> dict[str, list[dict]]:
    """Paired bootstraps over pooled languages, per sacrebleu metric: the zero-shot system against
    the oracle on the languages it never saw; each pivot against the first on those none saw;
    each ablation against the full model on each of the ablation groups (Table 4's columns);
    each same-pair baseline against the zero-shot system where they meet (report.same_pair_columns)."""
    from ..evaluate.metrics import sacrebleu_metric
    from ..evaluate.significance import pooled_paired_bootstrap
    from . import report as experiment_report

    segments = ev.segments()
    metrics = [m for m in spec.evaluation["metrics"] if m in ("chrf++", "bleu")]  # spBLEU needs an --spm model

    def pooled(languages: list[str], baseline: str, system: str, **extra) -> list[dict]:
        return [{"metric": m, **extra, **pooled_paired_bootstrap(segments, languages, sacrebleu_metric(m),
                                                                 baseline=baseline, system=system)}
                for m in metrics]

    section = spec.report
    zs, oracle = section.get("zero_shot"), section.get("oracle")
    unseen = experiment_report.unseen_languages(spec, ev.report)
    pivots = list(section.get("pivots") or [])
    neither = experiment_report.languages_none_trained_on(spec, ev.report, pivots)
    full = section.get("ablation_full")
    groups = experiment_report.ablation_groups(spec, ev.report)
    meet = experiment_report.same_pair_columns(spec, ev.report)
    same_pair = experiment_report.same_pair_systems(spec, ev.report)
    return {
        "zero_shot_vs_oracle": pooled(unseen, oracle, zs) if zs and oracle and unseen else [],
        "pivots": [r for p in pivots[1:] for r in pooled(neither, pivots[0], p)] if neither else [],
        "ablations": [r for v in section.get("ablations") or [] for g in groups
                      for r in pooled(ev.report.columns[g], full, v, group=g)] if full else [],
        "same_pair_baselines": [r for b in same_pair[1:] for g, langs in meet.items()
                                for r in pooled(langs, same_pair[0], b, group=g)],
    }


LOCK = ".experiment.lock"


def try_lock(f) -> str | None:
    """Take the lock on open file f; if another process holds it, return what it wrote there."""
    import fcntl

    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        return f.read().strip() or "another process"
    return None


@contextlib.contextmanager
def folder_lock(out: Path):
    """One experiment process per output folder: two would train the same system into one run
    folder. An OS lock (flock), so a killed process leaves no stale lock behind."""
    try:
        import fcntl
    except ImportError:  # Windows has no flock: one process at a time is then up to the user
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK, "a+", encoding="utf-8") as f:
        holder = try_lock(f)
        if holder:
            raise BabelBridgeError(f"{out} is in use by another experiment ({holder}); wait for it to end or "
                                   f"stop it, then run this again: it resumes from there") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def run_experiment(spec: ExperimentSpec, out: str | Path, *, only: list[str] | None = None, device: str = "cpu",
                   dtype: str = "float32", log=_stderr, progress: bool = False,
                   run_info: dict | None = None) -> ExperimentResult:
    """Train the systems in `only` (default: all) that are not trained, translating each as it
    finishes; then score and report every system that is ready (trained or given). One process
    per output folder at a time."""
    with folder_lock(Path(out)):
        return _run_experiment(spec, Path(out), only=only, device=device, dtype=dtype, log=log,
                               progress=progress, run_info=run_info)


def _run_experiment(spec: ExperimentSpec, out: Path, *, only: list[str] | None = None, device: str = "cpu",
                    dtype: str = "float32", log=_stderr, progress: bool = False,
                    run_info: dict | None = None) -> ExperimentResult:
    from ..pretrained import resolve_bridge_path
    from ..evaluate import evaluate, load_testsets, translate_all, write_results
    from ..evaluate.cache import TranslationCache
    from ..evaluate.provenance import run_info as eval_run_info
    from ..evaluate.retrieval import RetrievalCache, reference_rows, system_rows
    from ..evaluate.writer import write_json
    from . import report as experiment_report
    from .pseudo_step import check_pseudo_dir

    ev_cfg = spec.evaluation
    # Every check before the first model: folders, given bridges, the test set itself.
    for system in spec.trained:
        check_run_dir(out, system)
    check_pseudo_dir(out, spec)
    for system in spec.systems.values():
        if not system.trained and system.bridge_of is None:
            resolve_bridge_path(system.bridge)
    testsets, directions = experiment_testsets(spec)
    generation = {"num_beams": ev_cfg["beam"], "max_new_tokens": ev_cfg["max_new_tokens"],
                  "truncate": ev_cfg["truncate"]}
    cache = TranslationCache(out / "eval" / "cache")

    result = ExperimentResult(out)
    built_systems: dict = {}  # one System each: a trained one's weights are hashed once

    def system_for(s: SystemSpec):
        if s.name not in built_systems:
            built_systems[s.name] = evaluation_system(out, s, device=device, dtype=dtype)
        return built_systems[s.name]

    asked = [s.name for s in spec.trained if only is None or s.name in only]
    # A later stage needs its earlier stages' bridges: they come along, in the file's order.
    wanted = set(asked) | {d for name in asked for d in spec.dependencies(name)}
    to_train = [s for s in spec.trained if s.name in wanted]
    retrieval_sets = (load_testsets(spec.retrieval["testset"], spec.retrieval["langs"], spec.retrieval["tgt_lang"],
                                    spec.retrieval["limit"]) if spec.retrieval else [])
    retrieval_cache = RetrievalCache(out / "eval" / "retrieval.json")
    for i, system in enumerate(to_train, 1):
        where = f"[{i}/{len(to_train)}] {system.name}"
        if is_trained(out, system):
            log(f"{where}: trained already ({run_dir(out, system)}), skipped")
            result.skipped.append(system.name)
        else:
            if system.with_pseudo:
                make_pseudo_corpus(out, spec, device=device, dtype=dtype, log=log)
            restore_start(out, spec, system, log)
            log(f"{where}: training ({system.describe})")
            seconds = train_system(out, system, log)
            log(f"{where}: trained in {seconds / 60:.1f} min")
            result.trained_now.append(system.name)
        # Translated (and scored for retrieval) now, while its weights are surely here (see the
        # module's docstring).
        if system.translates:  # with the systems that evaluate its bridge another way (bridge_of)
            _, info = translate_all([system_for(s) for s in [system, *spec.twins(system.name)]], testsets,
                                    generation=generation, batch_size=ev_cfg["batch_size"], cache=cache, log=log,
                                    progress=progress)
            record_translation_time(out, info)
        if spec.retrieval and system.name in spec.retrieval["systems"]:
            system_rows(retrieval_systems(out, [system], device=device, dtype=dtype), retrieval_sets,
                        batch_size=spec.retrieval["batch_size"], cache=retrieval_cache, log=log)

    ready = [s.name for s in spec.systems.values() if not s.owner.trained or is_trained(out, s.owner)]
    result.pending = [s.name for s in spec.trained if s.name not in ready]
    shown = spec.restricted(ready)
    result.summaries = {s.name: training_summary(out, s) for s in shown.trained}
    systems = [system_for(s) for s in shown.systems.values() if s.translates]
    retrieval = []
    if shown.retrieval and shown.retrieval["systems"]:
        first = spec.systems[spec.retrieval["systems"][0]]  # its backbones and prompt: the reference rows
        retrieval = reference_rows(reference_key(first), lambda: reference_bridge(first, device, dtype), retrieval_sets,
                                   batch_size=spec.retrieval["batch_size"], cache=retrieval_cache, log=log)
        retrieval += system_rows(retrieval_systems(out, [spec.systems[n] for n in shown.retrieval["systems"]],
                                                   device=device, dtype=dtype),
                                 retrieval_sets, batch_size=spec.retrieval["batch_size"], cache=retrieval_cache, log=log)
    if directions is not None:
        result.evaluation = _report_directions(spec, shown, out, systems, directions, testsets, result,
                                               generation=generation, device=device, log=log, progress=progress,
                                               run_info=run_info)
        return result
    ev = evaluate(systems, testsets, metrics=ev_cfg["metrics"], baseline=shown.evaluation["baseline"],
                  groups=ev_cfg["groups"], ratios=experiment_report.ratios(shown), generation=generation,
                  batch_size=ev_cfg["batch_size"], cache_dir=out / "eval" / "cache", log=log, progress=progress,
                  title=spec.title)
    info = eval_run_info(device, **(run_info or {}), experiment=spec.name, quick=spec.quick,
                         experiment_file=str(spec.path), systems={s.label: s.identity for s in systems},
                         generation=generation, testsets={ts.name: ts.identity for ts in testsets},
                         signatures=ev.signatures, translation=ev.translation)
    write_results(out / "eval", ev.report, segments=ev.segments(), run=info)
    pooled = pooled_comparisons(shown, ev)
    built = experiment_report.build(shown, ev.report, result.summaries, run=info,
                                    translation_seconds=record_translation_time(out, ev.translation),
                                    pending={n: spec.systems[n].describe for n in result.pending},
                                    pooled=pooled["zero_shot_vs_oracle"], pivots_pooled=pooled["pivots"],
                                    ablations_pooled=pooled["ablations"],
                                    same_pair_pooled=pooled["same_pair_baselines"], retrieval=retrieval)
    with atomic_output(out / "report.md") as f:
        f.write(built.markdown)
    write_json(out / "report.json", built.data)
    result.evaluation = ev
    return result


def _report_directions(spec: ExperimentSpec, shown: ExperimentSpec, out: Path, systems: list, directions: list,
                       testsets: list, result: ExperimentResult, *, generation: dict, device: str, log,
                       progress: bool, run_info: dict | None):
    """An any-to-any experiment: evaluate_directions over the ready systems, eval/ written as
    `babelbridge eval --directions` writes it, and the experiment's report (directions_report)."""
    from ..evaluate.any_to_any import evaluate_directions
    from ..evaluate.provenance import run_info as eval_run_info
    from ..evaluate.writer import write_directions_results, write_json
    from . import directions_report
    from .pseudo_step import pseudo_counts

    ev_cfg = spec.evaluation
    ev = evaluate_directions(systems, directions, testsets, languages=ev_cfg["langs"], hubs=ev_cfg["hubs"],
                             metrics=ev_cfg["metrics"], baseline=shown.evaluation["baseline"], generation=generation,
                             batch_size=ev_cfg["batch_size"], cache_dir=out / "eval" / "cache", log=log,
                             progress=progress, title=spec.title)
    info = eval_run_info(device, **(run_info or {}), experiment=spec.name, quick=spec.quick,
                         experiment_file=str(spec.path), systems={s.label: s.identity for s in systems},
                         generation=generation, directions=[d.name for d in directions], hubs=ev_cfg["hubs"],
                         testsets={ts.name: ts.identity for ts in ev.testsets}, signatures=ev.signatures,
                         translation=ev.translation, language_identifier=ev.report.identifier)
    write_directions_results(out / "eval", ev.report, segments=ev.segments(), run=info)
    lists = directions_report.training_lists(shown, lambda s: _as_trained(out, s))
    built = directions_report.build(shown, ev, result.summaries, run=info,
                                    translation_seconds=record_translation_time(out, ev.translation),
                                    pending={n: spec.systems[n].describe for n in result.pending},
                                    data=directions_report.training_data(lists),
                                    seen=directions_report.training_ngrams(lists), pseudo=pseudo_counts(out))
    with atomic_output(out / "report.md") as f:
        f.write(built.markdown)
    write_json(out / "report.json", built.data)
    return ev
