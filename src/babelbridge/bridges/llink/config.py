"""LLINK configuration: the paper's (and its public code's) choices as defaults, a switch for
every point the paper is silent on, and the two stages as one option (`stage`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ...errors import BabelBridgeError
from ..config import BridgeConfig

STAGES = ("align", "inject")
SLOT_MODES = ("offsets", "mlp")
SOURCE = "{source}"  # where the source goes in the instruction: K slots, or a sentence and a marker


@dataclass
class LLINKConfig(BridgeConfig):
    # "align": stage A, the projector learns to land on the LLM's own hidden state at a reserved
    # position (contrastive); nothing enters the LLM and the bridge does not translate.
    # "inject": stage B, the projected vector enters the LLM as K soft slots, read through LoRA;
    # start it from a stage-A checkpoint (train.init_from).
    stage: Literal["align", "inject"] = "align"

    # ---- the source vector and the projector (both stages) ----
    # Width of the projector's hidden layer; None = 4 x the encoder's width. The paper's numbers
    # are 768 -> 3072 -> 2048 (XLM-R base -> Llama-3.2-1B): 3072 is 4 x d_enc, not 4 x d_llm.
    projector_hidden: int | None = None
    projector_dropout: float = 0.1  # the public code's; silent in the paper

    # ---- the prompt ----
    # {source} marks where the source goes: in stage B the K slots; for the teacher (stage A, and
    # retrieval) a sentence followed by one reserved position whose last hidden state is read.
    instruction: str = "Translate this sentence to {tgt_name}:\n{source}"
    system_prompt: str | None = None  # None: the chat template's default; "" an empty system turn
    # What a reserved position holds in the LLM's input when no slot is written there (the
    # teacher's marker, L_zero's slots). "mean": the mean row of the LLM's input embeddings, what
    # resize_token_embeddings gives a new token, so nothing is resized or edited; any other string
    # must be one token of the LLM's vocabulary and its own embedding is used.
    placeholder: str = "mean"

    # ---- stage A: contrastive alignment (symmetric InfoNCE + small regularisers) ----
    temperature_start: float = 0.17  # annealed linearly over the stage's steps
    temperature_end: float = 0.08
    queue_size: int = 32768  # past teacher vectors kept as negatives (training state, checkpointed)
    hard_negatives: int = 256  # per query: the queued teachers most similar to its projection
    mse_weight: float = 0.05  # mean squared error between unit vectors (elementwise mean)
    log_norm_weight: float = 0.02  # (log|p| - log|h|)^2: the projection's norm towards the teacher's

    # ---- stage B: injection ----
    num_slots: int = 8
    # Silent in the paper: what makes the K slots differ. Both start from unit norm -> LayerNorm
    # -> a learned scale (initialised at the RMS of the LLM's input embeddings, so slots enter at
    # the scale the LLM reads tokens). "offsets": + one learned vector per slot (zero at the
    # start: K copies of the vector that differ by position only). "mlp": the public code's
    # expander, d -> 2d -> K*d, then LayerNorm per slot.
    slot_mode: Literal["offsets", "mlp"] = "offsets"
    train_projector: bool = False  # stage B trains the projector too (the public code: it does not)
    lora_r: int = 16
    lora_alpha: float = 16  # the public code's: scale alpha / r = 1
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                                             "up_proj", "down_proj"])
    # Usage enforcement: every `usage_every`-th step (0, N, 2N, ...) the loss adds
    # usage_weight * max(0, L_SFT - L_zero), L_zero being the loss with the slots replaced by the
    # placeholder's embedding: it penalises a model that does better without the foreign signal.
    # (The public code computes max(0, L_zero - L_SFT): the sign is inverted there.) 0 turns it off.
    usage_weight: float = 0.05
    usage_every: int = 3
    # Silent in the paper: whether L_zero's own gradient counts. False: L_zero is a constant, the
    # term only moves the slot path; True (the public code): LoRA may also learn to do worse
    # without the slots.
    usage_zero_grad: bool = False

    max_source_tokens: int = 256  # encoder tokens
    max_target_tokens: int = 256  # LLM tokens of the answer (and of the teacher's sentence)

    def __post_init__(self):
        def fail(message):
            raise BabelBridgeError(message)

        if self.stage not in STAGES:
            fail(f"stage must be one of {', '.join(STAGES)} (align: stage A, inject: stage B), got {self.stage!r}")
        if self.slot_mode not in SLOT_MODES:
            fail(f"slot_mode must be one of {', '.join(SLOT_MODES)}, got {self.slot_mode!r}")
        if not isinstance(self.instruction, str) or self.instruction.count(SOURCE) != 1:
            fail(f"instruction must hold {SOURCE} exactly once (where the source goes), got {self.instruction!r}")
        for name in ("num_slots", "queue_size", "hard_negatives", "usage_every", "lora_r",
                     "max_source_tokens", "max_target_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                fail(f"{name} must be a positive integer, got {value!r}")
        if self.projector_hidden is not None and (not isinstance(self.projector_hidden, int)
                                                  or self.projector_hidden < 1):
            fail(f"projector_hidden must be a positive integer or null (4 x the encoder width), "
                 f"got {self.projector_hidden!r}")
        if not (0 < self.temperature_start and 0 < self.temperature_end):
            fail(f"temperature_start and temperature_end must be positive, got {self.temperature_start} "
                 f"and {self.temperature_end}")
        for name in ("mse_weight", "log_norm_weight", "usage_weight"):
            if getattr(self, name) < 0:
                fail(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("projector_dropout", "lora_dropout"):
            if not 0 <= getattr(self, name) < 1:
                fail(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.lora_alpha <= 0:
            fail(f"lora_alpha must be positive, got {self.lora_alpha}")
        if not self.lora_targets or not all(isinstance(t, str) and t for t in self.lora_targets):
            fail(f"lora_targets must be a non-empty list of module names, got {self.lora_targets!r}")
        self.lora_targets = list(self.lora_targets)
