"""Bridges shipped inside the package, by name: `--bridge pocket-hca-deu-eng`.

Each is an ordinary checkpoint directory (bridge.json + bridge.safetensors, the trainable part
only) next to this file, with TRAINING.md giving the exact command and config that made it.
Their backbones are pocket backbones, fetched and converted on first use.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent

BUILTIN_BRIDGES: dict[str, str] = {
    "pocket-hca-deu-eng": "HCA, pocket:e5-small -> pocket:smollm2-135m, trained on German->English Bible verses only",
    "pocket-smollm2-zero-shot": "pocket:smollm2-135m prompted alone (LMT's prompt), the baseline; no weights",
}


def builtin_bridge_path(name: str) -> Path | None:
    """The directory of a shipped bridge, or None if `name` is not one (or its files are missing)."""
    if name not in BUILTIN_BRIDGES:
        return None
    path = HERE / name
    return path if (path / "bridge.json").is_file() and (path / "bridge.safetensors").is_file() else None
