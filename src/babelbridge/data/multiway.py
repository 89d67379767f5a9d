"""Multi-way training data (a run config's data.multiway): every direction among some languages
of one multi-way corpus (the Bible, FLORES-200), as LMT trains (shared/papers/lmt-beyond-english.txt).

    data:
      multiway:
        corpus: {format: bible, split: train}   # or {format: flores, path: DIR, split: dev}
        langs: [eng_Latn, deu_Latn, fra_Latn]
        hubs: [eng_Latn]                        # LMT's bi-centric setup: [eng_Latn, zho_Hans]
        directions: hub-centric                 # | all | [deu_Latn-eng_Latn, ...]
        limit: null                             # pairs per direction
        pmp: false                              # each pair carries its PMP auxiliary sentence
        pmp_fallback: null
        pmp_overrides: {}                       # {X: auxiliary}

Directions: "hub-centric" is X -> hub and hub -> X for every non-hub X and every hub, plus
hub -> hub both ways (in langs order: X1 -> h1, h1 -> X1, X1 -> h2, ...; the hub pairs last);
"all" is every ordered pair of langs (langs order); a list names them ("deu_Latn-eng_Latn",
aliases allowed, each side in langs). The pairs come back concatenated in that order.

PMP (LMT's Parallel Multilingual Prompting): each direction's auxiliary language is
`pmp_auxiliary(src, tgt, candidates=HIGH_RESOURCE ∩ langs, fallback=pmp_fallback,
overrides=pmp_overrides)`, and the direction is read as triples (TranslationPair.pivot /
pivot_lang = the auxiliary sentence of the same verse or line): only the sentences present in all
three languages stay, and the report counts the pairs dropped for lack of the auxiliary. A
direction with no auxiliary (nothing related among the candidates, no fallback) keeps plain pairs.

Each language's sentences are loaded once for all directions (the Bible: `load_verses` and the
Bible's own alignment rules, `align_versions`; FLORES: aligned by line). Empty sentences are
skipped and counted, or are an error (data.empty_lines). Pure functions, torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from ..languages import UnknownLanguageError, normalize_language
from ..languages.auxiliary import HIGH_RESOURCE, Auxiliary, auxiliary_table, pmp_auxiliary
from ..pairs import TranslationPair
from .downsample import Direction, Repetition, _table, target_repetition
from .errors import DataError

MULTIWAY_KEYS = ("corpus", "langs", "hubs", "directions", "limit", "pmp", "pmp_fallback", "pmp_overrides")
MULTIWAY_FORMATS = ("bible", "flores")
CORPUS_KEYS = ("format", "path", "split")  # the languages come from langs, the limit is per direction
DIRECTION_MODES = ("hub-centric", "all")
EMPTY_POLICIES = ("skip", "error")
_WHERE = "data.multiway"


def language_code(value: Any, where: str) -> str:
    """The FLORES-200 code of `value`; an unknown one is a DataError naming `where`."""
    try:
        return normalize_language(str(value))
    except UnknownLanguageError as err:
        raise DataError(f"{where}: {err}") from None


@dataclass(frozen=True)
class MultiwayCorpus:
    """The corpus part of data.multiway: a multi-way corpus without its languages."""

    format: str
    path: Path | None
    split: str

    @property
    def name(self) -> str:
        return f"{self.format}/{self.split}" + (f" ({self.path})" if self.path is not None else "")

    def check_language(self, lang: str, where: str) -> None:
        """An error naming what the corpus holds, unless it has `lang`."""
        if self.format == "bible":
            from .bible import bible_version

            try:
                bible_version(lang)
            except DataError as err:
                raise DataError(f"{where}: {err}") from None
        else:
            from .flores import _find

            root = self.path
            if not root.is_dir():
                raise DataError(f"{_WHERE}.corpus: FLORES-200 directory not found: {root}")
            if not (root / self.split).is_dir():
                raise DataError(f"{_WHERE}.corpus: FLORES-200 directory {root} has no '{self.split}' folder")
            try:
                _find(root, self.split, lang)
            except DataError as err:
                raise DataError(f"{where}: {err}") from None


def _corpus(d: Any, base: Path | None) -> MultiwayCorpus:
    from .spec import CorpusSpec

    if not isinstance(d, Mapping):
        raise DataError(f"{_WHERE}.corpus must be a mapping with keys among {', '.join(CORPUS_KEYS)} "
                        f"(e.g. {{format: bible, split: train}}), got {type(d).__name__}")
    unknown = [str(k) for k in d if k not in CORPUS_KEYS]
    if unknown:
        hint = ""
        if any(k in ("src_lang", "tgt_lang", "pivot_lang") for k in unknown):
            hint = " (the languages come from data.multiway.langs and directions)"
        elif "limit" in unknown:
            hint = " (data.multiway.limit: pairs per direction)"
        raise DataError(f"unknown {_WHERE}.corpus key(s): {', '.join(unknown)}{hint}; accepted keys: "
                        f"{', '.join(CORPUS_KEYS)}")
    fmt = d.get("format")
    if fmt not in MULTIWAY_FORMATS:
        raise DataError(f"{_WHERE}.corpus: format {fmt!r} is not a multi-way corpus; accepted: "
                        f"{', '.join(MULTIWAY_FORMATS)}")
    path = d.get("path")
    if path is not None:
        path = Path(path).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
    try:  # the format's own checks: path required by flores, the split (required for the Bible)
        spec = CorpusSpec(fmt, path, split=d.get("split"), src_lang="eng_Latn", tgt_lang="deu_Latn")
    except DataError as err:
        raise DataError(f"{_WHERE}.corpus: {err}") from None
    return MultiwayCorpus(spec.format, spec.path, spec.split)


def language_list(values: Any, where: str, *, at_least: int = 1) -> tuple[str, ...]:
    """A list of language codes, normalised, each once (`where` names it in errors)."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)) or len(values) < at_least:
        raise DataError(f"{where} must be a list of at least {at_least} language code(s), got {values!r}")
    codes: list[str] = []
    for value in values:
        code = language_code(value, where)
        if code in codes:
            raise DataError(f"{where}: {code} is listed twice")
        codes.append(code)
    return tuple(codes)


def _parse_direction(text: Any, langs: tuple[str, ...]) -> Direction:
    where = f"{_WHERE}.directions"
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise DataError(f"{where}: malformed direction {text!r}; write SRC-TGT with two language codes, "
                        f"e.g. deu_Latn-eng_Latn")
    src, tgt = (language_code(p.strip(), f"{where}: {text!r}") for p in parts)
    for code in (src, tgt):
        if code not in langs:
            raise DataError(f"{where}: {text!r}: {code} is not in {_WHERE}.langs ({', '.join(langs)})")
    if src == tgt:
        raise DataError(f"{where}: {text!r} translates {src} into itself")
    return src, tgt


def hub_centric(langs: tuple[str, ...], hubs: tuple[str, ...]) -> list[Direction]:
    """X -> hub and hub -> X for every non-hub X (langs order) and hub, then hub -> hub."""
    out = [d for x in langs if x not in hubs for h in hubs for d in ((x, h), (h, x))]
    return out + [(a, b) for a in hubs for b in hubs if a != b]


def all_directions(langs: tuple[str, ...]) -> list[Direction]:
    return [(a, b) for a in langs for b in langs if a != b]


@dataclass(frozen=True)
class MultiwaySpec:
    corpus: MultiwayCorpus
    langs: tuple[str, ...]
    hubs: tuple[str, ...]
    directions: tuple[Direction, ...]
    mode: str  # hub-centric | all | list
    limit: int | None = None
    pmp: bool = False
    pmp_fallback: str | None = None
    pmp_overrides: dict[str, str] = field(default_factory=dict)
    auxiliaries: dict[Direction, Auxiliary] = field(default_factory=dict)  # pmp only

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], base: Path | None = None) -> MultiwaySpec:
        """Check data.multiway (every error names what is accepted); base: the folder a relative
        corpus path resolves against (the run config's)."""
        if not isinstance(d, Mapping):
            raise DataError(f"{_WHERE} must be a mapping with keys among {', '.join(MULTIWAY_KEYS)}, "
                            f"got {type(d).__name__}")
        unknown = [str(k) for k in d if k not in MULTIWAY_KEYS]
        if unknown:
            raise DataError(f"unknown {_WHERE} key(s): {', '.join(unknown)}; accepted keys: {', '.join(MULTIWAY_KEYS)}")
        missing = [k for k in ("corpus", "langs") if d.get(k) is None]
        if missing:
            raise DataError(f"{_WHERE} is missing {', '.join(missing)}; accepted keys: {', '.join(MULTIWAY_KEYS)}")
        corpus = _corpus(d["corpus"], base)
        langs = language_list(d["langs"], f"{_WHERE}.langs", at_least=2)
        for lang in langs:
            corpus.check_language(lang, f"{_WHERE}.langs")

        directions = d.get("directions", "hub-centric")
        hubs_given = d.get("hubs") is not None
        hubs = language_list(d["hubs"], f"{_WHERE}.hubs") if hubs_given else ("eng_Latn",)
        if hubs_given or directions == "hub-centric":
            for hub in hubs:
                if hub not in langs:
                    raise DataError(f"{_WHERE}.hubs: {hub} is not in {_WHERE}.langs ({', '.join(langs)}); "
                                    f"a hub must be one of the languages" +
                                    ("" if hubs_given else " (hubs defaults to [eng_Latn])"))
        if isinstance(directions, str):
            if directions not in DIRECTION_MODES:
                raise DataError(f"{_WHERE}.directions: unknown value {directions!r}; accepted: "
                                f"{', '.join(DIRECTION_MODES)}, or a list like [deu_Latn-eng_Latn, ...]")
            mode = directions
            resolved = hub_centric(langs, hubs) if mode == "hub-centric" else all_directions(langs)
        elif isinstance(directions, (list, tuple)) and directions:
            mode = "list"
            resolved = []
            for text in directions:
                direction = _parse_direction(text, langs)
                if direction in resolved:
                    raise DataError(f"{_WHERE}.directions: {direction[0]}-{direction[1]} is listed twice")
                resolved.append(direction)
        else:
            raise DataError(f"{_WHERE}.directions: unknown value {directions!r}; accepted: "
                            f"{', '.join(DIRECTION_MODES)}, or a list like [deu_Latn-eng_Latn, ...]")

        limit = d.get("limit")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise DataError(f"{_WHERE}.limit (pairs per direction) must be a positive integer or null, got {limit!r}")
        pmp = d.get("pmp", False)
        if not isinstance(pmp, bool):
            raise DataError(f"{_WHERE}.pmp must be true or false, got {pmp!r}")
        fallback = d.get("pmp_fallback")
        overrides = d.get("pmp_overrides") or {}
        if not pmp and (fallback is not None or overrides):
            raise DataError(f"{_WHERE}: pmp_fallback and pmp_overrides apply with pmp: true")
        if fallback is not None:
            fallback = language_code(fallback, f"{_WHERE}.pmp_fallback")
            if fallback not in langs:
                raise DataError(f"{_WHERE}.pmp_fallback: {fallback} is not in {_WHERE}.langs ({', '.join(langs)}); "
                                f"the auxiliary sentence comes from the same corpus")
        if not isinstance(overrides, Mapping):
            raise DataError(f"{_WHERE}.pmp_overrides must be a mapping {{X: auxiliary}}, got {overrides!r}")
        checked: dict[str, str] = {}
        for x, aux in overrides.items():
            x_code = language_code(x, f"{_WHERE}.pmp_overrides")
            aux_code = language_code(aux, f"{_WHERE}.pmp_overrides: {x}")
            for code in (x_code, aux_code):
                if code not in langs:
                    raise DataError(f"{_WHERE}.pmp_overrides: {code} is not in {_WHERE}.langs ({', '.join(langs)})")
            if x_code == aux_code:
                raise DataError(f"{_WHERE}.pmp_overrides: {x_code} cannot be its own auxiliary")
            checked[x_code] = aux_code

        auxiliaries: dict[Direction, Auxiliary] = {}
        if pmp:
            options = pmp_options(langs, fallback, checked)
            for src, tgt in resolved:
                aux = pmp_auxiliary(src, tgt, **options)
                if aux.lang in (src, tgt):  # only a hand-made override can do that
                    raise DataError(f"{_WHERE}.pmp_overrides: the auxiliary of {src} -> {tgt} would be "
                                    f"{aux.lang}, a side of the direction itself")
                if aux.lang is not None and aux.lang not in langs:  # Zh<->X takes English
                    corpus.check_language(aux.lang, f"{_WHERE}: the PMP auxiliary of {src} -> {tgt} ({aux.why})")
                auxiliaries[(src, tgt)] = aux
        return cls(corpus=corpus, langs=langs, hubs=hubs, directions=tuple(resolved), mode=mode, limit=limit,
                   pmp=pmp, pmp_fallback=fallback, pmp_overrides=checked, auxiliaries=auxiliaries)

    def auxiliary_table(self) -> str:
        """pmp_auxiliary's own table of this spec's directions (what the report prints)."""
        return auxiliary_table(self.directions, **pmp_options(self.langs, self.pmp_fallback, self.pmp_overrides))


def pmp_options(langs: tuple[str, ...], fallback: str | None, overrides: Mapping[str, str]) -> dict:
    """pmp_auxiliary's options for a multi-way corpus: candidates are the high-resource languages
    among langs (so the corpus holds the auxiliary sentence), in HIGH_RESOURCE's order."""
    return {"candidates": [c for c in HIGH_RESOURCE if c in langs], "fallback": fallback,
            "overrides": dict(overrides) or None}


# ---- reading ------------------------------------------------------------------------------------

class _BibleSource:
    """Each version's verses of one split, loaded once; aligned by the Bible's rules."""

    def __init__(self, corpus: MultiwayCorpus):
        from .bible import _db_path, split_books

        self.path = _db_path(corpus.path)
        self.books = split_books(corpus.split)
        self._verses: dict[str, dict] = {}

    def _load(self, lang: str) -> dict:
        from .bible import bible_version, load_verses, open_bible

        if lang not in self._verses:
            conn = open_bible(self.path)
            try:
                self._verses[lang] = load_verses(conn, bible_version(lang), self.books, self.path)
            finally:
                conn.close()
        return self._verses[lang]

    def rows(self, langs: tuple[str, ...]) -> tuple[Iterator[tuple[Iterator[str], tuple[str, ...]]], Any]:
        """(where per side, texts) per aligned verse, and the Bible's report of what was skipped."""
        from .bible import BibleReport, align_versions

        report = BibleReport()
        loaded = tuple(self._load(lang) for lang in langs)
        rows = (((f"{self.path} {lang} verse {b}:{c}:{v} (book:chapter:verse)" for lang in langs), texts)
                for (b, c, v), texts in align_versions(loaded, report))
        return rows, report


class _FloresSource:
    """Each language's file of one split, read once; aligned by line."""

    def __init__(self, corpus: MultiwayCorpus):
        self.root, self.split = corpus.path, corpus.split
        self._files: dict[str, tuple[Path, list[str]]] = {}

    def _load(self, lang: str) -> tuple[Path, list[str]]:
        from .flores import _find, _sentences

        if lang not in self._files:
            path = _find(self.root, self.split, lang)
            self._files[lang] = (path, _sentences(path))
        return self._files[lang]

    def rows(self, langs: tuple[str, ...]):
        files = [self._load(lang) for lang in langs]
        first_path, first = files[0]
        for path, sentences in files[1:]:
            if len(sentences) != len(first):
                raise DataError(f"FLORES-200 files are not aligned: {first_path} has {len(first)} sentences "
                                f"but {path} has {len(sentences)}")
        rows = (((f"{path}:{i}" for path, _ in files), texts)
                for i, texts in enumerate(zip(*(s for _, s in files)), 1))
        return rows, None


def _source(corpus: MultiwayCorpus):
    return _BibleSource(corpus) if corpus.format == "bible" else _FloresSource(corpus)


@dataclass
class DirectionData:
    src: str
    tgt: str
    pairs: list[TranslationPair]
    available: int  # pairs the direction has (before the limit)
    skipped: int  # verses or lines not aligned (the Bible's missing/marker/merged) or with an empty side
    auxiliary: Auxiliary | None = None  # pmp only
    without_auxiliary: int | None = None  # pmp with an auxiliary: the direction's pairs without it

    @property
    def dropped_for_auxiliary(self) -> int:
        """Pairs lost because the auxiliary language lacks (or marks) that sentence."""
        return 0 if self.without_auxiliary is None else self.without_auxiliary - self.available


@dataclass
class MultiwayData:
    spec: MultiwaySpec
    directions: list[DirectionData]

    @property
    def pairs(self) -> list[TranslationPair]:
        """Every direction's pairs, concatenated in the spec's direction order."""
        return [p for d in self.directions for p in d.pairs]

    def repetition(self) -> dict[str, Repetition]:
        return target_repetition(self.pairs)

    def format(self) -> str:
        spec = self.spec
        limit = f", at most {spec.limit} pairs per direction" if spec.limit is not None else ""
        hubs = f", hubs {', '.join(spec.hubs)}" if spec.mode == "hub-centric" else ""
        lines = [f"multiway {spec.corpus.name}: {len(spec.langs)} languages{hubs}, directions {spec.mode}: "
                 f"{len(spec.directions)} directions{limit}" + (", PMP auxiliaries attached" if spec.pmp else "")]
        header = ("direction", "pairs", "skipped")
        if spec.pmp:
            header += ("auxiliary", "dropped for lack of it")
        rows = [header]
        for d in self.directions:
            row = (f"{d.src} -> {d.tgt}", str(len(d.pairs)), str(d.skipped))
            if spec.pmp:
                aux = d.auxiliary.lang if d.auxiliary and d.auxiliary.lang else "(none)"
                row += (aux, str(d.dropped_for_auxiliary))
            rows.append(row)
        total = ("total", str(sum(len(d.pairs) for d in self.directions)),
                 str(sum(d.skipped for d in self.directions)))
        if spec.pmp:
            total += ("", str(sum(d.dropped_for_auxiliary for d in self.directions)))
        lines += _table(rows + [total], right={1, 2} | ({4} if spec.pmp else set()))
        lines.append("target repetition (identical target strings per target language; LMT: a hub target "
                     "repeats once per source):")
        rows = [("target", "pairs", "distinct", "mean", "max")]
        for lang, rep in self.repetition().items():
            rows.append((lang, str(rep.pairs), str(rep.distinct), f"{rep.mean:.2f}", str(rep.max)))
        lines += _table(rows, right={1, 2, 3, 4})
        if spec.pmp:
            lines.append("PMP auxiliaries (candidates: the high-resource languages among langs):")
            lines += spec.auxiliary_table().splitlines()
        return "\n".join(lines)


def build_multiway(spec: MultiwaySpec, *, empty_lines: str = "skip") -> MultiwayData:
    """Every direction's pairs (see the module docstring); each language is read once."""
    if empty_lines not in EMPTY_POLICIES:
        raise DataError(f"empty_lines must be one of {', '.join(EMPTY_POLICIES)}, got {empty_lines!r}")
    source = _source(spec.corpus)
    out = []
    for src, tgt in spec.directions:
        aux = spec.auxiliaries.get((src, tgt)) if spec.pmp else None
        langs = (src, tgt) + ((aux.lang,) if aux is not None and aux.lang is not None else ())
        rows, skipped = _scan(source, langs, empty_lines)
        pairs = [TranslationPair(texts[0], texts[1], src, tgt, pivot=texts[2] if len(langs) == 3 else None,
                                 pivot_lang=langs[2] if len(langs) == 3 else None)
                 for texts in rows[:spec.limit]]
        without = None
        if len(langs) == 3:  # the pair alone: what it has beyond the triples is the auxiliary's doing
            pair_rows, skipped = _scan(source, (src, tgt), empty_lines)
            without = len(pair_rows)
        out.append(DirectionData(src, tgt, pairs, len(rows), skipped, aux, without))
    return MultiwayData(spec, out)


def _scan(source, langs: tuple[str, ...], empty_lines: str) -> tuple[list[tuple[str, ...]], int]:
    """The aligned rows of some languages with no empty side, and how many were skipped: not
    aligned (the Bible's missing, marker and merged verses) or with an empty side."""
    rows, report = source.rows(langs)
    kept, empty = [], 0
    for where, texts in rows:
        blank = [i for i, t in enumerate(texts) if not t.strip()]
        if blank:
            if empty_lines == "error":
                side = ("source", "target", "auxiliary")[blank[0]]
                raise DataError(f"{list(where)[blank[0]]}: empty {side} sentence ({langs[blank[0]]}) "
                                f"(use empty_lines: skip to skip and count them)")
            empty += 1
            continue
        kept.append(texts)
    return kept, empty + (report.verses - report.kept if report is not None else 0)
