"""Length and repetition loops of each system's output in an eval folder's results.json.

Small LLMs decoding greedily fall into loops ("and they were eating and drinking, and they were
eating and drinking, ..."); a looping output is long, so it costs BLEU precision more than
chrF++. This counts them, per system, over the chosen languages:

    python scripts/output_stats.py results/one-pair/full/eval/results.json --exclude deu_Latn \
        --out results/one-pair/full/output-stats.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from babelbridge.evaluate.repetition import LOOP_NGRAM, LOOP_TIMES, loops


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", type=Path, help="an eval folder's results.json")
    p.add_argument("--exclude", default="", help="comma-separated languages left out")
    p.add_argument("--out", type=Path, help="write the markdown here too")
    args = p.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    excluded = {l for l in args.exclude.split(",") if l}
    langs = [l for l in results["segments"] if l not in excluded]
    ref_words = [len(r.split()) for l in langs for r in results["segments"][l]["references"]]
    lines = [f"# Output length and loops over {len(langs)} languages, {len(ref_words)} segments", "",
             "Command:", "", "    python " + " ".join(["scripts/output_stats.py", *(argv or sys.argv[1:])]), "",
             f"References: {sum(ref_words) / len(ref_words):.1f} words on average. A looping output has a word "
             f"{LOOP_NGRAM}-gram {LOOP_TIMES} or more times.", "",
             "| system | words (mean) | words / reference words | looping outputs |", "|---|---:|---:|---:|"]
    for system in results["systems"]:
        hyps = [h for l in langs for h in results["segments"][l]["hypotheses"][system]]
        words = sum(len(h.split()) for h in hyps)
        lines.append(f"| {system} | {words / len(hyps):.1f} | {words / sum(ref_words):.2f} | "
                     f"{100 * sum(map(loops, hyps)) / len(hyps):.1f}% |")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
