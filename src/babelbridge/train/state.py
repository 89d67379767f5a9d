"""Trainer checkpoints: everything needed to resume bit-exactly, in safetensors + JSON only.

    step-000100/bridge/               the bridge's trainable part (bridges.checkpoint)
    step-000100/optimizer.safetensors optimiser tensors (moments, step counters)
    step-000100/rng.safetensors       torch RNG states
    step-000100/bridge_state.safetensors  the bridge's training state that is not a parameter
                                      (Bridge.extra_state: LLINK's teacher queue), when it has any
    step-000100/trainer_state.json    step, scheduler, early-stopping state, optimiser groups,
                                      Python RNG state

torch.save would be one line, but it pickles, and a pickle from an untrusted run directory
can execute code; this format cannot.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..bridges.checkpoint import save_bridge
from .fsdp import shard_optimizer_state

STEP_DIR = re.compile(r"^step-(\d+)$")


def optimizer_to_files(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for index, values in state_dict["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def optimizer_from_files(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict] = {}
    for flat, value in list(tensors.items()) + list(meta["scalars"].items()):
        index, key = flat.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    groups = [{**g, "betas": tuple(g["betas"])} if "betas" in g else g for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_training_state(directory: Path, *, bridge, optimizer, scheduler, trainer_state: dict,
                        tensors: dict[str, torch.Tensor] | None = None, optimizer_state: dict | None = None) -> Path:
    """Write step-N atomically (temporary directory, then rename). tensors, optimizer_state: the
    bridge's trainable tensors and the optimiser's state dict when already gathered whole (FSDP2
    shards them: train/fsdp.py); by default read from the bridge and the optimiser."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        save_bridge(bridge, tmp / "bridge", tensors=tensors)
        opt_tensors, opt_meta = optimizer_to_files(optimizer.state_dict() if optimizer_state is None
                                                   else optimizer_state)
        save_file(opt_tensors, tmp / "optimizer.safetensors")
        rng = {"torch_cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["torch_cuda"] = torch.cuda.get_rng_state()
        save_file(rng, tmp / "rng.safetensors")
        extra = {k: v.detach().contiguous().cpu() for k, v in bridge.extra_state().items()}
        if extra:
            save_file(extra, tmp / "bridge_state.safetensors")
        state = {
            **trainer_state,
            "optimizer": opt_meta,
            "scheduler": scheduler.state_dict(),
            "python_random": _jsonable(random.getstate()),
        }
        (tmp / "trainer_state.json").write_text(json.dumps(state, indent=1) + "\n")
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def load_training_state(directory: Path, *, optimizer, scheduler, bridge=None) -> dict:
    state = json.loads((directory / "trainer_state.json").read_text())
    if bridge is not None:
        extra = directory / "bridge_state.safetensors"
        bridge.load_extra_state(load_file(extra) if extra.is_file() else {})
    saved = optimizer_from_files(load_file(directory / "optimizer.safetensors"), state["optimizer"])
    optimizer.load_state_dict(shard_optimizer_state(saved, optimizer))  # as it is unless FSDP2 shards
    scheduler.load_state_dict(state["scheduler"])
    rng = load_file(directory / "rng.safetensors")
    torch.set_rng_state(rng["torch_cpu"])
    if "torch_cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state(rng["torch_cuda"])
    version, internal, gauss = state["python_random"]
    random.setstate((version, tuple(internal), gauss))
    return state


def checkpoints(run_dir: Path) -> list[Path]:
    """Complete step-N checkpoints, oldest first (temporary directories never match)."""
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := STEP_DIR.match(p.name))]
    return [p for _, p in sorted(found) if (p / "trainer_state.json").is_file()]


def prune(run_dir: Path, keep_last: int) -> None:
    for old in checkpoints(run_dir)[:-keep_last]:
        shutil.rmtree(old)


def _jsonable(value):
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value
