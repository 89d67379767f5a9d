"""MoLoRA: the CrossLoRA paper's mixture-of-LoRA baselines, a learned top-k router or one expert per direction."""

from .config import MoLoRAConfig
from .layer import DirectionLoRALinear, TopKLoRALinear
from .model import MoLoRABridge
from .routers import DirectionRouter, TopKRouter, load_balancing_loss

__all__ = ["DirectionLoRALinear", "DirectionRouter", "MoLoRABridge", "MoLoRAConfig", "TopKLoRALinear", "TopKRouter",
           "load_balancing_loss"]
