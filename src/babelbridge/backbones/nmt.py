"""Frozen encoder-decoder translation models (NLLB-200, M2M100): both halves.

A FrozenNMT is a FrozenEncoder (its encoder half reads sources exactly as load_encoder's does,
language token first) that also holds the decoder and its LM head, so that:

    decode_loss(memory, mask, targets, lang)   the decoder's cross-entropy on target sentences,
                                                attending to any memory (XBridge: mapped LLM states)
    generate(memory, mask, tgt_lang)           target-language text from any memory, the target's
                                                language token forced first (NLLB's convention)
    translate_ids(ids, mask, tgt_lang)         the NMT model alone (its own encoder's memory)

Generation is transformers' (greedy and beam search, `forced_bos_token_id`), given the memory
as `encoder_outputs`. mT5 is not supported here: it has no target-language tokens to force.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import InputError
from ..padding import right_pad
from .encoder import FrozenEncoder
from .frozen import count_parameters, freeze, parse_dtype
from .spec import BackboneSpec

NMT_TYPES = ("m2m_100",)  # NLLB-200 and M2M100 share the architecture


class FrozenNMT(FrozenEncoder):
    def __init__(self, model: nn.Module, tokenizer, spec: BackboneSpec, text_prefix: str = ""):
        if model.config.model_type not in NMT_TYPES:
            raise ValueError(f"{spec} is a {model.config.model_type} model; NMT backbones (load_nmt) accepted: "
                             f"{', '.join(NMT_TYPES)} (NLLB-200, M2M100)")
        super().__init__(model.get_encoder(), tokenizer, spec, text_prefix)
        self.seq2seq = freeze(model)  # the encoder's weights are shared with self.model, not copied
        config = model.config
        self.decoder_start_token_id = config.decoder_start_token_id
        self.eos_token_id = config.eos_token_id

    def cross_attention_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """The decoder's cross-attention (encoder_attn): what XBridge trains in the NMT model."""
        return [(n, p) for n, p in self.seq2seq.get_decoder().named_parameters() if ".encoder_attn." in n]

    # ---- targets ---------------------------------------------------------------------------------
    def target_label_ids(self, text: str, lang_code: str) -> list[int]:
        """What the decoder must emit for a target sentence: [lang] tokens </s> (NLLB)."""
        return [self.language_token_id(lang_code)] + self.tokenizer(text, add_special_tokens=False)["input_ids"] + [
            self.eos_token_id]

    def target_batch(self, texts: list[str], langs: list[str], max_tokens: int) -> torch.Tensor:
        """Right-padded labels (-100 on padding); rows longer than max_tokens are cut."""
        rows = [self.target_label_ids(t, lang)[:max_tokens] for t, lang in zip(texts, langs, strict=True)]
        return right_pad(rows, -100)[0]

    # ---- the decoder over any memory -------------------------------------------------------------
    def decode_loss(self, memory: torch.Tensor, memory_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of the labelled target tokens, the decoder attending to `memory`
        (B, M, d_model; cast to the model's dtype) where memory_mask is 1. The decoder's input is the labels shifted right
        behind the decoder-start token (transformers' shift_tokens_right), as in NMT training."""
        from transformers.modeling_outputs import BaseModelOutput

        device = self.seq2seq.device
        out = self.seq2seq(encoder_outputs=BaseModelOutput(last_hidden_state=memory.to(device, self.seq2seq.dtype)),
                           attention_mask=memory_mask.to(device), labels=labels.to(device), use_cache=False)
        return out.loss

    @torch.no_grad()
    def generate(self, memory: torch.Tensor, memory_mask: torch.Tensor, tgt_lang: str, *, num_beams: int = 1,
                 max_new_tokens: int = 128, min_new_tokens: int = 0) -> list[list[int]]:
        """Target-language token ids per memory row: decoder start, then the language token
        forced, then the decoder's own tokens up to </s>. Returned without the start and
        language tokens and without </s> or padding. min_new_tokens > 0 holds </s> back until
        that many tokens follow the language token (benchmarks: equal work whatever the weights)."""
        from transformers import GenerationConfig
        from transformers.modeling_outputs import BaseModelOutput

        if max_new_tokens < 1 or num_beams < 1:
            raise InputError(f"max_new_tokens and num_beams must be >= 1, got {max_new_tokens} and {num_beams}")
        if not 0 <= min_new_tokens <= max_new_tokens:
            raise InputError(f"min_new_tokens must be in 0..max_new_tokens ({max_new_tokens}), got {min_new_tokens}")
        device = self.seq2seq.device
        config = GenerationConfig(
            decoder_start_token_id=self.decoder_start_token_id, forced_bos_token_id=self.language_token_id(tgt_lang),
            eos_token_id=self.eos_token_id, pad_token_id=self.pad_token_id, num_beams=num_beams, do_sample=False,
            max_new_tokens=max_new_tokens + 1,  # the forced language token is not part of the text
            min_new_tokens=min_new_tokens + 1 if min_new_tokens else None,
        )
        memory = BaseModelOutput(last_hidden_state=memory.to(device, self.seq2seq.dtype))
        out = self.seq2seq.generate(encoder_outputs=memory, attention_mask=memory_mask.to(device),
                                    generation_config=config)
        rows = []
        for row in out[:, 2:].tolist():  # [start, lang, ...]
            rows.append(row[: row.index(self.eos_token_id)] if self.eos_token_id in row else row)
        return [[t for t in row if t != self.pad_token_id] for row in rows]

    def decode_text(self, rows: list[list[int]]) -> list[str]:
        return [t.strip() for t in self.tokenizer.batch_decode(rows, skip_special_tokens=True)]

    @torch.no_grad()
    def translate_ids(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, tgt_lang: str,
                      **generation) -> list[list[int]]:
        """The NMT model alone: its encoder's states are the memory."""
        device = self.seq2seq.device
        memory = self(input_ids.to(device), attention_mask.to(device))
        return self.generate(memory, attention_mask, tgt_lang, **generation)

    def identity(self) -> dict:
        return {**super().identity(), "halves": "encoder+decoder", "parameters": count_parameters(self.seq2seq)}


def load_nmt(spec: str | BackboneSpec, *, dtype: str = "float32", device: str = "cpu",
             text_prefix: str | None = None, gguf_file: str | None = None) -> FrozenNMT:
    """NLLB-200 / M2M100 with both halves: a hub id or local directory, tiny-random:m2m100 (tests),
    random:<hub id> (the real architecture with random weights: speed, memory) or the meta device
    (parameter counts at any size without weights). Same options as load_encoder."""
    if gguf_file is not None:
        raise ValueError(f"NMT backbones are read from transformers checkpoints, not GGUF files ({gguf_file})")
    spec = spec if isinstance(spec, BackboneSpec) else BackboneSpec.parse(spec)
    torch_dtype = parse_dtype(dtype)
    if spec.kind == "tiny-random":
        from .tiny import tiny_nmt

        model, tokenizer = tiny_nmt(spec.name)
    elif spec.kind == "random" or device == "meta":
        from transformers import AutoModelForSeq2SeqLM

        from ..languages import all_languages
        from .known_shapes import architecture_config
        from .tiny import byte_tokenizer

        config = architecture_config(spec)
        _check_nmt_type(spec, config.model_type)
        with torch.device(device):  # built where it runs: no CPU copy first
            model = AutoModelForSeq2SeqLM.from_config(config)
        # Random weights need no real vocabulary: bytes and every FLORES-200 code as a token.
        tokenizer = byte_tokenizer([lang.code for lang in all_languages()])
    elif spec.kind == "hub":
        from transformers import AutoConfig, AutoModelForSeq2SeqLM, AutoTokenizer

        _check_nmt_type(spec, AutoConfig.from_pretrained(spec.name).model_type)
        model = AutoModelForSeq2SeqLM.from_pretrained(spec.name, dtype=torch_dtype)
        tokenizer = AutoTokenizer.from_pretrained(spec.name)
    else:
        raise ValueError(f"{spec.kind} backbones cannot be NMT models: {spec}; give a hub id or directory of "
                         f"NLLB-200 / M2M100, tiny-random:m2m100 or random:facebook/nllb-200-1.3B")
    if device != "meta":
        model = model.to(device=device, dtype=torch_dtype) if torch_dtype else model.to(device)
    return FrozenNMT(model, tokenizer, spec, text_prefix=text_prefix or "")


def _check_nmt_type(spec: BackboneSpec, model_type: str) -> None:
    if model_type not in NMT_TYPES:
        raise ValueError(f"{spec} is a {model_type} model; NMT backbones accepted: {', '.join(NMT_TYPES)} "
                         f"(NLLB-200, M2M100)")
