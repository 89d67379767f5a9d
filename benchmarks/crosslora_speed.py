"""Decoding speed of CrossLoRA's unmerged experts against LoRA and the plain LLM, in one run (issue 21, item 6).

CrossLoRA never merges its experts into W0 (any mix of directions must run in one batch), so every
adapted projection pays y = W0 x + scaling * B_tgt A_src x at every step. How much, and how much
more when a batch mixes directions? On one decoder backbone (two copies loaded: each bridge owns
its decoder), with greedy decoding of exactly --new-tokens tokens per row:

    LLM alone               the CrossLoRA bridge's decoder with router.experts_off(): each expert
                            layer runs its frozen Linear alone (the LLM as it was, on the same object)
    LLM + LoRA              method lora on the same targets (gate/up/down_proj), unmerged (peft);
                            rank: CrossLoRA's matched LoRA (ExpertLoRABridge.matched_lora_options,
                            what `babelbridge inspect` prints as "matched": the rank with about
                            CrossLoRA's trainable count, alpha scaled with it), or --lora-r
    CrossLoRA, one direction  every row src -> tgt alike: RowRoutedLoRALinear's grouped path (one
                            matmul pair per layer, the same work as LoRA of CrossLoRA's r)
    CrossLoRA, mixed        rows of different directions (every ordered pair of --languages in turn):
                            the per-row path (each row's A and B gathered, bmm); batch > 1 only

LoRA B starts at zero; here every B (CrossLoRA's experts and LoRA's) is drawn at random (seeded), and
a forward pass checks that each system's logits differ from the plain LLM's (neither layer has a
zero shortcut, but an all-zero B would hide nothing either way: this makes it certain). Each row's
routing is recorded from inside the model (which path ran, how many distinct experts).

Inputs: the prompts (the bridge's template around German sentences; the mixed batch's prompts name
each row's own languages), left-padded to one width W for every system at a batch size, so every
system prefills W positions and decodes the same steps; min_new_tokens = max_new_tokens = N (no stop
on EOS; the length is checked). Warm-up calls first, then --repeats timed calls, the systems
interleaved; min and median. Timing splits each call at its first new token (decode_speed.py's
StepClock): decode ms/step = (time from the first new token to the last) / (N - 1).

    python benchmarks/crosslora_speed.py                                   # pocket:smollm2-135m on the CPU
    python benchmarks/crosslora_speed.py --sizes tiny --new-tokens 4       # tiny random model, seconds
    python benchmarks/crosslora_speed.py --device cuda --new-tokens 128 --repeats 5

Prints the table and writes crosslora_speed-<device>[-<sizes>][-<tag>]-<UTC date>.{md,json} under --out
(benchmarks/results/; the sizes are named unless pocket), or the --out file given with a .md suffix.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from decode_speed import SENTENCES, environment, measure_calls, provenance_lines, save_report  # noqa: E402

SIZES = {"pocket": "pocket:smollm2-135m", "tiny": "tiny-random:qwen3"}
LANGUAGES = "eng_Latn,deu_Latn,fra_Latn,spa_Latn"
SYSTEMS = ("plain", "lora", "crosslora_one", "crosslora_mixed")
LABELS = {"plain": "LLM alone (experts off)", "lora": "LLM + LoRA", "crosslora_one": "CrossLoRA, one direction",
          "crosslora_mixed": "CrossLoRA, mixed directions"}
B_STD = 0.02  # the random LoRA B's standard deviation


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", choices=sorted(SIZES), default="pocket",
                   help="pocket: pocket:smollm2-135m (fetched once on first use); tiny: tiny-random:qwen3, "
                        "a quick check (default: %(default)s)")
    p.add_argument("--decoder", help="another decoder spec instead of the size's (e.g. random:Qwen/Qwen3-4B on a GPU)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"],
                   help="the backbone's dtype (default: bfloat16 on cuda, float32 on cpu; experts stay float32)")
    p.add_argument("--languages", default=LANGUAGES,
                   help="CrossLoRA's expert languages; the one-direction batch is the 2nd -> the 1st "
                        "(default: %(default)s)")
    p.add_argument("--r", type=int, default=16, help="CrossLoRA's rank (default: %(default)s, the paper's)")
    p.add_argument("--lora-r", type=int,
                   help="LoRA's rank (default: CrossLoRA's matched rank, as `babelbridge inspect` prints it)")
    p.add_argument("--batch-sizes", default="1,32", help="(default: %(default)s)")
    p.add_argument("--new-tokens", type=int, default=32, help="tokens generated per row, forced (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per system (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=1, help="untimed calls per system first (default: %(default)s)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--seed", type=int, default=0, help="the random LoRA B (default: %(default)s)")
    p.add_argument("--tag", help="added to the output file names")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results",
                   help="a directory (default: %(default)s) or a .md file (the .json goes next to it)")
    args = p.parse_args(argv)
    args.languages = [lang.strip() for lang in args.languages.split(",") if lang.strip()]
    if len(args.languages) < 2:
        p.error("--languages needs at least two languages (a direction)")
    try:
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    except ValueError:
        p.error(f"--batch-sizes takes comma-separated positive integers, got {args.batch_sizes!r}")
    if min(args.batch_sizes) < 1 or args.new_tokens < 2 or args.repeats < 1 or args.warmup < 0 or args.r < 1 \
            or (args.lora_r is not None and args.lora_r < 1):
        p.error("--batch-sizes, --repeats, --r and --lora-r must be >= 1, --new-tokens >= 2, --warmup >= 0")
    return args


def resolve(args) -> None:
    import torch

    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"crosslora_speed: --device {args.device} but torch {torch.__version__} sees no CUDA GPU")
    if args.dtype is None:
        args.dtype = "bfloat16" if args.device.startswith("cuda") else "float32"
    args.decoder = args.decoder or SIZES[args.sizes]
    if args.decoder.startswith("pocket:"):  # say so before a download starts
        from babelbridge.assets.fetch import babelbridge_home, cached_path
        from babelbridge.assets.pocket import pocket

        name = args.decoder.removeprefix("pocket:")
        if not (babelbridge_home() / "pocket" / name / "config.json").is_file() \
                and cached_path(pocket(name, "decoder").asset) is None:
            print(f"crosslora_speed: {args.decoder} is not cached yet: it is fetched and converted once now",
                  file=sys.stderr)


# ---- the systems ------------------------------------------------------------------------------------
def directions(languages: list[str]) -> list[tuple[str, str]]:
    """Every ordered pair, in an order where neighbours differ in source and target:
    (l0,l1), (l1,l2), ..., (l0,l2), (l1,l3), ..."""
    n = len(languages)
    return [(languages[i], languages[(i + k) % n]) for k in range(1, n) for i in range(n)]


def randomise_b(bridge, seed: int) -> int:
    """Every LoRA B of the bridge (CrossLoRA's experts, peft's lora_B) drawn N(0, B_STD^2), seeded;
    returns how many tensors."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    tensors = [p for n, p in bridge.trainable_named_parameters() if "_B" in n.rsplit(".", 1)[-1] or ".lora_B." in n]
    with torch.no_grad():
        for p in tensors:
            p.copy_(torch.randn(p.shape, generator=generator) * B_STD)
    return len(tensors)


def build(args):
    """The CrossLoRA bridge and the LoRA bridge, each on its own copy of the decoder."""
    import torch

    from babelbridge.backbones import load_decoder
    from babelbridge.bridges import build_bridge

    torch.manual_seed(args.seed)
    crosslora = build_bridge("crosslora", None, load_decoder(args.decoder, dtype=args.dtype, device=args.device),
                             {"languages": args.languages, "r": args.r})
    matched = crosslora.matched_lora_options()  # what `babelbridge inspect` prints as "matched"
    lora_options = dict(matched)
    if args.lora_r is not None:
        lora_options.update(r=args.lora_r, alpha=crosslora.config.alpha * args.lora_r / crosslora.config.r)
    lora = build_bridge("lora", None, load_decoder(args.decoder, dtype=args.dtype, device=args.device),
                        {**lora_options, "template": crosslora.config.template})
    bridges = {"crosslora": crosslora.to(args.device).eval(), "lora": lora.to(args.device).eval()}
    counts = {name: randomise_b(bridge, args.seed + i) for i, (name, bridge) in enumerate(bridges.items())}
    info = {"decoder": args.decoder, "matched_lora": matched, "lora": lora_options,
            "crosslora": {"languages": crosslora.config.languages, "r": crosslora.config.r,
                          "alpha": crosslora.config.alpha, "target_modules": crosslora.config.target_modules,
                          "experts_a": crosslora.router.num_a, "experts_b": crosslora.router.num_b},
            "trainable_parameters": {name: b.parameter_counts()["trainable"] for name, b in bridges.items()},
            "randomised_b_tensors": counts, "b_std": B_STD}
    return bridges, info


class RoutingProbe:
    """A forward hook on one CrossLoRA layer: which path the calls took (grouped when every row
    shares its A and its B expert, else per-row) and the distinct experts of the rows."""

    def __init__(self, bridge):
        self.router, self.seen = bridge.router, []
        self.handle = bridge.expert_layers[0].register_forward_hook(self.hook)

    def hook(self, module, inputs, output):
        if self.router.off:
            self.seen.append("off")
            return
        routing = self.router.current  # never None here: the layer refuses to run without a routing
        a, b = (int(t.unique().numel()) for t in (routing.expert_a, routing.expert_b))
        grouped = routing.uniform_a is not None and routing.uniform_b is not None
        self.seen.append({"path": "grouped" if grouped else "per-row", "distinct_a": a, "distinct_b": b,
                          "rows": routing.rows})

    def take(self):
        seen, self.seen = self.seen, []
        distinct = [s for i, s in enumerate(seen) if s not in seen[:i]]
        return None if not distinct else distinct[0] if len(distinct) == 1 else distinct


def prompts(bridge, batch: int, pairs: list[tuple[str, str]]) -> list[list[int]]:
    return [bridge.prompt_ids(SENTENCES[i % len(SENTENCES)], *pairs[i % len(pairs)]) for i in range(batch)]


def batch_inputs(bridges, args, batch: int) -> dict:
    """Each system's prompts at one batch size, all left-padded to the same width."""
    from babelbridge.padding import left_pad

    crosslora = bridges["crosslora"]
    one = [(args.languages[1], args.languages[0])]
    mixed = directions(args.languages)
    rows = {"one": prompts(crosslora, batch, one), "mixed": prompts(crosslora, batch, mixed) if batch > 1 else None}
    width = max(len(r) for rs in rows.values() if rs for r in rs)
    pad = crosslora.decoder.pad_token_id
    return {"width": width,
            "one": {"pairs": [one[0]] * batch, "tensors": left_pad(rows["one"], pad, width)},
            "mixed": {"pairs": [mixed[i % len(mixed)] for i in range(batch)],
                      "tensors": left_pad(rows["mixed"], pad, width)} if batch > 1 else None}


def systems(bridges, inputs, args) -> dict:
    """name -> (the decoder it runs on, the context it runs in, its input rows)."""
    crosslora, lora = bridges["crosslora"], bridges["lora"]
    router = crosslora.router

    def routed(pairs):
        return lambda: router.for_generation([s for s, _ in pairs], [t for _, t in pairs], 1)

    out = {"plain": (crosslora.decoder, router.experts_off, inputs["one"]),
           "lora": (lora.decoder, nullcontext, inputs["one"]),
           "crosslora_one": (crosslora.decoder, routed(inputs["one"]["pairs"]), inputs["one"])}
    if inputs["mixed"] is not None:
        out["crosslora_mixed"] = (crosslora.decoder, routed(inputs["mixed"]["pairs"]), inputs["mixed"])
    return out


def experts_effect(bridges, args) -> dict:
    """Max |logit - plain logit| at the last position of a 2-row batch (one direction; mixed: two):
    non-zero, or a path was skipped."""
    import torch

    inputs = batch_inputs(bridges, args, 2)
    found = {}
    with torch.no_grad():
        logits = {}
        for name, (decoder, context, rows) in systems(bridges, inputs, args).items():
            ids, mask = (t.to(args.device) for t in rows["tensors"])
            with context():
                logits[name] = decoder.model(input_ids=ids, attention_mask=mask).logits[:, -1].float()
        for name in logits:
            if name != "plain":
                found[name] = round(float((logits[name] - logits["plain"]).abs().max()), 6)
    return found


# ---- measuring --------------------------------------------------------------------------------------
def measure_batch(bridges, args, batch: int, probe: RoutingProbe) -> list[dict]:
    import torch
    from transformers import StoppingCriteriaList

    from babelbridge.bridges.generation import decode_config

    device, n = torch.device(args.device), args.new_tokens
    inputs = batch_inputs(bridges, args, batch)
    chosen = systems(bridges, inputs, args)
    config = decode_config(bridges["crosslora"].decoder, max_new_tokens=n, min_new_tokens=n)
    routes = {}

    def call(name):
        decoder, context, rows = chosen[name]
        ids, mask = (t.to(device) for t in rows["tensors"])

        def run(clock):
            with context(), torch.no_grad():
                out = decoder.model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                                             stopping_criteria=StoppingCriteriaList([clock]))
            assert out.shape[1] - ids.shape[1] == n, f"{name} made {out.shape[1] - ids.shape[1]} tokens, not {n}"
            routes[name] = probe.take()
        return run

    measured = measure_calls({name: call(name) for name in chosen}, device, warmup=args.warmup, repeats=args.repeats)
    rows = [figures(name, batch, n, inputs, chosen[name][2], measured[name], routes[name]) for name in chosen]
    if batch == 1:
        rows.append({"system": "crosslora_mixed", "label": LABELS["crosslora_mixed"], "batch": 1, "status":
                     "n/a: one row has one direction"})
    plain = rows[0]
    for row in rows:
        if row.get("status") == "ok":
            row["speed_vs_plain"] = round(row["tokens_per_s"] / plain["tokens_per_s"], 4)
            row["decode_speed_vs_plain"] = round(row["decode_tokens_per_s"] / plain["decode_tokens_per_s"], 4)
    return rows


def figures(name, batch, n, inputs, rows, measured, route) -> dict:
    wall = [p + d for p, d in zip(measured["prefill"], measured["decode"])]
    step_ms = [d / (n - 1) * 1000 for d in measured["decode"]]
    median_wall, median_decode = statistics.median(wall), statistics.median(measured["decode"])
    pairs = rows["pairs"]
    return {
        "system": name, "label": LABELS[name], "batch": batch, "status": "ok", "new_tokens": n,
        "prompt_width": inputs["width"], "directions": len(set(pairs)),
        "direction": f"{pairs[0][0]} -> {pairs[0][1]}" if len(set(pairs)) == 1 else "mixed",
        "routing": route,
        "wall_s": {"median": round(median_wall, 5), "min": round(min(wall), 5)},
        "prefill_s": {"median": round(statistics.median(measured["prefill"]), 5),
                      "min": round(min(measured["prefill"]), 5)},
        "step_ms": {"median": round(statistics.median(step_ms), 3), "min": round(min(step_ms), 3)},
        "tokens_per_s": round(batch * n / median_wall, 2),
        "decode_tokens_per_s": round(batch * (n - 1) / median_decode, 2),
        "best_decode_tokens_per_s": round(batch * (n - 1) / min(measured["decode"]), 2),
        "memory": measured["memory"],
        "samples_s": {k: [round(t, 5) for t in measured[k]] for k in ("prefill", "decode")},
    }


# ---- reporting --------------------------------------------------------------------------------------
def markdown(report: dict) -> str:
    s, env, b = report["settings"], report["environment"], report["build"]
    lora, matched = b["lora"], b["matched_lora"]
    cl = b["crosslora"]
    rank_note = ("matched: the rank whose LoRA count comes nearest CrossLoRA's trainable count, "
                 "ExpertLoRABridge.matched_lora_options, as `babelbridge inspect` prints it"
                 if lora["r"] == matched["r"] else f"--lora-r; the matched rank would be {matched['r']}")
    lines = [f"# CrossLoRA decoding speed: unmerged experts vs LoRA vs the LLM alone ({s['device']})", "",
             f"Decoder {b['decoder']} ({s['dtype']}; experts and LoRA float32, as trained), greedy, exactly "
             f"{s['new_tokens']} new tokens per row (min = max new tokens, checked), prompts left-padded to one width "
             f"per batch size; {s['warmup']} warm-up + {s['repeats']} timed calls per system, interleaved.", "",
             "| system | batch | directions (routing path) | wall s median (min) | new tokens/s | "
             "decode ms/step median (min) | decode tokens/s | vs LLM alone (tokens/s) | vs LLM alone (decode) |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in report["rows"]:
        if r["status"] != "ok":
            lines.append(f"| {r['label']} | {r['batch']} | {r['status']} | - | - | - | - | - | - |")
            continue
        route = r["routing"]
        path = route["path"] if isinstance(route, dict) else {"off": "experts off", None: "peft LoRA"}.get(route, route)
        if isinstance(route, dict):
            path += f", {route['distinct_a']} A / {route['distinct_b']} B experts"
        lines.append(f"| {r['label']} | {r['batch']} | {r['directions']}: {r['direction']} ({path}) | "
                     f"{r['wall_s']['median']} ({r['wall_s']['min']}) | {r['tokens_per_s']} | "
                     f"{r['step_ms']['median']} ({r['step_ms']['min']}) | {r['decode_tokens_per_s']} | "
                     f"{r['speed_vs_plain']} | {r['decode_speed_vs_plain']} |")
    effect = ", ".join(f"{LABELS[k]} {v:g}" for k, v in report["experts_effect"].items())
    lines += ["",
              f"- LLM alone: the CrossLoRA decoder with router.experts_off() (each expert layer calls its frozen "
              f"Linear alone: the wrapper's call is in it). LLM + LoRA: peft, unmerged, r {lora['r']}, alpha "
              f"{lora['alpha']:g} on {', '.join(lora['target_modules'])} ({rank_note}); "
              f"{b['trainable_parameters']['lora']:,} trainable vs CrossLoRA's "
              f"{b['trainable_parameters']['crosslora']:,} ({cl['experts_a']} A + {cl['experts_b']} B experts of r "
              f"{cl['r']} on {', '.join(cl['target_modules'])}).",
              f"- one direction: every row {report['rows'][0]['direction']} (the grouped path: one matmul pair per "
              f"layer). Mixed: the rows cycle through the {len(cl['languages']) * (len(cl['languages']) - 1)} "
              f"directions of {', '.join(cl['languages'])} (the per-row path: each row's A and B gathered, bmm); "
              "batch 1 has one direction, so no mixed row there. Routing: recorded from inside the first expert "
              "layer.",
              f"- every LoRA B random (N(0, {b['b_std']}^2), seeded): max |logit - LLM alone's| on a 2-row batch: "
              f"{effect} (non-zero: no path is a no-op).",
              "- wall s: one generate call (prefill + decode). new tokens/s: batch * N / median wall. decode: from the "
              "first new token to the last; ms/step = that / (N - 1), one step producing batch tokens; decode "
              "tokens/s = batch * (N - 1) / median decode. vs LLM alone: the ratio of tokens/s at the same batch size "
              "in this run (below 1: slower).",
              *provenance_lines(env)]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))  # run from a checkout without installing
    import torch

    from babelbridge.provenance import package_versions

    resolve(args)
    warnings.filterwarnings("ignore", message="Mismatch dtype between input and weight")
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    bridges, info = build(args)
    print(f"built {args.decoder} twice (CrossLoRA, LoRA r {info['lora']['r']}) in "
          f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
    effect = experts_effect(bridges, args)
    if not all(effect.values()):
        raise SystemExit(f"crosslora_speed: a system's logits equal the plain LLM's ({effect}): a path is a no-op")
    probe = RoutingProbe(bridges["crosslora"])
    rows = []
    for batch in args.batch_sizes:
        rows += measure_batch(bridges, args, batch, probe)
        print(f"batch {batch}: " + ", ".join(f"{r['system']} {r['tokens_per_s']} tokens/s" for r in rows
                                             if r["batch"] == batch and r["status"] == "ok"), file=sys.stderr)
    probe.handle.remove()
    env = environment(torch.device(args.device), argv, script="benchmarks/crosslora_speed.py")
    env["versions"]["peft"] = package_versions(("peft",))["peft"]
    report = {"settings": {k: getattr(args, k) for k in ("sizes", "decoder", "device", "dtype", "languages", "r",
                                                         "lora_r", "batch_sizes", "new_tokens", "repeats", "warmup",
                                                         "threads", "seed")},
              "build": info, "experts_effect": effect, "rows": rows, "environment": env,
              "wall_s": round(time.perf_counter() - started, 1)}
    text = markdown(report)
    kind = args.device.split(":")[0]
    if args.out.suffix == ".md":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
        args.out.write_text(text)
        print(text)
        print(f"saved {args.out} and its .json", file=sys.stderr)
    else:
        name = f"crosslora_speed-{kind}{'-tiny' if args.sizes == 'tiny' else ''}{'-' + args.tag if args.tag else ''}"
        save_report(args.out, name, report, text, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
