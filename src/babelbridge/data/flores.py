"""FLORES-200 directories: one file per language and split, aligned by line (or row) index.

Two layouts are accepted, per language, so a directory may even mix them:
  classic:  <dir>/<split>/<code>.<split>   one sentence per line (the original release)
  parquet:  <dir>/<split>/<code>.parquet   column "text" (the Hugging Face FLORES+ release)
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Iterator

from .errors import DataError
from .raw import RawPair, RawTriple, read_lines
from .spec import CorpusSpec


def available_languages(split_dir: Path, split: str) -> list[str]:
    """Language codes with a file of either layout in a split folder, sorted."""
    codes = set()
    for f in split_dir.iterdir():
        for suffix in (f".{split}", ".parquet"):
            if f.name.endswith(suffix) and f.is_file():
                codes.add(f.name[: -len(suffix)])
    return sorted(codes)


def _find(root: Path, split: str, code: str) -> Path:
    split_dir = root / split
    for candidate in (split_dir / f"{code}.{split}", split_dir / f"{code}.parquet"):
        if candidate.is_file():
            return candidate
    available = available_languages(split_dir, split)
    close = difflib.get_close_matches(code, available, n=3, cutoff=0.6)
    if close:
        hint = f"closest available: {', '.join(close)}"
    elif available:
        hint = f"{len(available)} other languages are there, e.g. {', '.join(available[:5])}"
    else:
        hint = f"it holds no .{split} or .parquet files"
    raise DataError(f"FLORES-200: no {code} in split '{split}' of {root} "
                    f"(looked for {code}.{split} and {code}.parquet in {split_dir}); {hint}")


def _sentences(path: Path) -> list[str]:
    if path.suffix != ".parquet":
        return [line for _, line in read_lines(path)]
    try:
        import pyarrow.parquet as pq
    except ImportError:  # only this layout needs it
        raise DataError(f"reading {path} needs pyarrow: pip install pyarrow") from None
    try:
        names = pq.read_schema(path).names
        if "text" not in names:
            raise DataError(f"{path}: no 'text' column (columns: {', '.join(names)})")
        column = pq.read_table(path, columns=["text"]).column("text").to_pylist()
    except DataError:
        raise
    except Exception as err:  # pyarrow raises several types for damaged or foreign files
        raise DataError(f"{path}: not a readable parquet file ({err})") from None
    return [(text or "").rstrip("\r\n") for text in column]  # a null row counts as an empty sentence


def read_flores(spec: CorpusSpec) -> Iterator[RawPair | RawTriple]:
    """The two languages' files line by line; with spec.pivot_lang, triples (a third file, the
    same lines: FLORES-200 is multi-way)."""
    root = spec.path
    if not root.is_dir():
        raise DataError(f"FLORES-200 directory not found: {root}")
    if not (root / spec.split).is_dir():
        raise DataError(f"FLORES-200 directory {root} has no '{spec.split}' folder "
                        f"(expected {root / spec.split}/<code>.{spec.split} or <code>.parquet)")
    files = [_find(root, spec.split, code) for code in (spec.src_lang, spec.tgt_lang, spec.pivot_lang) if code]
    columns = [_sentences(f) for f in files]
    for f, column in zip(files[1:], columns[1:]):
        if len(column) != len(columns[0]):
            raise DataError(f"FLORES-200 files are not aligned: {files[0]} has {len(columns[0])} sentences "
                            f"but {f} has {len(column)}")
    for i, texts in enumerate(zip(*columns), 1):
        at = [(f, i) for f in files]
        if spec.pivot_lang is None:
            yield RawPair(texts[0], texts[1], spec.src_lang, spec.tgt_lang, at[0], at[1])
        else:
            yield RawTriple(texts[0], texts[1], spec.src_lang, spec.tgt_lang, at[0], at[1], texts[2], at[2])
