"""Paired bootstrap resampling of each system against a baseline: sacrebleu's implementation.

sacrebleu.significance.PairedTest(test_type="bs") is the Moses bootstrap-hypothesis-difference
test (1000 resamples, seed $SACREBLEU_SEED, default 12345). It needs sufficient statistics,
so it covers the sacrebleu metrics only; COMET has none (unbabel-comet's own `comet-compare`
tests COMET differences). One correction: an observed difference of exactly zero gets p = 1
(see below).
"""

from __future__ import annotations

from typing import Mapping, Sequence

DEFAULT_SAMPLES = 1000


def paired_bootstrap(systems: Mapping[str, Sequence[str]], references: Sequence[str], metric, *,
                     baseline: str, n_samples: int = DEFAULT_SAMPLES) -> dict[str, float]:
    """p-value of each non-baseline system's difference from the baseline on one metric.

    systems: label -> hypotheses (same segments as references); metric: a sacrebleu Metric.
    """
    from sacrebleu.significance import PairedTest

    if baseline not in systems:
        raise KeyError(f"baseline {baseline!r} is not among the systems: {', '.join(systems)}")
    others = [name for name in systems if name != baseline]
    if not others:
        return {}
    named = [(baseline, list(systems[baseline]))] + [(name, list(systems[name])) for name in others]
    _, results = PairedTest(named, {"metric": metric}, [list(references)], test_type="bs",
                            n_samples=n_samples)()
    (column,) = [v for k, v in results.items() if k != "System"]  # keyed by the score's name
    base = column[0].score
    # sacrebleu counts resampled differences strictly above the observed one, so an observed
    # difference of exactly 0 (e.g. identical outputs) comes out as p = 1/(N+1), "significant";
    # no difference is never evidence of one: p = 1.
    return {name: 1.0 if r.score == base else float(r.p_value)
            for name, r in zip(others, column[1:], strict=True)}


def stratified_subset(sizes: Sequence[int], limit: int) -> list[list[int]]:
    """Evenly spaced indices into each of several test sets, about `limit` in all, each set's
    share in proportion to its size (at least one segment each); deterministic."""
    total = sum(sizes)
    picks = []
    for n in sizes:
        k = min(n, max(1, limit * n // total))
        picks.append([j * n // k for j in range(k)])
    return picks


def pooled_paired_bootstrap(segments: Mapping[str, Mapping], testsets: Sequence[str], metric, *, baseline: str,
                            system: str, n_samples: int = DEFAULT_SAMPLES, max_segments: int | None = None) -> dict:
    """Two systems over the segments of several test sets pooled into one corpus.

    Per-language tests on a few dozen segments find only large differences; pooled over many
    languages (e.g. all those a zero-shot system never saw) a claim across languages gets one
    test. segments: test set -> {"references": [...], "hypotheses": {system: [...]}}, as in an
    evaluation's results.json. Returns the corpus scores, their difference and its p-value.

    sacrebleu's bootstrap holds n_samples x segments x statistics floats at once (chrF++: 24
    statistics, so 1000 resamples of 100,000 segments would be 10 GB). With max_segments, a
    larger pool is tested on stratified_subset(sizes, max_segments) (reported as
    "bootstrap_segments"); the corpus scores and their difference are always the whole pool's.
    """
    from .metrics import corpus_score

    if not testsets:
        raise ValueError("a pooled test needs at least one test set")
    refs: list[str] = []
    hyps: dict[str, list[str]] = {baseline: [], system: []}
    sizes = []
    for name in testsets:
        seg = segments[name]
        missing = [s for s in hyps if s not in seg["hypotheses"]]
        if missing:
            raise KeyError(f"{name}: no hypotheses of {', '.join(missing)}; there: {', '.join(seg['hypotheses'])}")
        refs += seg["references"]
        sizes.append(len(seg["references"]))
        for s in hyps:
            hyps[s] += seg["hypotheses"][s]
    a, b = corpus_score(metric, hyps[baseline], refs), corpus_score(metric, hyps[system], refs)
    if max_segments is not None and len(refs) > max_segments:
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        keep = [start + i for start, picks in zip(starts, stratified_subset(sizes, max_segments)) for i in picks]
        p = paired_bootstrap({s: [h[i] for i in keep] for s, h in hyps.items()}, [refs[i] for i in keep], metric,
                             baseline=baseline, n_samples=n_samples)[system]
    else:
        keep = refs
        p = paired_bootstrap(hyps, refs, metric, baseline=baseline, n_samples=n_samples)[system]
    return {"baseline": baseline, "system": system, "testsets": list(testsets), "segments": len(refs),
            "bootstrap_segments": len(keep), "baseline_score": a, "score": b, "difference": b - a, "p": p}
