"""x-en-y triples from English-centric pairs: the English side translated into other languages.

XBridge trains on triples (source x, its English, the same sentence in a third language y).
Where no multi-way corpus exists, they are made from x-English pairs by translating the English
into each y with a bridge (the paper used NLLB-3.3B). This module is the pure part: which
texts to translate, in which batches, the resumable progress on disk, and the final file. The
translation itself comes in as a callable ``translate(texts, tgt_lang) -> list[str]`` (the CLI
wraps a loaded bridge), so the data layer imports no bridge and no torch.

Progress lives in ``<out>.partial/`` (data/progress.py): ``args.json`` (everything that decides
the output: corpus, bridge, languages, generation, batch size, a hash of the inputs) and one
``<tgt_lang>.part-<rank>.jsonl`` per language and process, appended batch by batch. A run with
the same arguments continues with the batches not finished (a torn last write is cut off and
that batch redone); one with other arguments is refused. Under `accelerate launch` batch b of
each language goes to process b % N (the shard passed in); once every process is done, process
0 writes the final file at once (write_pairs: temporary file + os.replace), then the partial
dir goes.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..bulk import Shard
from ..languages import UnknownLanguageError, normalize_language
from ..pairs import TranslationPair
from .errors import DataError
from .export import write_pairs
from .progress import PartialStore, Step, cut_batches, run_steps

ENGLISH = "eng_Latn"
Translate = Callable[[list[str], str], list[str]]


@dataclass(frozen=True)
class Source:
    """One input pair seen from English: x (text, language) and its English."""

    text: str
    lang: str
    english: str


@dataclass(frozen=True)
class TriplePlan:
    """What a run translates: the sources, the target languages, and per language the inputs
    to translate (longest English first: batches of similar length), cut into batches."""

    sources: tuple[Source, ...]
    tgt_langs: tuple[str, ...]
    batch_size: int
    work: Mapping[str, tuple[int, ...]]  # tgt_lang -> input indices, in translation order

    def batches(self, lang: str) -> list[tuple[int, ...]]:
        return cut_batches(self.work[lang], self.batch_size)

    @property
    def triples(self) -> int:
        return sum(len(w) for w in self.work.values())

    def inputs_sha256(self) -> str:
        rows = [[s.text, s.lang, s.english] for s in self.sources]
        return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode("utf-8")).hexdigest()


def english_sides(pairs: Sequence[TranslationPair]) -> list[Source]:
    """Each pair as (x, English): the English side is whichever side is eng_Latn."""
    out = []
    for n, p in enumerate(pairs, 1):
        if p.src_lang == ENGLISH and p.tgt_lang == ENGLISH:
            raise DataError(f"pair {n}: both sides are {ENGLISH}; triples need an English side and one in "
                            f"another language")
        if p.tgt_lang == ENGLISH:
            x, lang, english = p.src, p.src_lang, p.tgt
        elif p.src_lang == ENGLISH:
            x, lang, english = p.tgt, p.tgt_lang, p.src
        else:
            raise DataError(f"pair {n} ({p.src_lang} -> {p.tgt_lang}): neither side is English ({ENGLISH}); "
                            f"triples are made by translating a pair's English side")
        for side, text in (("English", english), (lang, x)):
            if not isinstance(text, str) or not text.strip():
                raise DataError(f"pair {n}: empty {side} sentence")
        out.append(Source(x, lang, english))
    return out


def check_tgt_langs(tgt_langs: Sequence[str]) -> tuple[str, ...]:
    """Normalised, each once, not English."""
    langs: list[str] = []
    for code in tgt_langs:
        try:
            lang = normalize_language(code)
        except UnknownLanguageError as err:
            raise DataError(f"target language: {err}") from None
        if lang == ENGLISH:
            raise DataError(f"target languages: {ENGLISH} is the pivot; give the third languages (y) only")
        if lang in langs:
            raise DataError(f"target languages: {lang} is given twice")
        langs.append(lang)
    if not langs:
        raise DataError("no target language; give at least one (e.g. fra_Latn)")
    return tuple(langs)


def plan_triples(pairs: Sequence[TranslationPair], tgt_langs: Sequence[str], batch_size: int) -> TriplePlan:
    """Check everything and decide the batches, before anything is translated.

    Each pair gets one triple per target language y other than its own x.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise DataError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not pairs:
        raise DataError("no pairs to make triples from")
    sources = english_sides(pairs)
    langs = check_tgt_langs(tgt_langs)
    # Longest English first (as Bridge.translate sorts): similar lengths share a batch, and an
    # out-of-memory batch shows up at the start. A pure function of the inputs: a resumed run
    # cuts the same batches.
    by_length = sorted(range(len(sources)), key=lambda i: (-len(sources[i].english), i))
    work = {y: tuple(i for i in by_length if sources[i].lang != y) for y in langs}
    plan = TriplePlan(tuple(sources), langs, batch_size, work)
    if plan.triples == 0:
        raise DataError(f"nothing to translate: every pair's language is among the target languages "
                        f"({', '.join(langs)})")
    return plan


# ---- the run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrilingualReport:
    pairs: int
    triples: int
    tgt_langs: tuple[str, ...]
    batches: int  # batches translated by this run (every process)
    resumed_batches: int  # batches found finished in the partial dir
    empty: int  # translations that came back empty (written as they are; readers skip them)
    seconds: float
    out: Path

    def summary(self) -> str:
        resumed = f", {self.resumed_batches} batches resumed" if self.resumed_batches else ""
        empty = (f"; {self.empty} translation(s) came back empty (written; readers skip empty pairs)"
                 if self.empty else "")
        return (f"wrote {self.triples} triples from {self.pairs} pairs into {len(self.tgt_langs)} languages "
                f"({', '.join(self.tgt_langs)}) to {self.out}; {self.batches} batches translated{resumed} "
                f"in {self.seconds:.1f}s{empty}")


def build_triples(plan: TriplePlan, translate: Translate, out: str | os.PathLike, *,
                  arguments: Mapping[str, Any] | None = None, log: Callable[[str], None] | None = None,
                  shard: Shard = Shard()) -> TrilingualReport:
    """Translate what is not yet translated, one language at a time, then write the triples.

    arguments: what else decides the output (corpus, bridge, generation options); stored with
    the plan's languages, batch size and input hash in args.json and compared on resume.
    shard: this process's share (batch b of each language: process b % N); every process calls
    this, process 0 writes. The output lines are {"src": x, "tgt": y, "src_lang", "tgt_lang",
    "pivot": English, "pivot_lang": "eng_Latn"}, pair by pair, each pair's languages in the
    plan's order.
    """
    start = time.monotonic()
    out = Path(out)
    if out.is_dir():
        raise DataError(f"output {out} is a directory; give a file path")
    store = PartialStore(out, "data trilingual", shard)
    full_arguments = {**(arguments or {}), "tgt_langs": list(plan.tgt_langs), "batch_size": plan.batch_size,
                      "inputs": len(plan.sources), "inputs_sha256": plan.inputs_sha256()}
    resuming = store.open(full_arguments)
    if resuming and log:
        log(f"resuming from {store.dir}")
    english = [s.english for s in plan.sources]
    steps = [Step(lang, plan.work[lang], english, lambda texts, lang=lang: translate(texts, lang))
             for lang in plan.tgt_langs]
    result = run_steps(store, steps, plan.batch_size, log=log)
    done = result.done
    triples = [TranslationPair(s.text, done[y][i], s.lang, y, pivot=s.english, pivot_lang=ENGLISH)
               for i, s in enumerate(plan.sources) for y in plan.tgt_langs if s.lang != y]
    store.finish(lambda: write_pairs(triples, out, "jsonl", pivot_lang=ENGLISH))
    empty = sum(not t.tgt.strip() for t in triples)
    return TrilingualReport(len(plan.sources), len(triples), plan.tgt_langs, result.ran, result.resumed, empty,
                            time.monotonic() - start, out)
