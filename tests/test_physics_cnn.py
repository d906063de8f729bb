"""The physics-respecting CNN settings: augmented training batches, and a small pooled CNN that
learns a rotation-invariant relation from training pixels only."""

import numpy as np
import pytest
from synthetic import write_cache

from edsmaps.augmentation import dihedral
from edsmaps.backend import setup_backend
from edsmaps.model import ModelSettings
from edsmaps.strategies import TEST, TRAIN, load_roles, write_split
from edsmaps.training import TrainingSettings, train_variant

SCAN_SHAPE = (20, 20)
SIZE = 32


def synthetic_patterns(n, rng):
    """A ring whose radius is the target, an off-centre spot at a random angle (a grain: the
    pattern is not rotation invariant) and Poisson noise; target [t, 1 - t]."""
    t = rng.uniform(0, 1, n)
    yy, xx = np.mgrid[:SIZE, :SIZE] - SIZE / 2
    radius = np.hypot(yy, xx)
    angle = rng.uniform(0, np.pi / 2, n)  # grains of one orientation: rotations are new to the model
    spot_y, spot_x = 9 * np.sin(angle), 9 * np.cos(angle)
    rate = (
        40 * np.exp(-((radius[None] - (5 + 7 * t[:, None, None])) ** 2) / 2)
        + 60 * np.exp(-((yy[None] - spot_y[:, None, None]) ** 2 + (xx[None] - spot_x[:, None, None]) ** 2) / 2)
        + 2
    )
    return rng.poisson(rate).astype(np.float16), np.column_stack([t, 1 - t]).astype(np.float32)


@pytest.fixture(scope="module")
def batches_module():
    setup_backend("tensorflow", None, 0, False, False)
    from edsmaps import data

    return data


def test_training_batches_are_rotated_and_mirrored_copies_and_reproducible(batches_module):
    rng = np.random.default_rng(1)
    patterns, _ = synthetic_patterns(16, rng)
    index = np.column_stack([np.zeros(16, int), np.arange(16)])
    scaling = {"method": "paper", "divisor": 65536.0}

    def batch(**augment):
        batches = batches_module.PatternBatches([patterns], index, None, scaling, 16, seed=3, **augment)
        return batches[0][0][..., 0].astype(np.float32)

    plain, rotated = batch(), batch(dihedral=True)
    assert not np.array_equal(plain, rotated)
    for i in range(16):
        assert any(np.array_equal(rotated[i], t) for t in dihedral(np.repeat(plain[i][None], 8, 0), np.arange(8)))
    np.testing.assert_array_equal(rotated, batch(dihedral=True))  # drawn from (seed, epoch, batch)
    thinned = batch(min_dose_fraction=0.2)
    assert not np.array_equal(plain, thinned)
    np.testing.assert_allclose(thinned.mean(), plain.mean(), rtol=0.05)


@pytest.fixture(scope="module")
def physics_cnn(tmp_path_factory):
    d = tmp_path_factory.mktemp("physics_cnn")
    rng = np.random.default_rng(0)
    patterns, targets = synthetic_patterns(SCAN_SHAPE[0] * SCAN_SHAPE[1], rng)
    probe = write_cache(d / "probe.npz", patterns, targets, np.ones(len(targets)), ["A", "B"], SCAN_SHAPE)
    write_split({"s": probe}, {"train": ["first"], "test": ["first"]}, ["s"], d / "split.npz")
    test = load_roles(d / "split.npz")["s"].ravel() == TEST
    hidden = targets.copy()
    hidden[test] = np.nan  # the model may not read a test pixel's label
    cache = write_cache(d / "s.npz", patterns, hidden, np.ones(len(targets)), ["A", "B"], SCAN_SHAPE)
    settings = TrainingSettings(epochs=40, patience=8, restore_best_weights=True, learning_rate=3e-3, batch_size=32,
                                mixed_precision=False, input_scaling="log", dihedral_augmentation=True)
    model_settings = ModelSettings(conv_filters=(16, 32, 32), dense_units=(32,), dropout=0.1, input_pool=1,
                                   batch_norm_momentum=0.9)
    train_variant({"s": cache}, d / "split.npz", settings, model_settings, d / "m.keras", d / "h.csv",
                  d / "scaling.json", d / "manifest.json")
    return d, patterns, targets, test


def test_the_pooled_cnn_learns_the_ring_radius_from_training_pixels_only(physics_cnn):
    from edsmaps.inference import load_trained_model, predict_patterns
    from edsmaps.scaling import load_json

    d, patterns, targets, test = physics_cnn
    model, scaling = load_trained_model(d / "m.keras"), load_json(d / "scaling.json")
    dose = float(patterns.astype(np.float64).sum(axis=(1, 2)).mean())
    predicted = predict_patterns(model, patterns, np.flatnonzero(test), scaling, 64, dose)["eds"]
    assert np.corrcoef(predicted[:, 0], targets[test, 0])[0, 1] > 0.9
    assert np.abs(predicted - targets[test]).mean() < 0.5 * np.abs(targets[test] - targets[~test].mean(0)).mean()
    # rotation augmentation: a rotated or mirrored test pattern gets (nearly) the same prediction
    for code in (1, 4, 6):
        turned = dihedral(patterns[test], np.full(test.sum(), code))
        again = predict_patterns(model, turned, np.arange(len(turned)), scaling, 64, dose)["eds"]
        assert np.abs(again - predicted).mean() < 0.025, code  # 0.033 without augmentation


def test_the_spatial_prior_blurs_the_cnn_maps_before_calibration_and_never_reads_a_test_label(physics_cnn):
    from edsmaps.blur import blur_map
    from edsmaps.prediction import calibrate_and_predict

    d, patterns, targets, test = physics_cnn
    settings = {"backend": "tensorflow", "seed": 0, "deterministic": False, "threads": None}
    nonsense = targets.copy()
    nonsense[test] = [5.0, -5.0]
    write_cache(d / "nonsense.npz", patterns, nonsense, np.ones(len(targets)), ["A", "B"], SCAN_SHAPE)

    def run(name, cache, prior):
        calibrate_and_predict(d / "m.keras", d / "scaling.json", d / "split.npz", ["s"], {"s": cache},
                              d / f"{name}.json", {"s": d / f"{name}.npz"}, 64, settings, spatial_prior=prior)
        with np.load(d / f"{name}.npz") as pred:
            return {k: pred[k] for k in pred.files}, (d / f"{name}.json").read_text()

    alone, _ = run("alone", d / "s.npz", ("none", 1))
    smooth, calibration = run("smooth", d / "s.npz", ("gaussian", 7))
    expected = np.stack([blur_map(alone["predicted"][..., e], "gaussian", 7) for e in range(2)], -1)
    np.testing.assert_allclose(smooth["predicted"], expected, atol=1e-5)
    assert np.isfinite(smooth["predicted_calibrated"]).all()
    # Test labels replaced by nonsense: neither the calibration nor one prediction moves.
    again, calibration_again = run("nonsense", d / "nonsense.npz", ("gaussian", 7))
    assert calibration_again == calibration
    np.testing.assert_array_equal(again["predicted_calibrated"], smooth["predicted_calibrated"])
