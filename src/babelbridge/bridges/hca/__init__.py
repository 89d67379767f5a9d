"""HCA: frozen encoder + frozen LLM joined by gated cross-attention and two adapters."""

from .config import HCAConfig
from .layer import Bottleneck, HCABlock, SourceAlignmentAdapter
from .model import HCABridge, SourceMemory

__all__ = ["Bottleneck", "HCABlock", "HCABridge", "HCAConfig", "SourceAlignmentAdapter", "SourceMemory"]
