"""MoLoRA configuration: the CrossLoRA paper's LoRA values (its baselines share them, section 4.3)
and the router: `topk` (a learned router per adapted layer) or `static` (one expert per direction).

Each router has its own options; the other router's are refused, and the defaults of the chosen
one are filled in, so a checkpoint's config states exactly what ran:

    topk     num_experts (6: "the same number of experts as CrossLoRA"), top_k (1: "a top-1
             router"), load_balance_weight (0.01: Switch Transformer's alpha, Fedus et al. 2022)
    static   directions ["deu_Latn-eng_Latn", ...], or languages (all ordered pairs of them;
             default the paper's six: its "30 experts")
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import BabelBridgeError
from ..crosslora.config import PAPER_LANGUAGES, PaperLoRAConfig, language_code, language_list

ROUTERS = ("topk", "static")
TOPK_OPTIONS = {"num_experts": 6, "top_k": 1, "load_balance_weight": 0.01}
STATIC_OPTIONS = ("languages", "directions")


@dataclass
class MoLoRAConfig(PaperLoRAConfig):
    # "topk": MoLoRA (Top-k), a learned token-level router over num_experts LoRA experts (eq. 2-3);
    # "static": MoLoRA (Static), one expert per translation direction, picked by the direction label.
    router: str = "topk"
    # topk: experts, experts per token, and the weight of the load-balancing loss in training.
    num_experts: int | None = None
    top_k: int | None = None
    load_balance_weight: float | None = None
    # static: the directions, as "src-tgt" (FLORES-200 codes or aliases, stored as codes), or the
    # languages whose ordered pairs they are.
    languages: list[str] | None = None
    directions: list[str] | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.router not in ROUTERS:
            raise BabelBridgeError(f"router must be one of {', '.join(ROUTERS)}, got {self.router!r}")
        mine, others = (TOPK_OPTIONS, STATIC_OPTIONS) if self.router == "topk" else (STATIC_OPTIONS, TOPK_OPTIONS)
        given = [name for name in others if getattr(self, name) is not None]
        if given:
            raise BabelBridgeError(f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for router "
                                   f"{'static' if self.router == 'topk' else 'topk'}; router {self.router} takes "
                                   f"{', '.join(mine)}")
        if self.router == "topk":
            self._check_topk()
        else:
            self._check_static()

    def _check_topk(self) -> None:
        for name, default in TOPK_OPTIONS.items():
            if getattr(self, name) is None:
                setattr(self, name, default)
        for name in ("num_experts", "top_k"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BabelBridgeError(f"{name} must be a positive integer, got {value!r}")
        if self.top_k > self.num_experts:
            raise BabelBridgeError(f"top_k ({self.top_k}) must not exceed num_experts ({self.num_experts})")
        weight = self.load_balance_weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise BabelBridgeError(f"load_balance_weight must be a number >= 0, got {weight!r}")

    def _check_static(self) -> None:
        if self.languages is not None and self.directions is not None:
            raise BabelBridgeError("give languages (every ordered pair of them is a direction) or directions, not both")
        if self.directions is None:
            self.languages = language_list("languages", list(PAPER_LANGUAGES) if self.languages is None
                                           else self.languages)
            if len(self.languages) < 2:
                raise BabelBridgeError(f"languages must name at least two languages (a direction needs a source "
                                       f"and a target), got {self.languages}")
            return
        if isinstance(self.directions, str) or not isinstance(self.directions, (list, tuple)) or not self.directions:
            raise BabelBridgeError(f"directions must be a non-empty list of 'src-tgt' directions (e.g. "
                                   f"deu_Latn-eng_Latn), got {self.directions!r}")
        self.directions = [direction_name(*parse_direction(d)) for d in self.directions]
        repeated = sorted({d for d in self.directions if self.directions.count(d) > 1})
        if repeated:
            raise BabelBridgeError(f"directions lists {', '.join(repeated)} more than once")

    def expert_directions(self) -> list[tuple[str, str]]:
        """Router static: one expert per (source, target), in this order."""
        if self.directions is not None:
            return [parse_direction(d) for d in self.directions]
        return [(src, tgt) for src in self.languages for tgt in self.languages if src != tgt]


def parse_direction(direction) -> tuple[str, str]:
    """"deu_Latn-eng_Latn" (or "de-en": FLORES-200 codes never hold a '-') -> the two codes."""
    parts = direction.split("-") if isinstance(direction, str) else []
    if len(parts) != 2:
        raise BabelBridgeError(f"directions: a direction is 'src-tgt' (e.g. deu_Latn-eng_Latn), got {direction!r}")
    src, tgt = (language_code("directions", lang) for lang in parts)
    if src == tgt:
        raise BabelBridgeError(f"directions: {direction!r} translates {src} into itself")
    return src, tgt


def direction_name(src: str, tgt: str) -> str:
    return f"{src}-{tgt}"
