"""What XBridge costs against the systems it is built from, in one run and one harness: the plain
LLM prompted with the source, XBridge into English, into one other language and into three at
once, and the NMT model alone.

    LLM prompted      the frozen LLM with the source in its prompt (PromptedBridge's prompt, left
                      padding), answering in English
    XBridge X->En     NMT encoder + encoder mapping + LLM generation (bridge.translate(.., eng_Latn))
    XBridge X->Y      the same, then a teacher-forced LLM pass over its own answer (penultimate-layer
                      states) + decoder mapping + NMT decoding into Y
    XBridge X->{Y1,Y2,Y3}  translate_multi into three languages from one LLM pass (three NMT
                      decodings); extra language = (its time - X->Y's) / 2
    NMT alone X->Y    the NMT model's own encoder + decoder

Every system generates exactly --new-tokens tokens per row (min_new_tokens = max_new_tokens: no
early stop; the NMT decoder too, after its forced language token), so the ratios compare equal
work: X->Y makes N English tokens with the LLM and N tokens in Y with the NMT decoder. Per call:
the wall time of the whole batch (tokenisation to text), and for the bridge paths its pieces,
timed by wrapping (in this script only) bridge.map_source, the LLM's generate, hidden_states_at
and the NMT decoder's generate; "other" is the rest (tokenisation, the LLM input and memory
assembly, detokenisation). Peak memory: GPU torch.cuda.max_memory_allocated, CPU the highest RSS
sampled every 2 ms (delta over the RSS before), during the last untimed call of each system.
Warm-up calls first, then --repeats timed calls of each system, interleaved; medians.
Weights are random (`random:<hub id>` builds the real architecture offline): speed does not
depend on them, and the tokenizers are byte-level (sources count as many tokens as bytes).
Backbones other than float32 run under torch.autocast, every system alike: XBridge's float32
mappings do not run on bf16 backbones without it.

    python benchmarks/xbridge_cost.py --preset cpu-pocket --threads 2
    python benchmarks/xbridge_cost.py --preset gpu-paper              # on an H100/H200
    python benchmarks/xbridge_cost.py --preset cpu-pocket --encoder tiny-random:m2m100 \\
        --decoder tiny-random:qwen3 --batch-sizes 1,2 --new-tokens 4 --repeats 1 --out /tmp/xbc   # smoke run

Writes xbridge_cost-<preset>[-<tag>]-<date>.{json,md} under --out (benchmarks/results/).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
import warnings
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from decode_speed import PeakMemory, provenance_lines, save_report  # noqa: E402 (the decode benchmark's memory probe and writer)

PRESETS = {
    # The pocket sizes: NLLB-200-distilled-600M and SmolLM2-135M, random weights.
    "cpu-pocket": dict(encoder="random:facebook/nllb-200-distilled-600M",
                       decoder="random:HuggingFaceTB/SmolLM2-135M-Instruct",
                       device="cpu", dtype="float32", batch_sizes="1,8", new_tokens=32),
    # NLLB-200-1.3B and Qwen3-4B (the XBridge paper used 7-8B LLMs; Qwen3-4B is the largest shape known here).
    "gpu-paper": dict(encoder="random:facebook/nllb-200-1.3B", decoder="random:Qwen/Qwen3-4B",
                      device="cuda", dtype="bfloat16", batch_sizes="1,32", new_tokens=128),
}
SRC_LANG, ENGLISH = "deu_Latn", "eng_Latn"
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
SYSTEMS = {  # key -> row label
    "llm_prompted": "LLM prompted X->En",
    "xbridge_en": "XBridge X->En",
    "xbridge_y": "XBridge X->Y",
    "xbridge_multi": "XBridge X->{Y1,Y2,Y3}",
    "nmt": "NMT alone X->Y",
}
PIECES = ("map_source", "llm_generate", "second_pass", "nmt_decode")
SHOWN = {"llm_prompted": ("llm_generate",), "xbridge_en": ("map_source", "llm_generate"), "xbridge_y": PIECES,
         "xbridge_multi": PIECES, "nmt": ("nmt_decode",)}  # the pieces each system runs ("other" for all)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", required=True, choices=sorted(PRESETS), help="backbones, sizes and device")
    p.add_argument("--encoder", help="override the preset's NMT model spec (e.g. tiny-random:m2m100)")
    p.add_argument("--decoder", help="override the preset's LLM spec (e.g. tiny-random:qwen3)")
    p.add_argument("--device", help="override the preset's device (cpu, cuda)")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], help="backbones' dtype")
    p.add_argument("--batch-sizes", help="comma-separated batch sizes (cpu-pocket 1,8; gpu-paper 1,32)")
    p.add_argument("--new-tokens", type=int, help="tokens generated per row, forced (cpu-pocket 32, gpu-paper 128)")
    p.add_argument("--targets", default="fra_Latn,spa_Latn,ita_Latn",
                   help="three target languages; the first is Y (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per measurement (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=1, help="untimed calls first (default: %(default)s)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--tag", help="added to the output file names")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="(default: %(default)s)")
    args = p.parse_args(argv)
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    try:
        args.batch_sizes = [int(b) for b in str(args.batch_sizes).split(",")]
    except ValueError:
        p.error(f"--batch-sizes takes comma-separated positive integers, got {args.batch_sizes!r}")
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if min(args.batch_sizes) < 1 or args.new_tokens < 1 or args.repeats < 1 or args.warmup < 0:
        p.error("--batch-sizes, --new-tokens and --repeats must be >= 1, --warmup >= 0")
    if len(set(args.targets)) != 3 or ENGLISH in args.targets or SRC_LANG in args.targets:
        p.error(f"--targets takes three distinct languages other than {ENGLISH} and {SRC_LANG}")
    return args


# ---- measuring ----------------------------------------------------------------------------------
def sync(device):
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize()


class Pieces:
    """Timers around the parts of XBridge's generate_multi, installed on the instances: each call
    adds its seconds to the current call's totals. The NMT decoder's generate also gets
    min_new_tokens = max_new_tokens (XBridge does not pass it) and every generate call is checked
    for exactly N new tokens."""

    def __init__(self, bridge, device, n: int):
        self.device, self.n, self.seconds = device, n, defaultdict(float)
        dec, nmt = bridge.decoder, bridge.encoder
        self._wrap(bridge, "map_source", "map_source")
        self._wrap(dec.model, "generate", "llm_generate", check=self._check_llm)
        self._wrap(dec, "hidden_states_at", "second_pass")
        self._wrap(nmt, "generate", "nmt_decode", force=True)
        self._wrap(nmt.seq2seq, "generate", None, check=self._check_nmt)

    def _wrap(self, obj, attr, name, *, force=False, check=None):
        inner = getattr(obj, attr)

        def timed_call(*a, **kw):
            if force:
                kw.setdefault("min_new_tokens", kw.get("max_new_tokens", 128))
            if name:
                sync(self.device)
                start = time.perf_counter()
            out = inner(*a, **kw)
            if name:
                sync(self.device)
                self.seconds[name] += time.perf_counter() - start
            if check:
                check(out, kw)
            return out

        object.__setattr__(obj, attr, timed_call)  # an instance attribute: this script's objects only

    def _check_llm(self, out, kw):
        prompt = kw["input_ids"].shape[1] if kw.get("input_ids") is not None else 0  # inputs_embeds: new only
        assert out.shape[1] - prompt == self.n, f"the LLM made {out.shape[1] - prompt} tokens, not {self.n}"

    def _check_nmt(self, out, kw):  # [decoder start, language token, N tokens]
        assert out.shape[1] - 2 == self.n, f"the NMT decoder made {out.shape[1] - 2} tokens, not {self.n}"

    def start(self):
        self.seconds = defaultdict(float)


def build(args):
    import torch

    from babelbridge.bridges import build_bridge, load_backbones

    torch.manual_seed(0)
    encoder, decoder = load_backbones("xbridge", {}, args.encoder, args.decoder, dtype=args.dtype, device=args.device)
    xbridge = build_bridge("xbridge", encoder, decoder, {}).to(args.device).eval()
    prompted = build_bridge("prompted", None, decoder, {}).eval()  # the same LLM object
    return xbridge, prompted


def systems(xbridge, prompted, args, texts: list[str], device) -> dict:
    """The five calls at one batch: each takes the texts to text output."""
    from babelbridge.bridges.generation import decode_config
    from babelbridge.padding import left_pad

    n, y = args.new_tokens, args.targets[0]
    forced = dict(max_new_tokens=n, min_new_tokens=n)
    batch = len(texts)

    def llm_prompted():  # PromptedBridge.generate_batch with decode_config's forced length
        rows = [prompted.prompt_ids(t, SRC_LANG, ENGLISH, truncate=True) for t in texts]
        ids, mask = left_pad(rows, prompted.decoder.pad_token_id)
        out = prompted.decoder.model.generate(input_ids=ids.to(device), attention_mask=mask.to(device),
                                              generation_config=decode_config(prompted.decoder, **forced))
        answers = prompted.decoder.tokenizer.batch_decode(out[:, ids.shape[1]:], skip_special_tokens=True)
        return [prompted.postprocess(a) for a in answers]

    def nmt():  # NMTBridge.generate_batch, with the forced length it does not take
        nmt_model = xbridge.encoder
        source = nmt_model.tokenize(texts, [SRC_LANG] * batch, truncate=True)
        rows = nmt_model.translate_ids(source["input_ids"], source["attention_mask"], y, **forced)
        return nmt_model.decode_text(rows)

    return {
        "llm_prompted": llm_prompted,
        "xbridge_en": lambda: xbridge.translate(texts, SRC_LANG, ENGLISH, batch_size=batch, **forced),
        "xbridge_y": lambda: xbridge.translate(texts, SRC_LANG, y, batch_size=batch, **forced),
        "xbridge_multi": lambda: xbridge.translate_multi(texts, SRC_LANG, args.targets, batch_size=batch, **forced),
        "nmt": nmt,
    }


def input_tokens(xbridge, prompted, texts: list[str]) -> dict[str, float]:
    """Mean prompt lengths: the LLM's (prompted; XBridge's prompt + mapped source + boundary) and the NMT source's."""
    source = xbridge.encoder.tokenize(texts, [SRC_LANG] * len(texts), truncate=True)["attention_mask"].sum(1)
    before, after = xbridge.prompt_parts()
    return {"llm_prompted": statistics.mean(len(prompted.prompt_ids(t, SRC_LANG, ENGLISH, truncate=True))
                                            for t in texts),
            "xbridge": statistics.mean(len(before) + int(s) + 1 + len(after) for s in source),
            "nmt_source": statistics.mean(int(s) for s in source)}


def run_batch(xbridge, prompted, pieces: Pieces, args, batch: int, device) -> list[dict]:
    import torch

    texts = [SENTENCES[i % len(SENTENCES)] for i in range(batch)]
    calls = systems(xbridge, prompted, args, texts, device)
    memory, totals, parts = {}, defaultdict(list), defaultdict(lambda: defaultdict(list))

    def call(name) -> tuple[float, dict]:
        pieces.start()
        sync(device)
        start = time.perf_counter()
        with torch.no_grad(), torch.autocast(device.type, dtype=getattr(torch, args.dtype),
                                             enabled=args.dtype != "float32"):
            calls[name]()
        sync(device)
        return time.perf_counter() - start, dict(pieces.seconds)

    for name in calls:
        for i in range(max(args.warmup, 1)):  # the last untimed call gives the peak memory
            if i == max(args.warmup, 1) - 1:
                with PeakMemory(device) as peak:
                    call(name)
                memory[name] = peak.result
            else:
                call(name)
    for _ in range(args.repeats):  # interleaved: a slower spell of the machine hits every system alike
        for name in calls:
            total, seconds = call(name)
            totals[name].append(total)
            for piece in PIECES:
                parts[name][piece].append(seconds.get(piece, 0.0))
            parts[name]["other"].append(total - sum(seconds.get(p, 0.0) for p in PIECES))
    prompt = input_tokens(xbridge, prompted, texts)
    rows = []
    for name in calls:
        seconds = statistics.median(totals[name])
        languages = len(args.targets) if name == "xbridge_multi" else 1
        delivered = batch * args.new_tokens * languages
        breakdown = {k: round(statistics.median(v), 5) for k, v in parts[name].items()
                     if k in SHOWN[name] or k == "other"}
        rows.append({
            "system": name, "label": SYSTEMS[name], "batch": batch, "new_tokens": args.new_tokens,
            "languages": languages, "seconds": round(seconds, 5), "best_seconds": round(min(totals[name]), 5),
            "ms_per_sentence": round(1000 * seconds / batch, 2), "tokens_per_s": round(delivered / seconds, 2),
            "llm_input_tokens_mean": None if name == "nmt" else
            round(prompt["llm_prompted" if name == "llm_prompted" else "xbridge"], 1),
            "nmt_source_tokens_mean": None if name == "llm_prompted" else round(prompt["nmt_source"], 1),
            "pieces_s": breakdown, "memory": memory[name], "samples_s": [round(t, 5) for t in totals[name]],
        })
    return rows


# ---- reporting ----------------------------------------------------------------------------------
def ratios(rows: list[dict]) -> dict:
    by = {(r["system"], r["batch"]): r for r in rows}
    out = {}
    for batch in sorted({r["batch"] for r in rows}):
        t = {name: by[name, batch]["seconds"] for name in SYSTEMS}
        y = by["xbridge_y", batch]["pieces_s"]
        extra = (t["xbridge_multi"] - t["xbridge_y"]) / 2  # two more languages than X->Y
        out[f"batch_{batch}"] = {
            "xbridge_en_over_llm_prompted": round(t["xbridge_en"] / t["llm_prompted"], 3),
            "xbridge_y_over_llm_prompted": round(t["xbridge_y"] / t["llm_prompted"], 3),
            "xbridge_y_over_nmt": round(t["xbridge_y"] / t["nmt"], 3),
            "xbridge_y_over_xbridge_en": round(t["xbridge_y"] / t["xbridge_en"], 3),
            "extra_language_s": round(extra, 5),
            "extra_language_over_xbridge_y": round(extra / t["xbridge_y"], 3),
            "extra_language_over_nmt": round(extra / t["nmt"], 3),
            "second_pass_over_llm_generate": round(y["second_pass"] / y["llm_generate"], 3)
            if y["llm_generate"] else None,
        }
    return out


def environment(device, argv: list[str]) -> dict:
    import torch

    from babelbridge.provenance import machine, package_versions

    info = machine(str(device))
    if device.type == "cuda":
        info["gpu_memory_gib"] = round(torch.cuda.get_device_properties(device).total_memory / 2**30)
    info.update(torch_threads=torch.get_num_threads(), load_average_1m=round(os.getloadavg()[0], 2))
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": shlex.join(["python", "benchmarks/xbridge_cost.py", *argv]),
            "machine": info, "versions": package_versions(("torch", "transformers", "tokenizers"))}


def markdown(report: dict) -> str:
    s, env = report["settings"], report["environment"]
    y, langs = s["targets"][0], ", ".join(s["targets"])
    lines = [
        f"# XBridge cost: against the prompted LLM and the NMT model alone ({report['preset']})", "",
        f"NMT `{s['encoder']}`, LLM `{s['decoder']}`, device {s['device']} ({s['dtype']}"
        f"{', autocast' if s['autocast'] else ''}); {SRC_LANG} sources, Y = {y}, three languages = {langs}; "
        f"{s['new_tokens']} new tokens per row, forced for every generator; {s['warmup']} warm-up + "
        f"{s['repeats']} timed calls of each system, interleaved, medians. Time: one batch, text in to text out.",
        "",
        "| system | batch | s per batch (best) | ms per sentence | delivered tokens/s | encoder + mapping s | "
        "LLM generate s | second pass s | NMT decode s | other s | LLM input tokens | NMT source tokens | "
        "peak memory (MiB) | memory delta (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        p = r["pieces_s"]
        cells = [p.get(k, "-") for k in (*PIECES, "other")]
        cells += ["-" if r[k] is None else r[k] for k in ("llm_input_tokens_mean", "nmt_source_tokens_mean")]
        lines.append(f"| {r['label']} | {r['batch']} | {r['seconds']} ({r['best_seconds']}) | {r['ms_per_sentence']} | "
                     f"{r['tokens_per_s']} | " + " | ".join(map(str, cells)) +
                     f" | {r['memory']['peak_mib']} | {r['memory']['delta_mib']} |")
    lines += ["", "| batch | X->En / LLM prompted | X->Y / LLM prompted | X->Y / NMT alone | X->Y / X->En | "
              "extra language (s) | extra language / X->Y | extra language / NMT alone | "
              "second pass / LLM generate |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key, r in report["ratios"].items():
        lines.append(f"| {key.split('_')[1]} | {r['xbridge_en_over_llm_prompted']} | "
                     f"{r['xbridge_y_over_llm_prompted']} | {r['xbridge_y_over_nmt']} | "
                     f"{r['xbridge_y_over_xbridge_en']} | {r['extra_language_s']} | "
                     f"{r['extra_language_over_xbridge_y']} | {r['extra_language_over_nmt']} | "
                     f"{r['second_pass_over_llm_generate']} |")
    lines += [
        "",
        "- ratios are times per batch (lower is cheaper for the numerator); extra language = (X->{Y1,Y2,Y3} - X->Y) "
        "/ 2, the marginal cost of each language after the first. tokens/s = batch x N x languages delivered / "
        "time (X->Y also makes the N English tokens it does not deliver).",
        "- pieces: encoder + mapping = NMT encoder + encoder mapping (XBridge; the NMT alone row's encoder is in "
        "\"other\"); LLM generate = the LLM's generate call (prefill + N steps); second pass = the teacher-forced "
        "LLM forward over its own answer; NMT decode = the NMT decoder's generate, all languages summed (decoder "
        "mapping and memory assembly are in \"other\").",
        "- random weights come with byte-level tokenizers: a source is as many tokens as it has bytes, in the "
        "LLM's prompt and in the NMT encoder alike (real subword tokenizers make both several times shorter). "
        "LLM input tokens: the mean prompt length (XBridge: prompt + mapped source + boundary); NMT source "
        "tokens: the mean encoder input.",
        *provenance_lines(env),
        "- memory: GPU = torch.cuda.max_memory_allocated (delta: over the allocation before the call); "
        "CPU = peak resident set size sampled every 2 ms (delta: over the RSS before the call).",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))  # run from a checkout without installing
    import torch

    # float32 mappings under bf16 autocast: RMSNorm warns once that it cannot use its fused kernel.
    warnings.filterwarnings("ignore", message="Mismatch dtype between input and weight")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    started = time.perf_counter()
    xbridge, prompted = build(args)
    pieces = Pieces(xbridge, device, args.new_tokens)
    print(f"built {args.encoder} + {args.decoder} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rows = []
    for batch in args.batch_sizes:
        rows += run_batch(xbridge, prompted, pieces, args, batch, device)
        print(f"batch {batch}: " + ", ".join(f"{r['label']} {r['seconds']} s" for r in rows[-len(SYSTEMS):]),
              file=sys.stderr)
    report = {
        "preset": args.preset,
        "settings": {**{k: getattr(args, k) for k in ("encoder", "decoder", "device", "dtype", "batch_sizes",
                                                       "new_tokens", "targets", "repeats", "warmup", "threads")},
                     "src_lang": SRC_LANG, "autocast": args.dtype != "float32"},
        "rows": rows,
        "ratios": ratios(rows),
        "environment": environment(device, argv),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    save_report(args.out, f"xbridge_cost-{args.preset}{'-' + args.tag if args.tag else ''}", report, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
