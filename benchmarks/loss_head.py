"""The training loss with the LM head on answer positions only (FrozenDecoder.answer_loss)
against transformers' `labels=` loss (the head on every position), in one process, on the
same batches, alternating: loss + backward seconds per batch, for the pocket HCA bridge and a
LoRA baseline (source in the prompt) on SmolLM2-135M. Real Bible training pairs, batch 16.

    python benchmarks/loss_head.py [--batches 5] [--threads N]

Writes benchmarks/results/loss_head-<date>.json and .md (machine and versions included).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from decode_speed import environment, provenance_lines  # noqa: E402  (machine, versions, command)


def labels_loss(bridge, batch):
    """transformers' own loss: what every bridge's loss() was before answer_loss."""
    def run():
        return bridge.decoder.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                    labels=batch["labels"], use_cache=False).loss
    if hasattr(bridge, "encode_source"):  # HCA: cross-attention attached for the pass
        with bridge.attached(bridge.encode_source(batch["source_ids"], batch["source_mask"])):
            return run()
    return run()


def seconds(loss_fn, bridge, batch) -> float:
    bridge.zero_grad(set_to_none=True)
    started = time.perf_counter()
    loss_fn(batch).backward()
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    import torch

    from babelbridge.backbones import load_decoder
    from babelbridge.bridges import build_bridge, load_bridge
    from babelbridge.data.bible import bible_pairs
    from babelbridge.pretrained import resolve_bridge_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    random.seed(0)
    pairs = list(itertools.islice(bible_pairs("deu_Latn", "eng_Latn", "train"), 4000))
    batches = [random.sample(pairs, 16) for _ in range(args.batches)]
    torch.manual_seed(0)
    bridges = {
        "hca (pocket-hca-deu-eng)": load_bridge(resolve_bridge_path("pocket-hca-deu-eng")),
        "lora (r 16, every projection)": build_bridge(
            "lora", None, load_decoder("pocket:smollm2-135m"),
            {"r": 16, "alpha": 32, "dropout": 0.05, "max_source_tokens": 128, "max_target_tokens": 96}),
    }
    rows = []
    for name, bridge in bridges.items():
        bridge.train()
        collated = [bridge.collate(b) for b in batches]
        seconds(bridge.loss, bridge, collated[0])  # warm-up
        new, old = [], []
        for batch in collated:
            new.append(seconds(bridge.loss, bridge, batch))
            old.append(seconds(lambda b: labels_loss(bridge, b), bridge, batch))
        first = [int((b["labels"] != -100).any(dim=0).nonzero()[0]) for b in collated]
        rows.append({"bridge": name, "positions": [int(b["input_ids"].numel()) for b in collated],
                     "head_skipped_positions": [16 * (f - 1) for f in first],  # the head starts at first - 1
                     "answer_loss_s": [round(x, 3) for x in new], "labels_loss_s": [round(x, 3) for x in old],
                     "ratio_median": round(statistics.median(new) / statistics.median(old), 3)})
        print(f"{name}: answer_loss {statistics.median(new):.2f} s, labels= {statistics.median(old):.2f} s, "
              f"ratio {rows[-1]['ratio_median']}", flush=True)
    env = environment(torch.device("cpu"), argv, script="benchmarks/loss_head.py")
    report = {"environment": env, "rows": rows}
    out = Path(__file__).resolve().parent / "results"
    stem = out / f"loss_head-{datetime.now(timezone.utc):%Y%m%d-%H%M}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
    lines = ["# Training loss: LM head on answers only vs on every position", "",
             "Loss + backward of one batch of 16 German->English Bible training pairs (median over "
             f"{args.batches} batches, the two alternating on each batch).", "",
             "| bridge | decoder positions | positions the head skips | answer_loss (s) | labels= (s) | ratio |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['bridge']} | {r['positions']} | {r['head_skipped_positions']} | "
                     f"{statistics.median(r['answer_loss_s']):.2f} | {statistics.median(r['labels_loss_s']):.2f} | "
                     f"{r['ratio_median']} |")
    lines += ["", *provenance_lines(env)]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"saved {stem}.json and {stem}.md")


if __name__ == "__main__":
    main(sys.argv[1:])
