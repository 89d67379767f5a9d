"""The source-blind floor: how well a system's output matches references it was NOT asked for.

A fluent, on-topic output scores well above zero against any reference of the same domain
(the Bible most of all: every verse shares its vocabulary). Scoring hypothesis i against the
reference of segment (i + n//2) mod n, a fixed derangement, measures that floor; the gap
(score - floor) is what the source actually contributed.
"""

from ..data.derangement import derangement_shift, deranged

__all__ = ["derangement_shift", "deranged"]
