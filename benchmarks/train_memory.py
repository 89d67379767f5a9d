"""Training memory and step time with and without gradient checkpointing
(train.gradient_checkpointing), for the pocket HCA bridge and the LoRA baseline (source in the
prompt) on SmolLM2-135M: real German->English Bible training pairs, batch 16, fp32 on CPU.

    python benchmarks/train_memory.py [--steps 3] [--threads N]

Each (bridge, setting) runs in a fresh process, so the peak resident memory (ru_maxrss) is its
own; "training peak above loaded" is that peak minus the resident memory once the models are
loaded: activations, gradients, optimiser state and allocator slack. Every process sees the same
batches. Writes benchmarks/results/train_memory-<date>.json and .md (machine and versions).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from decode_speed import environment, provenance_lines  # noqa: E402  (machine, versions, command)

BRIDGES = ("hca", "lora")


def resident_gib() -> float:
    """This process's resident memory now (Linux /proc), in GiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**30


def child(method: str, checkpointing: bool, steps: int) -> dict:
    """One process: load, train `steps` steps, report memory and step times as JSON."""
    import torch

    from babelbridge.backbones import load_decoder
    from babelbridge.bridges import build_bridge, load_bridge
    from babelbridge.data.bible import bible_pairs
    from babelbridge.pretrained import resolve_bridge_path

    random.seed(0)
    pairs = list(itertools.islice(bible_pairs("deu_Latn", "eng_Latn", "train"), 4000))
    batches = [random.sample(pairs, 16) for _ in range(steps)]
    torch.manual_seed(0)
    if method == "hca":
        bridge = load_bridge(resolve_bridge_path("pocket-hca-deu-eng"))
    else:  # the one-pair experiment's lora-deu
        bridge = build_bridge("lora", None, load_decoder("pocket:smollm2-135m"),
                              {"r": 16, "alpha": 32, "dropout": 0.05, "max_source_tokens": 128,
                               "max_target_tokens": 96})
    if checkpointing:
        bridge.decoder.enable_gradient_checkpointing()
    bridge.train()
    optimizer = torch.optim.AdamW([p for _, p in bridge.trainable_named_parameters()], lr=1e-4)
    collated = [bridge.collate(b) for b in batches]
    loaded = resident_gib()
    times = []
    for batch in collated:
        started = time.perf_counter()
        bridge.loss(batch).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    return {"bridge": method, "gradient_checkpointing": checkpointing,
            "decoder_positions": [int(b["input_ids"].numel()) for b in collated],
            "resident_loaded_gib": round(loaded, 3), "peak_resident_gib": round(peak, 3),
            "training_peak_above_loaded_gib": round(peak - loaded, 3), "step_s": [round(t, 2) for t in times]}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--child", nargs=2, metavar=("BRIDGE", "ON_OFF"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1] == "on", args.steps)))
        return
    rows = []
    for method in BRIDGES:
        for setting in ("off", "on"):
            command = [sys.executable, __file__, "--child", method, setting, "--steps", str(args.steps)]
            if args.threads:
                command += ["--threads", str(args.threads)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"{method} {setting} failed:\n{done.stderr[-3000:]}")
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"{method} checkpointing {setting}: peak {r['peak_resident_gib']:.2f} GiB "
                  f"({r['training_peak_above_loaded_gib']:.2f} above loaded), "
                  f"step {statistics.median(r['step_s']):.1f} s", flush=True)
    ratios = {}
    for method in BRIDGES:
        off, on = (next(r for r in rows if r["bridge"] == method and r["gradient_checkpointing"] == c)
                   for c in (False, True))
        ratios[method] = {
            "training_peak_above_loaded_on_over_off": round(
                on["training_peak_above_loaded_gib"] / off["training_peak_above_loaded_gib"], 3),
            "step_time_on_over_off": round(statistics.median(on["step_s"]) / statistics.median(off["step_s"]), 3)}
    env = environment(torch.device("cpu"), argv, script="benchmarks/train_memory.py")
    out = Path(__file__).resolve().parent / "results"
    stem = out / f"train_memory-{datetime.now(timezone.utc):%Y%m%d-%H%M}"
    stem.with_suffix(".json").write_text(json.dumps({"environment": env, "rows": rows, "ratios": ratios},
                                                    indent=1) + "\n")
    lines = ["# Training memory with and without gradient checkpointing", "",
             f"{args.steps} training steps (loss, backward, AdamW) of 16 German->English Bible pairs, "
             "each setting in a fresh process; memory is resident (RSS) on CPU.", "",
             "| bridge | checkpointing | decoder positions per batch | resident once loaded (GiB) | peak (GiB) | "
             "training peak above loaded (GiB) | step (s, median) |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['bridge']} | {'on' if r['gradient_checkpointing'] else 'off'} | "
                     f"{r['decoder_positions']} | {r['resident_loaded_gib']:.2f} | {r['peak_resident_gib']:.2f} | "
                     f"{r['training_peak_above_loaded_gib']:.2f} | {statistics.median(r['step_s']):.1f} |")
    lines += [""] + [f"- {m}: training peak above loaded, on / off = {v['training_peak_above_loaded_on_over_off']}; "
                     f"step time on / off = {v['step_time_on_over_off']}" for m, v in ratios.items()]
    lines += ["", *provenance_lines(env)]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"saved {stem}.json and {stem}.md")


if __name__ == "__main__":
    main(sys.argv[1:])
