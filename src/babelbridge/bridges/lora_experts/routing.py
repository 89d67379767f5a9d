"""Routers: what picks the LoRA experts of one call (a loss, a generate).

    ExpertRouter   what a bridge asks of any router; the defaults fit a router that reads no
                   labels (MoLoRA top-k: a learned router inside each layer picks per token)
    RowRouter      routes each row by its direction's labels: the batch's Routing is set for one
                   call, and every layer of the model reads it (CrossLoRA, MoLoRA static)
    Routing        one batch's choice: an A expert and a B expert index per row
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import torch

from ...errors import BabelBridgeError, InputError
from ...languages import UnknownLanguageError, normalize_language
from ...pairs import TranslationPair


@dataclass
class Routing:
    """The experts of one batch: expert_a[i] (row i's LoRA A) and expert_b[i] (its LoRA B).
    Built on the CPU from the language labels."""

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


class ExpertRouter:
    """The router's side of a bridge with LoRA experts (lora_experts.bridge.ExpertLoRABridge).
    Each method is called by the bridge; a router that needs no labels keeps the defaults."""

    def check_pairs(self, pairs: Sequence[TranslationPair]) -> None:
        """Refuse training pairs this router cannot route, all named at once. Default: any pair."""

    def check_direction(self, src_lang: str, tgt_lang: str) -> None:
        """An InputError for a direction this router cannot route. Default: any direction."""

    def batch_fields(self, pairs: Sequence[TranslationPair]) -> dict[str, torch.Tensor]:
        """What collate adds to a training batch so that the call can be routed later."""
        return {}

    def for_batch(self, batch: dict[str, torch.Tensor]) -> contextlib.AbstractContextManager:
        """The routing of a loss / answer_logits call on `batch`, for the length of the block."""
        return contextlib.nullcontext()

    def for_generation(self, src_langs: list[str], tgt_langs: list[str],
                       num_beams: int) -> contextlib.AbstractContextManager:
        """The routing of a generate call, one direction per row (checked on entry)."""
        return contextlib.nullcontext()

    def replay(self) -> contextlib.AbstractContextManager:
        """FrozenDecoder.recompute_state: the routing in force now, re-entered while backward
        recomputes a layer under gradient checkpointing (the call's block has ended by then)."""
        return contextlib.nullcontext()

    off = False  # experts_off(): every expert layer runs its frozen Linear alone

    @contextlib.contextmanager
    def experts_off(self):
        """Every expert layer runs its frozen Linear alone for the length of the block: the LLM
        exactly as it was, on the same model object (a benchmark's plain-LLM rows)."""
        previous, self.off = self.off, True
        try:
            yield
        finally:
            self.off = previous


class RowRouter(ExpertRouter):
    """A router that picks each row's A and B expert from its direction's labels (route); the
    routing of the call in progress is `current`, which every RowRoutedLoRALinear reads."""

    title = "expert"  # the method's name in messages: "CrossLoRA", "MoLoRA"

    def __init__(self, num_a: int, num_b: int):
        self.num_a, self.num_b = num_a, num_b
        self.current: Routing | None = None

    def route(self, src_langs: Sequence[str], tgt_langs: Sequence[str]) -> Routing:
        raise NotImplementedError

    def batch_fields(self, pairs: Sequence[TranslationPair]) -> dict[str, torch.Tensor]:
        routing = self.route([p.src_lang for p in pairs], [p.tgt_lang for p in pairs])
        return {"expert_a": routing.expert_a, "expert_b": routing.expert_b}

    def for_batch(self, batch: dict[str, torch.Tensor]) -> contextlib.AbstractContextManager:
        # R-Drop's doubled batch doubles these rows too: each pass keeps its pair's experts.
        return self.routed(Routing(batch["expert_a"], batch["expert_b"]))

    def for_generation(self, src_langs: list[str], tgt_langs: list[str],
                       num_beams: int) -> contextlib.AbstractContextManager:
        # generate expands row i into its beams in place: the routing follows.
        return self.routed(self.route(src_langs, tgt_langs).repeat_rows(num_beams))

    def replay(self) -> contextlib.AbstractContextManager:
        return self.routed(self.current)

    @contextlib.contextmanager
    def routed(self, routing: Routing | None):
        """Every layer uses `routing` for the length of the block (one loss or generate)."""
        previous, self.current = self.current, routing
        try:
            yield
        finally:
            self.current = previous


def side_language(lang: str, side: str) -> str:
    """The FLORES-200 code of one side of a direction, or an InputError naming that side."""
    try:
        return normalize_language(lang)
    except UnknownLanguageError as err:
        raise InputError(f"{side} language: {err}") from None


def language_or_as_given(lang: str) -> str:
    """A language's FLORES-200 code, or the label itself when it is none (for listing it in an error)."""
    try:
        return normalize_language(lang)
    except UnknownLanguageError:
        return lang


def refuse_unrouted(outside: Counter, kind: str, title: str, accepted: Sequence[str], option: str) -> None:
    """The trainer's up-front refusal: every label outside the router (`kind`: languages,
    directions) with its count of pairs, and the accepted ones."""
    if outside:
        found = ", ".join(f"{label} ({n} pair{'s' if n > 1 else ''})" for label, n in sorted(outside.items()))
        raise BabelBridgeError(f"pairs in {kind} with no {title} expert: {found}; this bridge's {kind} are "
                               f"{', '.join(accepted)} ({option})")
