"""Which language is an output in? An offline language identifier, for the off-target rate.

The identifier is py3langid (pinned in pyproject.toml): a naive Bayes model over byte
n-grams, 4.6 MB, numpy only, no pickle, deterministic, 0.3 ms a sentence. It covers all 22
languages of the Bible corpus. Its labels are ISO 639-1 or 639-3 codes; here they are mapped
through the languages registry, and:

- the candidate labels are those naming a FLORES-200 language (the project's universe): the
  model's labels for e.g. Extremaduran, Wu Chinese or Ancient Greek, which took 4% of Spanish
  and 2% of Chinese Bible verses, are left out of the decision;
- identify() returns ISO 639-3 codes ("deu", "zho"): the model does not tell scripts apart, so
  zho_Hans and zho_Hant are both "zho", as are both Serbian scripts;
- Indonesian and Standard Malay (ind, zsm: one macrolanguage, msa) count as one language: the
  model calls 30% of Indonesian Bible verses Malay;
- a language the model has no label for (81 of the 202 FLORES-200 codes, e.g. acm_Arab,
  ceb_Latn, ckb_Arab) is "n/a": off_target_rate returns None rather than guessing.

With these, the references of the 22 Bible test books come out off-target in 0.2% of verses on
average (at most 1.6%: Arabic verses called Egyptian Arabic); reports give the references'
own rate next to each system's as that noise floor.
"""

from __future__ import annotations

import functools
from typing import Sequence

from ..languages import UnknownLanguageError, get_language, normalize_language

IDENTIFIER = "py3langid"
# ISO 639-3 codes the identifier cannot tell apart and that count as one language.
SAME_LANGUAGE = ({"ind", "zsm"},)


@functools.cache
def _model():
    """(identifier restricted to FLORES-200 labels, label -> ISO 639-3)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    model = LanguageIdentifier.from_model_file(MODEL_FILE)
    iso3 = {}
    for label in model.labels:
        try:
            iso3[label] = get_language(normalize_language(label)).iso639_3
        except UnknownLanguageError:
            continue  # not a FLORES-200 language: never an answer
    model.set_languages(sorted(iso3))
    return model, iso3


def identifier_version() -> str:
    from importlib.metadata import version

    return f"{IDENTIFIER} {version(IDENTIFIER)}"


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def identify(texts: Sequence[str], memo: dict[str, str | None] | None = None) -> list[str | None]:
    """The ISO 639-3 code of each text's language; None for a text with no letters.

    memo: text -> code, filled and reused (a reference recurs in every direction into its language).
    """
    model, iso3 = _model()
    memo = {} if memo is None else memo
    out = []
    for t in texts:
        if t not in memo:
            memo[t] = iso3[model.classify(t)[0]] if _has_letters(t) else None
        out.append(memo[t])
    return out


def accepted_codes(lang: str) -> set[str] | None:
    """The ISO 639-3 codes that count as `lang` (a FLORES-200 code), or None: unidentifiable."""
    _, iso3 = _model()
    code = get_language(lang).iso639_3
    if code not in iso3.values():
        return None
    for group in SAME_LANGUAGE:
        if code in group:
            return set(group)
    return {code}


def supported(lang: str) -> bool:
    """Whether the identifier can recognise `lang` (any alias the registry accepts)."""
    return accepted_codes(normalize_language(lang)) is not None


def off_target(texts: Sequence[str], tgt_lang: str) -> list[bool] | None:
    """Per text: not identified as tgt_lang (a text with no letters is off-target); None: n/a."""
    accepted = accepted_codes(normalize_language(tgt_lang))
    if accepted is None:
        return None
    return [code not in accepted for code in identify(texts)]


def off_target_rate(texts: Sequence[str], tgt_lang: str) -> float | None:
    """Share of texts whose identified language is not tgt_lang; None when the identifier
    cannot recognise tgt_lang (or there are no texts)."""
    flags = off_target(texts, tgt_lang)
    if not flags:
        return None
    return sum(flags) / len(flags)


def rate_of(codes: Sequence[str | None], tgt_lang: str) -> float | None:
    """off_target_rate from identify()'s codes (identify once, count for several purposes)."""
    accepted = accepted_codes(normalize_language(tgt_lang))
    if accepted is None or not codes:
        return None
    return sum(code not in accepted for code in codes) / len(codes)
