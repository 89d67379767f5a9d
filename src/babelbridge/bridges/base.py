"""The interface every bridge (and every baseline) implements, so one harness runs them all.

A bridge owns its frozen backbones (a decoder-only LLM, and an encoder unless the method reads
the source through the LLM's prompt: `uses_encoder`) and its own small trainable modules. It
turns parallel text into a training batch (`collate`), a batch into a loss (`loss`), and
sources into translations (`translate`). Only its own parameters are trainable and saved.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar, Sequence

import torch
from torch import nn

from ..backbones import FrozenDecoder, FrozenEncoder
from ..errors import BabelBridgeError, InputError
from ..languages import get_language, normalize_language
from ..pairs import TranslationPair  # noqa: F401 (re-exported: bridges.base.TranslationPair)
from .rdrop import rdrop_loss

BACKBONE_PREFIXES = ("encoder.", "decoder.")


class Bridge(nn.Module):
    method: ClassVar[str]
    config_class: ClassVar[type]
    uses_encoder: ClassVar[bool] = True  # False: encoder is None (the LLM reads the source itself)
    uses_decoder: ClassVar[bool] = True  # False: no LLM at all (the NMT-alone baseline)
    trains: ClassVar[bool] = True  # False: nothing to train (a prompted baseline)
    # True: the LLM reads the source in its prompt, so translate() takes LMT's PMP options
    # (aux_texts / aux_lang: the same sentence in an auxiliary language, in the prompt). The
    # other bridges put the source elsewhere (encoder states, slots) and refuse those options.
    supports_pmp: ClassVar[bool] = False

    def __init__(self, encoder: FrozenEncoder | None, decoder: FrozenDecoder | None, config):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.config = config

    # ---- trainable part -------------------------------------------------------------------
    def train(self, mode: bool = True):
        super().train(mode)
        for backbone in self.backbones().values():
            backbone.eval()  # frozen backbones never train: no dropout, ever
        return self

    def backbones(self) -> dict[str, nn.Module]:
        """The frozen models this bridge has, by role ("encoder" only where the method uses one)."""
        found = {"encoder": self.encoder, "decoder": self.decoder}
        return {role: m for role, m in found.items() if m is not None}

    def trainable_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """The bridge's own parameters: what its checkpoint holds. The trainer optimises those of
        them that require grad (a stage may hold some fixed, e.g. LLINK's projector in stage B)."""
        return [(n, p) for n, p in self.named_parameters() if not n.startswith(BACKBONE_PREFIXES)]

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        return {n: p.detach() for n, p in self.trainable_named_parameters()}

    def parameter_counts(self) -> dict[str, int]:
        trainable = self.trainable_named_parameters()
        own = {id(p) for _, p in trainable}  # LoRA's weights sit inside the decoder: not frozen ones
        counts = {"trainable": sum(p.numel() for _, p in trainable if p.requires_grad)}
        fixed = sum(p.numel() for _, p in trainable if not p.requires_grad)
        if fixed:
            counts["bridge_fixed_in_this_stage"] = fixed
        for role, backbone in self.backbones().items():
            counts[role] = sum(p.numel() for p in backbone.parameters() if id(p) not in own)
        return counts

    def backbone_identities(self) -> dict[str, dict]:
        return {role: m.identity() for role, m in self.backbones().items()}

    # ---- lengths, for the data layer's over-long check ----------------------------------------
    def source_token_count(self, text: str) -> int:
        """Tokens a source takes in this bridge's input (compared with config.max_source_tokens)."""
        return len(self.encoder.tokenizer(text, add_special_tokens=False)["input_ids"]) + 2  # lang + eos

    def target_token_count(self, text: str) -> int:
        """Tokens a target takes, end of turn included (compared with config.max_target_tokens)."""
        return len(self.decoder.target_ids(text))

    def forward(self, batch: dict[str, torch.Tensor] | None, rdrop_alpha: float = 0.0, call=None):
        # Training goes through forward so that DDP (accelerate) sees the call it hooks. call: run
        # this instead of the loss: under FSDP2 the bridge's own parameters are gathered from
        # their shards only inside forward (the trainer's validation metrics run this way).
        if call is not None:
            return call()
        if rdrop_alpha:
            return self.rdrop_loss(batch, rdrop_alpha)
        return self.loss(batch)

    @property
    def _no_split_modules(self) -> list[str]:
        """The backbones' transformer-layer classes, from transformers' _no_split_modules: read by
        accelerate's FSDP TRANSFORMER_BASED_WRAP, which then shards each such layer on its own
        (configs/accelerate/fsdp2.yaml); a bridge is no PreTrainedModel, so it names none itself."""
        names = [n for backbone in self.backbones().values() for m in backbone.modules()
                 for n in getattr(type(m), "_no_split_modules", None) or []]
        return list(dict.fromkeys(names))

    # ---- R-Drop (train.rdrop_alpha; bridges/rdrop.py): for any bridge with answer logits + dropout
    def answer_logits(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The logits of the answer tokens `loss` scores and their labels (-100: not scored), as
        FrozenDecoder.answer_logits gives them; a bridge whose loss is that answer loss returns
        them, and R-Drop can then train it. Rows are the batch's rows."""
        raise NotImplementedError(f"{self.method} bridges do not give their answer logits")

    def rdrop_loss(self, batch: dict[str, torch.Tensor], alpha: float) -> torch.Tensor:
        """R-Drop's eq. 9: the batch stacked on itself (every batch tensor has one row per pair),
        one forward, rows i and B + i compared."""
        doubled = {k: torch.cat([v, v]) for k, v in batch.items()}
        logits, labels = self.answer_logits(doubled)
        rows = len(logits) // 2
        return rdrop_loss(logits[:rows], logits[rows:], labels[:rows], alpha)

    def has_dropout(self) -> bool:
        """Whether the trainable part has a dropout module (p > 0) active in training mode (the frozen
        backbones never drop anything)."""
        was_training = self.training
        self.train(True)
        try:
            return any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 and m.training for m in self.modules())
        finally:
            self.train(was_training)

    def check_rdrop(self, alpha: float) -> None:
        """train.rdrop_alpha > 0 needs two different passes (dropout) and the answer logits."""
        if not alpha:
            return
        if not self.has_dropout():
            raise BabelBridgeError(f"train.rdrop_alpha {alpha}: R-Drop compares two passes with different dropout "
                                   f"masks, and this {self.method} bridge's trainable part has no dropout (both passes "
                                   f"would be identical); give it a dropout above 0 (bridge.dropout for lora and "
                                   f"crosslora) or set train.rdrop_alpha to 0")
        if type(self).answer_logits is Bridge.answer_logits:
            raise BabelBridgeError(f"train.rdrop_alpha {alpha}: R-Drop needs the answer tokens' logits "
                                   f"(Bridge.answer_logits), which {self.method} bridges do not give")

    def check_pairs(self, pairs: Sequence[TranslationPair]) -> None:
        """Refuse training pairs this bridge cannot take, before any step (CrossLoRA: a direction
        outside its expert languages). Default: any pair."""

    # ---- what the trainer asks of a bridge beyond its loss (defaults fit an answer loss) ------
    def loss_weight(self, batch: dict[str, torch.Tensor]) -> int:
        """What this micro-batch's mean loss weighs in its step's mean: its scored answer tokens
        (an answer loss is a mean over tokens); a loss over pairs (LLINK's stage A) counts pairs."""
        return int((batch["labels"][:, 1:] != -100).sum())

    def begin_step(self, step: int, total_steps: int) -> None:
        """Called before step `step` (0-based) of `total_steps`: for schedules inside the loss."""

    def end_step(self, gather) -> None:
        """Called after the optimiser step; gather(tensor) concatenates a tensor over processes."""

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Training state that is not a parameter (LLINK's queue of teacher vectors): saved in
        every trainer checkpoint and restored on resume, so a resumed run is bit-identical."""
        return {}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        if tensors:
            raise ValueError(f"{self.method} bridges keep no extra training state, got {sorted(tensors)}")

    def mismatched_source(self, pair: TranslationPair, donor: TranslationPair) -> TranslationPair:
        """`pair` with the source of another pair, `donor`: the trainer's source gap (train.eval_source_gap)
        scores these. Default: the donor's text in the donor's language."""
        return replace(pair, src=donor.src, src_lang=donor.src_lang)

    def validation_metrics(self, pairs: Sequence[TranslationPair], batch_size: int) -> dict[str, float]:
        """Figures beyond the validation loss, logged with it (e.g. LLINK's retrieval R@1)."""
        return {}

    def init_parameter_names(self, metadata: dict) -> list[str]:
        """Which of this bridge's parameters a checkpoint given as train.init_from must supply
        (metadata: its bridge.json); the rest keep their initial values. Default: all of them."""
        return [n for n, _ in self.trainable_named_parameters()]

    @classmethod
    def needs_nmt_decoder(cls, config: dict) -> bool:
        """Whether a bridge of this config needs its encoder's NMT decoder too (XBridge's decoder
        side): the encoder spec is then loaded with both halves (backbones.load_nmt)."""
        return False

    @classmethod
    def translates(cls, config: dict) -> bool:
        """Whether a bridge of this config translates (LLINK's stage A only aligns vectors)."""
        return True

    # ---- what each method implements --------------------------------------------------------
    def collate(self, pairs: Sequence[TranslationPair]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def generate_batch(self, texts: list[str], src_lang: str, tgt_lang: str, **generation) -> list[str]:
        raise NotImplementedError

    # ---- shared ------------------------------------------------------------------------------
    def instruction(self, tgt_lang: str) -> str:
        lang = get_language(tgt_lang)
        return self.config.instruction.format(tgt_name=lang.name, tgt_code=lang.code)

    @torch.no_grad()
    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str = "eng_Latn", *,
                  batch_size: int = 16, aux_texts: Sequence[str] | None = None, aux_lang: str | None = None,
                  **generation) -> list[str]:
        """Translate in length-sorted batches; results come back in input order.

        Every line is checked before anything runs, so one bad line fails the call up front
        instead of after minutes of work. aux_texts / aux_lang (LMT's PMP) are taken only by
        bridges that read the source in their prompt (supports_pmp: PromptedBridge overrides this).
        """
        self.refuse_pmp(aux_texts, aux_lang)
        src_lang, tgt_lang = normalize_language(src_lang), normalize_language(tgt_lang)
        return self.in_sorted_batches(texts, batch_size,
                                      lambda batch: self.generate_batch(batch, src_lang, tgt_lang, **generation))

    def translate_multi(self, texts: Sequence[str], src_lang: str, tgt_langs: Sequence[str], *,
                        batch_size: int = 16, **generation) -> dict[str, list[str]]:
        """translate() into each of tgt_langs: {language: outputs in input order}. A bridge that
        can serve several languages from one pass (XBridge: one LLM pass, one NMT decoding per
        language) overrides this; here it is one translate() per language."""
        langs = list(dict.fromkeys(normalize_language(lang) for lang in tgt_langs))
        if not langs:
            raise InputError("tgt_langs is empty: give at least one target language")
        return {lang: self.translate(texts, src_lang, lang, batch_size=batch_size, **generation) for lang in langs}

    def refuse_pmp(self, aux_texts, aux_lang) -> None:
        """PMP options on a bridge that does not read the source in its prompt: a clear error."""
        if (aux_texts is not None or aux_lang is not None) and not self.supports_pmp:
            # The methods that take PMP, from the subclasses (the registry imports this module).
            found, todo = [], [Bridge]
            while todo:
                cls = todo.pop(0)
                todo += cls.__subclasses__()
                if cls.supports_pmp and getattr(cls, "method", None) and cls.method not in found:
                    found.append(cls.method)
            methods = ", ".join(found)
            raise InputError(f"aux_texts/aux_lang: PMP needs a bridge that reads the source in its prompt: "
                             f"{methods}; this is a {self.method} bridge")

    @staticmethod
    def check_texts(texts: Sequence[str], what: str = "input") -> None:
        """A list of non-empty texts, or an InputError naming the bad indexes."""
        if isinstance(texts, str):
            raise InputError("translate() takes a list of texts, not a single string"
                             + (f" ({what}s)" if what != "input" else ""))
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
        if bad:
            shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
            raise InputError(f"{len(bad)} empty or non-text {what}(s) at index {shown}; "
                             f"every {what} must be non-empty text")

    def in_sorted_batches(self, texts: Sequence[str], batch_size: int, run, extra: Sequence | None = None) -> list:
        """run(batch of texts) -> one result per text, over length-sorted batches (less padding),
        in eval mode; the results in input order. Empty or non-text inputs fail before any run.
        extra: one item per text (e.g. PMP's auxiliary sentences), sorted along with the texts:
        then run(batch of texts, their extras)."""
        self.check_texts(texts)
        if extra is not None and len(extra) != len(texts):
            raise InputError(f"{len(extra)} extra item(s) for {len(texts)} text(s); give one per text")
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        results: list = [None] * len(texts)
        was_training = self.training
        self.eval()
        try:
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = [texts[i] for i in idx]
                outputs = run(batch) if extra is None else run(batch, [extra[i] for i in idx])
                for i, out in zip(idx, outputs, strict=True):
                    results[i] = out
        finally:
            self.train(was_training)
        return results
