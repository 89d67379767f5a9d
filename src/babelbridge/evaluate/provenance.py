"""What run.json records so a table can be reproduced: command, versions, machine, date."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from importlib import metadata

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


def machine(device: str | None = None) -> dict:
    info = {"platform": platform.platform(), "machine": platform.machine(),
            "processor": platform.processor() or None, "cpu_count": os.cpu_count(), "device": device}
    if device and device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            index = int(device.partition(":")[2] or 0)
            info["gpu"] = torch.cuda.get_device_name(index)
            info["cuda"] = torch.version.cuda
    return info


def run_info(device: str | None = None, **extra) -> dict:
    return {
        "argv": list(sys.argv),  # the process's command line, exactly
        "cwd": os.getcwd(),  # relative paths in argv are relative to this
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": package_versions(),
        "machine": machine(device),
        "sacrebleu_seed": os.environ.get("SACREBLEU_SEED", "12345"),  # the bootstrap's seed
        **extra,
    }
