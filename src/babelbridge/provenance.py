"""Where a figure came from: package versions and the machine (CPU model, GPU), shared by
run.json of `babelbridge eval` and the benchmarks' result files."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("babelbridge", "torch", "transformers", "tokenizers", "sacrebleu", "sentencepiece",
            "numpy", "accelerate", "peft", "safetensors", "matplotlib")


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    """The CPU's marketing name on Linux (platform.processor() is often empty there)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str | None = None) -> dict:
    info = {"platform": platform.platform(), "machine": platform.machine(), "cpu": cpu_model(),
            "cpu_count": os.cpu_count(), "device": device}
    if device and device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            index = int(device.partition(":")[2] or 0)
            info["gpu"] = torch.cuda.get_device_name(index)
            info["cuda"] = torch.version.cuda
    return info
