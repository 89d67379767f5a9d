"""Prompted-LLM baseline configuration: the prompt (and LMT's PMP prompt), how an answer is cut,
and length limits."""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Literal

from ...errors import BabelBridgeError
from ..config import BridgeConfig

# LMT's prompt (shared/ANCHORS.md), sent as the user turn of the LLM's chat template.
LMT_TEMPLATE = "Translate the following text from {src_name} into {tgt_name}:\n{src_name}: {text}\n{tgt_name}:"
PLACEHOLDERS = ("text", "src_name", "tgt_name", "src_code", "tgt_code")
# LMT's Parallel Multilingual Prompting (PMP): the same prompt with the source's parallel sentence
# in an auxiliary language. Neither the paper summary (shared/papers/lmt-beyond-english.txt) nor
# the public code (NiuTrans/LMT: only the plain prompt) gives PMP's wording, so this is our
# choice: the auxiliary as one more labelled line right after the source, LMT's own
# "{name}: {sentence}" form, so the prompt still ends with the target's label where the answer
# starts and the plain prompt is this one without that line.
PMP_TEMPLATE = ("Translate the following text from {src_name} into {tgt_name}:\n{src_name}: {text}\n"
                "{aux_name}: {aux_text}\n{tgt_name}:")
PMP_PLACEHOLDERS = PLACEHOLDERS + ("aux_text", "aux_name", "aux_code")
POSTPROCESS = ("first_line", "strip")


@dataclass
class PromptedConfig(BridgeConfig):
    # The instruction; placeholders: {text} (required), {src_name}, {tgt_name} (English names,
    # e.g. German) and {src_code}, {tgt_code} (FLORES-200 codes, e.g. deu_Latn).
    template: str = LMT_TEMPLATE
    # What of the generated answer is the translation. "first_line": its first non-empty line,
    # stripped (a chatty LLM goes on after the translation: notes, alternatives, a new
    # "German:" turn); "strip": the whole answer, stripped.
    postprocess: Literal["first_line", "strip"] = "first_line"
    # LMT's PMP. True: training prompts of pairs that carry an auxiliary sentence
    # (TranslationPair.pivot, its language in pivot_lang; attached by the data layer from a
    # multi-way corpus) use pmp_template; pairs without one keep `template`, so the share of
    # PMP prompts is the share of pairs the data layer gave a pivot (the paper summary does not
    # say whether LMT puts PMP on all of its SFT data or part of it). False: pivots are ignored.
    # At inference the auxiliary is asked for per call (translate's aux_texts / aux_lang); a
    # call without one uses `template`, whatever this says. It also records, for
    # `babelbridge translate --pmp`, that the bridge was trained on PMP prompts.
    pmp: bool = False
    # The PMP prompt; placeholders: those of `template`, {aux_text} (required: the auxiliary
    # sentence), {aux_name} and {aux_code} (its language's English name / FLORES-200 code).
    pmp_template: str = PMP_TEMPLATE
    # Limits in the LLM's tokens: the source text alone (not the prompt around it), and the
    # target with its end-of-turn token.
    max_source_tokens: int = 256
    max_target_tokens: int = 256

    def __post_init__(self):
        check_template("template", self.template, PLACEHOLDERS, ("text",))
        if not isinstance(self.pmp, bool):
            raise BabelBridgeError(f"pmp must be true or false, got {self.pmp!r}")
        check_template("pmp_template", self.pmp_template, PMP_PLACEHOLDERS, ("text", "aux_text"))
        if self.postprocess not in POSTPROCESS:
            raise BabelBridgeError(f"postprocess must be one of {', '.join(POSTPROCESS)}, got {self.postprocess!r}")
        for name in ("max_source_tokens", "max_target_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BabelBridgeError(f"{name} must be a positive integer, got {value!r}")


def check_template(option: str, template: str, accepted: tuple[str, ...], required: tuple[str, ...]) -> None:
    """A format string whose placeholders are all in `accepted` and include every `required` one."""
    if not isinstance(template, str):
        raise BabelBridgeError(f"{option} must be a string, got {template!r}")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as err:  # e.g. a lone "{"
        raise BabelBridgeError(f"{option} {template!r} is not a valid format string ({err}); "
                               f"write a literal brace as {{{{ or }}}}") from None
    unknown = sorted(fields - set(accepted))
    missing = [name for name in required if name not in fields]
    if unknown or missing:
        if unknown:
            problem = f"unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}"
            if set(unknown) & {"aux_text", "aux_name", "aux_code"}:
                problem += " (the auxiliary sentence of PMP goes in pmp_template)"
        else:
            what = {"text": "where the source goes", "aux_text": "where PMP's auxiliary sentence goes"}
            problem = "no " + " and no ".join(f"{{{m}}} placeholder ({what[m]})" for m in missing)
        raise BabelBridgeError(f"{option} {template!r} has {problem}; accepted placeholders: "
                               + ", ".join("{" + p + "}" for p in accepted))
