"""Multi-way training data (data.multiway) and LMT's Strategic Downsampling (data.downsample):
directions from a small Bible fixture, PMP auxiliaries, the repetition report, deterministic
selection, the trainer's path (plan_training + load_pairs), the CLI, and the errors."""

import re

import pytest

from babelbridge.cli.main import main
from babelbridge.data import DataError, DownsampleSpec, MultiwaySpec, build_multiway, downsample, target_repetition
from babelbridge.data.bible import bible_pairs
from babelbridge.data.downsample import kept_count
from babelbridge.data.multiway import pmp_options
from babelbridge.errors import BabelBridgeError
from babelbridge.languages.auxiliary import pmp_auxiliary
from babelbridge.pairs import TranslationPair
from test_bible import make_db

EN, DE, FR, ES, TR, ZH = "eng_Latn", "deu_Latn", "fra_Latn", "spa_Latn", "tur_Latn", "zho_Hans"

# Each language's verse n says n, so a pair's sides and pivot can be checked to be the same verse.
TEXT = {"4": "Verse {} in English.", "e": "Vers {} auf Deutsch.", "l": "Verset {} en français.",
        "v": "Versículo {} en español.", "c": "第{}节经文。", "t": "Ayet {} Türkçe."}


def verses():
    rows = []
    for bb, text in TEXT.items():
        for v in range(1, 7):  # Genesis 1:1-6: train
            if bb == "l" and v == 6:
                continue  # French lacks 1:6
            rows.append((bb, 1, 1, v, "(aynı)" if bb == "t" and v == 3 else text.format(v)))  # Turkish merges 1:3
        rows.append((bb, 17, 1, 1, text.format(100)))  # Esther: dev
        rows.append((bb, 43, 1, 1, text.format(200)))  # John: test
    return rows


@pytest.fixture
def db(tmp_path):
    return make_db(tmp_path / "bible.db", verses())


@pytest.fixture(autouse=True)
def no_fetch(monkeypatch):
    """Every test gives the database: none may reach for the asset."""
    import babelbridge.assets

    def fail(name, **kwargs):
        raise AssertionError(f"fetch_asset({name!r}) called")

    monkeypatch.setattr(babelbridge.assets, "fetch_asset", fail)


def spec(db, **options):
    return MultiwaySpec.from_dict({"corpus": {"format": "bible", "path": str(db), "split": "train"}, **options})


def number(text):
    return int(re.search(r"\d+", text).group())


def P(i, src, tgt):
    return TranslationPair(f"s{i}", f"t{i}", src, tgt)


# ---- directions ---------------------------------------------------------------------------------

def test_hub_centric_gives_both_ways_per_hub_and_the_existing_readers_pairs(db):
    data = build_multiway(spec(db, langs=[EN, DE, FR, ES], hubs=[EN], directions="hub-centric"))
    assert [(d.src, d.tgt) for d in data.directions] == [(DE, EN), (EN, DE), (FR, EN), (EN, FR), (ES, EN), (EN, ES)]
    for d in data.directions:  # each direction is exactly what bible_pairs reads
        assert d.pairs == list(bible_pairs(d.src, d.tgt, "train", db))
    assert [len(d.pairs) for d in data.directions] == [6, 6, 5, 5, 6, 6]  # French lacks 1:6
    assert data.pairs == [p for d in data.directions for p in d.pairs]  # concatenated in that order
    assert data.pairs[0] == TranslationPair("Vers 1 auf Deutsch.", "Verse 1 in English.", DE, EN)


def test_bi_centric_hubs_add_hub_to_hub_both_ways(db):
    s = spec(db, langs=["en", "de", "zh"], hubs=["en", "zh"])  # hub-centric is the default
    assert s.directions == ((DE, EN), (EN, DE), (DE, ZH), (ZH, DE), (EN, ZH), (ZH, EN))
    assert s.mode == "hub-centric"


def test_all_directions_are_every_ordered_pair(db):
    data = build_multiway(spec(db, langs=[EN, DE, TR], directions="all"))
    assert [(d.src, d.tgt) for d in data.directions] == [(EN, DE), (EN, TR), (DE, EN), (DE, TR), (TR, EN), (TR, DE)]
    for d in data.directions:
        assert d.pairs == list(bible_pairs(d.src, d.tgt, "train", db))
    # Turkish's marker at 1:3 drops 1:2 (merged) and 1:3 (marker): 4 of 6 verses.
    assert {(d.src, d.tgt): (len(d.pairs), d.skipped) for d in data.directions}[(TR, DE)] == (4, 2)


def test_explicit_directions_with_aliases_and_a_limit(db):
    data = build_multiway(spec(db, langs=[EN, DE, TR], directions=["de-en", "tur_Latn-deu_Latn"], limit=2))
    assert [(d.src, d.tgt) for d in data.directions] == [(DE, EN), (TR, DE)]
    assert [len(d.pairs) for d in data.directions] == [2, 2]
    assert data.directions[0].pairs == list(bible_pairs(DE, EN, "train", db))[:2]
    assert data.directions[1].available == 4


# ---- PMP ----------------------------------------------------------------------------------------

def test_pmp_attaches_the_auxiliary_sentence_of_the_tables_language(db):
    langs = [EN, DE, FR, ZH]
    s = spec(db, langs=langs, hubs=[EN, ZH], pmp=True)
    data = build_multiway(s)
    options = pmp_options(tuple(langs), None, {})
    assert options["candidates"] == [EN, ZH, FR, DE]  # HIGH_RESOURCE's order
    for d in data.directions:
        aux = pmp_auxiliary(d.src, d.tgt, **options)
        assert d.auxiliary == aux
        for p in d.pairs:
            assert p.pivot_lang == aux.lang
            if aux.lang is None:
                assert p.pivot is None
            else:  # the same verse, in the auxiliary's version
                assert number(p.pivot) == number(p.src) == number(p.tgt)
                assert p.pivot == TEXT[{EN: "4", DE: "e", FR: "l", ZH: "c"}[aux.lang]].format(number(p.src))
    by = {(d.src, d.tgt): d for d in data.directions}
    assert by[(DE, EN)].auxiliary.lang == FR  # De's relative among the candidates
    assert by[(DE, ZH)].auxiliary.lang == EN and by[(ZH, FR)].auxiliary.lang == EN  # Zh<->X: English
    # French lacks 1:6: the De->En pairs that had it lose it, and the report counts them.
    assert (len(by[(DE, EN)].pairs), by[(DE, EN)].dropped_for_auxiliary) == (5, 1)
    assert (len(by[(DE, ZH)].pairs), by[(DE, ZH)].dropped_for_auxiliary) == (6, 0)
    report = data.format()
    assert "| deu_Latn -> eng_Latn | fra_Latn |" in report  # the auxiliary table
    assert re.search(r"deu_Latn -> eng_Latn\s+5\s+0\s+fra_Latn\s+1\n", report)


def test_pmp_overrides_and_fallback(db):
    s = spec(db, langs=[EN, DE, FR, ES], pmp=True, pmp_overrides={"de": "es"}, pmp_fallback="fr")
    assert s.auxiliaries[(DE, EN)].lang == ES and s.auxiliaries[(DE, EN)].why == "configured"
    pair = build_multiway(s).directions[0].pairs[0]
    assert (pair.pivot, pair.pivot_lang) == ("Versículo 1 en español.", ES)
    with pytest.raises(DataError, match=r"the auxiliary of deu_Latn -> eng_Latn would be eng_Latn, a side of "
                                        r"the direction itself"):
        spec(db, langs=[EN, DE], pmp=True, pmp_overrides={"de": "en"})
    # Turkish has no relative among the candidates (English, Chinese): the fallback, or none.
    assert spec(db, langs=[EN, TR, ZH], pmp=True).auxiliaries[(TR, EN)].lang is None
    s = spec(db, langs=[EN, TR, ZH], pmp=True, pmp_fallback="zh")
    assert (s.auxiliaries[(TR, EN)].lang, s.auxiliaries[(TR, EN)].why) == (ZH, "fallback")
    plain = build_multiway(spec(db, langs=[EN, TR, ZH], pmp=True)).directions[0]
    assert plain.pairs == list(bible_pairs(TR, EN, "train", db))  # no auxiliary: plain pairs
    report = build_multiway(spec(db, langs=[EN, TR, ZH], pmp=True)).format()
    assert "| tur_Latn -> eng_Latn | (none) | fallback |" in report


# ---- the repetition report ----------------------------------------------------------------------

def test_target_repetition_by_hand():
    pairs = [TranslationPair("a", "X", DE, EN), TranslationPair("b", "X", FR, EN), TranslationPair("c", "X", ES, EN),
             TranslationPair("d", "Y", DE, EN), TranslationPair("X", "a", EN, DE)]
    rep = target_repetition(pairs)
    assert list(rep) == [EN, DE]
    assert (rep[EN].pairs, rep[EN].distinct, rep[EN].max, rep[EN].mean) == (4, 2, 3, 2.0)
    assert (rep[DE].pairs, rep[DE].distinct, rep[DE].max, rep[DE].mean) == (1, 1, 1, 1.0)


def test_multiway_report_counts_english_targets_once_per_source(db):
    data = build_multiway(spec(db, langs=[EN, DE, FR]))
    # En targets: 6 from German + 5 from French (no 1:6) over 6 distinct verses.
    rep = data.repetition()
    assert (rep[EN].pairs, rep[EN].distinct, rep[EN].max) == (11, 6, 2)
    report = data.format()
    assert report.splitlines()[0] == (f"multiway bible/train ({db}): 3 languages, hubs eng_Latn, "
                                      f"directions hub-centric: 4 directions")
    assert "  eng_Latn     11         6  1.83    2" in report
    assert "  deu_Latn      6         6  1.00    1" in report


# ---- downsampling -------------------------------------------------------------------------------

def mixed_pairs():
    """Three directions interleaved: 200 De->En, 30 Fr->En, 10 Es->En, 50 En->De."""
    out = []
    for i in range(200):
        out.append(P(i, DE, EN))
        if i < 30:
            out.append(P(i, FR, EN))
        if i < 10:
            out.append(P(i, ES, EN))
        if i < 50:
            out.append(P(i, EN, DE))
    return out


def test_downsampling_keeps_round_keep_n_per_hub_target_direction():
    pairs = mixed_pairs()
    cut = DownsampleSpec.from_dict({"into": ["en"], "keep": 0.05})
    kept, report = downsample(pairs, cut, seed=0)
    count = {}
    for p in kept:
        count[(p.src_lang, p.tgt_lang)] = count.get((p.src_lang, p.tgt_lang), 0) + 1
    # 200 * 0.05 = 10; 30 * 0.05 = 1.5 -> 2; 10 * 0.05 = 0.5 -> round 0 -> at least 1.
    assert count == {(DE, EN): 10, (FR, EN): 2, (ES, EN): 1, (EN, DE): 50}
    assert report.counts == {(DE, EN): (200, 10), (FR, EN): (30, 2), (ES, EN): (10, 1), (EN, DE): (50, 50)}
    assert [p for p in kept if p.tgt_lang == DE] == [p for p in pairs if p.tgt_lang == DE]  # untouched
    positions = [pairs.index(p) for p in kept]
    assert positions == sorted(positions)  # input order kept
    assert kept_count(0, 0.05) == 0 and kept_count(7, 1.0) == 7
    assert kept_count(50, 0.05) == 2  # 2.5 -> 2: Python's round, half to even


def test_downsampling_is_a_pure_function_of_the_seed():
    pairs = mixed_pairs()
    cut = DownsampleSpec(into=(EN,), keep=0.05)
    first, _ = downsample(pairs, cut, seed=7)
    again, _ = downsample(list(pairs), cut, seed=7)  # a resume, another process: same input, same seed
    other, _ = downsample(pairs, cut, seed=8)
    assert first == again
    assert first != other
    # Per direction: adding another direction does not change which De->En pairs stay.
    only_de, _ = downsample([p for p in pairs if p.src_lang == DE and p.tgt_lang == EN], cut, seed=7)
    assert only_de == [p for p in first if p.src_lang == DE]


def test_downsample_report_before_and_after(db):
    data = build_multiway(spec(db, langs=[EN, DE, FR]))
    kept, report = downsample(data.pairs, DownsampleSpec(into=(EN,), keep=0.5), seed=0)
    assert report.counts == {(DE, EN): (6, 3), (EN, DE): (6, 6), (FR, EN): (5, 2), (EN, FR): (5, 5)}  # 2.5 -> 2
    assert report.before[EN].pairs == 11 and report.after[EN].pairs == 5
    text = report.format()
    assert text.splitlines()[0] == ("strategic downsampling: keep 50% of each direction into eng_Latn "
                                    "(round(keep * n), at least 1; seed 0)")
    assert re.search(r"eng_Latn -> deu_Latn\s+6\s+6\s+untouched", text)
    assert re.search(r"deu_Latn -> eng_Latn\s+6\s+3\n", text)
    assert re.search(rf"eng_Latn\s+11\s+5\s+1\.83 / 2\s+{report.after[EN].short()}", text)


@pytest.mark.parametrize("keep", [0, -0.1, 1.5, float("nan"), True, "0.05"])
def test_keep_outside_zero_one_is_refused(keep):
    with pytest.raises(DataError, match=r"data.downsample.keep must be a share in \(0, 1\]"):
        DownsampleSpec.from_dict({"into": [EN], "keep": keep})


def test_downsample_key_errors():
    with pytest.raises(DataError, match="unknown data.downsample key\\(s\\): ratio; accepted keys: into, keep"):
        DownsampleSpec.from_dict({"into": [EN], "ratio": 0.05})
    with pytest.raises(DataError, match="data.downsample is missing into; accepted keys: into, keep"):
        DownsampleSpec.from_dict({"keep": 0.05})
    with pytest.raises(DataError, match="data.downsample.into: .*xx"):
        DownsampleSpec.from_dict({"into": ["xx"], "keep": 0.05})
    with pytest.raises(DataError, match="data.downsample.into must be a non-empty list"):
        DownsampleSpec.from_dict({"into": [], "keep": 0.05})


# ---- errors -------------------------------------------------------------------------------------

def test_multiway_errors_name_what_is_accepted(db, tmp_path):
    with pytest.raises(DataError, match=r"data.multiway.langs: the Bible corpus has no nld_Latn \(Dutch\); "
                                        r"available: eng_Latn, deu_Latn, .*tgl_Latn$"):
        spec(db, langs=[EN, "nld_Latn"])
    with pytest.raises(DataError, match=r"data.multiway.langs: .*'klingon'"):
        spec(db, langs=[EN, "klingon"])
    with pytest.raises(DataError, match=r"data.multiway.hubs: zho_Hans is not in data.multiway.langs "
                                        r"\(eng_Latn, deu_Latn\); a hub must be one of the languages$"):
        spec(db, langs=[EN, DE], hubs=[EN, ZH])
    with pytest.raises(DataError, match=r"hubs defaults to \[eng_Latn\]"):
        spec(db, langs=[DE, FR])
    spec(db, langs=[DE, FR], directions="all")  # no hub needed
    with pytest.raises(DataError, match=r"data.multiway.directions: unknown value 'star'; accepted: hub-centric, "
                                        r"all, or a list like \[deu_Latn-eng_Latn, ...\]"):
        spec(db, langs=[EN, DE], directions="star")
    for bad in ("deu_Latn>eng_Latn", "de-en-fr", "-en", 7):
        with pytest.raises(DataError, match=r"data.multiway.directions: malformed direction .*; write SRC-TGT "
                                            r"with two language codes, e.g. deu_Latn-eng_Latn"):
            spec(db, langs=[EN, DE], directions=[bad])
    with pytest.raises(DataError, match=r"'de-fr': fra_Latn is not in data.multiway.langs \(eng_Latn, deu_Latn\)"):
        spec(db, langs=[EN, DE], directions=["de-fr"])
    with pytest.raises(DataError, match="translates deu_Latn into itself"):
        spec(db, langs=[EN, DE], directions=["de-deu_Latn"])
    with pytest.raises(DataError, match="unknown data.multiway key\\(s\\): lang; accepted keys: corpus, langs, hubs, "
                                        "directions, limit, pmp, pmp_fallback, pmp_overrides"):
        spec(db, lang=[EN, DE])
    with pytest.raises(DataError, match=r"format 'tsv' is not a multi-way corpus; accepted: bible, flores"):
        MultiwaySpec.from_dict({"corpus": {"format": "tsv", "path": "x.tsv"}, "langs": [EN, DE]})
    with pytest.raises(DataError, match=r"unknown data.multiway.corpus key\(s\): src_lang \(the languages come from "
                                        r"data.multiway.langs and directions\); accepted keys: format, path, split"):
        MultiwaySpec.from_dict({"corpus": {"format": "bible", "split": "train", "src_lang": DE}, "langs": [EN, DE]})
    with pytest.raises(DataError, match="data.multiway.corpus: format 'bible' needs split"):
        MultiwaySpec.from_dict({"corpus": {"format": "bible"}, "langs": [EN, DE]})
    with pytest.raises(DataError, match="data.multiway.langs must be a list of at least 2"):
        spec(db, langs=[EN])
    with pytest.raises(DataError, match="data.multiway.langs: deu_Latn is listed twice"):
        spec(db, langs=[EN, DE, "de"])
    with pytest.raises(DataError, match="pmp_fallback and pmp_overrides apply with pmp: true"):
        spec(db, langs=[EN, DE], pmp_fallback=FR)
    with pytest.raises(DataError, match="data.multiway.limit .* must be a positive integer or null"):
        spec(db, langs=[EN, DE], limit=0)
    with pytest.raises(DataError, match="data.multiway.pmp must be true or false"):
        spec(db, langs=[EN, DE], pmp="yes")
    with pytest.raises(DataError, match="data.multiway is missing langs"):
        MultiwaySpec.from_dict({"corpus": {"format": "bible", "split": "train"}})


# ---- FLORES-200 ---------------------------------------------------------------------------------

def flores(tmp_path):
    root = tmp_path / "flores"
    (root / "dev").mkdir(parents=True)
    for code, word in ((EN, "Sentence"), (DE, "Satz"), (FR, "Phrase")):
        lines = [f"{word} {i}." for i in range(1, 5)]
        if code == FR:
            lines[1] = ""  # an empty French line
        (root / "dev" / f"{code}.dev").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_flores_multiway_with_pmp_skips_the_empty_auxiliary(tmp_path):
    root = flores(tmp_path)
    s = MultiwaySpec.from_dict({"corpus": {"format": "flores", "path": str(root), "split": "dev"},
                                "langs": [EN, DE, FR], "directions": ["de-en", "fr-en"], "pmp": True})
    data = build_multiway(s)
    de_en, fr_en = data.directions
    assert de_en.auxiliary.lang == FR and [p.pivot for p in de_en.pairs] == ["Phrase 1.", "Phrase 3.", "Phrase 4."]
    assert (de_en.dropped_for_auxiliary, de_en.skipped) == (1, 0)
    assert fr_en.auxiliary.lang == DE and len(fr_en.pairs) == 3 and fr_en.skipped == 1
    with pytest.raises(DataError, match=r"dev/fra_Latn.dev:2: empty auxiliary sentence \(fra_Latn\) "
                                        r"\(use empty_lines: skip"):
        build_multiway(s, empty_lines="error")
    with pytest.raises(DataError, match=r"data.multiway.langs: FLORES-200: no spa_Latn in split 'dev'"):
        MultiwaySpec.from_dict({"corpus": {"format": "flores", "path": str(root), "split": "dev"}, "langs": [EN, ES]})


# ---- the trainer's path -------------------------------------------------------------------------

def run_config(tmp_path, db, data):
    import yaml

    from babelbridge.runconfig import load_run_config

    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({
        "method": "lora", "decoder": "tiny-random:qwen3", "bridge": {"r": 4, "alpha": 8},
        "data": data, "train": {"output_dir": str(tmp_path / "run"), "max_steps": 2, "global_batch_size": 2,
                                "micro_batch_size": 2, "seed": 3}}))
    return load_run_config(path)


def multiway_data(db, **extra):
    return {"multiway": {"corpus": {"format": "bible", "path": str(db), "split": "train"},
                         "langs": [EN, DE, FR, TR]},
            "downsample": {"into": [EN], "keep": 0.5}, **extra}


def test_plan_and_load_pairs_with_multiway_only_are_deterministic(tmp_path, db, capsys):
    from babelbridge.train.pipeline import build_for_training, load_pairs, plan_training, training_pairs

    plan = plan_training(run_config(tmp_path, db, multiway_data(db)))
    assert plan.train_specs == [] and plan.multiway.directions[0] == (DE, EN)
    bridge = build_for_training(plan)
    first, valid = load_pairs(plan, bridge)
    again, _ = load_pairs(plan_training(run_config(tmp_path, db, multiway_data(db))), bridge)  # a resume
    assert first == again and valid == []
    out = capsys.readouterr().out
    assert "data: multiway bible/train" in out and "data: strategic downsampling: keep 50%" in out
    # What the trainer gets is the pure data-layer function of (config, seed = train.seed 3):
    # nothing of accelerate's process state is involved (it happens before the trainer exists).
    expected, _ = downsample(build_multiway(plan.multiway).pairs, plan.downsample, seed=3)
    assert first == expected == training_pairs(plan)
    counts = {}
    for p in first:
        counts[(p.src_lang, p.tgt_lang)] = counts.get((p.src_lang, p.tgt_lang), 0) + 1
    assert counts == {(DE, EN): 3, (EN, DE): 6, (FR, EN): 2, (EN, FR): 5, (TR, EN): 2, (EN, TR): 4}
    other = training_pairs(plan_training(run_config(tmp_path, db, multiway_data(db, seed=11))))
    assert other != first and len(other) == len(first)  # data.seed chooses other pairs


def test_multiway_adds_to_data_train_and_downsampling_covers_both(tmp_path, db):
    from babelbridge.train.pipeline import plan_training, training_pairs

    tsv = tmp_path / "extra.tsv"
    tsv.write_text("".join(f"Extra {i}\tMore {i}\n" for i in range(10)), encoding="utf-8")
    data = multiway_data(db, train=[{"format": "tsv", "path": str(tsv), "src_lang": ES, "tgt_lang": EN}])
    pairs = training_pairs(plan_training(run_config(tmp_path, db, data)))
    assert sum(p.src_lang == ES for p in pairs) == 5  # 10 * 0.5
    assert sum(p.src_lang == DE and p.tgt_lang == EN for p in pairs) == 3


def test_plan_requires_train_or_multiway(tmp_path, db):
    from babelbridge.train.pipeline import plan_training

    with pytest.raises(BabelBridgeError, match=r"no training data: give data.train .* or data.multiway"):
        plan_training(run_config(tmp_path, db, {"downsample": {"into": [EN], "keep": 0.05}}))
    with pytest.raises(BabelBridgeError, match=r"unknown data option\(s\) multi_way; accepted: downsample, "
                                               r"empty_lines, mix, mix_size, multiway, overlong, seed, train, valid"):
        plan_training(run_config(tmp_path, db, {"multi_way": {}}))
    with pytest.raises(BabelBridgeError, match="data.mix and data.mix_size mix data.train's corpora"):
        plan_training(run_config(tmp_path, db, multiway_data(db, mix="balanced")))
    with pytest.raises(DataError, match="data.downsample.keep must be a share in"):
        plan_training(run_config(tmp_path, db, multiway_data(db, downsample={"into": [EN], "keep": 5})))


# ---- the CLI ------------------------------------------------------------------------------------

def test_data_multiway_cli(tmp_path, db, capsys):
    assert main(["data", "multiway", "--corpus", f"bible:{db}", "--split", "train", "--langs", "en,de,fr",
                 "--downsample-into", "en", "--keep", "0.5", "--pmp"]) == 0
    out = capsys.readouterr().out
    assert "multiway bible/train" in out and "| deu_Latn -> eng_Latn | fra_Latn |" in out
    assert "strategic downsampling: keep 50% of each direction into eng_Latn" in out
    config = run_config(tmp_path, db, multiway_data(db)).path
    assert main(["data", "multiway", "--config", str(config), "--set", "data.downsample.keep=1"]) == 0
    out = capsys.readouterr().out
    assert "data: multiway bible/train" in out and "training pairs before the over-long filter" in out
    assert main(["data", "multiway", "--corpus", f"bible:{db}", "--split", "train", "--langs", "en,xx"]) == 2
    assert "data.multiway.langs:" in capsys.readouterr().err
    assert main(["data", "multiway", "--config", str(config), "--langs", "en,de"]) == 2
    assert "give --config or the flags (--langs), not both" in capsys.readouterr().err
