"""Cache of translations (and COMET scores) under <out>/cache/, as JSON, written atomically.

A translation is the same when the bridge, the test set (sources, languages, limit) and the
generation options are: their identities, hashed, name the file. Re-scoring, adding a metric
or a system then costs no translation of what was translated before. A file whose stored
identity differs from the one asked for (a hash collision, a hand edit) or that does not parse
is a miss and is overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

CHECKPOINT_FILES = ("bridge.json", "bridge.safetensors")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def identity_key(identity: Any) -> str:
    return hashlib.sha256(_canonical(identity).encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint_identity(path: str | os.PathLike) -> dict:
    """A saved bridge: where it is and what its two files hold."""
    path = Path(path).resolve()
    return {"checkpoint": str(path), "sha256": {f: file_sha256(path / f) for f in CHECKPOINT_FILES}}


def bridge_identity(bridge) -> dict:
    """A bridge in memory: method, config, backbones and a hash of its trainable tensors."""
    digest = hashlib.sha256()
    for name, tensor in sorted(bridge.trainable_state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(_bytes(t))
    return {"method": bridge.method, "config": bridge.config.to_dict(),
            "backbones": bridge.backbone_identities(), "weights_sha256": digest.hexdigest()}


def _bytes(t) -> bytes:
    import torch

    return t.reshape(-1).view(torch.uint8).numpy().tobytes()  # any dtype, bfloat16 included


class JsonCache:
    """identity -> JSON value, one file per identity under root."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, kind: str, identity: Any) -> Path:
        return self.root / f"{kind}-{identity_key(identity)[:40]}.json"

    def load(self, kind: str, identity: Any) -> Any | None:
        path = self.path(kind, identity)
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        if not isinstance(stored, dict) or _canonical(stored.get("identity")) != _canonical(identity):
            return None
        return stored.get("value")

    def store(self, kind: str, identity: Any, value: Any) -> Path:
        path = self.path(kind, identity)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"identity": identity, "value": value}, f, ensure_ascii=False, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


class TranslationCache(JsonCache):
    """Hypotheses per (bridge identity, test set identity, generation options)."""

    def get(self, bridge: dict, testset, generation: dict) -> list[str] | None:
        value = self.load("translations", self._identity(bridge, testset, generation))
        hyps = value.get("hypotheses") if isinstance(value, dict) else None
        ok = isinstance(hyps, list) and len(hyps) == len(testset) and all(isinstance(h, str) for h in hyps)
        return hyps if ok else None

    def put(self, bridge: dict, testset, generation: dict, hypotheses: Sequence[str]) -> Path:
        return self.store("translations", self._identity(bridge, testset, generation),
                          {"hypotheses": list(hypotheses)})

    @staticmethod
    def _identity(bridge: dict, testset, generation: dict) -> dict:
        return {"bridge": bridge, "testset": testset.identity, "generation": generation}
