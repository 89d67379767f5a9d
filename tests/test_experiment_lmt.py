"""Any-to-any experiments (evaluation.directions) and LMT's recipe in them: multi-way training
systems, Strategic Downsampling, PMP twins (bridge_of + pmp), the directions report, resuming
from the cache, and the shipped lmt experiment's settings."""

import json

import pytest
import sacrebleu
import yaml

import babelbridge.bridges
from babelbridge.cli.main import main
from babelbridge.errors import BabelBridgeError
from babelbridge.evaluate.pmp import auxiliary_languages
from babelbridge.experiments import EXPERIMENTS, experiment_file, load_experiment
from test_bible import make_db

EN, DE, FR, TR = "eng_Latn", "deu_Latn", "fra_Latn", "tur_Latn"
TEXT = {"4": "Verse {} in English.", "e": "Vers {} auf Deutsch.", "l": "Verset {} en français.",
        "t": "Ayet {} Türkçe."}


def verses():
    rows = []
    for bb, text in TEXT.items():
        rows += [(bb, 1, 1, v, text.format(v)) for v in range(1, 9)]  # Genesis 1:1-8: train
        rows.append((bb, 17, 1, 1, text.format(100)))  # Esther: dev
        rows += [(bb, 43, 1, v, text.format(200 + v)) for v in range(1, 5)]  # John 1:1-4: test
    return rows


@pytest.fixture
def db(tmp_path, monkeypatch):
    import babelbridge.assets

    monkeypatch.setattr(babelbridge.assets, "fetch_asset", lambda *a, **k: pytest.fail("the asset was fetched"))
    return make_db(tmp_path / "bible.db", verses())


def tiny_lmt(tmp_path, db):
    from babelbridge.bridges import save_prompted_baseline

    save_prompted_baseline("tiny-random:llama", tmp_path / "llm")
    langs = [EN, DE, FR, TR]
    spec = {
        "name": "tiny-lmt", "title": "Tiny LMT",
        "base": {
            "method": "lora", "decoder": "tiny-random:llama",
            "bridge": {"r": 4, "alpha": 8, "dropout": 0.0, "max_source_tokens": 64, "max_target_tokens": 48},
            "data": {"multiway": {"corpus": {"format": "bible", "path": str(db), "split": "train"}, "langs": langs,
                                  "hubs": [EN], "directions": "hub-centric", "limit": 8},
                     "valid": [{"format": "bible", "path": str(db), "split": "dev", "src_lang": DE}]},
            "train": {"optimizer": "adamw", "lr": 3e-3, "global_batch_size": 4, "micro_batch_size": 4,
                      "max_steps": 3, "eval_every": 3, "save_every": 1, "keep_last": 1},
        },
        "systems": {
            "p100": {"describe": "every pair", "set": {}},
            "p25": {"describe": "a quarter of X->En", "set": {"data.downsample": {"into": [EN], "keep": 0.25}}},
            "pmp": {"describe": "PMP in training", "set": {"data.multiway.pmp": True, "bridge.pmp": True}},
            "pmp-o": {"describe": "PMP-O", "bridge_of": "pmp", "pmp": "oracle"},
            "pmp-s": {"describe": "PMP-S", "bridge_of": "pmp", "pmp": "self"},
            "llm": {"describe": "the LLM alone", "bridge": str(tmp_path / "llm")},
        },
        "evaluation": {"testset": f"bible:{db}:test", "langs": langs, "directions": "hub-centric", "hubs": [EN],
                       "max_new_tokens": 4, "batch_size": 4, "baseline": "p100"},
        "report": {"paper": {"trap": "p = 5% prevents it"}, "compare": [{"system": "pmp-o", "against": "pmp"}],
                   "groups": {"Romance": [FR], "others": [DE, TR]}},
    }
    path = tmp_path / "lmt.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_any_to_any_experiment_with_downsampling_and_pmp_twins(tmp_path, db, capsys):
    path, out = tiny_lmt(tmp_path, db), tmp_path / "out"
    assert main(["experiment", "--config", str(path), "--out", str(out), "-q"]) == 0
    assert "trained now: p100, p25, pmp; already trained: none" in capsys.readouterr().out
    results = json.loads((out / "eval" / "results.json").read_text())
    assert results["systems"] == ["p100", "p25", "pmp", "pmp-o", "pmp-s", "llm"]
    names = [d["name"] for d in results["directions"]]
    assert names == [f"{a}-{b}" for x in (DE, FR, TR) for a, b in ((x, EN), (EN, x))]
    # PMP: every system reads the verses the auxiliary has too (all four here), and the twins
    # translate with the auxiliary the training rule gives (HIGH_RESOURCE among the languages).
    aux = auxiliary_languages([tuple(n.split("-")) for n in names], [EN, DE, FR, TR])
    assert {d: a.lang for d, a in aux.items()} == {(DE, EN): FR, (EN, DE): FR, (FR, EN): DE, (EN, FR): DE,
                                                   (TR, EN): FR, (EN, TR): FR}
    bridge = babelbridge.bridges.load_bridge(out / "runs" / "pmp" / "bridge")
    gen = {"num_beams": 1, "max_new_tokens": 4, "truncate": True}
    number = {"4": EN, "e": DE, "l": FR, "t": TR}
    test_verses = {lang: [TEXT[bb].format(200 + v) for v in range(1, 5)] for bb, lang in number.items()}
    for name, seg in results["segments"].items():
        src, tgt = name.split("-")
        a = aux[(src, tgt)].lang
        assert seg["sources"] == test_verses[src]
        assert seg["hypotheses"]["pmp-o"] == bridge.translate(seg["sources"], src, tgt, aux_texts=test_verses[a],
                                                              aux_lang=a, **gen), name
        assert seg["hypotheses"]["pmp-s"] == bridge.translate(seg["sources"], src, tgt, aux_lang=a, **gen), name
        assert seg["hypotheses"]["pmp"] == bridge.translate(seg["sources"], src, tgt, **gen), name

    report = json.loads((out / "report.json").read_text())
    # 8 verses in each of 6 directions; p25 keeps round(0.25 * 8) = 2 of each X->En direction
    assert report["training_data"]["p100"] | {"english_repeat_mean": None} == {
        "pairs": 48, "x_en": 24, "en_x": 24, "x_y": 0, "with_auxiliary": 0, "english_targets": 8,
        "english_repeat_mean": None, "english_repeat_max": 3}
    assert report["training_data"]["p100"]["english_repeat_mean"] == 3.0
    assert (report["training_data"]["p25"]["x_en"], report["training_data"]["p25"]["en_x"]) == (6, 24)
    assert report["training_data"]["pmp"]["with_auxiliary"] == 48
    for system in ("p25", "pmp-o", "llm"):
        for cls in ("X->En", "En->X"):
            cell = report["averages"][system]["chrf++"][cls]
            scores = [results["scores"][system][n]["chrf++"] for n in names
                      if (cls == "X->En") == n.endswith(EN)]
            assert cell["score"] == pytest.approx(sum(s["score"] for s in scores) / 3)
            assert cell["gap"] == pytest.approx(cell["score"] - cell["floor"])
    assert set(report["pooled"]["X->En"]["chrf++"]) == {"p25", "pmp", "pmp-o", "pmp-s", "llm"}
    assert report["outputs"]["p100"]["X->En"]["segments"] == 12
    # recall of training text is counted for every system (4-token outputs hold no word 6-gram)
    assert {report["outputs"][s][c]["recalled"] for s in results["systems"] for c in ("X->En", "En->X")} == {0.0}
    assert report["references_recalled"] == {"X->En": 0.0, "En->X": 0.0}
    # report.groups and report.compare: PMP-O against the same bridge without PMP, per class and group
    others = [results["scores"]["p25"][f"{x}-{EN}"]["chrf++"]["score"] for x in (DE, TR)]
    assert report["groups"]["averages"]["p25"]["chrf++"]["X->En"]["others"]["score"] == pytest.approx(sum(others) / 2)
    tests = {(t["class"], t["group"]): t for t in report["compare"]}
    assert list(tests) == [(c, g) for c in ("X->En", "En->X") for g in ("all", "Romance", "others")]
    assert tests[("X->En", "Romance")]["directions"] == [f"{FR}-{EN}"]
    x_en = [n for n in names if n.endswith(EN)]
    for system, key in (("pmp-o", "score"), ("pmp", "baseline_score")):
        pooled = sacrebleu.corpus_chrf([h for n in x_en for h in results["segments"][n]["hypotheses"][system]],
                                       [[r for n in x_en for r in results["segments"][n]["references"]]], word_order=2)
        assert tests[("X->En", "all")]["chrf++"][key] == pytest.approx(pooled.score)
    text = (out / "report.md").read_text()
    for heading in ("## Training data", "## chrF++ by class", "## Off-target rate",
                    "## By group of languages", "## Paired comparisons (report.compare)",
                    "## Output length, loops, identical outputs and recalled training text", "## The paper's figures", "## Training",
                    "- **pmp-o**: PMP-O (PMP at inference: oracle)"):
        assert heading in text, heading

    # Again: nothing trained, every translation from the cache, the same scores.
    assert main(["experiment", "--config", str(path), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "trained now: none; already trained: p100, p25, pmp" in captured.out
    assert "translated" not in captured.err
    assert json.loads((out / "eval" / "results.json").read_text())["scores"] == results["scores"]
    # --status knows the twins
    assert main(["experiment", "--config", str(path), "--out", str(out), "--status"]) == 0
    status = capsys.readouterr().out
    assert "pmp's bridge, translating with PMP (oracle)" in status and "translated 6/6" in status


@pytest.mark.parametrize("change, message", [
    ({"systems.x": {"bridge_of": "nobody", "pmp": "self"}},
     "systems.x.bridge_of: 'nobody' must name a system listed before it"),
    ({"systems.x": {"bridge_of": "p100"}}, "systems.x: bridge_of p100 with the same settings is the same system"),
    ({"systems.x": {"bridge_of": "p100", "pmp": "self", "set": {}}},
     "systems.x: bridge_of evaluates another system's bridge; it takes describe and pmp, not set"),
    ({"systems.x": {"set": {}, "pmp": "both"}}, "systems.x.pmp must be oracle (the test set's auxiliary sentences) "
                                                "or self"),
    ({"evaluation.hubs": ["eng_Latn"], "evaluation.directions": None},
     "evaluation.hubs goes with evaluation.directions"),
    ({"evaluation.groups": {"A": ["deu_Latn"]}}, "evaluation.groups is not used with evaluation.directions"),
    ({"evaluation.directions": "de>en"}, "evaluation: --directions 'de>en'"),
    ({"evaluation.aux_lang": "deu_Latn", "systems.pmp-o": None, "systems.pmp-s": None},
     "evaluation.aux_lang is the auxiliary language of PMP systems; no system has pmp"),
    ({"evaluation.aux_lang": "deu_Latn"}, "evaluation: --aux-lang deu_Latn is a side of the direction deu_Latn -> eng_Latn"),
])
def test_any_to_any_experiment_file_mistakes_are_named(tmp_path, db, change, message):
    path = tiny_lmt(tmp_path, db)
    spec = yaml.safe_load(path.read_text())
    for key, value in change.items():
        section, name = key.split(".")
        if value is None:
            spec[section].pop(name, None)
        else:
            spec[section][name] = value
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(BabelBridgeError) as err:
        load_experiment(path)
    assert message in str(err.value)


def test_shipped_lmt_experiment_is_valid_in_both_versions(capsys):
    from babelbridge.data.multiway import MultiwaySpec

    assert "lmt" in EXPERIMENTS
    full, quick = load_experiment(experiment_file("lmt")), load_experiment(experiment_file("lmt"), quick=True)
    assert list(full.systems) == ["lmt-p100", "lmt-p5", "lmt-p20", "lmt-p5-pmp", "lmt-p5-pmp-o", "lmt-p5-pmp-s",
                                  "smollm2-alone"]
    # identical budgets; only the downsampling share and PMP vary
    assert {(s.run["train"]["max_steps"], s.run["train"]["global_batch_size"]) for s in full.trained} == {(150, 16)}
    keep = {s.name: (s.run["data"].get("downsample") or {}).get("keep", 1.0) for s in full.trained}
    assert keep == {"lmt-p100": 1.0, "lmt-p5": 0.05, "lmt-p20": 0.2, "lmt-p5-pmp": 0.05}
    assert [s.name for s in full.trained if s.run["data"]["multiway"].get("pmp")] == ["lmt-p5-pmp"]
    assert full.systems["lmt-p5-pmp"].run["bridge"]["pmp"] is True
    assert {n: (s.bridge_of, s.pmp) for n, s in full.systems.items() if s.bridge_of} == {
        "lmt-p5-pmp-o": ("lmt-p5-pmp", "oracle"), "lmt-p5-pmp-s": ("lmt-p5-pmp", "self")}
    mw = full.systems["lmt-p100"].run["data"]["multiway"]
    assert len(mw["langs"]) == 9 and mw["hubs"] == ["eng_Latn"] and mw["limit"] == 150
    assert full.evaluation["langs"] == mw["langs"] and len(full.testset_names()) == 16
    # Inference reads each direction with the auxiliary the PMP system was trained with.
    trained = MultiwaySpec.from_dict(full.systems["lmt-p5-pmp"].run["data"]["multiway"]).auxiliaries
    evaluated = auxiliary_languages([tuple(n.split("-")) for n in full.testset_names()], full.evaluation["langs"])
    assert {d: a.lang for d, a in evaluated.items()} == {d: a.lang for d, a in trained.items()}
    assert {s.run["train"]["max_steps"] for s in quick.trained} == {8} and quick.evaluation["limit"] == 4
    assert main(["experiment", "lmt", "--dry-run"]) == 0
    assert ("lmt-p5-pmp-o             lmt-p5-pmp's bridge, PMP oracle -> " in capsys.readouterr().out)
