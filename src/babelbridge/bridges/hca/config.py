"""HCA configuration: the paper's choices as defaults, and a switch for every silent point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import BridgeConfig


@dataclass
class HCAConfig(BridgeConfig):
    # r of eq. 1 and eq. 6 (the paper: 2048 for Qwen3-4B).
    bottleneck_dim: int = 2048
    # Ablations of the paper's Table 4: drop the source-side / query-residual adapter.
    source_adapter: bool = True
    query_residual_adapter: bool = True
    # Decoder layers that get an HCA block; None = every layer (the paper).
    cross_layers: list[int] | None = None
    # Silent in the paper. Eq. 4 divides by sqrt(d_k) with Q = H_llm and K = V = H W_proj, no
    # other projections: one head of width d_llm is the literal reading. More heads split the
    # same vectors into independent softmaxes at no parameter cost.
    num_heads: int = 1
    # Silent in the paper. "before_layer": the block acts on the layer's input, so the frozen
    # layer's own attention and MLP digest the injected context (the Flamingo / torchtune
    # fusion convention); "after_layer": on the layer's output.
    placement: Literal["before_layer", "after_layer"] = "before_layer"
    # Silent in the paper. The LLM residual stream is far from unit scale (massive activations
    # in a few channels), which can saturate the softmax of eq. 4; "rms" normalises the query
    # (learnable scale). "none" is the literal form.
    query_norm: Literal["none", "rms"] = "none"
    # Silent in the paper. "rms" normalises each head's queries and keys (learnable scales)
    # for the scores only (QK-norm, as Qwen3's own attention does); the values stay
    # K = V = H W_proj. The scores then start at unit scale, so attention can pick out source
    # positions from the first steps instead of averaging the whole source.
    qk_norm: Literal["none", "rms"] = "none"
    # Not in the paper (its parameter count rules them out): learnable Q and O projections.
    qo_projections: bool = False
    # With qo_projections: "zero" starts O at zero, so the block injects nothing at step 0
    # and the LLM starts exactly as it was (LoRA's B = 0 convention); "default": Linear init.
    o_proj_init: Literal["zero", "default"] = "default"
    # g of eq. 5: the paper initialises it to 1 (cross-attention fully on from the start).
    gate_init: float = 1.0
    # Silent in the paper. "zero": the adapters' up-projections start at zero (Houlsby/LoRA
    # style), so the adapters start as no-ops and the frozen models' behaviour is untouched
    # by them at step 0; "default": PyTorch's Linear init.
    adapter_up_init: Literal["zero", "default"] = "zero"
    # The decoder's input: an English instruction (inside the chat template when there is one).
    instruction: str = "Translate this sentence to {tgt_name}."
    # The chat template's system turn: None keeps the LLM's default, a string replaces it.
    system_prompt: str | None = None
    max_source_tokens: int = 256
    max_target_tokens: int = 256

    def __post_init__(self):
        if self.bottleneck_dim < 1:
            raise ValueError(f"bottleneck_dim must be >= 1, got {self.bottleneck_dim}")
        if self.placement not in ("before_layer", "after_layer"):
            raise ValueError(f"placement must be before_layer or after_layer, got {self.placement!r}")
        if self.query_norm not in ("none", "rms"):
            raise ValueError(f"query_norm must be none or rms, got {self.query_norm!r}")
        if self.qk_norm not in ("none", "rms"):
            raise ValueError(f"qk_norm must be none or rms, got {self.qk_norm!r}")
        if self.o_proj_init not in ("zero", "default"):
            raise ValueError(f"o_proj_init must be zero or default, got {self.o_proj_init!r}")
        if self.adapter_up_init not in ("zero", "default"):
            raise ValueError(f"adapter_up_init must be zero or default, got {self.adapter_up_init!r}")
        if self.num_heads < 1:
            raise ValueError(f"num_heads must be >= 1, got {self.num_heads}")
