"""Resumable batch translation for the data commands that translate with a bridge (`data
trilingual`, `data pseudo`): progress kept in ``<out>.partial/`` (bulk.partial_dir).

``args.json`` holds everything that decides the stored translations; a run with the same
arguments resumes, one with others is refused, naming each difference. Each translation step
(a key such as ``fra_Latn`` or ``deu_Latn-eng_Latn``) has one ``<key>.jsonl``, appended batch by
batch (flush + fsync), each line ``{"i": input index, "tgt": translation}``. A resumed step keeps
its complete batches only: a torn last write, or a batch cut short, is cut off and redone, so
nothing is translated twice into the file and nothing is lost.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..bulk import partial_dir
from ..textio import atomic_output
from .errors import DataError

ARGS_FILE = "args.json"


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
    """``<out>.partial/``: the arguments of the run and the finished batches per step.

    command: the run's name in messages (e.g. "data trilingual").
    """

    def __init__(self, out: str | os.PathLike, command: str = "data trilingual"):
        self.dir = partial_dir(out)
        self.command = command

    def exists(self) -> bool:
        return self.dir.exists()

    def open(self, arguments: Mapping[str, Any]) -> bool:
        """Start (write args.json) or resume (same arguments) a run; True when resuming.

        A partial dir made with other arguments is refused: its translations belong to another run.
        """
        arguments = _canonical(dict(arguments))
        args_path = self.dir / ARGS_FILE
        if self.dir.is_dir() and not args_path.exists() and all(p.name.startswith(".") for p in self.dir.iterdir()):
            shutil.rmtree(self.dir)  # a run stopped before its args.json was in place: nothing to keep
        if self.dir.exists():
            if not self.dir.is_dir():
                raise DataError(f"{self.dir} exists and is not a directory; move it away")
            try:
                stored = json.loads(args_path.read_text(encoding="utf-8"))
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
        self.dir.mkdir(parents=True)
        with atomic_output(args_path) as f:
            f.write(json.dumps(arguments, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
        return False

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.jsonl"

    def load(self, key: str, order: Sequence[int], batch_size: int) -> dict[int, str]:
        """The finished translations of step `key` (complete batches only), by input index.

        What follows the last complete batch (a torn write, a batch cut short) is cut off the
        file, so that batch is translated again and appended once.
        """
        path = self.path(key)
        if not path.exists():
            return {}
        data = path.read_bytes()
        entries: list[tuple[int, str]] = []
        ends: list[int] = []  # byte offset after each good line
        pos = 0
        for raw in data.split(b"\n")[:-1]:  # the last piece has no newline: unfinished
            pos += len(raw) + 1
            try:
                obj = json.loads(raw)
                i, text = obj["i"], obj["tgt"]
            except (ValueError, KeyError, TypeError):
                break  # a torn write: the rest is redone
            if not isinstance(i, int) or not isinstance(text, str):
                break
            n = len(entries)
            if n >= len(order) or order[n] != i:
                expected = order[n] if n < len(order) else "nothing"
                raise DataError(f"{path}:{n + 1}: holds input {i} where this run expects {expected}; the "
                                f"partial file does not belong to this run; delete {self.dir} to start over")
            entries.append((i, text))
            ends.append(pos)
        complete = len(entries) if len(entries) == len(order) else len(entries) // batch_size * batch_size
        keep = ends[complete - 1] if complete else 0
        if keep != len(data):
            with open(path, "r+b") as f:
                f.truncate(keep)
                f.flush()
                os.fsync(f.fileno())
        return dict(entries[:complete])

    def append(self, key: str, indices: Sequence[int], texts: Sequence[str]) -> None:
        """One finished batch, on disk before this returns."""
        lines = "".join(json.dumps({"i": i, "tgt": t}, ensure_ascii=False) + "\n" for i, t in zip(indices, texts))
        with open(self.path(key), "a", encoding="utf-8", newline="\n") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())

    def remove(self) -> None:
        shutil.rmtree(self.dir)


@dataclass(frozen=True)
class StepResult:
    done: dict[int, str]  # input index -> translation, every input of the step
    ran: int  # batches translated by this run
    resumed: int  # batches found finished in the partial dir


def run_step(store: PartialStore, key: str, order: Sequence[int], batch_size: int, inputs: Sequence[str],
             translate: Callable[[list[str]], list[str]], *, label: str | None = None,
             log: Callable[[str], None] | None = None) -> StepResult:
    """Translate inputs[i] for every i of `order` (in that order, batch by batch) that the partial
    dir does not hold yet; each batch is stored before the next starts."""
    label = label or key
    finished = store.load(key, order, batch_size)
    batches = cut_batches(order, batch_size)
    left = [b for b in batches if b[0] not in finished]
    if log:
        log(f"{label}: {len(order)} sentences in {len(batches)} batches"
            + (f", {len(batches) - len(left)} already done" if len(left) < len(batches) else ""))
    for batch in left:
        texts = [inputs[i] for i in batch]
        outputs = translate(texts)
        if isinstance(outputs, str) or len(outputs) != len(texts) or not all(isinstance(t, str) for t in outputs):
            got = "a string" if isinstance(outputs, str) else f"{len(outputs)} results"
            raise DataError(f"translate returned {got} for {len(texts)} texts ({label}); expected one string "
                            f"per text")
        store.append(key, batch, outputs)
        finished.update(zip(batch, outputs))
    return StepResult(finished, len(left), len(batches) - len(left))
