"""Architectures of the real backbones, shipped so that they can be built offline.

`random:<hub id>` builds a model of the real size with random weights: speed and memory do
not depend on weight values, so these measure real throughput where the hub is unreachable,
and `inspect` counts parameters at the papers' sizes on the meta device.
Values are the hub's config.json of each model (2025 releases).
"""

from __future__ import annotations

_QWEN3 = dict(
    model_type="qwen3", vocab_size=151936, max_position_embeddings=40960, rope_theta=1_000_000,
    rms_norm_eps=1e-6, head_dim=128, num_key_value_heads=8, hidden_act="silu",
    bos_token_id=151643, eos_token_id=151645, attention_bias=False,
)
_NLLB = dict(
    model_type="m2m_100", vocab_size=256206, max_position_embeddings=1024, scale_embedding=True,
    activation_function="relu", pad_token_id=1, bos_token_id=0, eos_token_id=2,
    decoder_start_token_id=2, encoder_attention_heads=16, decoder_attention_heads=16,
)

KNOWN_SHAPES: dict[str, dict] = {
    "Qwen/Qwen3-0.6B": dict(_QWEN3, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                            num_attention_heads=16, tie_word_embeddings=True),
    "Qwen/Qwen3-1.7B": dict(_QWEN3, hidden_size=2048, intermediate_size=6144, num_hidden_layers=28,
                            num_attention_heads=16, tie_word_embeddings=True),
    "Qwen/Qwen3-4B": dict(_QWEN3, hidden_size=2560, intermediate_size=9728, num_hidden_layers=36,
                          num_attention_heads=32, tie_word_embeddings=True),
    "Qwen/Qwen3-8B": dict(_QWEN3, hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
                          num_attention_heads=32, tie_word_embeddings=False),
    # XBridge's LLMs (its paper: Qwen2.5-7B-Instruct, LLaMA3-8B, with NLLB-200-1.3B).
    "Qwen/Qwen2.5-7B-Instruct": dict(
        model_type="qwen2", vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
        num_attention_heads=28, num_key_value_heads=4, max_position_embeddings=32768, rope_theta=1_000_000,
        rms_norm_eps=1e-6, tie_word_embeddings=False, hidden_act="silu", bos_token_id=151643, eos_token_id=151645,
    ),
    "meta-llama/Meta-Llama-3-8B": dict(
        model_type="llama", vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192, rope_theta=500000.0,
        rms_norm_eps=1e-5, tie_word_embeddings=False, hidden_act="silu", bos_token_id=128000, eos_token_id=128001,
    ),
    # CrossLoRA's LLMs (its paper: LLaMA-3-8B-Instruct and Qwen2.5-7B-Instruct): the base model's
    # shape, with the instruct model's end of turn <|eot_id|> as eos.
    "meta-llama/Meta-Llama-3-8B-Instruct": dict(
        model_type="llama", vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192, rope_theta=500000.0,
        rms_norm_eps=1e-5, tie_word_embeddings=False, hidden_act="silu", bos_token_id=128000, eos_token_id=128009,
    ),
    # LLINK's LLM (its paper: LLaMA-3.2-1B, read through XLM-R base).
    "meta-llama/Llama-3.2-1B": dict(
        model_type="llama", vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
        num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=131072,
        rope_theta=500000.0, rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0,
                                               high_freq_factor=4.0, original_max_position_embeddings=8192),
        rms_norm_eps=1e-5, tie_word_embeddings=True, hidden_act="silu", bos_token_id=128000, eos_token_id=128001,
    ),
    "HuggingFaceTB/SmolLM2-135M-Instruct": dict(
        model_type="llama", vocab_size=49152, hidden_size=576, intermediate_size=1536,
        num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
        max_position_embeddings=8192, rope_theta=100000, rms_norm_eps=1e-5, tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2, pad_token_id=2,
    ),
    "intfloat/multilingual-e5-small": dict(
        model_type="bert", vocab_size=250037, hidden_size=384, intermediate_size=1536,
        num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=512,
        type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0,
    ),
    "FacebookAI/xlm-roberta-base": dict(
        model_type="xlm-roberta", vocab_size=250002, hidden_size=768, intermediate_size=3072,
        num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=514, type_vocab_size=1,
        layer_norm_eps=1e-5, hidden_act="gelu", pad_token_id=1, bos_token_id=0, eos_token_id=2,
    ),
    "facebook/nllb-200-distilled-600M": dict(_NLLB, d_model=1024, encoder_layers=12, decoder_layers=12,
                                             encoder_ffn_dim=4096, decoder_ffn_dim=4096),
    "facebook/nllb-200-1.3B": dict(_NLLB, d_model=1024, encoder_layers=24, decoder_layers=24,
                                   encoder_ffn_dim=8192, decoder_ffn_dim=8192),
    "facebook/nllb-200-distilled-1.3B": dict(_NLLB, d_model=1024, encoder_layers=24, decoder_layers=24,
                                             encoder_ffn_dim=8192, decoder_ffn_dim=8192),
    "facebook/nllb-200-3.3B": dict(_NLLB, d_model=2048, encoder_layers=24, decoder_layers=24,
                                   encoder_ffn_dim=8192, decoder_ffn_dim=8192),
}

# The architecture each pocket backbone has (babelbridge.assets.pocket).
POCKET_SHAPES = {"e5-small": "intfloat/multilingual-e5-small",
                 "smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct"}


def known_config(name: str):
    """The transformers config of a known hub model, built offline."""
    from transformers import AutoConfig

    if name not in KNOWN_SHAPES:
        raise ValueError(
            f"no shipped architecture for {name!r}; known: {', '.join(sorted(KNOWN_SHAPES))}"
        )
    values = dict(KNOWN_SHAPES[name])
    return AutoConfig.for_model(values.pop("model_type"), **values)


def architecture_config(spec):
    """The config of a spec without its weights: the shipped shapes when the model is known
    (no network needed), else the hub's or the local directory's config.json."""
    from transformers import AutoConfig

    if spec.kind == "pocket":  # counted offline without fetching the weights
        return known_config(POCKET_SHAPES[spec.name])
    if spec.kind == "random" or spec.name in KNOWN_SHAPES:
        return known_config(spec.name)
    try:
        return AutoConfig.from_pretrained(spec.name)
    except OSError as err:
        from ..errors import BabelBridgeError

        raise BabelBridgeError(
            f"cannot read the config of {spec.name!r} (not a local directory, and the hub said: "
            f"{str(err).splitlines()[0]}); architectures available offline: {', '.join(sorted(KNOWN_SHAPES))}"
        ) from None
