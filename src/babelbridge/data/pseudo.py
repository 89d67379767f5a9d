"""CrossLoRA's pseudo-parallel corpus, its stage 2 data (paper section 3.3 and appendix A.2).

Stage 1 trains on English-centric pairs only. Every non-pivot direction X -> Y then gets pairs
made by pivoting: source sentences in X that stage 1 did not train on are translated X -> pivot
(English), then pivot -> Y, both with the stage-1 bridge; the pairs (real X, generated Y) are
filtered by language identification and length ratio (data/pseudo_filters.py) and written with
the pivot translation as "pivot". Stage 2 trains on stage 1's data plus this file.

Steps: (a) X -> pivot for each X, once, shared by every Y; (b) pivot -> Y for each Y != X,
for the sources whose pivot is not empty; (c) the filters, per direction. Each step translates
longest input first in batches (similar lengths share a batch; an out-of-memory batch shows up
at the start), a pure function of the inputs, so a resumed run cuts the same batches.

Pure: the translation comes in as ``translate(texts, src_lang, tgt_lang) -> list[str]`` and the
language identifier as a LanguageIdentifier (the CLI passes a loaded bridge and
evaluate/langid.py, the identifier of the any-to-any evaluation); this module imports no bridge,
no torch, and nothing of evaluate (a later layer).

Progress lives in ``<out>.partial/`` (data/progress.py): args.json, and per process
``<X>-<pivot>.part-<rank>.jsonl`` per step (a), ``<X>-<pivot>-<Y>.part-<rank>.jsonl`` per step
(b), appended and fsynced batch by batch; a run killed at any batch continues with the batches
not finished (with any number of processes), one with other arguments is refused. Under
`accelerate launch` batch b of each step goes to process b % N (the shard passed in); every
process waits for all after steps (a), since (b) translates every X's pivots, and again after
(b); process 0 alone filters and writes. The filters run at the end over everything, so their settings are not part of
args.json (a resumed run may filter differently). OUT and OUT.report.json (the counts per
direction) are written atomically once everything is translated; then the partial dir goes.
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
from ..pairs import TranslationPair
from ..textio import atomic_output
from .bible import bible_version
from .errors import DataError
from .export import write_pairs
from .multiway import MultiwaySpec, build_multiway, language_code, language_list
from .progress import PartialStore, Step, run_steps
from .pseudo_filters import (
    DEFAULT_MAX_LENGTH_RATIO, DirectionCounts, LanguageIdentifier, PseudoPair, counts_table, filter_direction,
    identified_as_line, total_counts, unfiltered_languages,
)

PIVOT = "eng_Latn"
COMMAND = "data pseudo"
# The pseudo-corpus is training data: sources from a test split would put test sentences into stage 2.
TEST_SPLITS = {"bible": "test", "flores": "devtest"}
Translate = Callable[[list[str], str, str], list[str]]
Fits = Callable[[str], bool]  # whether the bridge takes a text as a source (max_source_tokens)


class LazyBridge:
    """translate(texts, src_lang, tgt_lang) and fits(text) with the bridge `load()` returns,
    loaded on first use (a resumed run whose batches are all done loads it only to count tokens)."""

    def __init__(self, load: Callable[[], Any], **generation):
        self._load, self._bridge, self.generation = load, None, generation

    def bridge(self):
        if self._bridge is None:
            self._bridge = self._load()
        return self._bridge

    def translate(self, texts: list[str], src_lang: str, tgt_lang: str) -> list[str]:
        return self.bridge().translate(texts, src_lang, tgt_lang, **self.generation)

    def fits(self, text: str) -> bool:
        bridge = self.bridge()
        return bridge.source_token_count(text) <= bridge.config.max_source_tokens


def check_languages(langs: Sequence[str], pivot: str = PIVOT, *, langs_name: str = "languages",
                    pivot_name: str = "pivot") -> tuple[str, tuple[str, ...]]:
    """(pivot, the other languages): normalised, each once. The pivot may be listed or left out."""
    pivot = language_code(pivot, pivot_name)
    others = [code for code in language_list(list(langs), langs_name, at_least=0) if code != pivot]
    if len(others) < 2:
        given = ", ".join(others) or "none"
        raise DataError(f"{langs_name}: a pseudo-corpus needs at least two languages besides the pivot {pivot} "
                        f"(its directions are X -> Y with X, Y != {pivot}); got {given}, e.g. "
                        f"{langs_name} deu_Latn,fra_Latn")
    return pivot, tuple(others)


def directions(langs: Sequence[str]) -> list[tuple[str, str]]:
    """Every ordered pair of the non-pivot languages, in their order."""
    return [(x, y) for x in langs for y in langs if x != y]


def read_held_out(corpus: Mapping[str, Any], langs: Sequence[str], pivot: str = PIVOT, *, skip: int = 0,
                  limit: int | None = None) -> dict[str, list[str]]:
    """Each language's source sentences from a multi-way corpus ({format: bible | flores, path,
    split}, as data.multiway takes it).

    A language's sentences are those of its X -> pivot direction as data.multiway reads it (the
    same order and alignment, empty sentences skipped): the first `skip` are left out (the ones
    a stage 1 trained with data.multiway's `limit: skip` on the same split saw), then at most
    `limit` are taken. A test split is refused.
    """
    for name, value, least in (("skip", skip, 0), ("limit", limit, 1)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise DataError(f"{name} must be an integer >= {least}, got {value!r}")
    if corpus.get("format") == "bible":  # the Bible's own message names the languages it has
        for lang in (pivot, *langs):
            bible_version(lang)
    spec = MultiwaySpec.from_dict({"corpus": dict(corpus), "langs": [pivot, *langs], "hubs": [pivot],
                                   "directions": [f"{x}-{pivot}" for x in langs],
                                   "limit": None if limit is None else skip + limit})
    if TEST_SPLITS.get(spec.corpus.format) == spec.corpus.split:
        raise DataError(f"{spec.corpus.format} split {spec.corpus.split!r} is the test split; the pseudo-corpus is "
                        f"training data, so its sources must not be test sentences; use another split "
                        f"(bible: train or dev; flores: dev)")
    sources = {}
    for d in build_multiway(spec).directions:
        texts = [p.src for p in d.pairs][skip:]
        if not texts:
            why = f"all {d.available} within the first {skip} skipped" if d.available else "none there"
            raise DataError(f"{d.src}: no source sentences in {spec.corpus.name} ({d.src} sentences aligned with "
                            f"{pivot}: {why})")
        sources[d.src] = texts
    return sources


@dataclass(frozen=True)
class PseudoPlan:
    """What a run translates: each non-pivot language's sources, in batches."""

    pivot: str
    langs: tuple[str, ...]  # the non-pivot languages: each a source and a target
    sources: Mapping[str, tuple[str, ...]]
    batch_size: int
    max_length_ratio: float

    @property
    def directions(self) -> list[tuple[str, str]]:
        return directions(self.langs)

    def source_order(self, lang: str) -> tuple[int, ...]:
        return _longest_first(self.sources[lang], range(len(self.sources[lang])))

    def inputs_sha256(self) -> str:
        rows = [[lang, list(self.sources[lang])] for lang in self.langs]
        return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode("utf-8")).hexdigest()


def _longest_first(texts: Sequence[str], indices) -> tuple[int, ...]:
    return tuple(sorted(indices, key=lambda i: (-len(texts[i]), i)))


def plan_pseudo(sources: Mapping[str, Sequence[str]], pivot: str = PIVOT, *, batch_size: int = 16,
                max_length_ratio: float = DEFAULT_MAX_LENGTH_RATIO) -> PseudoPlan:
    """Check everything before anything is translated. sources: {language: its sentences}, in the
    order the directions take (the pivot excluded)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise DataError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(max_length_ratio, bool) or not isinstance(max_length_ratio, (int, float)) \
            or not max_length_ratio > 1:
        raise DataError(f"max_length_ratio must be a number > 1 (pairs are kept within [1/R, R] of their "
                        f"direction's median), got {max_length_ratio!r}")
    pivot, langs = check_languages(list(sources), pivot)
    if len(langs) != len(sources):
        raise DataError(f"sources: {pivot} is the pivot; give the sentences of the other languages only")
    checked = {}
    for lang, value in zip(langs, sources.values()):
        texts = tuple(value)
        if not texts:
            raise DataError(f"sources: no sentences in {lang}")
        blank = [n for n, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
        if blank:
            raise DataError(f"sources: {len(blank)} empty sentence(s) in {lang}, the first at index {blank[0]}")
        checked[lang] = texts
    return PseudoPlan(pivot, langs, checked, batch_size, float(max_length_ratio))


def report_path(out: str | os.PathLike) -> Path:
    """Where the counts go: ``<out>.report.json`` next to the output."""
    out = Path(out)
    return out.with_name(out.name + ".report.json")


@dataclass(frozen=True)
class PseudoReport:
    plan: PseudoPlan
    identifier: str
    directions: tuple[DirectionCounts, ...]
    batches: int  # batches translated by this run (every process)
    resumed_batches: int  # batches found finished in the partial dir
    seconds: float
    out: Path

    @property
    def kept(self) -> int:
        return sum(d.kept for d in self.directions)

    def to_json(self) -> dict:
        return {"out": str(self.out), "pivot": self.plan.pivot, "langs": list(self.plan.langs),
                "sources": {lang: len(self.plan.sources[lang]) for lang in self.plan.langs},
                "identifier": self.identifier,
                "length_ratio": {"max": self.plan.max_length_ratio,
                                 "measure": "len(tgt) / len(src) in characters, divided by the direction's median"},
                "unfiltered_by_language_id": unfiltered_languages(self.directions),
                "directions": [d.to_json() for d in self.directions],
                "total": total_counts(self.directions)}

    def summary(self) -> str:
        lines = counts_table(self.directions)
        lines += [line for d in self.directions if (line := identified_as_line(d))]
        unfiltered = unfiltered_languages(self.directions)
        if unfiltered:
            lines.append(f"not filtered by language id ({self.identifier} cannot recognise them): "
                         f"{', '.join(unfiltered)}")
        resumed = f", {self.resumed_batches} batches resumed" if self.resumed_batches else ""
        lines.append(f"wrote {self.kept} pairs in {len(self.directions)} directions to {self.out} "
                     f"(counts: {report_path(self.out)}); {self.batches} batches translated{resumed} "
                     f"in {self.seconds:.1f}s")
        return "\n".join(lines)


def build_pseudo(plan: PseudoPlan, translate: Translate, identifier: LanguageIdentifier, out: str | os.PathLike,
                 *, fits: Fits | None = None, arguments: Mapping[str, Any] | None = None,
                 log: Callable[[str], None] | None = None, shard: Shard = Shard()) -> PseudoReport:
    """Translate what is not yet translated (steps a and b), filter, write OUT and its report.

    arguments: what else decides the translations (corpus, bridge, generation options); stored
    with the plan's languages, batch size and input hash in args.json and compared on resume.
    fits: whether the bridge takes a text as its source; a source (step a) or a pivot (step b) it
    does not take is not translated and counts as over-long (a bridge refuses an over-long source,
    and cutting it would pair a whole source with the translation of part of it). None: all fit.
    shard: this process's share (batch b of each step: process b % N); every process calls
    this, process 0 filters and writes (the report it returns is the same on every process).
    The output lines are {"src", "tgt", "src_lang", "tgt_lang", "pivot", "pivot_lang"}, direction
    by direction (plan.directions), each direction's kept pairs in source order.
    """
    start = time.monotonic()
    out = Path(out)
    if out.is_dir():
        raise DataError(f"output {out} is a directory; give a file path")
    store = PartialStore(out, COMMAND, shard)
    full_arguments = {**(arguments or {}), "pivot": plan.pivot, "langs": list(plan.langs),
                      "batch_size": plan.batch_size, "inputs": {lang: len(plan.sources[lang]) for lang in plan.langs},
                      "inputs_sha256": plan.inputs_sha256()}
    if store.open(full_arguments) and log:
        log(f"resuming from {store.dir}")
    pivot = plan.pivot
    fits = fits or (lambda text: True)
    over_long = {x: {i for i, text in enumerate(plan.sources[x]) if not fits(text)} for x in plan.langs}

    def step(key: str, label: str, order: Sequence[int], inputs: Sequence[str], src: str, tgt: str) -> Step:
        return Step(key, order, inputs, lambda texts: translate(texts, src, tgt), label)

    # (a) X -> pivot, once per X
    first = run_steps(store, [step(f"{x}-{pivot}", f"{x} -> {pivot}",
                                   [i for i in plan.source_order(x) if i not in over_long[x]], plan.sources[x], x,
                                   pivot) for x in plan.langs], plan.batch_size, log=log)
    pivots = {x: [first.done[f"{x}-{pivot}"].get(i, "") for i in range(len(plan.sources[x]))] for x in plan.langs}
    for x in plan.langs:
        over_long[x] |= {i for i, t in enumerate(pivots[x]) if t.strip() and not fits(t)}
    # (b) pivot -> Y, for the sources whose pivot is not empty (every process has every pivot)
    orders = {x: _longest_first(pivots[x], (i for i, t in enumerate(pivots[x]) if t.strip() and i not in over_long[x]))
              for x in plan.langs}
    second = run_steps(store, [step(f"{x}-{pivot}-{y}", f"{x} -> {pivot} -> {y}", orders[x], pivots[x], pivot, y)
                               for x in plan.langs if orders[x] for y in plan.langs if y != x],
                       plan.batch_size, log=log)
    outputs = {(x, y): second.done.get(f"{x}-{pivot}-{y}", {}) for x, y in plan.directions}

    pairs, counts = [], []  # (c) the filters
    for x, y in plan.directions:
        candidates = [PseudoPair(src, pivots[x][i], outputs[x, y].get(i, ""), over_long=i in over_long[x])
                      for i, src in enumerate(plan.sources[x])]
        kept, direction = filter_direction(x, y, candidates, identifier, plan.max_length_ratio)
        counts.append(direction)
        pairs += [TranslationPair(candidates[i].src, candidates[i].tgt, x, y, pivot=candidates[i].pivot,
                                  pivot_lang=pivot) for i in kept]
    report = PseudoReport(plan, identifier.name, tuple(counts), first.ran + second.ran,
                          first.resumed + second.resumed, time.monotonic() - start, out)

    def write() -> None:
        write_pairs(pairs, out, "jsonl", pivot_lang=pivot)
        with atomic_output(report_path(out)) as f:
            f.write(json.dumps(report.to_json(), ensure_ascii=False, indent=1) + "\n")

    store.finish(write)
    return report
