"""The frozen LLM alone, prompted to translate: the papers' "LLM 0-shot" row.

    source text -> config.template (LMT's prompt) -> user turn of the chat template -> LLM
    generated answer -> its first non-empty line (config.postprocess)

No encoder and no trainable parameter. Its checkpoint is bridge.json and an empty
bridge.safetensors (prompted/save.py, `babelbridge baseline zero-shot`), so translate,
eval and serve take it like any trained bridge. `collate` and `loss` work too (the baseline's
validation loss), and LoRABridge (bridges/lora) inherits the prompt, the loss and generation.
"""

from __future__ import annotations

from typing import Sequence

import torch
from transformers import GenerationConfig

from ...backbones import FrozenDecoder
from ...errors import InputError
from ...languages import get_language
from ...padding import left_pad
from ..base import Bridge, TranslationPair
from ..generation import until_stop
from .config import PromptedConfig


class PromptedBridge(Bridge):
    method = "prompted"
    config_class = PromptedConfig
    uses_encoder = False
    trains = False

    def __init__(self, encoder: None, decoder: FrozenDecoder, config: PromptedConfig):
        super().__init__(encoder, decoder, config)

    # ---- the prompt ---------------------------------------------------------------------------
    def prompt_text(self, text: str, src_lang: str, tgt_lang: str) -> str:
        src, tgt = get_language(src_lang), get_language(tgt_lang)
        return self.config.template.format(text=text, src_name=src.name, tgt_name=tgt.name,
                                           src_code=src.code, tgt_code=tgt.code)

    def prompt_ids(self, text: str, src_lang: str, tgt_lang: str, *, truncate: bool = False) -> list[int]:
        """The prompt around the source, as a user turn ending where the answer starts."""
        return self.decoder.prompt_ids(self.prompt_text(self.fit_source(text, truncate), src_lang, tgt_lang))

    def source_token_count(self, text: str) -> int:
        return len(self.decoder.tokenizer(text, add_special_tokens=False)["input_ids"])

    def fit_source(self, text: str, truncate: bool) -> str:
        """The source within max_source_tokens LLM tokens: cut (truncate=True) or refused."""
        ids = self.decoder.tokenizer(text, add_special_tokens=False)["input_ids"]
        limit = self.config.max_source_tokens
        if len(ids) <= limit:
            return text
        if not truncate:
            shown = text[:40] + ("..." if len(text) > 40 else "")
            raise InputError(f"source {shown!r} is {len(ids)} LLM tokens long; the limit is {limit} "
                             f"(max_source_tokens): shorten it or pass truncate=True")
        return self.decoder.tokenizer.decode(ids[:limit])

    # ---- loss (for LoRA training, and the baseline's validation loss) --------------------------
    def collate(self, pairs: Sequence[TranslationPair]) -> dict[str, torch.Tensor]:
        prompts = [self.prompt_ids(p.src, p.src_lang, p.tgt_lang, truncate=True) for p in pairs]
        return self.decoder.answer_batch(prompts, [p.tgt for p in pairs], self.config.max_target_tokens)

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.decoder.answer_loss(batch["input_ids"], batch["attention_mask"], batch["labels"])

    # ---- generation ---------------------------------------------------------------------------
    def generate_batch(self, texts: list[str], src_lang: str, tgt_lang: str, **generation) -> list[str]:
        ids = self.generate_token_ids(texts, src_lang, tgt_lang, **generation)
        return [self.postprocess(a) for a in self.decoder.tokenizer.batch_decode(ids, skip_special_tokens=True)]

    def postprocess(self, answer: str) -> str:
        if self.config.postprocess == "first_line":
            return next((line.strip() for line in answer.splitlines() if line.strip()), "")
        return answer.strip()

    @torch.no_grad()
    def generate_token_ids(self, texts: list[str], src_lang: str, tgt_lang: str, *, num_beams: int = 1,
                           max_new_tokens: int = 128, truncate: bool = False) -> list[list[int]]:
        """New tokens per source, up to and including the stop token (greedy or beam search).

        Prompts differ in length (the source is inside them): they are left-padded, so every
        row's answer starts at the same column, and the mask hides the padding.
        """
        rows = [self.prompt_ids(t, src_lang, tgt_lang, truncate=truncate) for t in texts]
        input_ids, attention_mask = left_pad(rows, self.decoder.pad_token_id)
        device = self.decoder.model.device
        generation = GenerationConfig(
            max_new_tokens=max_new_tokens, num_beams=num_beams, do_sample=False,
            eos_token_id=self.decoder.stop_token_ids, pad_token_id=self.decoder.pad_token_id,
        )
        out = self.decoder.model.generate(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                                          generation_config=generation)
        stop = set(self.decoder.stop_token_ids)
        return [until_stop(row, stop) for row in out[:, input_ids.shape[1]:].tolist()]
