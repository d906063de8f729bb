"""The second demo (tests/tiny_small_config.yaml, a tiny config/demo_small.yaml): uncropped 10 x 8
scans of 128 x 128 patterns whose oxidised region lies inside the scan and reaches its edge. The
workflow must not depend on the first demo's sizes, crop or layout."""

import json

import numpy as np
import pandas as pd
import pytest

TRAINING = {"extrapolate": ["s01"], "interpolate": ["s01", "s03"]}
TESTED = {"extrapolate": ["s02", "s03"], "interpolate": ["s02"]}
ELEMENTS = ["O", "Si", "Ge", "Sb", "Te"]


def test_the_whole_uncropped_scan_is_cached_with_the_oxide_reaching_its_edge(tiny_small_run):
    from edsmaps.caching import load_cache

    for scan in ("s01", "s02", "s03", "s04"):
        cache = load_cache(tiny_small_run / "results" / "cache" / f"{scan}.npz")
        assert tuple(cache["scan_shape"]) == (10, 8) and tuple(cache["crop_origin"]) == (0, 0)
        assert cache["patterns"].shape == (80, 128, 128)
    with np.load(tiny_small_run / "resources" / "demo_small" / "truth" / "s01.npz") as truth:
        oxygen = truth["composition"][..., 0]
    # an oxide gradient inside the scan: little oxygen at the top, oxide along the bottom edge
    assert oxygen[0].mean() < 0.1 and oxygen[-1].mean() > 0.4


@pytest.mark.parametrize("strategy", list(TRAINING))
def test_validation_blocks_and_pixel_counts_on_a_small_scan(tiny_small_run, strategy):
    pixels = pd.read_csv(tiny_small_run / "results" / "tables" / "pixels.tsv", sep="\t")
    mine = pixels[pixels.strategy == strategy].set_index("scan")
    assert sorted(mine.index) == sorted(TRAINING[strategy] + TESTED[strategy])
    assert (mine[["train", "validation", "test", "unused"]].sum(axis=1) == 80).all()
    for scan in TRAINING[strategy]:
        assert mine.loc[scan, "train"] > 0 and mine.loc[scan, "validation"] > 0 and mine.loc[scan, "test"] == 0
    for scan in TESTED[strategy]:
        assert mine.loc[scan, "test"] == 80
    calibration = json.loads(
        (tiny_small_run / "results" / "models" / strategy / "paper" / "calibration.json").read_text()
    )
    assert calibration["n_pixels"] == sum(mine.loc[s, "validation"] for s in TRAINING[strategy])
    for name, record in calibration["outputs"].items():
        assert record["choice"] != "linear" or record["alpha"] > 0, name
        scored = {k: v for k, v in record["cv_mae"].items() if v is not None}
        if scored:  # enough pixels to choose: the choice is never worse than raw or the mean
            assert scored[record["choice"]] == min(scored.values()), name


def test_every_prediction_and_exported_map_is_a_possible_composition(tiny_small_run):
    import mrcfile
    import tifffile

    predictions = sorted((tiny_small_run / "results" / "predictions").glob("*/*/*.npz"))
    # extrapolate and interpolate: paper and 2 baselines on the 3 scans with EDS; deploy: 2 baselines on all 4
    assert len(predictions) == 2 * 3 * 3 + 2 * 4
    for path in predictions:
        with np.load(path) as pred:
            calibrated = pred["predicted_calibrated"]
        assert calibrated.shape == (10, 8, 5), path
        assert calibrated.min() >= 0 and calibrated.sum(axis=-1).max() <= 1 + 1e-5, path
    folder = tiny_small_run / "results" / "predicted_maps" / "s04"
    for element in ELEMENTS:
        for image in (mrcfile.read(folder / f"{element}.mrc"), tifffile.imread(folder / f"{element}.tif")):
            assert image.shape == (10, 8) and 0 <= image.min() and image.max() <= 1, element


def test_tables_score_the_calibrated_cnn_beside_the_constant(tiny_small_run):
    comparison = pd.read_csv(tiny_small_run / "results" / "tables" / "comparison.tsv", sep="\t")
    blurred = comparison[comparison.reference == "eds_blurred"]
    for strategy in TRAINING:
        models = set(blurred.loc[blurred.strategy == strategy, "variant"])
        assert {"paper", "constant", "pca_ridge"} <= models, strategy
        cnn = blurred[(blurred.strategy == strategy) & (blurred.variant == "paper")]
        assert sorted(cnn["output"]) == sorted(ELEMENTS) and np.isfinite(cnn["mae_mean"]).all()
