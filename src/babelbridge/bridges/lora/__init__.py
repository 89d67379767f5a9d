"""LoRA: the LLM fine-tuned with LoRA on the pairs (the "LLM + LoRA" baseline)."""

from .config import DEFAULT_TARGETS, LoRAConfig
from .model import LoRABridge

__all__ = ["DEFAULT_TARGETS", "LoRABridge", "LoRAConfig"]
