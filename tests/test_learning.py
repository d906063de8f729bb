"""On the demo data the CNN must learn chemistry: it beats a constant predictor on test pixels."""

import numpy as np
import pytest

from edsmaps.caching import CacheSettings, build_cache
from edsmaps.conversion import Calibration, ConversionSettings, convert_scan
from edsmaps.demo import ELEMENTS, DemoSettings, generate_scan, write_scan
from edsmaps.model import ModelSettings
from edsmaps.prediction import calibrate_and_predict
from edsmaps.strategies import TEST, TRAIN, write_split
from edsmaps.training import TrainingSettings, train_variant

TARGETS = ["O", "Si", "Ge", "Sb", "Te"]


@pytest.fixture(scope="module")
def single_strategy_predictions(tmp_path_factory):
    d = tmp_path_factory.mktemp("learning")
    shape = (36, 24)
    demo = DemoSettings(scan_shape=shape, pattern_size=96, n_scans=6, seed=7)
    eds = {el: d / f"{el}.mrc" for el in ELEMENTS}
    write_scan(generate_scan(demo, 0), d / "diff.mrc", eds, d / "haadf.mrc", d / "truth.npz")
    convert_scan(d / "diff.mrc", d / "haadf.mrc", shape, Calibration(1.0, "nm", 1.0, "pixels"), ConversionSettings(),
                 d / "conv.h5", d / "o.json", d / "v.npz", d / "s.json")
    build_cache(d / "conv.h5", TARGETS, {el: eds[el] for el in TARGETS}, d / "haadf.mrc", shape, "fraction", CacheSettings(),
                d / "cache.npz")
    caches = {"0033": d / "cache.npz"}
    write_split(caches, {"train": ["first"], "test": ["first"]}, ["0033", "0034"], d / "split.npz")
    settings = TrainingSettings(epochs=12, restore_best_weights=True, seed=42)
    train_variant(caches, d / "split.npz", settings, ModelSettings(batch_norm_momentum=0.9), d / "m.keras",
                  d / "h.csv", d / "scaling.json", d / "manifest.json", threads=2)
    backend = {"backend": "tensorflow", "seed": 42, "threads": 2}
    calibrate_and_predict(d / "m.keras", d / "scaling.json", d / "split.npz", ["0033"], caches, d / "cal.json",
                          {"0033": d / "pred.npz"}, 256, backend)
    with np.load(d / "pred.npz") as pred:
        return {k: pred[k] for k in pred.files}


def test_cnn_beats_a_constant_predictor_on_test_pixels(single_strategy_predictions):
    pred = single_strategy_predictions
    test, train = pred["role"] == TEST, pred["role"] == TRAIN
    pearson, gain = {}, {}
    for i, element in enumerate(TARGETS):
        truth = pred["eds_blurred"][..., i]
        pearson[element] = np.corrcoef(truth[test], pred["predicted_calibrated"][..., i][test])[0, 1]
        constant_mae = np.abs(truth[test] - truth[train].mean()).mean()
        gain[element] = constant_mae - np.abs(truth[test] - pred["predicted_calibrated"][..., i][test]).mean()
    best = sorted(pearson, key=pearson.get)[-2:]
    # A constant predictor has r = 0; the two best-predicted elements must clearly correlate.
    assert min(pearson[e] for e in best) > 0.35, pearson
    assert all(gain[e] > 0 for e in best), gain
