"""What "frozen" means here, and how a backbone is identified in a checkpoint."""

from __future__ import annotations

import hashlib
import json

import torch
from torch import nn

# Config keys that describe how a model was loaded, not what it is.
_RUNTIME_KEYS = {
    "_name_or_path", "name_or_path", "transformers_version", "torch_dtype", "dtype", "architectures",
    "use_cache", "output_attentions", "output_hidden_states", "return_dict", "_attn_implementation",
    "_attn_implementation_autoset", "_commit_hash", "quantization_config", "gguf_file",
    "tie_encoder_decoder", "chunk_size_feed_forward", "problem_type",
}

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def parse_dtype(dtype: str | torch.dtype | None) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        return None
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; accepted: auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def freeze(model: nn.Module) -> nn.Module:
    """No gradients, eval mode (dropout off). Bridges keep it in eval even in .train()."""
    model.requires_grad_(False)
    model.eval()
    return model


def fingerprint(config, tokenizer) -> str:
    """A short hash of a backbone's architecture and vocabulary.

    Weights are not hashed (too slow for multi-GB models); a checkpoint trained on one model
    and loaded onto a different architecture or tokenizer is what this catches.
    """
    cfg = {k: v for k, v in config.to_dict().items() if k not in _RUNTIME_KEYS}
    vocab = sorted(tokenizer.get_vocab().items())
    special = sorted((k, str(v)) for k, v in tokenizer.special_tokens_map.items())
    payload = json.dumps(
        {"config": cfg, "vocab": vocab, "special": special, "chat_template": tokenizer.chat_template},
        sort_keys=True, default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
