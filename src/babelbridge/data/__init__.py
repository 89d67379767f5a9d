"""Parallel corpora: read them (TSV, JSONL, paired text, FLORES-200), filter, mix and write them."""

from babelbridge.data.corpus import Corpus, ReadReport
from babelbridge.data.errors import DataError
from babelbridge.data.export import WRITE_FORMATS, write_pairs
from babelbridge.data.filtering import OVERLONG_POLICIES, OverlongReport, filter_overlong
from babelbridge.data.mixing import MIX_MODES, mix_corpora
from babelbridge.data.reader import EMPTY_POLICIES, read_corpus
from babelbridge.data.spec import FORMATS, SPLITS, CorpusSpec

__all__ = [
    "EMPTY_POLICIES",
    "FORMATS",
    "MIX_MODES",
    "OVERLONG_POLICIES",
    "SPLITS",
    "WRITE_FORMATS",
    "Corpus",
    "CorpusSpec",
    "DataError",
    "OverlongReport",
    "ReadReport",
    "filter_overlong",
    "mix_corpora",
    "read_corpus",
    "write_pairs",
]
