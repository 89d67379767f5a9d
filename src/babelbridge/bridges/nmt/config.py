"""The NMT-alone baseline's configuration: only length limits (the model decides the rest)."""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import BabelBridgeError
from ..config import BridgeConfig


@dataclass
class NMTConfig(BridgeConfig):
    max_source_tokens: int = 512  # NMT encoder tokens (NLLB was trained on up to 512)
    max_target_tokens: int = 512  # NMT decoder tokens

    def __post_init__(self):
        for name in ("max_source_tokens", "max_target_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BabelBridgeError(f"{name} must be a positive integer, got {value!r}")
