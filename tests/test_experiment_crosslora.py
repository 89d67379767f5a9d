"""The experiment runner's pseudo-corpus step (CrossLoRA's recipe: stage 1, the pivot, stage 2)
on a tiny random LLM and a fake Bible, and the shipped crosslora experiment's settings."""

import json
import re

import pytest
import yaml

import babelbridge.bridges
from babelbridge.cli.main import main
from babelbridge.errors import BabelBridgeError
from babelbridge.experiments import EXPERIMENTS, experiment_file, load_experiment
from test_bible import make_db

EN, DE, FR = "eng_Latn", "deu_Latn", "fra_Latn"
TEXT = {"4": "Verse {} in English.", "e": "Vers {} auf Deutsch.", "l": "Verset {} en français."}
LANG = {"4": EN, "e": DE, "l": FR}
SKIP, LIMIT, NEW_TOKENS = 6, 3, 5


def verses():
    rows = []
    for bb, text in TEXT.items():
        rows += [(bb, 1, 1, v, text.format(v)) for v in range(1, 10)]  # Genesis 1:1-9: train
        rows.append((bb, 17, 1, 1, text.format(100)))  # Esther: dev
        rows += [(bb, 43, 1, v, text.format(200 + v)) for v in range(1, 4)]  # John 1:1-3: test
    return rows


@pytest.fixture
def db(tmp_path, monkeypatch):
    import babelbridge.assets

    monkeypatch.setattr(babelbridge.assets, "fetch_asset", lambda *a, **k: pytest.fail("the asset was fetched"))
    return make_db(tmp_path / "bible.db", verses())


@pytest.fixture
def fake_langid(monkeypatch):
    """Every output is called German: outputs into French are off-target, into German kept."""
    from babelbridge.evaluate import langid

    monkeypatch.setattr(langid, "identify", lambda texts, memo=None: ["deu"] * len(texts))
    monkeypatch.setattr(langid, "accepted_codes", lambda lang: {"deu"} if lang == DE else {"fra"})
    monkeypatch.setattr(langid, "identifier_version", lambda: "fake-id 1")


def tiny_crosslora(tmp_path, db, **pseudo):
    bridge = {"languages": [EN, DE, FR], "r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["gate_proj"],
              "max_source_tokens": 64, "max_target_tokens": 48}
    spec = {
        "name": "tiny-crosslora", "title": "Tiny CrossLoRA",
        "base": {
            "method": "crosslora", "decoder": "tiny-random:qwen3", "bridge": bridge,
            "data": {"multiway": {"corpus": {"format": "bible", "path": str(db), "split": "train"},
                                  "langs": [EN, DE, FR], "hubs": [EN], "directions": "hub-centric", "limit": SKIP},
                     "valid": [{"format": "bible", "path": str(db), "split": "dev", "src_lang": DE}]},
            "train": {"optimizer": "adamw", "lr": 3e-3, "global_batch_size": 4, "micro_batch_size": 4,
                      "max_steps": 2, "eval_every": 2, "save_every": 1, "keep_last": 1},
        },
        "systems": {
            "stage1": {"describe": "English-centric", "set": {}},
            "stage2": {"describe": "+ the pseudo-corpus", "with_pseudo": True, "set": {}},
            "lora": {"describe": "LoRA on stage 2's data", "with_pseudo": True,
                     "set": {"method": "lora", "bridge": {"r": 8, "alpha": 16, "target_modules": ["gate_proj"],
                                                          "max_source_tokens": 64, "max_target_tokens": 48}}},
        },
        "pseudo": {"translator": "stage1", "corpus": {"format": "bible", "path": str(db), "split": "train"},
                   "langs": [EN, DE, FR], "skip": SKIP, "limit": LIMIT, "batch_size": 2,
                   "max_new_tokens": NEW_TOKENS, "max_length_ratio": 1000, **pseudo},
        "evaluation": {"testset": f"bible:{db}:test", "langs": [EN, DE, FR], "directions": "all", "hubs": [EN],
                       "max_new_tokens": 4, "batch_size": 4, "baseline": "stage2"},
    }
    path = tmp_path / "crosslora.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def read_lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_stage_two_trains_on_the_pseudo_corpus_its_stage_one_translated(tmp_path, db, fake_langid, capsys,
                                                                       monkeypatch):
    path, out = tiny_crosslora(tmp_path, db), tmp_path / "out"
    assert main(["experiment", "--config", str(path), "--out", str(out), "-q"]) == 0
    assert "trained now: stage1, stage2, lora; already trained: none" in capsys.readouterr().out

    # The corpus is stage 1's bridge pivoting the held-out verses (Genesis 1:7-9) X -> English -> Y.
    stage1 = babelbridge.bridges.load_bridge(out / "runs" / "stage1" / "bridge")
    gen = {"num_beams": 1, "max_new_tokens": NEW_TOKENS, "batch_size": 2}
    expected = []
    for x, y in ((DE, FR), (FR, DE)):
        bb = next(b for b, lang in LANG.items() if lang == x)
        sources = [TEXT[bb].format(v) for v in range(SKIP + 1, SKIP + LIMIT + 1)]
        pivots = stage1.translate(sources, x, EN, **gen)
        outputs = stage1.translate(pivots, EN, y, **gen)
        if y == DE:  # the fake identifier calls every output German: French targets are all dropped
            expected += [{"src": s, "tgt": t, "src_lang": x, "tgt_lang": y, "pivot": p, "pivot_lang": EN}
                         for s, p, t in zip(sources, pivots, outputs) if p.strip() and t.strip()]
    corpus = out / "pseudo" / "corpus.jsonl"
    assert read_lines(corpus) == expected
    counts = json.loads((out / "pseudo" / "corpus.jsonl.report.json").read_text())
    assert [(d["src_lang"], d["tgt_lang"], d["candidates"], d["dropped"]["language_id"] + d["dropped"]["empty_output"]
             + d["dropped"]["empty_pivot"], d["kept"]) for d in counts["directions"]] == [
        (DE, FR, LIMIT, LIMIT, 0), (FR, DE, LIMIT, LIMIT - len(expected), len(expected))]
    step = json.loads((out / "pseudo" / "step.json").read_text())
    assert step["translator"] == "stage1"
    assert step["translator_sha256"] == json.loads((out / "runs" / "stage1" / "trained.json").read_text())["sha256"]

    # Stage 2 and the baseline list the corpus, relative to their run folder, after stage 1's data.
    for system in ("stage2", "lora"):
        run = yaml.safe_load((out / "runs" / system / "config.yaml").read_text())
        assert run["data"]["train"] == [{"format": "jsonl", "path": "../../pseudo/corpus.jsonl", "src_lang": None,
                                         "tgt_lang": None, "pivot_lang": EN}]
        assert json.loads((out / "runs" / system / "run_config.json").read_text())["train_pairs"] == 4 * SKIP + len(
            expected)
    assert "train" not in yaml.safe_load((out / "runs" / "stage1" / "config.yaml").read_text())["data"]

    report = json.loads((out / "report.json").read_text())
    assert report["pseudo_corpus"]["total"]["kept"] == len(expected)
    assert report["training_data"]["stage1"]["x_y"] == 0
    assert report["training_data"]["stage2"]["x_y"] == len(expected)
    assert report["training_data"]["stage2"]["pairs"] == 4 * SKIP + len(expected)
    text = (out / "report.md").read_text()
    assert "## Pseudo-corpus" in text
    assert f"| {DE}->{FR} | {LIMIT} |" in text.replace("  ", " ")

    # Run again: nothing is trained or pivoted again.
    import babelbridge.experiments.pseudo_step as pseudo_step

    monkeypatch.setattr(pseudo_step, "build_experiment_pseudo", lambda *a, **k: pytest.fail("pivoted again"))
    assert main(["experiment", "--config", str(path), "--out", str(out), "-q"]) == 0
    assert "trained now: none; already trained: stage1, stage2, lora" in capsys.readouterr().out
    assert main(["experiment", "--config", str(path), "--out", str(out), "--status"]) == 0
    assert (f"  pseudo-corpus            made by stage1's bridge: {len(expected)} pairs kept of {2 * LIMIT} "
            f"(pseudo/corpus.jsonl)") in capsys.readouterr().out

    # Other pseudo settings on the same folder are refused before anything loads.
    other = tiny_crosslora(tmp_path, db, limit=2)
    assert main(["experiment", "--config", str(other), "--out", str(out), "-q"]) == 2
    assert ("pseudo/step.json was written for other pseudo-corpus settings (they differ in: limit); a full run "
            "and a --quick run need different --out folders") in capsys.readouterr().err


def test_a_stage_two_system_alone_brings_its_translator_and_the_pivot(tmp_path, db, fake_langid, capsys):
    path, out = tiny_crosslora(tmp_path, db), tmp_path / "out"
    out.mkdir()
    assert main(["experiment", "--config", str(path), "--out", str(out), "--status"]) == 0
    assert ("  pseudo-corpus            not made yet (after stage1 is trained, before the first system that "
            "trains on it)") in capsys.readouterr().out
    assert main(["experiment", "--config", str(path), "--out", str(out), "--systems", "lora", "-q"]) == 0
    assert "trained now: stage1, lora; already trained: none" in capsys.readouterr().out
    assert (out / "pseudo" / "corpus.jsonl").is_file() and not (out / "runs" / "stage2").exists()


def write_spec(tmp_path, db, edit):
    path = tiny_crosslora(tmp_path, db)
    spec = yaml.safe_load(path.read_text())
    edit(spec)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.pop("pseudo"), "systems.stage2.with_pseudo: the system trains on the experiment's pseudo-corpus, so "
                                "it needs set: (it is trained here) and the file a pseudo: section"),
    (lambda s: s["systems"]["stage2"].update(with_pseudo="yes"), "systems.stage2.with_pseudo must be true or false"),
    (lambda s: s["pseudo"].update(translator="lora"), "pseudo.translator 'lora' trains on the pseudo-corpus it "
                                                      "would make"),
    (lambda s: s["pseudo"].update(translator="nobody"), "pseudo.translator must name a system trained in this "
                                                        "experiment that translates"),
    (lambda s: s.update(systems={"stage2": s["systems"]["stage2"], "stage1": s["systems"]["stage1"]}),
     "systems stage2 train on the pseudo-corpus, so they must be listed after its translator stage1"),
    (lambda s: s["pseudo"].update(langs=[EN, DE, "spa_Latn"]), "pseudo.langs: the translator stage1 (crosslora) "
                                                               "has no expert for spa_Latn"),
    (lambda s: s["pseudo"].update(langs=[EN, DE]), "pseudo.langs: a pseudo-corpus needs at least two languages "
                                                   "besides the pivot"),
    (lambda s: s["pseudo"].update(corpus={"format": "tsv", "path": "x.tsv"}), "pseudo.corpus must be a multi-way "
                                                                            "corpus"),
    (lambda s: s["pseudo"].update(skip=-1), "pseudo.skip must be an integer >= 0, got -1"),
    (lambda s: s["pseudo"].update(max_length_ratio=1), "pseudo.max_length_ratio must be a number > 1"),
    (lambda s: s["pseudo"].update(beams=2), "unknown key(s) in pseudo: beams; accepted: batch_size, corpus"),
    (lambda s: [s.update(quick={"pseudo": {"limit": 1}}), s.pop("pseudo")]
     + [v.pop("with_pseudo", None) for v in s["systems"].values()],
     "quick.pseudo changes the pseudo: section, which the file does not have"),
])
def test_pseudo_sections_are_checked_before_anything_loads(tmp_path, db, edit, message):
    with pytest.raises(BabelBridgeError, match=re.escape(message)):
        load_experiment(write_spec(tmp_path, db, edit))


def test_shipped_crosslora_experiment():
    assert "crosslora" in EXPERIMENTS
    spec = load_experiment(experiment_file("crosslora"))
    names = list(spec.systems)
    assert names == ["crosslora-stage1", "crosslora-stage2", "crosslora-branch-stage2", "lora-matched-stage2",
                     "molora-top1-stage2", "molora-static-stage2", "smollm2-alone"]
    assert [n for n in names if spec.systems[n].with_pseudo] == names[1:6]
    assert spec.pseudo["translator"] == "crosslora-stage1"
    # The held-out sources start where stage 1's verses end.
    assert spec.pseudo["skip"] == spec.systems["crosslora-stage1"].run["data"]["multiway"]["limit"]
    assert spec.dependencies("molora-static-stage2") == ["crosslora-stage1"]
    # Identical budgets: every trained system takes the same steps, batch, optimiser and R-Drop.
    trains = {n: {k: s.run["train"][k] for k in ("max_steps", "global_batch_size", "lr", "rdrop_alpha", "seed")}
              for n, s in spec.systems.items() if s.trained}
    assert len({json.dumps(t, sort_keys=True) for t in trains.values()}) == 1
    assert spec.any_to_any and len(spec.testset_names()) == 12
    quick = load_experiment(experiment_file("crosslora"), quick=True)
    assert quick.pseudo["skip"] == quick.systems["crosslora-stage1"].run["data"]["multiway"]["limit"] == 8


def test_shipped_baselines_match_crosslora_in_size():
    """The matched LoRA takes the rank ExpertLoRABridge.matched_lora_options gives for the base
    CrossLoRA (on a tiny LLM with the same projections: the count is per rank, in + out of each
    adapted Linear, so it does not depend on the model's sizes), and the same trainable count."""
    from babelbridge.backbones import load_decoder
    from babelbridge.bridges import build_bridge

    spec = load_experiment(experiment_file("crosslora"))
    cross_options = spec.systems["crosslora-stage1"].run["bridge"]
    lora_options = spec.systems["lora-matched-stage2"].run["bridge"]
    decoder = load_decoder("tiny-random:qwen3")
    cross = build_bridge("crosslora", None, decoder, cross_options)
    assert {k: lora_options[k] for k in ("r", "alpha", "target_modules")} == cross.matched_lora_options() == {
        "r": 64, "alpha": 256, "target_modules": ["gate_proj", "up_proj", "down_proj"]}
    lora = build_bridge("lora", None, load_decoder("tiny-random:qwen3"), lora_options)
    assert lora.parameter_counts()["trainable"] == cross.parameter_counts()["trainable"]
    static = spec.systems["molora-static-stage2"].run["bridge"]
    assert static["languages"] == cross_options["languages"]
    assert spec.systems["molora-top1-stage2"].run["bridge"]["num_experts"] == len(cross_options["languages"])
