"""Padding token-id rows into tensors: left for generation, right for training and encoders."""

from __future__ import annotations

import torch


def left_pad(rows: list[list[int]], pad_id: int, width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Left padding for batched generation: every row's last token sits at the same column.
    width: pad to this many columns (at least the longest row's), e.g. one width for several batches."""
    longest = max(len(r) for r in rows)
    if width is not None and width < longest:
        raise ValueError(f"width {width} is shorter than the longest row ({longest} tokens)")
    width = longest if width is None else width
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = torch.tensor(r, dtype=torch.long)
        mask[i, width - len(r):] = 1
    return ids, mask


def right_pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right padding for training: positions start at 0 for every row."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = 1
    return ids, mask
