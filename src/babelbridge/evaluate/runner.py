"""Run an evaluation: translate every test set with every system (through the cache), score
the translations, and build the report.

A System is anything with Bridge.translate, named by a label: a checkpoint directory (loaded
only when a translation is not cached, released after its last test set) or a bridge already
in memory. Test sets come from testsets.py, so any corpus the data layer reads can be one.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ..errors import InputError
from .cache import TranslationCache, bridge_identity, checkpoint_identity
from .comet import CometScorer
from .floor import derangement_shift, deranged
from .metrics import SACREBLEU_METRICS, corpus_score, sacrebleu_metric, signature
from .report import Cell, Report, build_report
from .significance import DEFAULT_SAMPLES, paired_bootstrap
from .testsets import TestSet

DEFAULT_GENERATION = {"num_beams": 1, "max_new_tokens": 256, "truncate": False}
CHUNK_BATCHES = 8  # sentences per translate call = CHUNK_BATCHES * batch_size (progress steps)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class System:
    """A labelled bridge: its identity (the cache key's part) and how to get it.

    pmp: None, or LMT's PMP mode the bridge translates with ("oracle" | "self", evaluate/pmp.py);
    the same bridge evaluated plain and with PMP is two systems with two labels."""

    def __init__(self, label: str, identity: dict, loader: Callable[[], object], *, owned: bool = True,
                 pmp: str | None = None):
        from .pmp import check_mode

        self.pmp = check_mode(pmp, f"system {label}")
        self.label, self.identity, self._loader, self._owned = label, identity, loader, owned
        if pmp is not None:
            self.identity = {**identity, "pmp": pmp}
        self._bridge = None

    @classmethod
    def from_checkpoint(cls, label: str, path: str | os.PathLike, *, device: str = "cpu",
                        dtype: str = "float32", pmp: str | None = None) -> System:
        def load():
            from .. import bridges  # looked up at call time: one load path for every tool

            return bridges.load_bridge(Path(path), device=device, dtype=dtype)

        return cls(label, {**checkpoint_identity(path), "dtype": dtype}, load, pmp=pmp)

    @classmethod
    def from_bridge(cls, label: str, bridge, *, pmp: str | None = None) -> System:
        return cls(label, bridge_identity(bridge), lambda: bridge, owned=False, pmp=pmp)

    @property
    def loaded(self) -> bool:
        return self._bridge is not None

    def bridge(self):
        if self._bridge is None:
            self._bridge = self._loader()
        return self._bridge

    def release(self) -> None:
        """Free a bridge this System loaded (a bridge handed in stays the caller's)."""
        if self._owned and self._bridge is not None:
            self._bridge = None
            gc.collect()
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()


@dataclass
class Evaluation:
    report: Report
    testsets: list[TestSet]
    hypotheses: dict[str, dict[str, list[str]]]  # system -> test set name -> one per segment
    signatures: dict[str, str] = field(default_factory=dict)  # metric -> sacrebleu signature
    translation: dict[str, dict[str, dict]] = field(default_factory=dict)  # how each was obtained
    comet: dict | None = None

    def segments(self) -> dict:
        return {ts.name: {"src_lang": ts.src_lang, "tgt_lang": ts.tgt_lang, "origin": ts.origin,
                          "sources": list(ts.sources), "references": list(ts.references),
                          "hypotheses": {s: self.hypotheses[s][ts.name] for s in self.hypotheses}}
                for ts in self.testsets}


def _check_names(systems: Sequence[System], testsets: Sequence[TestSet]) -> None:
    for what, names in (("system label", [s.label for s in systems]), ("test set name", [t.name for t in testsets])):
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InputError(f"duplicate {what}(s): {', '.join(dupes)}; each must be unique")
    if not systems or not testsets:
        raise InputError("an evaluation needs at least one system and one test set")


def translate_all(systems: Sequence[System], testsets: Sequence[TestSet], *, generation: Mapping | None = None,
                  batch_size: int = 16, cache: TranslationCache | None = None, log=_stderr,
                  progress: bool = False) -> tuple[dict, dict]:
    """hypotheses[system][test set] and how each was obtained ({"cached": bool, "seconds": float})."""
    from tqdm import tqdm

    from .pmp import translate_options

    generation = {**DEFAULT_GENERATION, **(generation or {})}
    _check_names(systems, testsets)
    for system in systems:  # a PMP system on a test set without auxiliaries fails before any translation
        for ts in testsets:
            translate_options(system.pmp, ts)
    hyps: dict[str, dict[str, list[str]]] = {}
    info: dict[str, dict[str, dict]] = {}
    for system in systems:
        hyps[system.label], info[system.label] = {}, {}
        for ts in testsets:
            options, extra = translate_options(system.pmp, ts)
            identity = {**system.identity, **extra}
            cached = cache.get(identity, ts, generation) if cache else None
            if cached is not None:
                hyps[system.label][ts.name] = cached
                info[system.label][ts.name] = {"cached": True, "seconds": 0.0}
                log(f"{system.label} {ts.name}: {len(ts)} translations from the cache")
                continue
            bridge = system.bridge()
            started, out = time.perf_counter(), []
            chunk = CHUNK_BATCHES * batch_size
            with tqdm(total=len(ts), unit="sent", desc=f"{system.label} {ts.name}", file=sys.stderr,
                      disable=not progress, dynamic_ncols=True) as bar:
                for start in range(0, len(ts), chunk):
                    part = list(ts.sources[start : start + chunk])
                    sliced = {k: (list(v[start : start + chunk]) if k == "aux_texts" else v) for k, v in options.items()}
                    out += bridge.translate(part, ts.src_lang, ts.tgt_lang, batch_size=batch_size, **generation,
                                            **sliced)
                    bar.update(len(part))
            seconds = time.perf_counter() - started
            if cache:
                cache.put(identity, ts, generation, out)
            hyps[system.label][ts.name] = out
            info[system.label][ts.name] = {"cached": False, "seconds": round(seconds, 3)}
            log(f"{system.label} {ts.name}: translated {len(ts)} segments in {seconds:.1f} s")
        system.release()
    return hyps, info


def score_all(testsets: Sequence[TestSet], hypotheses: Mapping[str, Mapping[str, Sequence[str]]],
              metrics: Sequence[str], *, spm=None, comet: CometScorer | None = None,
              baseline: str | None = None, floor: bool = True,
              bootstrap_samples: int = DEFAULT_SAMPLES) -> tuple[dict, dict]:
    """scores[system][test set][metric] as Cells (score, floor, p vs baseline) and signatures."""
    systems = list(hypotheses)
    scorers = {m: sacrebleu_metric(m, spm) for m in metrics if m in SACREBLEU_METRICS}
    cells: dict[str, dict[str, dict[str, Cell]]] = {s: {ts.name: {} for ts in testsets} for s in systems}
    for ts in testsets:
        refs, blind = list(ts.references), floor and derangement_shift(len(ts)) is not None
        for m, metric in scorers.items():
            p_values = (paired_bootstrap({s: hypotheses[s][ts.name] for s in systems}, refs, metric,
                                         baseline=baseline, n_samples=bootstrap_samples)
                        if baseline is not None and len(systems) > 1 else {})
            for s in systems:
                hyp = hypotheses[s][ts.name]
                cells[s][ts.name][m] = Cell(corpus_score(metric, hyp, refs),
                                            corpus_score(metric, hyp, deranged(refs)) if blind else None,
                                            p_values.get(s))
    if "comet" in metrics:
        if comet is None:
            raise InputError("the comet metric needs a CometScorer (--comet-python)")
        _score_comet(testsets, hypotheses, comet, cells, floor)
    signatures = {m: signature(metric) for m, metric in scorers.items()}  # after scoring: nrefs is known
    return cells, signatures


def _score_comet(testsets, hypotheses, comet: CometScorer, cells, floor: bool) -> None:
    jobs, sets = [], []  # one worker run for every system, test set and floor
    for ts in testsets:
        for s in hypotheses:
            hyp = hypotheses[s][ts.name]
            sets.append([{"src": x, "mt": h, "ref": r} for x, h, r in zip(ts.sources, hyp, ts.references)])
            jobs.append((s, ts.name, "score"))
            if floor and derangement_shift(len(ts)) is not None:
                # hypothesis i judged as a translation of segment j = i + n//2: its source and reference
                sets.append([{"src": x, "mt": h, "ref": r} for x, h, r in
                             zip(deranged(ts.sources), hyp, deranged(ts.references))])
                jobs.append((s, ts.name, "floor"))
    values: dict[tuple, float] = {}
    for (s, name, what), scores in zip(jobs, comet.score_sets(sets), strict=True):
        values[(s, name, what)] = 100 * sum(scores) / len(scores)
    for (s, name, what), value in values.items():
        if what == "score":
            cells[s][name]["comet"] = Cell(value, values.get((s, name, "floor")))


def evaluate(systems: Sequence[System], testsets: Sequence[TestSet], *, metrics: Sequence[str] = ("chrf++", "bleu"),
             spm=None, comet: CometScorer | None = None, baseline: str | None = None,
             groups: Mapping[str, Sequence[str]] | None = None, ratios: Sequence[tuple[str, str]] = (),
             generation: Mapping | None = None, batch_size: int = 16, cache_dir: str | os.PathLike | None = None,
             floor: bool = True, bootstrap_samples: int = DEFAULT_SAMPLES, log=_stderr,
             progress: bool = False, title: str = "Evaluation results") -> Evaluation:
    """Translate, score and report. Write the files with `write_results(out, ev.report, ...)`."""
    labels = [s.label for s in systems]
    if baseline is not None and baseline not in labels:
        raise InputError(f"baseline {baseline!r} is not a system; systems: {', '.join(labels)}")
    if "comet" in metrics and comet is None:
        raise InputError("the comet metric needs a CometScorer (--comet-python)")
    cache = TranslationCache(cache_dir) if cache_dir is not None else None
    hyps, info = translate_all(systems, testsets, generation=generation, batch_size=batch_size, cache=cache,
                               log=log, progress=progress)
    cells, signatures = score_all(testsets, hyps, metrics, spm=spm, comet=comet, baseline=baseline,
                                  floor=floor, bootstrap_samples=bootstrap_samples)
    notes = ["Test sets: " + "; ".join(
        f"{ts.name} ({ts.src_lang}->{ts.tgt_lang}, {len(ts)} segments, {ts.origin}"
        + (f", {ts.empty_skipped} empty pairs skipped" if ts.empty_skipped else "") + ")" for ts in testsets) + "."]
    if floor:
        notes.append("Floor: each system's output scored against the references of other segments "
                     "(segment i against reference i + n//2 mod n); gap = score - floor.")
    report = build_report(cells, languages=[ts.name for ts in testsets], metrics=list(metrics), groups=groups,
                          baseline=baseline, ratios=ratios, title=title, notes=notes)
    comet_info = {"model": comet.model, "python": comet.python, "version": comet.version} if comet else None
    return Evaluation(report, list(testsets), hyps, signatures, info, comet_info)
