"""The `babelbridge` command, run in-process (plus one real subprocess for the exit path)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import METHODS, build_bridge, save_bridge
from babelbridge.cli.main import main
from babelbridge.runconfig import TOP_LEVEL_KEYS

ROOT = Path(__file__).resolve().parents[1]
ACCEPTED_KEYS = "accepted: " + ", ".join(sorted(TOP_LEVEL_KEYS))


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(out: str) -> list[list[str]]:
    """The language table's rows (header and rule dropped), split on runs of 2+ spaces."""
    lines = out.strip().splitlines()
    assert lines[0].split()[:5] == ["code", "name", "script", "family", "branch"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    return [re.split(r"\s{2,}", line.strip()) for line in lines[2:]]


# ---- languages ----------------------------------------------------------------------------


def test_languages_by_branch(capsys):
    code, out, err = run_cli(capsys, "languages", "--branch", "Germanic")
    assert code == 0
    rows = table_rows(out)
    codes = [r[0] for r in rows]
    assert {"deu_Latn", "nld_Latn", "eng_Latn", "swe_Latn"} <= set(codes)
    assert "fra_Latn" not in codes
    assert all(r[-1] == "Germanic" for r in rows)
    assert codes == sorted(codes)
    assert err == f"{len(rows)} language(s)\n"


def test_languages_query_by_name(capsys):
    code, out, err = run_cli(capsys, "languages", "german")
    assert code == 0
    assert table_rows(out) == [["deu_Latn", "German", "Latn", "Indo-European", "Germanic"]]
    assert err == "1 language(s)\n"


def test_languages_combined_filters(capsys):
    code, out, _ = run_cli(capsys, "languages", "--family", "Indo-European", "--script", "Cyrl")
    assert code == 0
    codes = [r[0] for r in table_rows(out)]
    assert "rus_Cyrl" in codes and "ukr_Cyrl" in codes
    assert all(c.endswith("_Cyrl") for c in codes)


def test_languages_typo_exits_2_with_closest_code(capsys):
    code, out, err = run_cli(capsys, "languages", "deu_Latm")
    assert code == 2
    assert out == ""
    assert err.startswith("babelbridge languages: error: unknown language code 'deu_Latm'; closest valid codes: deu_Latn")
    assert err.count("\n") == 1


def test_languages_subprocess_error_is_one_line_and_exit_2():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run(
        [sys.executable, "-m", "babelbridge.cli.main", "languages", "xx_Yyyy"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("babelbridge languages: error: unknown language code 'xx_Yyyy'")
    assert "Traceback" not in proc.stderr


# ---- inspect: configs -----------------------------------------------------------------------


def test_inspect_paper_config_counts(capsys):
    code, out, err = run_cli(capsys, "inspect", str(ROOT / "configs" / "hca-paper-deu-eng.yaml"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "method     hca"
    assert lines[1] == "encoder    facebook/nllb-200-1.3B  (m2m_100, hidden 1024)  766,091,264 frozen"
    assert lines[2] == "decoder    Qwen/Qwen3-4B  (qwen3, hidden 2560, 36 layers)  4,022,468,096 frozen"
    assert lines[3].startswith("trainable  476,222,500  (9.0% of 5,264,781,860)")
    assert "bottleneck_dim=2048" in lines[-1]


def test_inspect_config_equals_inspect_of_its_checkpoint(capsys, tmp_path):
    """The meta-device count of a config is the count of the real bridge it describes."""
    config = tmp_path / "tiny.yaml"
    config.write_text("method: hca\nencoder: tiny-random:m2m100\ndecoder: tiny-random:qwen3\n"
                      "bridge: {bottleneck_dim: 16}\n")
    code, from_config, err = run_cli(capsys, "inspect", str(config))
    assert code == 0, err
    bridge = build_bridge("hca", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"),
                          {"bottleneck_dim": 16})
    save_bridge(bridge, tmp_path / "ckpt")
    code, from_checkpoint, err = run_cli(capsys, "inspect", str(tmp_path / "ckpt"))
    assert code == 0, err
    config_lines, checkpoint_lines = from_config.splitlines(), from_checkpoint.splitlines()
    assert config_lines[:4] == checkpoint_lines[:4]  # method, encoder, decoder, trainable
    assert config_lines[-1] == checkpoint_lines[-1]  # config
    # The per-module lines agree too (the checkpoint lists them sorted by name).
    assert sorted(config_lines[4:-1]) == sorted(checkpoint_lines[4:-1])
    assert f"trainable  {bridge.parameter_counts()['trainable']:,}  " in from_config


# ---- inspect: checkpoints -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    bridge = build_bridge("hca", load_encoder("tiny-random:bert"), load_decoder("tiny-random:qwen3"),
                          {"bottleneck_dim": 16})
    path = save_bridge(bridge, tmp_path_factory.mktemp("ckpt") / "bridge")
    return bridge, path


def test_inspect_checkpoint(capsys, tiny_checkpoint):
    bridge, path = tiny_checkpoint
    counts = bridge.parameter_counts()
    code, out, err = run_cli(capsys, "inspect", str(path))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "method     hca"
    assert lines[1] == f"encoder    tiny-random:bert  (bert, hidden 24)  {counts['encoder']:,} frozen"
    assert lines[2] == f"decoder    tiny-random:qwen3  (qwen3, hidden 32, 2 layers)  {counts['decoder']:,} frozen"
    total = counts["trainable"] + counts["encoder"] + counts["decoder"]
    assert lines[3] == (f"trainable  {counts['trainable']:,}  "
                        f"({100 * counts['trainable'] / total:.1f}% of {total:,})")
    # One line per kind of module, summing to the trainable count.
    groups = [line.split() for line in lines[4:-1]]
    assert sum(int(g[1].replace(",", "")) for g in groups) == counts["trainable"]
    assert ["blocks.*.gate", "2"] in groups  # one scalar gate per decoder layer, layers folded
    assert lines[-1].startswith("config     bottleneck_dim=16, ")


def test_inspect_directory_that_is_not_a_checkpoint(capsys, tmp_path):
    code, out, err = run_cli(capsys, "inspect", str(tmp_path))
    assert code == 2 and out == ""
    assert err == (f"babelbridge inspect: error: {tmp_path} is not a bridge checkpoint: "
                   f"missing bridge.safetensors, bridge.json\n")


def test_inspect_missing_path(capsys, tmp_path):
    missing = tmp_path / "nope.yaml"
    code, out, err = run_cli(capsys, "inspect", str(missing))
    assert code == 2 and out == ""
    assert err == (f"babelbridge inspect: error: {missing} is neither a bridge checkpoint directory, "
                   f"a config file, nor a shipped bridge (pocket-hca-deu-eng, pocket-smollm2-zero-shot)\n")


def write(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_inspect_yaml_with_unknown_top_level_key(capsys, tmp_path):
    path = write(tmp_path, "method: hca\nencoder: tiny-random:bert\ndecoder: tiny-random:qwen3\nbridges: {}\n")
    code, out, err = run_cli(capsys, "inspect", str(path))
    assert code == 2 and out == ""
    assert err == f"babelbridge inspect: error: {path}: unknown key(s) bridges; {ACCEPTED_KEYS}\n"
    assert {"method", "encoder", "decoder", "bridge"} <= TOP_LEVEL_KEYS


def test_inspect_yaml_with_missing_keys(capsys, tmp_path):
    path = write(tmp_path, "method: hca\nencoder: tiny-random:bert\n")
    code, _, err = run_cli(capsys, "inspect", str(path))
    assert code == 2
    assert err == f"babelbridge inspect: error: {path}: missing key(s) decoder; {ACCEPTED_KEYS}\n"


def test_inspect_yaml_that_is_not_a_mapping(capsys, tmp_path):
    path = write(tmp_path, "- hca\n- tiny-random:bert\n")
    code, _, err = run_cli(capsys, "inspect", str(path))
    assert code == 2
    assert err == (f"babelbridge inspect: error: {path} must hold a mapping of "
                   f"{', '.join(sorted(TOP_LEVEL_KEYS))}\n")


def test_inspect_yaml_with_unknown_bridge_option(capsys, tmp_path):
    path = write(tmp_path, "method: hca\nencoder: tiny-random:bert\ndecoder: tiny-random:qwen3\n"
                           "bridge: {bottleneck: 16}\n")
    code, _, err = run_cli(capsys, "inspect", str(path))
    assert code == 2
    assert err.startswith("babelbridge inspect: error: unknown HCAConfig option(s): bottleneck; accepted: ")
    assert "bottleneck_dim" in err


def test_inspect_yaml_with_unknown_method(capsys, tmp_path):
    path = write(tmp_path, "method: xbridge9\nencoder: tiny-random:bert\ndecoder: tiny-random:qwen3\n")
    code, _, err = run_cli(capsys, "inspect", str(path))
    assert code == 2
    accepted = ", ".join(sorted(METHODS))
    assert err == f"babelbridge inspect: error: unknown bridge method 'xbridge9'; accepted: {accepted}\n"
    assert {"hca", "lora", "prompted"} <= set(METHODS)


def test_inspect_yaml_with_misspelt_encoder_option(capsys, tmp_path):
    path = write(tmp_path, "method: hca\nencoder: tiny-random:bert\ndecoder: tiny-random:qwen3\n"
                           "encoder_options: {text_prefx: 'query: '}\n")
    code, _, err = run_cli(capsys, "inspect", str(path))
    assert code == 2
    assert "text_prefx" in err


# ---- help -----------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, phrases", [
    ([], ["Give a frozen LLM many languages through small trainable bridges.", "languages", "inspect",
          "list the FLORES-200 language codes", "show a bridge checkpoint or config"]),
    (["languages"], ["List language codes with name, script, family and branch.", "--family", "--branch",
                     "--script"]),
    (["inspect"], ["Print the method, the backbones and the trainable/frozen parameter counts",
                   "PATH_OR_CONFIG"]),
])
def test_help_exits_0_and_states_purpose(capsys, argv, phrases):
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal width
    for phrase in phrases:
        assert phrase in out


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err


def test_smoke_hca_config_trains_through_the_cli_and_loss_goes_down(capsys, tmp_path):
    """`babelbridge train configs/smoke-tiny.yaml`: 40 steps, loss and validation loss fall, the
    bridge is saved, and starting the finished run again does nothing."""
    import json

    from babelbridge.bridges import load_bridge

    config = ROOT / "configs" / "smoke-tiny.yaml"
    argv = ["train", str(config), "--set", f"train.output_dir={tmp_path / 'run'}"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    valid = [r["val_loss"] for r in records if "val_loss" in r]
    assert len(losses) == 40 and losses[-1] < 0.6 * losses[0]
    assert len(valid) == 4 and valid[-1] < valid[0]
    assert "trained 40 steps" in out
    assert load_bridge(tmp_path / "run" / "bridge").method == "hca"
    assert main(argv) == 0
    assert "nothing to do" in capsys.readouterr().out
