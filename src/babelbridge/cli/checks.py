"""Argument checks every command shares. No torch here: they run before any model is loaded,
so a typo fails in a fraction of a second with one line that says what is accepted."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import BabelBridgeError, InputError
from ..languages import UnknownLanguageError, normalize_language

DEVICE_PATTERN = re.compile(r"(cpu|cuda|mps|xpu|npu|hpu)(:\d+)?")


def check_language(option: str, code: str) -> str:
    """The FLORES-200 code for `code`; an unknown one names the option and the closest codes."""
    try:
        return normalize_language(code)
    except UnknownLanguageError as err:
        raise InputError(f"{option}: {err}") from None


def check_positive(args, *names: str) -> None:
    """Each --option in `names` must be an integer >= 1."""
    for name in names:
        value = getattr(args, name.lstrip("-").replace("-", "_"))
        if value < 1:
            raise InputError(f"{name} must be a positive integer, got {value}")


def check_device_name(device: str) -> None:
    """The form of --device (whether that device exists needs torch: translate_cmd.check_device)."""
    if not DEVICE_PATTERN.fullmatch(device):
        raise InputError(f"--device {device!r} is not a device; accepted: cpu, cuda, cuda:N, mps, xpu, ...")


DTYPES = ("float32", "bfloat16", "float16", "auto")


def check_device(device: str) -> None:
    import torch

    kind, _, index = device.partition(":")
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise BabelBridgeError(f"--device {device}: torch sees no CUDA GPU here; use --device cpu")
        if index and int(index) >= torch.cuda.device_count():
            raise BabelBridgeError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) "
                                   f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})")
    elif kind == "mps" and not torch.backends.mps.is_available():
        raise BabelBridgeError(f"--device {device}: MPS is not available here; use --device cpu")


def parse_bridge_arg(text: str) -> tuple[str, Path]:
    """'[LABEL=]PATH' -> (label, checkpoint dir); the label defaults to the directory's name
    (its parent's for the usual runs/<name>/bridge)."""
    label, sep, rest = text.partition("=")
    if not sep or not label or "/" in label or os.sep in label:
        label, rest = "", text  # no label: the whole text is the path (which may hold a '=')
    from ..pretrained import resolve_bridge_path

    path = resolve_bridge_path(rest)
    if not label:
        label = path.resolve().parent.name if path.name == "bridge" else (path.name or str(path))
    return label, path


# The methods whose bridges take LMT's PMP options (Bridge.supports_pmp), repeated here because
# importing the bridges imports torch; tests/test_pmp.py keeps the two equal.
PMP_METHODS = ("prompted", "lora", "crosslora")


def check_pmp_bridge(option: str, name: str, path: Path, *, force: bool) -> None:
    """A bridge asked to translate with PMP (translate --pmp, eval --pmp): its bridge.json (no
    torch) must name a method that reads the source in its prompt and, unless forced, a config
    trained with PMP."""
    import json

    from ..pretrained import CHECKPOINT_FILES

    meta = json.loads((path / CHECKPOINT_FILES[0]).read_text(encoding="utf-8"))
    method, config = meta.get("method"), meta.get("config") or {}
    if method not in PMP_METHODS:
        raise InputError(f"{option}: PMP needs a bridge that reads the source in its prompt: {', '.join(PMP_METHODS)}; "
                         f"{name} is a {method} bridge")
    # An error, not a warning: a bridge made without PMP has never seen an auxiliary sentence in
    # its prompt, so its scores under PMP measure an untrained prompt, and a warning scrolls
    # away in a long evaluation log. Trying it on purpose (PMP zero-shot on the LLM alone, or
    # as an ablation) costs one flag.
    if not config.get("pmp", False) and not force:
        raise InputError(f"{option}: {name} was made without PMP (its config has pmp: false), so its prompt has "
                         f"never held an auxiliary sentence; add --force-pmp to prompt it with its pmp_template anyway")
