"""Experiments (DESIGN.md layer 7): several systems trained from one base config, evaluated
together, reported in a paper's layout. Resumable at every stage (runner.py).

Shipped experiment files live next to this file, by name: `babelbridge experiment one-pair`.
Names are imported on first use, so the CLI checks arguments without importing torch.
"""

from importlib import import_module
from pathlib import Path

HERE = Path(__file__).parent

EXPERIMENTS: dict[str, str] = {
    "one-pair": "the HCA paper's claim that one language pair suffices: De-En only, Ar-En only and an oracle on "
                "every pair, two ablations, LoRA and the LLM alone, on the pocket backbones and the Bible",
    "llink": "the LLINK paper's claims: retrieval R@1 before and after stage A (Hindi, 6.5x-inflated Khmer's "
             "stand-in), translation from 8 soft slots trained on Hindi or German only, the usage ablation, "
             "LoRA with the source in the prompt and the LLM alone, on the pocket backbones and the Bible",
    "lmt": "the LMT recipe's claims: English-centric multi-way LoRA SFT with every X->En pair (p = 100%) against "
           "Strategic Downsampling (p = 5%, 20%) and PMP (oracle and self at inference), any-to-any evaluation "
           "with floors, off-target rates and repetition, on the pocket LLM and the Bible",
    "crosslora": "the CrossLoRA paper's Table 1 in kind: cross-connected language experts (stage 1 English-centric, "
                 "stage 2 + a pseudo-corpus pivoted through English) against LoRA of matched size, MoLoRA top-1 and "
                 "static, and shared experts, on every direction of four languages, on the pocket LLM and the Bible",
}

_WHERE = {"ExperimentSpec": "spec", "load_experiment": "spec", "run_experiment": "runner",
          "ExperimentResult": "runner", "build": "report"}
__all__ = sorted(_WHERE) + ["EXPERIMENTS", "experiment_file"]


def experiment_file(name: str) -> Path:
    """The YAML of a shipped experiment (one-pair -> one_pair.yaml)."""
    return HERE / f"{name.replace('-', '_')}.yaml"


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
