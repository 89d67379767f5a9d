"""`babelbridge experiment`: spec checks, the report's tables, and a whole tiny experiment that
trains, evaluates, reports and resumes without redoing anything."""

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import yaml

from babelbridge.cli.main import main
from babelbridge.errors import BabelBridgeError
from babelbridge.evaluate.report import Cell, build_report
from babelbridge.experiments import EXPERIMENTS, experiment_file, load_experiment
from babelbridge.experiments.report import build, main_table, same_pair_section
from babelbridge.experiments.runner import TrainingSummary, close_killed_sessions

ROOT = Path(__file__).resolve().parents[1]
SMOKE_TRAIN = ROOT / "configs" / "data" / "smoke-deu-eng.train.tsv"
SMOKE_VALID = ROOT / "configs" / "data" / "smoke-deu-eng.valid.tsv"


def tiny_experiment(tmp_path: Path, *, steps: int = 6, **extra) -> Path:
    """Three trained systems (two HCA, one LoRA) and a given zero-shot baseline on tiny random
    backbones; test set: JSONL in two source languages."""
    from babelbridge.bridges import save_prompted_baseline

    zero_shot = tmp_path / "zero-shot"
    if not zero_shot.exists():
        save_prompted_baseline("tiny-random:qwen3", zero_shot, postprocess="strip")
    lines = [json.dumps({"src": s, "tgt": t, "src_lang": lang})
             for lang in ("deu_Latn", "fra_Latn")
             for s, t in (ln.split("\t") for ln in SMOKE_VALID.read_text().splitlines()[:6])]
    (tmp_path / "test.jsonl").write_text("\n".join(lines) + "\n")
    spec = {
        "name": "tiny", "title": "Tiny experiment",
        "base": {
            "method": "hca", "encoder": "tiny-random:m2m100", "decoder": "tiny-random:qwen3",
            "bridge": {"bottleneck_dim": 8, "max_source_tokens": 64, "max_target_tokens": 48},
            "data": {"train": [{"format": "tsv", "path": str(SMOKE_TRAIN), "src_lang": "deu_Latn"}],
                     "valid": [{"format": "tsv", "path": str(SMOKE_VALID), "src_lang": "deu_Latn"}]},
            "train": {"optimizer": "adamw", "lr": 3e-3, "global_batch_size": 8, "micro_batch_size": 8,
                      "max_steps": steps, "eval_every": steps, "save_every": 2, "keep_last": 1},
        },
        "systems": {
            "hca-deu": {"describe": "HCA on German", "set": {}},
            "hca-both": {"describe": "HCA on German twice (as if two languages)",
                         "set": {"data.mix": "balanced", "data.mix_size": 40,  # as the oracle: a size, and a
                                 # validation set that is read whole, not mixed
                                 "data.train": [{"format": "tsv", "path": str(SMOKE_TRAIN), "src_lang": "deu_Latn"},
                                                {"format": "tsv", "path": str(SMOKE_TRAIN), "src_lang": "fra_Latn"}]}},
            "hca-no-qr": {"describe": "without the query-residual adapter",
                          "set": {"bridge.query_residual_adapter": False}},
            "lora": {"describe": "LoRA", "set": {"method": "lora", "encoder": None,
                                                   "bridge": {"r": 4, "alpha": 8, "dropout": 0.0}}},
            "zero-shot": {"describe": "the LLM alone", "bridge": str(zero_shot)},
        },
        "evaluation": {"testset": f"jsonl:{tmp_path / 'test.jsonl'}", "langs": ["deu_Latn", "fra_Latn"],
                       "groups": {"Low": ["fra_Latn"]}, "max_new_tokens": 6, "batch_size": 4,
                       "metrics": ["chrf++", "bleu"], "baseline": "zero-shot"},
        "report": {"zero_shot": "hca-deu", "oracle": "hca-both", "ablation_full": "hca-deu",
                   "ablations": ["hca-no-qr"], "ablation_reference": "zero-shot", "ablation_groups": ["Low", "All"],
                   # two one-pair systems (both German here: the mechanism, not a real pivot test)
                   "pivots": ["hca-deu", "hca-no-qr"], "same_pair_baselines": ["lora"]},
        "quick": {"set": {"train.max_steps": 2, "train.eval_every": 2}, "evaluation": {"limit": 3}},
        **extra,
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_tiny_experiment_trains_evaluates_reports_and_resumes_without_redoing(tmp_path, capsys):
    path, out = tiny_experiment(tmp_path), tmp_path / "out"
    assert main(["experiment", "--config", str(path), "--out", str(out), "-q"]) == 0
    first = capsys.readouterr().out
    assert "trained now: hca-deu, hca-both, hca-no-qr, lora; already trained: none" in first

    for name in ("hca-deu", "hca-both", "hca-no-qr", "lora"):
        run = out / "runs" / name
        assert (run / "bridge" / "bridge.safetensors").is_file()
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert config["train"]["max_steps"] == 6 and config["train"]["output_dir"] == str(run.resolve())
        assert json.loads((run / "timing.json").read_text())["seconds"] > 0
    assert yaml.safe_load((out / "runs" / "lora" / "config.yaml").read_text())["method"] == "lora"
    assert "encoder" not in yaml.safe_load((out / "runs" / "lora" / "config.yaml").read_text())

    results = json.loads((out / "eval" / "results.json").read_text())
    assert results["systems"] == ["hca-deu", "hca-both", "hca-no-qr", "lora", "zero-shot"]
    assert results["groups"] == {"Low": ["fra_Latn"]}
    assert len(results["segments"]["fra_Latn"]["hypotheses"]["lora"]) == 6
    report = json.loads((out / "report.json").read_text())
    chrf = results["averages"]
    num, den = chrf["hca-deu"]["chrf++"]["All"]["score"], chrf["hca-both"]["chrf++"]["All"]["score"]
    expected = None if den == 0 else num / den  # random tiny models may well score 0
    (ratio,) = [r for r in report["ratios"] if r["metric"] == "chrf++" and r["what"] == "score" and r["group"] == "All"]
    assert ratio["zero_shot"] == num and ratio["oracle"] == den and ratio["ratio"] == pytest.approx(expected)
    assert report["training"]["hca-deu"]["steps"] == 6 and report["training"]["hca-deu"]["source_gap"] is not None
    # Zero-shot against oracle on the language hca-deu never saw (fra), as one pooled corpus.
    pooled = {r["metric"]: r for r in report["zero_shot_vs_oracle_pooled"]}
    assert set(pooled) == {"chrf++", "bleu"} and pooled["chrf++"]["testsets"] == ["fra_Latn"]
    assert pooled["chrf++"]["segments"] == 6 and (pooled["chrf++"]["baseline"], pooled["chrf++"]["system"]) == ("hca-both", "hca-deu")
    assert pooled["chrf++"]["score"] == pytest.approx(results["scores"]["hca-deu"]["fra_Latn"]["chrf++"]["score"])
    # The second pivot against the first on what neither was trained on (fra).
    pivots = {r["metric"]: r for r in report["pivots_pooled"]}
    assert set(pivots) == {"chrf++", "bleu"} and pivots["bleu"]["testsets"] == ["fra_Latn"]
    assert (pivots["bleu"]["baseline"], pivots["bleu"]["system"]) == ("hca-deu", "hca-no-qr")
    assert pivots["chrf++"]["score"] == pytest.approx(results["scores"]["hca-no-qr"]["fra_Latn"]["chrf++"]["score"])
    # LoRA against hca-deu where they meet: the pair both trained on (deu), what neither saw (fra), the groups.
    same_pair = {r["group"]: r for r in report["same_pair_baselines_pooled"] if r["metric"] == "chrf++"}
    assert {g: r["testsets"] for g, r in same_pair.items()} == {
        "trained": ["deu_Latn"], "unseen": ["fra_Latn"], "Low": ["fra_Latn"], "All": ["deu_Latn", "fra_Latn"]}
    assert (same_pair["All"]["baseline"], same_pair["All"]["system"]) == ("hca-deu", "lora")
    assert same_pair["trained"]["score"] == pytest.approx(results["scores"]["lora"]["deu_Latn"]["chrf++"]["score"])
    # Each ablation against the full model, on each of Table 4's groups (Low: fra; All: deu + fra).
    ablations = {(r["metric"], r["group"]): r for r in report["ablations_pooled"]}
    assert set(ablations) == {(m, g) for m in ("chrf++", "bleu") for g in ("Low", "All")}
    assert ablations[("chrf++", "All")]["segments"] == 12 and ablations[("chrf++", "Low")]["testsets"] == ["fra_Latn"]
    assert (ablations[("bleu", "Low")]["baseline"], ablations[("bleu", "Low")]["system"]) == ("hca-deu", "hca-no-qr")
    assert ablations[("chrf++", "Low")]["score"] == pytest.approx(results["scores"]["hca-no-qr"]["fra_Latn"]["chrf++"]["score"])
    assert report["trained_languages"]["hca-both"] == ["deu_Latn", "fra_Latn"]
    text = (out / "report.md").read_text()
    for heading in ("per source language (the layout of the paper's Table 2)", "Zero-shot / oracle",
                    "## Which pair to train on: hca-deu vs hca-no-qr",
                    "Ablations (chrF++; the layout of the paper's Table 4)", "## Training"):
        assert heading in text
    assert (out / "eval" / "chart_chrfpp.png").is_file()

    # Started again: nothing trained, nothing translated, same scores.
    weights = {n: os.stat(out / "runs" / n / "bridge" / "bridge.safetensors").st_mtime_ns
               for n in ("hca-deu", "lora")}
    assert main(["experiment", "--config", str(path), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "trained now: none; already trained: hca-deu, hca-both, hca-no-qr, lora" in captured.out
    # each trained system's check right after its (skipped) training, then the evaluation: 8 + 10
    assert "translated" not in captured.err and captured.err.count("from the cache") == 18
    assert weights == {n: os.stat(out / "runs" / n / "bridge" / "bridge.safetensors").st_mtime_ns
                       for n in ("hca-deu", "lora")}
    assert json.loads((out / "eval" / "results.json").read_text())["averages"] == results["averages"]

    # The quick version into the same folder: other settings, refused before anything loads.
    assert main(["experiment", "--config", str(path), "--out", str(out), "--quick"]) == 2
    err = capsys.readouterr().err
    assert "was written for other settings of system hca-deu (they differ in: train)" in err
    assert "need different --out folders" in err


def test_a_partial_run_reports_what_is_ready_and_resumes_from_committed_files_without_weights(tmp_path, capsys):
    """Sessions: train one system; commit the folder without weights; elsewhere, train another."""
    import shutil

    path, out = tiny_experiment(tmp_path), tmp_path / "out"
    assert main(["experiment", "--config", str(path), "--out", str(out), "--systems", "hca-deu", "-q"]) == 0
    assert ("trained now: hca-deu; already trained: none; not trained yet: hca-both, hca-no-qr, lora"
            in capsys.readouterr().out)
    results = json.loads((out / "eval" / "results.json").read_text())
    assert results["systems"] == ["hca-deu", "zero-shot"]
    report = json.loads((out / "report.json").read_text())
    assert report["pending"] == ["hca-both", "hca-no-qr", "lora"]
    assert report["ratios"] == [] and report["ablations"] == []  # their oracle and ablations are not trained
    assert "**Not trained yet**" in (out / "report.md").read_text() and "- lora: LoRA" in (out / "report.md").read_text()
    record = json.loads((out / "runs" / "hca-deu" / "trained.json").read_text())
    timed = json.loads((out / "eval" / "translation_seconds.json").read_text())
    assert sorted(timed) == ["hca-deu", "zero-shot"] and sorted(timed["hca-deu"]) == ["deu_Latn", "fra_Latn"]
    assert record["checkpoint"] == "runs/hca-deu/bridge" and set(record["sha256"]) >= {"bridge.safetensors"}

    # What git keeps: everything but the weights, in a folder elsewhere.
    shutil.rmtree(out / "runs" / "hca-deu" / "bridge")
    shutil.rmtree(out / "runs" / "hca-deu" / "checkpoints")
    moved = tmp_path / "elsewhere" / "out"
    shutil.copytree(out, moved)
    (moved / "runs" / "hca-deu" / "config.yaml").write_text(  # its output_dir named the old folder
        (out / "runs" / "hca-deu" / "config.yaml").read_text().replace(str(out.resolve()), str(moved.resolve())))
    assert main(["experiment", "--config", str(path), "--out", str(moved), "--systems", "hca-no-qr"]) == 0
    captured = capsys.readouterr()
    assert "trained now: hca-no-qr; already trained: none; not trained yet: hca-both, lora" in captured.out
    assert "hca-deu deu_Latn: 6 translations from the cache" in captured.err
    again = json.loads((moved / "eval" / "results.json").read_text())
    timed_again = json.loads((moved / "eval" / "translation_seconds.json").read_text())
    assert timed_again["hca-deu"] == timed["hca-deu"] and sorted(timed_again) == ["hca-deu", "hca-no-qr", "zero-shot"]
    assert again["systems"] == ["hca-deu", "hca-no-qr", "zero-shot"]
    assert again["averages"]["hca-deu"] == results["averages"]["hca-deu"]
    assert [r["system"] for r in json.loads((moved / "report.json").read_text())["ablations"]
            if r["metric"] == "chrf++"] == ["hca-deu", "hca-no-qr", "zero-shot"]

    # Neither weights nor cached translations: a clear error, not a silent retraining.
    shutil.rmtree(moved / "eval" / "cache")
    assert main(["experiment", "--config", str(path), "--out", str(moved), "--systems", "hca-no-qr"]) == 2
    err = capsys.readouterr().err
    assert "system hca-deu needs translating, but its bridge" in err
    assert "delete " + str(moved / "runs" / "hca-deu" / "trained.json") + " to train it again" in err
    assert main(["experiment", "--config", str(path), "--out", str(moved), "--systems", "hca-de"]) == 2
    assert ("--systems: no system 'hca-de' in tiny (did you mean hca-deu?); systems: hca-deu, hca-both, "
            "hca-no-qr, lora, zero-shot") in capsys.readouterr().err


def test_an_interrupted_system_resumes_from_its_checkpoint(tmp_path, capsys):
    """A run killed after its step-2 checkpoint: the next invocation finishes it from there."""
    from babelbridge.experiments.runner import is_trained, last_checkpoint_time, run_dir, train_system

    spec = load_experiment(tiny_experiment(tmp_path))
    out = tmp_path / "out"
    system = spec.systems["hca-deu"]
    short = type(system)(system.name, system.describe, run={**system.run, "train": {**system.run["train"], "max_steps": 2}})
    train_system(out, short)  # as if killed right after step 2: remove what only the end writes
    import shutil

    shutil.rmtree(run_dir(out, system) / "bridge")
    (run_dir(out, system) / "config.yaml").unlink()
    assert not is_trained(out, system)
    # ... killed, so its timing entry was never closed: it counts up to its checkpoint, 50 s.
    started = round(last_checkpoint_time(run_dir(out, system)) - 50.0)
    (run_dir(out, system) / "timing.json").write_text(json.dumps(
        {"seconds": 0.0, "sessions": [{"started": started, "seconds": None}]}))
    train_system(out, system)
    assert "resuming from" in capsys.readouterr().out
    steps = [json.loads(ln)["step"] for ln in (run_dir(out, system) / "metrics.jsonl").read_text().splitlines()
             if "loss" in json.loads(ln)]
    assert steps == [1, 2, 3, 4, 5, 6]
    timing = json.loads((run_dir(out, system) / "timing.json").read_text())
    killed, resumed = timing["sessions"]
    assert killed["started"] == started and killed["killed"] and 49.5 <= killed["seconds"] <= 51.0
    assert resumed["from_step"] == 2  # where it resumed: --status's pace counts steps from there
    assert resumed["seconds"] > 0 and timing["seconds"] == pytest.approx(killed["seconds"] + resumed["seconds"], abs=0.11)


def test_a_run_folder_may_differ_in_checkpointing_but_not_in_what_it_trains(tmp_path):
    import yaml

    from babelbridge.experiments.runner import check_run_dir, run_dir, system_run_config

    spec = load_experiment(tiny_experiment(tmp_path))
    out, system = tmp_path / "out", spec.systems["hca-deu"]
    config = run_dir(out, system) / "config.yaml"
    config.parent.mkdir(parents=True)
    written = system_run_config(out, system)
    written["train"].update(save_every=7, keep_last=3, log_every=2)
    config.write_text(yaml.safe_dump(written))
    check_run_dir(out, system)  # no error
    written["train"]["lr"] = 0.123
    config.write_text(yaml.safe_dump(written))
    with pytest.raises(BabelBridgeError, match="was written for other settings of system hca-deu"):
        check_run_dir(out, system)


def test_a_folder_in_use_by_another_experiment_is_refused_before_anything_runs(tmp_path, capsys):
    import fcntl

    from babelbridge.experiments.runner import LOCK

    path, out = tiny_experiment(tmp_path), tmp_path / "out"
    out.mkdir()
    with open(out / LOCK, "w") as held:  # as another process would hold it
        held.write("pid 4242, since 2026-12-01 15:00:00\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        assert main(["experiment", "--config", str(path), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"{out} is in use by another experiment (pid 4242, since 2026-12-01 15:00:00); wait for it" in err
        assert not (out / "runs").exists()
        fcntl.flock(held, fcntl.LOCK_UN)  # ended (a killed process's lock goes with it)
    assert main(["experiment", "--config", str(path), "--out", str(out), "--systems", "zero-shot"]) == 0


def test_status_reads_each_systems_state_from_the_folder_and_names_the_running_process(tmp_path, capsys):
    import fcntl

    from babelbridge.experiments.runner import LOCK
    from babelbridge.experiments.status import experiment_status, format_status

    path, out = tiny_experiment(tmp_path), tmp_path / "out"
    runs = out / "runs"
    # hca-deu finished; hca-both killed at step 5 after a checkpoint at step 4; hca-no-qr killed
    # before its first checkpoint; lora never started. Written by hand: nothing trains here.
    (runs / "hca-deu").mkdir(parents=True)
    (runs / "hca-deu" / "trained.json").write_text('{"system": "hca-deu", "sha256": {}}')
    (runs / "hca-deu" / "metrics.jsonl").write_text(
        '{"step": 6, "loss": 2.0}\n{"step": 6, "val_loss": 2.5, "source_gap": 0.25}\n')
    (runs / "hca-deu" / "timing.json").write_text('{"seconds": 90.0, "sessions": []}')
    (runs / "hca-both" / "checkpoints" / "step-0000004").mkdir(parents=True)
    (runs / "hca-both" / "checkpoints" / "step-0000004" / "trainer_state.json").write_text('{"step": 4}')
    (runs / "hca-both" / "checkpoints" / "tmp-step-0000006").mkdir()  # an unfinished save: not a checkpoint
    (runs / "hca-both" / "metrics.jsonl").write_text('{"step": 4, "loss": 3.0}\n{"step": 5, "loss": 2.9}\n')
    (runs / "hca-both" / "timing.json").write_text(  # its last session resumed at step 4, still open
        '{"seconds": 0.0, "sessions": [{"started": 1000.0, "from_step": 4, "seconds": null}]}')
    (runs / "hca-no-qr").mkdir()
    (runs / "hca-no-qr" / "metrics.jsonl").write_text('{"step": 1, "loss": 3.5}\n')
    (out / "eval").mkdir()
    (out / "eval" / "translation_seconds.json").write_text(
        '{"hca-deu": {"deu_Latn": 1.0, "fra_Latn": 2.0}, "zero-shot": {"deu_Latn": 1.5}}')

    assert main(["experiment", "--config", str(path), "--out", str(out), "--status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "running now: no experiment process"
    assert [" ".join(line.split()) for line in lines[3:]] == [
        "hca-deu trained, 6 steps, 1.5 min, source gap 0.250; translated 2/2",
        "hca-both partly trained: checkpoint at step 4 of 6 (training resumes there), logged to step 5; translated 0/2",
        "hca-no-qr started, no checkpoint yet (logged to step 1 of 6; it restarts from step 0); translated 0/2",
        "lora not started; translated 0/2",
        "zero-shot given (not trained here); translated 1/2"]

    with open(out / LOCK, "w") as held:  # as a running experiment holds it
        held.write("pid 4242, since 2026-12-01 15:00:00\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        assert main(["experiment", "--config", str(path), "--out", str(out), "--status"]) == 0
        shown = capsys.readouterr().out.splitlines()
        assert shown[1] == "running now: pid 4242, since 2026-12-01 15:00:00"
        assert "hca-both" in shown[4] and "training now: step 5, " in shown[4]
        fcntl.flock(held, fcntl.LOCK_UN)
    # While it runs, the open session's pace: 1 step (4 -> 5) in 120 s, 1 step to go.
    spec = load_experiment(path)
    live = {s.name: s for s in experiment_status(spec, out, running=True, now=1120.0)}
    assert live["hca-both"].seconds_per_step == 120.0 and live["hca-no-qr"].seconds_per_step is None
    assert "; training now: step 5, 120.0 s a step this session, ~2 min to step 6; translated 0/2" in \
        format_status(spec, out, list(live.values()), "pid 1").splitlines()[4]
    assert experiment_status(spec, out, running=False, now=1120.0)[1].seconds_per_step is None
    assert main(["experiment", "--config", str(path), "--out", str(tmp_path / "none"), "--status"]) == 2
    assert "--status: " + str(tmp_path / "none") + " does not exist" in capsys.readouterr().err


def test_killed_training_sessions_count_up_to_their_last_checkpoint():
    # An old file's plain seconds; one session killed 120 s after it started, after checkpointing
    # at 100 s; the next killed before any checkpoint of its own (the checkpoint predates it).
    sessions = [30.0, {"started": 1000.0, "seconds": None}, {"started": 1200.0, "seconds": None}]
    assert close_killed_sessions(sessions, checkpoint_time=1100.0) == [
        {"seconds": 30.0}, {"started": 1000.0, "seconds": 100.0, "killed": True},
        {"started": 1200.0, "seconds": 0.0, "killed": True}]
    assert close_killed_sessions([{"started": 5.0, "seconds": None}], checkpoint_time=None) == [
        {"started": 5.0, "seconds": 0.0, "killed": True}]


def test_report_tables_averages_ratio_and_ablations_from_fake_scores(tmp_path):
    spec = load_experiment(tiny_experiment(tmp_path))
    langs = ["deu_Latn", "fra_Latn"]
    fake = {  # chrF++ (score, floor) per language
        "hca-deu": [(40.0, 20.0), (30.0, 20.0)], "hca-both": [(42.0, 20.0), (38.0, 21.0)],
        "hca-no-qr": [(20.0, 18.0), (10.0, 9.0)], "lora": [(45.0, 15.0), (12.0, 11.0)],
        "zero-shot": [(25.0, 24.0), (5.0, 4.0)],
    }
    scores = {s: {l: {"chrf++": Cell(sc, fl)} for l, (sc, fl) in zip(langs, v)} for s, v in fake.items()}
    report = build_report(scores, languages=langs, groups={"Low": ["fra_Latn"]},
                          ratios=[("hca-deu", "hca-both")], title="Fake")
    summaries = {"hca-deu": TrainingSummary("hca-deu", steps=6, seconds=90.0, val_loss=2.5,
                                            val_loss_mismatched_src=3.0, source_gap=0.5, train_pairs=80)}
    built = build(spec, report, summaries, run={"argv": ["babelbridge", "experiment", "x"]},
                  translation_seconds={"hca-deu": {"deu_Latn": 60.0, "fra_Latn": 30.0}, "zero-shot": {"deu_Latn": 12.0}})

    # Table 2: row per system, trained languages marked, group then overall averages.
    table = main_table(spec, report, "chrf++").splitlines()
    assert table[0] == "| system | deu | fra | avg Low | avg All |"
    assert table[2] == "| hca-deu | 40.00† | 30.00 | 30.00 | 35.00 |"
    assert table[3] == "| hca-both | 42.00† | 38.00† | 38.00 | 40.00 |"
    assert table[6] == "| zero-shot | 25.00 | 5.00 | 5.00 | 15.00 |"
    gaps = main_table(spec, report, "chrf++", "gap").splitlines()
    assert gaps[2] == "| hca-deu | 20.00† | 10.00 | 10.00 | 15.00 |"

    # zero-shot / oracle: 35 / 40 overall, 30 / 38 on Low; gaps 15 / 19.5.
    ratios = {(r["what"], r["group"]): r["ratio"] for r in built.data["ratios"]}
    assert ratios[("score", "All")] == pytest.approx(35 / 40)
    assert ratios[("score", "Low")] == pytest.approx(30 / 38)
    assert ratios[("gap", "All")] == pytest.approx(15 / 19.5)
    # ... and on the languages hca-deu never saw (fra): 30 / 38, gaps 10 / 17.
    assert ratios[("score", "unseen")] == pytest.approx(30 / 38)
    assert ratios[("gap", "unseen")] == pytest.approx(10 / 17)
    assert "|  | avg Low | avg All | avg unseen |" in built.markdown
    assert "| chrF++ | 30.00 / 38.00 = 78.9% | 35.00 / 40.00 = 87.5% | 30.00 / 38.00 = 78.9% |" in built.markdown
    assert "avg unseen: the 1 language hca-deu was not trained on." in built.markdown
    pooled = [{"metric": "chrf++", "baseline": "hca-both", "system": "hca-deu", "testsets": ["fra_Latn"], "segments": 40,
               "baseline_score": 38.0, "score": 30.0, "difference": -8.0, "p": 0.004}]
    with_pooled = build(spec, report, summaries, pooled=pooled)
    assert "Pooled over those languages (40 segments as one corpus), hca-deu against hca-both" in with_pooled.markdown
    assert "| chrF++ | 38.00 | 30.00 | -8.00 | 0.004 |" in with_pooled.markdown
    assert with_pooled.data["zero_shot_vs_oracle_pooled"] == pooled and built.data["zero_shot_vs_oracle_pooled"] == []

    # Which pair: hca-no-qr against hca-deu where neither was trained (fra): 10 / 30, gaps 1 / 10.
    pivot = {(r["what"], r["system"], r["group"]): r for r in built.data["pivots"] if r["metric"] == "chrf++"}
    assert set(g for _, _, g in pivot) == {"Low", "All"}  # both reduced to fra; deu is trained on
    assert pivot[("score", "hca-no-qr", "All")]["value"] == 10.0
    assert pivot[("score", "hca-no-qr", "All")]["ratio_to_reference"] == pytest.approx(10 / 30)
    assert pivot[("gap", "hca-no-qr", "Low")]["ratio_to_reference"] == pytest.approx(1 / 10)
    assert pivot[("score", "hca-deu", "All")]["ratio_to_reference"] == 1.0
    assert "Averages over the 1 test language none of them was trained on (Low 1, All 1)" in built.markdown
    assert "| chrF++, hca-no-qr (deu) | 10.00 (33.3%) | 10.00 (33.3%) |" in built.markdown
    assert "| gap over floor, hca-deu (deu) | 10.00 | 10.00 |" in built.markdown
    pivot_pooled = [{"metric": "bleu", "baseline": "hca-deu", "system": "hca-no-qr", "testsets": ["fra_Latn"],
                     "segments": 40, "baseline_score": 3.0, "score": 1.5, "difference": -1.5, "p": 0.02}]
    with_pivots = build(spec, report, summaries, pivots_pooled=pivot_pooled)
    assert "(40 segments as one corpus), hca-no-qr against hca-deu, paired bootstrap" in with_pivots.markdown
    assert "| BLEU | 3.00 | 1.50 | -1.50 | 0.020 |" in with_pivots.markdown
    assert with_pivots.data["pivots_pooled"] == pivot_pooled
    only_one = build(replace(spec, report={**spec.report, "pivots": ["hca-deu"]}), report, summaries)
    assert "Which pair" not in only_one.markdown and only_one.data["pivots"] == []
    assert spec.restricted(["hca-deu", "hca-both", "zero-shot"]).report["pivots"] == ["hca-deu"]

    # Against the same pair's baseline (lora, also trained on deu only): ahead at home, behind on fra.
    same_pair = {(r["what"], r["system"], r["group"]): r for r in built.data["same_pair_baselines"]
                 if r["metric"] == "chrf++"}
    assert set(g for _, _, g in same_pair) == {"trained", "unseen", "Low", "All"}
    assert same_pair[("score", "lora", "trained")]["delta_vs_reference"] == pytest.approx(45.0 - 40.0)
    assert same_pair[("score", "lora", "unseen")]["delta_vs_reference"] == pytest.approx(12.0 - 30.0)
    assert same_pair[("gap", "lora", "All")]["value"] == pytest.approx((30.0 + 1.0) / 2)
    assert same_pair[("score", "hca-deu", "All")]["delta_vs_reference"] == 0.0
    assert "## Against baselines trained on the same pair: hca-deu vs lora" in built.markdown
    assert "| chrF++, lora | 45.00 (+5.00) | 12.00 (-18.00) | 12.00 (-18.00) | 28.50 (-6.50) |" in built.markdown
    assert "| gap over floor, hca-deu | 20.00 | 10.00 | 10.00 | 15.00 |" in built.markdown
    same_pair_pooled = [{"metric": "bleu", "group": "unseen", "baseline": "hca-deu", "system": "lora",
                         "testsets": ["fra_Latn"], "segments": 40, "baseline_score": 3.0, "score": 0.5,
                         "difference": -2.5, "p": 0.001}]
    with_same_pair = build(spec, report, summaries, same_pair_pooled=same_pair_pooled)
    assert "| lora | BLEU | unseen | 40 | 3.00 | 0.50 | -2.50 | 0.001 |" in with_same_pair.markdown
    assert with_same_pair.data["same_pair_baselines_pooled"] == same_pair_pooled
    without_lora = spec.restricted(["hca-deu", "hca-both", "zero-shot"])
    assert without_lora.report["same_pair_baselines"] == []
    assert same_pair_section(without_lora, report) == ([], [])

    ablation_pooled = [{"metric": "chrf++", "group": "Low", "baseline": "hca-deu", "system": "hca-no-qr",
                        "testsets": ["fra_Latn"], "segments": 40, "baseline_score": 30.0, "score": 10.0,
                        "difference": -20.0, "p": 0.001}]
    with_ablations = build(spec, report, summaries, ablations_pooled=ablation_pooled)
    assert "Each variant against hca-deu, the segments of each group pooled as one corpus" in with_ablations.markdown
    assert "| hca-no-qr | chrF++ | Low | 40 | 30.00 | 10.00 | -20.00 | 0.001 |" in with_ablations.markdown
    assert with_ablations.data["ablations_pooled"] == ablation_pooled and built.data["ablations_pooled"] == []
    assert "Each variant against" not in built.markdown

    # Table 4: the ablation's delta against the full model, and the LLM alone.
    (ablation,) = [r for r in built.data["ablations"] if r["system"] == "hca-no-qr"]
    assert ablation["Low"] == {"score": 10.0, "delta_vs_full": -20.0, "gap": 1.0}
    assert ablation["All"]["delta_vs_full"] == pytest.approx(15.0 - 35.0)
    assert "| hca-no-qr | 10.00 | -20.00 | 1.00 | 15.00 | -20.00 | 1.50 |" in built.markdown
    assert "| zero-shot | 5.00 | -25.00 | 1.00 | 15.00 | -20.00 | 1.00 |" in built.markdown
    assert "| hca-deu | HCA on German | deu | 80 | 6 | 1.5 | – | 2.500 | 3.000 | 0.500 |" in built.markdown
    assert "    babelbridge experiment x" in built.markdown
    assert ("Training: 1.5 min in all. Translating every test set: 1.7 min in all; hca-deu 1.5, hca-both 0.0, "
            "hca-no-qr 0.0, lora 0.0, zero-shot 0.2 min.") in built.markdown


def test_shipped_one_pair_experiment_is_valid_in_both_versions(capsys):
    assert "one-pair" in EXPERIMENTS
    full = load_experiment(experiment_file("one-pair"))
    quick = load_experiment(experiment_file("one-pair"), quick=True)
    assert list(full.systems) == ["hca-deu", "hca-arb", "hca-oracle", "hca-no-source-adapter",
                                  "hca-no-query-residual", "lora-deu", "llink-deu-align", "llink-deu", "xbridge-enc-deu",
                                  "smollm2-alone"]
    assert len(full.evaluation["langs"]) == 21 and full.evaluation["limit"] == 32
    oracle = full.systems["hca-oracle"].run
    assert oracle["data"]["mix"] == "balanced" and len(oracle["data"]["train"]) == 21
    assert full.systems["hca-arb"].run["data"]["train"][0]["src_lang"] == "arb_Arab"
    assert full.systems["hca-no-source-adapter"].run["bridge"]["source_adapter"] is False
    # The same batch and optimiser everywhere; 600 steps, but for the systems whose training must
    # fit one 3-hour CPU session (LLINK's stage B, XBridge's encoder side: 200).
    budgets = {s.name: (s.run["train"]["max_steps"], s.run["train"]["global_batch_size"]) for s in full.trained}
    assert {n for n, b in budgets.items() if b == (200, 16)} == {"llink-deu", "xbridge-enc-deu"}
    assert {b for n, b in budgets.items() if n not in ("llink-deu", "xbridge-enc-deu")} == {(600, 16)}
    assert full.systems["xbridge-enc-deu"].run["bridge"]["decoder_side"] is False
    assert {s.run["train"]["max_steps"] for s in quick.trained} == {40}
    assert quick.evaluation["groups"] == {"High": ["deu_Latn", "fra_Latn", "rus_Cyrl", "arb_Arab", "hin_Deva",
                                                   "zho_Hans"], "Low": ["swh_Latn", "tgl_Latn"]}
    assert main(["experiment", "one-pair", "--quick", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "hca-oracle               trained: hca, 40 steps of 16, many languages" in out


@pytest.mark.parametrize("change, message", [
    ({"systems": {"a": {"sett": {}}}}, "unknown key(s) in systems.a: sett; accepted: bridge, bridge_of, describe, init_from, pmp, set"),
    ({"systems": {"a": {"set": {"bridge.bottleneck_dimm": 4}}}}, "systems.a"),
    ({"systems": {"a": {"set": {}, "bridge": "x"}}}, "give either bridge (a trained checkpoint) or set"),
    ({"evaluation": {"testset": "bible:test", "langs": ["deu_Latn"], "baseline": "nobody"}},
     "evaluation.baseline 'nobody' is not a system"),
    ({"evaluation": {"testset": "bible:test", "langs": ["deutsch-x"]}}, "evaluation.langs"),
    ({"report": {"oracle": "nobody"}}, "report names nobody, not among the systems"),
    ({"report": {"same_pair_baselines": ["lora-xx"]}}, "report names lora-xx, not among the systems"),
    ({"quick": None}, "--quick: this experiment defines no quick version"),
])
def test_experiment_file_mistakes_are_named(tmp_path, change, message):
    path = tiny_experiment(tmp_path)
    spec = yaml.safe_load(path.read_text())
    spec.update(change)
    if "systems" in change:
        spec["report"] = {}
        spec["evaluation"]["baseline"] = None
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(BabelBridgeError) as err:
        load_experiment(path, quick=change == {"quick": None})
    assert message in str(err.value)


def test_experiment_cli_argument_mistakes(tmp_path, capsys):
    assert main(["experiment", "one-pir", "--dry-run"]) == 2
    assert "unknown experiment 'one-pir'; did you mean one-pair?" in capsys.readouterr().err
    assert main(["experiment", "--dry-run"]) == 2
    assert "give a shipped experiment NAME (one-pair, llink, lmt, crosslora) or --config PATH, not neither" in capsys.readouterr().err
    assert main(["experiment", "one-pair"]) == 2
    assert "--out DIR is required" in capsys.readouterr().err
    assert main(["experiment", "--config", str(tmp_path / "missing.yaml"), "--dry-run"]) == 2
    assert f"experiment file {tmp_path / 'missing.yaml'} does not exist" in capsys.readouterr().err


def test_mix_size_without_a_mixture_is_refused_before_any_model(tmp_path):
    from babelbridge.runconfig import load_run_config
    from babelbridge.train.pipeline import plan_training

    config = ROOT / "configs" / "smoke-tiny.yaml"
    with pytest.raises(BabelBridgeError) as err:
        plan_training(load_run_config(config, ["data.mix_size=10"]))
    assert str(err.value) == ("data.mix_size applies to the weighted and balanced mixtures; set data.mix to one "
                              "of them, or remove mix_size (concat takes every pair)")
    plan_training(load_run_config(config, ["data.mix_size=10", "data.mix=balanced"]))  # accepted


def tiny_llink_experiment(tmp_path: Path) -> Path:
    """LLINK's two stages (init_from), a retrieval section, on tiny random backbones."""
    lines = [json.dumps({"src": s, "tgt": t, "src_lang": "deu_Latn"})
             for s, t in (ln.split("\t") for ln in SMOKE_VALID.read_text().splitlines()[:6])]
    (tmp_path / "test.jsonl").write_text("\n".join(lines) + "\n")
    spec = {
        "name": "tiny-llink", "title": "Tiny LLINK",
        "base": {
            "method": "llink", "encoder": "tiny-random:bert", "decoder": "tiny-random:qwen3",
            "bridge": {"stage": "inject", "queue_size": 32, "hard_negatives": 4, "max_target_tokens": 48},
            "data": {"train": [{"format": "tsv", "path": str(SMOKE_TRAIN), "src_lang": "deu_Latn"}],
                     "valid": [{"format": "tsv", "path": str(SMOKE_VALID), "src_lang": "deu_Latn", "limit": 8}]},
            "train": {"optimizer": "adamw", "lr": 3e-3, "global_batch_size": 8, "micro_batch_size": 8,
                      "max_steps": 3, "eval_every": 3, "save_every": 2, "keep_last": 1},
        },
        "systems": {
            "align": {"describe": "stage A", "set": {"bridge.stage": "align", "train.eval_source_gap": False}},
            "inject": {"describe": "stage B", "init_from": "align", "set": {}},
        },
        "evaluation": {"testset": f"jsonl:{tmp_path / 'test.jsonl'}", "langs": ["deu_Latn"], "max_new_tokens": 5,
                       "batch_size": 4, "metrics": ["chrf++"]},
        "retrieval": {"testset": f"jsonl:{tmp_path / 'test.jsonl'}", "langs": ["deu_Latn"],
                      "systems": ["align", "inject"]},
    }
    path = tmp_path / "llink.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_staged_experiment_chains_init_from_scores_retrieval_and_restores_a_lost_first_stage(tmp_path, capsys):
    from safetensors.torch import load_file

    path, out = tiny_llink_experiment(tmp_path), tmp_path / "out"
    assert main(["experiment", "--config", str(path), "--out", str(out), "--systems", "inject"]) == 0
    assert "trained now: align, inject" in capsys.readouterr().out  # the earlier stage came along
    config = yaml.safe_load((out / "runs" / "inject" / "config.yaml").read_text())
    assert config["train"]["init_from"] == str((out / "runs" / "align" / "bridge").resolve())
    align = load_file(out / "runs" / "align" / "bridge" / "bridge.safetensors")
    inject = load_file(out / "runs" / "inject" / "bridge" / "bridge.safetensors")
    assert all(torch.equal(align[k], inject[k]) for k in align)  # the projector is held fixed in stage B
    results = json.loads((out / "eval" / "results.json").read_text())
    assert results["systems"] == ["inject"]  # stage A aligns vectors, it does not translate
    report = json.loads((out / "report.json").read_text())
    assert [(r["row"], r["lang"], r["n"]) for r in report["retrieval"]] == [
        ("before", "deu_Latn", 6), ("chance", "deu_Latn", 6), ("align", "deu_Latn", 6), ("inject", "deu_Latn", 6)]
    assert report["retrieval"][2]["r@1"] == report["retrieval"][3]["r@1"]  # the same projector
    assert report["training"]["align"]["val_retrieval_r1"] is not None
    assert report["training"]["inject"]["slot_gap"] is not None
    text = (out / "report.md").read_text()
    assert "## Retrieval (the LLINK paper's R@1)" in text and "inflation" in text

    # Another machine: the results committed without weights; stage B is to be trained again from
    # scratch, so stage A is trained again first, to the same checksums.
    for name in ("align", "inject"):
        shutil.rmtree(out / "runs" / name / "bridge")
        shutil.rmtree(out / "runs" / name / "checkpoints")
    (out / "runs" / "inject" / "trained.json").unlink()
    recorded = {f: (out / "runs" / "align" / f).read_text() for f in ("metrics.jsonl", "timing.json")}
    assert main(["experiment", "--config", str(path), "--out", str(out), "--systems", "inject"]) == 0
    captured = capsys.readouterr()
    assert "inject starts from align, whose bridge is not here: training align again" in captured.err
    assert "align restored in" in captured.err
    # the rerun reproduces the recorded run: the same metrics (once, not appended), the recorded time
    def losses(text):
        return [(r["step"], r.get("loss"), r.get("val_loss")) for r in map(json.loads, text.splitlines())]

    assert losses((out / "runs" / "align" / "metrics.jsonl").read_text()) == losses(recorded["metrics.jsonl"])
    assert (out / "runs" / "align" / "timing.json").read_text() == recorded["timing.json"]
    assert torch.equal(load_file(out / "runs" / "inject" / "bridge" / "bridge.safetensors")["slots.scale"],
                       inject["slots.scale"])  # deterministic all the way
    assert json.loads((out / "report.json").read_text())["retrieval"] == report["retrieval"]  # from the cache


def test_shipped_llink_experiment_is_valid_in_both_versions():
    assert "llink" in EXPERIMENTS
    full = load_experiment(experiment_file("llink"))
    quick = load_experiment(experiment_file("llink"), quick=True)
    assert [s.name for s in full.trained if not s.translates] == ["llink-hin-align", "llink-deu-align"]
    assert {n: s.init_from for n, s in full.systems.items() if s.init_from} == {
        "llink-hin": "llink-hin-align", "llink-hin-no-usage": "llink-hin-align", "llink-deu": "llink-deu-align"}
    assert full.systems["llink-hin-no-usage"].run["bridge"]["usage_weight"] == 0.0
    budget = {s.name: (s.run["train"]["max_steps"], s.run["train"]["global_batch_size"]) for s in full.trained}
    # Stage B, its ablation and LoRA (the paper's direct fine-tuning) share one session-sized
    # budget; stage A keeps the one-pair one.
    assert budget == {"llink-hin-align": (600, 16), "llink-deu-align": (600, 16), "lora-hin": (200, 16),
                      "llink-hin": (200, 16), "llink-hin-no-usage": (200, 16), "llink-deu": (200, 16)}
    assert full.retrieval["limit"] == 1000 and quick.retrieval["limit"] == 64
    assert full.dependencies("llink-hin") == ["llink-hin-align"]


def test_one_pair_and_llink_experiments_train_german_llink_alike():
    """So one run folder serves both (the runner compares exactly these settings)."""
    from babelbridge.experiments.runner import _comparable

    one_pair, llink = load_experiment(experiment_file("one-pair")), load_experiment(experiment_file("llink"))
    for name in ("llink-deu-align", "llink-deu"):
        assert _comparable(one_pair.systems[name].run) == _comparable(llink.systems[name].run), name
    assert one_pair.systems["llink-deu"].init_from == "llink-deu-align"
