"""Any-to-any evaluation: directions and their errors, test sets per direction, the matrices,
class averages, floors and gaps, pooled bootstrap, off-target rates (py3langid on real
sentences) and `babelbridge eval --directions` end to end on a tiny prompted LLM."""

import csv
import json
import os
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import pytest
import sacrebleu

import babelbridge.bridges
from babelbridge.errors import InputError
from babelbridge.evaluate import (
    Cell,
    Direction,
    TestSet,
    build_directions_report,
    load_direction_testsets,
    load_testsets,
    parse_directions,
    score_directions,
    write_directions_results,
)
from babelbridge.evaluate import langid
from babelbridge.evaluate.any_to_any import direction_classes
from babelbridge.evaluate.metrics import sacrebleu_metric
from babelbridge.evaluate.significance import paired_bootstrap, pooled_paired_bootstrap
from test_bible import make_db
from test_evaluate import FR, REFS, SRC_DE, write_flores

EN, DE, FRA, TR = "eng_Latn", "deu_Latn", "fra_Latn", "tur_Latn"
TEXT = {EN: REFS, DE: SRC_DE, FRA: FR}  # six parallel sentences in each language
D = Direction


def names(directions):
    return [d.name for d in directions]


# ---- directions -----------------------------------------------------------------------------------

def test_parse_directions_specs():
    langs = [EN, DE, FRA]
    assert names(parse_directions("all", langs)) == [
        "eng_Latn-deu_Latn", "eng_Latn-fra_Latn", "deu_Latn-eng_Latn", "deu_Latn-fra_Latn",
        "fra_Latn-eng_Latn", "fra_Latn-deu_Latn"]
    assert names(parse_directions("hub-centric", langs, [EN])) == [
        "deu_Latn-eng_Latn", "eng_Latn-deu_Latn", "fra_Latn-eng_Latn", "eng_Latn-fra_Latn"]
    # two hubs: the directions between them once each
    assert names(parse_directions("hub-centric", langs, [EN, DE])) == [
        "deu_Latn-eng_Latn", "eng_Latn-deu_Latn", "fra_Latn-eng_Latn", "eng_Latn-fra_Latn",
        "fra_Latn-deu_Latn", "deu_Latn-fra_Latn"]
    assert names(parse_directions("into-hubs", langs, [EN])) == ["deu_Latn-eng_Latn", "fra_Latn-eng_Latn"]
    assert names(parse_directions("out-of-hubs", langs, [EN])) == ["eng_Latn-deu_Latn", "eng_Latn-fra_Latn"]
    # an explicit list: any alias, in the order given, --langs optional
    assert parse_directions(" de-en, eng_Latn-French ") == [D(DE, EN), D(EN, FRA)]
    assert parse_directions("deu_Latn-eng_Latn", langs, [EN]) == [D(DE, EN)]
    assert D(DE, EN).name == "deu_Latn-eng_Latn" and D.of("deu_Latn-eng_Latn") == D(DE, EN)


ACCEPTED = "all, hub-centric, into-hubs, out-of-hubs"


@pytest.mark.parametrize("text, langs, hubs, message", [
    ("hub-centric", [EN, DE], [], "--directions hub-centric needs --hubs (e.g. --hubs eng_Latn"),
    ("into-hubs", [EN, DE], [], "--directions into-hubs needs --hubs"),
    ("all", [EN], [], "--directions all needs --langs with at least two languages"),
    ("hub-centric", [EN, DE], [FRA], "--hubs fra_Latn not among --langs (eng_Latn, deu_Latn); a hub is one of "
                                     "the evaluated languages"),
    ("all", [EN, DE], [EN, EN], "--hubs names eng_Latn more than once"),
    ("deu_Latn", [], [], "--directions 'deu_Latn': 'deu_Latn' is not SRC-TGT; accepted: " + ACCEPTED),
    ("de-en-fr", [], [], "--directions 'de-en-fr': 'de-en-fr' is not SRC-TGT; accepted: "),
    ("de-en,,fr-en", [], [], "--directions 'de-en,,fr-en': expected " + ACCEPTED),
    ("", [], [], "--directions '': expected " + ACCEPTED),
    ("Al", [EN, DE], [], "--directions 'Al': 'Al' is not SRC-TGT; accepted: " + ACCEPTED),
    ("de-xx", [], [], "--directions de-xx: unknown language code 'xx'"),
    ("de-deu_Latn", [], [], "--directions de-deu_Latn: source and target are both deu_Latn"),
    ("de-en,deu_Latn-eng_Latn", [], [], "--directions names deu_Latn-eng_Latn more than once"),
    ("de-fr", [EN, DE], [], "--directions de-fr: fra_Latn not among --langs (eng_Latn, deu_Latn)"),
    ("de-fr", [], [EN], "--hubs eng_Latn in no direction of --directions 'de-fr'"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_parse_directions_errors(text, langs, hubs, message):
    with pytest.raises(InputError) as e:
        parse_directions(text, langs, hubs)
    assert str(e.value).startswith(message), str(e.value)
    assert "\n" not in str(e.value)


def test_direction_classes():
    ds = parse_directions("all", [EN, DE, FRA])
    classes = direction_classes(ds)
    assert {c: names(v) for c, v in classes.items()} == {
        "X->En": ["deu_Latn-eng_Latn", "fra_Latn-eng_Latn"],
        "En->X": ["eng_Latn-deu_Latn", "eng_Latn-fra_Latn"],
        "X->Y": ["deu_Latn-fra_Latn", "fra_Latn-deu_Latn"],
        "All": names(ds)}
    classes = direction_classes(ds, [DE])  # a hub that is not English
    assert names(classes["into hubs"]) == ["eng_Latn-deu_Latn", "fra_Latn-deu_Latn"]
    assert names(classes["out of hubs"]) == ["deu_Latn-eng_Latn", "deu_Latn-fra_Latn"]
    assert names(classes["no hub"]) == ["eng_Latn-fra_Latn", "fra_Latn-eng_Latn"]
    assert list(classes) == ["X->En", "En->X", "X->Y", "into hubs", "out of hubs", "no hub", "All"]
    assert list(direction_classes([D(DE, FRA)])) == ["X->Y", "All"]  # empty classes are left out


# ---- the report from given scores -------------------------------------------------------------------

def fake_report(**kwargs):
    """Two systems over a hub-centric set around English plus one X->Y direction (hand-made numbers)."""
    c = {  # direction -> (a's Cell, b's Cell)
        "deu_Latn-eng_Latn": (Cell(50.0, 10.0), Cell(40.0, 10.0, 0.01)),
        "fra_Latn-eng_Latn": (Cell(60.0, 20.0), Cell(30.0, 12.0, 0.20)),
        "eng_Latn-deu_Latn": (Cell(40.0, 8.0), Cell(20.0, 8.0, 0.001)),
        "eng_Latn-fra_Latn": (Cell(30.0, 6.0), Cell(36.0, 6.0, 0.04)),
        "deu_Latn-fra_Latn": (Cell(20.0, 5.0), Cell(10.0, 4.0, 0.5)),
    }
    scores = {"a": {d: {"chrf++": a} for d, (a, _) in c.items()},
              "b": {d: {"chrf++": b} for d, (_, b) in c.items()}}
    off = {"a": {d: 0.0 for d in c} | {"eng_Latn-fra_Latn": 0.5},
           "b": {d: 0.25 for d in c} | {"deu_Latn-fra_Latn": None}}
    refs = {d: 0.0 for d in c} | {"deu_Latn-fra_Latn": None}
    return build_directions_report(scores, languages=[EN, DE, FRA], hubs=[EN], baseline="a", off_target=off,
                                   reference_off_target=refs, identifier="py3langid 0.4.0", **kwargs)


def test_matrix_layout_and_cells():
    r = fake_report()
    assert r.sources == [EN, DE, FRA] and r.targets == [EN, DE, FRA]
    assert r.matrix("a", "chrf++") == textwrap.dedent("""\
        | source \\ target | eng_Latn | deu_Latn | fra_Latn |
        |---|---:|---:|---:|
        | eng_Latn | - | 40.00 (+32.00) | 30.00 (+24.00) |
        | deu_Latn | 50.00 (+40.00) | - | 20.00 (+15.00) |
        | fra_Latn | 60.00 (+40.00) | · | - |""")
    assert r.matrix("b", "chrf++", "floor").splitlines()[2:] == [
        "| eng_Latn | - | 8.00 | 6.00 |", "| deu_Latn | 10.00 | - | 4.00 |", "| fra_Latn | 12.00 | · | - |"]
    assert r.matrix("b", "chrf++", "gap").splitlines()[3] == "| deu_Latn | 30.00 | - | 6.00 |"
    assert r.matrix("b", "chrf++", "p_value").splitlines()[2] == "| eng_Latn | - | 0.0010* | 0.0400* |"
    assert r.off_target_matrix("b").splitlines()[3] == "| deu_Latn | 25.0% | - | n/a |"
    assert r.off_target_matrix(None).splitlines()[4] == "| fra_Latn | 0.0% | · | - |"
    # only the languages that are sources / targets make rows / columns
    into = build_directions_report({"a": {"deu_Latn-eng_Latn": {"bleu": 1.0}, "fra_Latn-eng_Latn": {"bleu": 2.0}}})
    assert into.matrix("a", "bleu") == textwrap.dedent("""\
        | source \\ target | eng_Latn |
        |---|---:|
        | deu_Latn | 1.00 |
        | fra_Latn | 2.00 |""")


def test_class_averages_floors_and_gaps_by_hand():
    r = fake_report(ratios=[("b", "a")])
    row = "| {} | {} | {} | {} | {} | {} | {} | {} |".format
    assert list(r.classes) == ["X->En", "En->X", "X->Y", "into hubs", "out of hubs", "no hub", "All"]
    avg = lambda s, cls, what="score": r.average(s, "chrf++", cls, what)  # noqa: E731
    assert avg("a", "X->En") == (50 + 60) / 2
    assert avg("a", "En->X") == (40 + 30) / 2
    assert avg("a", "X->Y") == 20.0 == avg("a", "no hub")
    assert avg("a", "into hubs") == avg("a", "X->En") and avg("a", "out of hubs") == avg("a", "En->X")
    assert avg("a", "All") == (50 + 60 + 40 + 30 + 20) / 5
    assert avg("b", "X->En", "floor") == (10 + 12) / 2
    assert avg("b", "X->En", "gap") == ((40 - 10) + (30 - 12)) / 2
    assert avg("b", "All", "gap") == pytest.approx((30 + 18 + 12 + 30 + 6) / 5)
    assert r.cell("b", D(FRA, EN), "chrf++").gap == 18.0 and r.cell("a", D(FRA, DE), "chrf++") is None
    assert r.ratio("b", "a", "chrf++", "En->X") == (20 + 36) / (40 + 30)
    # off-target: a mean over the directions the identifier covers; None where it covers none
    assert r.off_target_average("a", "En->X") == 0.25
    assert r.off_target_average("b", "All") == 0.25  # deu->fra is n/a, left out
    assert r.off_target_average("b", "X->Y") is None and r.off_target_average(None, "X->Y") is None
    assert r.class_table("chrf++") == textwrap.dedent("""\
        | system | X->En (2) | En->X (2) | X->Y (1) | into hubs (2) | out of hubs (2) | no hub (1) | All (5) |
        |---|---:|---:|---:|---:|---:|---:|---:|
        """) + "\n".join([
        row("a", "55.00 (+40.00)", "35.00 (+28.00)", "20.00 (+15.00)", "55.00 (+40.00)", "35.00 (+28.00)",
            "20.00 (+15.00)", "40.00 (+30.20)"),
        row("b", "35.00 (+24.00)", "28.00 (+21.00)", "10.00 (+6.00)", "35.00 (+24.00)", "28.00 (+21.00)",
            "10.00 (+6.00)", "27.20 (+19.20)")])
    assert r.off_target_class_table().splitlines()[2:] == [
        "| references | 0.0% | 0.0% | n/a | 0.0% | 0.0% | n/a | 0.0% |",
        "| a | 0.0% | 25.0% | 0.0% | 0.0% | 25.0% | 0.0% | 10.0% |",
        "| b | 25.0% | 25.0% | n/a | 25.0% | 25.0% | n/a | 25.0% |"]
    md = r.markdown()
    assert "5 directions over 3 languages; hubs: eng_Latn." in md
    assert "## Off-target rate (py3langid 0.4.0)" in md and "### Off-target: references" in md
    assert "| b / a | chrF++ | 63.6% | 80.0% | 50.0% |" in md
    assert "p vs a (paired bootstrap per direction; p < 0.05 marked *):" in md  # b's p-values; a is the baseline
    rows = list(csv.DictReader(r.csv_text().splitlines()))
    assert rows[0] == {"system": "a", "metric": "chrf++", "direction": "deu_Latn-eng_Latn", "src_lang": DE,
                       "tgt_lang": EN, "score": "50.0", "floor": "10.0", "gap": "40.0", "p_value": "",
                       "off_target": "0.0"}
    assert {"system": "b", "metric": "chrf++", "direction": "avg:X->Y", "src_lang": "", "tgt_lang": "",
            "score": "10.0", "floor": "4.0", "gap": "6.0", "p_value": "", "off_target": ""} in rows


def test_report_rejects_what_it_cannot_show():
    with pytest.raises(InputError, match=r"system 'c' has no scores; systems: a"):
        build_directions_report({"a": {"deu_Latn-eng_Latn": {"bleu": 1.0}}}, baseline="c")
    with pytest.raises(InputError, match=r"hub\(s\) fra_Latn in no direction"):
        build_directions_report({"a": {"deu_Latn-eng_Latn": {"bleu": 1.0}}}, hubs=[FRA])
    with pytest.raises(InputError, match="directions name eng_Latn, not among the languages"):
        build_directions_report({"a": {"deu_Latn-eng_Latn": {"bleu": 1.0}}}, languages=[DE])


# ---- scoring given hypotheses ------------------------------------------------------------------------

def parallel_sets(directions):
    return [TestSet(s, t, TEXT[s], TEXT[t], "memory") for s, t in directions]


def test_score_directions_on_fake_hypotheses():
    ds = parse_directions("all", [EN, DE, FRA])
    sets = parallel_sets(ds)
    shuffled = lambda xs: xs[1:] + xs[:1]  # noqa: E731
    hyps = {"echo": {d.name: list(TEXT[d.src]) for d in ds},  # copies the source: off-target everywhere
            "good": {d.name: list(TEXT[d.tgt]) for d in ds},
            "mixed": {d.name: list(TEXT[d.tgt][:3]) + shuffled(TEXT[d.tgt])[3:] for d in ds}}
    ev = score_directions(sets, hyps, ["chrf++", "bleu"], hubs=[EN], baseline="echo", bootstrap_samples=200)
    r = ev.report
    assert [d.name for d in r.directions] == names(ds) and r.languages == [EN, DE, FRA]
    chrf = sacrebleu_metric("chrf++")
    for d in ds:  # score and floor per cell: the hypotheses against the references and the deranged ones
        refs, hyp = TEXT[d.tgt], hyps["mixed"][d.name]
        cell = r.cell("mixed", d, "chrf++")
        assert cell.score == sacrebleu.corpus_chrf(hyp, [refs], word_order=2).score
        assert cell.floor == sacrebleu.corpus_chrf(hyp, [refs[3:] + refs[:3]], word_order=2).score
        assert cell.gap == cell.score - cell.floor
        assert cell.p_value == paired_bootstrap({"echo": hyps["echo"][d.name], "mixed": hyp}, refs, chrf,
                                                baseline="echo", n_samples=200)["mixed"]
        assert r.cell("good", d, "bleu").score == pytest.approx(100.0)
        assert r.off_target_rate("echo", d) == 1.0 and r.off_target_rate("good", d) == 0.0
        assert r.off_target_rate(None, d) == 0.0
    assert r.average("mixed", "chrf++", "X->Y") == pytest.approx(
        (r.cell("mixed", D(DE, FRA), "chrf++").score + r.cell("mixed", D(FRA, DE), "chrf++").score) / 2)
    # pooled per class: the bootstrap on the class's directions concatenated
    segments = ev.segments()
    pooled = r.pooled["X->Y"]["chrf++"]["good"]
    assert pooled == pooled_paired_bootstrap(segments, ["deu_Latn-fra_Latn", "fra_Latn-deu_Latn"], chrf,
                                             baseline="echo", system="good", n_samples=200)
    assert pooled["segments"] == 12 and pooled["p"] < 0.05
    assert set(r.pooled) == {"X->En", "En->X", "X->Y", "into hubs", "out of hubs", "no hub", "All"}
    assert set(r.pooled["All"]["bleu"]) == {"good", "mixed"}
    assert segments["deu_Latn-fra_Latn"]["identified"]["echo"] == ["deu"] * 6
    assert segments["deu_Latn-fra_Latn"]["identified"]["references"] == ["fra"] * 6
    md = r.markdown()
    assert "| X->Y | good | 2 | 12 | " in md and "Test set: memory; 6 directions, 6 segments each." in md
    # test sets are keyed by direction whatever their name; hypotheses must cover every direction
    with pytest.raises(InputError, match="system 'good' has no hypotheses for fra_Latn-deu_Latn"):
        score_directions(sets, {"good": {d.name: TEXT[d.tgt] for d in ds[:-1]}}, ["bleu"])
    with pytest.raises(InputError, match="more than one test set for direction"):
        score_directions(sets + sets[:1], hyps, ["bleu"])


# ---- the language identifier ---------------------------------------------------------------------------

def test_off_target_rate_on_real_sentences():
    assert langid.identify(SRC_DE[:2] + FR[:2] + REFS[:2]) == ["deu", "deu", "fra", "fra", "eng", "eng"]
    assert langid.identify(["太初有道。", "はじめに言があった。", "태초에 말씀이 계시니라", "12:34", ""]) == [
        "zho", "jpn", "kor", None, None]
    assert langid.off_target_rate(SRC_DE, "fra_Latn") == 1.0  # German where French was asked
    assert langid.off_target_rate(FR, "fra_Latn") == 0.0
    assert langid.off_target_rate(FR[:3] + SRC_DE[:1], "fr") == 0.25  # any registry alias
    assert langid.off_target_rate(["1:1", "Le chat dort."], "fra_Latn") == 0.5  # nothing to identify: off
    # Indonesian and Malay count as one language (the model cannot tell them apart)
    assert langid.off_target_rate(["Pada mulanya adalah Firman; Firman itu bersama-sama dengan Allah."],
                                  "zsm_Latn") == 0.0
    # a language the identifier does not know: n/a, never a guess
    assert not langid.supported("ceb_Latn") and langid.off_target_rate(["Sa sinugdan mao ang Pulong."], "ceb_Latn") is None
    assert langid.supported("swh_Latn") and langid.supported("zho_Hant")
    assert langid.off_target_rate([], "fra_Latn") is None
    assert langid.identifier_version().startswith("py3langid 0.")


def test_every_bible_language_is_identifiable():
    from babelbridge.data.bible import VERSIONS

    assert [code for code in VERSIONS if not langid.supported(code)] == []


# ---- test sets per direction -----------------------------------------------------------------------------

@pytest.fixture
def no_fetch(monkeypatch):
    import babelbridge.assets

    def fail(name, **kwargs):
        raise AssertionError(f"fetch_asset({name!r}) called")

    monkeypatch.setattr(babelbridge.assets, "fetch_asset", fail)


@pytest.fixture
def bible(tmp_path):
    return make_db(tmp_path / "bible.db")


def test_direction_testsets_flores_bible_tsv_jsonl(tmp_path, bible, no_fetch):
    root = write_flores(tmp_path / "flores", "devtest", {DE: SRC_DE, FRA: FR, EN: REFS})
    sets = load_direction_testsets(f"flores:{root}", [D(DE, FRA), D(FRA, EN)], limit=4)
    assert [(s.name, s.src_lang, s.tgt_lang, s.sources, s.references) for s in sets] == [
        ("deu_Latn-fra_Latn", DE, FRA, tuple(SRC_DE[:4]), tuple(FR[:4])),
        ("fra_Latn-eng_Latn", FRA, EN, tuple(FR[:4]), tuple(REFS[:4]))]
    # a direction into English is the same test set (and cache entry) as the one-target evaluation's
    (legacy,) = load_testsets(f"flores:{root}", [FRA], EN, limit=4)
    assert sets[1].identity == legacy.identity

    sets = load_direction_testsets(f"bible:{bible}:test", [D(TR, DE), D(EN, TR)])
    assert [(s.name, s.sources, s.references) for s in sets] == [
        ("tur_Latn-deu_Latn", ("Başlangıçta Söz vardı.", "İsa ağladı."), ("Im Anfang war das Wort.", "Jesus vergoß Tränen.")),
        ("eng_Latn-tur_Latn", ("In the beginning was the Word.", "Jesus wept."), ("Başlangıçta Söz vardı.", "İsa ağladı."))]
    with pytest.raises(InputError) as e:
        load_direction_testsets(f"bible:{bible}:test", [D(DE, "zul_Latn")])
    assert str(e.value).startswith(f"test set bible:{bible}:test: the Bible corpus has no zul_Latn (Zulu); "
                                   f"available: eng_Latn, deu_Latn")

    for s, t in ((DE, EN), (EN, FRA)):
        (tmp_path / f"t.{s}-{t}.tsv").write_text("".join(f"{a}\t{b}\n" for a, b in zip(TEXT[s], TEXT[t])))
    sets = load_direction_testsets(f"tsv:{tmp_path}/t.{{src}}-{{tgt}}.tsv", [D(DE, EN), D(EN, FRA)], limit=2)
    assert [(s.name, s.references, s.origin) for s in sets] == [
        ("deu_Latn-eng_Latn", tuple(REFS[:2]), f"tsv:{tmp_path}/t.deu_Latn-eng_Latn.tsv"),
        ("eng_Latn-fra_Latn", tuple(FR[:2]), f"tsv:{tmp_path}/t.eng_Latn-fra_Latn.tsv")]
    with pytest.raises(InputError, match=r"is one file, so one direction, but --directions names 2; put \{src\} "):
        load_direction_testsets(f"tsv:{tmp_path}/t.deu_Latn-eng_Latn.tsv", [D(DE, EN), D(EN, FRA)])
    with pytest.raises(InputError, match=r"put \{src\} and \{tgt\} in it .*not \{lang\}"):
        load_direction_testsets(f"tsv:{tmp_path}/t.{{lang}}.tsv", [D(DE, EN)])

    lines = [{"src": a, "tgt": b, "src_lang": "de", "tgt_lang": "fr"} for a, b in zip(SRC_DE, FR)]
    lines += [{"src": a, "tgt": b, "src_lang": "fra_Latn"} for a, b in zip(FR, REFS)]  # no tgt_lang: English
    path = tmp_path / "multi.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    sets = load_direction_testsets(f"jsonl:{path}", [D(FRA, EN), D(DE, FRA)], limit=3)
    assert [(s.name, s.sources) for s in sets] == [("fra_Latn-eng_Latn", tuple(FR[:3])),
                                                   ("deu_Latn-fra_Latn", tuple(SRC_DE[:3]))]
    with pytest.raises(InputError) as e:
        load_direction_testsets(f"jsonl:{path}", [D(EN, DE)])
    assert str(e.value) == (f"test set jsonl:{path} has no eng_Latn-deu_Latn pairs; it has: deu_Latn-fra_Latn, "
                            f"fra_Latn-eng_Latn")


def test_write_directions_results(tmp_path):
    r = fake_report()
    written = write_directions_results(tmp_path, r, segments={"x": {"sources": ["a"]}}, run={"argv": ["x"]})
    assert sorted(written) == ["matrix_chrfpp.csv", "matrix_off_target.csv", "results.csv", "results.json",
                               "results.md", "run.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written)  # no temporary files left
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["kind"] == "directions" and data["hubs"] == [EN] and data["segments"] == {"x": {"sources": ["a"]}}
    assert data["scores"]["b"]["fra_Latn-eng_Latn"]["chrf++"] == {"score": 30.0, "floor": 12.0, "gap": 18.0,
                                                                  "p_value": 0.2}
    assert data["averages"]["a"]["chrf++"]["X->En"] == {"score": 55.0, "floor": 15.0, "gap": 40.0}
    assert data["off_target_averages"]["references"]["X->Y"] is None
    assert data["classes"]["X->Y"] == ["deu_Latn-fra_Latn"]
    assert {"name": "deu_Latn-eng_Latn", "src_lang": DE, "tgt_lang": EN, "classes": ["X->En", "into hubs", "All"]} \
        in data["directions"]
    assert (tmp_path / "matrix_chrfpp.csv").read_text().splitlines()[:4] == [
        "system,source,eng_Latn,deu_Latn,fra_Latn", "a,eng_Latn,,40.0,30.0", "a,deu_Latn,50.0,,20.0",
        "a,fra_Latn,60.0,,"]
    assert (tmp_path / "matrix_off_target.csv").read_text().splitlines()[-2:] == [
        "references,deu_Latn,0.0,,", "references,fra_Latn,0.0,,"]


# ---- babelbridge eval --directions ----------------------------------------------------------------------

MNT = "3"  # --max-new-tokens: the tiny random decoder rarely stops by itself


@pytest.fixture(scope="module")
def prompted(tmp_path_factory):
    from babelbridge.bridges import save_prompted_baseline

    root = tmp_path_factory.mktemp("prompted")
    return (save_prompted_baseline("tiny-random:qwen3", root / "llm"),
            save_prompted_baseline("tiny-random:qwen3", root / "llm2", postprocess="strip"))


@pytest.fixture
def cli(run_cli):
    return partial(run_cli, "eval")


def test_eval_directions_end_to_end_then_from_the_cache(cli, prompted, bible, no_fetch, tmp_path, monkeypatch):
    llm, llm2 = prompted
    out = tmp_path / "eval"
    args = ["--bridge", f"zs={llm}", "--bridge", f"strip={llm2}", "--baseline", "zs", "--testset", f"bible:{bible}:test",
            "--langs", "en,de,tr", "--directions", "all", "--hubs", "eng_Latn", "--out", out,
            "--max-new-tokens", MNT, "--quiet"]
    code, stdout, err = cli(*args)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["cache", "matrix_bleu.csv", "matrix_chrfpp.csv",
                                                     "matrix_off_target.csv", "results.csv", "results.json",
                                                     "results.md", "run.json"]
    assert stdout.startswith("chrF++ by class\n| system | X->En (2) | En->X (2) | X->Y (2) | into hubs (2) | "
                             "out of hubs (2) | no hub (2) | All (6) |\n")
    assert "Off-target rate by class\n| system |" in stdout and "| references | 0.0% |" in stdout
    data = json.loads((out / "results.json").read_text())
    assert [d["name"] for d in data["directions"]] == names(parse_directions("all", [EN, DE, TR]))
    seg = data["segments"]["tur_Latn-deu_Latn"]
    assert seg["sources"] == ["Başlangıçta Söz vardı.", "İsa ağladı."]
    assert seg["references"] == ["Im Anfang war das Wort.", "Jesus vergoß Tränen."]
    for system in ("zs", "strip"):
        for d, s in data["segments"].items():
            hyps = s["hypotheses"][system]
            assert len(hyps) == 2
            assert data["scores"][system][d]["chrf++"]["score"] == \
                sacrebleu.corpus_chrf(hyps, [s["references"]], word_order=2).score
            assert data["scores"][system][d]["chrf++"]["floor"] == \
                sacrebleu.corpus_chrf(hyps, [s["references"][1:] + s["references"][:1]], word_order=2).score
            assert data["off_target"][system][d] == langid.off_target_rate(hyps, s["tgt_lang"])
    assert data["scores"]["strip"]["deu_Latn-eng_Latn"]["bleu"]["p_value"] is not None
    assert set(data["pooled"]["X->Y"]["chrf++"]) == {"strip"}
    md = (out / "results.md").read_text()
    assert "## chrF++" in md and "### chrF++: zs" in md and "| tur_Latn | " in md and "## Off-target rate (py3langid" in md
    run = json.loads((out / "run.json").read_text())
    assert run["directions"][0] == "eng_Latn-deu_Latn" and run["hubs"] == [EN]
    assert run["language_identifier"].startswith("py3langid 0.")
    assert all(not t["cached"] for by_dir in run["translation"].values() for t in by_dir.values())

    # again: every translation from the cache, no model loaded
    monkeypatch.setattr(babelbridge.bridges, "load_bridge", lambda *a, **k: pytest.fail("a model was loaded"))
    code, _, err = cli(*[a for a in args if a != "--quiet"])
    assert code == 0, err
    assert "zs tur_Latn-deu_Latn: 2 translations from the cache" in err
    again = json.loads((out / "results.json").read_text())
    assert again["segments"] == data["segments"] and again["scores"] == data["scores"]
    run = json.loads((out / "run.json").read_text())
    assert all(t["cached"] for by_dir in run["translation"].values() for t in by_dir.values())


@pytest.fixture
def no_loading(monkeypatch):
    monkeypatch.setattr(babelbridge.bridges, "load_bridge", lambda *a, **k: pytest.fail("a model was loaded"))


@pytest.mark.parametrize("extra, message", [
    (["--directions", "all", "--tgt-lang", "fr"], "--tgt-lang is not used with --directions"),
    (["--hubs", "en"], "--hubs is only used with --directions"),
    (["--directions", "hub-centric", "--hubs", "fr"], "--hubs fra_Latn not among --langs (eng_Latn, deu_Latn)"),
    (["--directions", "hub-centric"], "--directions hub-centric needs --hubs"),
    (["--directions", "de>en"], "--directions 'de>en': 'de>en' is not SRC-TGT; accepted: all, hub-centric"),
    (["--directions", "de-zu"], "--directions de-zu: zul_Latn not among --langs"),
    (["--directions", "all", "--groups", "Low=deu_Latn"], "--groups is not used with --directions"),
    (["--directions", "all", "--langs", "en,de,zu"], "test set bible:"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_eval_directions_checks_before_loading(cli, prompted, bible, no_fetch, no_loading, tmp_path, extra, message):
    llm, _ = prompted
    langs = [] if "--langs" in extra else ["--langs", "en,de"]
    code, stdout, err = cli("--bridge", llm, "--testset", f"bible:{bible}:test", "--out", tmp_path / "o", *langs, *extra)
    assert code == 2 and stdout == ""
    assert err.startswith(f"babelbridge eval: error: {message}"), err
    assert len(err.strip().splitlines()) == 1


def test_eval_directions_validation_imports_no_torch(tmp_path):
    (tmp_path / "t.deu_Latn-eng_Latn.tsv").write_text("Hallo\tHello\nDanke\tThanks\n")
    code = r"""
import sys
from babelbridge.cli import main as m
rc = m.main(["eval", "--bridge", "pocket-hca-deu-eng", "--testset", "tsv:t.{src}-{tgt}.tsv", "--langs", "de,en",
             "--directions", "de-en,en-de", "--out", "out"])
assert "torch" not in sys.modules and "transformers" not in sys.modules, "heavy import before validation"
sys.exit(rc)
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("babelbridge eval: error: ") and "t.eng_Latn-deu_Latn.tsv" in proc.stderr, proc.stderr


def test_pooled_bootstrap_of_a_large_class_resamples_an_even_subset():
    from babelbridge.evaluate.significance import stratified_subset

    assert stratified_subset([6, 6], 4) == [[0, 3], [0, 3]]
    assert stratified_subset([9, 3], 4) == [[0, 3, 6], [0]]
    assert stratified_subset([100, 1], 10) == [[j * 100 // 9 for j in range(9)], [0]]  # every set keeps one
    worse = ["cat mat", "rain", "home", "dog", "book", "train"]
    segments = {"a": {"references": REFS, "hypotheses": {"base": REFS, "worse": worse}},
                "b": {"references": REFS, "hypotheses": {"base": REFS, "worse": list(REFS)}}}
    chrf = sacrebleu_metric("chrf++")
    whole = pooled_paired_bootstrap(segments, ["a", "b"], chrf, baseline="base", system="worse")
    part = pooled_paired_bootstrap(segments, ["a", "b"], chrf, baseline="base", system="worse", max_segments=4)
    assert whole["bootstrap_segments"] == whole["segments"] == part["segments"] == 12
    assert part["bootstrap_segments"] == 4
    assert (part["score"], part["baseline_score"]) == (whole["score"], whole["baseline_score"])  # the whole pool
    keep = [0, 3]  # of each direction
    assert part["p"] == paired_bootstrap({"base": [REFS[i] for i in keep] * 2,
                                          "worse": [worse[i] for i in keep] + [REFS[i] for i in keep]},
                                         [REFS[i] for i in keep] * 2, chrf, baseline="base")["worse"]
    report = build_directions_report({"a": {"deu_Latn-eng_Latn": {"chrf++": 1.0}}, "b": {"deu_Latn-eng_Latn": {"chrf++": 2.0}}},
                                     baseline="a", pooled={"All": {"chrf++": {"b": part}}})
    assert "| All | b | 2 | 4 of 12 | " in report.markdown()
