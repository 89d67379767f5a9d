"""Where an experiment stands in its output folder, read from the files alone (nothing loads).

A long experiment spans sessions; `babelbridge experiment NAME --out DIR --status` answers
what the next session needs before it starts anything: which systems are trained, how far an
interrupted one got (its last checkpoint, which is where it resumes), what is translated, and
whether an experiment process is running in DIR right now.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from .runner import LOCK, TRANSLATION_TIME, is_trained, last_checkpoint_step, run_dir, training_summary, try_lock
from .spec import ExperimentSpec


@dataclass
class SystemStatus:
    name: str
    state: str  # "given", "bridge_of", "trained", "partial" (has a checkpoint), "started" (none yet), "not started"
    max_steps: int | None = None
    checkpoint_step: int | None = None  # the last complete checkpoint: where training resumes
    logged_step: int | None = None  # the last step in metrics.jsonl (later than the checkpoint if killed)
    source_gap: float | None = None  # at the last validation
    minutes: float | None = None  # training time so far (timing.json, killed sessions up to their checkpoint)
    translated: int | None = 0  # test sets translated (eval/translation_seconds.json); None: it does not translate
    seconds_per_step: float | None = None  # while it trains: this session's pace so far


def experiment_status(spec: ExperimentSpec, out: str | Path, *, running: bool = False,
                      now: float | None = None) -> list[SystemStatus]:
    """running: an experiment process holds DIR's lock, so an open training session is live and
    its pace (from the session's start and the step it resumed from) tells the time left."""
    out = Path(out)
    now = time.time() if now is None else now
    recorded_file = out / "eval" / TRANSLATION_TIME
    recorded = json.loads(recorded_file.read_text(encoding="utf-8")) if recorded_file.is_file() else {}
    langs = spec.testset_names()
    found = []
    for system in spec.systems.values():
        translated = sum(lang in recorded.get(system.name, {}) for lang in langs)
        if not system.trained:
            found.append(SystemStatus(system.name, "given" if system.bridge_of is None else "bridge_of",
                                      translated=translated))
            continue
        folder = run_dir(out, system)
        summary = training_summary(out, system)
        checkpoint_step = last_checkpoint_step(folder) or None
        if is_trained(out, system):
            state = "trained"
        elif checkpoint_step:
            state = "partial"
        elif folder.is_dir():
            state = "started"
        else:
            state = "not started"
        status = SystemStatus(
            system.name, state, max_steps=system.run.get("train", {}).get("max_steps"),
            checkpoint_step=checkpoint_step, logged_step=summary.steps, source_gap=summary.source_gap,
            minutes=None if summary.seconds is None else summary.seconds / 60,
            translated=translated if system.translates else None)
        if running and state in ("partial", "started"):
            status.seconds_per_step = _live_pace(folder, summary.steps, now)
        found.append(status)
    return found


def _live_pace(folder: Path, logged_step: int | None, now: float) -> float | None:
    timing = folder / "timing.json"
    sessions = json.loads(timing.read_text()).get("sessions", []) if timing.is_file() else []
    last = sessions[-1] if sessions and isinstance(sessions[-1], dict) else {}
    if last.get("seconds") is not None or "from_step" not in last or not logged_step:
        return None  # no open session, or one written before sessions recorded their start step
    done = logged_step - last["from_step"]
    return (now - last["started"]) / done if done > 0 else None


def running_process(out: str | Path) -> str | None:
    """Who holds DIR's experiment lock (runner.folder_lock), or None when nobody does."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): the runner takes no lock there either
        return None
    lock = Path(out) / LOCK
    if not lock.is_file():
        return None
    with open(lock, encoding="utf-8") as f:
        holder = try_lock(f)
        if holder is None:
            fcntl.flock(f, fcntl.LOCK_UN)
    return holder


def format_status(spec: ExperimentSpec, out: str | Path, statuses: list[SystemStatus],
                  running: str | None) -> str:
    n_langs = len(spec.testset_names())
    lines = [f"{spec.title}{' (quick)' if spec.quick else ''}: {out}",
             f"running now: {running}" if running else "running now: no experiment process", ""]
    for s in statuses:
        if s.state == "given":
            what = "given (not trained here)"
        elif s.state == "bridge_of":
            twin = spec.systems[s.name]
            what = f"{twin.bridge_of}'s bridge, translating with PMP ({twin.pmp})"
        elif s.state == "trained":
            what = f"trained, {s.logged_step or '?'} steps"
        elif s.state == "partial":
            what = (f"partly trained: checkpoint at step {s.checkpoint_step} of {s.max_steps} (training resumes there)"
                    + (f", logged to step {s.logged_step}" if s.logged_step and s.logged_step > s.checkpoint_step
                       else ""))
        elif s.state == "started":
            what = (f"started, no checkpoint yet (logged to step {s.logged_step} of {s.max_steps}; it restarts "
                    f"from step 0)" if s.logged_step else "started, no checkpoint yet (it restarts from step 0)")
        else:
            what = "not started"
        if s.seconds_per_step and s.logged_step and s.max_steps:
            left = s.seconds_per_step * (s.max_steps - s.logged_step) / 60
            what += (f"; training now: step {s.logged_step}, {s.seconds_per_step:.1f} s a step this session, "
                     f"~{left:.0f} min to step {s.max_steps}")
        elif s.minutes:
            what += f", {s.minutes:.1f} min"
        if s.source_gap is not None:
            what += f", source gap {s.source_gap:.3f}"
        done = "aligns vectors, does not translate" if s.translated is None else f"translated {s.translated}/{n_langs}"
        lines.append(f"  {s.name:24s} {what}; {done}")
    if spec.pseudo is not None:
        lines += ["", f"  pseudo-corpus            {pseudo_state(spec, Path(out))}"]
    return "\n".join(lines)


def pseudo_state(spec: ExperimentSpec, out: Path) -> str:
    """Where the pseudo-corpus step stands: made (pairs kept), under way (its partial dir), or not begun."""
    from ..bulk import partial_dir
    from .pseudo_step import corpus_path, is_built, pseudo_counts

    translator = spec.pseudo["translator"]
    if is_built(out):
        total = (pseudo_counts(out) or {}).get("total") or {}
        return (f"made by {translator}'s bridge: {total.get('kept', '?')} pairs kept of {total.get('candidates', '?')} "
                f"({corpus_path(out).relative_to(out)})")
    partial = partial_dir(corpus_path(out))
    if partial.is_dir():
        return f"under way ({partial.relative_to(out)}: it resumes from the batches done)"
    return f"not made yet (after {translator} is trained, before the first system that trains on it)"
