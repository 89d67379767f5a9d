"""The sacrebleu metrics: chrF++, BLEU and spBLEU, corpus-level, with their signatures.

spBLEU is BLEU on the FLORES-200 sentencepiece pieces (sacrebleu's tokenize="flores200").
sacrebleu looks for that model at $SACREBLEU/models/flores200sacrebleuspm and downloads it
when it is missing, which offline fails deep inside a download. We load it only from a file the
user names (--spm): sacrebleu's own tokenizer class builds it while its model directory points
at a temporary folder holding a link to that file, so the tokenisation and the signature
("tok:flores200") are sacrebleu's, and nothing is fetched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

from ..errors import InputError

# key -> display name; COMET is scored outside sacrebleu (comet.py)
METRICS = {"chrf++": "chrF++", "bleu": "BLEU", "spbleu": "spBLEU", "comet": "COMET"}
SACREBLEU_METRICS = ("chrf++", "bleu", "spbleu")
FLORES200_SPM_URL = "https://tinyurl.com/flores200sacrebleuspm"


def parse_metrics(text: str) -> list[str]:
    """'chrf++,bleu' -> ['chrf++', 'bleu'] (case-insensitive, order kept, duplicates dropped)."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise InputError(f"--metrics {text!r}: unknown metric(s) {', '.join(unknown) or '(none given)'}; "
                         f"accepted: {', '.join(METRICS)} (comma-separated)")
    return list(dict.fromkeys(names))


@contextlib.contextmanager
def _sacrebleu_models_at(spm_path: Path) -> Iterator[None]:
    """Make sacrebleu's flores200 tokenizer find its model at spm_path while it is built."""
    from sacrebleu.tokenizers import tokenizer_spm

    name = os.path.basename(tokenizer_spm.SPM_MODELS["flores200"]["url"])
    with tempfile.TemporaryDirectory(prefix="babelbridge-spm-") as tmp:
        (Path(tmp) / "models").mkdir()
        target = Path(tmp) / "models" / name
        try:
            target.symlink_to(spm_path.resolve())
        except OSError:  # no symlinks on this filesystem
            shutil.copyfile(spm_path, target)
        saved = tokenizer_spm.SACREBLEU_DIR  # read by TokenizerSPM.__init__ at call time
        tokenizer_spm.SACREBLEU_DIR = tmp
        try:
            yield
        finally:
            tokenizer_spm.SACREBLEU_DIR = saved


def spbleu_metric(spm_path: str | os.PathLike | None):
    """sacrebleu BLEU(tokenize="flores200") with its model read from spm_path, never downloaded."""
    from sacrebleu.metrics import BLEU

    if spm_path is None:
        raise InputError(f"spbleu needs --spm PATH, the FLORES-200 sentencepiece model "
                         f"(flores200_sacrebleu_tokenizer_spm.model, {FLORES200_SPM_URL}); sacrebleu "
                         f"would download it, which fails offline: fetch it once where there is network "
                         f"and pass the file")
    path = Path(spm_path).expanduser()
    if not path.is_file():
        raise InputError(f"--spm {spm_path}: no such file (expected the FLORES-200 sentencepiece model, "
                         f"{FLORES200_SPM_URL})")
    import sentencepiece

    try:  # checked on the user's path first, so a bad file's message names that path
        sentencepiece.SentencePieceProcessor(model_file=str(path))
    except (OSError, RuntimeError) as err:
        raise InputError(f"--spm {spm_path} is not a sentencepiece model ({err})") from None
    with _sacrebleu_models_at(path):
        return BLEU(tokenize="flores200")


def sacrebleu_metric(name: str, spm_path: str | os.PathLike | None = None):
    """A fresh sacrebleu Metric for one of SACREBLEU_METRICS."""
    from sacrebleu.metrics import BLEU, CHRF

    if name == "chrf++":
        return CHRF(word_order=2)
    if name == "bleu":
        return BLEU()
    if name == "spbleu":
        return spbleu_metric(spm_path)
    raise InputError(f"{name!r} is not a sacrebleu metric; accepted: {', '.join(SACREBLEU_METRICS)}")


def corpus_score(metric, hypotheses: Sequence[str], references: Sequence[str]) -> float:
    if len(hypotheses) != len(references):
        raise InputError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    return float(metric.corpus_score(list(hypotheses), [list(references)]).score)


def signature(metric) -> str:
    return metric.get_signature().format()
