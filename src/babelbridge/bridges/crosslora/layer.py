"""The pieces of CrossLoRA (paper section 3.2), each readable on its own.

    StaticRouter      f(x; i, j) of eq. 5: a row's source language picks its A, its target its B
    Routing           one batch's choice: an A expert and a B expert index per row
    CrossLoRALinear   y = W0 x + scaling * B_tgt A_src x, per row                      eq. 4

Why not peft: a peft LoRA layer holds adapters by name and runs each adapter's A with the same
adapter's B (set_adapter / mixed-batch adapter_names pick whole adapters, A and B together).
CrossLoRA's point is the cross pairing, A of the source language with B of the target, so the
layer is written here: small, the shape of peft's LoraLayer (a wrapped nn.Linear, frozen base,
dropout on the input, A Kaiming-uniform, B zero so the LLM starts unchanged, fp32 weights).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import nn

from ...errors import InputError
from ...languages import UnknownLanguageError, normalize_language


@dataclass
class Routing:
    """The experts of one batch: expert_a[i] (LoRA A, from row i's source language) and expert_b[i]
    (LoRA B, from its target language). Built on the CPU from the language labels."""

    expert_a: torch.Tensor  # (rows,) long
    expert_b: torch.Tensor  # (rows,) long
    # The one A (B) expert every row uses, or None for a mixed batch: then one matmul, not a gather.
    uniform_a: int | None = field(init=False)
    uniform_b: int | None = field(init=False)
    _on: dict = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self):
        self.uniform_a, self.uniform_b = _uniform(self.expert_a), _uniform(self.expert_b)

    @property
    def rows(self) -> int:
        return len(self.expert_a)

    def repeat_rows(self, n: int) -> "Routing":
        """Each row repeated n times in place (row i -> rows i*n .. i*n+n-1): generate's order of
        beams, so row i's beams keep row i's experts."""
        if n == 1:
            return self
        return Routing(self.expert_a.repeat_interleave(n), self.expert_b.repeat_interleave(n))

    def indices_on(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The index tensors on the layer's device, copied once per batch, not once per layer."""
        if device not in self._on:
            self._on[device] = (self.expert_a.to(device), self.expert_b.to(device))
        return self._on[device]


def _uniform(experts: torch.Tensor) -> int | None:
    values = experts.unique()
    return int(values[0]) if len(values) == 1 else None


class StaticRouter:
    """Eq. 5: f(x; i, j) = 1 exactly for i = the row's source expert, j = its target expert.

    languages -> expert groups (config.expert_groups: one per language, or merged by typology);
    A experts are the groups (one in all with shared_source), B experts likewise (shared_target).
    The router also holds the routing of the call in progress (`current`), which every
    CrossLoRALinear of the model reads: the bridge sets it for one loss or generate call.
    """

    def __init__(self, languages: Sequence[str], groups: dict[str, str], shared_source: bool, shared_target: bool):
        self.languages = list(languages)
        self.groups = list(dict.fromkeys(groups[lang] for lang in self.languages))  # expert order: first seen
        self.expert = {lang: self.groups.index(groups[lang]) for lang in self.languages}
        self.shared_source, self.shared_target = shared_source, shared_target
        self.num_a = 1 if shared_source else len(self.groups)
        self.num_b = 1 if shared_target else len(self.groups)
        self.current: Routing | None = None
        self.off = False  # experts_off(): the layers run their frozen Linear alone

    def check(self, lang: str, side: str) -> str:
        """The FLORES-200 code of an expert language, or an InputError naming the accepted ones."""
        try:
            code = normalize_language(lang)
        except UnknownLanguageError as err:
            raise InputError(f"{side} language: {err}") from None
        if code not in self.expert:
            raise InputError(f"{side} language {code} has no CrossLoRA expert; this bridge's languages are "
                             f"{', '.join(self.languages)}")
        return code

    def route(self, src_langs: Sequence[str], tgt_langs: Sequence[str]) -> Routing:
        """Each row's experts; every language must be an expert language, shared experts or not."""
        srcs = [self.check(lang, "source") for lang in src_langs]
        tgts = [self.check(lang, "target") for lang in tgt_langs]
        a = [0 if self.shared_source else self.expert[lang] for lang in srcs]
        b = [0 if self.shared_target else self.expert[lang] for lang in tgts]
        return Routing(torch.tensor(a, dtype=torch.long), torch.tensor(b, dtype=torch.long))

    @contextlib.contextmanager
    def routed(self, routing: Routing | None):
        """Every CrossLoRA layer uses `routing` for the length of the block (one loss or generate)."""
        previous, self.current = self.current, routing
        try:
            yield
        finally:
            self.current = previous

    @contextlib.contextmanager
    def experts_off(self):
        """Every CrossLoRA layer runs its frozen Linear alone for the length of the block: the LLM
        exactly as it was, on the same model object (a benchmark's plain-LLM rows)."""
        previous, self.off = self.off, True
        try:
            yield
        finally:
            self.off = previous


class CrossLoRALinear(nn.Module):
    """A frozen nn.Linear plus per-language LoRA experts, crossed (eq. 4-5):

        y = W0 x + scaling * B[expert_b] A[expert_a] dropout(x),   scaling = alpha / r

    A: (num_a, r, in) and B: (num_b, out, r), one slice per expert, each slice initialised as
    peft initialises a LoRA pair. A batch whose rows share one A (B) expert multiplies by that
    slice (the fast path: the same matmuls as plain LoRA); a mixed batch gathers each row's
    slice and multiplies row by row (bmm). No weights are merged, so any mix of directions runs
    in one batch. An expert no row of a batch routes to gets a zero gradient slice (not None: the
    experts are one tensor), so Adam's momentum and weight decay still move it a little, as they
    would any weight with a zero gradient; batches that mix the directions (the paper's 32 pairs
    over 10) use every expert anyway.
    """

    def __init__(self, base_layer: nn.Linear, router: StaticRouter, *, r: int, alpha: float, dropout: float):
        super().__init__()
        self.base_layer = base_layer
        self.router = router
        self.scaling = alpha / r
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        weight = base_layer.weight
        # fp32 experts on any LLM dtype, like every adapter here (peft: cast_adapter_dtype)
        self.crosslora_A = nn.Parameter(torch.empty(router.num_a, r, base_layer.in_features,
                                                    device=weight.device, dtype=torch.float32))
        self.crosslora_B = nn.Parameter(torch.zeros(router.num_b, base_layer.out_features, r,
                                                    device=weight.device, dtype=torch.float32))
        for expert in self.crosslora_A:  # peft's LoRA A init, per expert (fan-in = in_features)
            nn.init.kaiming_uniform_(expert, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.base_layer(x)
        if self.router.off:
            return result
        routing = self.router.current
        if routing is None:
            raise RuntimeError("a CrossLoRA layer ran with no direction set: the bridge routes each call "
                               "(loss, answer_logits, generate_token_ids); call the LLM through them")
        if x.dim() != 3 or x.shape[0] != routing.rows:
            raise RuntimeError(f"a CrossLoRA layer got input of shape {tuple(x.shape)} for a routing of "
                               f"{routing.rows} rows (expand it with repeat_rows(num_beams) before generating)")
        h = self.dropout(x.to(self.crosslora_A.dtype))
        expert_a, expert_b = routing.indices_on(x.device)
        if routing.uniform_a is not None:  # one A for the whole batch
            h = h @ self.crosslora_A[routing.uniform_a].T
        else:  # row i: A[expert_a[i]]: (rows, r, in)
            h = torch.bmm(h, self.crosslora_A[expert_a].transpose(1, 2))
        if routing.uniform_b is not None:
            h = h @ self.crosslora_B[routing.uniform_b].T
        else:
            h = torch.bmm(h, self.crosslora_B[expert_b].transpose(1, 2))
        return (result + h * self.scaling).to(result.dtype)

    def extra_repr(self) -> str:
        return (f"experts A {self.router.num_a}, B {self.router.num_b}, r={self.crosslora_A.shape[1]}, "
                f"scaling={self.scaling}")
