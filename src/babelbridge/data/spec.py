"""What to read: one parallel corpus, described as data so configs can list several."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from ..languages import UnknownLanguageError, normalize_language
from .errors import DataError

FORMATS = ("tsv", "jsonl", "text", "flores")
SPLITS = ("devtest", "dev")


@dataclass(frozen=True)
class CorpusSpec:
    """One parallel corpus.

    format: "tsv" (src<TAB>tgt), "jsonl" ({"src", "tgt", optional "src_lang"/"tgt_lang"}),
        "text" (``path`` and ``tgt_path``: one sentence per line, aligned by line) or
        "flores" (``path`` is a FLORES-200 directory holding dev/ and devtest/).
    src_lang/tgt_lang: any alias `normalize_language` accepts; stored as FLORES-200 codes.
        Only "jsonl" may leave them unset, and then every line must carry its own.
    weight: relative sampling weight, used by the "weighted" mixture only.
    limit: keep at most this many (non-empty) pairs, reading stops there.
    """

    format: str
    path: Path
    tgt_path: Path | None = None
    src_lang: str | None = None
    tgt_lang: str | None = "eng_Latn"
    split: str = "devtest"
    weight: float = 1.0
    limit: int | None = None

    def __post_init__(self):
        # Frozen, so derived values go in through object.__setattr__.
        def put(name, value):
            object.__setattr__(self, name, value)

        if self.format not in FORMATS:
            raise DataError(f"unknown corpus format {self.format!r}; expected one of: {', '.join(FORMATS)}")
        put("path", Path(self.path).expanduser())
        if self.format == "text":
            if self.tgt_path is None:
                raise DataError(f"format 'text' needs tgt_path (the target file paired with {self.path})")
            put("tgt_path", Path(self.tgt_path).expanduser())
        elif self.tgt_path is not None:
            raise DataError(f"tgt_path is only used by format 'text', not {self.format!r}")
        if self.split not in SPLITS:
            raise DataError(f"unknown FLORES split {self.split!r}; expected one of: {', '.join(SPLITS)}")
        for side in ("src_lang", "tgt_lang"):
            code = getattr(self, side)
            if code is None:
                if self.format != "jsonl":  # only JSONL lines can name their own languages
                    raise DataError(f"format {self.format!r} needs {side} (corpus {self.path})")
                continue
            try:
                put(side, normalize_language(code))
            except UnknownLanguageError as err:
                raise DataError(f"corpus {self.path}: {side}: {err}") from err
        weight = self.weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight <= 0:
            raise DataError(f"corpus {self.path}: weight must be a positive number, got {weight!r}")
        put("weight", float(weight))
        limit = self.limit
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise DataError(f"corpus {self.path}: limit must be a positive integer or None, got {limit!r}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CorpusSpec:
        """Build a spec from a config mapping; unknown or missing keys are errors that list the valid ones."""
        if not isinstance(d, Mapping):
            raise DataError(f"a corpus entry must be a mapping, got {type(d).__name__}")
        accepted = [f.name for f in fields(cls)]
        unknown = [k for k in d if k not in accepted]
        if unknown:
            raise DataError(f"unknown corpus key(s): {', '.join(map(str, unknown))}; "
                            f"accepted keys: {', '.join(accepted)}")
        missing = [k for k in ("format", "path") if k not in d]
        if missing:
            raise DataError(f"corpus entry is missing required key(s): {', '.join(missing)}; "
                            f"accepted keys: {', '.join(accepted)}")
        return cls(**d)
