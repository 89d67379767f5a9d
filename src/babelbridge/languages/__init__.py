"""FLORES-200 / NLLB-200 language registry: codes, aliases, families and related languages."""

from babelbridge.languages.registry import (
    DEFAULT_SCRIPT,
    Language,
    UnknownLanguageError,
    all_languages,
    format_language_table,
    get_language,
    normalize_language,
    related_languages,
    search_languages,
)

__all__ = [
    "DEFAULT_SCRIPT",
    "Language",
    "UnknownLanguageError",
    "all_languages",
    "format_language_table",
    "get_language",
    "normalize_language",
    "related_languages",
    "search_languages",
]
