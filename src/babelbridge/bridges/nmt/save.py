"""The NMT baseline's checkpoint (apart from model.py: it writes through checkpoint.py, which
builds bridges through the registry, which imports the bridge)."""

from __future__ import annotations

import os
from pathlib import Path

from ...backbones import FrozenNMT, load_nmt
from ..checkpoint import save_bridge
from .config import NMTConfig
from .model import NMTBridge


def save_nmt_baseline(nmt: str | FrozenNMT, out_dir: str | os.PathLike, **config) -> Path:
    """Write the NMT-alone baseline: bridge.json (the model's identity) + an empty bridge.safetensors.

    nmt: a spec (loaded once, to record its identity) or a loaded FrozenNMT."""
    cfg = NMTConfig.from_dict(config)
    if isinstance(nmt, (str, os.PathLike)):
        nmt = load_nmt(str(nmt), dtype="auto")
    return save_bridge(NMTBridge(nmt, None, cfg), out_dir)
