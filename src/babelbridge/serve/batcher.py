"""The dynamic batcher: one worker thread owns the model, requests wait in a queue.

torch's generate is not re-entrant, and one batched call is much cheaper than many single
ones, so every request goes through one worker. The worker takes the oldest request, waits up
to `window_ms` for more (stopping early at `max_batch_size` texts or `max_batch_tokens`
source tokens), groups what it got by GroupKey (source language, target languages, options)
and makes one engine call per group. Each caller gets exactly its own texts back, in order.

Isolation: each request is measured (tokenised, checked against the source limit) on its
own before it joins a batch, so a bad request fails alone; an exception in a group's call
fails only that group's requests.

The engine is anything with `measure(texts, src_lang) -> source tokens` and
`run(texts, key) -> translations` (engine.py wraps a Bridge), so this file knows no torch.
A translation is a string when the key has one target language, a {language: text} dict when
it has several.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

from .errors import overloaded, shutting_down
from .limits import BatchConfig
from .metrics import Metrics

log = logging.getLogger("babelbridge.serve")


@dataclass(frozen=True)
class GroupKey:
    """Requests run in one call only when all of these agree.

    tgt_langs is a tuple of target languages: a "target_lang" request has a 1-tuple (a plain
    string given here becomes one), a "target_langs" request the tuple of its languages, and
    only requests asking for the same tuple share a call.
    """

    src_lang: str
    tgt_langs: tuple[str, ...]
    num_beams: int
    max_new_tokens: int

    def __post_init__(self) -> None:
        langs = (self.tgt_langs,) if isinstance(self.tgt_langs, str) else tuple(self.tgt_langs)
        if not langs:
            raise ValueError("a GroupKey needs at least one target language")
        object.__setattr__(self, "tgt_langs", langs)

    @property
    def tgt_lang(self) -> str:
        """The target language of a single-language key."""
        if len(self.tgt_langs) != 1:
            raise ValueError(f"this key has {len(self.tgt_langs)} target languages: read tgt_langs")
        return self.tgt_langs[0]


@dataclass(frozen=True)
class Done:
    translations: list  # per text: a string (one target language) or {language: text} (several)
    source_tokens: int


class Engine(Protocol):
    def measure(self, texts: list[str], src_lang: str) -> int: ...

    def run(self, texts: list[str], key: GroupKey) -> list: ...


@dataclass
class _Pending:
    texts: list[str]
    key: GroupKey
    future: Future = field(default_factory=Future)
    queued_at: float = field(default_factory=time.perf_counter)
    tokens: int = 0


_STOP = object()  # queued by close(): everything accepted before it is still served


class Batcher:
    def __init__(self, engine: Engine, config: BatchConfig | None = None, *, max_queue: int = 1024,
                 metrics: Metrics | None = None):
        self.engine = engine
        self.config = config or BatchConfig()
        self.max_queue = max_queue
        self.metrics = metrics or Metrics()
        self._queue: queue.Queue = queue.Queue()  # unbounded so _STOP always fits; max_queue is ours
        self._lock = threading.Lock()
        self._closing = False
        self._thread = threading.Thread(target=self._work, name="babelbridge-model-worker", daemon=True)

    # ---- client side (any thread) ----------------------------------------------------------------
    def start(self) -> "Batcher":
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._closing

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def submit(self, texts: list[str], key: GroupKey) -> Future:
        """Queue one request; its Future resolves to Done or to the exception that failed it."""
        pending = _Pending(list(texts), key)
        with self._lock:  # so that nothing slips in behind _STOP
            if self._closing:
                raise shutting_down()
            depth = self._queue.qsize()
            if depth >= self.max_queue:
                raise overloaded(depth)
            self._queue.put(pending)
        return pending.future

    async def translate(self, texts: list[str], key: GroupKey) -> Done:
        return await asyncio.wrap_future(self.submit(texts, key))

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting, finish every request already queued, then stop the worker."""
        with self._lock:
            if not self._closing:
                self._closing = True
                self._queue.put(_STOP)
        if self._thread.is_alive():
            self._thread.join(timeout)

    # ---- the worker ---------------------------------------------------------------------------------
    def _work(self) -> None:
        carry: _Pending | None = None  # admitted, but did not fit the previous batch
        stopping = False
        while not stopping:
            batch: list[_Pending] = []
            if carry is not None:
                batch, carry = [carry], None
            else:
                item = self._queue.get()
                if item is _STOP:
                    return
                if self._admit(item):
                    batch.append(item)
            texts, tokens = sum(len(p.texts) for p in batch), sum(p.tokens for p in batch)
            deadline = time.monotonic() + self.config.window_ms / 1000
            while texts < self.config.max_batch_size and tokens < self.config.max_batch_tokens:
                wait = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                if not self._admit(item):
                    continue
                if batch and (texts + len(item.texts) > self.config.max_batch_size
                              or tokens + item.tokens > self.config.max_batch_tokens):
                    carry = item
                    break
                batch.append(item)
                texts, tokens = texts + len(item.texts), tokens + item.tokens
            try:
                self._execute(batch)
            except Exception as err:  # a bug here must neither hang the callers nor end the worker
                log.exception("batch failed outside generation")
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(err)

    def _admit(self, item: _Pending) -> bool:
        """Claim a queued request (False if its caller gave up) and measure it on its own."""
        if not item.future.set_running_or_notify_cancel():
            return False
        try:
            item.tokens = self.engine.measure(item.texts, item.key.src_lang)
        except Exception as err:  # this request only: it never joins a batch
            item.future.set_exception(err)
            return False
        return True

    def _execute(self, batch: list[_Pending]) -> None:
        groups: dict[GroupKey, list[_Pending]] = {}
        for item in batch:
            groups.setdefault(item.key, []).append(item)
        for key, items in groups.items():
            texts = [t for item in items for t in item.texts]
            started = time.perf_counter()
            try:
                outputs = self.engine.run(texts, key)
                if len(outputs) != len(texts):
                    raise RuntimeError(f"the engine returned {len(outputs)} translations for {len(texts)} texts")
            except Exception as err:
                log.exception("generation failed for %d request(s) with %s", len(items), key)
                outputs, failure = None, err
            else:
                failure = None
            # Metrics first, then the callers: a caller that reads /metrics after its answer
            # must see its own batch counted.
            self.metrics.record_batch(len(texts), len(items), sum(i.tokens for i in items),
                                      [started - i.queued_at for i in items], failure is None)
            start = 0
            for item in items:
                if failure is not None:
                    item.future.set_exception(failure)
                    continue
                end = start + len(item.texts)
                item.future.set_result(Done(list(outputs[start:end]), item.tokens))
                start = end
