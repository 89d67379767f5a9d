"""LoRA: the LLM fine-tuned with LoRA on the pairs (the "LLM + LoRA" baseline)."""

from .config import DEFAULT_TARGETS, LoRAConfig
from .inject import inject_lora, is_lora_parameter, lora_disabled, set_lora_dropout
from .model import LoRABridge

__all__ = ["DEFAULT_TARGETS", "LoRABridge", "LoRAConfig", "inject_lora", "is_lora_parameter", "lora_disabled",
           "set_lora_dropout"]
