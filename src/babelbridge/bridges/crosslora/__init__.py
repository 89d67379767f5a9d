"""CrossLoRA: one LoRA expert per language, A chosen by the source language and B by the target."""

from .config import PAPER_LANGUAGES, PAPER_TARGETS, CrossLoRAConfig
from .layer import CrossLoRALinear, Routing, StaticRouter
from .model import CrossLoRABridge, inject_crosslora

__all__ = ["PAPER_LANGUAGES", "PAPER_TARGETS", "CrossLoRABridge", "CrossLoRAConfig", "CrossLoRALinear", "Routing",
           "StaticRouter", "inject_crosslora"]
