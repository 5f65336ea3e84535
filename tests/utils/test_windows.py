"""ecgsk.utils.windows: sliding windows that cover a record and blend back without steps."""

import numpy as np
import pytest

from ecgsk.utils.windows import blend_weights, extract_windows, overlap_add, window_starts


def test_windows_helpers_cover_and_blend():
    starts = window_starts(1000, 128, 50)
    assert starts[0] == 0 and starts[-1] == 1000 - 128 and np.all(np.diff(starts) <= 50)
    shifted = window_starts(1000, 128, 50, offset=17)
    assert shifted[0] == 0 and shifted[1] == 17 and shifted[-1] == 1000 - 128
    with pytest.raises(ValueError):
        window_starts(100, 128, 50)
    X = np.arange(2000, dtype=np.float32).reshape(2, 1, 1000)
    windows = extract_windows(X, 128, starts)
    np.testing.assert_array_equal(windows[1, 3, 0], X[1, 0, starts[3]:starts[3] + 128])
    np.testing.assert_allclose(overlap_add(windows, starts, 1000), X, rtol=1e-6)
    # Windows that disagree by a constant offset blend without a step.
    offsets = windows + np.arange(len(starts))[None, :, None, None].astype(np.float32)
    blended = overlap_add(offsets - windows, starts, 1000)[0, 0]
    assert np.abs(np.diff(blended)).max() < 0.1
    assert (blend_weights(128) > 0).all()
