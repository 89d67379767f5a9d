"""Bridge checkpoints: the trainable part only, as safetensors + JSON.

    <dir>/bridge.safetensors   the bridge's own parameters (never a backbone weight)
    <dir>/bridge.json          method, config, and the backbones' identities (no "encoder"
                               entry for a method without one, e.g. prompted, lora)

Nothing here unpickles: safetensors holds tensors only, JSON holds the rest. Loading onto
backbones whose architecture or tokenizer differs from the recorded fingerprints is an
error, because the weights would load without complaint and produce garbage.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .. import __version__
from ..backbones import load_decoder, load_encoder, load_nmt
from ..errors import BackboneMismatchError, CheckpointError
from .base import Bridge
from .registry import bridge_class, build_bridge

WEIGHTS, META = "bridge.safetensors", "bridge.json"
FORMAT_VERSION = 1


def save_bridge(bridge: Bridge, path: str | os.PathLike, extra: dict | None = None,
                tensors: dict[str, torch.Tensor] | None = None) -> Path:
    """Write atomically: a killed save leaves the previous checkpoint, never half of one.
    tensors: the trainable tensors when the caller gathered them (FSDP2 shards the bridge's
    parameters; every process gathers, one writes); by default the bridge's own."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "format_version": FORMAT_VERSION,
        "babelbridge_version": __version__,
        "method": bridge.method,
        "config": bridge.config.to_dict(),
        "backbones": bridge.backbone_identities(),
        "parameters": bridge.parameter_counts(),
        **(extra or {}),
    }
    if tensors is None:
        tensors = bridge.trainable_state_dict()
    tensors = {k: v.contiguous().cpu() for k, v in tensors.items()}
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    save_file(tensors, tmp / WEIGHTS, metadata={"method": bridge.method})
    (tmp / META).write_text(json.dumps(meta, indent=2) + "\n")
    if path.exists():
        old = path.with_name(f".{path.name}.old")
        os.replace(path, old)
        os.replace(tmp, path)
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    else:
        os.replace(tmp, path)
    return path


def read_metadata(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_dir():
        raise CheckpointError(f"no bridge checkpoint at {path}: not a directory")
    missing = [f for f in (WEIGHTS, META) if not (path / f).is_file()]
    if missing:
        raise CheckpointError(f"{path} is not a bridge checkpoint: missing {', '.join(missing)}")
    try:
        meta = json.loads((path / META).read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path / META} is not valid JSON: {err}") from None
    if meta.get("format_version") != FORMAT_VERSION or "method" not in meta:
        raise CheckpointError(f"{path / META} is not a babelbridge checkpoint of format {FORMAT_VERSION}")
    return meta


def check_backbones(recorded: dict, bridge: Bridge, path) -> None:
    actual = bridge.backbone_identities()
    if set(recorded) != set(actual):
        raise BackboneMismatchError(
            f"checkpoint {path} records backbones {', '.join(sorted(recorded))} but the {bridge.method} "
            f"bridge built on it has {', '.join(sorted(actual))}")
    for role in sorted(recorded):
        want, got = recorded[role], actual[role]
        if want["fingerprint"] != got["fingerprint"]:
            raise BackboneMismatchError(
                f"checkpoint {path} was trained on {role} {want['spec']} ({want['model_type']}, "
                f"hidden {want['hidden_size']}, fingerprint {want['fingerprint']}) but the {role} given is "
                f"{got['spec']} ({got['model_type']}, hidden {got['hidden_size']}, fingerprint {got['fingerprint']}); "
                f"load it with --{role} {want['spec']}"
            )


def load_bridge(path: str | os.PathLike, *, encoder=None, decoder=None, dtype: str = "float32",
                device: str = "cpu") -> Bridge:
    """Rebuild a saved bridge. Backbones default to the recorded specs; pass loaded ones (or
    other specs) to override, and their fingerprints must still match."""
    path = Path(path)
    meta = read_metadata(path)
    recorded = meta["backbones"]
    if "encoder" not in recorded:  # a method that reads the source through the LLM's prompt
        if encoder is not None:
            raise CheckpointError(f"checkpoint {path} ({meta['method']}) uses no encoder; do not pass one")
    elif encoder is None or isinstance(encoder, str):
        load = load_nmt if bridge_class(meta["method"]).needs_nmt_decoder(meta["config"]) else load_encoder
        encoder = load(encoder or recorded["encoder"]["spec"], dtype=dtype, device=device,
                       text_prefix=recorded["encoder"].get("text_prefix"))
    if "decoder" not in recorded:  # no LLM: the NMT model alone
        if decoder is not None:
            raise CheckpointError(f"checkpoint {path} ({meta['method']}) uses no LLM; do not pass a decoder")
    elif decoder is None or isinstance(decoder, str):
        decoder = load_decoder(decoder or recorded["decoder"]["spec"], dtype=dtype, device=device)
    bridge = build_bridge(meta["method"], encoder, decoder, meta["config"])
    check_backbones(recorded, bridge, path)
    load_trainable_into(bridge, path)
    bridge.eval()  # loaded for inference: dropout (LoRA's) off until a trainer calls train()
    return bridge.to(device) if device != "meta" else bridge


def init_from_checkpoint(bridge: Bridge, path: str | os.PathLike) -> None:
    """A later stage starts from an earlier one's checkpoint (train.init_from): the same method
    on the same backbones; the bridge names the parameters that checkpoint must supply."""
    path = Path(path)
    meta = read_metadata(path)
    if meta["method"] != bridge.method:
        raise CheckpointError(f"train.init_from {path} is a {meta['method']} bridge; this run trains a "
                              f"{bridge.method} bridge")
    check_backbones(meta["backbones"], bridge, path)
    load_trainable_into(bridge, path, names=bridge.init_parameter_names(meta))


def load_trainable_into(bridge: Bridge, path: str | os.PathLike, names: list[str] | None = None) -> None:
    """Copy a checkpoint's trainable tensors into an already built bridge of the same config.

    names: only these parameters (the checkpoint must hold exactly them), for a stage that
    starts from another stage's checkpoint; default: every trainable parameter."""
    path = Path(path)
    state = load_file(path / WEIGHTS)
    own = dict(bridge.trainable_named_parameters())
    if names is not None:
        own = {n: own[n] for n in names}
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise CheckpointError(
            f"{path / WEIGHTS} does not match a {bridge.method} bridge with this config: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    for name, param in own.items():
        if param.shape != state[name].shape:
            raise CheckpointError(f"{name}: checkpoint shape {tuple(state[name].shape)} != {tuple(param.shape)}")
        with torch.no_grad():
            param.copy_(state[name].to(param.dtype))
