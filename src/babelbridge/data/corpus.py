"""What was read: the pairs of one corpus and an account of what was skipped."""

from __future__ import annotations

from dataclasses import dataclass

from ..pairs import TranslationPair


@dataclass(frozen=True)
class ReadReport:
    read: int  # pairs read from the source (reading stops early at a spec's limit)
    kept: int
    empty_skipped: int  # pairs with an empty source or target side

    def summary(self) -> str:
        return f"read {self.read} pairs, kept {self.kept}, skipped {self.empty_skipped} empty"


@dataclass
class Corpus:
    pairs: list[TranslationPair]
    name: str  # e.g. "deu_Latn-eng_Latn:data/train.tsv"
    report: ReadReport | None = None  # None for a corpus built in memory: everything kept
    weight: float = 1.0  # from the spec; only the "weighted" mixture uses it

    def __post_init__(self):
        if self.report is None:
            self.report = ReadReport(read=len(self.pairs), kept=len(self.pairs), empty_skipped=0)

    def __len__(self) -> int:
        return len(self.pairs)
