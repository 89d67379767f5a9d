"""Retrieval evaluation, LLINK's own metric (paper 6.1): does a source sentence's vector find its
own English sentence's teacher vector among those of every English sentence of the test set?

Rows, for each test set (one source language -> English):

    before   the LLM reading the source itself: its hidden state at the reserved position after
             the source sentence (the same instruction as the teacher's), against the teachers
    chance   an untrained projector (seeded): what no alignment gives
    <system> a trained bridge's projected source vectors (stage A or B) against the teachers

A bridge takes part if it has `source_vectors` and `teacher_vectors` (LLINK). Results are kept
in a JSON cache keyed by what decides them (the checkpoint's checksums, the test set's sources
and references), so an experiment re-scores without loading a model.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..ranking import retrieval_scores
from ..textio import atomic_output
from .testsets import TestSet, sha256_of

BEFORE, CHANCE = "before", "chance"


def supports_retrieval(bridge) -> bool:
    return hasattr(bridge, "source_vectors") and hasattr(bridge, "teacher_vectors")


def testset_key(testset: TestSet) -> str:
    return f"{testset.name}:{sha256_of(testset.sources + testset.references)[:16]}"


_TEACHERS: dict[tuple, object] = {}  # one test set's teachers, shared by every row that uses them


def teachers(bridge, testset: TestSet, batch_size: int = 32):
    """The English references' teacher vectors. They depend on the frozen LLM and the prompt
    only (LoRA is off for them), not on the bridge's weights, so every row of one test set shares
    them: computed once per process."""
    cfg = bridge.config
    llm = bridge.backbone_identities()["decoder"]  # as loaded, before any LoRA
    key = (llm["fingerprint"], llm["spec"], cfg.instruction, cfg.system_prompt, cfg.placeholder,
           cfg.max_target_tokens, testset.tgt_lang, sha256_of(testset.references))
    if key not in _TEACHERS:
        _TEACHERS.clear()  # one test set at a time is all a run needs; vectors are large
        _TEACHERS[key] = bridge.teacher_vectors(list(testset.references), testset.tgt_lang, batch_size)
    return _TEACHERS[key]


def system_scores(bridge, testset: TestSet, batch_size: int = 32) -> dict:
    queries = bridge.source_vectors(list(testset.sources), testset.src_lang, batch_size)
    return retrieval_scores(queries, teachers(bridge, testset, batch_size))


def before_scores(bridge, testset: TestSet, batch_size: int = 32) -> dict:
    """The LLM's own state after the source sentence against its teachers: no encoder at all."""
    queries = bridge.teacher_vectors(list(testset.sources), testset.tgt_lang, batch_size, whole=True)
    return retrieval_scores(queries, teachers(bridge, testset, batch_size))


def chance_scores(bridge, testset: TestSet, batch_size: int = 32, seed: int = 0) -> dict:
    """A freshly initialised projector (seed) on the same backbones: the 'no alignment' row."""
    from ..bridges import build_bridge

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        untrained = build_bridge(bridge.method, bridge.encoder, bridge.decoder,
                                 {**bridge.config.to_dict(), "stage": "align", "queue_size": 1}).eval()
    return system_scores(untrained, testset, batch_size)


def token_counts(bridge, testset: TestSet) -> dict:
    """Tokens per sentence in the LLM's tokenizer (source vs English reference) and the
    encoder's: how much the LLM's tokenizer inflates this language (the paper: Khmer 6.5x)."""
    llm, enc = bridge.decoder.tokenizer, bridge.encoder.tokenizer

    def mean(tokenizer, texts):
        return sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts) / len(texts)

    source, reference = mean(llm, testset.sources), mean(llm, testset.references)
    return {"llm_tokens_source": source, "llm_tokens_english": reference, "inflation": source / reference,
            "encoder_tokens_source": mean(enc, testset.sources), "sentences": len(testset)}


class RetrievalCache:
    """{key: scores} in one JSON file, written atomically after every new entry."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self.entries = json.loads(self.path.read_text(encoding="utf-8")) if self.path and self.path.is_file() else {}

    def get(self, key: str, compute):
        if key not in self.entries:
            self.entries[key] = compute()
            if self.path:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_output(self.path) as f:
                    f.write(json.dumps(self.entries, indent=1, sort_keys=True) + "\n")
        return self.entries[key]


class _Lazy:
    """A bridge loaded on first use only (a cached score needs no model)."""

    def __init__(self, label: str, load, log):
        self.label, self._load, self._log, self._bridge = label, load, log, None

    def __call__(self):
        if self._bridge is None:
            self._log(f"retrieval: loading {self.label}")
            self._bridge = self._load()
            if not supports_retrieval(self._bridge):
                raise ValueError(f"{self.label} ({self._bridge.method}) has no sentence vectors to retrieve with; "
                                 f"retrieval takes LLINK bridges")
        return self._bridge


def reference_rows(key: str, load, testsets: list[TestSet], *, batch_size: int = 32,
                   cache: RetrievalCache | None = None, log=print) -> list[dict]:
    """The before and chance rows (with token counts on the before row). key: what decides them
    (backbones, prompt, projector shape); load: any LLINK bridge on those backbones and prompt."""
    cache, bridge, rows = cache or RetrievalCache(None), _Lazy("the reference rows' backbones", load, log), []
    for ts in testsets:
        where = f"{key}|{testset_key(ts)}"
        before = cache.get(f"{BEFORE}|{where}", lambda: {**before_scores(bridge(), ts, batch_size),
                                                         **token_counts(bridge(), ts)})
        chance = cache.get(f"{CHANCE}|{where}", lambda: chance_scores(bridge(), ts, batch_size))
        rows += [{"row": BEFORE, "lang": ts.name, **before}, {"row": CHANCE, "lang": ts.name, **chance}]
    return rows


def system_rows(systems: dict[str, tuple[str, object]], testsets: list[TestSet], *, batch_size: int = 32,
                cache: RetrievalCache | None = None, log=print) -> list[dict]:
    """systems: label -> (identity string, loader returning the bridge). One row per system and
    test set: {"row", "lang", "n", "r@1", "r@5", "r@10", "mrr", "mean_rank"}."""
    cache, rows = cache or RetrievalCache(None), []
    for label, (identity, load) in systems.items():
        bridge = _Lazy(label, load, log)
        for ts in testsets:
            scores = cache.get(f"{identity}|{testset_key(ts)}", lambda: system_scores(bridge(), ts, batch_size))
            rows.append({"row": label, "lang": ts.name, **scores})
            log(f"retrieval: {label} {ts.name}: R@1 {scores['r@1']:.3f}, MRR {scores['mrr']:.3f} (n {scores['n']})")
    return rows


def markdown_table(rows: list[dict], names: dict[str, str] | None = None) -> str:
    names = {BEFORE: "the LLM reading the source itself (before)", CHANCE: "untrained projector (chance)",
             **(names or {})}
    lines = ["| row | source | sentences | R@1 | R@5 | R@10 | MRR | mean rank |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {names.get(r['row'], r['row'])} | {r['lang']} | {r['n']} | {r['r@1']:.3f} | {r['r@5']:.3f} "
                     f"| {r['r@10']:.3f} | {r['mrr']:.3f} | {r['mean_rank']:.1f} |")
    return "\n".join(lines)
