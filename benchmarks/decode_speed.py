"""Decode speed: the HCA hybrid against the plain LLM it is built on, in one run and one harness.

The plain model is the same LLM object with no source memory attached (HCABridge's hooks then do
nothing), given the same prompts and the same generation settings (decode_config). Both generate
exactly --new-tokens tokens per row (min_new_tokens = max_new_tokens: no early stop), so the
ratio compares equal work. For each batch size and model:

    prefill_s          from the call to the first new token: tokenisation, the encoder and W_proj
                       (hybrid only), the prompt's forward pass
    decode tokens/s    batch * (N - 1) / the time from the first new token to the last
                       (a stopping criterion that never stops notes when the first token exists)
    encoder_s          (hybrid) the encoder + every layer's W_proj alone, once per request
    peak memory        GPU: torch.cuda.max_memory_allocated during a whole (untimed) call;
                       CPU: the highest resident set size sampled during it, minus the one before

and one training step of the bridge (forward, backward, AdamW step; adapters in float32, bf16
autocast where the backbones are bf16, as the trainer does) in target tokens/s. Weights are
random (`random:<hub id>` builds the real architecture offline): speed does not depend on them.
Warm-up calls first, then --repeats timed calls of each, interleaved plain/hybrid; medians.

    python benchmarks/decode_speed.py --preset cpu-pocket --batch-sizes 1,32 --new-tokens 32
    python benchmarks/decode_speed.py --preset gpu-paper --compile        # on an H100/H200
    python benchmarks/decode_speed.py --preset gpu-paper --device cpu --dtype float32 \\
        --encoder tiny-random:m2m100 --decoder tiny-random:qwen3 --bottleneck-dim 16   # smoke run

Writes decode_speed-<preset>[-<tag>]-<date>.{json,md} under --out (benchmarks/results/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRESETS = {
    # The pocket bridge's shape (pocket:e5-small -> pocket:smollm2-135m) with random weights.
    "cpu-pocket": dict(encoder="random:intfloat/multilingual-e5-small",
                       decoder="random:HuggingFaceTB/SmolLM2-135M-Instruct",
                       bottleneck_dim=64, device="cpu", dtype="float32", batch_sizes="1,32,64", new_tokens=32),
    # The paper's sizes (section 4.4): NLLB-200-1.3B encoder, Qwen3-4B, r = 2048, bf16.
    "gpu-paper": dict(encoder="random:facebook/nllb-200-1.3B", decoder="random:Qwen/Qwen3-4B",
                      bottleneck_dim=2048, device="cuda", dtype="bfloat16", batch_sizes="1,32,64", new_tokens=128),
}
GOALS = {"ratio_batch_1": 0.90, "gpu_hybrid_batch_1": 150.0, "gpu_hybrid_batch_64": 4000.0}  # issue 7
SENTENCES = [
    "Der Zug nach Berlin hat heute zwanzig Minuten Verspätung.",
    "Kannst du mir bitte das Salz geben?",
    "Wir treffen uns morgen um acht Uhr vor dem Kino am Marktplatz.",
    "Die Kinder spielen im Garten, während die Eltern in der Küche kochen.",
    "Im Sommer fahren wir ans Meer und bleiben dort zwei Wochen.",
    "Ich habe meinen Schlüssel gestern Abend im Büro vergessen.",
    "Das Museum ist montags geschlossen, aber dienstags ist der Eintritt frei.",
    "Nach dem Essen gehen wir noch ein bisschen im Park spazieren.",
]
TARGETS = [
    "The train to Berlin is twenty minutes late today.",
    "Could you pass me the salt, please?",
    "We will meet tomorrow at eight in front of the cinema on the market square.",
    "The children play in the garden while the parents cook in the kitchen.",
    "In summer we go to the sea and stay there for two weeks.",
    "I forgot my key in the office yesterday evening.",
    "The museum is closed on Mondays, but on Tuesdays admission is free.",
    "After dinner we take a little walk in the park.",
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", required=True, choices=sorted(PRESETS), help="backbones, sizes and device")
    p.add_argument("--encoder", help="override the preset's encoder spec (e.g. tiny-random:m2m100)")
    p.add_argument("--decoder", help="override the preset's decoder spec (e.g. tiny-random:qwen3)")
    p.add_argument("--bottleneck-dim", type=int, help="override the preset's r")
    p.add_argument("--device", help="override the preset's device (cpu, cuda)")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], help="backbones' dtype")
    p.add_argument("--adapter-dtype", choices=["float32", "model"], default="float32",
                   help="generation with the adapters as trained (float32) or cast to the backbones' dtype")
    p.add_argument("--batch-sizes", help="comma-separated decode batch sizes (preset: 1,32,64)")
    p.add_argument("--new-tokens", type=int, help="tokens generated per row, forced (cpu-pocket 32, gpu-paper 128)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per measurement (default: %(default)s)")
    p.add_argument("--warmup", type=int, help="untimed calls first (default: 1; 3 with --compile, whose CUDA "
                   "graphs are recorded on the second call and replayed from the third)")
    p.add_argument("--train-batch", type=int, default=8, help="pairs in the training step; 0 skips it (default: 8)")
    p.add_argument("--static-cache", action="store_true", help="static self-attention KV cache")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the decode step (implies --static-cache; CUDA graphs on a GPU)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--tag", help="added to the output file names")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="(default: %(default)s)")
    args = p.parse_args(argv)
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.warmup is None:
        args.warmup = 3 if args.compile else 1
    try:
        args.batch_sizes = [int(b) for b in str(args.batch_sizes).split(",")]
    except ValueError:
        p.error(f"--batch-sizes takes comma-separated positive integers, got {args.batch_sizes!r}")
    if min(args.batch_sizes) < 1:
        p.error(f"--batch-sizes must be positive, got {args.batch_sizes}")
    if args.new_tokens < 2:
        p.error("--new-tokens must be >= 2 (decode speed is the time of tokens 2..N)")
    for name in ("repeats", "bottleneck_dim"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup < 0 or args.train_batch < 0:
        p.error("--warmup and --train-batch must be >= 0")
    return args


# ---- measuring ----------------------------------------------------------------------------------
class PeakMemory:
    """Peak memory of a block: CUDA's allocator statistics, or sampled RSS on the CPU."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.before = torch.cuda.memory_allocated()
        else:
            import psutil

            self._process, self._stop = psutil.Process(), threading.Event()
            self.before = self.peak = self._process.memory_info().rss
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc):
        import torch

        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated()
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self._process.memory_info().rss)
        self.result = {"before_mib": round(self.before / 2**20, 1), "peak_mib": round(self.peak / 2**20, 1),
                       "delta_mib": round((self.peak - self.before) / 2**20, 1)}


def timed(fn, device) -> float:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def build(args):
    import torch

    from babelbridge.backbones import load_decoder, load_encoder
    from babelbridge.bridges import build_bridge

    torch.manual_seed(0)
    encoder = load_encoder(args.encoder, dtype=args.dtype, device=args.device)
    decoder = load_decoder(args.decoder, dtype=args.dtype, device=args.device)
    ensure_language_token(encoder, "deu_Latn")
    # adapter_up_init "default": non-zero adapters, so nothing can be skipped as a no-op.
    bridge = build_bridge("hca", encoder, decoder, {"bottleneck_dim": args.bottleneck_dim,
                                                    "adapter_up_init": "default"})
    return bridge.to(args.device)


def ensure_language_token(encoder, code: str) -> None:
    """random:<NLLB> comes with a byte tokenizer without language codes: add the one the
    benchmark reads (one token, any id, times the same)."""
    from babelbridge.errors import InputError

    try:
        encoder.language_token_id(code)
    except InputError:
        encoder.tokenizer.add_special_tokens({"additional_special_tokens": [code]})


class StepClock:
    """A stopping criterion that never stops and notes when the first new token exists.

    transformers calls it once per step, after the token is chosen: its first call marks the end
    of the prefill; everything after is decoding. One call of generate gives both times.
    """

    def __init__(self, device):
        self.device, self.first = device, None

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        if self.first is None:
            if self.device.type == "cuda":
                torch.cuda.synchronize()  # once per call; generate syncs every step anyway
            self.first = time.perf_counter()
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)


def measure_calls(calls: dict, device, *, warmup: int, repeats: int) -> dict[str, dict]:
    """Generation calls, each given a StepClock: call(clock). Each is warmed up first (its last
    untimed call also gives the peak memory), then `repeats` timed rounds call them in turn
    (interleaved: a slower spell of the machine hits every call alike). Returns
    {name: {"prefill": [s], "decode": [s], "memory": {...}}}: per timed call, the seconds to the
    first new token and from it to the last."""
    import torch

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    memory = {}
    for name, run in calls.items():
        for i in range(max(warmup, 1)):  # the last untimed call also gives the peak memory
            if i == max(warmup, 1) - 1:
                with PeakMemory(device) as peak:
                    run(StepClock(device))
                memory[name] = peak.result
            else:
                run(StepClock(device))
    samples = {name: {"prefill": [], "decode": []} for name in calls}
    for _ in range(repeats):
        for name, run in calls.items():
            clock = StepClock(device)
            sync()
            start = time.perf_counter()
            run(clock)
            sync()
            samples[name]["prefill"].append(clock.first - start)
            samples[name]["decode"].append(time.perf_counter() - clock.first)
    return {name: {**samples[name], "memory": memory[name]} for name in calls}


def decode_figures(measured: dict, batch: int, n: int) -> dict:
    """One call's figures from measure_calls: medians, decode tokens/s = batch * (n - 1) / the decode time."""
    prefill, decode = (statistics.median(measured[k]) for k in ("prefill", "decode"))
    return {
        "prefill_s": round(prefill, 5),
        "decode_s": round(decode, 5),
        "decode_tokens_per_s": round(batch * (n - 1) / decode, 2),
        "best_decode_tokens_per_s": round(batch * (n - 1) / min(measured["decode"]), 2),
        "end_to_end_tokens_per_s": round(batch * n / (prefill + decode), 2),
        "memory": measured["memory"],
        "samples_s": {k: [round(t, 5) for t in measured[k]] for k in ("prefill", "decode")},
    }


def decode_runs(bridge, args, batch: int, device) -> dict[str, dict]:
    """Both models at one batch size: interleaved timed calls, medians."""
    import torch
    from transformers import StoppingCriteriaList

    from babelbridge.bridges.generation import decode_config
    from babelbridge.padding import left_pad

    texts = [SENTENCES[i % len(SENTENCES)] for i in range(batch)]
    n = args.new_tokens
    options = dict(max_new_tokens=n, min_new_tokens=n, static_cache=args.static_cache, compile=args.compile)

    def hybrid(clock):
        out = bridge.generate_token_ids(texts, "deu_Latn", "eng_Latn", stopping_criteria=StoppingCriteriaList([clock]),
                                        **options)
        assert all(len(row) == n for row in out), "a row stopped early: lengths are not forced"

    def plain(clock):
        ids, mask = left_pad([bridge.prompt_ids("eng_Latn")] * batch, bridge.decoder.pad_token_id)
        with torch.no_grad():
            out = bridge.decoder.model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                                generation_config=decode_config(bridge.decoder, **options),
                                                stopping_criteria=StoppingCriteriaList([clock]))
        assert out.shape[1] - ids.shape[1] == n, "the plain model stopped early"

    measured = measure_calls({"plain": plain, "hybrid": hybrid}, device, warmup=args.warmup, repeats=args.repeats)
    source = bridge.encoder.tokenize(texts, ["deu_Latn"] * batch)

    def encode():
        with torch.no_grad():
            bridge.encode_source(source["input_ids"], source["attention_mask"])

    encoder = statistics.median(timed(encode, device) for _ in range(args.repeats))
    results = {}
    for name in ("plain", "hybrid"):
        figures = decode_figures(measured[name], batch, n)
        results[name] = {"model": name, "batch": batch, "new_tokens": n, "prefill_s": figures.pop("prefill_s"),
                         "encoder_s": round(encoder, 5) if name == "hybrid" else None, **figures}
    return results


def training_pairs(n: int):
    """n German -> English pairs (the sentences above, repeated)."""
    from babelbridge.bridges import TranslationPair

    return [TranslationPair(SENTENCES[i % len(SENTENCES)], TARGETS[i % len(TARGETS)], "deu_Latn") for i in range(n)]


def train_step(bridge, pairs, device, *, repeats: int, bf16: bool, before_step=None) -> dict:
    """Optimizer steps of a bridge on one batch (forward, backward, AdamW), as the trainer runs
    them: its hooks (begin_step / end_step), its trainable parameters only, bf16 autocast where
    the backbones are bf16. The first step is untimed (it also allocates AdamW's moments); the
    peak memory covers the timed ones. target tokens: the bridge's loss_weight (scored answer tokens)."""
    import torch

    batch = bridge.collate(pairs)
    target_tokens = bridge.loss_weight(batch)
    decoder_tokens = int(batch["attention_mask"].sum()) if "attention_mask" in batch else None
    optimizer = torch.optim.AdamW([p for _, p in bridge.trainable_named_parameters()], lr=1e-5)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
    steps = iter(range(repeats + 1))
    bridge.train()

    def step():
        bridge.begin_step(next(steps), repeats + 1)
        with autocast:
            loss = bridge.loss(batch)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        bridge.end_step(lambda tensor: tensor)  # one process: gathering is the identity

    try:
        step()
        samples = []
        with PeakMemory(device) as peak:
            for _ in range(repeats):
                if before_step:
                    before_step()
                samples.append(timed(step, device))
    finally:
        bridge.eval()
        optimizer.zero_grad(set_to_none=True)
    seconds = statistics.median(samples)
    return {"batch": len(pairs), "target_tokens": target_tokens, "decoder_tokens": decoder_tokens,
            "step_s": round(seconds, 5), "tokens_per_s": round(target_tokens / seconds, 2),
            "decoder_tokens_per_s": round(decoder_tokens / seconds, 2) if decoder_tokens is not None else None,
            "memory": peak.result, "samples_s": [round(t, 5) for t in samples]}


def training_step(bridge, args, device) -> dict | None:
    """One optimizer step of the bridge (forward, backward, AdamW), as the trainer runs it."""
    if args.train_batch == 0:
        return None
    return train_step(bridge, training_pairs(args.train_batch), device, repeats=args.repeats,
                      bf16=args.dtype == "bfloat16")


# ---- reporting ----------------------------------------------------------------------------------
def environment(device, argv: list[str], script: str = "benchmarks/decode_speed.py") -> dict:
    import torch
    import transformers

    from babelbridge.provenance import cpu_model

    cpu = cpu_model()
    gpu = None
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        gpu = f"{props.name} ({props.total_memory / 2**30:.0f} GiB)"
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(["python", script, *argv]),
        "machine": {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(), "gpu": gpu,
                    "load_average_1m": round(os.getloadavg()[0], 2)},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__},
    }


def provenance_lines(env: dict) -> list[str]:
    """The footer of every benchmark's markdown: when, the command, the machine, the versions."""
    m = env["machine"]
    threads = f", torch threads {m['torch_threads']}" if "torch_threads" in m else ""
    gpu = f", GPU: {m['gpu']}" if m.get("gpu") else ""
    cuda = f", CUDA {m['cuda']}" if m.get("cuda") else ""
    load = f"; load average at the end {m['load_average_1m']}" if "load_average_1m" in m else ""
    return [f"- date: {env['date']}", f"- command: `{env['command']}`",
            f"- machine: {m['cpu']} ({m['cpu_count']} CPUs{threads}){gpu}{cuda}, {m['platform']}{load}",
            "- versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items())]


def ratios(decode: list[dict]) -> dict:
    by = {(r["model"], r["batch"]): r for r in decode}
    out = {}
    for batch in sorted({r["batch"] for r in decode}):
        h, p = by["hybrid", batch], by["plain", batch]
        out[f"batch_{batch}"] = {
            "decode": round(h["decode_tokens_per_s"] / p["decode_tokens_per_s"], 4),
            "best_decode": round(h["best_decode_tokens_per_s"] / p["best_decode_tokens_per_s"], 4),
            "end_to_end": round(h["end_to_end_tokens_per_s"] / p["end_to_end_tokens_per_s"], 4),
            "prefill_time": round(h["prefill_s"] / p["prefill_s"], 4),
        }
    return out


def goals(report: dict) -> list[str]:
    lines = []
    r1 = report["ratios"].get("batch_1", {}).get("decode")
    if r1 is not None:
        lines.append(f"hybrid / plain decode speed at batch 1: {r1:.3f} (goal >= {GOALS['ratio_batch_1']}, "
                     f"{'met' if r1 >= GOALS['ratio_batch_1'] else 'NOT met'}; the HCA paper: 0.63)")
    if report["environment"]["machine"]["gpu"]:
        by = {(r["model"], r["batch"]): r["decode_tokens_per_s"] for r in report["decode"]}
        for batch, key in ((1, "gpu_hybrid_batch_1"), (64, "gpu_hybrid_batch_64")):
            if ("hybrid", batch) in by and by["hybrid", batch]:
                v = by["hybrid", batch]
                lines.append(f"hybrid decode at batch {batch}: {v:.0f} tokens/s (goal >= {GOALS[key]:.0f} at the "
                             f"paper's sizes, {'met' if v >= GOALS[key] else 'NOT met'})")
    return lines


def markdown(report: dict) -> str:
    s, env = report["settings"], report["environment"]
    lines = [
        f"# Decode speed: HCA hybrid vs plain LLM ({report['preset']})", "",
        f"encoder `{s['encoder']}`, decoder `{s['decoder']}`, r = {s['bottleneck_dim']}, device {s['device']} "
        f"({s['dtype']} backbones, {s['adapter_dtype']} adapters); {s['new_tokens']} new tokens per row "
        f"(forced), static cache {s['static_cache']}, compiled decode step {s['compile']}; "
        f"{s['warmup']} warm-up + {s['repeats']} timed calls, medians.", "",
        "| model | batch | decode tokens/s (best) | decode s | prefill + encoder (s) | encoder + W_proj (s) | "
        "peak memory (MiB) | memory delta (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["decode"]:
        lines.append(f"| {r['model']} | {r['batch']} | {r['decode_tokens_per_s']} ({r['best_decode_tokens_per_s']}) | "
                     f"{r['decode_s']} | {r['prefill_s']} | {r['encoder_s'] if r['encoder_s'] is not None else '-'} | "
                     f"{r['memory']['peak_mib']} | {r['memory']['delta_mib']} |")
    lines += ["", "| batch | hybrid / plain decode tokens/s (median) | (best) | end to end | prefill time |",
              "|---|---|---|---|---|"]
    for key, r in report["ratios"].items():
        lines.append(f"| {key.split('_')[1]} | {r['decode']} | {r['best_decode']} | {r['end_to_end']} | "
                     f"{r['prefill_time']} |")
    t = report["training"]
    if t:
        lines += ["", f"Training step (forward + backward + AdamW, batch {t['batch']}, {t['target_tokens']} target / "
                  f"{t['decoder_tokens']} decoder tokens): {t['step_s']} s, **{t['tokens_per_s']} target tokens/s** "
                  f"({t['decoder_tokens_per_s']} decoder tokens/s), peak memory {t['memory']['peak_mib']} MiB "
                  f"(+{t['memory']['delta_mib']} MiB)."]
    lines += ["", *[f"- {g}" for g in goals(report)], "",
              *provenance_lines(env),
              "- memory: GPU = torch.cuda.max_memory_allocated (delta: over the allocation before the call); "
              "CPU = peak resident set size sampled every 2 ms (delta: over the RSS before the call)."]
    return "\n".join(lines) + "\n"


def save_report(out: Path, name: str, report: dict, text: str, indent: int = 2) -> Path:
    """<out>/<name>-<UTC date>.json and .md (text, also printed); returns the stem."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{name}-{datetime.now(timezone.utc):%Y%m%d-%H%M}"
    Path(f"{stem}.json").write_text(json.dumps(report, indent=indent) + "\n")
    Path(f"{stem}.md").write_text(text)
    print(text)
    print(f"saved {stem}.json and {stem}.md", file=sys.stderr)
    return stem


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))  # run from a checkout without installing
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.compile:
        torch._dynamo.config.cache_size_limit = 64  # one graph per (model, batch size) at most
    device = torch.device(args.device)
    started = time.perf_counter()
    bridge = build(args)
    print(f"built {args.encoder} + {args.decoder} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    training = training_step(bridge, args, device)  # float32 adapters, as trained
    if args.adapter_dtype == "model":
        bridge.blocks.to(bridge.decoder.model.dtype)
        if bridge.source_adapter is not None:
            bridge.source_adapter.to(bridge.decoder.model.dtype)
    bridge.eval()
    decode = []
    for batch in args.batch_sizes:
        results = decode_runs(bridge, args, batch, device)
        decode += [results["plain"], results["hybrid"]]
        print(f"batch {batch}: plain {results['plain']['decode_tokens_per_s']} tokens/s, hybrid "
              f"{results['hybrid']['decode_tokens_per_s']} tokens/s", file=sys.stderr)
    report = {
        "preset": args.preset,
        "settings": {**{k: getattr(args, k) for k in ("encoder", "decoder", "bottleneck_dim", "device", "dtype",
                                                       "batch_sizes", "new_tokens", "repeats", "warmup",
                                                       "train_batch", "compile", "threads")},
                     "adapter_dtype": args.dtype if args.adapter_dtype == "model" else "float32",
                     "static_cache": args.static_cache or args.compile},
        "decode": decode,
        "ratios": ratios(decode),
        "training": training,
        "environment": environment(device, argv),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    save_report(args.out, f"decode_speed-{args.preset}{'-' + args.tag if args.tag else ''}", report, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
