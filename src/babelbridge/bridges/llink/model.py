"""LLINK, "Languages are Modalities" (shared/papers/llink-languages-are-modalities.txt).

    source text -> frozen encoder -> masked mean pool                 -> z        (4.1)
    z -> Projector                                                    -> p        (4.1)
    stage A ("align"): the frozen LLM reads the English sentence followed by one reserved
        position inside the instruction; its last hidden state there is the teacher h.
        loss: symmetric InfoNCE(p, h) with queued hard negatives + MSE + log-norm
    stage B ("inject"): p -> SlotExpander -> K soft slots, written into the LLM's input
        embeddings at K reserved positions of the instruction; LoRA in the LLM reads them.
        loss: answer loss + every N-th step w * max(0, L_SFT - L_zero)           (4.2)

Nothing in a backbone is resized or edited: the reserved positions hold a placeholder id whose
embedding is replaced in a copy of the input embeddings (config.placeholder). One encoder pass
and one projection per sentence; the LLM then generates from K slots instead of the source's
own tokens, so a request costs the LLM the instruction + K positions whatever the source's length.
"""

from __future__ import annotations

import contextlib
import hashlib
from typing import Sequence

import torch
from torch import nn

from ...backbones import FrozenDecoder, FrozenEncoder
from ...errors import BabelBridgeError, InputError
from ...languages import get_language
from ...padding import right_pad
from ...ranking import retrieval_scores
from ..base import BACKBONE_PREFIXES, Bridge, TranslationPair
from ..generation import decode_config, until_stop
from ..lora.inject import inject_lora, is_lora_parameter, lora_disabled, set_lora_dropout
from .config import SOURCE, LLINKConfig
from .layers import Projector, SlotExpander, TeacherQueue, alignment_loss, mean_pool, temperature_at, usage_penalty


def sentence_key(text: str) -> int:
    """A stable 63-bit key of a sentence: the same English sentence is never its own negative."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little") >> 1


class LLINKBridge(Bridge):
    method = "llink"
    config_class = LLINKConfig

    def __init__(self, encoder: FrozenEncoder, decoder: FrozenDecoder, config: LLINKConfig):
        identity = decoder.identity()  # recorded before peft adds LoRA's weights (stage B)
        super().__init__(encoder, decoder, config)
        self._decoder_identity = identity
        d_enc, d_llm = encoder.hidden_size, decoder.hidden_size
        self.projector = Projector(d_enc, config.projector_hidden or 4 * d_enc, d_llm, config.projector_dropout)
        embeddings = decoder.model.get_input_embeddings().weight
        self.placeholder_id, placeholder = self._placeholder(embeddings)
        self.register_buffer("placeholder_embedding", placeholder, persistent=False)
        self._step, self._total_steps = 0, 1
        self._pending: list[tuple[torch.Tensor, torch.Tensor]] = []  # this step's teachers, queued at its end
        self._prompts: dict[str, tuple[list[int], list[int]]] = {}
        self._validation_teachers: tuple[tuple, torch.Tensor | None] = ((), None)
        if config.stage == "align":
            self.queue, self.slots = TeacherQueue(config.queue_size, d_llm), None
        else:
            self.queue = None
            rms = embeddings.detach().float().pow(2).mean().sqrt().item()
            self.slots = SlotExpander(d_llm, config.num_slots, config.slot_mode, init_scale=rms)
            self.projector.requires_grad_(config.train_projector)
            inject_lora(decoder, r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout,
                        target_modules=config.lora_targets)
        self.train(self.training)

    def _placeholder(self, embeddings: torch.Tensor) -> tuple[int, torch.Tensor]:
        """The id placed at reserved positions and the embedding they hold when no slot is written."""
        if self.config.placeholder == "mean":  # the id is only a stand-in (its embedding is replaced): unk
            tok = self.decoder.tokenizer      # rather than pad, which is the end-of-turn token in SmolLM2
            stand_in = tok.unk_token_id if tok.unk_token_id is not None else self.decoder.pad_token_id
            return stand_in, embeddings.detach().float().mean(0).to(embeddings.dtype)
        ids = self.decoder.tokenizer(self.config.placeholder, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise BabelBridgeError(f"placeholder {self.config.placeholder!r} is {len(ids)} tokens of "
                                   f"{self.decoder.spec}; it must be exactly one (or \"mean\": the mean input "
                                   f"embedding)")
        return ids[0], embeddings[ids[0]].detach().clone()

    # ---- the bridge's own parameters -----------------------------------------------------------
    def trainable_named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(n, p) for n, p in self.named_parameters()
                if not n.startswith(BACKBONE_PREFIXES) or is_lora_parameter(n)]

    def backbone_identities(self) -> dict[str, dict]:
        return {"encoder": self.encoder.identity(), "decoder": self._decoder_identity}

    def train(self, mode: bool = True):
        super().train(mode)
        if self.config.stage == "inject":
            set_lora_dropout(self.decoder, mode)
            if not self.config.train_projector:
                self.projector.eval()  # held fixed in stage B: no dropout noise on the slots
        return self

    def init_parameter_names(self, metadata: dict) -> list[str]:
        """Stage B starts from stage A's projector; a stage-B checkpoint gives everything."""
        if (metadata.get("config") or {}).get("stage", "align") == "align":
            return [n for n, _ in self.trainable_named_parameters() if n.startswith("projector.")]
        return super().init_parameter_names(metadata)

    @classmethod
    def translates(cls, config: dict) -> bool:
        return (config or {}).get("stage", "align") == "inject"

    # ---- prompts -------------------------------------------------------------------------------
    def prompt_parts(self, tgt_lang: str) -> tuple[list[int], list[int]]:
        """The instruction's ids before and after {source}, for this target language."""
        if tgt_lang not in self._prompts:
            lang = get_language(tgt_lang)
            instruction = self.config.instruction.format(tgt_name=lang.name, tgt_code=lang.code, source=SOURCE)
            self._prompts[tgt_lang] = self.decoder.prompt_around(instruction, SOURCE, self.config.system_prompt)
        return self._prompts[tgt_lang]

    def slot_prompt(self, tgt_lang: str) -> list[int]:
        """Stage B's prompt: K reserved positions where the source goes."""
        before, after = self.prompt_parts(tgt_lang)
        return before + [self.placeholder_id] * self.config.num_slots + after

    def slot_columns(self, tgt_lang: str) -> slice:
        """Where the K slots sit in slot_prompt(tgt_lang)."""
        start = len(self.prompt_parts(tgt_lang)[0])
        return slice(start, start + self.config.num_slots)

    def marker_prompt(self, text: str, tgt_lang: str, *, whole: bool = False) -> list[int]:
        """The teacher's prompt: the sentence where the source goes (cut at max_target_tokens
        unless whole), then one reserved position (what follows it is never read: the LLM is causal)."""
        before, _ = self.prompt_parts(tgt_lang)
        ids = self.decoder.tokenizer(text, add_special_tokens=False)["input_ids"]
        return before + (ids if whole else ids[: self.config.max_target_tokens]) + [self.placeholder_id]

    def loss_weight(self, batch: dict[str, torch.Tensor]) -> int:
        if self.config.stage == "align":
            return len(batch["keys"])  # InfoNCE is a mean over pairs
        return super().loss_weight(batch)

    # ---- the pieces of the forward pass ---------------------------------------------------------
    def project(self, source_ids: torch.Tensor, source_mask: torch.Tensor) -> torch.Tensor:
        """p = Projector(z): one encoder pass and one projection per sentence."""
        device = next(self.encoder.parameters()).device
        states = self.encoder(source_ids.to(device), source_mask.to(device))
        return self.projector(mean_pool(states, source_mask.to(device)))

    def write(self, input_ids: torch.Tensor, reserved: torch.Tensor, slots: torch.Tensor | None = None) -> torch.Tensor:
        """The input embeddings of input_ids with the reserved positions (a (B, L) mask) holding
        `slots` (B, K, d), K a row, in order; or, with no slots, the placeholder's embedding.
        The frozen embedding matrix is only read."""
        embeds = self.decoder.embed(input_ids)
        reserved = reserved.to(embeds.device)
        if slots is None:
            return torch.where(reserved[..., None], self.placeholder_embedding.to(embeds), embeds)
        out = embeds.clone()
        out[reserved] = slots.reshape(-1, slots.shape[-1]).to(out.dtype)  # row-major: row i's K slots in order
        return out

    @torch.no_grad()
    def teacher_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                       markers: torch.Tensor) -> torch.Tensor:
        """h: the frozen LLM's last hidden state at each row's marker (LoRA switched off)."""
        reserved = torch.zeros_like(input_ids, dtype=torch.bool)
        reserved[torch.arange(len(markers)), markers] = True
        with lora_disabled(self.decoder):  # a no-op where the LLM carries no LoRA
            states = self.decoder.last_hidden_states(input_ids, attention_mask, self.write(input_ids, reserved))
        return states[torch.arange(len(markers)), markers.to(states.device)].float()

    # ---- training -------------------------------------------------------------------------------
    def collate(self, pairs: Sequence[TranslationPair]) -> dict[str, torch.Tensor]:
        cfg = self.config
        source = self.encoder.tokenize([p.src for p in pairs], [p.src_lang for p in pairs],
                                       max_length=cfg.max_source_tokens, truncate=True)
        batch = {"source_ids": source["input_ids"], "source_mask": source["attention_mask"]}
        if cfg.stage == "align":  # the teacher reads the target sentence (English)
            rows = [self.marker_prompt(p.tgt, p.tgt_lang) for p in pairs]
            input_ids, attention_mask = right_pad(rows, self.decoder.pad_token_id)
            return {**batch, "input_ids": input_ids, "attention_mask": attention_mask,
                    "markers": torch.tensor([len(r) - 1 for r in rows]),
                    "keys": torch.tensor([sentence_key(p.tgt) for p in pairs])}
        answers = self.decoder.answer_batch([self.slot_prompt(p.tgt_lang) for p in pairs], [p.tgt for p in pairs],
                                            cfg.max_target_tokens)
        # The slots' columns, as a mask: never found by id (the stand-in id may occur elsewhere).
        reserved = torch.zeros_like(answers["input_ids"], dtype=torch.bool)
        for i, p in enumerate(pairs):
            reserved[i, self.slot_columns(p.tgt_lang)] = True
        return {**batch, **answers, "reserved": reserved}

    def begin_step(self, step: int, total_steps: int) -> None:
        self._step, self._total_steps = step, total_steps

    def temperature(self) -> float:
        cfg = self.config
        return temperature_at(self._step, self._total_steps, cfg.temperature_start, cfg.temperature_end)

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.config.stage == "align":
            return self.alignment_loss(batch)[0]
        return self.injection_loss(batch)

    def alignment_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        cfg = self.config
        projected = self.project(batch["source_ids"], batch["source_mask"])
        teacher = self.teacher_states(batch["input_ids"], batch["attention_mask"], batch["markers"])
        keys = batch["keys"].to(projected.device)
        queued, queued_keys = self.queue.contents() if self.training else (None, None)
        loss, parts = alignment_loss(projected, teacher, keys, temperature=self.temperature(),
                                     queue_vectors=queued, queue_keys=queued_keys, hard_negatives=cfg.hard_negatives,
                                     mse_weight=cfg.mse_weight, log_norm_weight=cfg.log_norm_weight)
        if self.training:
            self._pending.append((teacher.detach(), keys))
        return loss, parts

    def end_step(self, gather) -> None:
        """The step's teachers join the queue once its update is done: every micro-batch of a step
        saw the same queue, and under several processes every process queues all of them."""
        if self.queue is None or not self._pending:
            return
        vectors = torch.cat([v for v, _ in self._pending])
        keys = torch.cat([k for _, k in self._pending])
        self._pending.clear()
        self.queue.push(gather(vectors), gather(keys))

    def extra_state(self) -> dict[str, torch.Tensor]:
        return {f"queue.{k}": v for k, v in self.queue.state().items()} if self.queue is not None else {}

    def load_extra_state(self, tensors: dict[str, torch.Tensor]) -> None:
        if self.queue is None:
            return super().load_extra_state(tensors)
        if tensors:
            self.queue.load({k.removeprefix("queue."): v for k, v in tensors.items()})

    def injection_loss(self, batch: dict[str, torch.Tensor], *, usage: bool | None = None) -> torch.Tensor:
        """L_SFT, plus the usage term on every usage_every-th training step (usage=None) or as asked."""
        cfg = self.config
        slots = self.slots(self.project(batch["source_ids"], batch["source_mask"]))
        ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
        reserved = batch["reserved"]
        loss = self.decoder.answer_loss(ids, mask, labels, inputs_embeds=self.write(ids, reserved, slots))
        if usage is None:
            usage = self.training and cfg.usage_weight > 0 and self._step % cfg.usage_every == 0
        if usage:
            loss = loss + usage_penalty(loss, self.loss_without_slots(batch), cfg.usage_weight)
        return loss

    def loss_without_slots(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """L_zero: the same batch with the placeholder's embedding where the slots were."""
        ids = batch["input_ids"]
        grad = contextlib.nullcontext() if self.config.usage_zero_grad else torch.no_grad()
        with grad:
            embeds = self.write(ids, batch["reserved"])
            return self.decoder.answer_loss(ids, batch["attention_mask"], batch["labels"], inputs_embeds=embeds)

    # ---- validation ------------------------------------------------------------------------------
    @torch.no_grad()
    def validation_metrics(self, pairs: Sequence[TranslationPair], batch_size: int) -> dict[str, float]:
        """Stage A: retrieval of each pair's English teacher among the set's (R@1, MRR). Stage B:
        L_zero and the slot gap L_zero - L_SFT (the paper's 'slot ignored' check: gap <= 0)."""
        was_training = self.training
        self.eval()
        try:
            if self.config.stage == "align":

                queries = self.source_vectors([p.src for p in pairs], [p.src_lang for p in pairs], batch_size)
                targets = tuple((p.tgt, p.tgt_lang) for p in pairs)
                if self._validation_teachers[0] != targets:  # the frozen LLM's: the same at every validation
                    teachers = torch.empty(len(pairs), self.decoder.hidden_size)
                    for tgt in dict.fromkeys(lang for _, lang in targets):
                        rows = [i for i, (_, lang) in enumerate(targets) if lang == tgt]
                        teachers[rows] = self.teacher_vectors([targets[i][0] for i in rows], tgt, batch_size)
                    self._validation_teachers = (targets, teachers)
                teachers = self._validation_teachers[1]
                scores = retrieval_scores(queries, teachers)
                return {"val_r@1": scores["r@1"], "val_mrr": scores["mrr"]}
            total = zero = tokens = 0.0
            for start in range(0, len(pairs), batch_size):
                batch = self.collate(pairs[start : start + batch_size])
                n = self.loss_weight(batch)
                total += self.injection_loss(batch, usage=False).item() * n
                zero += self.loss_without_slots(batch).item() * n
                tokens += n
            return {"val_loss_without_slots": zero / tokens, "slot_gap": (zero - total) / tokens}
        finally:
            self.train(was_training)

    # ---- vectors, for retrieval (the paper's own metric) -----------------------------------------
    @torch.no_grad()
    def source_vectors(self, texts: Sequence[str], langs: Sequence[str] | str, batch_size: int = 32,
                       *, truncate: bool = True) -> torch.Tensor:
        """p for each source sentence: (n, d_llm)."""
        langs = [langs] * len(texts) if isinstance(langs, str) else list(langs)
        out = []
        for start in range(0, len(texts), batch_size):
            source = self.encoder.tokenize(list(texts[start : start + batch_size]), langs[start : start + batch_size],
                                           max_length=self.config.max_source_tokens, truncate=truncate)
            out.append(self.project(source["input_ids"], source["attention_mask"]).float().cpu())
        return torch.cat(out)

    @torch.no_grad()
    def teacher_vectors(self, texts: Sequence[str], tgt_lang: str = "eng_Latn", batch_size: int = 32,
                        *, whole: bool = False) -> torch.Tensor:
        """The frozen LLM's state at the reserved position after each sentence, inside the
        instruction into tgt_lang: (n, d_llm). On English sentences these are the teachers; on
        the source sentences (whole=True: never cut, however many tokens the LLM's tokenizer
        spends on them) they are the LLM reading the source itself (retrieval's 'before')."""
        prompts = [self.marker_prompt(t, tgt_lang, whole=whole) for t in texts]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # batches of like length: less padding
        out = torch.empty(len(prompts), self.decoder.hidden_size)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            rows = [prompts[i] for i in idx]
            input_ids, attention_mask = right_pad(rows, self.decoder.pad_token_id)
            markers = torch.tensor([len(r) - 1 for r in rows])
            out[idx] = self.teacher_states(input_ids, attention_mask, markers).cpu()
        return out

    # ---- generation ------------------------------------------------------------------------------
    def generate_batch(self, texts: list[str], src_lang: str, tgt_lang: str, **generation) -> list[str]:
        ids = self.generate_token_ids(texts, src_lang, tgt_lang, **generation)
        return [t.strip() for t in self.decoder.tokenizer.batch_decode(ids, skip_special_tokens=True)]

    @torch.no_grad()
    def generate_token_ids(self, texts: list[str], src_lang: str, tgt_lang: str, *, num_beams: int = 1,
                           max_new_tokens: int = 128, min_new_tokens: int = 0,
                           truncate: bool = False) -> list[list[int]]:
        """New tokens per source, up to and including the stop token (greedy or beam search).

        Every row's prompt is the same instruction with K slots (the source is in the slots), so
        a batch needs no padding; generate gets the ids (the placeholder at reserved positions)
        and their embeddings with the slots written in."""
        if self.config.stage != "inject":
            raise InputError("this LLINK bridge is a stage-A (align) checkpoint: it maps sentences to vectors "
                             "(retrieval) but has no slots to translate with; train stage B from it "
                             "(bridge.stage: inject, train.init_from: this checkpoint)")
        generation = decode_config(self.decoder, max_new_tokens=max_new_tokens, num_beams=num_beams,
                                   min_new_tokens=min_new_tokens)
        source = self.encoder.tokenize(texts, [src_lang] * len(texts), max_length=self.config.max_source_tokens,
                                       truncate=truncate)
        input_ids = torch.tensor([self.slot_prompt(tgt_lang)] * len(texts), device=self.decoder.model.device)
        reserved = torch.zeros_like(input_ids, dtype=torch.bool)
        reserved[:, self.slot_columns(tgt_lang)] = True
        was_training = self.training
        self.eval()  # no dropout (the projector's, LoRA's) in generation, however it is called
        try:
            slots = self.slots(self.project(source["input_ids"], source["attention_mask"]))
            out = self.decoder.model.generate(input_ids=input_ids, inputs_embeds=self.write(input_ids, reserved, slots),
                                              attention_mask=torch.ones_like(input_ids), generation_config=generation)
        finally:
            self.train(was_training)
        return [until_stop(row, self.decoder.stop_token_ids) for row in out[:, input_ids.shape[1]:].tolist()]
