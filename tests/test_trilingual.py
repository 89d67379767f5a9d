"""Triples (x, English, y): multi-way Bible verses, JSONL with "pivot", and `data trilingual`
(English translated by a bridge; batched, resumable, atomic)."""

import json

import pytest

from babelbridge.cli import data_cmd
from babelbridge.cli.main import main
from babelbridge.data import CorpusSpec, DataError, read_corpus, write_pairs
from babelbridge.data.bible import BibleReport, bible_pairs
from babelbridge.bulk import partial_dir
from babelbridge.data.trilingual import PartialStore, build_triples, plan_triples
from babelbridge.pairs import TranslationPair
from test_bible import VERSES, make_db

DE, EN, TR = "deu_Latn", "eng_Latn", "tur_Latn"


@pytest.fixture
def db(tmp_path):
    return make_db(tmp_path / "bible.db")


@pytest.fixture
def no_fetch(monkeypatch):
    import babelbridge.assets

    def fail(name, **kwargs):
        raise AssertionError(f"fetch_asset({name!r}) called")

    monkeypatch.setattr(babelbridge.assets, "fetch_asset", fail)


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---- the Bible as triples ------------------------------------------------------------------------

def test_bible_triples_carry_the_pivot_verse(db, no_fetch):
    corpus = read_corpus({"format": "bible", "path": str(db), "src_lang": "de", "tgt_lang": "tr",
                          "pivot_lang": "en", "split": "test"})
    assert corpus.pairs == [
        TranslationPair("Im Anfang war das Wort.", "Başlangıçta Söz vardı.", DE, TR,
                        pivot="In the beginning was the Word.", pivot_lang=EN),
        TranslationPair("Jesus vergoß Tränen.", "İsa ağladı.", DE, TR, pivot="Jesus wept.", pivot_lang=EN)]
    assert corpus.name == f"{DE}-{EN}-{TR}:bible/test ({db})"
    # Without pivot_lang nothing changes: pairs, no pivot.
    plain = read_corpus({"format": "bible", "path": str(db), "src_lang": "de", "tgt_lang": "tr", "split": "test"})
    assert [p.pivot for p in plain.pairs] == [None, None] and plain.name == f"{DE}-{TR}:bible/test ({db})"


def test_verse_missing_in_the_pivot_is_skipped_and_counted(tmp_path, no_fetch):
    db = make_db(tmp_path / "b.db", [v for v in VERSES if v[:4] != ("4", 1, 1, 7)])  # WEB lacks Genesis 1:7
    two = BibleReport()
    assert [p.src for p in bible_pairs(DE, TR, "train", db, two)] == [
        "Im Anfang schuf Gott die Himmel und die Erde.", "Und Gott machte die Ausdehnung."]
    assert (two.verses, two.kept, two.missing, two.markers, two.merged) == (7, 2, 1, 2, 2)
    three = BibleReport()
    triples = list(bible_pairs(DE, TR, "train", db, three, pivot_lang=EN))
    assert triples == [TranslationPair("Im Anfang schuf Gott die Himmel und die Erde.",
                                       "Başlangıçta Tanrı göğü ve yeri yarattı.", DE, TR,
                                       pivot="In the beginning, God created the heavens and the earth.", pivot_lang=EN)]
    # 1:4 missing in German, 1:7 in English; markers 1:3 (Turkish) and 1:6 (German); 1:2, 1:5 merged.
    assert (three.verses, three.kept, three.missing, three.markers, three.merged) == (7, 1, 2, 2, 2)
    assert three.summary() == "kept 1 of 7 verses; skipped 2 missing, 2 markers, 2 holding a merged verse"


def test_export_bible_triples_cli(db, tmp_path, capsys, no_fetch):
    out_file = tmp_path / "de-en-tr.jsonl"
    code, out, err = run_cli(capsys, "data", "export", "--format", "bible", "--db", db, "--src-lang", "de",
                             "--tgt-lang", "tr", "--pivot-lang", "en", "--split", "test", "--out", out_file)
    assert (code, err) == (0, "") and out.startswith(f"wrote 2 triples to {out_file} (jsonl); kept 2 of 2 verses")
    assert json.loads(out_file.read_text(encoding="utf-8").splitlines()[1]) == {
        "src": "Jesus vergoß Tränen.", "tgt": "İsa ağladı.", "src_lang": DE, "tgt_lang": TR,
        "pivot": "Jesus wept.", "pivot_lang": EN}
    code, _, err = run_cli(capsys, "data", "export", "--format", "bible", "--db", db, "--src-lang", "de",
                           "--tgt-lang", "tr", "--pivot-lang", "en", "--split", "test", "--out", tmp_path / "x.tsv")
    assert code == 2 and "triples need JSONL output" in err and not (tmp_path / "x.tsv").exists()


# ---- CorpusSpec ----------------------------------------------------------------------------------

def test_spec_pivot_rules(tmp_path):
    spec = CorpusSpec("jsonl", tmp_path / "t.jsonl", tgt_lang=None, pivot_lang="English")
    assert spec.pivot_lang == EN
    assert CorpusSpec.from_dict({"format": "jsonl", "path": "t.jsonl", "pivot_lang": "en"}).tgt_lang is None
    with pytest.raises(DataError, match=r"pivot_lang is only used by formats bible, flores, jsonl .*not 'tsv'"):
        CorpusSpec("tsv", "a.tsv", src_lang="de", pivot_lang="en")
    with pytest.raises(DataError, match="pivot_lang is only used by formats bible, flores, jsonl"):
        CorpusSpec.from_dict({"format": "text", "path": "a.de", "tgt_path": "a.en", "src_lang": "de",
                              "pivot_lang": "fr"})
    with pytest.raises(DataError, match="pivot_lang and src_lang are both deu_Latn; the pivot is a third language"):
        CorpusSpec("jsonl", "t.jsonl", src_lang="de", tgt_lang="fr", pivot_lang="deu")
    with pytest.raises(DataError, match=r"pivot_lang and tgt_lang are both eng_Latn \(tgt_lang defaults to eng_Latn\)"):
        CorpusSpec("bible", None, src_lang="de", split="train", pivot_lang="en")
    with pytest.raises(DataError, match="pivot_lang: the Bible corpus has no zul_Latn"):
        CorpusSpec("bible", None, src_lang="de", tgt_lang="fr", split="train", pivot_lang="zu")
    with pytest.raises(DataError, match="pivot_lang: unknown language code 'xx_Yyyy'"):
        CorpusSpec("jsonl", "t.jsonl", tgt_lang=None, pivot_lang="xx_Yyyy")


# ---- JSONL with "pivot" --------------------------------------------------------------------------

TRIPLES = [
    TranslationPair("Guten Morgen.", "Bonjour.", DE, "fra_Latn", pivot="Good morning.", pivot_lang=EN),
    TranslationPair("Guten Morgen.", "Buenos días.", DE, "spa_Latn", pivot="Good morning.", pivot_lang=EN),
    TranslationPair("Danke\tsehr", "Merci\nbeaucoup", DE, "fra_Latn", pivot="Thank you very much", pivot_lang=EN),
]


def test_jsonl_triples_round_trip_through_export(tmp_path):
    path = write_pairs(TRIPLES, tmp_path / "t.jsonl", "jsonl")
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first == {"src": "Guten Morgen.", "tgt": "Bonjour.", "src_lang": DE, "tgt_lang": "fra_Latn",
                     "pivot": "Good morning.", "pivot_lang": EN}
    corpus = read_corpus({"format": "jsonl", "path": str(path), "pivot_lang": "eng_Latn"})
    assert corpus.pairs == TRIPLES
    assert corpus.name == f"*-{EN}-*:{path}"
    with pytest.raises(DataError, match="carries a pivot sentence, which TSV cannot hold"):
        write_pairs(TRIPLES, tmp_path / "t.tsv")
    assert not (tmp_path / "t.tsv").exists()
    # Plain pairs are written as before: no pivot keys.
    plain = write_pairs([TranslationPair("a", "b", DE)], tmp_path / "p.jsonl", "jsonl")
    assert json.loads(plain.read_text(encoding="utf-8")) == {"src": "a", "tgt": "b", "src_lang": DE, "tgt_lang": EN}


def test_jsonl_pivot_errors_name_file_and_line(tmp_path):
    path = tmp_path / "t.jsonl"

    def read(lines, **spec):
        path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
        return read_corpus({"format": "jsonl", "path": str(path), **spec})

    good = {"src": "Hallo", "tgt": "Salut", "src_lang": "de", "tgt_lang": "fr", "pivot": "Hello"}
    with pytest.raises(DataError, match=r"t.jsonl:2: missing \"pivot\"; with pivot_lang eng_Latn every line"):
        read([good, {k: v for k, v in good.items() if k != "pivot"}], pivot_lang="en")
    with pytest.raises(DataError, match=r"t.jsonl:1: empty \"pivot\""):
        read([{**good, "pivot": "  "}], pivot_lang="en")
    with pytest.raises(DataError, match=r"t.jsonl:1: \"pivot_lang\" is fra_Latn, but the corpus spec's "
                                        r"pivot_lang is eng_Latn"):
        read([{**good, "pivot_lang": "fr"}], pivot_lang="en")
    with pytest.raises(DataError, match=r"t.jsonl:1: \"pivot\" on a line, but the corpus spec has no pivot_lang; "
                                        r"set pivot_lang"):
        read([good])
    with pytest.raises(DataError, match=r"t.jsonl:2: missing \"src\""):
        read([good, {}], pivot_lang="en")
    assert [p.pivot for p in read([good], pivot_lang="en").pairs] == ["Hello"]


# ---- data trilingual: the pure part --------------------------------------------------------------

def pairs_de_en(n):
    return [TranslationPair(f"Satz {i} " + "x" * (i % 3), f"Sentence {i} " + "y" * (i % 3), DE) for i in range(n)]


def fake_translate(calls):
    def translate(texts, lang):
        calls.append((lang, list(texts)))
        return [f"{lang}:{t}" for t in texts]

    return translate


def test_plan_and_build_with_a_fake_translator(tmp_path):
    pairs = pairs_de_en(3) + [TranslationPair("Hello.", "Bonjour.", EN, "fra_Latn")]  # English -> x works too
    plan = plan_triples(pairs, ["fr", "spa_Latn"], batch_size=2)
    assert plan.work["fra_Latn"] == (2, 1, 0)  # longest English first; the French pair gets no French triple
    assert plan.work["spa_Latn"] == (2, 1, 0, 3)
    calls = []
    report = build_triples(plan, fake_translate(calls), tmp_path / "t.jsonl")
    assert [(lang, len(texts)) for lang, texts in calls] == [("fra_Latn", 2), ("fra_Latn", 1),
                                                             ("spa_Latn", 2), ("spa_Latn", 2)]
    rows = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == report.triples == 7
    assert rows[-1] == {"src": "Bonjour.", "tgt": "spa_Latn:Hello.", "src_lang": "fra_Latn", "tgt_lang": "spa_Latn",
                        "pivot": "Hello.", "pivot_lang": EN}
    assert not partial_dir(tmp_path / "t.jsonl").exists()
    with pytest.raises(DataError, match=r"pair 2 \(deu_Latn -> fra_Latn\): neither side is English"):
        plan_triples([pairs[0], TranslationPair("a", "b", DE, "fra_Latn")], ["es"], 2)
    with pytest.raises(DataError, match="eng_Latn is the pivot"):
        plan_triples(pairs, ["fr", "en"], 2)
    with pytest.raises(DataError, match="nothing to translate"):
        plan_triples(pairs[:1], ["de"], 2)


# ---- data trilingual: the command, on a real (tiny random) NMT bridge ----------------------------

N_PAIRS, LANGS, BATCH = 5, ("fra_Latn", "spa_Latn"), 2  # 3 batches per language (2, 2, 1)


@pytest.fixture(scope="module")
def nmt_bridge(tmp_path_factory):
    from babelbridge.bridges import save_nmt_baseline

    return save_nmt_baseline("tiny-random:m2m100", tmp_path_factory.mktemp("nmt") / "bridge")


@pytest.fixture(scope="module")
def corpus_tsv(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "de-en.tsv"
    rows = [f"Satz Nummer {i}.\tSentence number {i}{' again' * (i % 3)}." for i in range(N_PAIRS)]
    path.write_text("\n".join(rows[:2] + ["\t"] + rows[2:]) + "\n", encoding="utf-8")  # one empty pair
    return path


def trilingual_argv(corpus, bridge, out, *extra):
    return ["data", "trilingual", "--corpus", f"tsv:{corpus}", "--src-lang", "de", "--bridge", bridge,
            "--tgt-langs", ",".join(LANGS), "--out", out, "--batch-size", BATCH, "--num-beams", 1,
            "--max-new-tokens", 6, "--quiet", *extra]


@pytest.fixture(scope="module")
def reference(nmt_bridge, corpus_tsv, tmp_path_factory):
    """An uninterrupted run's output."""
    out = tmp_path_factory.mktemp("ref") / "triples.jsonl"
    code = main([str(a) for a in trilingual_argv(corpus_tsv, nmt_bridge, out)])
    assert code == 0
    return out


@pytest.fixture
def counted(monkeypatch):
    """Count the translate calls of the command (and make the N-th one raise, as a kill would)."""
    state = {"calls": 0, "fail_at": None}
    real = data_cmd._bridge_translator

    def wrapped(path, args):
        translate = real(path, args)

        def count(texts, lang):
            state["calls"] += 1
            if state["calls"] == state["fail_at"]:
                raise Killed(f"killed at call {state['calls']}")
            return translate(texts, lang)

        return count

    monkeypatch.setattr(data_cmd, "_bridge_translator", wrapped)
    return state


class Killed(Exception):
    pass


def test_trilingual_end_to_end_and_deterministic(reference, nmt_bridge, corpus_tsv, tmp_path, capsys, counted):
    rows = [json.loads(x) for x in reference.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == N_PAIRS * len(LANGS)
    assert [(r["src_lang"], r["tgt_lang"], r["pivot_lang"]) for r in rows] == \
        [(DE, lang, EN) for _ in range(N_PAIRS) for lang in LANGS]
    assert [r["src"] for r in rows[::2]] == [f"Satz Nummer {i}." for i in range(N_PAIRS)]
    assert [r["pivot"] for r in rows[::2]] == [f"Sentence number {i}{' again' * (i % 3)}." for i in range(N_PAIRS)]
    assert all(set(r) == {"src", "tgt", "src_lang", "tgt_lang", "pivot", "pivot_lang"} and isinstance(r["tgt"], str)
               for r in rows)
    assert not partial_dir(reference).exists()

    again = tmp_path / "again.jsonl"
    code, out, err = run_cli(capsys, *trilingual_argv(corpus_tsv, nmt_bridge, again))
    assert (code, err) == (0, "")
    assert again.read_bytes() == reference.read_bytes()  # deterministic
    assert counted["calls"] == 3 * len(LANGS)  # batches of 2: 2 + 2 + 1 per language
    first, summary = out.splitlines()
    assert first == f"corpus tsv:{corpus_tsv}: read 6 pairs, kept 5, skipped 1 empty"
    assert summary.startswith(f"wrote 10 triples from 5 pairs into 2 languages (fra_Latn, spa_Latn) to {again}; "
                              f"6 batches translated in ")
    # The file reads back as triples.
    corpus = read_corpus({"format": "jsonl", "path": str(again), "pivot_lang": "en"})
    assert len(corpus.pairs) + corpus.report.empty_skipped == 10


def test_trilingual_kill_and_resume(reference, nmt_bridge, corpus_tsv, tmp_path, capsys, counted):
    out = tmp_path / "triples.jsonl"
    part = partial_dir(out)
    counted["fail_at"] = 5  # 4 batches done: French complete (3), Spanish 1 of 3
    with pytest.raises(Killed):
        main([str(a) for a in trilingual_argv(corpus_tsv, nmt_bridge, out)])
    capsys.readouterr()
    assert not out.exists() and not list(tmp_path.glob(".triples.jsonl.*"))  # no final file, no temp file
    fra = [json.loads(x) for x in (part / "fra_Latn.part-0.jsonl").read_text(encoding="utf-8").splitlines()]
    spa = [json.loads(x) for x in (part / "spa_Latn.part-0.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["batch"] for x in fra] == [0, 1, 2] and [x["batch"] for x in spa] == [0]  # one line per batch
    assert sum(len(x["tgt"]) for x in fra) == N_PAIRS and len(spa[0]["i"]) == len(spa[0]["tgt"]) == BATCH
    args = json.loads((part / "args.json").read_text(encoding="utf-8"))
    assert args["tgt_langs"] == list(LANGS) and args["batch_size"] == BATCH

    with open(part / "spa_Latn.part-0.jsonl", "ab") as f:  # a write torn by the kill: redone, not kept
        f.write(b'{"batch": 1, "i": [3, 1], "tg')

    # Other arguments against this partial dir: refused before anything is loaded or translated.
    counted.update(calls=0, fail_at=None)
    argv = trilingual_argv(corpus_tsv, nmt_bridge, out)
    argv[argv.index("--tgt-langs") + 1] = "fra_Latn"
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and counted["calls"] == 0
    assert f"{part} holds the progress of a run with other arguments (tgt_langs: " in err
    assert f"delete {part} to start over" in err
    argv = trilingual_argv(corpus_tsv, nmt_bridge, out)
    argv[argv.index("--num-beams") + 1] = 2
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and "generation: " in err and counted["calls"] == 0

    code, stdout, err = run_cli(capsys, *trilingual_argv(corpus_tsv, nmt_bridge, out))
    assert (code, err) == (0, "")
    assert counted["calls"] == 2  # only Spanish's last two batches
    assert "2 batches translated, 4 batches resumed" in stdout
    assert out.read_bytes() == reference.read_bytes()
    assert not part.exists()


def test_trilingual_input_errors_before_any_translation(nmt_bridge, tmp_path, capsys, counted):
    bad = tmp_path / "bad.tsv"
    bad.write_text("Hallo\tHello\n\tEmpty source\n", encoding="utf-8")
    out = tmp_path / "t.jsonl"
    code, _, err = run_cli(capsys, "data", "trilingual", "--corpus", f"tsv:{bad}", "--src-lang", "de", "--bridge",
                           nmt_bridge, "--tgt-langs", "fr", "--out", out, "--empty-lines", "error")
    assert code == 2 and "bad.tsv:2: empty source sentence" in err
    code, _, err = run_cli(capsys, "data", "trilingual", "--corpus", f"tsv:{bad}", "--src-lang", "de", "--tgt-lang",
                           "fr", "--bridge", nmt_bridge, "--tgt-langs", "es", "--out", out)
    assert code == 2 and "pair 1 (deu_Latn -> fra_Latn): neither side is English" in err
    code, _, err = run_cli(capsys, "data", "trilingual", "--corpus", f"csv:{bad}", "--src-lang", "de", "--bridge",
                           nmt_bridge, "--tgt-langs", "fr", "--out", out)
    assert code == 2 and "unknown format 'csv'" in err
    assert counted["calls"] == 0 and not out.exists() and not partial_dir(out).exists()


def test_partial_store_refuses_a_foreign_folder(tmp_path):
    out = tmp_path / "t.jsonl"
    partial_dir(out).mkdir()
    (partial_dir(out) / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(DataError, match=r"has no readable args.json, so it is not the progress of a "
                                        r"`data trilingual` run"):
        PartialStore(out).open({"a": 1})
    assert (partial_dir(out) / "notes.txt").exists()
