"""LibreTranslate's language codes and FLORES-200 codes, both ways.

LibreTranslate clients send ISO 639-1 codes ("de") and, for Chinese, "zh-Hans" / "zh-Hant";
babelbridge works in FLORES-200 codes ("deu_Latn"). Outgoing, a language is its ISO 639-1 code
when that names one FLORES code only; a code shared by several scripts gets the script
appended as LibreTranslate writes Chinese ("zh-Hans", "ks-Deva", "kr-Latn"); a language
without an ISO 639-1 code keeps its FLORES code ("ace_Arab"). Incoming, everything the
registry accepts works (ISO 639-1/639-3, FLORES, English names), plus the Argos model codes
LibreTranslate still accepts. Every outgoing code comes back to the language it was made from.
"""

from __future__ import annotations

import functools
from collections import Counter

from ..languages import all_languages, normalize_language

# Argos Translate's own codes, which LibreTranslate maps to and from zh-Hant and pt-BR.
# FLORES-200's Portuguese is the Brazilian variety.
ARGOS_CODES = {"zt": "zho_Hant", "pb": "por_Latn", "pt-br": "por_Latn"}


@functools.cache
def _outgoing() -> dict[str, str]:
    languages = all_languages()
    shared = Counter(lang.iso639_1 for lang in languages if lang.iso639_1)
    return {lang.code: (lang.code if not lang.iso639_1 else lang.iso639_1 if shared[lang.iso639_1] == 1
                        else f"{lang.iso639_1}-{lang.script}") for lang in languages}


def to_libre(flores: str) -> str:
    """The code a LibreTranslate client is given for a FLORES-200 code."""
    return _outgoing()[flores]


def from_libre(code: str) -> str:
    """The FLORES-200 code of a client's code; UnknownLanguageError when there is none."""
    return ARGOS_CODES.get(code.strip().lower()) or normalize_language(code)
