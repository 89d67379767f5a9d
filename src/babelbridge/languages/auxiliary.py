"""The auxiliary language of LMT's Parallel Multilingual Prompting (PMP).

LMT (shared/papers/lmt-beyond-english.txt) adds to the translation prompt the same sentence in an
auxiliary language: for En<->X a typologically related high-resource language of X, for Zh<->X
English. The paper does not publish its selection algorithm; here it is the languages registry's
relatedness (same language in another script, then the same branch, then the same family; same
script first within a tier), then a high-resource language in X's script, then a fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .registry import get_language, normalize_language, related_languages

ENGLISH, CHINESE = "eng_Latn", "zho_Hans"

# Languages with large corpora in every public resource (CC-100, OPUS, NLLB's mined data):
# the auxiliaries PMP may choose by default. A curated list, not a measured ranking.
HIGH_RESOURCE = (
    "eng_Latn", "zho_Hans", "spa_Latn", "fra_Latn", "deu_Latn", "rus_Cyrl", "por_Latn", "ita_Latn",
    "jpn_Jpan", "kor_Hang", "arb_Arab", "hin_Deva", "tur_Latn", "pol_Latn", "nld_Latn", "vie_Latn",
    "ind_Latn", "pes_Arab", "ukr_Cyrl", "ces_Latn", "swe_Latn", "tha_Thai",
)


@dataclass(frozen=True)
class Auxiliary:
    lang: str | None  # None: no auxiliary (nothing related among the candidates and no fallback)
    why: str  # e.g. "same branch (Romance)", "Zh<->X: English", "fallback"


def pmp_auxiliary(src_lang: str, tgt_lang: str, *, candidates: Iterable[str] | None = None,
                  fallback: str | None = None, overrides: dict[str, str] | None = None) -> Auxiliary:
    """The auxiliary language for the direction src_lang -> tgt_lang.

    candidates: the languages an auxiliary may be (default HIGH_RESOURCE; for training, only
    languages the multi-way corpus holds). overrides: {X: auxiliary} chosen by hand (a config's
    table), applied to the non-hub side X of the direction. Directions with Chinese on one side
    take English (LMT's universal pivot); otherwise X is the side that is not English (or the
    source, when neither is) and the auxiliary is X's closest relative among the candidates."""
    src, tgt = normalize_language(src_lang), normalize_language(tgt_lang)
    if CHINESE in (src, tgt) and ENGLISH not in (src, tgt):
        return Auxiliary(ENGLISH, "Zh<->X: English")
    other = tgt if src == ENGLISH else src
    pool = [normalize_language(c) for c in (HIGH_RESOURCE if candidates is None else candidates)]
    pool = [c for c in pool if c not in (src, tgt)]
    if overrides and other in overrides:
        return Auxiliary(normalize_language(overrides[other]), "configured")
    lang = get_language(other)
    for relative in related_languages(other):
        if relative.code in pool:
            kind = ("same language" if relative.iso639_3 == lang.iso639_3 else
                    f"same branch ({lang.branch})" if relative.branch == lang.branch else f"same family ({lang.family})")
            return Auxiliary(relative.code, kind)
    for code in pool:
        if get_language(code).script == lang.script:
            return Auxiliary(code, f"same script ({lang.script})")
    fallback = normalize_language(fallback) if fallback else None
    return Auxiliary(fallback if fallback not in (src, tgt) else None, "fallback")


def auxiliary_table(directions: Iterable[tuple[str, str]], **options) -> str:
    """A markdown table of the auxiliary each direction gets, and why (printed before training)."""
    lines = ["| direction | auxiliary | why |", "|---|---|---|"]
    for src, tgt in directions:
        aux = pmp_auxiliary(src, tgt, **options)
        lines.append(f"| {src} -> {tgt} | {aux.lang or '(none)'} | {aux.why} |")
    return "\n".join(lines)
