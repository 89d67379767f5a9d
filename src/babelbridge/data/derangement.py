"""A fixed derangement: every segment paired with another segment's item.

Used to score outputs against other segments' references (evaluate.floor: the source-blind
floor) and to feed each validation pair another pair's source (train: the source gap).
Shifting by half the set keeps the donor far from its neighbours, which in a length- or
book-ordered set are near-paraphrases.
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
        raise ValueError(f"a derangement needs at least 2 items, got {len(items)}")
    n = len(items)
    return [items[(i + k) % n] for i in range(n)]
