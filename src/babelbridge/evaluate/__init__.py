"""Evaluation (DESIGN.md layer 6): sacrebleu chrF++/BLEU/spBLEU, COMET in its own Python,
source-blind floors, paired bootstrap against a baseline, a translation cache, and reports
(markdown, CSV, JSON, charts)."""

from .cache import TranslationCache
from .comet import CometError, CometScorer
from .floor import deranged
from .metrics import METRICS, parse_metrics
from .report import Cell, Report, build_report
from .runner import Evaluation, System, evaluate, score_all, translate_all
from .testsets import TestSet, load_testsets, parse_testset, testsets_from_corpus
from .writer import write_results

__all__ = [
    "METRICS", "Cell", "CometError", "CometScorer", "Evaluation", "Report", "System", "TestSet",
    "TranslationCache", "build_report", "deranged", "evaluate", "load_testsets", "parse_metrics",
    "parse_testset", "score_all", "testsets_from_corpus", "translate_all", "write_results",
]
