"""The processes of a command under `accelerate launch` (or torchrun): how many, and this one's
share (bulk.Shard) with accelerate's barrier. Shared by translate --input and the data commands
that translate with a bridge; accelerate (and torch) are imported only with several processes."""

from __future__ import annotations

import os

from ..bulk import Shard
from ..errors import InputError


def world_size() -> int:
    """How many processes `accelerate launch` (or torchrun) started: WORLD_SIZE, else 1."""
    value = os.environ.get("WORLD_SIZE", "1")
    try:
        return max(int(value), 1)
    except ValueError:
        raise InputError(f"WORLD_SIZE={value!r} is not a number of processes") from None


def process_shard(device: str) -> tuple[Shard, str]:
    """This process's share of the work, and its device: under `accelerate launch` (WORLD_SIZE
    > 1) from accelerate's PartialState, each process on its own GPU for --device cuda."""
    if world_size() == 1:
        return Shard(), device
    from datetime import timedelta

    from accelerate import PartialState

    # cpu=True: gloo between CPU processes (without it accelerate looks for an accelerator and, on
    # a CPU, quietly makes each process a world of one). A barrier waits for the slowest process;
    # torch's default timeout (10 or 30 minutes) would end a run whose shards finish further
    # apart than that.
    state = PartialState(cpu=device.split(":")[0] == "cpu", timeout=timedelta(hours=24))
    if state.num_processes != world_size():
        raise InputError(f"WORLD_SIZE is {world_size()} but accelerate set up {state.num_processes} process(es) "
                         f"for --device {device}; start the processes with `accelerate launch`")
    if device == "cuda" and state.device.type == "cuda":
        device = str(state.device)
    return Shard(state.process_index, state.num_processes, state.wait_for_everyone), device
