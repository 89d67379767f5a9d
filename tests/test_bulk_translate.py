"""Bulk translation of an --input file: read in chunks, resumed after a kill, bad lines failing
before any output (or skipped and listed), and shared between two processes (CPU, gloo)."""

import json
import os
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import pytest
import torch

import babelbridge.bridges
from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import build_bridge, load_bridge, save_bridge
from babelbridge.bulk import BulkRun, Shard, chunked, partial_dir
from babelbridge.cli import translate_cmd
from babelbridge.errors import InputError
from babelbridge.textio import one_line

ROOT = Path(__file__).resolve().parents[1]
MNT = "6"  # --max-new-tokens: the tiny random decoder rarely stops by itself

WORDS = ["Hallo", "Guten Morgen", "Ja", "Der Hund schläft", "Wo ist der Bahnhof", "Danke", "Nein", "Gute Nacht",
         "Das Buch liegt auf dem Tisch", "Kannst du mir helfen", "Wir fahren ans Meer"]
# 30 lines, three of them blank (kept blank, never translated): with --batch-size 1 a chunk is
# 8 lines, so 4 chunks, the last one 6 lines.
LINES = [f"{WORDS[i % len(WORDS)]} {i}." if i not in (3, 11, 20) else "" for i in range(30)]


@pytest.fixture
def cli(run_cli):
    return partial(run_cli, "translate")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    bridge = build_bridge("hca", load_encoder("tiny-random:bert"), load_decoder("tiny-random:qwen3"),
                          {"bottleneck_dim": 16, "adapter_up_init": "default"})
    path = save_bridge(bridge, tmp_path_factory.mktemp("ckpt") / "bridge")
    return path, load_bridge(path)


@pytest.fixture(scope="module")
def expected(checkpoint):
    """LINES translated one by one: the output file every run below must write, byte for byte."""
    _, ref = checkpoint
    return "".join((one_line(ref.translate([line], "deu_Latn", max_new_tokens=int(MNT))[0]) if line else "") + "\n"
                   for line in LINES)


@pytest.fixture
def bridge_calls(checkpoint, monkeypatch):
    """The command uses the module's bridge; each Bridge.translate call is recorded (its texts),
    and fail_at[0] = N makes call N raise, as a kill would stop the run there."""
    _, ref = checkpoint
    original = ref.translate
    calls, fail_at = [], [None]

    def translate(texts, *args, **kwargs):
        calls.append(list(texts))
        if len(calls) == fail_at[0]:
            raise KeyboardInterrupt("killed")
        return original(texts, *args, **kwargs)

    monkeypatch.setattr(ref, "translate", translate)
    monkeypatch.setattr(babelbridge.bridges, "load_bridge", lambda *a, **k: ref)
    return calls, fail_at


def write_lines(path: Path, lines) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ---- the chunked reading ------------------------------------------------------------------------------


def counting(items, pulled):
    for item in items:
        pulled.append(item)
        yield item


def test_chunks_are_read_as_they_are_needed():
    pulled = []
    chunks = chunked(counting(range(10**9), pulled), 5)  # a billion items: only what is asked is read
    assert next(chunks) == [0, 1, 2, 3, 4] and len(pulled) == 5
    assert next(chunks) == [5, 6, 7, 8, 9] and len(pulled) == 10
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]


def test_the_command_translates_a_chunk_after_reading_only_that_chunk(cli, checkpoint, bridge_calls, tmp_path,
                                                                       monkeypatch, expected):
    path, _ = checkpoint
    calls, _ = bridge_calls
    reads = []  # one list per pass over the file: the lines it has read so far
    original = translate_cmd.read_input

    def read_input(job):
        reads.append([])
        return counting(original(job), reads[-1])

    monkeypatch.setattr(translate_cmd, "read_input", read_input)
    seen = []  # lines read by the translating pass when each chunk reached the bridge
    real = translate_cmd.translate_records
    monkeypatch.setattr(translate_cmd, "translate_records",
                        lambda *a, **k: seen.append(len(reads[-1])) or real(*a, **k))
    src, out = write_lines(tmp_path / "in.txt", LINES), tmp_path / "out.txt"
    code, _, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", out,
                       "--batch-size", "1", "--max-new-tokens", MNT)
    assert code == 0, err
    # Three passes: the checks (no model), the source lengths (tokenizer), the translation.
    assert [len(r) for r in reads] == [30, 30, 30]
    assert seen == [8, 16, 24, 30]  # chunk k was translated with only chunks 0..k read
    assert [len(c) for c in calls] == [7, 7, 7, 6]  # each chunk's sources, blank lines left out
    assert out.read_text(encoding="utf-8") == expected


# ---- kills and resumes -------------------------------------------------------------------------------


def test_a_run_killed_again_and_again_ends_with_the_uninterrupted_file(cli, checkpoint, bridge_calls, tmp_path,
                                                                        expected):
    path, _ = checkpoint
    calls, fail_at = bridge_calls
    src, out = write_lines(tmp_path / "in.txt", LINES), tmp_path / "out.txt"
    partial = tmp_path / "out.txt.partial"
    argv = ("--bridge", path, "--src-lang", "de", "--input", src, "--output", out, "--batch-size", "1",
            "--max-new-tokens", MNT)

    fail_at[0] = 3  # killed in chunk 2: chunks 0 and 1 are saved
    with pytest.raises(KeyboardInterrupt):
        cli(*argv)
    assert names(tmp_path) == ["in.txt", "out.txt.partial"]  # no output yet
    assert names(partial) == ["part-0.jsonl", "state.json"]
    state = json.loads((partial / "state.json").read_text())
    assert state["chunk_size"] == 8 and state["command"] == "translate"
    assert state["input"] == {"size": src.stat().st_size, "sha256": state["input"]["sha256"], "lines": 30}
    assert state["arguments"]["generation"] == {"num_beams": 1, "max_new_tokens": int(MNT), "truncate": False}
    # A kill in the middle of writing chunk 2: half a record, no newline. It is cut off and redone.
    with open(partial / "part-0.jsonl", "a") as f:
        f.write('{"chunk": 2, "lines": ["half a tra')

    calls.clear()
    fail_at[0] = 2  # resumed, killed again in its second chunk (chunk 3)
    with pytest.raises(KeyboardInterrupt):
        cli(*argv)
    assert [len(c) for c in calls] == [7, 6]  # chunks 2 and 3: 0 and 1 were not translated again
    saved = [json.loads(line) for line in (partial / "part-0.jsonl").read_text().splitlines()]
    assert [s["chunk"] for s in saved] == [0, 1, 2]

    calls.clear()
    fail_at[0] = None
    code, _, err = cli(*argv)
    assert code == 0, err
    assert [len(c) for c in calls] == [6]  # chunk 3 only
    assert f"resuming from {partial}: 3 of 4 chunk(s) already translated" in err
    assert out.read_text(encoding="utf-8") == expected  # no line lost, none twice, in input order
    assert names(tmp_path) == ["in.txt", "out.txt"]  # the partial dir is gone


def test_a_resume_with_another_command_or_a_changed_input_is_refused(cli, checkpoint, bridge_calls, tmp_path):
    path, _ = checkpoint
    _, fail_at = bridge_calls
    src, out = write_lines(tmp_path / "in.txt", LINES), tmp_path / "out.txt"
    partial = tmp_path / "out.txt.partial"
    argv = ["--bridge", path, "--src-lang", "de", "--input", src, "--output", out, "--batch-size", "1",
            "--max-new-tokens", MNT]
    fail_at[0] = 2
    with pytest.raises(KeyboardInterrupt):
        cli(*argv)
    before = (partial / "part-0.jsonl").read_bytes()

    def refuse(*more, differ):
        code, stdout, err = cli(*argv, *more)
        assert code == 2 and stdout == ""
        assert err == (f"babelbridge translate: error: {partial} holds the progress of babelbridge translate with "
                       f"other arguments or another input ({differ}); run the same command on the same input to "
                       f"resume, or delete {partial} to start over\n")

    refuse("--beam", "2", differ="arguments.generation.num_beams: 1 before, 2 now")
    refuse("--tgt-lang", "fr", differ='arguments.tgt_lang: "eng_Latn" before, "fra_Latn" now')
    refuse("--batch-size", "2", differ="arguments.batch_size: 1 before, 2 now; chunk_size: 8 before, 16 now")
    state = json.loads((partial / "state.json").read_text())
    with open(src, "a") as f:
        f.write("Noch ein Satz.\n")
    from babelbridge.evaluate.cache import file_sha256

    refuse(differ=f'input.lines: 30 before, 31 now; input.sha256: "{state["input"]["sha256"]}" before, '
                  f'"{file_sha256(src)}" now; input.size: {state["input"]["size"]} before, {src.stat().st_size} now')
    assert (partial / "part-0.jsonl").read_bytes() == before  # nothing was touched
    assert not out.exists()


def test_changed_command_is_refused_before_a_model_is_loaded(cli, checkpoint, tmp_path, monkeypatch):
    path, _ = checkpoint
    src, out = write_lines(tmp_path / "in.txt", ["Hallo"]), tmp_path / "out.txt"
    run = BulkRun(out, {"command": "translate", "arguments": {}}, 8)
    run.open()  # the progress of some other translation
    monkeypatch.setattr(babelbridge.bridges, "load_bridge", lambda *a, **k: pytest.fail("model loaded"))
    code, _, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", out)
    assert code == 2
    assert err.startswith(f"babelbridge translate: error: {partial_dir(out)} holds the progress of babelbridge "
                          f"translate with other arguments or another input (arguments: {{}} before, absent now; "
                          f"arguments.aux_column: absent before, null now; ")
    assert err.endswith(f"; run the same command on the same input to resume, or delete {partial_dir(out)} to start "
                        f"over\n")


# ---- bad lines -----------------------------------------------------------------------------------------


LONG = "Das ist ein sehr langer Satz. " * 12  # 362 tokens: over the tiny bridge's 256-token limit


def jsonl_input(tmp_path: Path) -> tuple[Path, list[str]]:
    lines = [json.dumps({"src": f"{WORDS[i % len(WORDS)]} {i}.", "id": i}, ensure_ascii=False) for i in range(20)]
    lines[4] = '{"src": "Hallo", oops}'  # line 5: malformed
    lines[8] = '{"src": "  ", "id": 8}'  # line 9: empty source
    lines[11] = json.dumps({"src": LONG, "id": 11})  # line 12: over the source limit
    return write_lines(tmp_path / "in.jsonl", lines), lines


def test_a_bad_line_mid_file_fails_before_any_output_or_model(cli, checkpoint, tmp_path, monkeypatch):
    path, _ = checkpoint
    src, _ = jsonl_input(tmp_path)
    monkeypatch.setattr(babelbridge.bridges, "load_bridge", lambda *a, **k: pytest.fail("model loaded"))
    code, stdout, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", tmp_path / "out.jsonl")
    assert code == 2 and stdout == ""
    assert err == (f"babelbridge translate: error: {src}: empty source in \"src\"/\"text\" on line 9 (every jsonl "
                   f"line needs a source; only plain format keeps blank lines); line 5 is not valid JSON (Expecting "
                   f"property name enclosed in double quotes at column 18); or pass --skip-bad-lines to skip such "
                   f"lines (each becomes an empty output line)\n")
    assert names(tmp_path) == ["in.jsonl"]


def test_an_over_long_line_fails_after_loading_but_before_any_output(cli, checkpoint, bridge_calls, tmp_path):
    path, _ = checkpoint
    calls, _ = bridge_calls
    src = write_lines(tmp_path / "in.txt", LINES[:10] + [LONG] + LINES[10:])
    code, _, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", tmp_path / "out.txt",
                       "--batch-size", "1")
    assert code == 2
    assert err == (f"babelbridge translate: error: {src} line 11 (362 tokens) over the bridge's limit of 256 source "
                   f"tokens; shorten them or pass --truncate; or pass --skip-bad-lines to skip such lines (each "
                   f"becomes an empty output line)\n")
    assert calls == [] and names(tmp_path) == ["in.txt"]  # nothing translated, no output, no partial dir


def test_skip_bad_lines_writes_an_empty_line_for_each_and_lists_them(cli, checkpoint, bridge_calls, tmp_path):
    path, ref = checkpoint
    src, lines = jsonl_input(tmp_path)
    with open(src, "ab") as f:
        f.write(b'{"src": "\xff\xfe kaputt"}\n')  # line 21: not UTF-8
    out = tmp_path / "out.jsonl"
    code, stdout, err = cli("--bridge", path, "--src-lang", "de", "--input", src, "--output", out,
                            "--max-new-tokens", MNT, "--skip-bad-lines", "--quiet")
    assert code == 0, err
    assert err == (f"skipped 4 bad line(s) of {src} (each written as an empty line):\n"
                   f"  line 5: not valid JSON (Expecting property name enclosed in double quotes at column 18)\n"
                   f"  line 9: empty source in \"src\"\n"
                   f"  line 12: 362 tokens, over the bridge's limit of 256 source tokens\n"
                   f"  line 21: not valid UTF-8 (invalid start byte); save the file as UTF-8\n")
    got = out.read_text(encoding="utf-8").split("\n")
    assert len(got) == 22 and got[-1] == ""  # 21 lines: line N of the output is line N of the input
    for n, line in enumerate(got[:-1], 1):
        if n in (5, 9, 12, 21):
            assert line == ""
        else:
            obj = json.loads(lines[n - 1])
            translation = ref.translate([obj["src"]], "deu_Latn", max_new_tokens=int(MNT))[0]
            assert json.loads(line) == {**obj, "translation": translation}


def test_skip_bad_lines_needs_an_input_file(cli, checkpoint, monkeypatch):
    monkeypatch.setattr(babelbridge.bridges, "load_bridge", lambda *a, **k: pytest.fail("model loaded"))
    code, _, err = cli("--bridge", checkpoint[0], "--src-lang", "de", "--skip-bad-lines", "Hallo")
    assert code == 2
    assert err == ("babelbridge translate: error: --skip-bad-lines applies to --input files (TEXT and stdin "
                   "sources are all translated)\n")


# ---- the progress bar ----------------------------------------------------------------------------------


def test_progress_bar_only_on_request_when_stderr_is_not_a_terminal(cli, checkpoint, bridge_calls, tmp_path):
    path, _ = checkpoint
    src = write_lines(tmp_path / "in.txt", LINES)
    argv = ("--bridge", path, "--src-lang", "de", "--input", src, "--batch-size", "1", "--max-new-tokens", MNT)
    code, _, err = cli(*argv, "--output", tmp_path / "a.txt")
    assert code == 0 and "translating" not in err  # captured stderr is no terminal
    code, _, err = cli(*argv, "--output", tmp_path / "b.txt", "--progress")
    assert code == 0, err
    assert "translating: 100%" in err and "27/27 [" in err and "sent/s]" in err  # 27 sources, their rate


# ---- BulkRun alone: shards, merge, torn writes ---------------------------------------------------------


def upper(items):
    return [item.upper() for item in items]


def test_shards_finish_in_any_order_and_process_0_writes_the_input_order(tmp_path):
    items = [f"item {i}" for i in range(23)]
    out = tmp_path / "out.txt"
    state = {"command": "test", "arguments": {"x": 1}}
    # Two processes one after the other (a barrier with nothing to wait for): process 0 creates
    # the partial dir, then process 1 does all its chunks before process 0 does any.
    zero, one = BulkRun(out, state, 4, Shard(0, 2)), BulkRun(out, state, 4, Shard(1, 2))
    assert zero.open() == set()
    assert one.open() == set()
    assert [k for k, _ in one.chunks(items)] == [1, 3, 5]
    for k, chunk in one.chunks(items):
        one.save(k, upper(chunk))
    assert one.finish() is False and not out.exists()
    for k, chunk in zero.chunks(items):
        zero.save(k, upper(chunk))
    assert zero.finish() is True
    assert out.read_text() == "".join(f"ITEM {i}\n" for i in range(23))
    assert names(tmp_path) == ["out.txt"]


def test_a_resume_with_fewer_processes_keeps_the_other_process_chunks(tmp_path):
    items = [f"item {i}" for i in range(10)]
    out = tmp_path / "out.txt"
    BulkRun(out, {"a": 1}, 2, Shard(0, 2)).open()  # two processes started; process 0 did nothing yet
    first = BulkRun(out, {"a": 1}, 2, Shard(1, 2))
    first.open()
    for k, chunk in first.chunks(items):  # process 1 did chunks 1 and 3, then was killed in chunk 5
        if k == 5:
            break
        first.save(k, upper(chunk))
    with open(first.part, "ab") as f:
        f.write(b'{"chunk": 5, "li')  # torn: not finished, not process 0's to cut, not counted
    alone = BulkRun(out, {"a": 1}, 2)
    assert alone.open() == {1, 3}
    done = []
    for k, chunk in alone.chunks(items):
        done.append(k)
        alone.save(k, upper(chunk))
    assert done == [0, 2, 4]
    alone.finish()
    assert out.read_text() == "".join(f"ITEM {i}\n" for i in range(10))


def test_a_partial_dir_without_state_is_refused(tmp_path):
    out = tmp_path / "out.txt"
    partial_dir(out).mkdir()
    with pytest.raises(InputError, match=r"out.txt.partial has no readable state.json, so it is not the progress "
                                         r"of this command; delete it to start over"):
        BulkRun(out, {}, 4).open()


# ---- two processes ---------------------------------------------------------------------------------------

SCRIPT = textwrap.dedent("""
    import os, sys
    from babelbridge.cli import main, translate_cmd

    fail_after = int(os.environ.get("FAIL_RANK1_AFTER", "0"))
    if fail_after and os.environ["RANK"] == "1":  # process 1 dies in its chunk number fail_after + 1
        real, count = translate_cmd.translate_chunk, []

        def translate_chunk(*args, **kwargs):
            count.append(1)
            if len(count) > fail_after:
                raise RuntimeError("process 1 killed")
            return real(*args, **kwargs)

        translate_cmd.translate_chunk = translate_chunk
    sys.exit(main.main(sys.argv[1:]))
""")


def launch(tmp_path, argv, extra_env=None):
    script = tmp_path / "translate.py"
    script.write_text(SCRIPT)
    # As tests/test_distributed.py: torchrun-style processes on a CPU need --multi_gpu plus
    # ACCELERATE_USE_CPU=1 (gloo).
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", str(script), *map(str, argv)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "1",
           **(extra_env or {})}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def test_two_processes_write_the_file_one_process_writes_also_after_a_kill(checkpoint, tmp_path, expected):
    path, _ = checkpoint
    src, out = write_lines(tmp_path / "in.txt", LINES), tmp_path / "out.txt"
    partial = tmp_path / "out.txt.partial"
    argv = ["translate", "--bridge", path, "--src-lang", "de", "--input", src, "--output", out, "--batch-size", "1",
            "--max-new-tokens", MNT, "--device", "cpu"]
    killed = launch(tmp_path, argv, {"FAIL_RANK1_AFTER": "1"})
    assert killed.returncode != 0 and "process 1 killed" in killed.stderr, killed.stderr[-3000:]
    assert not out.exists()
    saved = {p.name: [json.loads(line)["chunk"] for line in p.read_text().splitlines() if line.endswith("}")]
             for p in partial.glob("part-*.jsonl")}
    assert saved["part-1.jsonl"] == [1]  # process 1 did chunk 1, then died in chunk 3
    assert set(saved.get("part-0.jsonl", [])) <= {0, 2}  # process 0 owns the even chunks

    resumed = launch(tmp_path, argv)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert out.read_text(encoding="utf-8") == expected  # the one-process file, byte for byte
    assert f"resuming from {partial}: " in resumed.stderr
    assert f"translated 27 source(s) to {out} in " in resumed.stderr and "(2 processes)" in resumed.stderr
    assert resumed.stderr.count("translated 27 source(s)") == 1  # process 0 reports, alone
    assert names(tmp_path) == ["in.txt", "out.txt", "translate.py"]
