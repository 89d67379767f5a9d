"""MoLoRA's layers: a frozen nn.Linear with n LoRA experts E_i = (A_i, B_i) beside it.

    DirectionLoRALinear  y = W0 x + scaling * B_d A_d dropout(x), d the row's direction     eq. 3, s one-hot
    TopKLoRALinear       y = W0 x + scaling * sum_{i in top-k} s_i B_i A_i dropout(x),
                         s = softmax(W^MoL x) per token, W^MoL this layer's router           eq. 2-3
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..lora_experts import ExpertLoRALinear, RowRoutedLoRALinear
from .routers import TopKRouter


class DirectionLoRALinear(RowRoutedLoRALinear):
    """MoLoRA static: RowRoutedLoRALinear with A and B of one expert per direction (DirectionRouter)."""

    prefix = "molora"  # molora_A, molora_B
    title = "MoLoRA"


class TopKLoRALinear(ExpertLoRALinear):
    """MoLoRA top-k: a learned router on the token's input picks k of the n experts per token.

    The router reads x itself (not the dropped-out x the experts read), in fp32, so R-Drop's two
    passes route alike. Its weight W^MoL (n, in) starts as the Switch Transformer's router does:
    truncated normal, std sqrt(0.1 / in), so the first routing is near uniform and random.

    Every expert's A x is computed and the experts not chosen are weighted 0, one matmul for all
    experts: n LoRAs' cost (the paper's 6 experts at r 16: 96 ranks, ~3% of Llama-3-8B's MLP
    matmuls), the same fixed shapes in training and in cached decoding, no gather per expert; an
    expert no token chose gets an exact zero gradient.
    """

    prefix = "molora"  # molora_A, molora_B, molora_router

    def __init__(self, base_layer: nn.Linear, router: TopKRouter, *, r: int, alpha: float, dropout: float):
        n = router.num_experts
        super().__init__(base_layer, num_a=n, num_b=n, r=r, alpha=alpha, dropout=dropout)
        self.router = router
        self.molora_router = nn.Parameter(torch.empty(n, base_layer.in_features, device=base_layer.weight.device,
                                                      dtype=torch.float32))
        std = math.sqrt(0.1 / base_layer.in_features)
        nn.init.trunc_normal_(self.molora_router, std=std, a=-2 * std, b=2 * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.base_layer(x)
        if self.router.off:
            return result
        h = x.to(self.molora_router.dtype)
        chosen, gates = self.router.gate(h @ self.molora_router.T)  # eq. 2, kept for the top k
        weights = torch.zeros(*h.shape[:-1], self.router.num_experts, dtype=h.dtype, device=h.device)
        weights = weights.scatter(-1, chosen, gates)  # s_i for a chosen expert, 0 for the rest
        experts_A, experts_B = self.experts_A, self.experts_B
        n, r = experts_A.shape[:2]
        low = self.dropout(h) @ experts_A.reshape(n * r, -1).T  # every expert's A_i x: (..., n * r)
        low = (low.unflatten(-1, (n, r)) * weights.unsqueeze(-1)).flatten(-2)
        delta = low @ experts_B.permute(1, 0, 2).reshape(-1, n * r).T  # sum_i s_i B_i A_i x   eq. 3
        return (result + delta * self.scaling).to(result.dtype)

    def extra_repr(self) -> str:
        return (f"experts {self.router.num_experts}, top_k={self.router.top_k}, r={self.experts_A.shape[1]}, "
                f"scaling={self.scaling}")
