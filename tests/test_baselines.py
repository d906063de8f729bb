"""Each baseline recovers a known relation on synthetic data, from training pixels only."""

import numpy as np
import pytest
from edsmaps.baselines import fit_baseline, predict_cache_baseline, virtual_detectors
from edsmaps.prediction_file import read_cache
from edsmaps.strategies import TEST, TRAIN, blocked_roles, save_roles
from synthetic import write_cache

SHAPE = (16, 12)
N = SHAPE[0] * SHAPE[1]
Q = 32
ELEMENTS = ["O", "Te"]


def ring_basis():
    """Two smooth radial profiles: bright-field disk and an outer ring."""
    y, x = np.indices((Q, Q)) - (Q - 1) / 2
    r = np.hypot(y, x)
    return np.stack([np.exp(-((r / 4) ** 2)), np.exp(-(((r - 11) / 2) ** 2))])


@pytest.fixture
def synthetic(tmp_path):
    """Composition c drives log intensity linearly; HAADF is linear in O; test pixels' labels
    are NaN, so any fit that touched them would fail."""
    rng = np.random.default_rng(3)
    c = rng.uniform(0.2, 0.8, N)
    targets = np.column_stack([c, 1 - c]).astype(np.float32)
    log_counts = 2.0 + 3.0 * c[:, None, None] * ring_basis()[0] + 2.0 * (1 - c)[:, None, None] * ring_basis()[1]
    patterns = np.expm1(log_counts) / 65536
    haadf = 5.0 + 2.0 * c
    role = blocked_roles(SHAPE, 0.25, 0.2, (4, 3), 1, seed=0)
    fit_targets = targets.copy()
    fit_targets[role.ravel() == TEST] = np.nan
    write_cache(tmp_path / "fit.npz", patterns, fit_targets, haadf, ELEMENTS, SHAPE, divisor=65536)
    write_cache(tmp_path / "full.npz", patterns, targets, haadf, ELEMENTS, SHAPE, divisor=65536)
    save_roles({"0033": role}, tmp_path / "split.npz")
    return tmp_path, targets, role


def fitted_prediction(folder, kind, predicted_cache="full.npz", **settings):
    params = fit_baseline(kind, {"0033": folder / "fit.npz"}, folder / "split.npz", folder / f"{kind}.npz", **settings)
    role = np.load(folder / "split.npz")["0033"]
    predict_cache_baseline(params, read_cache(folder / predicted_cache), role, folder / f"{kind}_pred.npz")
    with np.load(folder / f"{kind}_pred.npz", allow_pickle=False) as pred:
        return {k: pred[k] for k in pred.files}


def test_constant_predicts_the_training_mean(synthetic):
    folder, targets, role = synthetic
    pred = fitted_prediction(folder, "constant")
    expected = targets[role.ravel() == TRAIN].mean(axis=0)
    np.testing.assert_allclose(pred["predicted"].reshape(N, -1), np.tile(expected, (N, 1)), rtol=1e-5)
    np.testing.assert_array_equal(pred["role"], role)


@pytest.mark.parametrize("kind", ["haadf_linear", "virtual_ridge", "pca_ridge"])
def test_linear_baselines_recover_an_exact_relation_on_test_pixels(synthetic, kind):
    folder, targets, role = synthetic
    pred = fitted_prediction(folder, kind, n_rings=6, pca_components=4, pca_bin=1)
    test = role.ravel() == TEST
    predicted = pred["predicted_calibrated"].reshape(N, -1)[test]
    assert np.isfinite(predicted).all()
    for i in range(len(ELEMENTS)):
        assert np.corrcoef(predicted[:, i], targets[test, i])[0, 1] > 0.99
    assert np.abs(predicted - targets[test]).mean() < 0.02


def test_virtual_detectors_are_a_disk_and_disjoint_annuli():
    masks = virtual_detectors((Q, Q), 4)
    assert masks.shape == (4, Q, Q) and masks.dtype == bool
    assert masks[0, Q // 2, Q // 2] and not masks[1:, Q // 2, Q // 2].any()
    assert masks.sum(axis=0).max() == 1  # no pixel counted twice


def test_unknown_baseline_is_refused(synthetic):
    folder, _, _ = synthetic
    with pytest.raises(ValueError, match="unknown baseline 'lasso'"):
        fit_baseline("lasso", {"0033": folder / "fit.npz"}, folder / "split.npz", folder / "x.npz")
    assert not (folder / "x.npz").exists()


def test_validation_pixels_choose_the_ridge_strength():
    from edsmaps.baselines import RIDGE_ALPHAS, fit_ridge

    rng = np.random.default_rng(0)
    x_train, x_val = rng.normal(size=(200, 20)), rng.normal(size=(100, 20))
    w = rng.normal(size=(20, 2))
    exact = fit_ridge(x_train, x_train @ w, x_val, x_val @ w, RIDGE_ALPHAS)
    assert exact["alpha"] == RIDGE_ALPHAS.min()
    noise = fit_ridge(x_train, rng.normal(size=(200, 2)), x_val, rng.normal(size=(100, 2)), RIDGE_ALPHAS)
    assert noise["alpha"] == RIDGE_ALPHAS.max()


@pytest.mark.parametrize("kind", ["virtual_ridge", "pca_ridge"])
def test_a_scan_at_a_quarter_of_the_dose_is_predicted_as_at_the_training_dose(synthetic, kind):
    folder, targets, _ = synthetic
    patterns = read_cache(folder / "full.npz")["patterns"].astype(np.float64)
    write_cache(folder / "quarter.npz", patterns / 4, targets, 5.0 + 2.0 * targets[:, 0], ELEMENTS, SHAPE,
                divisor=65536)
    full = fitted_prediction(folder, kind, n_rings=6, pca_components=4, pca_bin=1)
    quarter = fitted_prediction(folder, kind, "quarter.npz", n_rings=6, pca_components=4, pca_bin=1)
    assert quarter["dose_ratio"] == pytest.approx(0.25, rel=1e-3)
    # Log features at absolute scale would shift by log 4: the dose factor undoes it.
    np.testing.assert_allclose(quarter["predicted"], full["predicted"], atol=0.01)


@pytest.mark.parametrize("kind", ["constant", "pca_ridge"])
def test_bootstrap_members_give_every_prediction_an_uncertainty(synthetic, kind):
    folder, targets, role = synthetic
    pred = fitted_prediction(folder, kind, pca_components=4, pca_bin=1, members=6)
    spread = pred["predicted_std"].reshape(N, -1)
    assert spread.shape == (N, len(ELEMENTS)) and np.isfinite(spread).all() and (spread > 0).all()
    assert spread.max() < 0.05  # members fitted to one exact relation barely disagree
    if kind == "constant":  # the mean's uncertainty is the same everywhere
        np.testing.assert_allclose(spread, np.broadcast_to(spread[0], spread.shape), rtol=1e-5)
