"""Resumable, shardable batch translation for the data commands that translate with a bridge
(`data trilingual`, `data pseudo`): progress kept in ``<out>.partial/`` (bulk.partial_dir).

``args.json`` holds everything that decides the stored translations; a run with the same
arguments resumes, one with others is refused, naming each difference. A translation step (a
key such as ``fra_Latn`` or ``deu_Latn-eng_Latn``) is cut into batches; under several
processes batch b belongs to process b % N (bulk.Shard), and each process appends its batches
to its own ``<key>.part-<rank>.jsonl`` (flush + fsync), one line per batch
``{"batch": b, "i": [input indices], "tgt": [translations]}``, so no two processes write one
file. A resumed run reads every process's files (so the number of processes may change), cuts a
torn last line off its own and redoes that batch: nothing is translated twice, nothing lost.

Every process calls the same functions in the same order: `run_steps` translates this
process's share of some steps, waits for every process (the shard's barrier) and returns every
step's translations from all files; `finish` lets process 0 alone write the output and remove
the partial dir. No torch: the shard (with accelerate's barrier) comes in from the CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..bulk import Shard, partial_dir
from ..textio import atomic_output
from .errors import DataError

ARGS_FILE = "args.json"
# Stored in args.json: a partial dir of the older one-file-per-step layout is refused, not misread.
PROGRESS_FORMAT = 2


def _canonical(obj: Any) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True, ensure_ascii=False))


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def cut_batches(order: Sequence[int], batch_size: int) -> list[tuple[int, ...]]:
    """`order` in consecutive batches of batch_size (the last one shorter)."""
    order = tuple(order)
    return [order[k:k + batch_size] for k in range(0, len(order), batch_size)]


class PartialStore:
    """``<out>.partial/``: the arguments of the run and the finished batches per step and process.

    command: the run's name in messages (e.g. "data trilingual"). shard: this process's share
    (one process by default).
    """

    def __init__(self, out: str | os.PathLike, command: str = "data trilingual", shard: Shard = Shard()):
        self.dir = partial_dir(out)
        self.command = command
        self.shard = shard

    def exists(self) -> bool:
        return self.dir.exists()

    def _stale(self) -> bool:
        # A run stopped before its args.json was in place: nothing to keep.
        return self.dir.is_dir() and not (self.dir / ARGS_FILE).exists() and \
            all(p.name.startswith(".") for p in self.dir.iterdir())

    def check(self, arguments: Mapping[str, Any]) -> bool:
        """True when the partial dir holds this run's progress, False when there is none; a
        partial dir made with other arguments is refused (its translations belong to another run).
        Changes nothing."""
        if not self.dir.exists() or self._stale():
            return False
        if not self.dir.is_dir():
            raise DataError(f"{self.dir} exists and is not a directory; move it away")
        try:
            stored = json.loads((self.dir / ARGS_FILE).read_text(encoding="utf-8"))
            if not isinstance(stored, dict):
                raise ValueError
        except (OSError, ValueError):
            raise DataError(f"{self.dir} has no readable {ARGS_FILE}, so it is not the progress of a "
                            f"`{self.command}` run; delete it to start over") from None
        if stored != arguments:
            keys = sorted(set(stored) | set(arguments))
            differ = [f"{k}: {_short(stored.get(k))} before, {_short(arguments.get(k))} now"
                      for k in keys if stored.get(k) != arguments.get(k)]
            raise DataError(f"{self.dir} holds the progress of a run with other arguments ("
                            f"{'; '.join(differ)}); run again with the same arguments to resume, or "
                            f"delete {self.dir} to start over")
        return True

    def open(self, arguments: Mapping[str, Any]) -> bool:
        """Start (process 0 writes args.json) or resume (same arguments) a run; True when
        resuming. Every process calls it: each checks first, so a mismatch fails everywhere alike
        before the barrier."""
        arguments = _canonical({**arguments, "progress_format": PROGRESS_FORMAT})
        resuming = self.check(arguments)
        if self.shard.rank == 0 and not resuming:
            if self.dir.exists():
                shutil.rmtree(self.dir)
            self._create(arguments)
        self.shard.barrier()
        if not (self.dir / ARGS_FILE).is_file():
            raise DataError(f"{self.dir} disappeared while `{self.command}` started; run it again")
        return resuming

    def _create(self, arguments: Mapping[str, Any]) -> None:
        # The dir appears with its args.json in it (rename): no process sees one without.
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.dir.name}.", dir=self.dir.parent))
        try:
            with atomic_output(tmp / ARGS_FILE) as f:
                f.write(json.dumps(arguments, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
            os.rename(tmp, self.dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def path(self, key: str, rank: int | None = None) -> Path:
        """Step `key`'s file of process `rank` (default: this one)."""
        return self.dir / f"{key}.part-{self.shard.rank if rank is None else rank}.jsonl"

    def _parts(self, key: str) -> list[Path]:
        prefix = f"{key}.part-"
        return sorted(p for p in self.dir.glob(f"{prefix}*.jsonl") if p.name[len(prefix):-6].isdigit())

    def load(self, key: str, batches: Sequence[tuple[int, ...]]) -> dict[int, list[str]]:
        """The finished batches of step `key` in every process's file: batch -> translations.

        A torn last line of this process's own file is cut off, so that batch is translated
        again and appended once (another process's torn line is its own to cut, when it resumes).
        """
        done: dict[int, list[str]] = {}
        for path in self._parts(key):
            good = 0
            data = path.read_bytes()
            for raw in data.split(b"\n")[:-1]:  # the last piece has no newline: unfinished
                try:
                    obj = json.loads(raw)
                    b, indices, texts = obj["batch"], obj["i"], obj["tgt"]
                except (ValueError, KeyError, TypeError):
                    break  # a torn write: the rest is redone
                if not isinstance(b, int) or not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
                    break
                if not 0 <= b < len(batches) or indices != list(batches[b]) or len(texts) != len(indices):
                    raise DataError(f"{path}: batch {b} holds inputs this run does not cut that way; the partial "
                                    f"file does not belong to this run; delete {self.dir} to start over")
                done.setdefault(b, texts)
                good += len(raw) + 1
            if path == self.path(key) and good < len(data):
                with open(path, "r+b") as f:
                    f.truncate(good)
                    f.flush()
                    os.fsync(f.fileno())
        return done

    def append(self, key: str, batch: int, indices: Sequence[int], texts: Sequence[str]) -> None:
        """One finished batch, on disk (this process's file) before this returns."""
        line = json.dumps({"batch": batch, "i": list(indices), "tgt": list(texts)}, ensure_ascii=False) + "\n"
        with open(self.path(key), "a", encoding="utf-8", newline="\n") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def finish(self, write: Callable[[], None]) -> bool:
        """Once every process is done reading, process 0 calls write() (the output) and removes
        the partial dir; every process returns once that is done. True on process 0."""
        self.shard.barrier()
        lead = self.shard.rank == 0
        if lead:
            write()
            self.remove()
        self.shard.barrier()
        return lead

    def remove(self) -> None:
        shutil.rmtree(self.dir)


@dataclass(frozen=True)
class Step:
    """One translation step: inputs[i] for every i of `order`, in that order, batch by batch."""

    key: str
    order: Sequence[int]
    inputs: Sequence[str]
    translate: Callable[[list[str]], list[str]]
    label: str | None = None


@dataclass(frozen=True)
class StepsResult:
    done: dict[str, dict[int, str]]  # step key -> input index -> translation, every input of the step
    ran: int  # batches translated by this run (every process)
    resumed: int  # batches found finished in the partial dir


def run_steps(store: PartialStore, steps: Sequence[Step], batch_size: int, *,
              log: Callable[[str], None] | None = None) -> StepsResult:
    """Translate this process's unfinished batches of every step (batch b of a step: process
    b % N), each stored before the next starts; then wait for every process and return every
    step's translations, all processes' together. Every process calls it with the same steps."""
    shard = store.shard
    cut = {s.key: cut_batches(s.order, batch_size) for s in steps}
    before = {s.key: store.load(s.key, cut[s.key]) for s in steps}
    shard.barrier()  # every process has counted what was done before any adds to it
    for s in steps:
        batches, finished = cut[s.key], before[s.key]
        label = s.label or s.key
        if log:
            log(f"{label}: {len(s.order)} sentences in {len(batches)} batches"
                + (f", {len(finished)} already done" if finished else ""))
        for b, batch in enumerate(batches):
            if b in finished or not shard.owns(b):
                continue
            texts = [s.inputs[i] for i in batch]
            outputs = s.translate(texts)
            if isinstance(outputs, str) or len(outputs) != len(texts) or not all(isinstance(t, str) for t in outputs):
                got = "a string" if isinstance(outputs, str) else f"{len(outputs)} results"
                raise DataError(f"translate returned {got} for {len(texts)} texts ({label}); expected one string "
                                f"per text")
            store.append(s.key, b, batch, outputs)
    shard.barrier()  # every process's batches are on disk
    done = {}
    for s in steps:
        batches = cut[s.key]
        stored = store.load(s.key, batches)
        missing = [b for b in range(len(batches)) if b not in stored]
        if missing:
            raise DataError(f"{store.dir}: step {s.key} lacks batch(es) {', '.join(map(str, missing[:10]))} after "
                            f"every process finished; delete {store.dir} and run `{store.command}` again")
        done[s.key] = {i: t for b, batch in enumerate(batches) for i, t in zip(batch, stored[b])}
    total = sum(len(c) for c in cut.values())
    resumed = sum(len(f) for f in before.values())
    return StepsResult(done, total - resumed, resumed)
