"""Test sets: what `--testset` names, read through the data layer into per-language sets.

A TestSet is one translation direction (one source language into one target): its sources,
references and an identity (for the translation cache). Anything a CorpusSpec describes
becomes TestSets through `testsets_from_corpus`, so a new corpus format of the data layer
(the Bible, ...) is a test set without changes here. The command line's small grammar:

    flores:DIR[:dev|:devtest]        a FLORES-200 directory (classic or parquet layout),
                                     split devtest unless given; one set per --langs code
    bible[:PATH][:SPLIT]             the Bible corpus (data/bible.py), split test unless given;
                                     PATH is the bible.db (default: the fetched asset)
    tsv:PATH                         src<TAB>ref lines in one --langs language; with "{lang}"
                                     in PATH, one file per --langs code (e.g. dev.{lang}.tsv)
    jsonl:PATH                       {"src", "tgt", "src_lang"} lines; --langs selects (and
                                     gives the language of lines without "src_lang")

LMT's PMP-O (an auxiliary sentence of each segment in a third language, evaluate/pmp.py) reads
the multi-way sets (bible, flores) as triples: `auxiliaries` maps a direction to its auxiliary
language, and the TestSet carries aux_lang and aux_texts (only the segments all three languages
have). The auxiliary is not part of the identity: it changes no translation of a system that
does not read it (a PMP system's cache key adds it, runner.translate_all).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..data import Corpus, CorpusSpec, read_corpus
from ..errors import InputError

ACCEPTED = ("flores:DIR[:dev|:devtest], bible[:PATH][:SPLIT] (SPLIT: train, dev or test), "
            "tsv:PATH (with {lang} in PATH for several languages), jsonl:PATH")
KINDS = ("flores", "bible", "tsv", "jsonl")
MULTIWAY_KINDS = ("bible", "flores")  # every language's file holds the same segments
DEFAULT_SPLIT = {"flores": "devtest", "bible": "test"}
_SPLIT = re.compile(r"[a-z]+")  # a bare word after the last ':' is a split, anything else a path


def sha256_of(texts: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TestSet:
    """Sources and references of one direction; `name` labels it in tables (default: src_lang)."""

    __test__ = False  # not a pytest test class, despite the name

    src_lang: str
    tgt_lang: str
    sources: tuple[str, ...]
    references: tuple[str, ...]
    origin: str  # where it was read from, e.g. "flores:/data/flores200:devtest"
    limit: int | None = None
    name: str = ""
    empty_skipped: int = 0  # pairs the reader dropped for an empty side (whole file for JSONL)
    aux_lang: str | None = None  # PMP-O: the auxiliary language of this direction
    aux_texts: tuple[str, ...] | None = None  # PMP-O: each segment in aux_lang
    identity: dict = field(init=False, compare=False)

    def __post_init__(self):
        if len(self.sources) != len(self.references):
            raise InputError(f"test set {self.origin}: {len(self.sources)} sources but "
                             f"{len(self.references)} references")
        if not self.sources:
            raise InputError(f"test set {self.origin}: no {self.src_lang} sentences")
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "references", tuple(self.references))
        object.__setattr__(self, "name", self.name or self.src_lang)
        if self.aux_texts is not None:
            if self.aux_lang is None or len(self.aux_texts) != len(self.sources):
                raise InputError(f"test set {self.origin}: {len(self.aux_texts)} auxiliary sentences (language "
                                 f"{self.aux_lang}) for {len(self.sources)} sources; one each, with their language")
            object.__setattr__(self, "aux_texts", tuple(self.aux_texts))
        # What determines the translations (the cache key's test-set part): not the references.
        object.__setattr__(self, "identity", {
            "origin": self.origin, "src_lang": self.src_lang, "tgt_lang": self.tgt_lang,
            "limit": self.limit, "segments": len(self.sources), "sources_sha256": sha256_of(self.sources)})

    def __len__(self) -> int:
        return len(self.sources)


def testsets_from_corpus(corpus: Corpus, *, origin: str | None = None, limit: int | None = None,
                         langs: Sequence[str] | None = None) -> list[TestSet]:
    """One TestSet per source language of a corpus (in order of appearance, or of `langs`).

    limit keeps the first N pairs of each language; langs selects languages, and one that the
    corpus does not have is an error naming the ones it has.
    """
    origin = origin or corpus.name
    have: dict[str, list] = {}
    for p in corpus.pairs:
        have.setdefault(p.src_lang, []).append(p)
    if langs is not None:
        missing = [code for code in langs if code not in have]
        if missing:
            raise InputError(f"test set {origin} has no pairs from {', '.join(missing)}; "
                             f"it has: {', '.join(have) or 'none'}")
        have = {code: have[code] for code in langs}
    targets = sorted({p.tgt_lang for pairs in have.values() for p in pairs})
    if len(targets) > 1:
        raise InputError(f"test set {origin} mixes target languages ({', '.join(targets)}); "
                         f"an evaluation translates into one target language")
    skipped = corpus.report.empty_skipped if corpus.report else 0
    return [_testset(pairs[:limit], origin, limit, empty_skipped=skipped) for pairs in have.values()]


def _testset(pairs: list, origin: str, limit: int | None, **kwargs) -> TestSet:
    """A TestSet of pairs of one direction; triples (pairs with a pivot) give its auxiliary."""
    aux_lang = pairs[0].pivot_lang if pairs and pairs[0].pivot is not None else None
    return TestSet(pairs[0].src_lang, pairs[0].tgt_lang, tuple(p.src for p in pairs), tuple(p.tgt for p in pairs),
                   origin, limit, aux_lang=aux_lang,
                   aux_texts=tuple(p.pivot for p in pairs) if aux_lang is not None else None, **kwargs)


@dataclass(frozen=True)
class TestSetSpec:
    """A parsed --testset: which reader, where, which split."""

    __test__ = False

    kind: str
    path: Path | None
    split: str | None
    text: str  # as the user wrote it, for messages

    @property
    def origin(self) -> str:
        parts = [self.kind] + ([str(self.path)] if self.path else []) + ([self.split] if self.split else [])
        return ":".join(parts)

    def corpus_specs(self, langs: Sequence[str], tgt_lang: str, limit: int | None,
                     auxiliaries: Mapping[tuple[str, str], str | None] | None = None) -> list[CorpusSpec]:
        """The CorpusSpecs to read: one per language, or one for a whole JSONL file; with
        auxiliaries, (src, tgt) -> the pivot_lang its spec reads (triples)."""
        if auxiliaries:
            self.check_auxiliaries()
        if self.kind == "jsonl":
            own = langs[0] if len(langs) == 1 else None  # the language of lines without "src_lang"
            return [CorpusSpec("jsonl", self.path, src_lang=own, tgt_lang=tgt_lang)]
        if not langs:
            raise InputError(f"--testset {self.text} needs --langs (the source languages to evaluate, "
                             f"e.g. --langs deu_Latn,zul_Latn)")
        if self.kind == "tsv" and "{lang}" not in str(self.path) and len(langs) > 1:
            raise InputError(f"--testset {self.text} is one file, so one language, but --langs names "
                             f"{len(langs)}; put {{lang}} in the path (tsv:dev.{{lang}}.tsv) for one file "
                             f"per language")
        specs = []
        for code in langs:
            entry = {"format": self.kind, "src_lang": code, "tgt_lang": tgt_lang, "limit": limit}
            if self.path is not None:
                entry["path"] = str(self.path).replace("{lang}", code)
            if self.split is not None:
                entry["split"] = self.split
            if auxiliaries and auxiliaries.get((code, tgt_lang)):
                entry["pivot_lang"] = auxiliaries[code, tgt_lang]
            specs.append(CorpusSpec.from_dict(entry))
        return specs

    def check_auxiliaries(self) -> None:
        if self.kind not in MULTIWAY_KINDS:
            raise InputError(f"--testset {self.text}: PMP's oracle auxiliary sentences come from a multi-way test set "
                             f"({', '.join(MULTIWAY_KINDS)}: every segment in every language), not {self.kind}; "
                             f"use --pmp self, or `babelbridge translate --pmp oracle` with an auxiliary column")


def parse_testset(text: str) -> TestSetSpec:
    """Parse the --testset grammar (module docstring); errors name the accepted forms."""
    kind, _, rest = text.partition(":")
    if kind not in KINDS:
        raise InputError(f"--testset {text!r}: unknown kind {kind!r}; accepted: {ACCEPTED}")
    split = None
    if kind in DEFAULT_SPLIT:
        head, sep, tail = rest.rpartition(":")
        if _SPLIT.fullmatch(rest) and kind == "bible":
            rest, split = "", rest  # bible:test
        elif sep and _SPLIT.fullmatch(tail):
            rest, split = head, tail
        split = split or DEFAULT_SPLIT[kind]
    if not rest:
        if kind != "bible":
            raise InputError(f"--testset {text!r}: {kind} needs a path; accepted: {ACCEPTED}")
        return TestSetSpec(kind, None, split, text)
    return TestSetSpec(kind, Path(rest).expanduser(), split, text)


def load_testsets(spec: TestSetSpec | str, langs: Sequence[str], tgt_lang: str = "eng_Latn",
                  limit: int | None = None,
                  auxiliaries: Mapping[tuple[str, str], str | None] | None = None) -> list[TestSet]:
    """Read a --testset for the given source languages (already normalised codes); auxiliaries:
    see the module docstring."""
    spec = parse_testset(spec) if isinstance(spec, str) else spec
    corpus_specs = spec.corpus_specs(langs, tgt_lang, limit, auxiliaries)
    if spec.kind == "jsonl":  # one file, languages on its lines: limit per language after grouping
        sets = testsets_from_corpus(read_corpus(corpus_specs[0]), origin=spec.origin, limit=limit,
                                    langs=langs or None)
    else:
        sets = []
        for cs in corpus_specs:
            origin = spec.origin.replace("{lang}", cs.src_lang)
            sets += testsets_from_corpus(read_corpus(cs), origin=origin, limit=limit, langs=[cs.src_lang])
    wrong = sorted({s.tgt_lang for s in sets} - {tgt_lang})
    if wrong:
        raise InputError(f"--testset {spec.text} translates into {', '.join(wrong)}, not --tgt-lang {tgt_lang}")
    return sets


# ---- any-to-any: one test set per direction -----------------------------------------------------

def load_direction_testsets(spec: TestSetSpec | str, directions: Sequence[tuple[str, str]],
                            limit: int | None = None,
                            auxiliaries: Mapping[tuple[str, str], str | None] | None = None) -> list[TestSet]:
    """One TestSet per (source, target) direction (already normalised codes), named "src-tgt".

    Multi-way test sets are read per direction: the Bible pairs the two versions' verses of the
    test books (each direction keeps the verses both versions have), FLORES-200 the two
    languages' files line by line. A TSV needs {src} and {tgt} in its path for more than one
    direction (tsv:test.{src}-{tgt}.tsv); a JSONL file is read once and grouped by the
    "src_lang"/"tgt_lang" of its lines (no "tgt_lang": English). The identity of a direction
    is the one the one-target evaluation gives it, so both share cached translations.
    auxiliaries: see the module docstring.
    """
    spec = parse_testset(spec) if isinstance(spec, str) else spec
    directions = [tuple(d) for d in directions]
    if not directions:
        raise InputError("an any-to-any evaluation needs at least one direction")
    if auxiliaries:
        spec.check_auxiliaries()
    if spec.kind == "jsonl":
        return _jsonl_directions(spec, directions, limit)
    if spec.kind == "bible":
        from ..data.bible import bible_version
        from ..data.errors import DataError

        aux_langs = [a for a in (auxiliaries or {}).values() if a]
        for code in dict.fromkeys([*(c for d in directions for c in d), *aux_langs]):
            try:
                bible_version(code)
            except DataError as err:
                raise InputError(f"test set {spec.origin}: {err}") from None
    path = str(spec.path) if spec.path is not None else None
    if spec.kind == "tsv":
        if "{lang}" in path:
            raise InputError(f"--testset {spec.text}: with --directions a TSV path names both languages: "
                             f"put {{src}} and {{tgt}} in it (tsv:test.{{src}}-{{tgt}}.tsv), not {{lang}}")
        if len(directions) > 1 and not ("{src}" in path and "{tgt}" in path):
            raise InputError(f"--testset {spec.text} is one file, so one direction, but --directions names "
                             f"{len(directions)}; put {{src}} and {{tgt}} in the path (tsv:test.{{src}}-{{tgt}}.tsv) "
                             f"for one file per direction")
    sets = []
    for src, tgt in directions:
        entry = {"format": spec.kind, "src_lang": src, "tgt_lang": tgt, "limit": limit}
        if path is not None:
            entry["path"] = path.replace("{src}", src).replace("{tgt}", tgt)
        if spec.split is not None:
            entry["split"] = spec.split
        if auxiliaries and auxiliaries.get((src, tgt)):
            entry["pivot_lang"] = auxiliaries[src, tgt]
        corpus = read_corpus(CorpusSpec.from_dict(entry))
        origin = spec.origin.replace("{src}", src).replace("{tgt}", tgt)
        if not corpus.pairs:
            raise InputError(f"test set {origin}: no {src}-{tgt} pairs")
        sets.append(_testset(corpus.pairs[:limit], origin, limit, name=f"{src}-{tgt}",
                             empty_skipped=corpus.report.empty_skipped if corpus.report else 0))
    return sets


def _jsonl_directions(spec: TestSetSpec, directions: list[tuple[str, str]], limit: int | None) -> list[TestSet]:
    corpus = read_corpus(CorpusSpec("jsonl", spec.path, src_lang=None, tgt_lang="eng_Latn"))
    have: dict[tuple[str, str], list] = {}
    for p in corpus.pairs:
        have.setdefault((p.src_lang, p.tgt_lang), []).append(p)
    missing = [f"{s}-{t}" for s, t in directions if (s, t) not in have]
    if missing:
        raise InputError(f"test set {spec.origin} has no {', '.join(missing)} pairs; it has: "
                         f"{', '.join(f'{s}-{t}' for s, t in have) or 'none'}")
    skipped = corpus.report.empty_skipped if corpus.report else 0
    return [TestSet(s, t, tuple(p.src for p in have[s, t][:limit]), tuple(p.tgt for p in have[s, t][:limit]),
                    spec.origin, limit, name=f"{s}-{t}", empty_skipped=skipped) for s, t in directions]
