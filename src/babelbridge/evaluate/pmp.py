"""LMT's Parallel Multilingual Prompting (PMP) in an evaluation.

A system evaluated with PMP gets, for each direction, an auxiliary language and either the test
set's own sentences in it (PMP-O, "oracle": a multi-way test set read as triples,
testsets.load_*(auxiliaries=...)) or its own translation into it (PMP-S, "self":
Bridge.translate with aux_lang alone). The auxiliary of a direction is the one training chose
(data.multiway): pmp_auxiliary with the high-resource languages among the evaluated languages as
candidates, or one fixed language for every direction.

The translation cache keys a PMP system's translations by its mode and, per test set, the
auxiliary language (and, for PMP-O, the auxiliary sentences), so the same bridge evaluated plain,
with PMP-O and with PMP-S is three cache entries.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from ..errors import InputError
from ..languages.auxiliary import Auxiliary, pmp_auxiliary

PMP_MODES = ("oracle", "self")


def check_mode(mode: str | None, where: str) -> str | None:
    if mode is not None and mode not in PMP_MODES:
        raise InputError(f"{where}: PMP mode {mode!r} is not one of {', '.join(PMP_MODES)} (oracle: the test set's "
                         f"auxiliary sentences; self: the bridge writes them)")
    return mode


def auxiliary_languages(directions: Iterable[tuple[str, str]], langs: Sequence[str], *,
                        aux_lang: str | None = None,
                        overrides: Mapping[str, str] | None = None) -> dict[tuple[str, str], Auxiliary]:
    """(src, tgt) -> its Auxiliary. aux_lang: one language for every direction (never a side of
    one). Otherwise data.multiway's rule over `langs` (candidates: the high-resource languages
    among them; overrides {X: auxiliary} as its pmp_overrides), so an evaluation over the
    training languages gives each direction the auxiliary it was trained with. A direction with
    no auxiliary is an error naming it."""
    from ..data.multiway import pmp_options

    out = {}
    for src, tgt in directions:
        if aux_lang is not None:
            if aux_lang in (src, tgt):
                raise InputError(f"--aux-lang {aux_lang} is a side of the direction {src} -> {tgt}; the auxiliary "
                                 f"must be a third language")
            out[(src, tgt)] = Auxiliary(aux_lang, "given")
            continue
        chosen = pmp_auxiliary(src, tgt, **pmp_options(tuple(langs), None, overrides or {}))
        if chosen.lang is None:
            raise InputError(f"PMP: no auxiliary language for {src} -> {tgt} (no high-resource language among "
                             f"{', '.join(langs)} is related to it); give one with --aux-lang")
        out[(src, tgt)] = chosen
    return out


def translate_options(mode: str | None, testset) -> tuple[dict, dict]:
    """(Bridge.translate keyword arguments, the cache identity's additions) of a system in PMP
    `mode` on `testset`; ({}, {}) without PMP. aux_texts are the whole test set's: the caller
    slices them along with the sources."""
    if mode is None:
        return {}, {}
    if testset.aux_lang is None:
        raise InputError(f"test set {testset.name} has no auxiliary language, but a system is evaluated with PMP "
                         f"({mode}); read it with its auxiliaries (testsets.load_*(auxiliaries=...))")
    if mode == "self":
        return {"aux_lang": testset.aux_lang}, {"pmp": "self", "aux_lang": testset.aux_lang}
    if testset.aux_texts is None:
        raise InputError(f"test set {testset.name} has no auxiliary sentences for PMP-O (oracle); read it from a "
                         f"multi-way test set (bible, flores) with its auxiliaries")
    from .testsets import sha256_of

    return ({"aux_lang": testset.aux_lang, "aux_texts": testset.aux_texts},
            {"pmp": "oracle", "aux_lang": testset.aux_lang, "aux_sha256": sha256_of(testset.aux_texts)})
