import numpy as np
import pytest

from edsmaps import centering
from edsmaps.demo import DemoSettings, generate_scan

SETTINGS = DemoSettings(scan_shape=(16, 10), pattern_size=96, n_scans=6, seed=5)


@pytest.fixture(scope="module")
def raw_scan():
    scan = generate_scan(SETTINGS, 3)
    return scan, scan.patterns.reshape(16, 10, 96, 96)


@pytest.fixture(scope="module")
def probe_radius(raw_scan):
    from py4DSTEM.process.calibration import get_probe_size

    return get_probe_size(raw_scan[1].mean(axis=(0, 1)))[0]


def test_origins_match_truth_and_py4dstem(raw_scan, probe_radius):
    import py4DSTEM
    from py4DSTEM.process.calibration import get_origin

    scan, patterns = raw_scan
    qy0, qx0 = centering.find_origins(patterns, probe_radius)
    centre = (96 - 1) / 2
    assert np.abs(qy0 - (centre + scan.origin[..., 0])).max() < 0.35
    assert np.abs(qx0 - (centre + scan.origin[..., 1])).max() < 0.35
    # py4DSTEM names the first detector axis x.
    ref_x, ref_y = get_origin(py4DSTEM.DataCube(data=patterns.astype(np.float32)), r=probe_radius)[:2]
    assert np.abs(qy0 - ref_x).mean() < 0.25 and np.abs(qy0 - ref_x).max() < 0.6
    assert np.abs(qx0 - ref_y).mean() < 0.25 and np.abs(qx0 - ref_y).max() < 0.6


def test_centering_removes_the_descan(raw_scan, probe_radius):
    _, patterns = raw_scan
    qy0, qx0 = centering.find_origins(patterns, probe_radius)
    assert np.std(qy0) > 0.5 or np.std(qx0) > 0.5
    fit_y, fit_x, residual = centering.fit_origins(qy0, qx0)
    assert residual < 0.5
    centred = centering.shift_to_centre(patterns, fit_y, fit_x)
    assert centred.dtype == np.float32 and centred.shape == patterns.shape
    after_y, after_x = centering.find_origins(centred, probe_radius)
    assert np.std(after_y) < 0.5 and np.std(after_x) < 0.5
    assert np.hypot(after_y - 48, after_x - 48).max() < 0.75  # the centre pixel, 96 // 2
    # Shifting moves counts; little falls off the edge, and the sub-pixel interpolation's ringing
    # below zero, clipped, adds a little where counts are sparse.
    assert abs(centred.sum() / patterns.sum() - 1) < 0.03


def test_shift_has_no_wraparound():
    patterns = np.zeros((1, 1, 16, 16), dtype=np.uint16)
    patterns[0, 0, 0, 0] = 65535  # at the edge: shifting it out must not wrap it in
    patterns[0, 0, 9, 9] = 100
    out = centering.shift_to_centre(patterns, np.array([[10.0]]), np.array([[10.0]]))  # two whole pixels
    assert out.max() == 100 and out[0, 0, 7, 7] == 100 and out.sum() == 100
    assert out.dtype == np.float32 and patterns[0, 0, 0, 0] == 65535
    out = centering.shift_to_centre(patterns, np.array([[10.3]]), np.array([[9.6]]))  # and a sub-pixel part
    assert out[0, 0, :3, :3].max() < 1 and out[0, 0, -3:, -3:].max() < 1


def disk(shape, centre, radius=4.0, counts=1e5):
    """A bright-field disk at ``centre`` whose edge rises over about a pixel, as the demo's."""
    y, x = np.indices(shape)
    r = np.hypot(y - centre[0], x - centre[1])
    return counts / (1 + np.exp((r - radius) / 0.5))


def test_the_centre_is_a_pixel_and_a_pattern_already_on_it_comes_back_unchanged():
    assert centering.detector_centre((128, 128)) == (64, 64) and centering.detector_centre((95, 96)) == (47, 48)
    pattern = np.random.default_rng(0).poisson(disk((128, 128), (64, 64)) / 100).astype(np.uint16)
    out = centering.shift_to_centre(pattern[None, None], np.array([[64.0]]), np.array([[64.0]]))
    np.testing.assert_array_equal(out[0, 0], pattern.astype(np.float32))


def test_a_sub_pixel_descan_is_removed_without_widening_the_probe():
    from py4DSTEM.process.calibration import get_probe_size

    shape, origin = (96, 96), (48.3, 47.6)
    shifted = centering.shift_to_centre(disk(shape, origin)[None, None], np.array([[origin[0]]]),
                                        np.array([[origin[1]]]))[0, 0]  # fmt: skip
    reference = disk(shape, (48, 48))
    radius, cy, cx = get_probe_size(reference)[:3]
    radius_shifted, sy, sx = get_probe_size(shifted)[:3]
    assert abs(radius_shifted / radius - 1) < 0.05
    assert abs(sy - cy) < 0.05 and abs(sx - cx) < 0.05
    assert abs(shifted.sum() / reference.sum() - 1) < 0.01
    # the difference to the disk drawn at the centre is the edge's interpolation, not a blur
    assert np.abs(shifted - reference).max() < 0.05 * reference.max()
    # bilinear interpolation, as before, averages neighbours: its disk is further from the one drawn there
    import cv2

    matrix = np.float32([[1, 0, 48 - origin[1]], [0, 1, 48 - origin[0]]])
    bilinear = cv2.warpAffine(disk(shape, origin).astype(np.float32), matrix, shape, flags=cv2.INTER_LINEAR)
    assert np.abs(bilinear - reference).max() > 2 * np.abs(shifted - reference).max()


def test_binning_sums_blocks_without_overflow():
    patterns = np.full((2, 3, 9, 8), 60000, dtype=np.uint16)
    binned = centering.bin_patterns(patterns, 2)
    assert binned.shape == (2, 3, 4, 4) and binned.dtype == np.float32
    assert (binned == 240000).all()
    assert centering.bin_patterns(patterns, 1) is patterns


def test_central_beam_mask_is_a_centred_disk():
    mask = centering.central_beam_mask((9, 9), 1.0)
    assert mask.sum() == 5 and mask[4, 4] and mask[3, 4] and not mask[3, 3]
