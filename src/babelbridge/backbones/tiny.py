"""Tiny random backbones built in-process: `tiny-random:<arch>`.

They exist so that every code path (tokenisation, language tokens, chat templates, hooks,
generation, checkpoints) runs in CI and smoke tests without a download. Weights are random
but deterministic (fixed seed), so a checkpoint saved on `tiny-random:qwen3` in one process
loads onto `tiny-random:qwen3` in another and gives the same outputs.

The tokenizer is byte-level with no merges: every UTF-8 string round-trips exactly, in any
script, with a vocabulary of 256 bytes plus a few special tokens.
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import (
    AutoModelForCausalLM,
    BertConfig,
    BertModel,
    LlamaConfig,
    M2M100Config,
    M2M100ForConditionalGeneration,
    M2M100Model,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen3Config,
    T5Config,
    T5EncoderModel,
    XLMRobertaConfig,
    XLMRobertaModel,
)

# fairseq order, shared by NLLB, M2M100 and XLM-R: the tiny models use the same special ids.
BOS, PAD, EOS, UNK = "<s>", "<pad>", "</s>", "<unk>"
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
SEED = 1234

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

TINY_DECODERS = ("qwen3", "qwen2", "llama")
TINY_ENCODERS = ("m2m100", "bert", "xlm-roberta", "mt5")


def byte_tokenizer(extra_special: list[str] = (), template: str | None = None) -> PreTrainedTokenizerFast:
    """A byte-level tokenizer: ids 0-3 are <s> <pad> </s> <unk>, then 256 bytes, then extras.

    template: None (no special tokens added), "bos_eos" (<s> X </s>) or "eos" (X </s>).
    """
    special = [BOS, PAD, EOS, UNK]
    vocab = {tok: i for i, tok in enumerate(special)}
    for ch in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[ch] = len(vocab)
    for tok in extra_special:
        vocab[tok] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(special + list(extra_special))
    if template == "bos_eos":
        tok.post_processor = processors.TemplateProcessing(
            single=f"{BOS} $A {EOS}", special_tokens=[(BOS, 0), (EOS, 2)]
        )
    elif template == "eos":
        tok.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", special_tokens=[(EOS, 2)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK
    )


def tiny_decoder(arch: str):
    """A 2-layer causal LM with a chat template whose turns end in <|im_end|> (its eos)."""
    tokenizer = byte_tokenizer([IM_START, IM_END])
    tokenizer.eos_token = IM_END
    tokenizer.chat_template = CHAT_TEMPLATE
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
        # Far above the usual 0.02: random logits must depend strongly on context, or every
        # input decodes to the same repeated token and equality tests prove nothing.
        initializer_range=0.5,
    )
    if arch == "qwen3":
        config = Qwen3Config(head_dim=8, **common)
    elif arch == "qwen2":
        config = Qwen2Config(**common)
    elif arch == "llama":
        config = LlamaConfig(**common)
    else:
        raise ValueError(f"unknown tiny-random decoder {arch!r}; accepted: {', '.join(TINY_DECODERS)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = AutoModelForCausalLM.from_config(config)
    model.config.name_or_path = f"tiny-random:{arch}"
    return model, tokenizer


def tiny_encoder(arch: str):
    """A 2-layer encoder of width 24 (unlike the decoders' 32, so shape mix-ups fail loudly).

    Initialised wide for the same reason as the decoders: distinct sources must give
    distinct states."""
    from ..languages import all_languages

    hidden = dict(hidden=24, heads=4, ffn=48, layers=2)
    if arch == "m2m100":
        # NLLB-style: every FLORES-200 code is a token, prefixed to the source by the encoder.
        tokenizer = byte_tokenizer([lang.code for lang in all_languages()])
        config = M2M100Config(
            vocab_size=len(tokenizer), d_model=hidden["hidden"], encoder_layers=hidden["layers"],
            decoder_layers=1, encoder_attention_heads=hidden["heads"], decoder_attention_heads=hidden["heads"],
            encoder_ffn_dim=hidden["ffn"], decoder_ffn_dim=hidden["ffn"], max_position_embeddings=512,
            pad_token_id=1, bos_token_id=0, eos_token_id=2, decoder_start_token_id=2, scale_embedding=True,
            init_std=0.5,
        )
        build = lambda: M2M100Model(config).get_encoder()  # noqa: E731
    elif arch in ("bert", "xlm-roberta"):
        tokenizer = byte_tokenizer(template="bos_eos")
        cls = BertConfig if arch == "bert" else XLMRobertaConfig
        config = cls(
            vocab_size=len(tokenizer), hidden_size=hidden["hidden"], num_hidden_layers=hidden["layers"],
            num_attention_heads=hidden["heads"], intermediate_size=hidden["ffn"], max_position_embeddings=514,
            pad_token_id=1, bos_token_id=0, eos_token_id=2, initializer_range=0.5,
        )
        model_cls = BertModel if arch == "bert" else XLMRobertaModel
        build = lambda: model_cls(config, add_pooling_layer=False)  # noqa: E731
    elif arch == "mt5":
        tokenizer = byte_tokenizer(template="eos")
        config = T5Config(
            vocab_size=len(tokenizer), d_model=hidden["hidden"], d_kv=6, d_ff=hidden["ffn"],
            num_layers=hidden["layers"], num_heads=hidden["heads"], feed_forward_proj="gated-gelu",
            pad_token_id=1, eos_token_id=2, decoder_start_token_id=1, is_encoder_decoder=False,
            initializer_factor=4.0,
        )
        build = lambda: T5EncoderModel(config)  # noqa: E731
    else:
        raise ValueError(f"unknown tiny-random encoder {arch!r}; accepted: {', '.join(TINY_ENCODERS)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = build()
    model.config.name_or_path = f"tiny-random:{arch}"
    return model, tokenizer


TINY_NMT = ("m2m100",)


def tiny_nmt(arch: str):
    """tiny-random:m2m100 with both halves (an NLLB-style translation model): its encoder is
    exactly tiny_encoder("m2m100")'s, so the same spec reads sources alike in every bridge."""
    if arch not in TINY_NMT:
        raise ValueError(f"unknown tiny-random NMT model {arch!r}; accepted: {', '.join(TINY_NMT)}")
    encoder, tokenizer = tiny_encoder(arch)
    config = encoder.config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        halves = M2M100Model(config)  # the very draws tiny_encoder made, decoder included
        model = M2M100ForConditionalGeneration(config)
    model.model.load_state_dict(halves.state_dict())
    model.tie_weights()  # NLLB's LM head is its shared embedding matrix
    model.config.name_or_path = f"tiny-random:{arch}"
    return model.eval(), tokenizer
