"""Prompted-LLM baseline configuration: the prompt, how an answer is cut, and length limits."""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Literal

from ...errors import BabelBridgeError
from ..config import BridgeConfig

# LMT's prompt (shared/ANCHORS.md), sent as the user turn of the LLM's chat template.
LMT_TEMPLATE = "Translate the following text from {src_name} into {tgt_name}:\n{src_name}: {text}\n{tgt_name}:"
PLACEHOLDERS = ("text", "src_name", "tgt_name", "src_code", "tgt_code")
POSTPROCESS = ("first_line", "strip")


@dataclass
class PromptedConfig(BridgeConfig):
    # The instruction; placeholders: {text} (required), {src_name}, {tgt_name} (English names,
    # e.g. German) and {src_code}, {tgt_code} (FLORES-200 codes, e.g. deu_Latn).
    template: str = LMT_TEMPLATE
    # What of the generated answer is the translation. "first_line": its first non-empty line,
    # stripped (a chatty LLM goes on after the translation: notes, alternatives, a new
    # "German:" turn); "strip": the whole answer, stripped.
    postprocess: Literal["first_line", "strip"] = "first_line"
    # Limits in the LLM's tokens: the source text alone (not the prompt around it), and the
    # target with its end-of-turn token.
    max_source_tokens: int = 256
    max_target_tokens: int = 256

    def __post_init__(self):
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(self.template) if name is not None}
        except ValueError as err:  # e.g. a lone "{"
            raise BabelBridgeError(f"template {self.template!r} is not a valid format string ({err}); "
                                   f"write a literal brace as {{{{ or }}}}") from None
        unknown = sorted(fields - set(PLACEHOLDERS))
        if unknown or "text" not in fields:
            problem = f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}" if unknown else \
                "no {text} placeholder (where the source goes)"
            raise BabelBridgeError(f"template {self.template!r} has {problem}; accepted placeholders: "
                                   + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
        if self.postprocess not in POSTPROCESS:
            raise BabelBridgeError(f"postprocess must be one of {', '.join(POSTPROCESS)}, got {self.postprocess!r}")
        for name in ("max_source_tokens", "max_target_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BabelBridgeError(f"{name} must be a positive integer, got {value!r}")
