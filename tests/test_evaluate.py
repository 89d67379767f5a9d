"""Evaluation: sacrebleu metrics (spBLEU from a local model), test sets, floor, significance,
cache, COMET through a separate Python, the report builder and `babelbridge eval` end to end."""

import csv
import json
import os
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sacrebleu
import torch
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import PairedTest

import babelbridge.bridges
from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import build_bridge, load_bridge, save_bridge
from babelbridge.data import CorpusSpec, read_corpus
from babelbridge.errors import BabelBridgeError, InputError
from babelbridge.evaluate import (
    Cell,
    CometError,
    CometScorer,
    System,
    TestSet,
    TranslationCache,
    build_report,
    deranged,
    evaluate,
    load_testsets,
    parse_metrics,
    parse_testset,
    score_all,
    translate_all,
    write_results,
)
from babelbridge.evaluate import testsets as testsets_module  # its testsets_from_corpus is no test
from babelbridge.evaluate.cache import checkpoint_identity
from babelbridge.evaluate.metrics import corpus_score, sacrebleu_metric, spbleu_metric
from babelbridge.evaluate.significance import paired_bootstrap, pooled_paired_bootstrap

REFS = ["The cat sat on the mat.", "It is raining again today.", "We will go home after dinner.",
        "A dog barks at the postman.", "She reads a book every night.", "The train leaves at nine."]
HYPS = ["The cat sat on a mat.", "Today it rains again.", "We go home after the dinner.",
        "The dog barks at a postman.", "She reads books at night.", "A train leaves at nine o'clock."]
SRC_DE = ["Die Katze saß auf der Matte.", "Es regnet heute schon wieder.", "Wir gehen nach dem Essen heim.",
          "Ein Hund bellt den Briefträger an.", "Sie liest jeden Abend ein Buch.", "Der Zug fährt um neun."]


def msg(excinfo) -> str:
    return str(excinfo.value)


# ---- metrics --------------------------------------------------------------------------------------

def test_chrf_pp_and_bleu_equal_sacrebleus_own():
    chrf, bleu = sacrebleu_metric("chrf++"), sacrebleu_metric("bleu")
    assert corpus_score(chrf, HYPS, REFS) == sacrebleu.corpus_chrf(HYPS, [REFS], word_order=2).score
    assert corpus_score(bleu, HYPS, REFS) == sacrebleu.corpus_bleu(HYPS, [REFS]).score
    # chrF++ is chrF with word bigrams: a different number from plain chrF on the same data
    assert corpus_score(chrf, HYPS, REFS) != pytest.approx(sacrebleu.corpus_chrf(HYPS, [REFS]).score)
    assert "nw:2" in chrf.get_signature().format()
    with pytest.raises(InputError) as e:
        corpus_score(bleu, HYPS, REFS[:-1])
    assert msg(e) == "6 hypotheses but 5 references"


def test_parse_metrics():
    assert parse_metrics("chrF++, BLEU,chrf++") == ["chrf++", "bleu"]
    with pytest.raises(InputError) as e:
        parse_metrics("chrf++,meteor")
    assert msg(e) == "--metrics 'chrf++,meteor': unknown metric(s) meteor; accepted: chrf++, bleu, spbleu, comet (comma-separated)"


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory):
    import sentencepiece

    prefix = tmp_path_factory.mktemp("spm") / "tiny"
    sentencepiece.SentencePieceTrainer.train(sentence_iterator=iter((REFS + HYPS + SRC_DE) * 20),
                                             model_prefix=str(prefix), vocab_size=120, hard_vocab_limit=False,
                                             model_type="unigram", minloglevel=2)
    return prefix.with_suffix(".model")


def test_spbleu_uses_the_given_model_and_never_downloads(spm_model, monkeypatch):
    import sentencepiece
    from sacrebleu.tokenizers import tokenizer_spm

    def no_download(*args, **kwargs):
        pytest.fail("sacrebleu tried to download the flores200 model")

    monkeypatch.setattr(tokenizer_spm, "download_file", no_download)
    saved_dir = tokenizer_spm.SACREBLEU_DIR
    metric = spbleu_metric(spm_model)
    assert tokenizer_spm.SACREBLEU_DIR == saved_dir  # sacrebleu's model directory is put back
    # spBLEU = BLEU over the sentencepiece pieces of our model, joined by spaces
    sp = sentencepiece.SentencePieceProcessor(model_file=str(spm_model))
    pieces = lambda xs: [" ".join(sp.encode(x, out_type=str)) for x in xs]  # noqa: E731
    expected = BLEU(tokenize="none").corpus_score(pieces(HYPS), [pieces(REFS)]).score
    assert corpus_score(metric, HYPS, REFS) == pytest.approx(expected, abs=1e-9)
    assert corpus_score(metric, HYPS, REFS) != pytest.approx(corpus_score(sacrebleu_metric("bleu"), HYPS, REFS))
    assert "tok:flores200" in metric.get_signature().format()


def test_spbleu_errors(tmp_path):
    with pytest.raises(InputError) as e:
        spbleu_metric(None)
    assert msg(e).startswith("spbleu needs --spm PATH, the FLORES-200 sentencepiece model")
    with pytest.raises(InputError) as e:
        spbleu_metric(tmp_path / "nope.model")
    assert msg(e).startswith(f"--spm {tmp_path / 'nope.model'}: no such file")
    bad = tmp_path / "bad.model"
    bad.write_text("not a model")
    with pytest.raises(InputError) as e:
        spbleu_metric(bad)
    assert msg(e).startswith(f"--spm {bad} is not a sentencepiece model (")


# ---- floor and significance --------------------------------------------------------------------

def test_derangement_moves_every_segment():
    assert deranged(["a", "b", "c", "d"]) == ["c", "d", "a", "b"]
    assert deranged(["a", "b", "c"]) == ["b", "c", "a"]
    for n in range(2, 30):
        assert all(j != i for i, j in enumerate(deranged(list(range(n)))))
    with pytest.raises(ValueError, match="a derangement needs at least 2 items, got 1"):
        deranged(["only one"])


def test_floor_scores_outputs_against_other_segments_references():
    ts = TestSet("deu_Latn", "eng_Latn", SRC_DE, REFS, "memory")
    cells, _ = score_all([ts], {"perfect": {"deu_Latn": list(REFS)}, "mt": {"deu_Latn": HYPS}}, ["chrf++", "bleu"])
    perfect, mt = cells["perfect"]["deu_Latn"]["chrf++"], cells["mt"]["deu_Latn"]["chrf++"]
    assert perfect.score == 100.0
    shifted = REFS[3:] + REFS[:3]  # reference i + 6//2
    assert perfect.floor == sacrebleu.corpus_chrf(list(REFS), [shifted], word_order=2).score
    assert mt.floor == sacrebleu.corpus_chrf(HYPS, [shifted], word_order=2).score
    assert 0 < mt.floor < mt.score and mt.gap == mt.score - mt.floor
    assert cells["mt"]["deu_Latn"]["bleu"].floor == sacrebleu.corpus_bleu(HYPS, [shifted]).score
    assert mt.p_value is None  # no baseline


def test_paired_bootstrap_is_sacrebleus_and_no_difference_is_p_1():
    worse = ["cat mat", "rain", "home", "dog", "book", "train"]
    p = paired_bootstrap({"base": HYPS, "worse": worse, "same": list(HYPS)}, REFS, CHRF(word_order=2),
                         baseline="base")
    _, direct = PairedTest([("base", HYPS), ("worse", worse)], {"chrF": CHRF(word_order=2)}, [REFS],
                           test_type="bs", n_samples=1000)()
    assert p["worse"] == direct["chrF2++"][1].p_value < 0.05
    assert p["same"] == 1.0  # sacrebleu alone says 1/1001 for identical outputs


def test_pooled_bootstrap_is_the_bootstrap_on_the_concatenated_test_sets():
    worse = ["cat mat", "rain", "home", "dog", "book", "train"]
    segments = {"a": {"references": REFS[:4], "hypotheses": {"base": HYPS[:4], "worse": worse[:4]}},
                "b": {"references": REFS[4:], "hypotheses": {"base": HYPS[4:], "worse": worse[4:]}},
                "c": {"references": ["x"], "hypotheses": {"base": ["x"]}}}
    chrf = CHRF(word_order=2)
    r = pooled_paired_bootstrap(segments, ["a", "b"], chrf, baseline="base", system="worse")
    assert r["segments"] == 6 and r["testsets"] == ["a", "b"]
    assert r["baseline_score"] == chrf.corpus_score(HYPS, [REFS]).score
    assert r["score"] == chrf.corpus_score(worse, [REFS]).score
    assert r["difference"] == r["score"] - r["baseline_score"] < 0
    assert r["p"] == paired_bootstrap({"base": HYPS, "worse": worse}, REFS, chrf, baseline="base")["worse"] < 0.05
    with pytest.raises(KeyError, match="c: no hypotheses of worse; there: base"):
        pooled_paired_bootstrap(segments, ["a", "c"], chrf, baseline="base", system="worse")


# ---- test sets ------------------------------------------------------------------------------------

def write_flores(root: Path, split: str, lines: dict[str, list[str]], parquet=()) -> Path:
    (root / split).mkdir(parents=True, exist_ok=True)
    for code, sentences in lines.items():
        if code in parquet:
            pq.write_table(pa.table({"id": list(range(len(sentences))), "text": sentences}),
                           root / split / f"{code}.parquet")
        else:
            (root / split / f"{code}.{split}").write_text("".join(s + "\n" for s in sentences), encoding="utf-8")
    return root


FR = ["Le chat était assis sur le tapis.", "Il pleut encore aujourd'hui.", "Nous rentrons après le dîner.",
      "Un chien aboie après le facteur.", "Elle lit un livre chaque soir.", "Le train part à neuf heures."]


@pytest.mark.parametrize("parquet", [(), ("deu_Latn", "fra_Latn", "eng_Latn")], ids=["classic", "parquet"])
def test_flores_testsets_both_layouts(tmp_path, parquet):
    root = write_flores(tmp_path / "flores", "devtest", {"deu_Latn": SRC_DE, "fra_Latn": FR, "eng_Latn": REFS},
                        parquet=parquet)
    write_flores(root, "dev", {"deu_Latn": SRC_DE[:2], "eng_Latn": REFS[:2]}, parquet=parquet)
    sets = load_testsets(f"flores:{root}", ["deu_Latn", "fra_Latn"], "eng_Latn")
    assert [(s.name, s.src_lang, s.tgt_lang, s.sources, s.references) for s in sets] == [
        ("deu_Latn", "deu_Latn", "eng_Latn", tuple(SRC_DE), tuple(REFS)),
        ("fra_Latn", "fra_Latn", "eng_Latn", tuple(FR), tuple(REFS))]
    assert sets[0].origin == f"flores:{root}:devtest"
    (dev,) = load_testsets(f"flores:{root}:dev", ["deu_Latn"], "eng_Latn", limit=1)
    assert dev.sources == (SRC_DE[0],) and dev.references == (REFS[0],) and dev.identity["limit"] == 1
    with pytest.raises(BabelBridgeError) as e:
        load_testsets(f"flores:{root}", ["deu_Latn", "zul_Latn"], "eng_Latn")
    assert msg(e).startswith(f"FLORES-200: no zul_Latn in split 'devtest' of {root}")


def test_testset_grammar():
    spec = parse_testset("flores:/d/fl")
    assert (spec.kind, spec.path, spec.split, spec.origin) == ("flores", Path("/d/fl"), "devtest", "flores:/d/fl:devtest")
    spec = parse_testset("flores:/d/fl:dev")
    assert (spec.kind, spec.path, spec.split) == ("flores", Path("/d/fl"), "dev")
    assert (parse_testset("bible").split, parse_testset("bible").path) == ("test", None)
    assert (parse_testset("bible:dev").split, parse_testset("bible:dev").path) == ("dev", None)
    spec = parse_testset("bible:/data/bible.db:train")
    assert (spec.path, spec.split) == (Path("/data/bible.db"), "train")
    assert parse_testset("bible:/data/bible.db").split == "test"
    spec = parse_testset("tsv:data/dev.{lang}.tsv")
    assert (spec.kind, spec.path, spec.split) == ("tsv", Path("data/dev.{lang}.tsv"), None)
    accepted = ("accepted: flores:DIR[:dev|:devtest], bible[:PATH][:SPLIT] (SPLIT: train, dev or test), "
                "tsv:PATH (with {lang} in PATH for several languages), jsonl:PATH")
    with pytest.raises(InputError) as e:
        parse_testset("wmt:22")
    assert msg(e) == f"--testset 'wmt:22': unknown kind 'wmt'; {accepted}"
    with pytest.raises(InputError) as e:
        parse_testset("flores")
    assert msg(e) == f"--testset 'flores': flores needs a path; {accepted}"


def test_bible_testset_is_a_corpus_spec_with_its_split():
    spec = parse_testset("bible:/data/bible.db:dev")
    try:
        (cs,) = spec.corpus_specs(["fra_Latn"], "eng_Latn", limit=5)
    except BabelBridgeError as err:  # until data/bible.py registers the format
        assert "bible" in str(err)
        return
    assert (cs.format, cs.path, cs.split, cs.src_lang, cs.limit) == ("bible", Path("/data/bible.db"), "dev",
                                                                     "fra_Latn", 5)


def test_tsv_and_jsonl_testsets(tmp_path):
    for code, src in (("deu_Latn", SRC_DE), ("fra_Latn", FR)):
        (tmp_path / f"dev.{code}.tsv").write_text("".join(f"{s}\t{r}\n" for s, r in zip(src, REFS)), encoding="utf-8")
    sets = load_testsets(f"tsv:{tmp_path}/dev.{{lang}}.tsv", ["deu_Latn", "fra_Latn"], limit=2)
    assert [(s.name, s.sources, s.references) for s in sets] == [
        ("deu_Latn", tuple(SRC_DE[:2]), tuple(REFS[:2])), ("fra_Latn", tuple(FR[:2]), tuple(REFS[:2]))]
    with pytest.raises(InputError) as e:
        load_testsets(f"tsv:{tmp_path}/dev.deu_Latn.tsv", ["deu_Latn", "fra_Latn"])
    assert "is one file, so one language, but --langs names 2" in msg(e)
    with pytest.raises(InputError) as e:
        load_testsets(f"tsv:{tmp_path}/dev.deu_Latn.tsv", [])
    assert "needs --langs" in msg(e)

    lines = [{"src": s, "tgt": r, "src_lang": "de"} for s, r in zip(SRC_DE, REFS)]
    lines += [{"src": s, "tgt": r, "src_lang": "fra_Latn", "tgt_lang": "en"} for s, r in zip(FR, REFS)]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    sets = load_testsets(f"jsonl:{path}", [], limit=3)  # no --langs: every language of the file
    assert [(s.name, s.sources) for s in sets] == [("deu_Latn", tuple(SRC_DE[:3])), ("fra_Latn", tuple(FR[:3]))]
    (fr,) = load_testsets(f"jsonl:{path}", ["fra_Latn"])
    assert fr.sources == tuple(FR) and fr.references == tuple(REFS)
    with pytest.raises(InputError) as e:
        load_testsets(f"jsonl:{path}", ["zul_Latn"])
    assert msg(e) == f"test set jsonl:{path} has no pairs from zul_Latn; it has: deu_Latn, fra_Latn"
    with pytest.raises(InputError) as e:  # lines without tgt_lang are taken to be in --tgt-lang
        load_testsets(f"jsonl:{path}", [], tgt_lang="zul_Latn")
    assert msg(e) == (f"test set jsonl:{path} mixes target languages (eng_Latn, zul_Latn); an evaluation "
                      f"translates into one target language")
    with pytest.raises(InputError) as e:
        load_testsets(f"jsonl:{path}", ["fra_Latn"], tgt_lang="zul_Latn")
    assert msg(e) == f"--testset jsonl:{path} translates into eng_Latn, not --tgt-lang zul_Latn"


def test_any_corpus_spec_is_a_testset(tmp_path):
    (tmp_path / "a.tsv").write_text("".join(f"{s}\t{r}\n" for s, r in zip(SRC_DE, REFS)), encoding="utf-8")
    (ts,) = testsets_module.testsets_from_corpus(read_corpus(CorpusSpec("tsv", tmp_path / "a.tsv", src_lang="de")))
    assert (ts.name, ts.sources, ts.references) == ("deu_Latn", tuple(SRC_DE), tuple(REFS))


# ---- cache ----------------------------------------------------------------------------------------

class CountingBridge:
    """Bridge.translate's signature; answers from a table and counts its calls."""

    def __init__(self, table):
        self.table, self.calls = table, []

    def translate(self, texts, src_lang, tgt_lang="eng_Latn", *, batch_size=16, **generation):
        self.calls.append((list(texts), src_lang, generation))
        return [self.table.get(t, "?") for t in texts]


def counting_system(label, table, identity=None):
    bridge, loads = CountingBridge(table), []

    def load():
        loads.append(1)
        return bridge

    return System(label, identity or {"name": label}, load), bridge, loads


def test_cache_hit_translates_nothing_and_loads_nothing(tmp_path):
    ts = TestSet("deu_Latn", "eng_Latn", SRC_DE, REFS, "memory")
    cache = TranslationCache(tmp_path / "cache")
    table = dict(zip(SRC_DE, HYPS))
    system, bridge, loads = counting_system("mt", table)
    hyps, info = translate_all([system], [ts], generation={"max_new_tokens": 8}, batch_size=2, cache=cache,
                               log=lambda m: None)
    assert hyps == {"mt": {"deu_Latn": HYPS}} and info["mt"]["deu_Latn"]["cached"] is False
    assert len(bridge.calls) == 1 and loads == [1]  # 6 sentences < one chunk of 8 * 2
    assert bridge.calls[0][2] == {"num_beams": 1, "max_new_tokens": 8, "truncate": False}

    again, bridge2, loads2 = counting_system("other label, same bridge", table, identity={"name": "mt"})
    hyps2, info2 = translate_all([again], [ts], generation={"max_new_tokens": 8}, cache=cache, log=lambda m: None)
    assert hyps2["other label, same bridge"]["deu_Latn"] == HYPS and info2["other label, same bridge"]["deu_Latn"]["cached"]
    assert bridge2.calls == [] and loads2 == []  # not even loaded

    # another generation option, another test-set limit, another bridge: each a miss
    for gen, t, ident in (({"max_new_tokens": 9}, ts, {"name": "mt"}),
                          ({"max_new_tokens": 8}, TestSet("deu_Latn", "eng_Latn", SRC_DE[:3], REFS[:3], "memory", 3),
                           {"name": "mt"}),
                          ({"max_new_tokens": 8}, ts, {"name": "mt2"})):
        s, b, _ = counting_system("x", table, identity=ident)
        translate_all([s], [t], generation=gen, cache=cache, log=lambda m: None)
        assert len(b.calls) == 1
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(files) == 4 and all(f.startswith("translations-") and f.endswith(".json") for f in files)

    # a damaged file is a miss, and is rewritten
    path = cache.path("translations", {"bridge": {"name": "mt"}, "testset": ts.identity,
                                       "generation": {"num_beams": 1, "max_new_tokens": 8, "truncate": False}})
    path.write_text("{broken", encoding="utf-8")
    s, b, _ = counting_system("x", table, identity={"name": "mt"})
    translate_all([s], [ts], generation={"max_new_tokens": 8}, cache=cache, log=lambda m: None)
    assert len(b.calls) == 1 and json.loads(path.read_text())["value"]["hypotheses"] == HYPS


def test_checkpoint_identity_follows_the_files(tmp_path):
    ckpt = tmp_path / "bridge"
    ckpt.mkdir()
    (ckpt / "bridge.json").write_text('{"method": "hca"}')
    (ckpt / "bridge.safetensors").write_bytes(b"weights-1")
    first = checkpoint_identity(ckpt)
    assert first["checkpoint"] == str(ckpt.resolve())
    (ckpt / "bridge.safetensors").write_bytes(b"weights-2")
    assert checkpoint_identity(ckpt) != first


# ---- report ----------------------------------------------------------------------------------------

def fake_scores():
    return {
        "zero-shot": {"deu_Latn": Cell(80.0, 30.0, None), "zho_Hans": Cell(70.0, 20.0, None),
                      "zul_Latn": Cell(60.0, 25.0, None)},
        "oracle": {"deu_Latn": Cell(90.0, 30.0, 0.001), "zho_Hans": Cell(80.0, 20.0, 0.2),
                   "zul_Latn": Cell(70.0, 25.0, 0.03)},
        "partial": {"deu_Latn": 85.0},  # plain numbers are accepted; languages may be missing
    }


def test_report_tables_averages_groups_and_ratio(tmp_path):
    scores = {s: {l: {"comet": c} for l, c in by_lang.items()} for s, by_lang in fake_scores().items()}
    report = build_report(scores, groups={"High": ["deu_Latn", "zho_Hans"], "Low": ["zul_Latn"]},
                          baseline="zero-shot", ratios=[("zero-shot", "oracle")])
    assert report.table("comet") == textwrap.dedent("""\
        | system | deu_Latn | zho_Hans | zul_Latn | High | Low | All |
        |---|---:|---:|---:|---:|---:|---:|
        | zero-shot | 80.00 | 70.00 | 60.00 | 75.00 | 60.00 | 70.00 |
        | oracle | 90.00 | 80.00 | 70.00 | 85.00 | 70.00 | 80.00 |
        | partial | 85.00 | – | – | – | – | – |""")
    assert report.average("oracle", "comet", "High", "gap") == 60.0
    assert report.average("zero-shot", "comet", "Low", "floor") == 25.0
    assert report.ratio("zero-shot", "oracle", "comet") == 70 / 80
    md = report.markdown()
    assert "| zero-shot / oracle | COMET | 88.2% | 85.7% | 87.5% |" in md
    assert "| deu_Latn | oracle | 90.00 | 30.00 | 60.00 | 0.0010* |" in md
    assert "| zho_Hans | oracle | 80.00 | 20.00 | 60.00 | 0.2000 |" in md
    assert "| deu_Latn | zero-shot | 80.00 | 30.00 | 50.00 | – |" in md
    rows = list(csv.DictReader(report.csv_text().splitlines()))
    assert rows[0] == {"system": "zero-shot", "metric": "comet", "language": "deu_Latn", "score": "80.0",
                       "floor": "30.0", "gap": "50.0", "p_value": ""}
    assert {"system": "oracle", "metric": "comet", "language": "avg:All", "score": "80.0", "floor": "25.0",
            "gap": "55.0", "p_value": ""} in rows
    written = write_results(tmp_path, report)
    assert sorted(written) == ["chart_comet.png", "results.csv", "results.json", "results.md"]
    assert (tmp_path / "chart_comet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["averages"]["zero-shot"]["comet"]["Low"] == {"score": 60.0, "floor": 25.0, "gap": 35.0}
    assert {"numerator": "zero-shot", "denominator": "oracle", "metric": "comet", "group": "All",
            "value": 0.875} in data["ratios"]


def test_report_rejects_what_it_cannot_show():
    with pytest.raises(InputError) as e:
        build_report({"a": {"deu_Latn": {"bleu": 1.0}}}, groups={"Low": ["zul_Latn"]})
    assert msg(e) == "group 'Low': zul_Latn not among the evaluated languages (deu_Latn)"
    with pytest.raises(InputError) as e:
        build_report({"a": {"deu_Latn": {"bleu": 1.0}}}, ratios=[("a", "b")])
    assert msg(e) == "system 'b' has no scores; systems: a"
    with pytest.raises(InputError):
        build_report({"a": {"deu_Latn": {"bleu": "high"}}})


# ---- COMET in a separate Python -------------------------------------------------------------------

FAKE_COMET = '''
import json, os
__version__ = "0-fake"
def download_model(name):
    return "downloaded:" + name
class _Out:
    def __init__(self, scores):
        self.scores = scores
        self.system_score = sum(scores) / len(scores)
class _Model:
    def __init__(self, path):
        self.path = path
    def predict(self, samples, batch_size=16, gpus=1, progress_bar=True):
        if os.environ.get("FAKE_COMET_FAIL"):
            raise RuntimeError("fake scorer broke")
        with open(os.environ["FAKE_COMET_LOG"], "a") as f:
            f.write(json.dumps({"model": self.path, "gpus": gpus, "n": len(samples)}) + "\\n")
        return _Out([1.0 if s["mt"] == s["ref"] else 0.2 for s in samples])
def load_from_checkpoint(path):
    return _Model(path)
'''


@pytest.fixture
def fake_comet(tmp_path, monkeypatch):
    (tmp_path / "fake" / "comet").mkdir(parents=True)
    (tmp_path / "fake" / "comet" / "__init__.py").write_text(FAKE_COMET)
    log = tmp_path / "comet-calls.jsonl"
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "fake"))
    monkeypatch.setenv("FAKE_COMET_LOG", str(log))
    return log


def test_comet_through_a_separate_python(fake_comet, tmp_path):
    from babelbridge.evaluate.cache import JsonCache

    scorer = CometScorer(sys.executable, "Unbabel/wmt22-comet-da", gpus=0, cache=JsonCache(tmp_path / "cache"))
    scorer.check()
    ts = TestSet("deu_Latn", "eng_Latn", SRC_DE[:4], REFS[:4], "memory")
    hyps = {"good": {"deu_Latn": REFS[:3] + ["wrong"]}, "bad": {"deu_Latn": ["x"] * 4}}
    cells, _ = score_all([ts], hyps, ["comet"], comet=scorer)
    assert cells["good"]["deu_Latn"]["comet"] == Cell(pytest.approx(100 * (3 + 0.2) / 4), pytest.approx(20.0))
    assert cells["bad"]["deu_Latn"]["comet"].score == pytest.approx(20.0)
    calls = [json.loads(line) for line in fake_comet.read_text().splitlines()]
    assert calls == [{"model": "downloaded:Unbabel/wmt22-comet-da", "gpus": 0, "n": 16}]  # one run for all
    assert scorer.version == "0-fake"
    score_all([ts], hyps, ["comet"], comet=scorer)  # the same triples again: from the cache
    assert len(fake_comet.read_text().splitlines()) == 1


def test_comet_clear_errors(fake_comet, tmp_path, monkeypatch):
    monkeypatch.delenv("BABELBRIDGE_COMET_PYTHON", raising=False)
    with pytest.raises(CometError) as e:
        CometScorer(None)
    assert msg(e).startswith("the comet metric needs a Python with unbabel-comet installed; unbabel-comet pins "
                             "transformers<5")
    assert "python -m venv ~/comet-env && ~/comet-env/bin/pip install unbabel-comet" in msg(e)
    with pytest.raises(CometError) as e:
        CometScorer(tmp_path / "no-python")
    assert msg(e).startswith(f"--comet-python {tmp_path / 'no-python'}: no such interpreter")
    monkeypatch.setenv("PYTHONPATH", "")  # this venv has no comet package of its own
    with pytest.raises(CometError) as e:
        CometScorer(sys.executable).check()
    assert msg(e).startswith(f"--comet-python {sys.executable} has no 'comet' package; install it with: "
                             f"{sys.executable} -m pip install unbabel-comet")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "fake"))
    monkeypatch.setenv("FAKE_COMET_FAIL", "1")
    with pytest.raises(CometError) as e:
        CometScorer(sys.executable, gpus=0).score_sets([[{"src": "a", "mt": "b", "ref": "c"}]])
    assert msg(e).startswith("COMET worker failed (exit 1) with model Unbabel/wmt22-comet-da:")
    assert "RuntimeError: fake scorer broke" in msg(e)


# ---- evaluate() from Python ------------------------------------------------------------------------

def test_evaluate_from_python_with_baseline_and_floor(tmp_path):
    ts = [TestSet("deu_Latn", "eng_Latn", SRC_DE, REFS, "memory"), TestSet("fra_Latn", "eng_Latn", FR, REFS, "memory")]
    good, _, _ = counting_system("good", dict(zip(SRC_DE + FR, HYPS + HYPS)))
    echo, _, _ = counting_system("echo", {s: s for s in SRC_DE + FR})
    ev = evaluate([good, echo], ts, metrics=["chrf++"], baseline="echo", groups={"high": ["deu_Latn"]},
                  cache_dir=tmp_path / "cache", log=lambda m: None)
    cell = ev.report.cell("good", "fra_Latn", "chrf++")
    assert cell.score == sacrebleu.corpus_chrf(HYPS, [REFS], word_order=2).score
    assert cell.p_value < 0.05 and ev.report.cell("echo", "fra_Latn", "chrf++").p_value is None
    assert ev.signatures["chrf++"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:")
    assert ev.segments()["fra_Latn"]["hypotheses"]["echo"] == FR
    with pytest.raises(InputError) as e:
        evaluate([good], ts, baseline="nobody")
    assert msg(e) == "baseline 'nobody' is not a system; systems: good"


# ---- babelbridge eval -------------------------------------------------------------------------------

MNT = "4"  # --max-new-tokens: the tiny random decoder rarely stops by itself


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpts")
    paths = []
    for seed, name in ((0, "alpha"), (1, "beta")):
        torch.manual_seed(seed)
        bridge = build_bridge("hca", load_encoder("tiny-random:bert"), load_decoder("tiny-random:qwen3"),
                              {"bottleneck_dim": 16, "adapter_up_init": "default"})
        paths.append(save_bridge(bridge, root / name / "bridge"))
    return paths


@pytest.fixture
def cli(run_cli):
    return partial(run_cli, "eval")


@pytest.fixture
def no_loading(monkeypatch):
    def fail(*args, **kwargs):
        pytest.fail("a model was loaded")

    monkeypatch.setattr(babelbridge.bridges, "load_bridge", fail)


def test_eval_cli_end_to_end(cli, checkpoints, tmp_path, monkeypatch, fake_comet):
    alpha, beta = checkpoints
    root = write_flores(tmp_path / "flores", "devtest", {"deu_Latn": SRC_DE[:4], "fra_Latn": FR[:4], "eng_Latn": REFS[:4]})
    out = tmp_path / "eval"
    args = ["--bridge", alpha, "--bridge", f"b={beta}", "--testset", f"flores:{root}", "--langs", "de,fr",
            "--out", out, "--baseline", "alpha", "--groups", "High=deu_Latn;Low=fra_Latn", "--ratio", "b/alpha",
            "--max-new-tokens", MNT, "--batch-size", "3", "--quiet"]
    code, stdout, err = cli(*args)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["cache", "chart_bleu.png", "chart_chrfpp.png", "results.csv",
                                                     "results.json", "results.md", "run.json"]
    assert stdout.startswith("chrF++\n| system | deu_Latn | fra_Latn | High | Low | All |\n")

    data = json.loads((out / "results.json").read_text())
    assert data["systems"] == ["alpha", "b"] and data["languages"] == ["deu_Latn", "fra_Latn"]
    seg = data["segments"]["fra_Latn"]
    assert seg["sources"] == FR[:4] and seg["references"] == REFS[:4]
    ref = load_bridge(beta)  # what the command must have written: the bridge's own translations
    assert seg["hypotheses"]["b"] == ref.translate(FR[:4], "fra_Latn", max_new_tokens=int(MNT))
    for system in ("alpha", "b"):
        for lang in ("deu_Latn", "fra_Latn"):
            hyps = data["segments"][lang]["hypotheses"][system]
            assert data["scores"][system][lang]["bleu"]["score"] == sacrebleu.corpus_bleu(hyps, [REFS[:4]]).score
            assert data["scores"][system][lang]["chrf++"]["floor"] == \
                sacrebleu.corpus_chrf(hyps, [REFS[2:4] + REFS[:2]], word_order=2).score
    assert data["scores"]["alpha"]["deu_Latn"]["bleu"]["p_value"] is None
    assert data["scores"]["b"]["deu_Latn"]["bleu"]["p_value"] is not None

    rows = list(csv.DictReader((out / "results.csv").read_text().splitlines()))
    assert [(r["system"], r["metric"], r["language"]) for r in rows][:5] == [
        ("alpha", "chrf++", "deu_Latn"), ("alpha", "chrf++", "fra_Latn"), ("alpha", "chrf++", "avg:High"),
        ("alpha", "chrf++", "avg:Low"), ("alpha", "chrf++", "avg:All")]
    md = (out / "results.md").read_text()
    assert "## chrF++" in md and "## BLEU" in md and "| language | system | BLEU | floor | gap | p vs alpha |" in md
    assert "| b / alpha | chrF++ |" in md
    run = json.loads((out / "run.json").read_text())
    assert run["signatures"]["bleu"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    assert run["versions"]["sacrebleu"] == sacrebleu.__version__ and run["machine"]["device"] == "cpu"
    assert run["systems"]["alpha"]["checkpoint"] == str(alpha.resolve())
    assert run["generation"] == {"num_beams": 1, "max_new_tokens": 4, "truncate": False}
    assert set(run) >= {"argv", "date", "machine", "options", "translation", "testsets"}
    assert (out / "chart_bleu.png").read_bytes()[:4] == b"\x89PNG"

    # again with COMET added and one system: everything from the cache, no model loaded
    monkeypatch.setattr(babelbridge.bridges, "load_bridge", lambda *a, **k: pytest.fail("re-translated"))
    code, _, err = cli("--bridge", f"b={beta}", "--testset", f"flores:{root}", "--langs", "de,fr", "--out", out,
                       "--metrics", "chrf++,comet", "--comet-python", sys.executable, "--max-new-tokens", MNT)
    assert code == 0, err
    assert "b fra_Latn: 4 translations from the cache" in err
    data = json.loads((out / "results.json").read_text())
    assert data["segments"]["fra_Latn"]["hypotheses"] == {"b": seg["hypotheses"]["b"]}
    hyps = seg["hypotheses"]["b"]  # the fake scores 1.0 for an exact match, else 0.2
    assert data["scores"]["b"]["fra_Latn"]["comet"]["score"] == \
        pytest.approx(100 * sum(1.0 if h == r else 0.2 for h, r in zip(hyps, REFS[:4])) / 4)
    assert json.loads(fake_comet.read_text())["gpus"] == 0  # --device cpu
    assert (out / "chart_comet.png").is_file()
    assert json.loads((out / "run.json").read_text())["comet"]["version"] == "0-fake"


@pytest.mark.parametrize("extra, message", [
    (["--langs", "de,xx"], "--langs: "),
    (["--langs", "de,deu_Latn"], "--langs names deu_Latn more than once"),
    (["--langs", "de,zul_Latn"], "FLORES-200: no zul_Latn in split 'devtest' of "),
    (["--langs", "de", "--metrics", "bleu,meteor"], "--metrics 'bleu,meteor': unknown metric(s) meteor"),
    (["--langs", "de", "--metrics", "spbleu"], "spbleu needs --spm PATH"),
    (["--langs", "de", "--spm", "x.model"], "--spm is only used by the spbleu metric"),
    (["--langs", "de", "--metrics", "comet", "--comet-python", "/no/python"], "--comet-python /no/python: no such interpreter"),
    (["--langs", "de", "--baseline", "gamma"], "--baseline 'gamma' is not a --bridge label; labels: a, b"),
    (["--langs", "de", "--groups", "Low=fra_Latn"], "--groups Low: fra_Latn not among the evaluated languages (deu_Latn)"),
    (["--langs", "de", "--groups", "Low"], "--groups 'Low': expected NAME=CODE,CODE;NAME=CODE,..."),
    (["--langs", "de", "--ratio", "a:b"], "--ratio 'a:b': expected NUM/DEN, two --bridge labels (a, b)"),
    (["--langs", "de", "--limit", "0"], "--limit must be a positive integer, got 0"),
    (["--langs", "de", "--beam", "0"], "--beam must be a positive integer, got 0"),
    (["--langs", "de", "--device", "gpu"], "--device 'gpu' is not a device"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_eval_cli_checks_everything_before_loading(cli, checkpoints, no_loading, tmp_path, extra, message):
    alpha, beta = checkpoints
    root = write_flores(tmp_path / "flores", "devtest", {"deu_Latn": SRC_DE[:2], "eng_Latn": REFS[:2]})
    code, stdout, err = cli("--bridge", f"a={alpha}", "--bridge", f"b={beta}", "--testset", f"flores:{root}",
                            "--out", tmp_path / "out", *extra)
    assert code == 2 and stdout == ""
    assert err.startswith(f"babelbridge eval: error: {message}"), err
    assert len(err.strip().splitlines()) == 1


def test_eval_cli_bridge_arguments(cli, checkpoints, no_loading, tmp_path):
    alpha, _ = checkpoints
    root = write_flores(tmp_path / "flores", "devtest", {"deu_Latn": SRC_DE[:2], "eng_Latn": REFS[:2]})
    common = ["--testset", f"flores:{root}", "--langs", "de", "--out", tmp_path / "out"]
    code, _, err = cli("--bridge", alpha, "--bridge", alpha, *common)
    assert code == 2 and "label 'alpha' is used twice; name them with LABEL=PATH" in err
    code, _, err = cli("--bridge", tmp_path / "missing", *common)
    assert code == 2 and f"--bridge {tmp_path / 'missing'}: no such directory" in err
    (tmp_path / "file").write_text("x")
    code, _, err = cli("--bridge", alpha, "--testset", f"flores:{root}", "--langs", "de", "--out", tmp_path / "file")
    assert code == 2 and f"--out {tmp_path / 'file'} is a file; give a directory" in err


def test_eval_reads_test_sets_and_fails_on_a_bad_group_without_importing_torch(tmp_path):
    """The test sets are read during validation (a group naming a language the test set lacks is
    caught after reading it), and none of that imports torch."""
    (tmp_path / "t.tsv").write_text("Hallo\tHello\nDanke\tThanks\n")
    code = r"""
import sys
from babelbridge.cli import main as m
rc = m.main(["eval", "--bridge", "pocket-hca-deu-eng", "--testset", "tsv:t.tsv", "--langs", "de",
             "--groups", "Low=fra_Latn", "--out", "out"])
assert "torch" not in sys.modules and "transformers" not in sys.modules, "heavy import before validation"
sys.exit(rc)
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == ("babelbridge eval: error: --groups Low: fra_Latn not among the evaluated languages "
                           "(deu_Latn)\n")
