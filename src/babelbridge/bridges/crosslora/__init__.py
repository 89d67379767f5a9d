"""CrossLoRA: one LoRA expert per language, A chosen by the source language and B by the target."""

from ..lora_experts import Routing
from .config import PAPER_LANGUAGES, PAPER_TARGETS, CrossLoRAConfig, PaperLoRAConfig
from .layer import CrossLoRALinear, StaticRouter
from .model import CrossLoRABridge

__all__ = ["PAPER_LANGUAGES", "PAPER_TARGETS", "CrossLoRABridge", "CrossLoRAConfig", "CrossLoRALinear",
           "PaperLoRAConfig", "Routing", "StaticRouter"]
