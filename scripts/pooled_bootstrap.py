"""Paired bootstrap of two systems over the pooled segments of several languages.

`babelbridge eval` tests each language on its own; with 32 segments a language only large
differences come out significant. Pooling the languages (e.g. the 20 a zero-shot system never
saw) tests whether one system is better across them. Reads an eval folder's results.json (every
hypothesis), scores corpus-level chrF++ and BLEU on the pooled segments, and writes markdown.

    python scripts/pooled_bootstrap.py results/one-pair/full/eval/results.json \
        --systems hca-deu,hca-oracle --exclude deu_Latn --out results/one-pair/full/pooled-deu-vs-oracle.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from babelbridge.evaluate.metrics import sacrebleu_metric
from babelbridge.evaluate.significance import DEFAULT_SAMPLES, pooled_paired_bootstrap


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("results", type=Path, help="an eval folder's results.json")
    p.add_argument("--systems", required=True, help="BASELINE,OTHER: OTHER is tested against BASELINE")
    p.add_argument("--exclude", default="", help="comma-separated languages left out of the pool")
    p.add_argument("--samples", type=int, default=DEFAULT_SAMPLES)
    p.add_argument("--out", type=Path, help="write the markdown here too")
    args = p.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    baseline, other = args.systems.split(",")
    excluded = {l for l in args.exclude.split(",") if l}
    langs = [l for l in results["segments"] if l not in excluded]
    results_by_metric = {name: pooled_paired_bootstrap(results["segments"], langs, sacrebleu_metric(key),
                                                       baseline=baseline, system=other, n_samples=args.samples)
                         for key, name in (("chrf++", "chrF++"), ("bleu", "BLEU"))}
    n = next(iter(results_by_metric.values()))["segments"]
    lines = [f"# {other} against {baseline}, {n} segments pooled over {len(langs)} languages", "",
             f"Languages: {', '.join(langs)}.", "",
             "Command:", "", "    python " + " ".join(["scripts/pooled_bootstrap.py", *(argv or sys.argv[1:])]), "",
             f"| metric | {baseline} | {other} | difference | p (paired bootstrap, {args.samples} samples) |",
             "|---|---:|---:|---:|---:|"]
    for name, r in results_by_metric.items():
        lines.append(f"| {name} | {r['baseline_score']:.2f} | {r['score']:.2f} | {r['difference']:+.2f} | {r['p']:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
