import numpy as np
import pytest

from edsmaps.demo import ELEMENTS, DemoSettings, generate_scan, write_scan

SETTINGS = DemoSettings(scan_shape=(20, 12), pattern_size=64, n_scans=6, seed=3)


@pytest.fixture(scope="module")
def first_and_last():
    return generate_scan(SETTINGS, 0), generate_scan(SETTINGS, 5)


def test_shapes_and_dtypes(first_and_last):
    scan, _ = first_and_last
    assert scan.patterns.shape == (240, 64, 64) and scan.patterns.dtype == np.uint16
    for element in ELEMENTS:
        assert scan.eds[element].shape == (20, 12) and scan.eds[element].dtype == np.float32
    assert scan.haadf.shape == (20, 12)
    assert scan.composition.shape == (20, 12, len(ELEMENTS))


def test_fractions_sum_to_one(first_and_last):
    scan, _ = first_and_last
    np.testing.assert_allclose(scan.composition.sum(axis=-1), 1.0, atol=1e-5)
    eds_sum = sum(scan.eds[el] for el in ELEMENTS)
    np.testing.assert_allclose(eds_sum, 1.0, atol=1e-5)
    assert (scan.composition >= 0).all()


def test_dose_and_noise(first_and_last):
    scan, _ = first_and_last
    totals = scan.patterns.reshape(len(scan.patterns), -1).sum(axis=1)
    assert abs(totals.mean() / SETTINGS.electrons_per_pattern - 1) < 0.01
    # Poisson: EDS maps are grainy, i.e. differ from the noise-free composition.
    assert np.abs(scan.eds["Te"] - scan.composition[..., 4]).mean() > 0.01


def test_descan_moves_the_origin_by_pixels(first_and_last):
    scan, _ = first_and_last
    for axis in range(2):
        span = np.ptp(scan.origin[..., axis])
        assert 1.0 < span <= 2 * SETTINGS.descan_px
    # The central disk follows the descan: brightest region's centre of mass moves.
    patterns = scan.patterns.reshape(20, 12, 64, 64).astype(float)
    corner_a, corner_b = patterns[0, 0], patterns[-1, -1]
    yy = np.arange(64)
    com = [((p > p.max() / 2) * yy[:, None]).sum() / (p > p.max() / 2).sum() for p in (corner_a, corner_b)]
    true_shift = scan.origin[-1, -1, 0] - scan.origin[0, 0, 0]
    assert abs((com[1] - com[0]) - true_shift) < 1.0


def test_series_crystallises_and_drifts(first_and_last):
    first, last = first_and_last
    assert last.crystallinity.mean() > first.crystallinity.mean() + 0.05
    te = ELEMENTS.index("Te")
    assert last.composition[..., te].mean() < first.composition[..., te].mean()
    # The oxidised band sits at the bottom rows.
    o = ELEMENTS.index("O")
    assert first.composition[-2:, :, o].mean() > 3 * first.composition[5:10, :, o].mean()


def test_haadf_follows_thickness_and_z(first_and_last):
    scan, _ = first_and_last
    z = np.array([8, 14, 32, 51, 52, 79]) ** 1.7
    expected = scan.thickness * (scan.composition @ z)
    assert np.corrcoef(expected.ravel(), scan.haadf.ravel())[0, 1] > 0.95


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    small = DemoSettings(scan_shape=(6, 5), pattern_size=48, n_scans=3, seed=9)
    paths = []
    for run in ("a", "b"):
        d = tmp_path / run
        write_scan(
            generate_scan(small, 1),
            d / "diff.mrc",
            {el: d / f"{el}.mrc" for el in ELEMENTS},
            d / "haadf.mrc",
            d / "truth.npz",
        )
        paths.append(d)
    for name in ["diff.mrc", "haadf.mrc", "truth.npz"] + [f"{el}.mrc" for el in ELEMENTS]:
        assert (paths[0] / name).read_bytes() == (paths[1] / name).read_bytes(), name
    other = generate_scan(DemoSettings(scan_shape=(6, 5), pattern_size=48, n_scans=3, seed=10), 1)
    assert not np.array_equal(other.patterns, generate_scan(small, 1).patterns)


def test_scan_index_is_checked():
    with pytest.raises(ValueError, match="scan_index 6"):
        generate_scan(SETTINGS, 6)
