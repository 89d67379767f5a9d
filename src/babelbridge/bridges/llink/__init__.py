"""LLINK: a language as a modality (sentence vector -> K soft slots in the LLM's input)."""

from .config import LLINKConfig
from .model import LLINKBridge, sentence_key

__all__ = ["LLINKBridge", "LLINKConfig", "sentence_key"]
