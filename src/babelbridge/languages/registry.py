"""Registry of the 202 FLORES-200 / NLLB-200 languages.

The data lives in flores200.tsv (one row per code, shipped as package data) so that
names and classifications can be reviewed without reading Python. Everything else
here is derived from it: aliases, search, related-language lookup.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
from dataclasses import dataclass
from importlib.resources import files


@dataclass(frozen=True)
class Language:
    code: str  # FLORES-200 code, e.g. "deu_Latn": ISO 639-3 + "_" + ISO 15924 script
    name: str  # English name, e.g. "German"
    script: str  # ISO 15924, e.g. "Latn"
    iso639_1: str | None  # two-letter code where one exists, e.g. "de"
    iso639_3: str  # e.g. "deu"
    family: str  # top-level family, e.g. "Indo-European"
    branch: str  # genus-level group used to pick related languages, e.g. "Germanic"

    def __str__(self) -> str:
        return self.code


class UnknownLanguageError(ValueError):
    def __init__(self, query: str, suggestions: list[str] | tuple[str, ...] = ()):
        self.query = query
        self.suggestions = list(suggestions)
        if not query:
            msg = "empty language code; expected e.g. 'deu_Latn', 'de', 'deu' or 'German'"
        elif self.suggestions:
            msg = f"unknown language code {query!r}; closest valid codes: {', '.join(self.suggestions)}"
        else:
            msg = (f"unknown language code {query!r}; no close match among the FLORES-200 codes "
                   f"(run `babelbridge languages` to list them)")
        super().__init__(msg)


# A language written in several scripts shares one ISO code, so "zh"/"zho"/"Chinese" are
# ambiguous. They resolve to the script most widely used for that language today.
DEFAULT_SCRIPT = {
    "zho": "Hans",  # Simplified: mainland China and Singapore; Traditional stays explicit (zho_Hant)
    "ace": "Latn",  # Acehnese: Latin is the standard orthography; Jawi is traditional
    "bjn": "Latn",  # Banjar: Latin in everyday and official use; Arabic (Jawi) is traditional
    "kas": "Arab",  # Kashmiri: Perso-Arabic is the official script; Devanagari is minority use
    "knc": "Latn",  # Central Kanuri: Latin is the standard orthography; Ajami is less used
    "taq": "Latn",  # Tamasheq: Latin is the official orthography in Mali and Niger
}

# ISO 639 macrolanguage codes whose FLORES-200 code is an individual language
# (e.g. "ara" -> arb). Same targets as the ISO 639-1 codes in the TSV; "no" is the
# only 639-1 macrolanguage code not already there (nb/nn are the individual ones).
MACROLANGUAGES = {
    "no": "nob",
    "ara": "arb", "aym": "ayr", "aze": "azj", "din": "dik", "fas": "pes", "ful": "fuv",
    "kau": "knc", "kur": "kmr", "lav": "lvs", "mlg": "plt", "mon": "khk", "msa": "zsm",
    "nep": "npi", "nor": "nob", "orm": "gaz", "pus": "pbt", "que": "quy",
    "sqi": "als", "swa": "swh", "tmh": "taq", "uzb": "uzn", "yid": "ydd",
}

# Common English names that differ from the FLORES name (usually the macrolanguage name).
NAME_ALIASES = {
    "arabic": "arb", "persian": "pes", "farsi": "pes", "malay": "zsm", "malagasy": "plt",
    "mongolian": "khk", "latvian": "lvs", "pashto": "pbt", "oromo": "gaz", "aymara": "ayr",
    "quechua": "quy", "albanian": "als", "uzbek": "uzn", "azerbaijani": "azj", "kurdish": "kmr",
    "yiddish": "ydd", "punjabi": "pan", "panjabi": "pan", "norwegian": "nob", "tibetan": "bod",
    "kanuri": "knc", "fula": "fuv", "fulah": "fuv", "dinka": "dik", "filipino": "tgl",
    "oriya": "ory", "sinhalese": "sin", "slovene": "slv", "chichewa": "nya", "kirundi": "run",
    "luganda": "lug", "kongo": "kon", "mandarin": "zho",
}

# Pseudo-families: their members are not genetically related to each other.
_UNRELATED_FAMILIES = {"Language isolate", "Creole", "Constructed"}


@dataclass(frozen=True)
class _Registry:
    languages: tuple[Language, ...]
    by_code: dict[str, Language]
    index: dict[str, str]  # lower-cased alias -> canonical code
    aliases: dict[str, tuple[str, ...]]  # canonical code -> its lower-cased aliases


def _read_tsv() -> list[Language]:
    text = (files("babelbridge.languages") / "flores200.tsv").read_text(encoding="utf-8")
    langs = []
    for row in csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE):
        iso3, script = row["code"].split("_")
        # The code already encodes these two columns; a mismatch means a bad edit of the TSV.
        if (iso3, script) != (row["iso639_3"], row["script"]):
            raise ValueError(f"flores200.tsv: inconsistent row for {row['code']}")
        langs.append(Language(row["code"], row["name"], script, row["iso639_1"] or None, iso3,
                              row["family"], row["branch"]))
    return sorted(langs, key=lambda lang: lang.code)


@functools.cache
def _registry() -> _Registry:
    langs = tuple(_read_tsv())
    by_code = {lang.code: lang for lang in langs}
    if len(by_code) != len(langs):
        raise ValueError("flores200.tsv: duplicate codes")

    by_iso3: dict[str, list[Language]] = {}
    for lang in langs:
        by_iso3.setdefault(lang.iso639_3, []).append(lang)

    def default(iso3: str) -> str:  # the one code a script-less alias stands for
        group = by_iso3[iso3]
        return group[0].code if len(group) == 1 else f"{iso3}_{DEFAULT_SCRIPT[iso3]}"

    # Insertion order is priority: an alias keeps the first code it was given, so an exact
    # code or ISO code always wins over a name that happens to look the same.
    index: dict[str, str] = {}
    for lang in langs:
        index.setdefault(lang.code.lower(), lang.code)
    for lang in langs:
        index.setdefault(lang.iso639_3, default(lang.iso639_3))
        if lang.iso639_1:
            index.setdefault(lang.iso639_1, default(lang.iso639_3))
            index.setdefault(f"{lang.iso639_1}_{lang.script.lower()}", lang.code)  # "zh_hant"
    for macro, iso3 in MACROLANGUAGES.items():
        index.setdefault(macro, default(iso3))
    for lang in langs:
        index.setdefault(lang.name.lower(), lang.code)
        base = re.sub(r"\s*\(.*\)$", "", lang.name).lower()  # "Chinese (Simplified)" -> "chinese"
        index.setdefault(base, default(lang.iso639_3))
    for name, iso3 in NAME_ALIASES.items():
        index.setdefault(name, default(iso3))

    aliases: dict[str, list[str]] = {code: [] for code in by_code}
    for alias, code in index.items():
        aliases[code].append(alias)
    return _Registry(langs, by_code, index, {c: tuple(a) for c, a in aliases.items()})


def all_languages() -> tuple[Language, ...]:
    """All 202 languages, sorted by code."""
    return _registry().languages


def _suggest(query: str, n: int = 5) -> list[str]:
    reg = _registry()
    out: list[str] = []
    # Ask difflib for extra matches: several aliases can point to the same code.
    for alias in difflib.get_close_matches(query.lower(), reg.index, n=4 * n, cutoff=0.6):
        code = reg.index[alias]
        if code not in out:
            out.append(code)
    return out[:n]


def get_language(code_or_alias: str | Language) -> Language:
    """Resolve a FLORES code, ISO 639-1/639-3 code or English name (any case) to a Language.

    Script-less aliases of multi-script languages resolve to DEFAULT_SCRIPT (zh -> zho_Hans).
    """
    if isinstance(code_or_alias, Language):
        return code_or_alias
    if not isinstance(code_or_alias, str):
        raise TypeError(f"language code must be a str, got {type(code_or_alias).__name__}")
    query = code_or_alias.strip()
    if not query:
        raise UnknownLanguageError(code_or_alias)
    reg = _registry()
    key = query.lower()
    code = reg.index.get(key) or reg.index.get(key.replace("-", "_"))  # accept "zh-Hant"
    if code is None:
        raise UnknownLanguageError(query, _suggest(query))
    return reg.by_code[code]


def normalize_language(code_or_alias: str | Language) -> str:
    """Canonical FLORES-200 code for any accepted alias, e.g. "de" -> "deu_Latn"."""
    return get_language(code_or_alias).code


def search_languages(query: str | None = None, family: str | None = None,
                     branch: str | None = None, script: str | None = None) -> list[Language]:
    """Languages matching all given filters (case-insensitive substrings), in code order.

    `query` is matched against the code, the English name and every alias.
    """
    reg = _registry()

    def has(value: str, needle: str | None) -> bool:
        return needle is None or needle.lower() in value.lower()

    q = query.strip().lower() if query else None
    return [
        lang for lang in reg.languages
        if (q is None or q in lang.code.lower() or q in lang.name.lower()
            or any(q in alias for alias in reg.aliases[lang.code]))
        and has(lang.family, family) and has(lang.branch, branch) and has(lang.script, script)
    ]


def related_languages(code: str | Language, limit: int | None = None) -> list[Language]:
    """Other languages related to `code`, closest first, for picking auxiliary training data.

    Order: the same language in other scripts, then the same branch, then the same family
    (skipped for the pseudo-families of isolates, creoles and constructed languages, whose
    members are not related to each other; creoles of the same lexifier do share a branch). Within each tier, languages in the same script come first since script overlap
    drives most of the transfer in subword models.
    """
    lang = get_language(code)

    def tier(other: Language) -> int | None:
        if other.iso639_3 == lang.iso639_3:
            return 0
        if other.family != lang.family:
            return None
        if other.branch == lang.branch:
            return 1
        return None if lang.family in _UNRELATED_FAMILIES else 2

    ranked = [(t, o.script != lang.script, o.code, o) for o in all_languages()
              if o.code != lang.code and (t := tier(o)) is not None]
    out = [o for *_, o in sorted(ranked, key=lambda r: r[:3])]
    return out if limit is None else out[:limit]


def format_language_table(langs) -> str:
    """Plain aligned text table (code, name, script, family, branch) for `babelbridge languages`."""
    header = ("code", "name", "script", "family", "branch")
    rows = [header] + [(l.code, l.name, l.script, l.family, l.branch) for l in langs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
