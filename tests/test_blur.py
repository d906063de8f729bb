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


@pytest.mark.parametrize("method", ["gaussian", "mean", "median", "bilateral"])
def test_the_support_of_a_prior_gives_the_chosen_pixels_blurred_values_exactly(method):
    from edsmaps.blur import blur_pixel_values, prior_support

    shape = (14, 11)
    values = np.random.default_rng(0).uniform(size=(shape[0] * shape[1], 2))
    chosen = np.zeros(len(values), dtype=bool)
    chosen[[0, 20, 75, 153]] = True  # corners and edges: the reflected border stays inside the window
    support = prior_support(chosen, shape, [("none", 1), (method, 5)])
    assert support[chosen].all() and support.sum() < len(values)
    partial = np.where(support[:, None], values, 0.0)
    np.testing.assert_array_equal(blur_pixel_values(partial, shape, method, 5)[chosen],
                                  blur_pixel_values(values, shape, method, 5)[chosen])
