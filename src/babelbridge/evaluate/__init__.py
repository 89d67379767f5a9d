"""Evaluation (DESIGN.md layer 6): sacrebleu chrF++/BLEU/spBLEU, COMET in its own Python,
source-blind floors, paired bootstrap against a baseline, a translation cache, and reports
(markdown, CSV, JSON, charts); any-to-any directions as matrices with off-target rates.

Names are imported on first use: the CLI reads constants from submodules while it validates
arguments, and that must not import torch (a typo fails in a fraction of a second).
"""

from importlib import import_module

_WHERE = {
    "TranslationCache": "cache", "CometError": "comet", "CometScorer": "comet", "deranged": "floor",
    "METRICS": "metrics", "parse_metrics": "metrics", "Cell": "report", "Report": "report",
    "build_report": "report", "Evaluation": "runner", "System": "runner", "evaluate": "runner",
    "score_all": "runner", "translate_all": "runner", "TestSet": "testsets", "load_testsets": "testsets",
    "parse_testset": "testsets", "testsets_from_corpus": "testsets", "write_results": "writer",
    "Direction": "any_to_any", "DirectionsReport": "any_to_any", "build_directions_report": "any_to_any",
    "evaluate_directions": "any_to_any", "parse_directions": "any_to_any", "score_directions": "any_to_any",
    "load_direction_testsets": "testsets", "write_directions_results": "writer",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
