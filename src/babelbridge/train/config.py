"""Training configuration: one dataclass for every bridge and every stage.

A stage is a config, not a loop: a second stage is a second YAML with another `init_from`
and other learning rates, run by the same trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..bridges.config import BridgeConfig


@dataclass
class TrainConfig(BridgeConfig):
    output_dir: str = "runs/bridge"
    # Optimiser and schedule (the HCA paper: Adam, lr 1e-5, global batch 128, one epoch).
    optimizer: Literal["adam", "adamw"] = "adam"
    lr: float = 1e-5
    # Per-module learning rates: {glob over trainable parameter names: lr}, first match wins,
    # e.g. {"blocks.*.proj.*": 1e-3}. Unmatched parameters use `lr`.
    lr_by_module: dict[str, float] = field(default_factory=dict)
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: Literal["constant", "linear", "cosine"] = "constant"
    warmup_steps: int = 0
    # Batching: the global batch is split into micro-batches (gradient accumulation) and,
    # under `accelerate launch`, across processes. Must divide: global = micro * accum * procs.
    global_batch_size: int = 128
    micro_batch_size: int = 8
    group_by_length: bool = True  # batches of similar length: less padding
    epochs: float = 1.0
    max_steps: int | None = None  # overrides epochs
    # Numerics.
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16 autocast; adapters keep fp32 weights
    backbone_dtype: Literal["float32", "bfloat16"] = "float32"
    max_grad_norm: float | None = 1.0
    # Recompute each decoder layer in backward instead of storing its activations: for long
    # sequences (LoRA's source in the prompt) or large LLMs; costs about one more forward.
    gradient_checkpointing: bool = False
    seed: int = 0
    # Validation and early stopping on a plateau (the paper stops this way).
    eval_every: int = 0  # steps; 0 = never
    early_stopping_patience: int | None = None  # evaluations without improvement
    early_stopping_min_delta: float = 0.0
    # Also score the validation set with every source swapped for another pair's source: the
    # difference ("source_gap") says how much the model reads the source at all. A bridge
    # can lower its loss by learning the target domain's style alone; this catches that.
    eval_source_gap: bool = True
    # Checkpoints: written atomically every N steps; the last K kept; resume is automatic.
    save_every: int = 100
    keep_last: int = 2
    log_every: int = 1
    init_from: str | None = None  # a bridge checkpoint to start from (a later stage)
    # R-Drop (CrossLoRA's eq. 7-9, bridges/rdrop.py): each micro-batch through the bridge twice
    # (different dropout masks), loss = mean NLL of both + rdrop_alpha x their symmetric KL on
    # the answer tokens. 0 = off (one pass). The paper: 0.1. Needs a bridge with dropout.
    rdrop_alpha: float = 0.0

    def __post_init__(self):
        self.betas = tuple(self.betas)
        for name in ("global_batch_size", "micro_batch_size", "save_every", "keep_last", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if self.global_batch_size % self.micro_batch_size:
            raise ValueError(
                f"train.global_batch_size ({self.global_batch_size}) must be a multiple of "
                f"train.micro_batch_size ({self.micro_batch_size})"
            )
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"train.optimizer must be adam or adamw, got {self.optimizer!r}")
        if self.schedule not in ("constant", "linear", "cosine"):
            raise ValueError(f"train.schedule must be constant, linear or cosine, got {self.schedule!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ValueError(f"train.precision must be fp32 or bf16, got {self.precision!r}")
        if isinstance(self.rdrop_alpha, bool) or not isinstance(self.rdrop_alpha, (int, float)) or self.rdrop_alpha < 0:
            raise ValueError(f"train.rdrop_alpha must be a number >= 0 (0: no R-Drop), got {self.rdrop_alpha!r}")
