"""Run configs: one YAML file names the method, the backbones and the bridge options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import BabelBridgeError

TOP_LEVEL_KEYS = {"method", "encoder", "decoder", "encoder_options", "decoder_options", "bridge"}


@dataclass
class RunConfig:
    method: str
    encoder: str
    decoder: str
    encoder_options: dict = field(default_factory=dict)  # e.g. {text_prefix: "query: "}
    decoder_options: dict = field(default_factory=dict)  # e.g. {gguf_file: model.gguf}
    bridge: dict = field(default_factory=dict)


def load_run_config(path: str | Path) -> RunConfig:
    path = Path(path)
    if not path.is_file():
        raise BabelBridgeError(f"config file {path} does not exist")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise BabelBridgeError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(values, dict):
        raise BabelBridgeError(f"{path} must hold a mapping of {', '.join(sorted(TOP_LEVEL_KEYS))}")
    unknown = sorted(set(values) - TOP_LEVEL_KEYS)
    missing = sorted({"method", "encoder", "decoder"} - set(values))
    if unknown or missing:
        raise BabelBridgeError(
            f"{path}: " + "; ".join(
                ([f"unknown key(s) {', '.join(unknown)}"] if unknown else [])
                + ([f"missing key(s) {', '.join(missing)}"] if missing else [])
            ) + f"; accepted: {', '.join(sorted(TOP_LEVEL_KEYS))}"
        )
    return RunConfig(**values)
