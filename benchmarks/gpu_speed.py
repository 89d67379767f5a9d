"""Speed and memory of every method, each against the plain LLM it runs on, in one run (issue 22).

For each method (HCA, XBridge, LLINK, LLM + LoRA, CrossLoRA) the
script builds the method's backbones with random weights at the papers' sizes (`random:<hub id>`:
the real architectures offline; speed does not depend on weight values), the bridge with the
options of its run config under configs/, and the plain LLM on the same decoder object: the
prompted baseline (PromptedBridge, the source in LMT's prompt; for LoRA and LLINK with the LoRA
layers switched off, for CrossLoRA with its experts off). Then, per batch size (paper: 1 and 64; pocket: 1 and 4):

    decode tokens/s    batch * (N - 1) / the time from the first new token to the last
    prefill_s          from the call to the first new token: tokenisation, the encoder and the
                       bridge's source side (mapping, W_proj, slots), the prompt's forward pass
    bridge / plain     the two decode speeds of the same run (and end to end, prefill time)
    peak memory        GPU: torch.cuda.max_memory_allocated during a whole call, every loaded
                       model included ("before": allocated before the call); CPU: sampled RSS

and one training step of the bridge at batch 8 (pocket: 2; forward, backward, AdamW; bf16 autocast
on bf16 backbones, as the trainer runs it): time, target tokens/s, peak memory. Every system generates
exactly --new-tokens tokens per row: the LLM's generate is wrapped for the run so that every call
gets the same settings (decode_config with min = max = N, greedy, the static cache / compiled
step only when asked, for every system alike), and the length is checked. Calls go through each
bridge's own generate_batch (text in, text out; XBridge into English, its LLM pass). Warm-up
calls first, then --repeats timed calls, bridge and plain interleaved; medians. The measuring
code is decode_speed.py's (measure_calls, decode_figures, train_step).

A time budget (--budget-s) guards the run, shared out over the methods (each may use what is
left over the methods still to run): a build, generate call or training step that would end past
its method's share (judged by the slowest like call so far) is not started, and its row says so.
Per method: the first batch size, the training step, then the other batch sizes.

    python benchmarks/gpu_speed.py --sizes paper --device cuda          # an H100/H200, a few minutes
    python benchmarks/gpu_speed.py --sizes pocket --device cpu --threads 1   # CPU rehearsal
    python benchmarks/gpu_speed.py --sizes pocket --methods hca,lora --batch-sizes 1,2 --new-tokens 4

Writes gpu_speed-<sizes>-<device>[-rehearsal][-<tag>]-<date>.{json,md} under --out
(benchmarks/results/); a CPU run is named a rehearsal, not GPU figures.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import traceback
import warnings
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from decode_speed import (  # noqa: E402  (the same measuring code as the HCA decode benchmark)
    SENTENCES, decode_figures, ensure_language_token, environment, measure_calls, provenance_lines, save_report, train_step,
    training_pairs,
)

SRC_LANG, TGT_LANG = "deu_Latn", "eng_Latn"


@dataclass(frozen=True)
class Setup:
    """One method's backbones and bridge options: its run config's bridge section (config, a path
    under the repository) with `bridge` on top."""

    encoder: str | None
    decoder: str
    config: str | None = None
    bridge: dict = field(default_factory=dict)
    note: str = ""


# HCA: non-zero adapter and O initialisations, so that nothing can be skipped as a no-op.
NO_SHORTCUT = {"adapter_up_init": "default", "o_proj_init": "default"}
SMOL = "random:HuggingFaceTB/SmolLM2-135M-Instruct"
E5 = "random:intfloat/multilingual-e5-small"
SIZES = {
    "paper": {
        "hca": Setup("random:facebook/nllb-200-1.3B", "random:Qwen/Qwen3-4B", "configs/hca-paper-deu-eng.yaml",
                     NO_SHORTCUT, "NLLB-200-1.3B encoder + Qwen3-4B, r = 2048, blocks in all 36 layers"),
        "xbridge": Setup("random:facebook/nllb-200-1.3B", "random:Qwen/Qwen2.5-7B-Instruct",
                         "configs/xbridge-paper-stage1.yaml", {},
                         "NLLB-200-1.3B (both halves) + Qwen2.5-7B-Instruct, stage 1; decoding X->En"),
        "llink": Setup("random:FacebookAI/xlm-roberta-base", "random:meta-llama/Llama-3.2-1B",
                       "configs/pocket-llink-deu-eng-inject.yaml", {},
                       "XLM-R base + Llama-3.2-1B, stage B: K = 8 slots, LoRA r 16 (unmerged)"),
        "lora": Setup(None, "random:meta-llama/Meta-Llama-3-8B-Instruct", None, {"r": 16},
                      "Llama-3-8B-Instruct, LoRA r 16 on every projection (unmerged)"),
        "crosslora": Setup(None, "random:meta-llama/Meta-Llama-3-8B-Instruct", "configs/crosslora-paper.yaml", {},
                           "Llama-3-8B-Instruct, 6 language experts r 16 on gate/up/down (unmerged); one "
                           "direction per batch: the grouped path"),
    },
    "pocket": {
        "hca": Setup(E5, SMOL, "configs/pocket-hca-deu-eng.yaml", NO_SHORTCUT,
                     "e5-small + SmolLM2-135M, the pocket bridge's shape (r = 64, 6 layers)"),
        "xbridge": Setup("tiny-random:m2m100", SMOL, "configs/xbridge-paper-stage1.yaml", {},
                         "tiny NMT model + SmolLM2-135M, stage 1; decoding X->En"),
        "llink": Setup(E5, SMOL, "configs/pocket-llink-deu-eng-inject.yaml", {},
                       "e5-small + SmolLM2-135M, stage B: K = 8 slots, LoRA r 16 (unmerged)"),
        "lora": Setup(None, SMOL, None, {"r": 16}, "SmolLM2-135M, LoRA r 16 on every projection (unmerged)"),
        "crosslora": Setup(None, SMOL, "configs/crosslora-paper.yaml", {},
                           "SmolLM2-135M, 6 language experts r 16 on gate/up/down (unmerged)"),
    },
}
METHODS = ("hca", "xbridge", "llink", "lora", "crosslora")
LABELS = {"hca": "HCA", "xbridge": "XBridge", "llink": "LLINK", "lora": "LLM + LoRA", "crosslora": "CrossLoRA"}
# pocket: a rehearsal of the same code in under three CPU-minutes (batch 4 and a training batch of 2:
# a CPU core prefills 64 byte-level prompts, or trains on 8 pairs, for tens of seconds).
DEFAULTS = {"paper": dict(batch_sizes="1,64", train_batch=8, new_tokens=128, repeats=3, warmup=1, budget_s=450),
            "pocket": dict(batch_sizes="1,4", train_batch=2, new_tokens=8, repeats=1, warmup=1, budget_s=900)}
GOALS = {"hca_ratio": 0.90, "hca_tokens_per_s": {1: 150.0, 64: 4000.0}}  # issue 7 / issue 22
PAPER_HCA = "the HCA paper: 25.2 tokens/s at batch 1 on an H200, 0.63 x Qwen3-4B alone"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", required=True, choices=sorted(SIZES),
                   help="paper: the papers' backbones (a GPU); pocket: e5-small / tiny encoders + SmolLM2-135M (a CPU)")
    p.add_argument("--methods", default=",".join(METHODS),
                   help="comma-separated, in the order run (default: %(default)s)")
    p.add_argument("--device", help="cuda or cpu (default: cuda when available)")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"],
                   help="backbones' dtype (default: bfloat16 on cuda, float32 on cpu)")
    p.add_argument("--batch-sizes", help="decode batch sizes (paper 1,64, pocket 1,4)")
    p.add_argument("--new-tokens", type=int, help="tokens generated per row, forced (paper 128, pocket 8)")
    p.add_argument("--repeats", type=int, help="timed calls per measurement (paper 3, pocket 1)")
    p.add_argument("--warmup", type=int, help="untimed calls first (default 1)")
    p.add_argument("--train-batch", type=int, help="pairs in the training step, 0 skips it (paper 8, pocket 2)")
    p.add_argument("--budget-s", type=float, help="total time budget in seconds (paper 450, pocket 900)")
    p.add_argument("--static-cache", action="store_true", help="static KV cache, for every system alike")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the decode step, for every system alike (implies --static-cache)")
    p.add_argument("--allow-slow", action="store_true", help="let --sizes paper run on a CPU (hours)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--tag", help="added to the output file names")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="(default: %(default)s)")
    args = p.parse_args(argv)
    for key, value in DEFAULTS[args.sizes].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown or not args.methods:
        p.error(f"--methods takes some of {','.join(METHODS)}, got {unknown or 'none'}")
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    except ValueError:
        p.error(f"--batch-sizes takes comma-separated positive integers, got {args.batch_sizes!r}")
    if min(args.batch_sizes) < 1 or args.new_tokens < 2 or args.repeats < 1 or args.warmup < 0 or args.train_batch < 0:
        p.error("--batch-sizes and --repeats must be >= 1, --new-tokens >= 2, --warmup and --train-batch >= 0")
    if args.budget_s <= 0:
        p.error("--budget-s must be positive")
    return args


def resolve_device(args) -> None:
    """--device and --dtype defaults; a paper-size run on a CPU, or CUDA without a GPU, ends in one line."""
    import torch

    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"gpu_speed: --device {args.device} but torch {torch.__version__} sees no CUDA GPU")
    if args.sizes == "paper" and args.device == "cpu" and not args.allow_slow:
        raise SystemExit("gpu_speed: --sizes paper on the CPU would take hours (4-8B models at batch 64); "
                         "run it with --device cuda, rehearse with --sizes pocket, or pass --allow-slow")
    if args.dtype is None:
        args.dtype = "bfloat16" if args.device.startswith("cuda") else "float32"


# ---- the time budget -------------------------------------------------------------------------------
class OverBudget(Exception):
    pass


class Budget:
    """The run's deadline, shared out: each method may use what is left over the methods still to
    run (share(n)), so a slow one cannot starve the others; what it leaves passes on. check(key)
    refuses to start work that would end past its share, judged by the slowest work of the same
    key so far (unknown work: only once the share is spent)."""

    def __init__(self, seconds: float):
        self.seconds, self.deadline, self.slowest = seconds, time.perf_counter() + seconds, {}
        self.share_end = self.deadline

    def share(self, parts: int) -> None:
        self.share_end = time.perf_counter() + self.left() / max(parts, 1)

    def check(self, key, guess_key=None) -> None:
        guess, left = self.slowest.get(key, self.slowest.get(guess_key, 0.0)), self.left(share=True)
        if left <= 0:
            raise OverBudget(f"skipped: this method's share of the time budget ({self.seconds:g} s, --budget-s) "
                             f"is spent")
        if guess > left:
            raise OverBudget(f"skipped: {left:.0f} s left of this method's share of the time budget "
                             f"({self.seconds:g} s, --budget-s), and a like call took {guess:.0f} s")

    def note(self, key, seconds: float) -> None:
        self.slowest[key] = max(seconds, self.slowest.get(key, 0.0))

    def left(self, share: bool = False) -> float:
        return min(self.deadline, self.share_end if share else self.deadline) - time.perf_counter()

    def guarded(self, key, run, guess_key=None):
        """run(clock), refused when over budget; its duration noted under key."""
        def call(clock):
            self.check(key, guess_key)
            started = time.perf_counter()
            run(clock)
            self.note(key, time.perf_counter() - started)
        return call


# ---- measuring ---------------------------------------------------------------------------------------
class ForcedGenerate:
    """The LLM's generate, wrapped on this model instance while measuring: every call makes
    exactly n new tokens with the same settings for every system (decode_config, min = max = n),
    the current call's StepClock rides along as a stopping criterion, and the prompt's width (the
    positions the prefill reads, padding included) is noted."""

    def __init__(self, decoder, n: int, *, static_cache: bool = False, compile: bool = False):
        from babelbridge.bridges.generation import decode_config

        self.model, self.n = decoder.model, n
        self.config = decode_config(decoder, max_new_tokens=n, min_new_tokens=n, static_cache=static_cache,
                                    compile=compile)
        self.clock, self.prompt_positions = None, None

    def __enter__(self):
        from transformers import StoppingCriteriaList

        inner = self.model.generate

        def generate(*args, stopping_criteria=None, generation_config=None, **kwargs):
            criteria = StoppingCriteriaList([*(stopping_criteria or []), *([self.clock] if self.clock else [])])
            out = inner(*args, generation_config=self.config, stopping_criteria=criteria, **kwargs)
            prompt = kwargs["input_ids"].shape[1] if kwargs.get("input_ids") is not None else 0  # embeds: new only
            assert out.shape[1] - prompt == self.n, f"the LLM made {out.shape[1] - prompt} tokens, not {self.n}"
            self.prompt_positions = int(kwargs["attention_mask"].shape[1])
            return out

        object.__setattr__(self.model, "generate", generate)  # this model instance only
        return self

    def __exit__(self, *exc):
        del self.model.__dict__["generate"]


def bridge_options(setup: Setup) -> dict:
    import yaml

    options = {}
    if setup.config:
        options = dict((yaml.safe_load((ROOT / setup.config).read_text()) or {}).get("bridge") or {})
    return {**options, **setup.bridge}


def build(method: str, setup: Setup, args):
    """The bridge, the plain LLM on the same decoder object, and the context the plain LLM runs in."""
    import torch

    from babelbridge.bridges import build_bridge, load_backbones
    from babelbridge.bridges.lora.inject import lora_disabled

    options = bridge_options(setup)
    torch.manual_seed(0)
    encoder, decoder = load_backbones(method, options, setup.encoder, setup.decoder, dtype=args.dtype,
                                      device=args.device)
    if encoder is not None:
        ensure_language_token(encoder, SRC_LANG)
    bridge = build_bridge(method, encoder, decoder, options).to(args.device).eval()
    plain = build_bridge("prompted", None, decoder, {}).eval()
    if method == "crosslora":  # the LLM without its experts (they need a direction to run at all)
        return bridge, plain, bridge.router.experts_off
    injected = method in ("lora", "llink") and getattr(bridge.config, "stage", "inject") == "inject"
    return bridge, plain, (lambda: lora_disabled(decoder)) if injected else nullcontext


def decode_rows(method, bridge, plain, plain_context, args, batch: int, budget: Budget) -> list[dict]:
    """The bridge and the plain LLM at one batch size, interleaved: two rows and their ratio."""
    import torch

    device = torch.device(args.device)
    texts = [SENTENCES[i % len(SENTENCES)] for i in range(batch)]
    forced = ForcedGenerate(bridge.decoder, args.new_tokens, static_cache=args.static_cache, compile=args.compile)
    positions = {}

    def system(name, model, context):
        def run(clock):
            forced.clock = clock
            with context(), torch.no_grad():
                model.generate_batch(texts, SRC_LANG, TGT_LANG, max_new_tokens=args.new_tokens)
            positions[name] = forced.prompt_positions
        # the first call at a new batch size is judged by the batch sizes before it
        return budget.guarded((method, name, batch), run, guess_key=(method, name, "last"))

    calls = {"bridge": system("bridge", bridge, nullcontext), "plain": system("plain", plain, plain_context)}
    with forced:
        measured = measure_calls(calls, device, warmup=args.warmup, repeats=args.repeats)
    for name in calls:
        budget.note((method, name, "last"), budget.slowest[(method, name, batch)])
    figures = {name: decode_figures(measured[name], batch, args.new_tokens) for name in calls}
    b, p = figures["bridge"], figures["plain"]
    ratio = {"decode_ratio": round(b["decode_tokens_per_s"] / p["decode_tokens_per_s"], 4),
             "end_to_end_ratio": round(b["end_to_end_tokens_per_s"] / p["end_to_end_tokens_per_s"], 4),
             "prefill_time_ratio": round(b["prefill_s"] / p["prefill_s"], 4)}
    return [{**row_head(method, name, batch, args), "status": "ok", "llm_prompt_positions": positions[name],
             **figures[name], **(ratio if name == "bridge" else dict.fromkeys(ratio))} for name in calls]


def row_head(method: str, system: str, batch: int | None, args) -> dict:
    label = LABELS[method] if system == "bridge" else "LLM alone (prompted)"
    return {"method": method, "system": system, "label": label, "batch": batch, "new_tokens": args.new_tokens}


def training_row(method, bridge, args, budget: Budget) -> dict:
    import torch

    trainable = sum(p.numel() for _, p in bridge.trainable_named_parameters())
    head = {"method": method, "label": LABELS[method], "trainable_parameters": trainable}
    key, last = (method, "train"), [None]

    def before_step():  # the interval between two calls is one step
        now = time.perf_counter()
        if last[0] is not None:
            budget.note(key, now - last[0])
        last[0] = now
        budget.check(key)

    budget.check(key)
    result = train_step(bridge, training_pairs(args.train_batch), torch.device(args.device), repeats=args.repeats,
                        bf16=args.dtype == "bfloat16", before_step=before_step)
    return {**head, "status": "ok", **result}


def attempt(work):
    """(work(), "ok"), or (None, why not): a failure or the budget ends the work it hit, never the run."""
    try:
        return work(), "ok"
    except Exception as exc:  # noqa: BLE001 (its rows say what happened; the other work still runs)
        if isinstance(exc, OverBudget):
            return None, str(exc)
        traceback.print_exc()
        return None, f"error: {type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:300]}"


def free_memory(device: str) -> None:
    import torch

    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def run_method(method: str, setup: Setup, args, budget: Budget) -> tuple[list[dict], dict | None]:
    """One method: build, decode at every batch size, one training step, each in its own rows."""
    started = time.perf_counter()

    def building():
        budget.check(("build", method))
        return build(method, setup, args)

    built, status = attempt(building)
    free_memory(args.device)  # outside the except block: a failed build's tensors go with its traceback
    if built is None:
        decode = [{**row_head(method, s, b, args), "status": status} for b in args.batch_sizes
                  for s in ("bridge", "plain")]
        return decode, {"method": method, "label": LABELS[method], "status": status} if args.train_batch else None
    bridge, plain, plain_context = built
    print(f"{method}: built {setup.encoder} + {setup.decoder} in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    decode, training = [], None
    # The first batch size, the training step, then the other batch sizes: a short budget keeps
    # every code path of the method and drops the larger batches first.
    work = [args.batch_sizes[0], *(["train"] if args.train_batch else []), *args.batch_sizes[1:]]
    for batch in work:
        if batch == "train":
            training, status = attempt(partial(training_row, method, bridge, args, budget))
            training = training or {"method": method, "label": LABELS[method], "status": status}
            print(f"{method} training: {status}", file=sys.stderr)
            continue
        rows, status = attempt(partial(decode_rows, method, bridge, plain, plain_context, args, batch, budget))
        free_memory(args.device)
        rows = rows or [{**row_head(method, s, batch, args), "status": status} for s in ("bridge", "plain")]
        print(f"{method} batch {batch}: " + (f"bridge {rows[0]['decode_tokens_per_s']} tokens/s, plain "
              f"{rows[1]['decode_tokens_per_s']} tokens/s ({rows[0]['decode_ratio']}x)" if status == "ok" else status),
              file=sys.stderr)
        decode += rows
    del bridge, plain, built
    free_memory(args.device)
    return decode, training


# ---- reporting ---------------------------------------------------------------------------------------
def goal_notes(report: dict) -> dict[tuple[str, int], str]:
    """The goals, next to HCA's bridge rows: the ratio everywhere; tokens/s only on a GPU at the paper's sizes."""
    s = report["settings"]
    judged = s["sizes"] == "paper" and s["device"].startswith("cuda")
    notes = {}
    for r in report["decode"]:
        if r["method"] != "hca" or r["system"] != "bridge" or r["status"] != "ok":
            continue
        parts = [f"ratio >= {GOALS['hca_ratio']}: {'met' if r['decode_ratio'] >= GOALS['hca_ratio'] else 'NOT met'}"]
        target = GOALS["hca_tokens_per_s"].get(r["batch"])
        if target:
            verdict = ("met" if r["decode_tokens_per_s"] >= target else "NOT met") if judged else \
                "judged on a GPU at paper sizes only"
            parts.append(f">= {target:.0f} tokens/s: {verdict}")
        notes[r["method"], r["batch"]] = "; ".join(parts)
    return notes


def cell(row: dict, key: str, fmt=str) -> str:
    value = row.get(key)
    return "-" if value is None else fmt(value)


def markdown(report: dict) -> str:
    s, env = report["settings"], report["environment"]
    rehearsal = not s["device"].startswith("cuda")
    title = (f"# Speed of every method: CPU rehearsal at {s['sizes']} sizes (not GPU figures)" if rehearsal
             else f"# Speed of every method on a GPU ({s['sizes']} sizes)")
    lines = [title, "",
             f"Device {s['device']}, {s['dtype']} backbones (bridges' own weights float32, as trained); "
             f"{s['new_tokens']} new tokens per row, forced for every system; static cache {s['static_cache']}, "
             f"compiled decode step {s['compile']}; {s['warmup']} warm-up + {s['repeats']} timed calls, bridge "
             f"and plain interleaved, medians; random weights at real sizes. Plain = the same LLM object prompted "
             f"with the source (LoRA layers off for LoRA and LLINK). Time budget {s['budget_s']:.0f} s, "
             f"{report['wall_s']:.0f} s used.", "",
             "| method | system | backbones | batch | decode tokens/s (best) | bridge / plain | prefill s | "
             "LLM prompt positions | peak memory MiB (before) | goal | status |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    notes = goal_notes(report)
    for r in report["decode"]:
        setup = report["methods"].get(r["method"], {})
        backbones = " + ".join(x.removeprefix("random:") for x in (setup.get("encoder"), setup.get("decoder")) if x) \
            if r["system"] == "bridge" else ""
        ok = r["status"] == "ok"
        speed = f"{r['decode_tokens_per_s']} ({r['best_decode_tokens_per_s']})" if ok else "-"
        memory = f"{r['memory']['peak_mib']} ({r['memory']['before_mib']})" if ok else "-"
        lines.append(f"| {LABELS[r['method']]} | {r['label']} | {backbones} | {cell(r, 'batch')} | {speed} | "
                     f"{cell(r, 'decode_ratio')} | {cell(r, 'prefill_s')} | {cell(r, 'llm_prompt_positions')} | "
                     f"{memory} | {notes.get((r['method'], r['batch']), '') if r['system'] == 'bridge' else ''} | "
                     f"{r['status']} |")
    if report["training"]:
        lines += ["", f"Training step (forward + backward + AdamW, batch {s['train_batch']}, German -> English pairs; "
                  "target tokens: the bridge's loss weight):", "",
                  "| method | trainable parameters | target tokens | step s | target tokens/s | "
                  "peak memory MiB (before) | status |", "|---|---:|---:|---:|---:|---:|---|"]
        for t in report["training"]:
            memory = f"{t['memory']['peak_mib']} ({t['memory']['before_mib']})" if t["status"] == "ok" else "-"
            lines.append(f"| {t['label']} | {cell(t, 'trainable_parameters', '{:,}'.format)} | "
                         f"{cell(t, 'target_tokens')} | {cell(t, 'step_s')} | {cell(t, 'tokens_per_s')} | "
                         f"{memory} | {t['status']} |")
    lines += ["", f"- goals (issue 22): HCA bridge / plain decode >= {GOALS['hca_ratio']} at batch 1 and 64; HCA >= "
              f"{GOALS['hca_tokens_per_s'][1]:.0f} tokens/s at batch 1 and >= {GOALS['hca_tokens_per_s'][64]:,.0f} at "
              f"batch 64 on a GPU at the paper's sizes ({PAPER_HCA}).",
              "- rows: " + "; ".join(f"{LABELS[k]}: {v['note']}" for k, v in report["methods"].items()),
              "- prefill s: from the call to the first new token (tokenisation, encoder and bridge source side, "
              "the prompt's forward). LLM prompt positions: the padded prompt the LLM prefills (random weights come "
              "with byte-level tokenizers: a source is as many tokens as bytes in the plain prompt).",
              "- memory: GPU = torch.cuda.max_memory_allocated during a call (decoding: the last warm-up call; "
              "training: the timed steps), every model of the method loaded; (before) = allocated before it: the "
              "weights, and in training AdamW's moments. CPU = peak RSS sampled every 2 ms, (before) the RSS before.",
              *provenance_lines(env)]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))  # run from a checkout without installing
    import torch

    from babelbridge.provenance import package_versions

    resolve_device(args)
    warnings.filterwarnings("ignore", message="Mismatch dtype between input and weight")  # fp32 mappings, bf16 LLM
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.compile:
        args.static_cache = True
        torch._dynamo.config.cache_size_limit = 64
    started = time.perf_counter()
    budget = Budget(args.budget_s)
    decode, training, methods = [], [], {}
    for i, method in enumerate(args.methods):
        budget.share(len(args.methods) - i)
        setup = SIZES[args.sizes][method]
        methods[method] = {**asdict(setup), "bridge": bridge_options(setup)}
        rows, trained = run_method(method, setup, args, budget)
        decode += rows
        if trained is not None:
            training.append(trained)
    env = environment(torch.device(args.device), argv, script="benchmarks/gpu_speed.py")
    env["versions"].update({k: v for k, v in package_versions(("tokenizers", "peft", "accelerate")).items()
                            if k != "python"})
    env["machine"]["cuda"] = torch.version.cuda if args.device.startswith("cuda") else None
    report = {
        "sizes": args.sizes,
        "settings": {k: getattr(args, k) for k in ("sizes", "methods", "device", "dtype", "batch_sizes", "new_tokens",
                                                   "repeats", "warmup", "train_batch", "budget_s", "static_cache",
                                                   "compile", "threads")},
        "methods": methods, "decode": decode, "training": training, "goals": GOALS,
        "environment": env, "wall_s": round(time.perf_counter() - started, 1),
    }
    report["goal_notes"] = {f"{m}_batch_{b}": note for (m, b), note in goal_notes(report).items()}
    kind = args.device.split(":")[0] + ("" if args.device.startswith("cuda") else "-rehearsal")
    save_report(args.out, f"gpu_speed-{args.sizes}-{kind}{'-' + args.tag if args.tag else ''}", report,
                markdown(report), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
