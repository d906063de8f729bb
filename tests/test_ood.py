"""The out-of-distribution map flags what the models never saw, and little else."""

import numpy as np
import pytest
from edsmaps.demo import DemoSettings, generate_scan
from edsmaps.demo_files import ELEMENTS
from edsmaps.ood import ood_map
from edsmaps.strategies import write_split
from synthetic import write_cache

SETTINGS = DemoSettings(scan_shape=(36, 16), pattern_size=64, n_scans=5, seed=5, descan_px=0.0)
KEPT_ROWS = slice(0, 26)  # the sample's own oxidised band (from row 30 on) is cut away, as the demo's crop does
TRAINING = ["a", "b", "c", "d"]


def cache_of(folder, name, scan):
    rows = scan.composition[KEPT_ROWS].shape[0]
    patterns = scan.patterns.reshape(36, 16, 64, 64)[KEPT_ROWS].reshape(-1, 64, 64) / 65536.0
    eds = np.stack([scan.eds[el][KEPT_ROWS] for el in ELEMENTS], axis=-1).reshape(-1, len(ELEMENTS))
    return write_cache(folder / f"{name}.npz", patterns, eds, scan.haadf[KEPT_ROWS].ravel(), ELEMENTS, (rows, 16),
                       divisor=65536.0)


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """Four labelled scans, then the same area once more at a quarter of the dose: as it is, and
    with an oxidised band across it that the labelled scans never show."""
    folder = tmp_path_factory.mktemp("ood")
    caches = {name: cache_of(folder, name, generate_scan(SETTINGS, i)) for i, name in enumerate(TRAINING)}
    write_split(caches, {"train": ["all"], "test": [], "buffer": 1}, TRAINING, folder / "split.npz")
    like = generate_scan(SETTINGS, 4, dose=0.25)
    band = generate_scan(SETTINGS, 4, dose=0.25, extra_band=(0.25, 0.5))
    truth = {name: generate_scan(SETTINGS, i).composition[KEPT_ROWS] for i, name in enumerate(TRAINING)}
    seen_oxygen = max(t[..., ELEMENTS.index("O")].max() for t in truth.values())
    return folder, caches, cache_of(folder, "like", like), cache_of(folder, "band", band), band, seen_oxygen


def test_a_band_of_a_composition_never_seen_is_flagged(series):
    folder, caches, _, band_cache, band, seen_oxygen = series
    result = ood_map(caches, folder / "split.npz", band_cache, folder / "band_ood.npz")
    oxygen = band.composition[KEPT_ROWS][..., ELEMENTS.index("O")]
    unseen = oxygen > seen_oxygen
    assert unseen.sum() > 40  # the band holds more oxygen than any labelled pixel
    assert result["flagged"][unseen].mean() >= 0.8
    assert result["flagged"][oxygen < seen_oxygen / 2].mean() <= 0.05  # far from the band, nothing new
    with np.load(folder / "band_ood.npz") as written:
        assert written["flagged"].shape == (26, 16) and written["share_flagged"] == pytest.approx(result["flagged"].mean())


def test_a_scan_like_the_training_ones_at_a_quarter_of_the_dose_is_hardly_flagged(series):
    folder, caches, like_cache, _, _, _ = series
    result = ood_map(caches, folder / "split.npz", like_cache, folder / "like_ood.npz")
    assert result["dose_ratio"] == pytest.approx(0.25, rel=0.02)
    assert result["share_flagged"] <= 0.05
    # the bar is set by the validation pixels: about alpha of them lie above it
    assert result["validation_share_flagged"] <= 0.02
