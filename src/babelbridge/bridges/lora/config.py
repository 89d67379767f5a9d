"""LoRA fine-tuning baseline configuration: the prompted baseline's options plus LoRA's."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import BabelBridgeError
from ..prompted.config import PromptedConfig

# Every attention and MLP projection of the Llama/Qwen family.
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class LoRAConfig(PromptedConfig):
    r: int = 16
    alpha: float = 32  # LoRA's scale is alpha / r
    # Not given by the papers' baseline rows; 0.05 is the common SFT choice (CrossLoRA uses 0.1).
    dropout: float = 0.05
    # Module names (the last part, e.g. q_proj) or full paths, as peft's target_modules takes.
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_TARGETS))

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.r, bool) or not isinstance(self.r, int) or self.r < 1:
            raise BabelBridgeError(f"r (the LoRA rank) must be a positive integer, got {self.r!r}")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or self.alpha <= 0:
            raise BabelBridgeError(f"alpha must be a positive number, got {self.alpha!r}")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise BabelBridgeError(f"dropout must be a number in [0, 1), got {self.dropout!r}")
        if (not isinstance(self.target_modules, (list, tuple)) or not self.target_modules
                or not all(isinstance(t, str) and t for t in self.target_modules)):
            raise BabelBridgeError(f"target_modules must be a non-empty list of module names "
                                   f"(e.g. {', '.join(DEFAULT_TARGETS)}), got {self.target_modules!r}")
        self.target_modules = list(self.target_modules)
