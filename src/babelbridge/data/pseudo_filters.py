"""The filters of CrossLoRA's pseudo-corpus (appendix A.2, after Junczys-Dowmunt 2018), each drop
counted per direction: a source (or its pivot) over the bridge's input limit (not translated),
an empty output, the output not identified as the target language, a source/target length ratio
far from the direction's usual one.

Length ratio: len(tgt) / len(src) in characters, divided by the median of that ratio over the
direction's pairs that passed the other filters; a pair is dropped when this falls outside
[1/R, R] (R = max_length_ratio, default 3). Characters, because words do not compare across
scripts (Chinese and Japanese write no spaces). The median, because characters do not compare
across scripts either: in the Bible's dev books a Chinese verse has 0.26x the characters of the
German one (5-95%: 0.18-0.36), so a fixed [1/3, 3] on raw characters would drop 90% of these
human-translated German -> Chinese pairs (Japanese and Korean: 13%), and UTF-8 bytes, which even
out CJK, drop 5-11% of German -> Hindi / Bengali (3 bytes a character). Divided by the median,
R = 3 drops 0-0.1% of them in each of 11 directions out of German, and still catches
what the filter is for: an output cut short, a repetition loop, an answer to the wrong sentence.
The median comes from the outputs themselves, so a model whose outputs are mostly broken in the
same way moves it; the report gives each direction's median to show that.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

DEFAULT_MAX_LENGTH_RATIO = 3.0
NO_LETTERS = "none"  # the identified-as label of an output with no letters (identify() gives None)


@dataclass(frozen=True)
class LanguageIdentifier:
    """A language identifier as the filters use it (the CLI passes evaluate/langid.py's).

    identify(texts): one code per text (None: a text with no letters); accepted(lang): the codes
    that count as `lang` (a FLORES-200 code), None when the identifier cannot recognise it;
    name: recorded in the report.
    """

    identify: Callable[[Sequence[str]], list[str | None]]
    accepted: Callable[[str], set[str] | None]
    name: str


@dataclass(frozen=True)
class PseudoPair:
    src: str  # the real source sentence
    pivot: str  # the bridge's translation of it into the pivot language
    tgt: str  # the bridge's translation of the pivot into the target language
    over_long: bool = False  # the source, or its pivot, is over the bridge's max_source_tokens: not translated


@dataclass
class DirectionCounts:
    """What the filters did to one direction: every candidate is kept or dropped by exactly one
    filter (the first that fails, in this order)."""

    src_lang: str
    tgt_lang: str
    candidates: int = 0  # source sentences
    over_long: int = 0  # the source or its pivot over the bridge's input limit: not translated on
    empty_pivot: int = 0  # X -> pivot came back empty: not sent on to the target
    empty_output: int = 0
    language_id_checked: bool = True  # False: the identifier cannot recognise tgt_lang; kept unfiltered
    off_target: int = 0  # dropped by language identification
    identified_as: dict[str, int] = field(default_factory=dict)  # what the off-target outputs were called
    length_ratio_median: float | None = None  # median len(tgt) / len(src) in characters, before the filter
    length_ratio: int = 0  # dropped by the length ratio
    kept: int = 0

    def to_json(self) -> dict:
        return {"src_lang": self.src_lang, "tgt_lang": self.tgt_lang, "candidates": self.candidates,
                "dropped": {"over_long": self.over_long, "empty_pivot": self.empty_pivot,
                            "empty_output": self.empty_output,
                            "language_id": self.off_target, "length_ratio": self.length_ratio},
                "language_id": "checked" if self.language_id_checked else
                               "not supported by the identifier: kept unfiltered",
                "identified_as": self.identified_as,
                "length_ratio_median": None if self.length_ratio_median is None else
                                       round(self.length_ratio_median, 4),
                "kept": self.kept}


def _length_ratio(pair: PseudoPair) -> float:
    return len(pair.tgt.strip()) / max(len(pair.src.strip()), 1)


def filter_direction(src_lang: str, tgt_lang: str, pairs: Sequence[PseudoPair], identifier: LanguageIdentifier,
                     max_length_ratio: float = DEFAULT_MAX_LENGTH_RATIO) -> tuple[list[int], DirectionCounts]:
    """The indexes (into `pairs`) of the pairs kept, in order, and the counts.

    A pair's pivot or tgt is "" where that translation was not made or came back empty.
    """
    counts = DirectionCounts(src_lang, tgt_lang, candidates=len(pairs))
    left = []
    for n, pair in enumerate(pairs):
        if pair.over_long:
            counts.over_long += 1
        elif not pair.pivot.strip():
            counts.empty_pivot += 1
        elif not pair.tgt.strip():
            counts.empty_output += 1
        else:
            left.append(n)

    accepted = identifier.accepted(tgt_lang)
    if accepted is None:
        counts.language_id_checked = False
    elif left:
        codes = identifier.identify([pairs[n].tgt for n in left])
        off = Counter(code or NO_LETTERS for code in codes if code not in accepted)
        counts.off_target = sum(off.values())
        counts.identified_as = dict(sorted(off.items(), key=lambda kv: (-kv[1], kv[0])))
        left = [n for n, code in zip(left, codes) if code in accepted]

    if left:
        ratios = {n: _length_ratio(pairs[n]) for n in left}
        median = statistics.median(ratios.values())
        counts.length_ratio_median = median
        if median > 0:  # every output of the direction one character long would make it 0
            kept = [n for n in left if 1 / max_length_ratio <= ratios[n] / median <= max_length_ratio]
            counts.length_ratio = len(left) - len(kept)
            left = kept
    counts.kept = len(left)
    return left, counts


def total_counts(directions: Sequence[DirectionCounts]) -> dict:
    """The report's totals over every direction, in the shape of a direction's counts."""
    rows = [d.to_json() for d in directions]
    dropped = ("over_long", "empty_pivot", "empty_output", "language_id", "length_ratio")
    return {"candidates": sum(r["candidates"] for r in rows),
            "dropped": {k: sum(r["dropped"][k] for r in rows) for k in dropped},
            "kept": sum(r["kept"] for r in rows)}


def counts_table(directions: Sequence[DirectionCounts]) -> list[str]:
    """One line per direction and a total: what each filter dropped (printed by the CLI)."""
    rows = [("direction", "candidates", "over-long", "empty", "language id", "length ratio", "kept")]
    for d in directions:
        lid = str(d.off_target) if d.language_id_checked else "n/a"
        rows.append((f"{d.src_lang} -> {d.tgt_lang}", str(d.candidates), str(d.over_long),
                     str(d.empty_pivot + d.empty_output), lid, str(d.length_ratio), str(d.kept)))
    t = total_counts(directions)
    dropped = t["dropped"]
    rows.append(("total", str(t["candidates"]), str(dropped["over_long"]),
                 str(dropped["empty_pivot"] + dropped["empty_output"]),
                 str(dropped["language_id"]), str(dropped["length_ratio"]), str(t["kept"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
            for r in rows]


def unfiltered_languages(directions: Sequence[DirectionCounts]) -> list[str]:
    """The target languages the identifier could not check (their outputs kept unfiltered)."""
    return list(dict.fromkeys(d.tgt_lang for d in directions if not d.language_id_checked))


def identified_as_line(d: DirectionCounts, top: int = 3) -> str | None:
    """`deu_Latn -> fra_Latn: off-target outputs identified as eng 3, deu 1`, or None."""
    if not d.identified_as:
        return None
    shown = ", ".join(f"{code} {n}" for code, n in list(d.identified_as.items())[:top])
    more = f", {len(d.identified_as) - top} more" if len(d.identified_as) > top else ""
    return f"{d.src_lang} -> {d.tgt_lang}: off-target outputs identified as {shown}{more}"
