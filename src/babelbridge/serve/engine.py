"""What the model worker does with a Bridge: measure a request, translate a group.

Only the batcher's worker thread calls measure() and run(), so the tokenizers and the model
are never used from two threads at once.
"""

from __future__ import annotations

import threading

from ..errors import InputError
from ..languages import all_languages
from .batcher import GroupKey
from .errors import RequestError


class BridgeEngine:
    def __init__(self, bridge, *, batch_size: int = 16):
        self.bridge = bridge
        self.batch_size = batch_size  # texts per generate call when one request alone exceeds it
        encoder = getattr(bridge, "encoder", None)
        self._token_ids = getattr(encoder, "token_ids", None)
        # The same limit FrozenEncoder.tokenize applies (and `babelbridge translate` checks).
        configured = getattr(getattr(bridge, "config", None), "max_source_tokens", None)
        encoder_max = getattr(encoder, "max_length", None)
        self.source_limit = min(configured or encoder_max, encoder_max) if encoder_max else configured
        self._languages: list[str] | None = None
        self._languages_lock = threading.Lock()

    def measure(self, texts: list[str], src_lang: str) -> int:
        """Source tokens of one request; a text over the bridge's source limit fails the request."""
        if self._token_ids is None:  # a bridge without an encoder interface: characters stand in
            return sum(len(t) for t in texts)
        counts = [len(self._token_ids(t, src_lang)) for t in texts]
        if self.source_limit:
            over = [(i, n) for i, n in enumerate(counts) if n > self.source_limit]
            if over:
                shown = ", ".join(f"{i} ({n} tokens)" for i, n in over[:10])
                raise RequestError(413, "text_too_long",
                                   f"text at index {shown}: over the bridge's limit of {self.source_limit} source tokens; "
                                   f"accepted: texts of at most {self.source_limit} tokens (split longer ones)",
                                   limit_tokens=self.source_limit, indexes=[i for i, _ in over])
        return sum(counts)

    def run(self, texts: list[str], key: GroupKey) -> list:
        """One translation per text: a string for one target language, {language: text} (in the
        key's order) for several, which Bridge.translate_multi serves in one call (XBridge: one
        LLM pass decoded into every language)."""
        generation = {"batch_size": self.batch_size, "num_beams": key.num_beams,
                      "max_new_tokens": key.max_new_tokens}
        if len(key.tgt_langs) == 1:
            return self.bridge.translate(texts, key.src_lang, key.tgt_langs[0], **generation)
        by_lang = self.bridge.translate_multi(texts, key.src_lang, list(key.tgt_langs), **generation)
        missing = [lang for lang in key.tgt_langs if len(by_lang.get(lang, ())) != len(texts)]
        if missing:
            raise RuntimeError(f"translate_multi returned no full set of translations into {', '.join(missing)}")
        return [{lang: by_lang[lang][i] for lang in key.tgt_langs} for i in range(len(texts))]

    def source_languages(self) -> list[str]:
        """Codes the encoder can read: all of them, except where it needs a language token it lacks."""
        with self._languages_lock:
            if self._languages is None:
                check = getattr(self.bridge.encoder, "language_token_id", None)
                self._languages = [lang.code for lang in all_languages() if check is None or _reads(check, lang.code)]
            return self._languages

    def describe(self) -> dict:
        bridge = self.bridge
        return {
            "method": bridge.method,
            "backbones": {role: {"spec": ident.get("spec"), "fingerprint": ident.get("fingerprint")}
                          for role, ident in bridge.backbone_identities().items()},
            "parameters": bridge.parameter_counts(),
        }


def _reads(language_token_id, code: str) -> bool:
    try:
        language_token_id(code)
    except InputError:
        return False
    return True
