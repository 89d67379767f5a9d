"""The trainable pieces of HCA (paper section 3), each readable on its own.

    Bottleneck              ReLU(x W_down) W_up                         eq. 1 and eq. 6
    SourceAlignmentAdapter  a Bottleneck inside the encoder's last layer eq. 1-2
    HCABlock                W_proj, gated cross-attention, query-residual eq. 3-7

Adapters hold float32 weights whatever the backbones' dtype: inputs are cast to the adapter's
dtype and results back, so bf16 backbones train fp32 adapters without autocast.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import HCAConfig


class Bottleneck(nn.Module):
    def __init__(self, dim: int, bottleneck_dim: int, zero_init_up: bool):
        super().__init__()
        self.down = nn.Linear(dim, bottleneck_dim)
        self.up = nn.Linear(bottleneck_dim, dim)
        if zero_init_up:
            nn.init.zeros_(self.up.weight)
            nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(F.relu(self.down(x.to(self.down.weight.dtype)))).to(x.dtype)


class SourceAlignmentAdapter(nn.Module):
    """H'_enc = FinalNorm(H_attn + FFN(H_attn) + Bottleneck(H_attn)), in the encoder's last layer.

    It is spliced into the frozen encoder with two forward pre-hooks: one records H_attn (the
    input of `attention_output_site`), the other adds the bottleneck's output to the input of
    `final_norm`. The encoder's code and weights stay untouched.
    """

    def __init__(self, dim: int, bottleneck_dim: int, zero_init_up: bool):
        super().__init__()
        self.bottleneck = Bottleneck(dim, bottleneck_dim, zero_init_up)
        self._h_attn: torch.Tensor | None = None

    def attach(self, anatomy) -> list:
        def record(module, args):
            self._h_attn = args[0]

        def add(module, args):
            h_attn, self._h_attn = self._h_attn, None
            if h_attn is None:
                raise RuntimeError("source adapter: the final norm ran before the last layer's FFN")
            return (args[0] + self.bottleneck(h_attn),) + tuple(args[1:])

        return [
            anatomy.attention_output_site.register_forward_pre_hook(record),
            anatomy.final_norm.register_forward_pre_hook(add),
        ]


class HCABlock(nn.Module):
    """One decoder layer's bridge: H_out = H_llm + g * softmax(Q K^T / sqrt(d_k)) V + H_res.

    K = V = H'_enc W_proj is computed once per request by `project` and passed in; the query
    is the LLM hidden state at every position (and every generated token).
    """

    def __init__(self, encoder_dim: int, decoder_dim: int, config: HCAConfig):
        super().__init__()
        if decoder_dim % config.num_heads:
            raise ValueError(f"num_heads={config.num_heads} does not divide the LLM width {decoder_dim}")
        self.num_heads = config.num_heads
        self.proj = nn.Linear(encoder_dim, decoder_dim, bias=False)  # W_proj of eq. 3
        self.gate = nn.Parameter(torch.tensor(float(config.gate_init)))  # g of eq. 5
        self.query_norm = nn.RMSNorm(decoder_dim) if config.query_norm == "rms" else None
        self.q_proj = nn.Linear(decoder_dim, decoder_dim, bias=False) if config.qo_projections else None
        self.o_proj = nn.Linear(decoder_dim, decoder_dim, bias=False) if config.qo_projections else None
        if self.o_proj is not None and config.o_proj_init == "zero":
            nn.init.zeros_(self.o_proj.weight)
        head_dim = decoder_dim // config.num_heads
        qk = config.qk_norm == "rms"
        self.q_head_norm, self.k_head_norm = (nn.RMSNorm(head_dim), nn.RMSNorm(head_dim)) if qk else (None, None)
        zero = config.adapter_up_init == "zero"
        self.query_residual = (
            Bottleneck(decoder_dim, config.bottleneck_dim, zero) if config.query_residual_adapter else None
        )

    def project(self, encoder_states: torch.Tensor) -> torch.Tensor:
        """K (= V) of eq. 3, for all source positions: once per request.

        With qk_norm the normalised keys are computed here too, also once per request, and
        travel with the values as one tensor [K_normed | V] of width 2 * d_llm.
        """
        v = self.proj(encoder_states.to(self.proj.weight.dtype))
        if self.k_head_norm is None:
            return v
        b, s, d = v.shape
        k = self.k_head_norm(v.view(b, s, self.num_heads, d // self.num_heads)).view(b, s, d)
        return torch.cat([k, v], dim=-1)

    def forward(self, hidden: torch.Tensor, kv: torch.Tensor, kv_mask: torch.Tensor) -> torch.Tensor:
        """hidden: (B, T, d_llm); kv: (B, S, d_llm) from `project` ((B, S, 2 d_llm) with qk_norm);
        kv_mask: (B, S) bool, True = real token."""
        x = hidden.to(self.proj.weight.dtype)
        q = self.query_norm(x) if self.query_norm is not None else x
        if self.q_proj is not None:
            q = self.q_proj(q)
        b, t, d = q.shape
        h, dh = self.num_heads, d // self.num_heads
        q = q.view(b, t, h, dh).transpose(1, 2)
        if self.q_head_norm is not None:  # QK-norm: the scores only; V stays H W_proj
            q, (k, v) = self.q_head_norm(q), kv.split(d, dim=-1)
        else:
            k = v = kv
        k = k.reshape(b, k.shape[1], h, dh).transpose(1, 2)
        v = v.reshape(b, v.shape[1], h, dh).transpose(1, 2)
        # Padding in the source is never attended to (one public implementation forgot this).
        context = F.scaled_dot_product_attention(q, k, v, attn_mask=kv_mask[:, None, None, :],
                                                 scale=1.0 / math.sqrt(dh))
        context = context.transpose(1, 2).reshape(b, t, d)
        if self.o_proj is not None:
            context = self.o_proj(context)
        delta = self.gate * context
        if self.query_residual is not None:
            delta = delta + self.query_residual(x)
        return hidden + delta.to(hidden.dtype)
