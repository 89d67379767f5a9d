"""The NMT model alone (NLLB-200, M2M100): XBridge's own translation model as a baseline row
(the paper's "NLLB-200-1.3B"), so eval compares XBridge with it on the same test set.

    source -> NMT encoder -> NMT decoder, the target language token forced first

No LLM and nothing to train: its checkpoint is bridge.json and an empty bridge.safetensors
(nmt/save.py, `babelbridge baseline nmt`), usable wherever --bridge DIR is.
"""

from __future__ import annotations

from ...backbones import FrozenNMT
from ...errors import InputError
from ..base import Bridge
from .config import NMTConfig


class NMTBridge(Bridge):
    method = "nmt"
    config_class = NMTConfig
    uses_decoder = False
    trains = False

    def __init__(self, encoder: FrozenNMT, decoder: None, config: NMTConfig):
        if not isinstance(encoder, FrozenNMT):
            raise InputError(f"the nmt baseline needs a translation model with both halves (NLLB-200, M2M100); "
                             f"{encoder.spec} was loaded as an encoder only")
        super().__init__(encoder, None, config)

    @classmethod
    def needs_nmt_decoder(cls, config: dict) -> bool:
        return True

    def target_token_count(self, text: str) -> int:
        return len(self.encoder.tokenizer(text, add_special_tokens=False)["input_ids"]) + 2  # lang + eos

    def generate_batch(self, texts: list[str], src_lang: str, tgt_lang: str, *, num_beams: int = 1,
                       max_new_tokens: int = 128, min_new_tokens: int = 0, truncate: bool = False) -> list[str]:
        if min_new_tokens:
            raise InputError("the nmt baseline does not take min_new_tokens")
        source = self.encoder.tokenize(texts, [src_lang] * len(texts), max_length=self.config.max_source_tokens,
                                       truncate=truncate)
        rows = self.encoder.translate_ids(source["input_ids"], source["attention_mask"], tgt_lang,
                                          num_beams=num_beams, max_new_tokens=max_new_tokens)
        return self.encoder.decode_text(rows)
