"""The source-blind floor: how well a system's output matches references it was NOT asked for.

A fluent, on-topic output scores well above zero against any reference of the same domain
(the Bible most of all: every verse shares its vocabulary). Scoring hypothesis i against the
reference of segment (i + n//2) mod n, a fixed derangement, measures that floor; the gap
(score - floor) is what the source actually contributed.
"""

from __future__ import annotations

from typing import Sequence, TypeVar

T = TypeVar("T")


def derangement_shift(n: int) -> int | None:
    """The shift k = n//2: i -> (i + k) mod n moves every index (None when n < 2: impossible)."""
    return n // 2 if n >= 2 else None


def deranged(items: Sequence[T]) -> list[T]:
    """items[(i + n//2) % n] for each i: every position gets another segment's item."""
    k = derangement_shift(len(items))
    if k is None:
        raise ValueError(f"a source-blind floor needs at least 2 segments, got {len(items)}")
    n = len(items)
    return [items[(i + k) % n] for i in range(n)]
