"""A zero-shot baseline's checkpoint: the prompted LLM as a bridge every tool accepts.

Apart from the bridge itself (model.py), because it writes through checkpoint.py, which builds
bridges through the registry, which imports the bridge.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...backbones import FrozenDecoder, load_decoder
from ..checkpoint import save_bridge
from .config import PromptedConfig
from .model import PromptedBridge


def save_prompted_baseline(decoder: str | FrozenDecoder, out_dir: str | os.PathLike, *,
                           gguf_file: str | None = None, **config) -> Path:
    """Write a zero-shot baseline checkpoint: bridge.json + an empty bridge.safetensors.

    decoder: a backbone spec (loaded once, in its own dtype, to record its identity) or a
    loaded FrozenDecoder. config: PromptedConfig options (template, postprocess, ...).
    """
    cfg = PromptedConfig.from_dict(config)  # a bad option fails before a model loads
    if isinstance(decoder, (str, os.PathLike)):
        decoder = load_decoder(str(decoder), dtype="auto", gguf_file=gguf_file)
    bridge = PromptedBridge(None, decoder, cfg)
    return save_bridge(bridge, out_dir)
