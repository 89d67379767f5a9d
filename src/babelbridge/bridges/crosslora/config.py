"""CrossLoRA configuration: LoRA's options with the paper's values, the expert languages, and the
paper's expert-merging ablations (section 5.2, Table 3)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import BabelBridgeError
from ...languages import UnknownLanguageError, get_language, normalize_language
from ..lora.config import LoRAConfig

# Section 4.1: the six languages of ALMA's setup (English the pivot), one expert each.
PAPER_LANGUAGES = ("eng_Latn", "deu_Latn", "zho_Hans", "rus_Cyrl", "ces_Latn", "isl_Latn")
# Appendix A.1: "LoRA adapters are applied to the gate_proj, up_proj, and down_proj modules".
PAPER_TARGETS = ("gate_proj", "up_proj", "down_proj")
# How languages share experts. "language": one each (the paper's main setup). "branch": one per
# branch of the languages registry (Germanic, Slavic, Sinitic, ...): the paper's Table 4 grouping
# of its six languages into three experts (En/De/Is, Cs/Ru, Zh). "family": one per family
# (Indo-European, ...), coarser; a language isolate, creole or constructed language (not related
# to the rest of its pseudo-family) keeps its own expert. A mapping {language: group name} sets
# the groups by hand.
GROUPINGS = ("language", "branch", "family")
UNRELATED_FAMILIES = ("Language isolate", "Creole", "Constructed")


@dataclass
class CrossLoRAConfig(LoRAConfig):
    r: int = 16  # section 4.2: rank 16, alpha 64, dropout 0.1
    alpha: float = 64
    dropout: float = 0.1
    target_modules: list[str] = field(default_factory=lambda: list(PAPER_TARGETS))
    # The expert languages (FLORES-200 codes or aliases, stored as codes). A direction between
    # two of them routes to its experts; any other language is refused by name.
    languages: list[str] = field(default_factory=lambda: list(PAPER_LANGUAGES))
    # "language" | "branch" | "family" | {language: group}: which languages share an expert.
    experts: str | dict[str, str] = "language"
    # Table 3's "1 Shared Source Expert" / "1 Shared Target Expert": one LoRA A for every source
    # language / one LoRA B for every target language (HydraLoRA's asymmetric sharing).
    shared_source: bool = False
    shared_target: bool = False

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.languages, str) or not isinstance(self.languages, (list, tuple)) or not self.languages:
            raise BabelBridgeError(f"languages must be a non-empty list of FLORES-200 codes (e.g. "
                                   f"{', '.join(PAPER_LANGUAGES)}), got {self.languages!r}")
        self.languages = [language_code("languages", lang) for lang in self.languages]
        repeated = sorted({lang for lang in self.languages if self.languages.count(lang) > 1})
        if repeated:
            raise BabelBridgeError(f"languages lists {', '.join(repeated)} more than once")
        for name in ("shared_source", "shared_target"):
            if not isinstance(getattr(self, name), bool):
                raise BabelBridgeError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if isinstance(self.experts, dict):
            groups = {language_code("experts", lang): group for lang, group in self.experts.items()}
            missing = [lang for lang in self.languages if lang not in groups]
            extra = sorted(set(groups) - set(self.languages))
            bad = [lang for lang, group in groups.items() if not isinstance(group, str) or not group]
            if missing or extra or bad:
                raise BabelBridgeError(
                    "experts maps each of languages to a group name; " + "; ".join(
                        ([f"it lacks {', '.join(missing)}"] if missing else [])
                        + ([f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not in languages"]
                           if extra else [])
                        + ([f"{', '.join(bad)} {'has' if len(bad) == 1 else 'have'} no group name"] if bad else [])))
            self.experts = groups
        elif self.experts not in GROUPINGS:
            raise BabelBridgeError(f"experts must be one of {', '.join(GROUPINGS)} or a mapping "
                                   f"{{language: group}}, got {self.experts!r}")

    def expert_groups(self) -> dict[str, str]:
        """Each expert language's group: languages of one group share an expert."""
        if isinstance(self.experts, dict):
            return dict(self.experts)
        groups = {}
        for code in self.languages:
            lang = get_language(code)
            if self.experts == "branch":
                groups[code] = lang.branch
            elif self.experts == "family" and lang.family not in UNRELATED_FAMILIES:
                groups[code] = lang.family
            else:
                groups[code] = code
        return groups


def language_code(option: str, lang) -> str:
    if not isinstance(lang, str):
        raise BabelBridgeError(f"{option}: a language must be a FLORES-200 code, got {lang!r}")
    try:
        return normalize_language(lang)
    except UnknownLanguageError as err:
        raise BabelBridgeError(f"{option}: {err}") from None
