"""Pairs longer than the bridge accepts: keep them for collate-time truncation, or drop them.

Lengths come from the caller (the bridge's own tokenizers), so this module knows no tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from ..pairs import TranslationPair
from .errors import DataError

OVERLONG_POLICIES = ("truncate", "drop")


@dataclass(frozen=True)
class OverlongReport:
    total: int
    src_overlong: int  # pairs whose source exceeds max_src
    tgt_overlong: int  # pairs whose target exceeds max_tgt
    overlong: int  # pairs over on either side (a pair over on both counts once)
    dropped: int  # equals `overlong` under "drop", 0 under "truncate"
    policy: str
    max_src: int | None
    max_tgt: int | None

    def summary(self) -> str:
        action = "dropped" if self.policy == "drop" else "kept, truncated at collate time"
        return (f"{self.overlong} of {self.total} pairs over-long ({self.src_overlong} source > "
                f"{self.max_src} tokens, {self.tgt_overlong} target > {self.max_tgt} tokens): {action}")


def filter_overlong(
    pairs: Sequence[TranslationPair],
    *,
    src_len: Callable[[str], int],
    tgt_len: Callable[[str], int],
    max_src: int | None,
    max_tgt: int | None,
    policy: str = "truncate",
) -> tuple[list[TranslationPair], OverlongReport]:
    """Count (and under policy="drop" remove) pairs longer than max_src / max_tgt tokens.

    A limit of None means that side is never over-long (its length function is not called).
    Returns a new list; the input is not modified.
    """
    if policy not in OVERLONG_POLICIES:
        raise DataError(f"overlong policy must be one of {', '.join(OVERLONG_POLICIES)}, got {policy!r}")
    for name, limit in (("max_src", max_src), ("max_tgt", max_tgt)):
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise DataError(f"{name} must be a positive integer or None, got {limit!r}")
    kept: list[TranslationPair] = []
    src_over = tgt_over = either = 0
    for pair in pairs:
        s = max_src is not None and src_len(pair.src) > max_src
        t = max_tgt is not None and tgt_len(pair.tgt) > max_tgt
        src_over += s
        tgt_over += t
        either += s or t
        if not (policy == "drop" and (s or t)):
            kept.append(pair)
    report = OverlongReport(total=len(pairs), src_overlong=src_over, tgt_overlong=tgt_over,
                            overlong=either, dropped=len(pairs) - len(kept), policy=policy,
                            max_src=max_src, max_tgt=max_tgt)
    return kept, report
