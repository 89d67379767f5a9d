"""MoLoRA's two routers (the CrossLoRA paper's baselines, section 4.3) and the load-balancing loss.

    DirectionRouter      MoLoRA (Static): the row's direction label picks one expert, its A and
                         its B (eq. 3 with s one-hot on the direction)
    TopKRouter           MoLoRA (Top-k): the gating rule every layer's learned router applies,
                         s = softmax(W^MoL x) (eq. 2), kept for the top k experts; and the
                         load-balancing statistics of a training call
    load_balancing_loss  Switch Transformer's auxiliary loss, n * sum_i f_i P_i
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Sequence

import torch
import torch.nn.functional as F

from ...errors import InputError
from ...pairs import TranslationPair
from ..lora_experts import (ExpertRouter, RowRouter, Routing, language_or_as_given, refuse_unrouted,
                            side_language)
from .config import direction_name


class DirectionRouter(RowRouter):
    """One expert per translation direction: A and B of expert d for every row in direction d."""

    title = "MoLoRA"

    def __init__(self, directions: Sequence[tuple[str, str]]):
        self.expert = {direction: i for i, direction in enumerate(directions)}
        self.directions = [direction_name(*direction) for direction in directions]
        super().__init__(num_a=len(directions), num_b=len(directions))

    def check_direction(self, src_lang: str, tgt_lang: str) -> int:
        """The direction's expert, or an InputError naming the accepted directions."""
        direction = side_language(src_lang, "source"), side_language(tgt_lang, "target")
        if direction not in self.expert:
            raise InputError(f"direction {direction_name(*direction)} has no MoLoRA expert; this bridge's directions "
                             f"are {', '.join(self.directions)}")
        return self.expert[direction]

    def check_pairs(self, pairs: Sequence[TranslationPair]) -> None:
        directions = ((language_or_as_given(p.src_lang), language_or_as_given(p.tgt_lang)) for p in pairs)
        outside = Counter(direction_name(*d) for d in directions if d not in self.expert)
        refuse_unrouted(outside, "directions", self.title, self.directions,
                        "bridge.directions, or every ordered pair of bridge.languages")

    def route(self, src_langs: Sequence[str], tgt_langs: Sequence[str]) -> Routing:
        experts = torch.tensor([self.check_direction(s, t) for s, t in zip(src_langs, tgt_langs, strict=True)],
                               dtype=torch.long)
        return Routing(experts, experts)  # A and B of the same expert


class TopKRouter(ExpertRouter):
    """The top-k gating every TopKLoRALinear applies to its own router's logits (the weights
    W^MoL are per layer), and, while a training call records, each layer's load-balancing loss.

    Gates: the softmax over all experts (eq. 2), kept for the k most probable. With k > 1 the
    kept gates are renormalised to sum to 1 (Mixtral, ST-MoE); with k = 1 that would make every
    gate 1 and cut the router off from the translation loss, so the single gate keeps its
    probability, as in the Switch Transformer (y = p_i(x) E_i(x)): the router then learns from
    both the translation loss and the load-balancing loss.
    """

    def __init__(self, num_experts: int, top_k: int):
        self.num_experts, self.top_k = num_experts, top_k
        self._mask: torch.Tensor | None = None  # the call's attention mask: padding is no token
        self._masks_on: dict = {}
        self._losses: list[torch.Tensor] | None = None  # one per layer while recording

    def gate(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Router logits (..., n) -> the chosen experts (..., k) and their gates (..., k)."""
        probs = logits.softmax(-1)  # eq. 2
        kept, chosen = probs.topk(self.top_k, dim=-1)
        gates = kept / kept.sum(-1, keepdim=True) if self.top_k > 1 else kept
        if self._losses is not None:
            self._losses.append(load_balancing_loss(probs, chosen, self._token_mask(probs)))
        return chosen, gates

    def for_batch(self, batch: dict[str, torch.Tensor]) -> contextlib.AbstractContextManager:
        return self._masked(batch["attention_mask"])

    def replay(self) -> contextlib.AbstractContextManager:
        """Gradient checkpointing: a recomputed layer must save the tensors its first run saved, so
        it records a balance loss again when the first run did (into a list dropped afterwards:
        the first run's loss is the one that counts), under the same mask."""
        return self._replayed(self._mask, recording=self._losses is not None)

    @contextlib.contextmanager
    def _replayed(self, mask: torch.Tensor | None, recording: bool):
        with self._masked(mask), (self.recording() if recording else contextlib.nullcontext()):
            yield

    @contextlib.contextmanager
    def _masked(self, mask: torch.Tensor | None):
        previous = self._mask, self._masks_on
        self._mask, self._masks_on = mask, {}
        try:
            yield
        finally:
            self._mask, self._masks_on = previous

    def _token_mask(self, probs: torch.Tensor) -> torch.Tensor:
        """The call's attention mask on the layer's device (copied once per call), or every
        position when the call set none."""
        if self._mask is None:
            return torch.ones(probs.shape[:-1], dtype=torch.bool, device=probs.device)
        if probs.device not in self._masks_on:
            self._masks_on[probs.device] = self._mask.to(probs.device, torch.bool)
        mask = self._masks_on[probs.device]
        if mask.shape != probs.shape[:-1]:
            raise RuntimeError(f"a MoLoRA layer routed {tuple(probs.shape[:-1])} tokens under an attention mask of "
                               f"{tuple(mask.shape)}")
        return mask

    @contextlib.contextmanager
    def recording(self):
        """Within the block, each layer's gate adds its load-balancing loss (balance_loss)."""
        previous, self._losses = self._losses, []
        try:
            yield
        finally:
            self._losses = previous

    def balance_loss(self) -> torch.Tensor:
        """The mean of the recorded layers' losses: 1 for balanced routing whatever the number of
        layers, so the weight means the same on any LLM."""
        if not self._losses:
            raise RuntimeError("no MoLoRA layer was routed while recording the load-balancing loss")
        return torch.stack(self._losses).mean()


def load_balancing_loss(probs: torch.Tensor, chosen: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Switch Transformer's auxiliary loss (Fedus et al. 2022, eq. 4-6) over the tokens of `mask`:

        n * sum_i f_i P_i     f_i: the share of the tokens' choices that went to expert i
                              P_i: the mean router probability of expert i

    probs (..., n), chosen (..., k), mask (...). With k > 1 each token makes k choices and f_i is
    their share (sum_i f_i = 1), so the loss is 1 for perfectly balanced routing at any k. f is
    counted (no gradient); the gradient reaches the router through P.
    """
    n, k = probs.shape[-1], chosen.shape[-1]
    tokens = mask.bool()
    picked = F.one_hot(chosen[tokens], n).sum(-2).to(probs.dtype)  # (T, n): 1 where a token chose i
    f = picked.sum(0) / (picked.shape[0] * k)
    p = probs[tokens].mean(0)
    return n * (f * p).sum()
