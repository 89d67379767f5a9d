"""A frozen nn.Linear with LoRA experts beside it, and the per-row way of running them.

    ExpertLoRALinear     the frozen W0 and the experts: A (num_a, r, in), B (num_b, out, r)
    RowRoutedLoRALinear  y = W0 x + scaling * B[expert_b] A[expert_a] dropout(x), per row
                         (CrossLoRA's eq. 4 with A_src, B_tgt; MoLoRA static's one-hot eq. 3)

Why not peft: a peft LoRA layer holds adapters by name and runs each adapter's A with the same
adapter's B (set_adapter / mixed-batch adapter_names pick whole adapters, A and B together);
CrossLoRA pairs A of one expert with B of another, and MoLoRA top-k weighs experts per token.
So the layer is written here: small, the shape of peft's LoraLayer (a wrapped nn.Linear, frozen
base, dropout on the input, A Kaiming-uniform, B zero so the LLM starts unchanged, fp32 weights).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from .routing import RowRouter


class ExpertLoRALinear(nn.Module):
    """The frozen base layer and the experts, one slice per expert, each slice initialised as peft
    initialises a LoRA pair. The parameters are named `{prefix}_A` / `{prefix}_B` (crosslora_A,
    molora_A: the checkpoint's names say the method); forward is the subclass's."""

    prefix: ClassVar[str]

    def __init__(self, base_layer: nn.Linear, *, num_a: int, num_b: int, r: int, alpha: float, dropout: float):
        super().__init__()
        self.base_layer = base_layer
        self.scaling = alpha / r
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        weight = base_layer.weight
        # fp32 experts on any LLM dtype, like every adapter here (peft: cast_adapter_dtype)
        experts_a = nn.Parameter(torch.empty(num_a, r, base_layer.in_features, device=weight.device,
                                             dtype=torch.float32))
        experts_b = nn.Parameter(torch.zeros(num_b, base_layer.out_features, r, device=weight.device,
                                             dtype=torch.float32))
        for expert in experts_a:  # peft's LoRA A init, per expert (fan-in = in_features)
            nn.init.kaiming_uniform_(expert, a=math.sqrt(5))
        self.register_parameter(f"{self.prefix}_A", experts_a)
        self.register_parameter(f"{self.prefix}_B", experts_b)

    @property
    def experts_A(self) -> nn.Parameter:
        return getattr(self, f"{self.prefix}_A")

    @property
    def experts_B(self) -> nn.Parameter:
        return getattr(self, f"{self.prefix}_B")

    @property
    def in_features(self) -> int:
        return self.base_layer.in_features

    @property
    def out_features(self) -> int:
        return self.base_layer.out_features

    def own_parameters(self) -> list[nn.Parameter]:
        """What trains: everything but the frozen base layer."""
        return [p for n, p in self.named_parameters() if not n.startswith("base_layer.")]


class RowRoutedLoRALinear(ExpertLoRALinear):
    """Each row runs the A and B expert its direction's labels chose (router.current):

        y = W0 x + scaling * B[expert_b] A[expert_a] dropout(x),   scaling = alpha / r

    A batch whose rows share one A (B) expert multiplies by that slice (the fast path: the same
    matmuls as plain LoRA); a mixed batch gathers each row's slice and multiplies row by row
    (bmm). No weights are merged, so any mix of directions runs in one batch. An expert no row of
    a batch routes to gets a zero gradient slice (not None: the experts are one tensor), so Adam's
    momentum and weight decay still move it a little, as they would any weight with a zero
    gradient; batches that mix the directions use every expert anyway.
    """

    title: ClassVar[str]  # the method's name in messages

    def __init__(self, base_layer: nn.Linear, router: RowRouter, *, r: int, alpha: float, dropout: float):
        super().__init__(base_layer, num_a=router.num_a, num_b=router.num_b, r=r, alpha=alpha, dropout=dropout)
        self.router = router

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.base_layer(x)
        if self.router.off:
            return result
        routing = self.router.current
        if routing is None:
            raise RuntimeError(f"a {self.title} layer ran with no direction set: the bridge routes each call "
                               f"(loss, answer_logits, generate_token_ids); call the LLM through them")
        if x.dim() != 3 or x.shape[0] != routing.rows:
            raise RuntimeError(f"a {self.title} layer got input of shape {tuple(x.shape)} for a routing of "
                               f"{routing.rows} rows (expand it with repeat_rows(num_beams) before generating)")
        experts_A, experts_B = self.experts_A, self.experts_B
        h = self.dropout(x.to(experts_A.dtype))
        expert_a, expert_b = routing.indices_on(x.device)
        if routing.uniform_a is not None:  # one A for the whole batch
            h = h @ experts_A[routing.uniform_a].T
        else:  # row i: A[expert_a[i]]: (rows, r, in)
            h = torch.bmm(h, experts_A[expert_a].transpose(1, 2))
        if routing.uniform_b is not None:
            h = h @ experts_B[routing.uniform_b].T
        else:
            h = torch.bmm(h, experts_B[expert_b].transpose(1, 2))
        return (result + h * self.scaling).to(result.dtype)

    def extra_repr(self) -> str:
        return (f"experts A {self.router.num_a}, B {self.router.num_b}, r={self.experts_A.shape[1]}, "
                f"scaling={self.scaling}")
