"""Which of the bridge's source languages is a text in? (LibreTranslate's source "auto" and /detect.)

py3langid, the identifier evaluate/langid.py already uses, here with probabilities and
restricted to the languages the encoder reads, so that a detected language can always be
translated. It cannot tell scripts apart: its "zh" is the registry's zho_Hans, as
LibreTranslate's "zh" is Simplified. Languages it has no label for (81 of the 202) are never
detected: clients name them as the source.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from ..languages import UnknownLanguageError, normalize_language


class SourceDetector:
    def __init__(self, source_languages: Iterable[str]):
        """Loads the model (about a second): call it off the event loop."""
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        readable = set(source_languages)
        self._flores: dict[str, str] = {}  # py3langid label -> FLORES code
        model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        for label in model.nb_classes:
            try:
                code = normalize_language(label)
            except UnknownLanguageError:
                continue  # not a FLORES-200 language
            if code in readable:
                self._flores[label] = code
        if self._flores:
            model.set_languages(sorted(self._flores))  # probabilities over these only
        self._model = model if self._flores else None

    @property
    def languages(self) -> set[str]:
        """The FLORES codes it can answer."""
        return set(self._flores.values())

    def detect(self, text: str, n: int = 3) -> list[tuple[str, float]]:
        """The n likeliest languages, best first, as (FLORES code, probability); [] for a text
        without letters (nothing to go by) or when none of the bridge's languages is detectable."""
        if self._model is None or not any(ch.isalpha() for ch in text):
            return []
        by_code: dict[str, float] = defaultdict(float)
        for label, p in self._model.rank(text):
            by_code[self._flores[label]] += p  # two labels can name one language: "no", "nb"
        return sorted(by_code.items(), key=lambda item: item[1], reverse=True)[:n]
