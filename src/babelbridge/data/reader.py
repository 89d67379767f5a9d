"""`read_corpus`: one spec in, one Corpus out, whatever the format."""

from __future__ import annotations

from typing import Any, Mapping

from ..pairs import TranslationPair
from .bible import read_bible
from .corpus import Corpus, ReadReport
from .errors import DataError
from .flores import read_flores
from .formats import read_jsonl, read_text_pair, read_tsv
from .raw import where
from .spec import CorpusSpec

EMPTY_POLICIES = ("skip", "error")
_READERS = {"tsv": read_tsv, "jsonl": read_jsonl, "text": read_text_pair, "flores": read_flores,
            "bible": read_bible}


def corpus_name(spec: CorpusSpec) -> str:
    # "*": languages given per JSONL line; triples are named src-pivot-tgt (x-en-y)
    middle = f"-{spec.pivot_lang}" if spec.pivot_lang is not None else ""
    langs = f"{spec.src_lang or '*'}{middle}-{spec.tgt_lang or '*'}"
    if spec.format == "bible":
        return f"{langs}:bible/{spec.split}" + (f" ({spec.path})" if spec.path is not None else "")
    location = spec.path / spec.split if spec.format == "flores" else spec.path
    return f"{langs}:{location}"


def read_corpus(spec: CorpusSpec | Mapping[str, Any], *, empty_lines: str = "skip") -> Corpus:
    """Read every pair of one corpus.

    A pair whose source or target is empty (after strip) is skipped and counted
    (empty_lines="skip") or is an error naming its file:line (empty_lines="error"). With the
    spec's pivot_lang the pairs carry `pivot`, and an empty pivot counts as an empty side.
    """
    if empty_lines not in EMPTY_POLICIES:
        raise DataError(f"empty_lines must be one of {', '.join(EMPTY_POLICIES)}, got {empty_lines!r}")
    if not isinstance(spec, CorpusSpec):
        spec = CorpusSpec.from_dict(spec)
    pairs: list[TranslationPair] = []
    read = skipped = 0
    for raw in _READERS[spec.format](spec):
        read += 1
        pivot = getattr(raw, "pivot", None)  # RawTriple: a corpus read as triples
        src_empty, tgt_empty = not raw.src.strip(), not raw.tgt.strip()
        pivot_empty = pivot is not None and not pivot.strip()
        if src_empty or tgt_empty or pivot_empty:
            if empty_lines == "error":
                side, at = (("source", raw.src_at) if src_empty else ("target", raw.tgt_at) if tgt_empty
                            else ("pivot", raw.pivot_at))
                raise DataError(f"{where(at)}: empty {side} sentence "
                                f"(use empty_lines='skip' to skip and count empty pairs)")
            skipped += 1
            continue
        pairs.append(TranslationPair(raw.src, raw.tgt, raw.src_lang, raw.tgt_lang, pivot=pivot,
                                     pivot_lang=spec.pivot_lang if pivot is not None else None))
        if len(pairs) == spec.limit:
            break  # stop here: the rest of a large file is never read
    report = ReadReport(read=read, kept=len(pairs), empty_skipped=skipped)
    return Corpus(pairs=pairs, name=corpus_name(spec), report=report, weight=spec.weight)
