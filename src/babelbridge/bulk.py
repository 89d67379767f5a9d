"""Bulk work over a big input: read in chunks, resumable after a kill, shared between processes,
the output written at once and in input order.

A run cuts its input into chunks of `chunk_size` items (lines), read lazily: memory holds one
chunk and its output, whatever the input's size. Chunk k is done by process k % world (a
`Shard`; one process: all of them). Each finished chunk's output lines are appended to
``<out>.partial/part-<rank>.jsonl`` as one line ``{"chunk": k, "lines": [...]}``, flushed and
fsynced before the next chunk starts. ``<out>.partial/state.json`` holds what decides the
output (the caller's arguments, the input's identity, the chunk size); a run whose state
differs is refused, naming what differs, so translations of two commands never mix.

Started again after a kill, a run reads every part file (so the number of processes may
change), cuts off a torn last line of its own, and does only the chunks not finished. When
every process is done (a barrier), process 0 writes ``<out>`` (temporary file + os.replace,
textio.atomic_output) chunk by chunk in input order and removes ``<out>.partial/``; a kill
between the two leaves a partial dir whose every chunk is done, and the next run only writes
the file again. So after any number of kills the output has each chunk exactly once.

Pure Python (no torch, no bridge): the caller passes the work in, and the barrier of its
process group (accelerate's PartialState.wait_for_everyone) in the Shard.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from .errors import InputError
from .textio import atomic_output

STATE_FILE = "state.json"
FORMAT_VERSION = 1
T = TypeVar("T")


def partial_dir(out: str | os.PathLike) -> Path:
    """Where the progress of a run writing `out` is kept: ``<out>.partial/`` next to it."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of `size` items (the last one shorter), taking from `items` only as each is needed."""
    if size < 1:
        raise ValueError(f"chunk size must be positive, got {size}")
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Shard:
    """This process's share: chunk k belongs to process k % world. barrier: returns once every
    process has called it (PartialState().wait_for_everyone); nothing to wait for alone."""

    rank: int = 0
    world: int = 1
    barrier: Callable[[], None] = field(default=_nothing, compare=False)

    def __post_init__(self):
        if self.world < 1 or not 0 <= self.rank < self.world:
            raise ValueError(f"process {self.rank} of {self.world}: need 0 <= rank < world")

    def owns(self, chunk: int) -> bool:
        return chunk % self.world == self.rank


def _canonical(obj: Any) -> Any:
    return json.loads(json.dumps(obj, sort_keys=True, ensure_ascii=False))


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict) and obj:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            out.update(_flat(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: obj}


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` survive a power cut (where the OS allows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class BulkRun:
    """One resumable, shardable run writing `out`; see the module docstring.

        run = BulkRun(out, state, chunk_size, shard)
        run.open()
        for k, items in run.chunks(lines):
            run.save(k, work(items))
        run.finish()
    """

    def __init__(self, out: str | os.PathLike, state: Mapping[str, Any], chunk_size: int, shard: Shard = Shard(),
                 *, command: str = "this command"):
        if chunk_size < 1:
            raise ValueError(f"chunk size must be positive, got {chunk_size}")
        self.out = Path(out)
        self.dir = partial_dir(out)
        self.chunk_size = chunk_size
        self.shard = shard
        self.command = command  # names the run in messages, e.g. "babelbridge translate"
        self.state = _canonical({"format_version": FORMAT_VERSION, **state, "chunk_size": chunk_size})
        self.done: set[int] = set()  # chunks finished before this run (any process)
        self.ran = 0  # chunks this process finished
        self.n_chunks: int | None = None  # known once chunks() has read the whole input

    @property
    def part(self) -> Path:
        return self.dir / f"part-{self.shard.rank}.jsonl"

    # ---- start or resume ----------------------------------------------------------------------

    def open(self) -> set[int]:
        """Start (process 0 creates the partial dir) or resume (same state); every process calls
        it. Returns the chunks finished before, by any process."""
        self.check()  # every process: a mismatch fails everywhere alike, before the barrier
        if self.shard.rank == 0 and not self.dir.exists():
            self._create()
        self.shard.barrier()
        if not (self.dir / STATE_FILE).is_file():
            raise InputError(f"{self.dir} disappeared while {self.command} started; run it again")
        self.check()
        self.done = set()
        for path in sorted(self.dir.glob("part-*.jsonl")):
            index, good = self._scan(path)
            if path == self.part and good < path.stat().st_size:
                # A torn last write (killed mid-chunk): cut it off; that chunk is done again.
                with open(path, "r+b") as f:
                    f.truncate(good)
                    f.flush()
                    os.fsync(f.fileno())
            self.done.update(index)
        return set(self.done)

    def check(self) -> None:
        """A partial dir left by another run (other state) is an error saying what differs;
        none, or one of this run: nothing. Changes nothing (call it before loading a model)."""
        if not self.dir.exists():
            return
        where = self.dir / STATE_FILE
        if not self.dir.is_dir():
            raise InputError(f"{self.dir} exists and is not a directory; move it away")
        try:
            stored = json.loads(where.read_text(encoding="utf-8"))
            if not isinstance(stored, dict):
                raise ValueError
        except (OSError, ValueError):
            raise InputError(f"{self.dir} has no readable {STATE_FILE}, so it is not the progress of "
                             f"{self.command}; delete it to start over") from None
        if stored != self.state:
            before, now = _flat(stored), _flat(self.state)
            shown = lambda values, k: _short(values[k]) if k in values else "absent"  # noqa: E731
            differ = [f"{k}: {shown(before, k)} before, {shown(now, k)} now" for k in sorted(set(before) | set(now))
                      if k not in before or k not in now or before[k] != now[k]]
            raise InputError(f"{self.dir} holds the progress of {self.command} with other arguments or another "
                             f"input ({'; '.join(differ)}); run the same command on the same input to resume, or "
                             f"delete {self.dir} to start over")

    def _create(self) -> None:
        # The dir appears with its state.json in it (rename), so no process ever sees one without.
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.dir.name}.", dir=self.dir.parent))
        try:
            with atomic_output(tmp / STATE_FILE) as f:
                f.write(json.dumps(self.state, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
            os.rename(tmp, self.dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _fsync_dir(self.dir.parent)

    @staticmethod
    def _scan(path: Path) -> tuple[dict[int, tuple[int, int]], int]:
        """A part file's complete records: chunk -> (offset, length), and where they end."""
        index: dict[int, tuple[int, int]] = {}
        offset = 0
        with open(path, "rb") as f:
            for raw in f:
                if not raw.endswith(b"\n"):
                    break  # the last write was cut short
                try:
                    record = json.loads(raw)
                    chunk, lines = record["chunk"], record["lines"]
                except (ValueError, KeyError, TypeError):
                    break
                if not isinstance(chunk, int) or chunk < 0 or not isinstance(lines, list):
                    break
                index.setdefault(chunk, (offset, len(raw)))
                offset += len(raw)
        return index, offset

    # ---- the work -----------------------------------------------------------------------------

    def chunks(self, items: Iterable[T]) -> Iterator[tuple[int, list[T]]]:
        """(k, items of chunk k) for this process's unfinished chunks, read as they are needed.
        Reading to the end sets n_chunks (other chunks are read past, not kept)."""
        n = 0
        for k, chunk in enumerate(chunked(items, self.chunk_size)):
            n = k + 1
            if self.shard.owns(k) and k not in self.done:
                yield k, chunk
        self.n_chunks = n

    def save(self, chunk: int, lines: Sequence[str]) -> None:
        """Chunk `chunk`'s output lines, on disk before this returns."""
        lines = list(lines)
        if any(not isinstance(line, str) or "\n" in line or "\r" in line for line in lines):
            raise ValueError(f"chunk {chunk}: output lines must be strings without line breaks")
        record = json.dumps({"chunk": chunk, "lines": lines}, ensure_ascii=False) + "\n"
        with open(self.part, "a", encoding="utf-8", newline="\n") as f:
            f.write(record)
            f.flush()
            os.fsync(f.fileno())
        self.ran += 1

    def finish(self) -> bool:
        """Wait for every process; process 0 writes `out` in chunk order and removes the partial
        dir. True on the process that wrote it."""
        if self.n_chunks is None:
            raise RuntimeError("finish() before chunks() has read the whole input")
        self.shard.barrier()
        wrote = self.shard.rank == 0
        if wrote:
            self._merge(self.n_chunks)
        self.shard.barrier()  # every process returns once the output is there
        return wrote

    def _merge(self, n_chunks: int) -> None:
        where: dict[int, tuple[Path, int, int]] = {}
        for path in sorted(self.dir.glob("part-*.jsonl")):
            index, _ = self._scan(path)
            for chunk, (offset, length) in index.items():
                where.setdefault(chunk, (path, offset, length))
        missing = [k for k in range(n_chunks) if k not in where]
        extra = sorted(k for k in where if k >= n_chunks)
        if missing or extra:
            raise InputError(f"{self.dir}: chunk(s) {', '.join(map(str, (missing or extra)[:10]))} "
                             f"{'missing' if missing else 'beyond the input'} after every process finished; "
                             f"delete {self.dir} and run {self.command} again")
        files: dict[Path, Any] = {}
        try:
            with atomic_output(self.out) as out:
                for k in range(n_chunks):
                    path, offset, length = where[k]
                    f = files.get(path) or files.setdefault(path, open(path, "rb"))
                    f.seek(offset)
                    for line in json.loads(f.read(length))["lines"]:
                        out.write(line + "\n")
        finally:
            for f in files.values():
                f.close()
        shutil.rmtree(self.dir)
