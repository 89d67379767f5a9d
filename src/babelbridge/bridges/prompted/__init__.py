"""Prompted LLM: the frozen LLM alone, asked to translate (the "LLM 0-shot" baseline)."""

from .config import LMT_TEMPLATE, PromptedConfig
from .model import PromptedBridge

__all__ = ["LMT_TEMPLATE", "PromptedBridge", "PromptedConfig"]
