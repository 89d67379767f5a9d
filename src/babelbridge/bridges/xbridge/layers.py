"""XBridge's cross-model mappings (Sec. 3.1). The OT alignment losses are in ot.py."""

from __future__ import annotations

import torch
from torch import nn


class MappingBlock(nn.Module):
    """RMSNorm -> Linear -> SiLU -> Linear: the paper's "two-layer MLP"."""

    def __init__(self, d_in: int, d_mid: int, d_out: int, eps: float):
        super().__init__()
        self.norm = nn.RMSNorm(d_in, eps=eps)
        self.up = nn.Linear(d_in, d_mid)
        self.act = nn.SiLU()
        self.down = nn.Linear(d_mid, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.act(self.up(self.norm(x))))


class Mapping(nn.Sequential):
    """`blocks` MappingBlocks d_in -> d_mid -> ... -> d_out. The encoder side is one block (NMT
    encoder states -> LLM input embeddings), the decoder side two (the paper's four-layer MLP:
    LLM hidden states -> the NMT decoder's cross-attention memory)."""

    def __init__(self, d_in: int, d_mid: int, d_out: int, blocks: int, eps: float):
        widths = [d_in] + [d_mid] * (blocks - 1) + [d_out]
        super().__init__(*(MappingBlock(widths[i], d_mid, widths[i + 1], eps) for i in range(blocks)))


class EncoderMapping(nn.Module):
    """The encoder side: the mapping, and the learned end-boundary vector that closes the mapped
    source in the LLM's input (zero at the start, as in the public code)."""

    def __init__(self, d_enc: int, d_mid: int, d_llm: int, eps: float):
        super().__init__()
        self.mapping = Mapping(d_enc, d_mid, d_llm, 1, eps)
        self.end_boundary = nn.Parameter(torch.zeros(d_llm))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.mapping(states)
