"""Readers for the file formats a user writes: TSV, JSONL and paired plain-text files.

Each yields RawPairs lazily, so a spec's limit stops reading early; empty pairs are
passed through and judged by `read_corpus`. A corpus read as triples (a spec's pivot_lang)
yields RawTriples: a RawPair's fields and the pivot sentence with its location.
"""

from __future__ import annotations

import functools
import json
from typing import Iterator

from ..languages import UnknownLanguageError, normalize_language
from .errors import DataError
from .raw import RawPair, RawTriple, read_lines
from .spec import CorpusSpec


def read_tsv(spec: CorpusSpec) -> Iterator[RawPair]:
    """src<TAB>tgt per line. No quoting: quotes are ordinary characters in sentences."""
    for lineno, line in read_lines(spec.path):
        at = (spec.path, lineno)
        if not line.strip():  # a blank line is an empty pair, not a malformed one
            yield RawPair("", "", spec.src_lang, spec.tgt_lang, at, at)
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise DataError(f"{spec.path}:{lineno}: expected 2 tab-separated fields (src<TAB>tgt), "
                            f"found {len(fields)}")
        yield RawPair(fields[0], fields[1], spec.src_lang, spec.tgt_lang, at, at)


@functools.lru_cache(maxsize=1024)
def _language(code: str) -> str:
    return normalize_language(code)  # cached: a JSONL corpus repeats the same few codes per line


def read_jsonl(spec: CorpusSpec) -> Iterator[RawPair | RawTriple]:
    """One object per line: "src", "tgt", optional "src_lang"/"tgt_lang" overriding the spec's.

    With the spec's pivot_lang every line also carries a non-empty "pivot" (and may repeat
    "pivot_lang", which must then be the spec's); without it a "pivot" is an error.
    """
    for lineno, line in read_lines(spec.path):
        at = (spec.path, lineno)
        if not line.strip():
            if spec.pivot_lang is not None:
                yield RawTriple("", "", spec.src_lang, spec.tgt_lang, at, at, "", at)
            else:
                yield RawPair("", "", spec.src_lang, spec.tgt_lang, at, at)
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{spec.path}:{lineno}: invalid JSON ({err.msg} at column {err.colno})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{spec.path}:{lineno}: expected a JSON object with \"src\" and \"tgt\", "
                            f"got {type(obj).__name__}")
        texts = []
        for key in ("src", "tgt"):
            if key not in obj:
                raise DataError(f"{spec.path}:{lineno}: missing \"{key}\"")
            if not isinstance(obj[key], str):
                raise DataError(f"{spec.path}:{lineno}: \"{key}\" must be a string, got {type(obj[key]).__name__}")
            texts.append(obj[key])
        langs = []
        for key, default in (("src_lang", spec.src_lang), ("tgt_lang", spec.tgt_lang)):
            code = obj.get(key)
            if code is None:
                if default is None:
                    raise DataError(f"{spec.path}:{lineno}: no \"{key}\" on this line and none in the "
                                    f"corpus spec; add it to the line or set {key} in the spec")
                langs.append(default)
                continue
            try:
                langs.append(_language(str(code)))
            except UnknownLanguageError as err:
                raise DataError(f"{spec.path}:{lineno}: {key}: {err}") from None
        if spec.pivot_lang is None:
            if "pivot" in obj or "pivot_lang" in obj:
                key = "pivot" if "pivot" in obj else "pivot_lang"
                raise DataError(f"{spec.path}:{lineno}: \"{key}\" on a line, but the corpus spec has no "
                                f"pivot_lang; set pivot_lang (e.g. eng_Latn) to read this file as triples")
            yield RawPair(texts[0], texts[1], langs[0], langs[1], at, at)
            continue
        yield RawTriple(texts[0], texts[1], langs[0], langs[1], at, at, _pivot(spec, lineno, obj, langs), at)


def _pivot(spec: CorpusSpec, lineno: int, obj: dict, langs: list[str]) -> str:
    """The checked "pivot" text of one JSONL line of a corpus read as triples."""
    here = f"{spec.path}:{lineno}"
    pivot = obj.get("pivot")
    if pivot is None:
        raise DataError(f"{here}: missing \"pivot\"; with pivot_lang {spec.pivot_lang} every line needs its "
                        f"{spec.pivot_lang} sentence as \"pivot\"")
    if not isinstance(pivot, str):
        raise DataError(f"{here}: \"pivot\" must be a string, got {type(pivot).__name__}")
    if not pivot.strip():
        raise DataError(f"{here}: empty \"pivot\"; with pivot_lang {spec.pivot_lang} every line needs a "
                        f"non-empty {spec.pivot_lang} sentence")
    code = obj.get("pivot_lang")
    if code is not None:
        try:
            code = _language(str(code))
        except UnknownLanguageError as err:
            raise DataError(f"{here}: pivot_lang: {err}") from None
        if code != spec.pivot_lang:
            raise DataError(f"{here}: \"pivot_lang\" is {code}, but the corpus spec's pivot_lang is "
                            f"{spec.pivot_lang}; one corpus has one pivot language")
    for key, lang in zip(("src_lang", "tgt_lang"), langs):
        if lang == spec.pivot_lang:
            raise DataError(f"{here}: {key} is the pivot language {spec.pivot_lang}; the pivot is a third language")
    return pivot


def read_text_pair(spec: CorpusSpec) -> Iterator[RawPair]:
    """Two files, one sentence per line, aligned by line number."""
    # Both files are read in full first: a count mismatch means misalignment somewhere,
    # and training on shifted pairs would be silent garbage.
    src = list(read_lines(spec.path))
    tgt = list(read_lines(spec.tgt_path))
    if len(src) != len(tgt):
        raise DataError(f"line counts differ: {spec.path} has {len(src)} lines but {spec.tgt_path} "
                        f"has {len(tgt)}; paired text files need one sentence per line in both")
    for (lineno, s), (_, t) in zip(src, tgt):
        yield RawPair(s, t, spec.src_lang, spec.tgt_lang, (spec.path, lineno), (spec.tgt_path, lineno))
