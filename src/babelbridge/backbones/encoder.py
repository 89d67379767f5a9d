"""Frozen multilingual encoders: NLLB/M2M100 (encoder half), BERT/XLM-R, mT5 encoder.

A FrozenEncoder turns (texts, source languages) into token states and knows its own anatomy:
where, in its last layer, the self-attention output is and which norm closes the layer. That
is all a source-side adapter (HCA eq. 1-2) needs, whatever the architecture.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import InputError
from ..languages import get_language
from ..padding import right_pad
from .frozen import count_parameters, fingerprint, freeze, parse_dtype
from .spec import BackboneSpec

BERT_LIKE = ("bert", "xlm-roberta", "roberta", "camembert", "distilbert", "electra")
T5_LIKE = ("t5", "mt5", "umt5")


@dataclass
class EncoderAnatomy:
    """Two sites in the last encoder layer.

    attention_output_site: a module whose *input* is the layer's self-attention output
        (after its residual), i.e. H_attn of HCA eq. 1.
    final_norm: the norm whose *input* is FFN(H_attn) + H_attn, i.e. FinalNorm of HCA eq. 2.
        Pre-LN encoders (NLLB, mT5) close the stack with it; post-LN ones (BERT) close each layer.
    """

    attention_output_site: nn.Module
    final_norm: nn.Module


def encoder_anatomy(model: nn.Module) -> EncoderAnatomy:
    model_type = model.config.model_type
    if model_type == "m2m_100":
        last = model.layers[-1]
        return EncoderAnatomy(last.final_layer_norm, model.layer_norm)
    if model_type in BERT_LIKE:
        last = model.encoder.layer[-1]
        return EncoderAnatomy(last.intermediate, last.output.LayerNorm)
    if model_type in T5_LIKE:
        last = model.encoder.block[-1]
        return EncoderAnatomy(last.layer[-1], model.encoder.final_layer_norm)
    raise ValueError(
        f"encoder architecture {model_type!r} is not supported; accepted: m2m_100 (NLLB, M2M100), "
        f"{', '.join(BERT_LIKE)}, {', '.join(T5_LIKE)}"
    )


class FrozenEncoder(nn.Module):
    def __init__(self, model: nn.Module, tokenizer, spec: BackboneSpec, text_prefix: str = ""):
        super().__init__()
        self.model = freeze(model)
        self.tokenizer = tokenizer
        self.spec = spec
        self.text_prefix = text_prefix  # e5 models expect "query: "
        self.model_type = model.config.model_type
        self.hidden_size = model.config.d_model if hasattr(model.config, "d_model") else model.config.hidden_size
        self.max_length = getattr(model.config, "max_position_embeddings", None) or 512
        if self.model_type in ("xlm-roberta", "roberta", "camembert"):
            # RoBERTa numbers positions from pad_token_id + 1: 514 embeddings hold 512 tokens.
            self.max_length -= model.config.pad_token_id + 1
        self.pad_token_id = tokenizer.pad_token_id
        self.anatomy = encoder_anatomy(model)

    def language_token_id(self, lang_code: str) -> int | None:
        """NLLB prefixes the source with its language code; M2M100 with __xx__; others nothing."""
        if self.model_type != "m2m_100":
            return None
        lang = get_language(lang_code)
        for token in (lang.code, f"__{lang.iso639_1}__" if lang.iso639_1 else None):
            if token is not None and token in self.tokenizer.get_vocab():
                return self.tokenizer.convert_tokens_to_ids(token)
        raise InputError(f"encoder {self.spec} has no language token for {lang.code} ({lang.name})")

    def token_ids(self, text: str, lang_code: str) -> list[int]:
        text = self.text_prefix + text
        lang_id = self.language_token_id(lang_code)
        if lang_id is not None:  # NLLB (non-legacy) layout: [lang] tokens </s>
            return [lang_id] + self.tokenizer(text, add_special_tokens=False)["input_ids"] + [
                self.tokenizer.eos_token_id
            ]
        return self.tokenizer(text, add_special_tokens=True)["input_ids"]

    def tokenize(self, texts: list[str], langs: list[str], max_length: int | None = None,
                 truncate: bool = False) -> dict[str, torch.Tensor]:
        """Right-padded ids and mask. Over-long sources raise unless truncate=True."""
        limit = min(max_length or self.max_length, self.max_length)
        rows = []
        for i, (text, lang) in enumerate(zip(texts, langs, strict=True)):
            ids = self.token_ids(text, lang)
            if len(ids) > limit:
                if not truncate:
                    raise InputError(
                        f"source {i} is {len(ids)} tokens long; the limit is {limit} "
                        f"(shorten it or pass truncate=True)"
                    )
                ids = ids[: limit - 1] + ids[-1:]  # keep the closing special token
            rows.append(ids)
        input_ids, mask = right_pad(rows, self.pad_token_id)
        return {"input_ids": input_ids, "attention_mask": mask}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def identity(self) -> dict:
        return {
            "spec": str(self.spec),
            "text_prefix": self.text_prefix,  # part of the input: a bridge must be loaded with it
            "model_type": self.model_type,
            "hidden_size": self.hidden_size,
            "fingerprint": fingerprint(self.model.config, self.tokenizer),
            "parameters": count_parameters(self.model),
        }


def load_encoder(spec: str | BackboneSpec, *, dtype: str = "float32", device: str = "cpu",
                 gguf_file: str | None = None, text_prefix: str | None = None) -> FrozenEncoder:
    """text_prefix: put before every source text (e5: "query: "); None = the backbone's default."""
    spec = spec if isinstance(spec, BackboneSpec) else BackboneSpec.parse(spec, gguf_file)
    if spec.kind == "tiny-random":
        from .tiny import tiny_encoder

        model, tokenizer = tiny_encoder(spec.name)
    elif spec.kind == "random" or device == "meta":
        # Architecture only: random weights (random:) or no weights at all (meta device).
        from .known_shapes import architecture_config
        from .tiny import byte_tokenizer

        model = _encoder_from_config(architecture_config(spec), device)
        tokenizer = byte_tokenizer()
    elif spec.kind in ("hub", "pocket"):
        from transformers import AutoConfig, AutoTokenizer

        source = spec.name
        if spec.kind == "pocket":
            from ..assets.pocket import pocket, pocket_dir

            source = pocket_dir(spec.name, "encoder")
            text_prefix = pocket(spec.name, "encoder").text_prefix if text_prefix is None else text_prefix
        config = AutoConfig.from_pretrained(source)
        model = _encoder_from_pretrained(source, config, parse_dtype(dtype))
        tokenizer = AutoTokenizer.from_pretrained(source)
    else:
        raise ValueError(f"{spec.kind} backbones cannot be used as encoders: {spec}")
    dtype = parse_dtype(dtype)
    if device != "meta":
        model = model.to(device=device, dtype=dtype) if dtype else model.to(device)
    return FrozenEncoder(model, tokenizer, spec, text_prefix=text_prefix or "")


def _encoder_from_config(config, device: str) -> nn.Module:
    from transformers import AutoModel, M2M100Model, T5EncoderModel

    with torch.device(device):  # built where it runs (random: and meta alike)
        if config.model_type == "m2m_100":
            return M2M100Model(config).get_encoder()
        if config.model_type in T5_LIKE:
            return T5EncoderModel(config)
        return AutoModel.from_config(config)


def _encoder_from_pretrained(name: str, config, dtype) -> nn.Module:
    from transformers import AutoModel, M2M100Model, MT5EncoderModel, T5EncoderModel

    if config.model_type == "m2m_100":
        # The decoder half is dropped as soon as this returns (nothing else references it).
        return M2M100Model.from_pretrained(name, dtype=dtype).get_encoder()
    if config.model_type == "mt5":
        return MT5EncoderModel.from_pretrained(name, dtype=dtype)
    if config.model_type in T5_LIKE:
        return T5EncoderModel.from_pretrained(name, dtype=dtype)
    if config.model_type in BERT_LIKE and config.model_type != "distilbert":
        # The pooler is unused: leaving it out keeps random, unused weights out of the counts.
        return AutoModel.from_pretrained(name, dtype=dtype, add_pooling_layer=False)
    return AutoModel.from_pretrained(name, dtype=dtype)
