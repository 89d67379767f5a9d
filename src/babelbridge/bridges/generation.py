"""Generation settings every bridge that drives transformers' generate shares."""

from __future__ import annotations

from dataclasses import replace

from transformers import CompileConfig, GenerationConfig

from ..backbones import FrozenDecoder
from ..errors import InputError


def decode_config(decoder: FrozenDecoder, *, max_new_tokens: int, num_beams: int = 1, min_new_tokens: int = 0,
                  use_cache: bool = True, static_cache: bool = False,
                  compile: bool | CompileConfig = False) -> GenerationConfig:
    """The settings of one generate call; the speed benchmark gives the same to the plain LLM."""
    if max_new_tokens < 1 or num_beams < 1:
        raise InputError(f"max_new_tokens and num_beams must be >= 1, got {max_new_tokens} and {num_beams}")
    if not 0 <= min_new_tokens <= max_new_tokens:
        raise InputError(f"min_new_tokens must be in 0..max_new_tokens ({max_new_tokens}), got {min_new_tokens}")
    if (static_cache or compile) and not use_cache:
        raise InputError("static_cache and compile need the KV cache: they cannot be combined with reference=True")
    compile_config = None
    if compile:
        compile_config = replace(compile) if isinstance(compile, CompileConfig) else CompileConfig()
        # transformers compiles the decode step by itself only on accelerators; this asks for it anywhere.
        compile_config._compile_all_devices = True
    return GenerationConfig(
        max_new_tokens=max_new_tokens, num_beams=num_beams, do_sample=False,
        min_new_tokens=min_new_tokens or None,
        eos_token_id=decoder.stop_token_ids, pad_token_id=decoder.pad_token_id, use_cache=use_cache,
        cache_implementation="static" if static_cache or compile else None,
        # Eager unless asked: transformers would otherwise compile on a GPU whenever the cache is static.
        compile_config=compile_config, disable_compile=not compile,
    )


def until_stop(ids: list[int], stop) -> list[int]:
    """Cut a generated row after its first stop token (what follows is padding)."""
    for i, t in enumerate(ids):
        if t in stop:
            return ids[: i + 1]
    return ids
