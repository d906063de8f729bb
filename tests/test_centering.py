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
    assert np.hypot(after_y - 47.5, after_x - 47.5).max() < 0.75
    # Shifting moves counts, it does not create them (little falls off the edge).
    assert abs(centred.sum() / patterns.sum() - 1) < 0.01


def test_shift_has_no_wraparound():
    patterns = np.zeros((1, 1, 16, 16), dtype=np.uint16)
    patterns[0, 0, 0, 0] = 65535  # at the edge: shifting it out must not wrap it in
    patterns[0, 0, 8, 8] = 100
    out = centering.shift_to_centre(patterns, np.array([[9.5]]), np.array([[9.5]]))
    assert out.max() == pytest.approx(100)
    assert out[0, 0, 6, 6] == pytest.approx(100)
    assert out.dtype == np.float32 and patterns[0, 0, 0, 0] == 65535


def test_binning_sums_blocks_without_overflow():
    patterns = np.full((2, 3, 9, 8), 60000, dtype=np.uint16)
    binned = centering.bin_patterns(patterns, 2)
    assert binned.shape == (2, 3, 4, 4) and binned.dtype == np.float32
    assert (binned == 240000).all()
    assert centering.bin_patterns(patterns, 1) is patterns


def test_central_beam_mask_is_a_centred_disk():
    mask = centering.central_beam_mask((9, 9), 1.0)
    assert mask.sum() == 5 and mask[4, 4] and mask[3, 4] and not mask[3, 3]
