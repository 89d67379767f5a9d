"""LMT's Strategic Downsampling, and the target-repetition diagnostic it answers.

In symmetric multi-way data every hub sentence (English, Chinese) is the target of one pair per
source language, so the model sees each hub target many times over and learns a "shallow
mapping" (fluent, unfaithful X -> hub). LMT (shared/papers/lmt-beyond-english.txt) keeps only
p = 5% of the pairs whose target is a hub. Here:

- `target_repetition`: per target language, how often identical target strings repeat
  (pairs / distinct targets = mean, and the max), the "hub targets repeat once per source"
  diagnostic.
- `downsample`: per direction (src_lang, tgt_lang) whose target is in `into`, keep
  round(keep * n) of its n pairs (Python's round: a half goes to the even number; at least 1
  when n > 0); every other direction is untouched. Which pairs stay is a pure function of
  (seed, direction, n): random.Random keyed by the string "downsample:<seed>:<src>-><tgt>"
  (string seeds are hashed with SHA-512, independent of PYTHONHASHSEED), so a resumed run and
  every process of a distributed one select the same pairs from the same list. The kept pairs
  stay in their input order. Pure functions, torch-free.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..languages import UnknownLanguageError, normalize_language
from ..pairs import TranslationPair
from .errors import DataError

DOWNSAMPLE_KEYS = ("into", "keep")

Direction = tuple[str, str]  # (src_lang, tgt_lang)


@dataclass(frozen=True)
class DownsampleSpec:
    """data.downsample: keep a share `keep` in (0, 1] of the pairs into the languages `into`."""

    into: tuple[str, ...]
    keep: float

    def __post_init__(self):
        into = (self.into,) if isinstance(self.into, str) else self.into
        if not isinstance(into, (list, tuple)) or not into:
            raise DataError(f"data.downsample.into must be a non-empty list of language codes (the hub targets, "
                            f"e.g. [eng_Latn]), got {self.into!r}")
        codes = []
        for code in into:
            try:
                codes.append(normalize_language(str(code)))
            except UnknownLanguageError as err:
                raise DataError(f"data.downsample.into: {err}") from None
        object.__setattr__(self, "into", tuple(dict.fromkeys(codes)))
        keep = self.keep
        if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not math.isfinite(keep) \
                or not 0 < keep <= 1:
            raise DataError(f"data.downsample.keep must be a share in (0, 1] (LMT keeps 0.05), got {keep!r}")
        object.__setattr__(self, "keep", float(keep))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DownsampleSpec:
        if not isinstance(d, Mapping):
            raise DataError(f"data.downsample must be a mapping with keys {', '.join(DOWNSAMPLE_KEYS)} "
                            f"(e.g. {{into: [eng_Latn], keep: 0.05}}), got {type(d).__name__}")
        unknown = [str(k) for k in d if k not in DOWNSAMPLE_KEYS]
        if unknown:
            raise DataError(f"unknown data.downsample key(s): {', '.join(unknown)}; accepted keys: "
                            f"{', '.join(DOWNSAMPLE_KEYS)}")
        missing = [k for k in DOWNSAMPLE_KEYS if k not in d]
        if missing:
            raise DataError(f"data.downsample is missing {', '.join(missing)}; accepted keys: "
                            f"{', '.join(DOWNSAMPLE_KEYS)} (e.g. {{into: [eng_Latn], keep: 0.05}})")
        return cls(into=d["into"], keep=d["keep"])


def kept_count(n: int, keep: float) -> int:
    """How many of a hub-target direction's n pairs stay: round(keep * n), at least 1 if n > 0."""
    return 0 if n == 0 else min(n, max(1, round(keep * n)))


def _rng(seed: int, direction: Direction) -> random.Random:
    return random.Random(f"downsample:{seed}:{direction[0]}->{direction[1]}")


def directions_of(pairs: Sequence[TranslationPair]) -> dict[Direction, list[int]]:
    """Each direction's pair indices, directions in order of first appearance."""
    out: dict[Direction, list[int]] = {}
    for i, p in enumerate(pairs):
        out.setdefault((p.src_lang, p.tgt_lang), []).append(i)
    return out


@dataclass(frozen=True)
class Repetition:
    """Identical target strings of one target language: pairs / distinct = mean repetitions."""

    pairs: int
    distinct: int
    max: int

    @property
    def mean(self) -> float:
        return self.pairs / self.distinct if self.distinct else 0.0

    def short(self) -> str:
        return f"{self.mean:.2f} / {self.max}"


def target_repetition(pairs: Sequence[TranslationPair]) -> dict[str, Repetition]:
    """Per target language (in order of first appearance): pairs, distinct targets, max repeats."""
    counts: dict[str, Counter] = {}
    for p in pairs:
        counts.setdefault(p.tgt_lang, Counter())[p.tgt] += 1
    return {lang: Repetition(pairs=sum(c.values()), distinct=len(c), max=max(c.values()))
            for lang, c in counts.items()}


@dataclass
class DownsampleReport:
    spec: DownsampleSpec
    seed: int
    counts: dict[Direction, tuple[int, int]]  # direction -> (before, after)
    before: dict[str, Repetition]
    after: dict[str, Repetition]

    @property
    def unmatched(self) -> list[str]:
        """`into` languages that no pair has as its target (nothing to downsample there)."""
        return [lang for lang in self.spec.into if lang not in self.before]

    def format(self) -> str:
        s = self.spec
        share = f"{s.keep * 100:g}%"
        lines = [f"strategic downsampling: keep {share} of each direction into {', '.join(s.into)} "
                 f"(round(keep * n), at least 1; seed {self.seed})"]
        rows = [("direction", "before", "after", "")]
        for (src, tgt), (before, after) in self.counts.items():
            rows.append((f"{src} -> {tgt}", str(before), str(after), "" if tgt in s.into else "untouched"))
        total_before = sum(b for b, _ in self.counts.values())
        total_after = sum(a for _, a in self.counts.values())
        rows.append(("total", str(total_before), str(total_after), ""))
        lines += _table(rows, right={1, 2})
        rows = [("target", "pairs before", "after", "repeats before (mean / max)", "after")]
        for lang, rep in self.before.items():
            new = self.after.get(lang, Repetition(0, 0, 0))
            rows.append((lang, str(rep.pairs), str(new.pairs), rep.short(), new.short()))
        lines += _table(rows, right={1, 2})
        if self.unmatched:
            lines.append(f"note: no pair has target {', '.join(self.unmatched)}: nothing to downsample there")
        return "\n".join(lines)


def downsample(pairs: Sequence[TranslationPair], spec: DownsampleSpec, seed: int
               ) -> tuple[list[TranslationPair], DownsampleReport]:
    """Keep `spec.keep` of each hub-target direction's pairs (see the module docstring).

    Returns a new list (kept pairs in input order) and the report; the input is not modified.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DataError(f"the downsampling seed must be an integer, got {seed!r}")
    groups = directions_of(pairs)
    keep_index = [True] * len(pairs)
    counts: dict[Direction, tuple[int, int]] = {}
    for direction, indices in groups.items():
        n = len(indices)
        if direction[1] not in spec.into:
            counts[direction] = (n, n)
            continue
        k = kept_count(n, spec.keep)
        chosen = set(_rng(seed, direction).sample(range(n), k))
        for j, i in enumerate(indices):
            keep_index[i] = j in chosen
        counts[direction] = (n, k)
    out = [p for p, k in zip(pairs, keep_index) if k]
    report = DownsampleReport(spec=spec, seed=seed, counts=counts, before=target_repetition(pairs),
                              after=target_repetition(out))
    return out, report


def _table(rows: list[tuple[str, ...]], right: set[int] = frozenset(), indent: str = "  ") -> list[str]:
    """Aligned columns (the columns in `right` right-aligned), one string per row."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.rjust(w) if i in right else c.ljust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip() for r in rows]
