"""The frozen LLM alone, prompted to translate: the papers' "LLM 0-shot" row.

    source text -> config.template (LMT's prompt) -> user turn of the chat template -> LLM
    generated answer -> its first non-empty line (config.postprocess)

No encoder and no trainable parameter. Its checkpoint is bridge.json and an empty
bridge.safetensors (prompted/save.py, `babelbridge baseline zero-shot`), so translate,
eval and serve take it like any trained bridge. `collate` and `loss` work too (the baseline's
validation loss), and LoRABridge (bridges/lora) inherits the prompt, the loss and generation.

LMT's Parallel Multilingual Prompting (PMP) lives here, so every bridge built on this one
(LoRA, CrossLoRA) has it: the prompt may hold the source's parallel sentence in an
auxiliary language (config.pmp_template). Training (config.pmp): a pair's pivot/pivot_lang is
that sentence. Inference, per translate() call:

    aux_texts + aux_lang   PMP-O: the auxiliary sentences are given (an oracle, e.g. FLORES)
    aux_lang alone         PMP-S: the bridge first translates the sources into aux_lang itself
                           (one more translate() call, the same generation settings, plain
                           prompt) and uses its outputs as the auxiliary sentences
    aux_lang="auto"        (or aux_texts without aux_lang) the language is pmp_auxiliary(src, tgt)'s
    neither                the plain template, even when config.pmp is true
"""

from __future__ import annotations

from typing import Sequence

import torch
from transformers import GenerationConfig

from ...backbones import FrozenDecoder
from ...errors import InputError
from ...languages import get_language, normalize_language
from ...languages.auxiliary import pmp_auxiliary
from ...padding import left_pad
from ..base import Bridge, TranslationPair
from ..generation import until_stop
from .config import PromptedConfig


class PromptedBridge(Bridge):
    method = "prompted"
    config_class = PromptedConfig
    uses_encoder = False
    trains = False
    supports_pmp = True

    def __init__(self, encoder: None, decoder: FrozenDecoder, config: PromptedConfig):
        super().__init__(encoder, decoder, config)

    # ---- the prompt ---------------------------------------------------------------------------
    def prompt_text(self, text: str, src_lang: str, tgt_lang: str, *, aux_text: str | None = None,
                    aux_lang: str | None = None) -> str:
        """config.template around the source; config.pmp_template when an auxiliary sentence is
        given (aux_text, in aux_lang; None or blank: the plain template)."""
        src, tgt = get_language(src_lang), get_language(tgt_lang)
        fields = dict(text=text, src_name=src.name, tgt_name=tgt.name, src_code=src.code, tgt_code=tgt.code)
        if aux_text is None or not aux_text.strip():
            return self.config.template.format(**fields)
        if aux_lang is None:
            raise InputError("an auxiliary sentence needs its language (aux_lang)")
        aux = get_language(aux_lang)
        return self.config.pmp_template.format(**fields, aux_text=aux_text, aux_name=aux.name, aux_code=aux.code)

    def prompt_ids(self, text: str, src_lang: str, tgt_lang: str, *, truncate: bool = False,
                   aux_text: str | None = None, aux_lang: str | None = None) -> list[int]:
        """The prompt around the source (and PMP's auxiliary sentence, if given), as a user turn
        ending where the answer starts. The auxiliary is held to max_source_tokens as the source is."""
        if aux_text is not None and aux_text.strip():
            aux_text = self.fit_source(aux_text, truncate, what="auxiliary sentence")
        return self.decoder.prompt_ids(self.prompt_text(self.fit_source(text, truncate), src_lang, tgt_lang,
                                                        aux_text=aux_text, aux_lang=aux_lang))

    def source_token_count(self, text: str) -> int:
        return len(self.decoder.tokenizer(text, add_special_tokens=False)["input_ids"])

    def fit_source(self, text: str, truncate: bool, what: str = "source") -> str:
        """The source (or `what`) within max_source_tokens LLM tokens: cut (truncate=True) or refused."""
        ids = self.decoder.tokenizer(text, add_special_tokens=False)["input_ids"]
        limit = self.config.max_source_tokens
        if len(ids) <= limit:
            return text
        if not truncate:
            shown = text[:40] + ("..." if len(text) > 40 else "")
            raise InputError(f"{what} {shown!r} is {len(ids)} LLM tokens long; the limit is {limit} "
                             f"(max_source_tokens): shorten it or pass truncate=True")
        return self.decoder.tokenizer.decode(ids[:limit])

    # ---- loss (for LoRA training, and the baseline's validation loss) --------------------------
    def collate(self, pairs: Sequence[TranslationPair]) -> dict[str, torch.Tensor]:
        """Prompt + target rows. With config.pmp a pair's pivot (in pivot_lang) is its auxiliary
        sentence (config.pmp_template); a pair without a pivot gets the plain template."""
        prompts = [self.prompt_ids(p.src, p.src_lang, p.tgt_lang, truncate=True, **self.pair_auxiliary(p))
                   for p in pairs]
        return self.decoder.answer_batch(prompts, [p.tgt for p in pairs], self.config.max_target_tokens)

    def pair_auxiliary(self, pair: TranslationPair) -> dict[str, str | None]:
        """{aux_text, aux_lang} of a training pair: its pivot under config.pmp, else none."""
        if not self.config.pmp or pair.pivot is None or not pair.pivot.strip():
            return {}
        if pair.pivot_lang is None:
            raise InputError(f"pair {pair.src[:40]!r} has a pivot sentence but no pivot_lang: PMP names the "
                             f"auxiliary's language in the prompt")
        aux_lang = normalize_language(pair.pivot_lang)
        if aux_lang in (normalize_language(pair.src_lang), normalize_language(pair.tgt_lang)):
            raise InputError(f"pair {pair.src[:40]!r} ({pair.src_lang} -> {pair.tgt_lang}) has a pivot in "
                             f"{aux_lang}, a side of the pair: PMP's auxiliary must be a third language "
                             f"(the target's own sentence would hand the model its answer)")
        return {"aux_text": pair.pivot, "aux_lang": aux_lang}

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.decoder.answer_loss(batch["input_ids"], batch["attention_mask"], batch["labels"])

    def answer_logits(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decoder.answer_logits(batch["input_ids"], batch["attention_mask"], batch["labels"])

    # ---- generation ---------------------------------------------------------------------------
    def generate_batch(self, texts: list[str], src_lang: str, tgt_lang: str, **generation) -> list[str]:
        ids = self.generate_token_ids(texts, src_lang, tgt_lang, **generation)
        return [self.postprocess(a) for a in self.decoder.tokenizer.batch_decode(ids, skip_special_tokens=True)]

    @torch.no_grad()
    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str = "eng_Latn", *,
                  batch_size: int = 16, aux_texts: Sequence[str] | None = None, aux_lang: str | None = None,
                  **generation) -> list[str]:
        """Bridge.translate, with LMT's PMP (see the module docstring):

        aux_texts: one auxiliary sentence per source (PMP-O); aux_lang: their language, a
        FLORES-200 code or alias, or "auto" (pmp_auxiliary(src, tgt)'s choice; also what
        aux_texts alone get). aux_lang without aux_texts: PMP-S. Everything (sources, the
        auxiliary language, every auxiliary sentence) is checked before any generation.
        """
        src_lang, tgt_lang = normalize_language(src_lang), normalize_language(tgt_lang)
        if aux_texts is None and aux_lang is None:
            return super().translate(texts, src_lang, tgt_lang, batch_size=batch_size, **generation)
        self.check_pmp_inputs(texts, aux_texts)
        aux_lang = self.resolve_aux_lang(aux_lang, src_lang, tgt_lang)
        if aux_texts is None:
            aux_texts = self.self_auxiliary(texts, src_lang, aux_lang, batch_size=batch_size, **generation)
        return self.translate_with_auxiliary(texts, src_lang, tgt_lang, aux_texts, aux_lang,
                                             batch_size=batch_size, **generation)

    @torch.no_grad()
    def translate_multi(self, texts: Sequence[str], src_lang: str, tgt_langs: Sequence[str], *,
                        batch_size: int = 16, aux_texts: Sequence[str] | None = None, aux_lang: str | None = None,
                        **generation) -> dict[str, list[str]]:
        """translate() into each of tgt_langs; with PMP-S each auxiliary language is written once
        (the first pass), however many targets share it."""
        if aux_texts is None and aux_lang is None:
            return super().translate_multi(texts, src_lang, tgt_langs, batch_size=batch_size, **generation)
        src_lang = normalize_language(src_lang)
        langs = list(dict.fromkeys(normalize_language(lang) for lang in tgt_langs))
        if not langs:
            raise InputError("tgt_langs is empty: give at least one target language")
        self.check_pmp_inputs(texts, aux_texts)
        aux_by_target = {lang: self.resolve_aux_lang(aux_lang, src_lang, lang) for lang in langs}
        if aux_texts is not None and len(set(aux_by_target.values())) > 1:
            chosen = ", ".join(f"{t}: {a}" for t, a in aux_by_target.items())
            raise InputError(f"aux_texts are in one language, but the automatic choice differs per target ({chosen}); "
                             f"give aux_lang")
        written: dict[str, list[str | None]] = {}
        if aux_texts is None:
            for aux in dict.fromkeys(aux_by_target.values()):
                written[aux] = self.self_auxiliary(texts, src_lang, aux, batch_size=batch_size, **generation)
        return {lang: self.translate_with_auxiliary(texts, src_lang, lang,
                                                    aux_texts if aux_texts is not None else written[aux], aux,
                                                    batch_size=batch_size, **generation)
                for lang, aux in aux_by_target.items()}

    def resolve_aux_lang(self, aux_lang: str | None, src_lang: str, tgt_lang: str) -> str:
        """The auxiliary language's FLORES-200 code: the one given, or (None, "auto")
        pmp_auxiliary(src, tgt)'s choice; never a side of the direction."""
        if aux_lang is None or aux_lang == "auto":
            chosen = pmp_auxiliary(src_lang, tgt_lang).lang
            if chosen is None:
                raise InputError(f"no auxiliary language for {src_lang} -> {tgt_lang} (pmp_auxiliary finds no related "
                                 f"high-resource language); give aux_lang")
            return chosen
        code = normalize_language(aux_lang)
        if code in (src_lang, tgt_lang):
            raise InputError(f"aux_lang {code} is a side of the direction {src_lang} -> {tgt_lang}; the auxiliary "
                             f"must be a third language")
        return code

    def check_pmp_inputs(self, texts: Sequence[str], aux_texts: Sequence[str] | None) -> None:
        """The sources, and the auxiliary sentences (one non-empty text per source), or an InputError."""
        self.check_texts(texts)
        if aux_texts is None:
            return
        self.check_texts(aux_texts, "auxiliary text")
        if len(aux_texts) != len(texts):
            raise InputError(f"aux_texts has {len(aux_texts)} text(s) for {len(texts)} source(s); give one "
                             f"auxiliary sentence per source (or leave aux_texts out: PMP-S writes them)")

    def self_auxiliary(self, texts: Sequence[str], src_lang: str, aux_lang: str, *, batch_size: int,
                       **generation) -> list[str | None]:
        """PMP-S: the sources translated into aux_lang by this bridge (plain prompt, the same
        generation settings), each held to max_source_tokens. An empty output is None: that
        source then gets the plain prompt."""
        outputs = self.translate(texts, src_lang, aux_lang, batch_size=batch_size, **generation)
        return [self.fit_source(out, truncate=True) if out.strip() else None for out in outputs]

    def translate_with_auxiliary(self, texts: Sequence[str], src_lang: str, tgt_lang: str,
                                 aux_texts: Sequence[str | None], aux_lang: str, *, batch_size: int,
                                 **generation) -> list[str]:
        """The sources translated with their auxiliary sentences (already checked), in input order."""
        def run(batch: list[str], aux: list[str | None]) -> list[str]:
            return self.generate_batch(batch, src_lang, tgt_lang, aux_texts=aux, aux_lang=aux_lang, **generation)

        return self.in_sorted_batches(texts, batch_size, run, extra=aux_texts)

    def postprocess(self, answer: str) -> str:
        if self.config.postprocess == "first_line":
            return next((line.strip() for line in answer.splitlines() if line.strip()), "")
        return answer.strip()

    @torch.no_grad()
    def generate_token_ids(self, texts: list[str], src_lang: str | Sequence[str], tgt_lang: str | Sequence[str], *,
                           num_beams: int = 1, max_new_tokens: int = 128, truncate: bool = False,
                           aux_texts: Sequence[str | None] | None = None,
                           aux_lang: str | None = None) -> list[list[int]]:
        """New tokens per source, up to and including the stop token (greedy or beam search).

        Prompts differ in length (the source is inside them): they are left-padded, so every
        row's answer starts at the same column, and the mask hides the padding. src_lang /
        tgt_lang: one language for every row, or one per row (a batch of mixed directions).
        aux_texts: PMP's auxiliary sentence per source, in aux_lang (None for a row: the plain template).
        """
        if aux_texts is None:
            aux_texts = [None] * len(texts)
        rows = [self.prompt_ids(t, s, g, truncate=truncate, aux_text=a, aux_lang=aux_lang)
                for t, s, g, a in zip(texts, per_row(src_lang, texts), per_row(tgt_lang, texts), aux_texts,
                                      strict=True)]
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


def per_row(lang: str | Sequence[str], texts: Sequence[str]) -> list[str]:
    """One language per text: a single code repeated, or a list that must have one per text."""
    if isinstance(lang, str):
        return [lang] * len(texts)
    if len(lang) != len(texts):
        raise InputError(f"{len(lang)} language(s) for {len(texts)} text(s); give one language, or one per text")
    return list(lang)
