"""Parallel corpora: read them (TSV, JSONL, paired text, FLORES-200, the Bible), build multi-way
directions, filter, mix, downsample and write them."""

from babelbridge.data.corpus import Corpus, ReadReport
from babelbridge.data.downsample import DownsampleSpec, downsample, target_repetition
from babelbridge.data.errors import DataError
from babelbridge.data.export import WRITE_FORMATS, write_pairs
from babelbridge.data.filtering import OVERLONG_POLICIES, OverlongReport, filter_overlong
from babelbridge.data.mixing import MIX_MODES, mix_corpora
from babelbridge.data.multiway import MultiwaySpec, build_multiway
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
    "DownsampleSpec",
    "MultiwaySpec",
    "OverlongReport",
    "ReadReport",
    "build_multiway",
    "downsample",
    "filter_overlong",
    "mix_corpora",
    "read_corpus",
    "target_repetition",
    "write_pairs",
]
