import cv2
import numpy as np
import pytest
from scipy.ndimage import median_filter

from edsmaps.blur import blur_map

RNG = np.random.default_rng(0)
IMAGE = RNG.random((23, 17)).astype(np.float32)


def test_gaussian_is_the_papers_cv2_call():
    np.testing.assert_array_equal(blur_map(IMAGE, "gaussian", 7), cv2.GaussianBlur(IMAGE, (7, 7), 0))


def test_mean_and_bilateral_match_cv2():
    np.testing.assert_array_equal(blur_map(IMAGE, "mean", 7), cv2.blur(IMAGE, (7, 7)))
    np.testing.assert_array_equal(blur_map(IMAGE, "bilateral", 9), cv2.bilateralFilter(IMAGE, 9, 75, 75))


def test_median_matches_cv2_for_every_kernel():
    np.testing.assert_array_equal(blur_map(IMAGE, "median", 5), cv2.medianBlur(IMAGE, 5))
    # OpenCV takes only 8-bit images for kernels above 5: compare on integer-valued maps.
    levels = RNG.integers(0, 255, size=(23, 17)).astype(np.uint8)
    ours = blur_map(levels.astype(np.float32), "median", 7)
    np.testing.assert_array_equal(ours, cv2.medianBlur(levels, 7).astype(np.float32))
    np.testing.assert_array_equal(ours, median_filter(levels, size=7, mode="nearest"))


def test_none_copies_and_unknown_method_is_refused():
    out = blur_map(IMAGE, "none")
    np.testing.assert_array_equal(out, IMAGE)
    assert out is not IMAGE
    with pytest.raises(ValueError, match="unknown blur method 'box'"):
        blur_map(IMAGE, "box")
