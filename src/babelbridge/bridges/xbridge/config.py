"""XBridge configuration: the paper's choices as defaults, the public code's where they differ as
options, and the three training stages as one option (`stage`) that decides which parameters
train and which losses count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ...errors import BabelBridgeError
from ..config import BridgeConfig
from .ot import OT_FORMS

SOURCE = "{source}"  # where the mapped source states (and the end boundary) go in the instruction
WIDTHS = ("paper", "public")
MASSES = ("norm", "uniform")

# stage -> (parameter groups that train, losses that count). Sec. 3.3 of the paper.
STAGES = {
    1: ({"encoder_mapping", "decoder_mapping", "cross_attention"}, {"llm", "decoder", "ot"}),  # cross-model mapping
    2: ({"encoder_mapping"}, {"llm"}),                                                       # encoder-side adaptation
    3: ({"decoder_mapping", "cross_attention"}, {"decoder", "ot"}),                          # decoder-side adaptation
}


@dataclass
class XBridgeConfig(BridgeConfig):
    stage: int = 1
    # False: the encoder side only (NMT encoder -> mapping -> LLM, English out): the paper's
    # "w/o Decoder" ablation, the MindMerger/LangBridge family. Any multilingual encoder then
    # serves (e5, XLM-R), not only an NMT model's.
    decoder_side: bool = True

    # ---- the mappings (Sec. 3.1) ----
    # "paper": every intermediate width is the LLM's hidden size. "public": the public code's
    # 4 x d_enc on the encoder side and 2 x d_llm on the decoder side.
    mapping_widths: Literal["paper", "public"] = "paper"
    decoder_mapping_blocks: int = 2  # the paper's four-layer MLP: two blocks of RMSNorm-Linear-SiLU-Linear
    rms_norm_eps: float = 1e-6
    # Which of the LLM's hidden states feed the decoder: -2, the penultimate layer's output
    # (the paper: the last layer is tied to the output vocabulary).
    llm_hidden_layer: int = -2

    # ---- the prompt ----
    # The LLM always answers in English (its core language); {source} marks where the mapped
    # source states and the learned end-boundary vector go, inside the user turn.
    instruction: str = "{source}\nTranslate the text above into English."
    system_prompt: str | None = None  # None: the chat template's default; "" an empty system turn

    # ---- losses (Sec. 3.2-3.3): weights of the terms the stage lets count ----
    llm_weight: float = 1.0
    decoder_weight: float = 0.2
    ot_weight: float = 1.0  # 0: the "w/o OT" ablation
    # "relaxed": the public code's one-sided nearest-state form; "sinkhorn": entropic OT (App. A).
    ot_form: Literal["relaxed", "sinkhorn"] = "relaxed"
    ot_epsilon: float = 0.1
    ot_iterations: int = 100
    ot_mass: Literal["norm", "uniform"] = "norm"

    max_source_tokens: int = 256   # NMT encoder tokens
    max_target_tokens: int = 256   # LLM tokens of the English answer
    max_decoder_tokens: int = 256  # NMT decoder tokens of the target-language sentence

    def __post_init__(self):
        def fail(message):
            raise BabelBridgeError(message)

        if isinstance(self.stage, bool) or self.stage not in STAGES:
            fail(f"stage must be 1 (cross-model mapping), 2 (encoder-side adaptation) or 3 (decoder-side "
                 f"adaptation), got {self.stage!r}")
        if not self.decoder_side and self.stage == 3:
            fail("stage 3 trains the decoder side; with decoder_side: false there is none (use stage 1 or 2)")
        if self.mapping_widths not in WIDTHS:
            fail(f"mapping_widths must be one of {', '.join(WIDTHS)}, got {self.mapping_widths!r}")
        if self.ot_form not in OT_FORMS:
            fail(f"ot_form must be one of {', '.join(OT_FORMS)}, got {self.ot_form!r}")
        if self.ot_mass not in MASSES:
            fail(f"ot_mass must be one of {', '.join(MASSES)}, got {self.ot_mass!r}")
        if not isinstance(self.instruction, str) or self.instruction.count(SOURCE) != 1:
            fail(f"instruction must hold {SOURCE} exactly once (where the source goes), got {self.instruction!r}")
        for name in ("decoder_mapping_blocks", "ot_iterations", "max_source_tokens", "max_target_tokens",
                     "max_decoder_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                fail(f"{name} must be a positive integer, got {value!r}")
        for name in ("llm_weight", "decoder_weight", "ot_weight"):
            if getattr(self, name) < 0:
                fail(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.ot_epsilon <= 0 or self.rms_norm_eps <= 0:
            fail(f"ot_epsilon and rms_norm_eps must be positive, got {self.ot_epsilon} and {self.rms_norm_eps}")
        if isinstance(self.llm_hidden_layer, bool) or not isinstance(self.llm_hidden_layer, int) \
                or self.llm_hidden_layer >= 0:
            fail(f"llm_hidden_layer counts from the top and must be negative (-1: the last layer after its "
                 f"final norm, -2: the penultimate layer), got {self.llm_hidden_layer!r}")

    def trained_groups(self) -> set[str]:
        groups = STAGES[self.stage][0]
        return groups if self.decoder_side else groups & {"encoder_mapping"}

    def active_losses(self) -> dict[str, float]:
        """The loss terms this stage counts, with their weights (a zero weight drops the term)."""
        weights = {"llm": self.llm_weight, "decoder": self.decoder_weight, "ot": self.ot_weight}
        losses = STAGES[self.stage][1] if self.decoder_side else STAGES[self.stage][1] & {"llm"}
        return {name: weights[name] for name in sorted(losses) if weights[name] > 0}
