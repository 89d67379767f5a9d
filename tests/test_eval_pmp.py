"""LMT's PMP in evaluation: test sets read with their auxiliary sentences, the auxiliary each
direction gets, PMP systems translating through the cache, and `babelbridge eval --pmp` end to
end on a tiny prompted LLM (its outputs equal Bridge.translate's with the same auxiliaries)."""

import json
from functools import partial

import pytest

import babelbridge.bridges
from babelbridge.errors import InputError
from babelbridge.evaluate import System, load_direction_testsets, load_testsets, translate_all
from babelbridge.evaluate.cache import TranslationCache
from babelbridge.evaluate.pmp import auxiliary_languages, translate_options
from babelbridge.languages.auxiliary import Auxiliary
from test_bible import make_db

EN, DE, TR = "eng_Latn", "deu_Latn", "tur_Latn"
GEN = {"num_beams": 1, "max_new_tokens": 3, "truncate": False}


@pytest.fixture
def bible(tmp_path, monkeypatch):
    import babelbridge.assets

    monkeypatch.setattr(babelbridge.assets, "fetch_asset", lambda *a, **k: pytest.fail("the asset was fetched"))
    return make_db(tmp_path / "bible.db")


@pytest.fixture(scope="module")
def bridges_dir(tmp_path_factory):
    from babelbridge.bridges import save_prompted_baseline

    root = tmp_path_factory.mktemp("pmp")
    return (save_prompted_baseline("tiny-random:qwen3", root / "pmp", pmp=True),
            save_prompted_baseline("tiny-random:qwen3", root / "plain"))


def test_auxiliary_languages_follow_the_training_rule_or_one_given_language():
    directions = [(EN, DE), (TR, EN), (DE, TR)]
    chosen = auxiliary_languages(directions, [EN, DE, TR])
    # candidates: the high-resource languages among the evaluated ones (as data.multiway's)
    assert chosen == {(EN, DE): Auxiliary(TR, "same script (Latn)"), (TR, EN): Auxiliary(DE, "same script (Latn)"),
                      (DE, TR): Auxiliary(EN, "same branch (Germanic)")}  # X: the source
    assert auxiliary_languages([(EN, DE)], [EN, DE, "nld_Latn"])[(EN, DE)] == Auxiliary("nld_Latn",
                                                                                       "same branch (Germanic)")
    assert auxiliary_languages([(EN, DE)], [EN, DE], aux_lang=TR) == {(EN, DE): Auxiliary(TR, "given")}
    with pytest.raises(InputError, match=r"^--aux-lang deu_Latn is a side of the direction eng_Latn -> deu_Latn"):
        auxiliary_languages([(EN, DE)], [EN, DE], aux_lang=DE)
    with pytest.raises(InputError, match=r"^PMP: no auxiliary language for eng_Latn -> deu_Latn .*--aux-lang"):
        auxiliary_languages([(EN, DE)], [EN, DE])


def test_testsets_carry_the_auxiliary_sentences_of_the_same_verses(bible, tmp_path):
    sets = load_direction_testsets(f"bible:{bible}:test", [(EN, DE), (TR, EN)], auxiliaries={(EN, DE): TR})
    assert (sets[0].aux_lang, sets[0].aux_texts) == (TR, ("Başlangıçta Söz vardı.", "İsa ağladı."))
    assert sets[0].sources == ("In the beginning was the Word.", "Jesus wept.")
    assert (sets[1].aux_lang, sets[1].aux_texts) == (None, None)  # no auxiliary asked for it
    plain = load_direction_testsets(f"bible:{bible}:test", [(EN, DE)])[0]
    assert plain.identity == sets[0].identity  # the auxiliary changes no plain system's cache entry
    (one,) = load_testsets(f"bible:{bible}:test", [DE], EN, auxiliaries={(DE, EN): TR})
    assert (one.aux_lang, one.aux_texts) == (TR, ("Başlangıçta Söz vardı.", "İsa ağladı."))
    (tmp_path / "t.tsv").write_text("Hallo\tHello\n")
    with pytest.raises(InputError, match=r"PMP's oracle auxiliary sentences come from a multi-way test set "
                                         r"\(bible, flores: every segment in every language\), not tsv"):
        load_testsets(f"tsv:{tmp_path}/t.tsv", [DE], EN, auxiliaries={(DE, EN): TR})


def test_pmp_systems_translate_with_the_auxiliaries_and_cache_apart(bible, bridges_dir, tmp_path):
    pmp_dir, _ = bridges_dir
    (ts,) = load_direction_testsets(f"bible:{bible}:test", [(EN, DE)], auxiliaries={(EN, DE): TR})
    bridge = babelbridge.bridges.load_bridge(pmp_dir)
    systems = [System.from_bridge("plain", bridge), System.from_bridge("o", bridge, pmp="oracle"),
               System.from_bridge("s", bridge, pmp="self")]
    cache = TranslationCache(tmp_path / "cache")
    hyps, info = translate_all(systems, [ts], generation=GEN, cache=cache, log=lambda m: None)
    sources = list(ts.sources)
    gen = {k: v for k, v in GEN.items()}
    assert hyps["plain"][ts.name] == bridge.translate(sources, EN, DE, **gen)
    assert hyps["o"][ts.name] == bridge.translate(sources, EN, DE, aux_texts=list(ts.aux_texts), aux_lang=TR, **gen)
    assert hyps["s"][ts.name] == bridge.translate(sources, EN, DE, aux_lang=TR, **gen)
    assert len(list((tmp_path / "cache").glob("translations-*.json"))) == 3
    assert systems[1].identity["pmp"] == "oracle" and "pmp" not in systems[0].identity
    # a PMP system on a test set without auxiliaries fails before anything is translated
    (bare,) = load_direction_testsets(f"bible:{bible}:test", [(EN, DE)])
    with pytest.raises(InputError, match=r"^test set eng_Latn-deu_Latn has no auxiliary language, but a system is "
                                         r"evaluated with PMP \(self\)"):
        translate_all([System.from_bridge("x", bridge), System.from_bridge("s", bridge, pmp="self")], [bare],
                      generation=GEN, log=lambda m: pytest.fail("translated"))
    with pytest.raises(InputError, match=r"^system z: PMP mode 'both' is not one of oracle, self"):
        System.from_bridge("z", bridge, pmp="both")
    assert translate_options(None, bare) == ({}, {})


@pytest.fixture
def cli(run_cli):
    return partial(run_cli, "eval")


def test_eval_pmp_end_to_end(cli, bible, bridges_dir, tmp_path):
    pmp_dir, _ = bridges_dir
    out = tmp_path / "eval"
    code, stdout, err = cli("--bridge", f"plain={pmp_dir}", "--bridge", f"pmp-o={pmp_dir}", "--bridge",
                            f"pmp-s={pmp_dir}", "--pmp", "pmp-o=oracle", "--pmp", "pmp-s=self", "--baseline", "plain",
                            "--testset", f"bible:{bible}:test", "--langs", "en,de,tr", "--directions", "hub-centric",
                            "--hubs", "en", "--out", out, "--max-new-tokens", "3")
    assert code == 0, err
    assert "PMP: auxiliary language for eng_Latn -> deu_Latn: tur_Latn (same script (Latn))" in err
    data = json.loads((out / "results.json").read_text())
    bridge = babelbridge.bridges.load_bridge(pmp_dir)
    aux = {DE: TR, TR: DE}
    verses = {EN: ["In the beginning was the Word.", "Jesus wept."],
              DE: ["Im Anfang war das Wort.", "Jesus vergoß Tränen."],
              TR: ["Başlangıçta Söz vardı.", "İsa ağladı."]}
    for name, seg in data["segments"].items():
        src, tgt = seg["src_lang"], seg["tgt_lang"]
        a = aux[tgt if src == EN else src]
        assert seg["hypotheses"]["pmp-o"] == bridge.translate(seg["sources"], src, tgt, aux_texts=verses[a],
                                                              aux_lang=a, **GEN), name
        assert seg["hypotheses"]["pmp-s"] == bridge.translate(seg["sources"], src, tgt, aux_lang=a, **GEN), name
        assert seg["hypotheses"]["plain"] == bridge.translate(seg["sources"], src, tgt, **GEN), name
    run = json.loads((out / "run.json").read_text())
    assert run["systems"]["pmp-o"]["pmp"] == "oracle" and "pmp" not in run["systems"]["plain"]


@pytest.mark.parametrize("extra, message", [
    (["--pmp", "x=oracle"], "--pmp 'x=oracle': 'x' is not a --bridge label; labels: pmp, plain"),
    (["--pmp", "pmp=both"], "--pmp 'pmp=both': expected LABEL=MODE with MODE one of oracle, self"),
    (["--pmp", "plain=self"], "--pmp: --bridge plain was made without PMP (its config has pmp: false)"),
    (["--aux-lang", "fr"], "--aux-lang needs --pmp LABEL=MODE"),
    (["--force-pmp"], "--force-pmp needs --pmp LABEL=MODE"),
    (["--pmp", "pmp=self", "--aux-lang", "de"], "--aux-lang deu_Latn is a side of the direction deu_Latn -> eng_Latn"),
    (["--pmp", "pmp=self", "--pmp", "pmp=oracle"], "--pmp names 'pmp' twice"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_eval_pmp_checks_before_loading(cli, bible, bridges_dir, tmp_path, monkeypatch, extra, message):
    pmp_dir, plain_dir = bridges_dir
    monkeypatch.setattr(babelbridge.bridges, "load_bridge", lambda *a, **k: pytest.fail("a model was loaded"))
    code, stdout, err = cli("--bridge", f"pmp={pmp_dir}", "--bridge", f"plain={plain_dir}", "--testset",
                            f"bible:{bible}:test", "--langs", "de,tr", "--out", tmp_path / "o", *extra)
    assert code == 2 and stdout == ""
    assert err.startswith(f"babelbridge eval: error: {message}"), err
