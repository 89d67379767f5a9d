"""`babelbridge inspect PATH_OR_CONFIG`: method, backbones, trainable and frozen parameters."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from ..errors import BabelBridgeError


def parameter_groups(named_counts) -> dict[str, int]:
    """blocks.17.proj.weight -> blocks.*.proj: one line per kind of module, not per layer."""
    groups: dict[str, int] = defaultdict(int)
    for name, n in named_counts:
        groups[re.sub(r"\.(weight|bias)$", "", re.sub(r"\.\d+\.", ".*.", name))] += n
    return dict(groups)


def describe(method: str, backbones: dict, counts: dict, groups: dict, config: dict, notes: list[str] = ()) -> str:
    enc, dec = backbones.get("encoder"), backbones["decoder"]
    total = counts["trainable"] + counts.get("encoder", 0) + counts["decoder"]
    lines = [
        f"method     {method}",
        f"encoder    {enc['spec']}  ({enc['model_type']}, hidden {enc['hidden_size']})  "
        f"{counts['encoder']:,} frozen" if enc else "encoder    none (the LLM reads the source in its prompt)",
        f"decoder    {dec['spec']}  ({dec['model_type']}, hidden {dec['hidden_size']}, "
        f"{dec.get('num_layers', '?')} layers)  {counts['decoder']:,} frozen",
        f"trainable  {counts['trainable']:,}  ({100 * counts['trainable'] / total:.1f}% of {total:,})",
    ]
    width = max((len(k) for k in groups), default=0)
    lines += [f"  {k:<{width}}  {v:>14,}" for k, v in groups.items()]
    lines += list(notes)
    # A value with a line break (a prompt template) is shown escaped, so config stays one line.
    lines.append("config     " + ", ".join(
        f"{k}={v!r}" if isinstance(v, str) and not v.isprintable() else f"{k}={v}" for k, v in config.items()))
    return "\n".join(lines)


def inspect_checkpoint(path: Path) -> str:
    from safetensors import safe_open

    from ..bridges import read_metadata

    meta = read_metadata(path)
    with safe_open(path / "bridge.safetensors", framework="pt") as f:
        named = [(k, _numel(f.get_slice(k).get_shape())) for k in f.keys()]
    counts = {"trainable": sum(n for _, n in named),
              **{role: b["parameters"] for role, b in meta["backbones"].items()}}
    return describe(meta["method"], meta["backbones"], counts, parameter_groups(sorted(named)), meta["config"])


def inspect_config(path: Path) -> str:
    """Build the bridge on the meta device: exact counts at any size, no weights, no memory."""
    import torch

    from ..bridges import build_bridge, load_backbones
    from ..runconfig import load_run_config

    run = load_run_config(path)
    encoder, decoder = load_backbones(run.method, run.bridge, run.encoder, run.decoder, device="meta",
                                      encoder_options=run.encoder_options, decoder_options=run.decoder_options)
    backbones = {
        "decoder": {"spec": run.decoder, "model_type": decoder.model.config.model_type,
                    "hidden_size": decoder.hidden_size, "num_layers": decoder.num_layers},
    }
    if encoder is not None:
        backbones["encoder"] = {"spec": run.encoder, "model_type": encoder.model_type,
                                "hidden_size": encoder.hidden_size}
    with torch.device("meta"):
        bridge = build_bridge(run.method, encoder, decoder, run.bridge)
    named = [(n, p.numel()) for n, p in bridge.trainable_named_parameters()]
    return describe(run.method, backbones, bridge.parameter_counts(), parameter_groups(named),
                    bridge.config.to_dict(), matched_lora_note(bridge))


def matched_lora_note(bridge) -> list[str]:
    """For LoRA experts (crosslora, molora): the plain LoRA with about as many trainable
    parameters, the CrossLoRA paper's LoRA baseline (section 4.3)."""
    if not hasattr(bridge, "matched_lora_options"):
        return []
    options = bridge.matched_lora_options()
    count = options["r"] * bridge.lora_count_per_rank()
    return [f"matched    method lora, r {options['r']}, alpha {options['alpha']:g} on "
            f"{', '.join(options['target_modules'])}: {count:,} trainable"]


def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def run(target: str) -> str:
    from ..pretrained import BUILTIN_BRIDGES, builtin_bridge_path

    path = Path(target)
    if path.is_dir():
        return inspect_checkpoint(path)
    if path.is_file():
        return inspect_config(path)
    if target in BUILTIN_BRIDGES and builtin_bridge_path(target) is not None:
        return inspect_checkpoint(builtin_bridge_path(target))
    raise BabelBridgeError(f"{target} is neither a bridge checkpoint directory, a config file, nor a shipped "
                           f"bridge ({', '.join(sorted(BUILTIN_BRIDGES))})")
