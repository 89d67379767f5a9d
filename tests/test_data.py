from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from babelbridge.bridges.base import TranslationPair
from babelbridge.data import (
    Corpus,
    CorpusSpec,
    DataError,
    OverlongReport,
    ReadReport,
    filter_overlong,
    mix_corpora,
    read_corpus,
    write_pairs,
)
from babelbridge.errors import BabelBridgeError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def error(excinfo) -> str:
    return str(excinfo.value)


def P(src, tgt, src_lang="deu_Latn", tgt_lang="eng_Latn"):
    return TranslationPair(src, tgt, src_lang, tgt_lang)


# ---- CorpusSpec ------------------------------------------------------------------------------

def test_spec_normalises_languages_and_paths(tmp_path):
    spec = CorpusSpec("tsv", str(tmp_path / "a.tsv"), src_lang="de", tgt_lang="French", weight=2)
    assert spec.src_lang == "deu_Latn" and spec.tgt_lang == "fra_Latn"
    assert spec.path == tmp_path / "a.tsv" and spec.weight == 2.0 and isinstance(spec.weight, float)
    assert CorpusSpec("jsonl", "x.jsonl").src_lang is None  # JSONL lines may carry their own


def test_spec_from_dict_names_unknown_and_accepted_keys():
    spec = CorpusSpec.from_dict({"format": "flores", "path": "fl", "src_lang": "deu", "split": "dev"})
    assert (spec.format, spec.path, spec.src_lang, spec.tgt_lang, spec.split) == \
        ("flores", Path("fl"), "deu_Latn", "eng_Latn", "dev")
    with pytest.raises(DataError) as e:
        CorpusSpec.from_dict({"format": "tsv", "path": "a", "src_lang": "de", "lang": "x", "wieght": 2})
    assert error(e) == ("unknown corpus key(s): lang, wieght; accepted keys: format, path, tgt_path, "
                        "src_lang, tgt_lang, split, weight, limit, pivot_lang")
    with pytest.raises(DataError) as e:
        CorpusSpec.from_dict({"format": "tsv"})
    assert error(e) == ("corpus entry is missing required key(s): path; accepted keys: format, path, "
                        "tgt_path, src_lang, tgt_lang, split, weight, limit, pivot_lang")


@pytest.mark.parametrize("kwargs, message", [
    (dict(format="csv", path="a"), "unknown corpus format 'csv'; expected one of: tsv, jsonl, text, flores, bible"),
    (dict(format="text", path="a", src_lang="de"), "format 'text' needs tgt_path (the target file paired with a)"),
    (dict(format="tsv", path="a", tgt_path="b", src_lang="de"), "tgt_path is only used by format 'text', not 'tsv'"),
    (dict(format="tsv", path="a"), "format 'tsv' needs src_lang (corpus a)"),
    (dict(format="flores", path="a", src_lang="de", split="test"),
     "unknown FLORES split 'test'; expected one of: devtest, dev"),
    (dict(format="tsv", path="a", src_lang="de", weight=0), "corpus a: weight must be a positive number, got 0"),
    (dict(format="tsv", path="a", src_lang="de", limit=0),
     "corpus a: limit must be a positive integer or None, got 0"),
])
def test_spec_rejects_bad_values(kwargs, message):
    with pytest.raises(DataError) as e:
        CorpusSpec(**kwargs)
    assert error(e) == message


def test_spec_unknown_language_suggests_codes():
    with pytest.raises(DataError) as e:
        CorpusSpec("tsv", "a", src_lang="deu_Latm")
    assert error(e).startswith("corpus a: src_lang: unknown language code 'deu_Latm'; closest valid codes: deu_Latn")
    assert isinstance(e.value, BabelBridgeError) and isinstance(e.value, ValueError)


# ---- TSV ---------------------------------------------------------------------------------------

def test_tsv_reads_exact_pairs_keeping_inner_whitespace(tmp_path):
    path = write(tmp_path / "c.tsv", "Hallo  Welt \tHello  world \r\nZwei\tTwo\nDrei\u2028x\tThree")
    corpus = read_corpus(CorpusSpec("tsv", path, src_lang="de"))
    assert corpus.pairs == [P("Hallo  Welt ", "Hello  world "), P("Zwei", "Two"), P("Drei\u2028x", "Three")]
    assert corpus.name == f"deu_Latn-eng_Latn:{path}"
    assert corpus.report == ReadReport(read=3, kept=3, empty_skipped=0)
    assert corpus.weight == 1.0 and len(corpus) == 3


def test_tsv_byte_order_mark_is_dropped(tmp_path):
    path = tmp_path / "bom.tsv"
    path.write_bytes(b"\xef\xbb\xbfEins\tOne\n")
    assert read_corpus(CorpusSpec("tsv", path, src_lang="de")).pairs == [P("Eins", "One")]


def test_tsv_wrong_field_count(tmp_path):
    path = write(tmp_path / "c.tsv", "a\tb\nonly one field\n")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("tsv", path, src_lang="de"))
    assert error(e) == f"{path}:2: expected 2 tab-separated fields (src<TAB>tgt), found 1"
    write(path, "a\tb\tc\n")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("tsv", path, src_lang="de"))
    assert error(e) == f"{path}:1: expected 2 tab-separated fields (src<TAB>tgt), found 3"


def test_empty_lines_skipped_and_counted(tmp_path):
    path = write(tmp_path / "c.tsv", "a\tA\n\n  \tB\nc\t \r\nd\tD\n")
    corpus = read_corpus(CorpusSpec("tsv", path, src_lang="de"))
    assert corpus.pairs == [P("a", "A"), P("d", "D")]
    assert corpus.report == ReadReport(read=5, kept=2, empty_skipped=3)
    assert corpus.report.summary() == "read 5 pairs, kept 2, skipped 3 empty"


def test_empty_lines_as_error_name_file_and_line(tmp_path):
    path = write(tmp_path / "c.tsv", "a\tA\nb\t  \n")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("tsv", path, src_lang="de"), empty_lines="error")
    assert error(e) == f"{path}:2: empty target sentence (use empty_lines='skip' to skip and count empty pairs)"
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("tsv", path, src_lang="de"), empty_lines="never")
    assert error(e) == "empty_lines must be one of skip, error, got 'never'"


def test_limit_counts_kept_pairs_and_stops_reading(tmp_path):
    path = write(tmp_path / "c.tsv", "a\tA\n\tX\nb\tB\nc\tC\nbroken line\n")
    corpus = read_corpus(CorpusSpec("tsv", path, src_lang="de", limit=2))
    assert corpus.pairs == [P("a", "A"), P("b", "B")]
    assert corpus.report == ReadReport(read=3, kept=2, empty_skipped=1)


def test_missing_file_and_directory_as_file(tmp_path):
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("tsv", tmp_path / "nope.tsv", src_lang="de"))
    assert error(e) == f"corpus file not found: {tmp_path / 'nope.tsv'}"
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("jsonl", tmp_path, src_lang="de"))
    assert error(e) == f"corpus file is not a regular file: {tmp_path}"


def test_invalid_utf8_names_line(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_bytes(b"a\tA\nb\t\xff\n")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("tsv", path, src_lang="de"))
    assert error(e) == f"{path}:2: not valid UTF-8 (invalid start byte at byte 2)"


def test_dict_spec_is_accepted(tmp_path):
    path = write(tmp_path / "c.tsv", "a\tA\n")
    assert read_corpus({"format": "tsv", "path": str(path), "src_lang": "fr"}).pairs == [P("a", "A", "fra_Latn")]


# ---- JSONL -------------------------------------------------------------------------------------

def test_jsonl_per_line_languages_override_spec(tmp_path):
    path = write(tmp_path / "c.jsonl",
                 '{"src": "Hallo", "tgt": "Hello"}\n'
                 '{"src": "Bonjour", "tgt": "Hallo", "src_lang": "fr", "tgt_lang": "German", "id": 7}\n'
                 '\n'
                 '{"src": "", "tgt": "x"}\n')
    corpus = read_corpus(CorpusSpec("jsonl", path, src_lang="de"))
    assert corpus.pairs == [P("Hallo", "Hello"), P("Bonjour", "Hallo", "fra_Latn", "deu_Latn")]
    assert corpus.report == ReadReport(read=4, kept=2, empty_skipped=2)


def test_jsonl_line_without_language_when_spec_has_none(tmp_path):
    path = write(tmp_path / "c.jsonl", '{"src": "a", "tgt": "b", "src_lang": "de"}\n{"src": "c", "tgt": "d"}\n')
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("jsonl", path))
    assert error(e) == (f"{path}:2: no \"src_lang\" on this line and none in the corpus spec; "
                        f"add it to the line or set src_lang in the spec")
    spec = CorpusSpec("jsonl", path, limit=1)
    got = read_corpus(spec)
    assert got.pairs == [P("a", "b")] and got.name == f"*-eng_Latn:{path}"


@pytest.mark.parametrize("line, message", [
    ('{"src": "a", "tgt": }', "invalid JSON (Expecting value at column 21)"),
    ('["a", "b"]', 'expected a JSON object with "src" and "tgt", got list'),
    ('{"src": "a"}', 'missing "tgt"'),
    ('{"src": "a", "tgt": 3}', '"tgt" must be a string, got int'),
])
def test_jsonl_bad_lines_name_file_and_line(tmp_path, line, message):
    path = write(tmp_path / "c.jsonl", '{"src": "a", "tgt": "b"}\n' + line + "\n")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("jsonl", path, src_lang="de"))
    assert error(e) == f"{path}:2: {message}"


def test_jsonl_unknown_language_names_line(tmp_path):
    path = write(tmp_path / "c.jsonl", '{"src": "a", "tgt": "b", "tgt_lang": "Klingon"}\n')
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("jsonl", path, src_lang="de"))
    assert error(e).startswith(f"{path}:1: tgt_lang: unknown language code 'Klingon'")


# ---- paired text files -------------------------------------------------------------------------

def test_text_pair_reads_aligned_lines(tmp_path):
    src = write(tmp_path / "c.de", "Eins\n\nDrei \n")
    tgt = write(tmp_path / "c.en", "One\nTwo\nThree\n")
    corpus = read_corpus(CorpusSpec("text", src, tgt_path=tgt, src_lang="de"))
    assert corpus.pairs == [P("Eins", "One"), P("Drei ", "Three")]
    assert corpus.report == ReadReport(read=3, kept=2, empty_skipped=1)
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("text", src, tgt_path=tgt, src_lang="de"), empty_lines="error")
    assert error(e) == f"{src}:2: empty source sentence (use empty_lines='skip' to skip and count empty pairs)"


def test_text_pair_line_count_mismatch_names_both(tmp_path):
    src = write(tmp_path / "c.de", "Eins\nZwei\nDrei\n")
    tgt = write(tmp_path / "c.en", "One\nTwo")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("text", src, tgt_path=tgt, src_lang="de"))
    assert error(e) == (f"line counts differ: {src} has 3 lines but {tgt} has 2; "
                        f"paired text files need one sentence per line in both")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("text", src, tgt_path=tmp_path / "missing.en", src_lang="de"))
    assert error(e) == f"corpus file not found: {tmp_path / 'missing.en'}"


# ---- FLORES-200 --------------------------------------------------------------------------------

def classic_flores(root: Path) -> Path:
    for split, n in (("dev", 3), ("devtest", 2)):
        write(root / split / f"deu_Latn.{split}", "".join(f"de {split} {i}\n" for i in range(n)))
        write(root / split / f"eng_Latn.{split}", "".join(f"en {split} {i}\n" for i in range(n)))
        write(root / split / f"fra_Latn.{split}", "".join(f"fr {split} {i}\n" for i in range(n)))
    return root


def test_flores_classic_layout(tmp_path):
    root = classic_flores(tmp_path / "flores200")
    corpus = read_corpus(CorpusSpec("flores", root, src_lang="de"))
    assert corpus.pairs == [P("de devtest 0", "en devtest 0"), P("de devtest 1", "en devtest 1")]
    assert corpus.name == f"deu_Latn-eng_Latn:{root / 'devtest'}"
    dev = read_corpus(CorpusSpec("flores", root, src_lang="fr", tgt_lang="de", split="dev"))
    assert dev.pairs == [P(f"fr dev {i}", f"de dev {i}", "fra_Latn", "deu_Latn") for i in range(3)]


def test_flores_triples_read_the_third_file_line_by_line(tmp_path):
    root = classic_flores(tmp_path / "flores200")
    corpus = read_corpus(CorpusSpec("flores", root, src_lang="de", tgt_lang="en", pivot_lang="fr", split="dev"))
    assert [(p.src, p.tgt, p.pivot, p.pivot_lang) for p in corpus.pairs] == [
        (f"de dev {i}", f"en dev {i}", f"fr dev {i}", "fra_Latn") for i in range(3)]
    write(root / "dev" / "fra_Latn.dev", "fr 0\nfr 1\n")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("flores", root, src_lang="de", pivot_lang="fr", split="dev"))
    assert error(e) == (f"FLORES-200 files are not aligned: {root / 'dev' / 'deu_Latn.dev'} has 3 sentences "
                        f"but {root / 'dev' / 'fra_Latn.dev'} has 2")


def test_flores_parquet_layout(tmp_path):
    root = tmp_path / "flores_plus"
    (root / "devtest").mkdir(parents=True)
    pq.write_table(pa.table({"id": [1, 2, 3], "text": ["Hallo", None, "Tschüss"]}), root / "devtest" / "deu_Latn.parquet")
    pq.write_table(pa.table({"id": [1, 2, 3], "text": ["Hello", "Hi", "Bye"]}), root / "devtest" / "eng_Latn.parquet")
    corpus = read_corpus(CorpusSpec("flores", root, src_lang="deu_Latn"))
    assert corpus.pairs == [P("Hallo", "Hello"), P("Tschüss", "Bye")]
    assert corpus.report == ReadReport(read=3, kept=2, empty_skipped=1)
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("flores", root, src_lang="deu_Latn"), empty_lines="error")
    assert error(e) == (f"{root / 'devtest' / 'deu_Latn.parquet'}:2: empty source sentence "
                        f"(use empty_lines='skip' to skip and count empty pairs)")
    pq.write_table(pa.table({"sentence": ["x"]}), root / "devtest" / "fra_Latn.parquet")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("flores", root, src_lang="fr"))
    assert error(e) == f"{root / 'devtest' / 'fra_Latn.parquet'}: no 'text' column (columns: sentence)"


def test_flores_missing_language_suggests_closest(tmp_path):
    root = classic_flores(tmp_path / "flores200")
    write(root / "devtest" / "zho_Hant.devtest", "x\ny\n")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("flores", root, src_lang="zh"))
    assert error(e) == (f"FLORES-200: no zho_Hans in split 'devtest' of {root} (looked for zho_Hans.devtest "
                        f"and zho_Hans.parquet in {root / 'devtest'}); closest available: zho_Hant")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("flores", root, src_lang="ja"))
    assert error(e) == (f"FLORES-200: no jpn_Jpan in split 'devtest' of {root} (looked for jpn_Jpan.devtest "
                        f"and jpn_Jpan.parquet in {root / 'devtest'}); 4 other languages are there, "
                        f"e.g. deu_Latn, eng_Latn, fra_Latn, zho_Hant")


def test_flores_missing_directory_split_and_misalignment(tmp_path):
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("flores", tmp_path / "nope", src_lang="de"))
    assert error(e) == f"FLORES-200 directory not found: {tmp_path / 'nope'}"
    root = write(tmp_path / "fl" / "dev" / "deu_Latn.dev", "a\n").parent.parent
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("flores", root, src_lang="de"))
    assert error(e) == (f"FLORES-200 directory {root} has no 'devtest' folder "
                        f"(expected {root / 'devtest'}/<code>.devtest or <code>.parquet)")
    write(root / "dev" / "eng_Latn.dev", "a\nb\n")
    with pytest.raises(DataError) as e:
        read_corpus(CorpusSpec("flores", root, src_lang="de", split="dev"))
    assert error(e) == (f"FLORES-200 files are not aligned: {root / 'dev' / 'deu_Latn.dev'} has 1 sentences "
                        f"but {root / 'dev' / 'eng_Latn.dev'} has 2")


# ---- over-long pairs ---------------------------------------------------------------------------

def test_filter_overlong_truncate_keeps_and_counts():
    pairs = [P("aaa", "bb"), P("aaaaaa", "bb"), P("a", "bbbbb"), P("aaaaaa", "bbbbbb")]
    original = list(pairs)
    kept, report = filter_overlong(pairs, src_len=len, tgt_len=len, max_src=4, max_tgt=4)
    assert kept == pairs and kept is not pairs and pairs == original
    assert report == OverlongReport(total=4, src_overlong=2, tgt_overlong=2, overlong=3, dropped=0,
                                    policy="truncate", max_src=4, max_tgt=4)
    assert report.summary() == ("3 of 4 pairs over-long (2 source > 4 tokens, 2 target > 4 tokens): "
                                "kept, truncated at collate time")


def test_filter_overlong_drop_removes_and_counts():
    pairs = [P("aaa", "bb"), P("aaaaaa", "bb"), P("a", "bbbbb"), P("aaaaaa", "bbbbbb")]
    kept, report = filter_overlong(pairs, src_len=len, tgt_len=lambda t: len(t) // 2,
                                   max_src=4, max_tgt=2, policy="drop")
    assert kept == [P("aaa", "bb"), P("a", "bbbbb")]
    assert (report.overlong, report.dropped, report.src_overlong, report.tgt_overlong) == (2, 2, 2, 1)
    assert report.summary() == "2 of 4 pairs over-long (2 source > 4 tokens, 1 target > 2 tokens): dropped"
    with pytest.raises(DataError) as e:
        filter_overlong(pairs, src_len=len, tgt_len=len, max_src=4, max_tgt=4, policy="cut")
    assert error(e) == "overlong policy must be one of truncate, drop, got 'cut'"


# ---- mixtures ----------------------------------------------------------------------------------

def corpus(lang: str, n: int, weight: float = 1.0) -> Corpus:
    return Corpus([P(f"{lang} {i}", f"en {i}", lang) for i in range(n)], name=f"{lang}-eng_Latn:mem", weight=weight)


def snapshot(corpora):
    return [(c.name, list(c.pairs), c.weight) for c in corpora]


def test_concat_is_a_seeded_shuffle_of_everything():
    corpora = [corpus("deu_Latn", 5), corpus("fra_Latn", 3)]
    before = snapshot(corpora)
    mixed = mix_corpora(corpora, mode="concat", seed=1)
    assert sorted(mixed, key=str) == sorted(corpora[0].pairs + corpora[1].pairs, key=str)
    assert mixed == mix_corpora(corpora, mode="concat", seed=1)
    assert mixed != corpora[0].pairs + corpora[1].pairs
    assert snapshot(corpora) == before


def test_balanced_downsamples_to_the_smallest():
    corpora = [corpus("deu_Latn", 50), corpus("fra_Latn", 7), corpus("spa_Latn", 20)]
    before = snapshot(corpora)
    mixed = mix_corpora(corpora, mode="balanced", seed=3)
    counts = Counter(p.src_lang for p in mixed)
    assert counts == {"deu_Latn": 7, "fra_Latn": 7, "spa_Latn": 7}
    assert len(set(mixed)) == 21  # sampled without replacement
    assert mixed == mix_corpora(corpora, mode="balanced", seed=3)
    assert mixed != mix_corpora(corpora, mode="balanced", seed=4)
    # With a per-corpus size, the small corpus is never up-sampled.
    sized = Counter(p.src_lang for p in mix_corpora(corpora, mode="balanced", size=15))
    assert sized == {"deu_Latn": 15, "fra_Latn": 7, "spa_Latn": 15}
    assert snapshot(corpora) == before


def test_weighted_follows_weights():
    corpora = [corpus("deu_Latn", 5000, weight=3.0), corpus("fra_Latn", 5000, weight=1.0)]
    before = snapshot(corpora)
    mixed = mix_corpora(corpora, mode="weighted", seed=0, size=6000)
    share = Counter(p.src_lang for p in mixed)["deu_Latn"] / len(mixed)
    assert len(mixed) == 6000 and abs(share - 0.75) < 0.02
    assert len(set(mixed)) == 6000  # no corpus ran out (about 4500 of 5000 drawn), so no pair repeats
    assert mixed == mix_corpora(corpora, mode="weighted", seed=0, size=6000)
    assert mixed != mix_corpora(corpora, mode="weighted", seed=1, size=6000)
    assert len(mix_corpora(corpora, mode="weighted")) == 10000  # default size: all pairs
    assert snapshot(corpora) == before


def test_weighted_repeats_an_exhausted_corpus_evenly():
    corpora = [corpus("deu_Latn", 5), corpus("fra_Latn", 1000)]
    mixed = mix_corpora(corpora, mode="weighted", seed=2, size=400)
    repeats = Counter(p for p in mixed if p.src_lang == "deu_Latn")
    assert set(repeats) == set(corpora[0].pairs)
    assert max(repeats.values()) - min(repeats.values()) <= 1


def test_mixture_errors():
    with pytest.raises(DataError) as e:
        mix_corpora([corpus("deu_Latn", 2)], mode="oracle")
    assert error(e) == "unknown mixture mode 'oracle'; expected one of: concat, weighted, balanced"
    with pytest.raises(DataError) as e:
        mix_corpora([corpus("deu_Latn", 2), corpus("fra_Latn", 0)], mode="balanced")
    assert error(e) == "balanced mix: corpus fra_Latn-eng_Latn:mem has no pairs"
    with pytest.raises(DataError) as e:
        mix_corpora([corpus("deu_Latn", 2)], mode="concat", size=1)
    assert error(e) == "size applies to the 'weighted' and 'balanced' mixtures, not 'concat'"
    with pytest.raises(DataError) as e:
        mix_corpora([], mode="concat")
    assert error(e) == "no corpora to mix"


# ---- export ------------------------------------------------------------------------------------

def test_write_pairs_round_trips_tsv_and_jsonl(tmp_path):
    pairs = [P("Hallo  Welt ", "Hello"), P("Ça va?", "How \"are\" you?", "fra_Latn"), P("x\u2028y", "z")]
    tsv = write_pairs(pairs[:1] + pairs[2:], tmp_path / "out" / "c.tsv")
    assert read_corpus(CorpusSpec("tsv", tsv, src_lang="de")).pairs == pairs[:1] + pairs[2:]
    jsonl = write_pairs(pairs + [P("tab\there", "new\nline")], tmp_path / "c.jsonl", format="jsonl")
    assert read_corpus(CorpusSpec("jsonl", jsonl)).pairs == pairs + [P("tab\there", "new\nline")]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["c.jsonl", "c.tsv", "out"]  # no temp files left


def test_write_pairs_failure_leaves_old_file(tmp_path):
    path = write(tmp_path / "c.tsv", "old\tOLD\n")
    with pytest.raises(DataError) as e:
        write_pairs([P("a", "b"), P("tab\tinside", "b")], path)
    assert error(e) == ("pair 1: src contains a tab or line break, which TSV cannot hold; "
                        "write format='jsonl' instead")
    assert path.read_text() == "old\tOLD\n"
    assert [p.name for p in tmp_path.iterdir()] == ["c.tsv"]
