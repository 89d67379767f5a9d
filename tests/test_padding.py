"""padding.left_pad with a fixed width (several batches padded alike, e.g. a benchmark's systems)."""

import pytest

from babelbridge.padding import left_pad


def test_left_pad_to_a_given_width():
    ids, mask = left_pad([[5, 6], [7]], pad_id=0, width=4)
    assert ids.tolist() == [[0, 0, 5, 6], [0, 0, 0, 7]]
    assert mask.tolist() == [[0, 0, 1, 1], [0, 0, 0, 1]]
    ids, _ = left_pad([[5, 6], [7]], pad_id=0)
    assert ids.tolist() == [[5, 6], [0, 7]]
    with pytest.raises(ValueError, match=r"width 1 is shorter than the longest row \(2 tokens\)"):
        left_pad([[5, 6]], pad_id=0, width=1)
