"""Writing pairs back out, atomically, in a format `read_corpus` reads."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Iterable

from ..pairs import TranslationPair
from .errors import DataError

WRITE_FORMATS = ("tsv", "jsonl")
PIVOT_LANG = "eng_Latn"  # TranslationPair.pivot is the pair's English unless a spec said otherwise


def _tsv_line(i: int, pair: TranslationPair, pivot_lang: str) -> str:
    if pair.pivot is not None:  # dropping it silently would turn triples into pairs
        raise DataError(f"pair {i} carries a pivot sentence, which TSV cannot hold; write format='jsonl' instead")
    for side in ("src", "tgt"):
        text = getattr(pair, side)
        # These characters would split the field or the line: the file would not read back.
        if any(ch in text for ch in "\t\n\r"):
            raise DataError(f"pair {i}: {side} contains a tab or line break, which TSV cannot hold; "
                            f"write format='jsonl' instead")
    return f"{pair.src}\t{pair.tgt}\n"


def _jsonl_line(i: int, pair: TranslationPair, pivot_lang: str) -> str:
    obj = {"src": pair.src, "tgt": pair.tgt, "src_lang": pair.src_lang, "tgt_lang": pair.tgt_lang}
    if pair.pivot is not None:  # a triple: read back with pivot_lang set in the spec
        obj.update(pivot=pair.pivot, pivot_lang=pair.pivot_lang or pivot_lang)
    return json.dumps(obj, ensure_ascii=False) + "\n"


def write_pairs(pairs: Iterable[TranslationPair], path: str | os.PathLike, format: str = "tsv", *,
                pivot_lang: str | None = None) -> Path:
    """Write pairs as TSV (src<TAB>tgt; languages are not stored) or JSONL (with languages).

    Triples (pairs with a pivot) need JSONL: each line gets "pivot" and "pivot_lang" (pivot_lang,
    default eng_Latn: a pair's pivot is its English unless its corpus spec named another).

    The file appears complete or not at all: it is written to a temporary file in the same
    directory (same filesystem, so the rename is atomic) and moved into place with os.replace.
    """
    if format not in WRITE_FORMATS:
        raise DataError(f"unknown output format {format!r}; expected one of: {', '.join(WRITE_FORMATS)}")
    line = _tsv_line if format == "tsv" else _jsonl_line
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for i, pair in enumerate(pairs):
                f.write(line(i, pair, pivot_lang or PIVOT_LANG))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a corpus is an ordinary shared file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
