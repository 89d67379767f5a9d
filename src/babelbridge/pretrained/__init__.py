"""Bridges shipped inside the package, by name (`--bridge pocket-hca-deu-eng`), and what every
`--bridge` value resolves to (a checkpoint directory or such a name). No torch here.

Each is an ordinary checkpoint directory (bridge.json + bridge.safetensors, the trainable part
only) next to this file, with TRAINING.md giving the exact command and config that made it.
Their backbones are pocket backbones, fetched and converted on first use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import CheckpointError

HERE = Path(__file__).parent
# The two files of a checkpoint directory (bridges/checkpoint.py: WEIGHTS, META). Repeated
# here because importing that module imports torch.
CHECKPOINT_FILES = ("bridge.json", "bridge.safetensors")

BUILTIN_BRIDGES: dict[str, str] = {
    "pocket-hca-deu-eng": "HCA, pocket:e5-small -> pocket:smollm2-135m, trained on German->English Bible verses only",
    "pocket-smollm2-zero-shot": "pocket:smollm2-135m prompted alone (LMT's prompt), the baseline; no weights",
}


def builtin_bridge_path(name: str) -> Path | None:
    """The directory of a shipped bridge, or None if `name` is not one (or its files are missing)."""
    if name not in BUILTIN_BRIDGES:
        return None
    path = HERE / name
    return path if all((path / f).is_file() for f in CHECKPOINT_FILES) else None


def resolve_bridge_path(name_or_path: str | os.PathLike) -> Path:
    """The checkpoint directory that --bridge names, checked to hold a checkpoint.

    Accepted: a directory with bridge.json and bridge.safetensors, or the name of a bridge
    shipped in the package (babelbridge.pretrained).
    """
    text = str(name_or_path)
    accepted = ("accepted: a bridge checkpoint directory holding " + " and ".join(CHECKPOINT_FILES)
                + " (e.g. the bridge/ folder in a training run's output_dir)")
    accepted += (f", or a named bridge: {', '.join(sorted(BUILTIN_BRIDGES))}" if BUILTIN_BRIDGES
                 else "; no named bridges are built in yet")
    if not text.strip():
        raise CheckpointError(f"--bridge is empty; {accepted}")
    path = Path(text).expanduser()
    if path.is_dir():
        missing = [f for f in CHECKPOINT_FILES if not (path / f).is_file()]
        if missing:
            raise CheckpointError(f"--bridge {text} is not a bridge checkpoint: missing {', '.join(missing)}; "
                                  f"{accepted}")
        try:
            meta = json.loads((path / CHECKPOINT_FILES[0]).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CheckpointError(f"--bridge {text}: {CHECKPOINT_FILES[0]} is not valid JSON ({err})") from None
        if not isinstance(meta, dict) or "method" not in meta:
            raise CheckpointError(f"--bridge {text}: {CHECKPOINT_FILES[0]} is not a babelbridge checkpoint "
                                  f"(no \"method\")")
        return path
    if text in BUILTIN_BRIDGES:
        found = builtin_bridge_path(text)
        if found is None:
            raise CheckpointError(f"--bridge {text}: this installation lacks the shipped weights "
                                  f"({text}/bridge.safetensors in the babelbridge package); {accepted}")
        return found
    if path.exists():
        raise CheckpointError(f"--bridge {text} is a file, not a checkpoint directory; {accepted}")
    raise CheckpointError(f"--bridge {text}: no such directory; {accepted}")
