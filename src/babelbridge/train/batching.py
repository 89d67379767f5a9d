"""Which pairs go into which step: a pure function of (seed, epoch, step).

Nothing here keeps state, so a resumed run recomputes exactly the batches an uninterrupted
run would have seen from its step counter alone.
"""

from __future__ import annotations

import torch

MEGABATCH_FACTOR = 32  # length grouping sorts within windows of 32 global batches


def epoch_order(lengths: list[int], epoch: int, seed: int, global_batch: int, group_by_length: bool) -> list[int]:
    """A seeded permutation of the pair indices for one epoch.

    With length grouping, windows of MEGABATCH_FACTOR global batches are sorted by length, so
    a global batch holds pairs of similar length while the order of windows stays random.
    """
    gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(len(lengths), generator=gen).tolist()
    if not group_by_length:
        return order
    window = global_batch * MEGABATCH_FACTOR
    grouped = []
    for start in range(0, len(order), window):
        grouped += sorted(order[start : start + window], key=lambda i: -lengths[i])
    # Shuffle whole global batches so the longest ones do not always come first in a window.
    batches = [grouped[i : i + global_batch] for i in range(0, len(grouped), global_batch)]
    perm = torch.randperm(len(batches), generator=gen).tolist()
    return [i for b in perm for i in batches[b]]


def steps_per_epoch(num_pairs: int, global_batch: int) -> int:
    return num_pairs // global_batch  # the last partial batch is dropped: every step is full


def global_batch_indices(lengths, step: int, seed: int, global_batch: int, group_by_length: bool) -> list[int]:
    per_epoch = steps_per_epoch(len(lengths), global_batch)
    epoch, within = divmod(step, per_epoch)
    order = epoch_order(lengths, epoch, seed, global_batch, group_by_length)
    return order[within * global_batch : (within + 1) * global_batch]


def micro_batches_for_rank(indices: list[int], micro: int, rank: int, world: int) -> list[list[int]]:
    """Split a global batch into micro-batches and deal them to the processes round-robin."""
    chunks = [indices[i : i + micro] for i in range(0, len(indices), micro)]
    if len(chunks) % world:
        raise ValueError(
            f"a global batch of {len(indices)} pairs makes {len(chunks)} micro-batches of {micro}, "
            f"which {world} processes cannot share equally; make global_batch_size a multiple of "
            f"micro_batch_size x {world}"
        )
    return chunks[rank::world]
