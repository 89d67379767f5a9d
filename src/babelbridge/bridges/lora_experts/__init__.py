"""LoRA experts inside the frozen LLM's projections, picked per call by a router: the machinery
CrossLoRA (bridges/crosslora) and its MoLoRA baselines (bridges/molora) share."""

from .bridge import ExpertLoRABridge
from .inject import inject_experts
from .layer import ExpertLoRALinear, RowRoutedLoRALinear
from .routing import (ExpertRouter, RowRouter, Routing, language_or_as_given, refuse_unrouted,
                      side_language)

__all__ = ["ExpertLoRABridge", "ExpertLoRALinear", "ExpertRouter", "RowRoutedLoRALinear", "RowRouter", "Routing",
           "inject_experts", "language_or_as_given", "refuse_unrouted", "side_language"]
