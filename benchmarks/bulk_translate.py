"""Corpus-sized translation with `babelbridge translate --input/--output` (issue 22): one process,
N processes sharing the file (`accelerate launch`), and one process killed partway and started
again with the same command. Prints and saves wall time and lines/s of each, and whether every
run wrote the same bytes (greedy decoding: they must).

    python benchmarks/bulk_translate.py --lines 128                          # the pocket bridge, 2 CPU processes
    python benchmarks/bulk_translate.py --tiny --lines 64                    # a tiny random bridge, seconds
    python benchmarks/bulk_translate.py --bridge runs/x/bridge --device cuda --processes 8 --lines 20000

The input is the first --lines German verses of the Bible's test books (--tiny: short German
sentences, repeated). Wall times include starting Python and loading the bridge; a one-line run
measures that start-up, and lines/s are given with and without it. On a CPU, N processes get
--threads / N threads each, so every run uses the same cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from decode_speed import SENTENCES, environment, save_report  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--bridge", default="pocket-hca-deu-eng", help="bridge name or checkpoint directory "
                     "(default: %(default)s)")
    src.add_argument("--tiny", action="store_true", help="build and save a tiny random bridge and translate with it")
    p.add_argument("--lines", type=int, default=128, help="input lines (default: %(default)s)")
    p.add_argument("--processes", type=int, default=2, help="processes of the shared run (default: %(default)s)")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="CPU threads in all, split over the processes (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=8, help="(default: %(default)s; a chunk is 8 batches)")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--device", default="cpu")
    p.add_argument("--kill-at", type=float, default=0.5,
                   help="kill the resumed run after this share of the one-process time (default: %(default)s)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--tag", default="", help="added to the report's file name")
    args = p.parse_args(argv)
    if args.lines < 1 or args.processes < 2 or args.threads < 1 or not 0 < args.kill_at < 1:
        p.error("--lines and --threads must be >= 1, --processes >= 2, --kill-at between 0 and 1")
    return args


def input_lines(args) -> list[str]:
    if args.tiny:
        return [SENTENCES[i % len(SENTENCES)] for i in range(args.lines)]
    from babelbridge.data.bible import bible_pairs

    pairs = list(bible_pairs("deu_Latn", "eng_Latn", "test"))[:args.lines]
    if len(pairs) < args.lines:
        raise SystemExit(f"--lines {args.lines}: the Bible's German test books have {len(pairs)} verses")
    return [p.src for p in pairs]


def tiny_bridge(directory: Path) -> str:
    import torch

    from babelbridge.backbones import load_decoder, load_encoder
    from babelbridge.bridges import build_bridge, save_bridge

    torch.manual_seed(0)
    bridge = build_bridge("hca", load_encoder("tiny-random:bert"), load_decoder("tiny-random:qwen3"),
                          {"bottleneck_dim": 8, "adapter_up_init": "default"})
    save_bridge(bridge, directory)
    return str(directory)


def translate_command(args, bridge: str, source: Path, output: Path, processes: int = 1) -> list[str]:
    cli = ["translate", "--bridge", bridge, "--src-lang", "deu_Latn", "--input", str(source), "--output",
           str(output), "--batch-size", str(args.batch_size), "--max-new-tokens", str(args.max_new_tokens),
           "--device", args.device, "--truncate", "--quiet"]
    if processes == 1:
        return [sys.executable, "-m", "babelbridge.cli.main", *cli]
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes),
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--multi_gpu"]
    return [*launch, "-m", "babelbridge.cli.main", *cli]


def environment_for(args, processes: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if args.device == "cpu":
        env["OMP_NUM_THREADS"] = str(max(1, args.threads // processes))
        if processes > 1:
            env["ACCELERATE_USE_CPU"] = "1"  # gloo between CPU processes (`--cpu` starts only one)
    return env


def run(command: list[str], env: dict, *, kill_after: float | None = None) -> tuple[float, bool]:
    """Wall seconds, and whether the run was killed (SIGKILL to its process group after kill_after s)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return time.perf_counter() - started, True
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {shlex.join(command)}\n{err[-3000:]}")
    return time.perf_counter() - started, False


def lines_saved(partial: Path) -> int:
    """Output lines the killed run had saved (complete chunk records in OUTPUT.partial/)."""
    from babelbridge.bulk import BulkRun

    saved = 0
    for part in partial.glob("part-*.jsonl") if partial.is_dir() else []:
        index, _ = BulkRun._scan(part)
        with open(part, "rb") as f:
            for offset, length in index.values():
                f.seek(offset)
                saved += len(json.loads(f.read(length))["lines"])
    return saved


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    import torch

    with tempfile.TemporaryDirectory(prefix="bulk-bench-") as tmp:
        tmp = Path(tmp)
        bridge = tiny_bridge(tmp / "tiny") if args.tiny else args.bridge
        lines = input_lines(args)
        source, one_line = tmp / "in.txt", tmp / "one.txt"
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        one_line.write_text(lines[0] + "\n", encoding="utf-8")
        single_env, shared_env = environment_for(args, 1), environment_for(args, args.processes)

        startup, _ = run(translate_command(args, bridge, one_line, tmp / "one.out"), single_env)
        print(f"start-up (one line): {startup:.1f} s", file=sys.stderr)
        single, _ = run(translate_command(args, bridge, source, tmp / "single.out"), single_env)
        print(f"1 process: {single:.1f} s", file=sys.stderr)
        shared, _ = run(translate_command(args, bridge, source, tmp / "shared.out", args.processes), shared_env)
        print(f"{args.processes} processes: {shared:.1f} s", file=sys.stderr)
        resumed_cmd = translate_command(args, bridge, source, tmp / "resumed.out")
        first, killed = run(resumed_cmd, single_env, kill_after=args.kill_at * single)
        partial = Path(f"{tmp / 'resumed.out'}.partial")
        kept = lines_saved(partial)
        second, _ = run(resumed_cmd, single_env)
        print(f"killed after {first:.1f} s ({'killed' if killed else 'it had finished'}), "
              f"then {second:.1f} s", file=sys.stderr)

        digests = {name: sha256(tmp / f"{name}.out") for name in ("single", "shared", "resumed")}
        n = len(lines)
        rows = [
            {"run": "1 process", "processes": 1, "wall_s": round(single, 1), "sha256": digests["single"]},
            {"run": f"{args.processes} processes (accelerate launch)", "processes": args.processes,
             "wall_s": round(shared, 1), "sha256": digests["shared"]},
            {"run": f"1 process killed at {first:.0f} s ({kept} lines saved), then run again", "processes": 1,
             "wall_s": round(first + second, 1), "sha256": digests["resumed"], "killed": killed,
             "lines_saved_at_kill": kept, "startups": 2},
        ]
        for row in rows:
            row["lines_per_s"] = round(n / row["wall_s"], 3)
            work = row["wall_s"] - startup * row.get("startups", 1)
            row["lines_per_s_after_startup"] = round(n / work, 3) if work > 0 else None
        identical = len(set(digests.values())) == 1
        report = {"bridge": "tiny random HCA" if args.tiny else args.bridge, "lines": n, "startup_s": round(startup, 1),
                  "settings": {k: getattr(args, k) for k in ("processes", "threads", "batch_size", "max_new_tokens",
                                                             "device", "kill_at")},
                  "runs": rows, "identical_outputs": identical,
                  "environment": environment(torch.device(args.device), argv, script="benchmarks/bulk_translate.py")}
    report["environment"]["machine"]["torch_threads"] = "per run: --threads / processes"
    save_report(args.out, f"bulk_translate-{args.device.split(':')[0]}{'-' + args.tag if args.tag else ''}",
                report, markdown(report))
    return 0 if identical else 1


def markdown(report: dict) -> str:
    s, env = report["settings"], report["environment"]
    lines = [f"# Bulk translation: 1 process, {s['processes']} processes, killed and resumed", "",
             f"{report['lines']} lines with {report['bridge']} on {s['device']} ({s['threads']} CPU threads in all), "
             f"batch {s['batch_size']}, greedy, at most {s['max_new_tokens']} new tokens. Start-up (a one-line "
             f"run: Python, imports, loading the bridge): {report['startup_s']} s.", "",
             "| run | wall s | lines/s | lines/s after start-up | output sha256 |", "|---|---:|---:|---:|---|"]
    for r in report["runs"]:
        lines.append(f"| {r['run']} | {r['wall_s']} | {r['lines_per_s']} | {r['lines_per_s_after_startup']} | "
                     f"{r['sha256'][:16]} |")
    lines += ["", "Every run wrote the same bytes." if report["identical_outputs"] else
              "**The outputs differ** (they must not: greedy decoding).", "",
              f"Command: `{env['command']}`", "",
              f"Machine: {env['machine']['cpu']} ({env['machine']['cpu_count']} CPUs), load average "
              f"{env['machine']['load_average_1m']} at the end; gpu: {env['machine']['gpu']}; "
              + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + f"; {env['date']}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
