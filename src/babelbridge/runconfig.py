"""Run configs: one YAML file names the method, the backbones and the bridge options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import BabelBridgeError

# Keyword arguments of load_encoder / load_decoder a config may set (device and dtype come
# from the command or the train section).
ENCODER_OPTIONS = {"gguf_file", "text_prefix"}
DECODER_OPTIONS = {"gguf_file"}
TOP_LEVEL_KEYS = {"method", "encoder", "decoder", "encoder_options", "decoder_options", "bridge", "data", "train"}


@dataclass
class RunConfig:
    method: str
    encoder: str | None  # None for a method without one (prompted, lora)
    decoder: str
    encoder_options: dict = field(default_factory=dict)  # e.g. {text_prefix: "query: "}
    decoder_options: dict = field(default_factory=dict)  # e.g. {gguf_file: model.gguf}
    bridge: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)  # corpora: see babelbridge.data.CorpusSpec
    train: dict = field(default_factory=dict)  # see babelbridge.train.TrainConfig
    path: Path | None = None  # the YAML file; relative data paths resolve against its folder


def load_run_config(path: str | Path, overrides: list[str] = ()) -> RunConfig:
    """Read a YAML run config and apply `key.sub=value` overrides (values parsed as YAML)."""
    path = Path(path)
    if not path.is_file():
        raise BabelBridgeError(f"config file {path} does not exist")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise BabelBridgeError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(values, dict):
        raise BabelBridgeError(f"{path} must hold a mapping of {', '.join(sorted(TOP_LEVEL_KEYS))}")
    for item in overrides:
        apply_override(values, item)
    unknown = sorted(set(values) - TOP_LEVEL_KEYS)
    missing = sorted({"method", "decoder"} - set(values))
    if unknown or missing:
        raise BabelBridgeError(
            f"{path}: " + "; ".join(
                ([f"unknown key(s) {', '.join(unknown)}"] if unknown else [])
                + ([f"missing key(s) {', '.join(missing)}"] if missing else [])
            ) + f"; accepted: {', '.join(sorted(TOP_LEVEL_KEYS))}"
        )
    for key, accepted in (("encoder_options", ENCODER_OPTIONS), ("decoder_options", DECODER_OPTIONS)):
        options = values.get(key, {})
        if not isinstance(options, dict):
            raise BabelBridgeError(f"{path}: {key} must be a mapping with keys among {', '.join(sorted(accepted))}")
        unknown = sorted(set(options) - accepted)
        if unknown:
            raise BabelBridgeError(f"{path}: unknown {key} {', '.join(unknown)}; accepted: {', '.join(sorted(accepted))}")
    check_encoder(values, path)
    return RunConfig(**{"encoder": None, **values}, path=path)


def check_encoder(values: dict, path: Path) -> None:
    """The method decides: an encoder is required (hca) or has no place (prompted, lora)."""
    from .bridges.registry import bridge_class  # here, not at the top: it imports torch

    method = str(values["method"])
    if bridge_class(method).uses_encoder:
        if not values.get("encoder"):
            raise BabelBridgeError(f"{path}: method {method} needs an encoder: add `encoder: SPEC` (a multilingual "
                                   f"encoder, e.g. facebook/nllb-200-distilled-600M or tiny-random:m2m100)")
    elif values.get("encoder") is not None or values.get("encoder_options"):
        raise BabelBridgeError(f"{path}: method {method} uses no encoder (the LLM reads the source in its prompt); "
                               f"remove the encoder and encoder_options keys")


def apply_override(values: dict, item: str) -> None:
    """--set train.lr=1e-4, --set data.train.0.path=x.tsv: dotted keys, list indices, YAML values."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise BabelBridgeError(f"--set takes key=value (e.g. train.lr=1e-4), got {item!r}")
    parts = key.split(".")
    node = values
    for depth, part in enumerate(parts[:-1]):
        child = node[int(part)] if isinstance(node, list) and part.isdigit() and int(part) < len(node) else (
            node.setdefault(part, {}) if isinstance(node, dict) else None)
        if child is None or not isinstance(child, (dict, list)):
            raise BabelBridgeError(f"--set {item}: {'.'.join(parts[: depth + 1])} is not a section")
        node = child
    value = yaml.safe_load(raw) if raw else ""
    if isinstance(node, list):
        if not (parts[-1].isdigit() and int(parts[-1]) < len(node)):
            raise BabelBridgeError(f"--set {item}: index {parts[-1]} is out of range")
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value
