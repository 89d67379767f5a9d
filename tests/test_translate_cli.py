"""`babelbridge translate`: texts, stdin and files (plain/TSV/JSONL), atomic output, early errors."""

import io
import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import torch

import babelbridge.bridges
from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import build_bridge, load_bridge, save_bridge
from babelbridge.textio import one_line

ROOT = Path(__file__).resolve().parents[1]
MNT = "6"  # --max-new-tokens: the tiny random decoder rarely stops by itself

SENTENCES = [
    "Hallo",
    "Guten Morgen, wie geht es dir heute?",
    "Ja.",
    "Der Hund schläft unter dem Tisch, weil es draußen regnet.",
    "Wo ist der Bahnhof?",
    "Ich habe heute keine Zeit, aber morgen vielleicht, wenn das Wetter gut ist.",
    "Danke!",
    "Das Buch liegt auf dem Tisch.",
    "Kannst du mir bitte helfen?",
    "Nein",
    "Wir fahren im Sommer ans Meer und bleiben zwei Wochen.",
    "Gute Nacht.",
]


@pytest.fixture
def cli(run_cli):
    return partial(run_cli, "translate")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny random HCA bridge saved to disk, and the same bridge loaded back (the reference)."""
    torch.manual_seed(0)
    bridge = build_bridge("hca", load_encoder("tiny-random:bert"), load_decoder("tiny-random:qwen3"),
                          {"bottleneck_dim": 16, "adapter_up_init": "default"})
    path = save_bridge(bridge, tmp_path_factory.mktemp("ckpt") / "bridge")
    return path, load_bridge(path)


@pytest.fixture
def no_loading(monkeypatch):
    """Fail the test if the command gets as far as loading a model."""
    def fail(*args, **kwargs):
        pytest.fail("the model was loaded before the arguments were validated")

    monkeypatch.setattr(babelbridge.bridges, "load_bridge", fail)


def one_by_one(bridge, texts, src_lang="deu_Latn", tsv=False):
    """Each text translated alone: what the command must write for it, in its place."""
    return [one_line(bridge.translate([t], src_lang, max_new_tokens=int(MNT))[0], tsv=tsv) for t in texts]


def write_lines(path: Path, lines) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def read_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return text[:-1].split("\n")


# ---- files ----------------------------------------------------------------------------------------


def test_plain_file_in_input_order_with_blank_lines_kept(cli, checkpoint, tmp_path):
    path, ref = checkpoint
    lines = SENTENCES[:6] + [""] + SENTENCES[6:] + ["   "] + SENTENCES[::-1]  # 24 sources, 2 blank lines
    src, out = write_lines(tmp_path / "in.txt", lines), tmp_path / "out.txt"
    # --batch-size 2: chunks of 16, so two chunks, each split into length-sorted batches
    code, stdout, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", out,
                            "--batch-size", "2", "--max-new-tokens", MNT)
    assert code == 0, err
    assert stdout == ""
    assert "translated 24 source(s)" in err
    got = read_lines(out)
    assert len(got) == len(lines)
    assert got[6] == "" and got[13] == ""  # blank input lines stay blank, untranslated
    sources = [i for i, line in enumerate(lines) if line.strip()]
    assert [got[i] for i in sources] == one_by_one(ref, [lines[i] for i in sources])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out.txt"]  # no temporary file left


def test_tsv_keeps_columns_and_appends_translation(cli, checkpoint, tmp_path):
    path, ref = checkpoint
    rows = [[s, f"id{i}", f"note {i}"] for i, s in enumerate(SENTENCES[:5])]
    src = write_lines(tmp_path / "data.tsv", ["\t".join(r) for r in rows])
    out = tmp_path / "data.out.tsv"
    code, _, err = cli("--bridge", path, "--src-lang", "deu_Latn", "--input", src, "--output", out,
                       "--max-new-tokens", MNT, "--quiet")
    assert code == 0, err
    assert err == ""  # --quiet: no progress, no summary
    got = [line.split("\t") for line in read_lines(out)]
    assert [g[:-1] for g in got] == rows
    assert [g[-1] for g in got] == one_by_one(ref, [r[0] for r in rows], tsv=True)


def test_format_option_overrides_extension(cli, checkpoint, tmp_path):
    path, ref = checkpoint
    src = write_lines(tmp_path / "data.txt", [f"{SENTENCES[1]}\tx", f"{SENTENCES[2]}\ty"])
    out = tmp_path / "out.txt"
    code, _, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", out,
                       "--format", "tsv", "--max-new-tokens", MNT)
    assert code == 0, err
    expected = one_by_one(ref, SENTENCES[1:3], tsv=True)
    assert read_lines(out) == [f"{SENTENCES[1]}\tx\t{expected[0]}", f"{SENTENCES[2]}\ty\t{expected[1]}"]


def test_jsonl_keeps_keys_and_groups_by_src_lang(cli, checkpoint, tmp_path, monkeypatch):
    path, ref = checkpoint
    objects = [
        {"src": SENTENCES[0], "id": 1},
        {"text": "Bonjour tout le monde.", "src_lang": "fr", "meta": {"k": [1, 2]}},
        {"src": SENTENCES[3], "id": 3, "note": "ünïcödé"},
        {"src": "Où est la gare ?", "src_lang": "fra_Latn", "id": 4},
        {"src": SENTENCES[4], "id": 5, "translation": "stale"},
    ]
    src = write_lines(tmp_path / "mixed.jsonl", [json.dumps(o, ensure_ascii=False) for o in objects])
    out = tmp_path / "mixed.out.jsonl"
    calls = []
    original = ref.translate

    def translate(texts, src_lang, *args, **kwargs):
        calls.append((src_lang, list(texts)))
        return original(texts, src_lang, *args, **kwargs)

    monkeypatch.setattr(ref, "translate", translate)
    monkeypatch.setattr(babelbridge.bridges, "load_bridge", lambda *a, **k: ref)
    code, _, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", out,
                       "--max-new-tokens", MNT)
    assert code == 0, err
    got = [json.loads(line) for line in read_lines(out)]
    assert len(got) == len(objects)
    for obj, result in zip(objects, got):
        text = obj.get("src", obj.get("text"))
        lang = "fra_Latn" if "src_lang" in obj else "deu_Latn"
        expected = original([text], lang, max_new_tokens=int(MNT))[0]  # JSONL keeps line breaks
        assert result == {**obj, "translation": expected}
    # One call per language (the tiny BERT encoder has no language tokens, so check the calls).
    assert calls == [("deu_Latn", [SENTENCES[0], SENTENCES[3], SENTENCES[4]]),
                     ("fra_Latn", ["Bonjour tout le monde.", "Où est la gare ?"])]


def test_jsonl_with_src_lang_on_every_line_needs_no_src_lang_option(cli, checkpoint, tmp_path):
    path, ref = checkpoint
    src = write_lines(tmp_path / "in.jsonl", [json.dumps({"src": "Hallo", "src_lang": "de"})])
    out = tmp_path / "out.jsonl"
    code, _, err = cli("--bridge", path, "--input", src, "--output", out, "--max-new-tokens", MNT)
    assert code == 0, err
    assert json.loads(read_lines(out)[0])["translation"] == ref.translate(["Hallo"], "de", max_new_tokens=int(MNT))[0]


@pytest.mark.parametrize("existing", [False, True])
def test_failure_midway_leaves_no_output_only_the_finished_chunks(cli, checkpoint, tmp_path, monkeypatch, existing):
    path, ref = checkpoint
    src = write_lines(tmp_path / "in.txt", SENTENCES * 2)  # 24 sources; --batch-size 1: chunks of 8
    out = tmp_path / "out.txt"
    if existing:
        out.write_text("previous translation\n")
    calls = []
    original = ref.translate

    def translate(texts, *args, **kwargs):
        calls.append(len(texts))
        if len(calls) == 2:
            raise RuntimeError("device lost")
        return original(texts, *args, **kwargs)

    monkeypatch.setattr(ref, "translate", translate)
    monkeypatch.setattr(babelbridge.bridges, "load_bridge", lambda *a, **k: ref)
    with pytest.raises(RuntimeError, match="device lost"):
        cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", out,
            "--batch-size", "1", "--max-new-tokens", MNT)
    assert calls == [8, 8]  # the first chunk was translated (and saved for a resumed run)
    expected = ["in.txt", "out.txt", "out.txt.partial"] if existing else ["in.txt", "out.txt.partial"]
    assert sorted(p.name for p in tmp_path.iterdir()) == expected
    assert sorted(p.name for p in (tmp_path / "out.txt.partial").iterdir()) == ["part-0.jsonl", "state.json"]
    saved = [json.loads(line) for line in (tmp_path / "out.txt.partial" / "part-0.jsonl").read_text().splitlines()]
    assert [s["chunk"] for s in saved] == [0]
    assert saved[0]["lines"] == one_by_one(ref, SENTENCES[:8])
    if existing:
        assert out.read_text() == "previous translation\n"


# ---- texts and stdin ------------------------------------------------------------------------------


def test_text_arguments_to_stdout(cli, checkpoint):
    path, ref = checkpoint
    code, out, err = cli("--bridge", path, "--src-lang", "German", "--max-new-tokens", MNT, "--",
                         SENTENCES[3], "-Hallo")
    assert code == 0, err
    assert out == "".join(line + "\n" for line in one_by_one(ref, [SENTENCES[3], "-Hallo"]))


def test_stdin_one_per_line(cli, checkpoint, monkeypatch):
    path, ref = checkpoint
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{SENTENCES[1]}\n\n{SENTENCES[0]}\r\n{SENTENCES[5]}"))
    code, out, err = cli("--bridge", path, "--src-lang", "de", "--max-new-tokens", MNT)
    assert code == 0, err
    a, b, c = one_by_one(ref, [SENTENCES[1], SENTENCES[0], SENTENCES[5]])
    assert out == f"{a}\n\n{b}\n{c}\n"


# ---- mistakes: one line, exit 2, before any model is loaded ---------------------------------------


def test_bad_language_code_names_closest_codes_before_loading(cli, no_loading, tmp_path):
    # Everything else is wrong too: the language code is reported first.
    code, out, err = cli("--bridge", tmp_path / "nope", "--src-lang", "deu_Latm", "--input", tmp_path / "x.txt",
                         "--output", tmp_path / "y.txt", "--beam", "0")
    assert code == 2 and out == ""
    assert err.startswith("babelbridge translate: error: --src-lang: unknown language code 'deu_Latm'; "
                          "closest valid codes: deu_Latn")
    assert err.count("\n") == 1
    code, _, err = cli("--bridge", tmp_path, "--src-lang", "de", "--tgt-lang", "englsh", "hi")
    assert code == 2
    assert err.startswith("babelbridge translate: error: --tgt-lang: unknown language code 'englsh'; "
                          "closest valid codes: ")
    assert "eng_Latn" in err


def test_bad_language_code_fails_fast_without_torch():
    """In a fresh process, through the whole CLI (every subcommand's parser is built): the error
    comes in well under a second and torch is never imported."""
    code = r"""
import sys, time
t = time.perf_counter()
from babelbridge.cli import main as m
rc = m.main(["translate", "--bridge", "nowhere", "--src-lang", "xx_Yyyy", "--input", "in.jsonl",
             "--output", "out.jsonl", "--beam", "4", "--device", "cuda"])
assert time.perf_counter() - t < 0.5, time.perf_counter() - t
assert "torch" not in sys.modules and "transformers" not in sys.modules, "heavy import before validation"
sys.exit(rc)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("babelbridge translate: error: --src-lang: unknown language code 'xx_Yyyy'")
    assert proc.stderr.count("\n") == 1


def test_missing_bridge_directory(cli, no_loading, tmp_path):
    code, out, err = cli("--bridge", tmp_path / "nope", "--src-lang", "de", "Hallo")
    assert code == 2 and out == ""
    assert err == (f"babelbridge translate: error: --bridge {tmp_path / 'nope'}: no such directory; accepted: "
                   f"a bridge checkpoint directory holding bridge.json and bridge.safetensors (e.g. the bridge/ "
                   f"folder in a training run's output_dir), or a named bridge: pocket-hca-deu-eng, pocket-smollm2-zero-shot\n")


def test_bridge_directory_without_checkpoint(cli, no_loading, tmp_path):
    (tmp_path / "bridge.json").write_text('{"method": "hca"}')
    code, _, err = cli("--bridge", tmp_path, "--src-lang", "de", "Hallo")
    assert code == 2
    assert err.startswith(f"babelbridge translate: error: --bridge {tmp_path} is not a bridge checkpoint: "
                          f"missing bridge.safetensors; accepted: ")


def test_missing_input_file(cli, checkpoint, no_loading, tmp_path):
    path, _ = checkpoint
    code, out, err = cli("--bridge", path, "--src-lang", "de", "--input", tmp_path / "in.txt",
                         "--output", tmp_path / "out.txt")
    assert code == 2 and out == ""
    assert err == f"babelbridge translate: error: --input {tmp_path / 'in.txt'}: no such file\n"


def test_missing_output_directory(cli, checkpoint, no_loading, tmp_path):
    path, _ = checkpoint
    src = write_lines(tmp_path / "in.txt", ["Hallo"])
    out = tmp_path / "missing" / "out.txt"
    code, _, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", out)
    assert code == 2
    assert err == f"babelbridge translate: error: --output {out}: directory {out.parent} does not exist\n"


def test_empty_lines_in_tsv_are_named(cli, checkpoint, no_loading, tmp_path):
    path, _ = checkpoint
    src = write_lines(tmp_path / "in.tsv", ["Hallo\t1", "", "Ja\t3", "\t4", "Nein\t5"])
    out = tmp_path / "out.tsv"
    code, out_text, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", out)
    assert code == 2 and out_text == ""
    assert err.startswith(f"babelbridge translate: error: {src}: empty source in column 1 on line 2, 4 ")
    assert not out.exists()


def test_jsonl_problems_are_named(cli, checkpoint, no_loading, tmp_path):
    path, _ = checkpoint
    src = write_lines(tmp_path / "in.jsonl", ['{"src": "Hallo"}', '{"src": "Ja", "src_lang": "deu_Latm"}',
                                              "{oops", '{"id": 3}', '{"src": " "}'])
    code, _, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", tmp_path / "o.jsonl")
    assert code == 2
    assert err.count("\n") == 1
    assert 'empty source in "src"/"text" on line 5 ' in err
    assert "line 2: \"src_lang\": unknown language code 'deu_Latm'; closest valid codes: deu_Latn" in err
    assert "line 3 is not valid JSON" in err
    assert 'line 4 has no "src" (or "text") key' in err


@pytest.mark.parametrize("argv, message", [
    (["--beam", "0", "Hallo"], "--beam must be a positive integer, got 0"),
    (["--batch-size", "-1", "Hallo"], "--batch-size must be a positive integer, got -1"),
    (["--input", "in.txt", "--output", "out.txt", "Hallo"], "give either TEXT arguments or --input FILE, not both"),
    (["--input", "in.txt"], "--input needs --output FILE"),
    (["--output", "out.txt", "Hallo"], "--output needs --input (TEXT and stdin translations go to stdout)"),
    (["--device", "gpu0", "Hallo"], "--device 'gpu0' is not a device; accepted: cpu, cuda, cuda:N, mps, xpu, ..."),
    (["", "Hallo"], "TEXT argument 1 is empty"),
])
def test_argument_mistakes(cli, checkpoint, no_loading, argv, message):
    path, _ = checkpoint
    code, out, err = cli("--bridge", path, "--src-lang", "de", *argv)
    assert code == 2 and out == ""
    assert err == f"babelbridge translate: error: {message}\n"


def test_missing_src_lang(cli, checkpoint, no_loading):
    code, _, err = cli("--bridge", checkpoint[0], "Hallo")
    assert code == 2
    assert err.startswith("babelbridge translate: error: --src-lang is required")


def test_over_long_source_fails_before_translating_unless_truncate(cli, checkpoint, tmp_path, monkeypatch):
    path, ref = checkpoint
    long = "Das ist ein sehr langer Satz. " * 12  # 360 bytes: over the 256-token source limit
    src, out = write_lines(tmp_path / "in.txt", ["Hallo", long]), tmp_path / "out.txt"
    calls = []
    original = ref.translate
    monkeypatch.setattr(ref, "translate", lambda *a, **k: calls.append(1) or original(*a, **k))
    monkeypatch.setattr(babelbridge.bridges, "load_bridge", lambda *a, **k: ref)
    code, _, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", out, "--max-new-tokens", MNT)
    assert code == 2
    assert err == (f"babelbridge translate: error: {src} line 2 (362 tokens) over the bridge's limit of 256 "
                   f"source tokens; shorten them or pass --truncate; or pass --skip-bad-lines to skip such lines "
                   f"(each becomes an empty output line)\n")
    assert calls == [] and sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]  # no output, no partial dir
    code, _, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", out,
                       "--max-new-tokens", MNT, "--truncate")
    assert code == 0, err
    assert len(read_lines(out)) == 2


def test_help_has_examples(cli, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli("--help")
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--input test.tsv --output test.en.tsv" in out
    assert "blank lines stay blank" in out
