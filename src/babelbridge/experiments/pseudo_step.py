"""An experiment's pseudo-corpus step (CrossLoRA's stage 2 data, section 3.3 of its paper).

Between the stages: once the `pseudo.translator` system is trained, its bridge pivots the
held-out sentences X -> pivot -> Y (data/pseudo.py: language-id and length filters, resumable
after a kill at any batch) into

    pseudo/corpus.jsonl               the pairs, {src, tgt, src_lang, tgt_lang, pivot, pivot_lang}
    pseudo/corpus.jsonl.report.json   what each filter dropped, per direction
    pseudo/step.json                  the settings and the translator's checksums it was made with

These are small and kept in git with the other results, so a later session trains stage 2
without stage 1's weights. A corpus made with other settings is an error, never silently
reused. Each `with_pseudo` system's run config lists the corpus (spec.pseudo_corpus_entry) with
a path relative to its runs/<system>/config.yaml, so the results folder can move.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

from ..errors import BabelBridgeError
from ..textio import atomic_output
from .spec import PSEUDO_CORPUS, ExperimentSpec

PSEUDO_DIR = Path(PSEUDO_CORPUS).parent
STEP_RECORD = "step.json"


def corpus_path(out: Path) -> Path:
    return out / PSEUDO_CORPUS


def step_record(spec: ExperimentSpec, translator_sha256: dict) -> dict:
    return {"settings": dict(spec.pseudo), "translator": spec.pseudo["translator"],
            "translator_sha256": translator_sha256}


def check_pseudo_dir(out: Path, spec: ExperimentSpec) -> None:
    """A pseudo/ made with other settings is an error, before anything is loaded."""
    record = out / PSEUDO_DIR / STEP_RECORD
    if spec.pseudo is None or not record.is_file():
        return
    previous = json.loads(record.read_text(encoding="utf-8"))["settings"]
    if previous != spec.pseudo:
        changed = sorted(k for k in set(previous) | set(spec.pseudo) if previous.get(k) != spec.pseudo.get(k))
        raise BabelBridgeError(
            f"{record} was written for other pseudo-corpus settings (they differ in: {', '.join(changed)}); a full "
            f"run and a --quick run need different --out folders. Use another --out, or delete {record.parent} "
            f"(and the runs trained on it) to make it again")


def is_built(out: Path) -> bool:
    return corpus_path(out).is_file() and (out / PSEUDO_DIR / STEP_RECORD).is_file()


def build_experiment_pseudo(out: Path, spec: ExperimentSpec, *, bridge_dir: Path, translator_sha256: dict,
                            device: str, dtype: str, log) -> None:
    """Make pseudo/corpus.jsonl with the translator's bridge at bridge_dir (resumes a killed run)."""
    from .. import bridges
    from ..data.pseudo import LazyBridge, build_pseudo, plan_pseudo, read_held_out
    from ..data.pseudo_filters import LanguageIdentifier
    from ..evaluate import langid
    from ..evaluate.cache import checkpoint_identity

    p = spec.pseudo
    pivot, langs = p["pivot"], [c for c in p["langs"] if c != p["pivot"]]
    sources = read_held_out(p["corpus"], langs, pivot, skip=p["skip"], limit=p["limit"])
    log(f"pseudo-corpus: {', '.join(f'{lang} {len(t)}' for lang, t in sources.items())} source sentences "
        f"(after skipping {p['skip']}), pivoting through {pivot} with {p['translator']}'s bridge")
    plan = plan_pseudo(sources, pivot, batch_size=p["batch_size"], max_length_ratio=p["max_length_ratio"])
    identifier = LanguageIdentifier(langid.identify, langid.accepted_codes, langid.identifier_version())
    translator = LazyBridge(lambda: bridges.load_bridge(bridge_dir, device=device, dtype=dtype),
                            batch_size=p["batch_size"], num_beams=p["num_beams"], max_new_tokens=p["max_new_tokens"])

    arguments = {"corpus": {**p["corpus"], "skip": p["skip"], "limit": p["limit"]},
                 "bridge": checkpoint_identity(bridge_dir), "dtype": dtype,
                 "generation": {"num_beams": p["num_beams"], "max_new_tokens": p["max_new_tokens"]}}
    corpus_path(out).parent.mkdir(parents=True, exist_ok=True)
    report = build_pseudo(plan, translator.translate, identifier, corpus_path(out), fits=translator.fits,
                          arguments=arguments, log=log)
    with atomic_output(out / PSEUDO_DIR / STEP_RECORD) as f:
        f.write(json.dumps(step_record(spec, translator_sha256), ensure_ascii=False, indent=1) + "\n")
    log(report.summary())
    del translator
    gc.collect()


def pseudo_counts(out: Path) -> dict | None:
    """pseudo/corpus.jsonl.report.json, or None before the step has run."""
    from ..data.pseudo import report_path

    path = report_path(corpus_path(out))
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
