"""Hybrid Cross-Alignment (HCA), "One Pair Suffices" (shared/papers/hca-one-pair-suffices.txt).

    source text -> frozen encoder (+ source-side adapter in its last layer)  -> H'_enc
    H'_enc -> W_proj per decoder layer                                       -> K = V   (once)
    instruction -> frozen LLM; before (or after) each chosen layer:
        H_out = H_llm + g * Attn(H_llm, K, V) + QueryResidual(H_llm)
    loss: cross-entropy on the target tokens only.

The frozen LLM is never copied or edited: the HCA blocks live in this module and enter the
LLM through forward hooks on its decoder layers, which read the request's source memory.
Outside `loss` and `translate` no memory is attached and the LLM behaves exactly as the
original, so the same loaded weights also serve as the plain-LLM baseline.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Sequence

import torch
from torch import nn
from transformers import CompileConfig, StoppingCriteriaList

from ...backbones import FrozenDecoder, FrozenEncoder
from ...padding import left_pad
from ..base import Bridge, TranslationPair
from ..generation import decode_config, until_stop
from .config import HCAConfig
from .layer import HCABlock, SourceAlignmentAdapter


class SourceMemory:
    """One request's cross-attention memory: each layer's K (= V) and the source padding mask.

    It has one row per LLM row. Beam search runs B * num_beams rows: `repeat_rows` expands the
    memory once, before generation starts, so no decode step pays for it (and a compiled decode
    step sees plain tensors, no lazy caching to trace).
    """

    def __init__(self, kv: dict[int, torch.Tensor], mask: torch.Tensor):
        self.kv = kv
        self.mask = mask.bool()
        self.rows = self.mask.shape[0]

    def repeat_rows(self, n: int) -> "SourceMemory":
        """Each row repeated n times in place (row i -> rows i*n .. i*n+n-1), the order of beams."""
        if n == 1:
            return self
        return SourceMemory({i: kv.repeat_interleave(n, dim=0) for i, kv in self.kv.items()},
                            self.mask.repeat_interleave(n, dim=0))

    def for_rows(self, layer: int, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        if rows != self.rows:
            raise RuntimeError(f"LLM batch of {rows} rows does not match the source memory's {self.rows} rows "
                               "(expand it with repeat_rows(num_beams) before generating)")
        return self.kv[layer], self.mask


class HCABridge(Bridge):
    method = "hca"
    config_class = HCAConfig

    def __init__(self, encoder: FrozenEncoder, decoder: FrozenDecoder, config: HCAConfig):
        super().__init__(encoder, decoder, config)
        r, zero = config.bottleneck_dim, config.adapter_up_init == "zero"
        self.source_adapter = (
            SourceAlignmentAdapter(encoder.hidden_size, r, zero) if config.source_adapter else None
        )
        layers = list(range(decoder.num_layers)) if config.cross_layers is None else list(config.cross_layers)
        bad = [i for i in layers if not 0 <= i < decoder.num_layers]
        if bad or len(set(layers)) != len(layers):
            raise ValueError(
                f"cross_layers {layers} must be distinct indices in 0..{decoder.num_layers - 1} "
                f"(the decoder has {decoder.num_layers} layers)"
            )
        self.blocks = nn.ModuleDict(
            {str(i): HCABlock(encoder.hidden_size, decoder.hidden_size, config) for i in layers}
        )
        self._memory: SourceMemory | None = None
        self._hooks = []
        if self.source_adapter is not None:
            self._hooks += self.source_adapter.attach(encoder.anatomy)
        for i in layers:
            self._hooks.append(self._attach_block(i))
        self._prompt_cache: dict[str, list[int]] = {}

    # ---- wiring -------------------------------------------------------------------------------
    def _attach_block(self, index: int):
        block, layer = self.blocks[str(index)], self.decoder.layers[index]

        def fuse(hidden: torch.Tensor) -> torch.Tensor:
            kv, mask = self._memory.for_rows(index, hidden.shape[0])
            return block(hidden, kv, mask)

        if self.config.placement == "before_layer":
            def pre_hook(module, args, kwargs):
                if self._memory is None:
                    return None
                if args:
                    return (fuse(args[0]),) + tuple(args[1:]), kwargs
                return args, {**kwargs, "hidden_states": fuse(kwargs["hidden_states"])}

            return layer.register_forward_pre_hook(pre_hook, with_kwargs=True)

        def post_hook(module, args, output):
            if self._memory is None:
                return None
            if isinstance(output, tuple):
                return (fuse(output[0]),) + tuple(output[1:])
            return fuse(output)

        return layer.register_forward_hook(post_hook)

    @contextmanager
    def attached(self, memory: SourceMemory):
        """Route the LLM through the HCA blocks with this source memory, for one request."""
        previous, self._memory = self._memory, memory
        try:
            yield
        finally:
            self._memory = previous

    def encode_source(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SourceMemory:
        """The encoder runs once; each layer's W_proj runs once. Everything per token reuses this."""
        device = next(self.encoder.parameters()).device
        states = self.encoder(input_ids.to(device), attention_mask.to(device))
        llm_device = self.decoder.model.device
        kv = {int(i): block.project(states).to(llm_device) for i, block in self.blocks.items()}
        return SourceMemory(kv, attention_mask.to(llm_device))

    def prompt_ids(self, tgt_lang: str) -> list[int]:
        if tgt_lang not in self._prompt_cache:
            self._prompt_cache[tgt_lang] = self.decoder.prompt_ids(self.instruction(tgt_lang),
                                                                  self.config.system_prompt)
        return self._prompt_cache[tgt_lang]

    # ---- training -----------------------------------------------------------------------------
    def collate(self, pairs: Sequence[TranslationPair]) -> dict[str, torch.Tensor]:
        cfg = self.config
        source = self.encoder.tokenize([p.src for p in pairs], [p.src_lang for p in pairs],
                                       max_length=cfg.max_source_tokens, truncate=True)
        answers = self.decoder.answer_batch([self.prompt_ids(p.tgt_lang) for p in pairs], [p.tgt for p in pairs],
                                            cfg.max_target_tokens)
        return {"source_ids": source["input_ids"], "source_mask": source["attention_mask"], **answers}

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        memory = self.encode_source(batch["source_ids"], batch["source_mask"])
        with self.attached(memory):
            return self.decoder.answer_loss(batch["input_ids"], batch["attention_mask"], batch["labels"])

    # ---- generation ---------------------------------------------------------------------------
    def generate_batch(self, texts: list[str], src_lang: str, tgt_lang: str, **generation) -> list[str]:
        ids = self.generate_token_ids(texts, src_lang, tgt_lang, **generation)
        return [t.strip() for t in self.decoder.tokenizer.batch_decode(ids, skip_special_tokens=True)]

    @torch.no_grad()
    def generate_token_ids(self, texts: list[str], src_lang: str, tgt_lang: str, *, num_beams: int = 1,
                           max_new_tokens: int = 128, min_new_tokens: int = 0, truncate: bool = False,
                           reference: bool = False, static_cache: bool = False,
                           compile: bool | CompileConfig = False,
                           stopping_criteria: StoppingCriteriaList | None = None) -> list[list[int]]:
        """New tokens per source, up to and including the stop token.

        Greedy (num_beams=1) or beam search through transformers' generate.

        reference=True recomputes everything at every step: no KV cache, and the encoder and
        every W_proj rerun on each LLM call. It is slow on purpose: the fast path is tested
        against it token for token.
        static_cache=True preallocates the self-attention KV cache (fixed shapes per call).
        compile=True (or a transformers CompileConfig) also compiles the decode step, HCA hooks
        included, with torch.compile (default mode reduce-overhead: CUDA graphs on a GPU); it
        implies the static cache. Meant for GPUs: on CPU it works but compiles for minutes.
        min_new_tokens forbids the stop tokens before that many (the speed benchmark forces lengths).
        stopping_criteria: extra criteria for transformers' generate (the benchmark's clock is one).
        """
        generation = decode_config(self.decoder, max_new_tokens=max_new_tokens, num_beams=num_beams,
                                   min_new_tokens=min_new_tokens, use_cache=not reference,
                                   static_cache=static_cache, compile=compile)
        source = self.encoder.tokenize(texts, [src_lang] * len(texts),
                                       max_length=self.config.max_source_tokens, truncate=truncate)
        device = self.decoder.model.device
        input_ids, attention_mask = left_pad([self.prompt_ids(tgt_lang)] * len(texts), self.decoder.pad_token_id)
        if reference:
            def recompute(module, args, kwargs):
                self._memory = self.encode_source(source["input_ids"], source["attention_mask"]).repeat_rows(num_beams)

            handle = self.decoder.model.register_forward_pre_hook(recompute, with_kwargs=True)
            memory = SourceMemory({}, source["attention_mask"])  # replaced before each call
        else:
            handle = None
            memory = self.encode_source(source["input_ids"], source["attention_mask"]).repeat_rows(num_beams)
        try:
            with self.attached(memory):
                out = self.decoder.model.generate(
                    input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                    generation_config=generation, stopping_criteria=stopping_criteria,
                )
        finally:
            if handle is not None:
                handle.remove()
        return [until_stop(row, self.decoder.stop_token_ids) for row in out[:, input_ids.shape[1]:].tolist()]
