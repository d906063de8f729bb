"""Each baseline recovers a known relation on synthetic data, from training pixels only."""

import numpy as np
import pytest
from edsmaps.baselines import fit_baseline, predict_cache_baseline, virtual_detectors
from edsmaps.model_kinds import MODEL_KINDS, ModelKind, register
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
    predict_cache_baseline(params, read_cache(folder / predicted_cache), role, folder / f"{kind}_pred.npz", "0033")
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


@pytest.mark.parametrize("kind", ["virtual_ridge", "pca_ridge", "radial_boosting"])
def test_a_scan_at_a_quarter_of_the_dose_is_predicted_as_at_the_training_dose(synthetic, kind):
    folder, targets, _ = synthetic
    patterns = np.asarray(read_cache(folder / "full.npz")["patterns"], dtype=np.float64)
    write_cache(folder / "quarter.npz", patterns / 4, targets, 5.0 + 2.0 * targets[:, 0], ELEMENTS, SHAPE,
                divisor=65536)
    full = fitted_prediction(folder, kind, n_rings=6, pca_components=4, pca_bin=1)
    quarter = fitted_prediction(folder, kind, "quarter.npz", n_rings=6, pca_components=4, pca_bin=1)
    assert quarter["dose_ratio"] == pytest.approx(0.25, rel=1e-3)
    # Log features at absolute scale would shift by log 4: the dose factor undoes it, up to the
    # float16 rounding of the cache, which may carry a pattern across a tree's split.
    difference = np.abs(quarter["predicted"] - full["predicted"])
    assert difference.mean() < 0.002
    assert difference.max() < (0.06 if kind == "radial_boosting" else 0.01)


@pytest.mark.parametrize("kind", ["constant", "pca_ridge"])
def test_bootstrap_members_give_every_prediction_an_uncertainty(synthetic, kind):
    folder, targets, role = synthetic
    pred = fitted_prediction(folder, kind, pca_components=4, pca_bin=1, members=6)
    spread = pred["predicted_std"].reshape(N, -1)
    assert spread.shape == (N, len(ELEMENTS)) and np.isfinite(spread).all() and (spread > 0).all()
    assert spread.max() < 0.05  # members fitted to one exact relation barely disagree
    if kind == "constant":  # the mean's uncertainty is the same everywhere
        np.testing.assert_allclose(spread, np.broadcast_to(spread[0], spread.shape), rtol=1e-5)


def boosting_prediction(folder, predicted_cache="full.npz", prior=("none", 1)):
    return fitted_prediction(folder, "radial_boosting", predicted_cache, n_annuli=8, members=4, spatial_prior=prior)


def test_radial_boosting_learns_the_relation_from_training_pixels_only(synthetic):
    folder, targets, role = synthetic
    pred = boosting_prediction(folder)  # fitted on fit.npz, whose test labels are NaN
    test = role.ravel() == TEST
    predicted = pred["predicted_calibrated"].reshape(N, -1)[test]
    for i in range(len(ELEMENTS)):
        assert np.corrcoef(predicted[:, i], targets[test, i])[0, 1] > 0.95
    constant = np.abs(targets[role.ravel() == TRAIN].mean(axis=0) - targets[test]).mean()
    assert np.abs(predicted - targets[test]).mean() < 0.3 * constant
    spread = pred["predicted_std"]
    assert np.isfinite(spread).all() and (spread > 0).any()


def test_radial_boosting_is_blind_to_rotations_and_flips_of_the_patterns(synthetic):
    folder, targets, _ = synthetic
    cache = read_cache(folder / "full.npz")
    patterns = np.asarray(cache["patterns"], dtype=np.float64)
    # An anisotropic feature (Bragg-like spots at a different angle in every pattern) whose
    # orientation carries no composition: each pattern turned by its own multiple of 90 degrees.
    spots = np.zeros((Q, Q))
    spots[Q // 2 - 1, Q - 6], spots[4, Q // 2] = 0.02, 0.01
    spotted = patterns + spots
    turned = np.stack([np.rot90(p, k=i % 4) if i % 5 else np.fliplr(p) for i, p in enumerate(spotted)])
    for name, stack in (("spotted.npz", spotted), ("turned.npz", turned)):
        write_cache(folder / name, stack, targets, cache["haadf"], ELEMENTS, SHAPE, divisor=65536)
    spotted_pred = boosting_prediction(folder, "spotted.npz")
    turned_pred = boosting_prediction(folder, "turned.npz")
    np.testing.assert_allclose(turned_pred["predicted"], spotted_pred["predicted"], atol=1e-6)


def test_the_spatial_prior_blurs_predictions_and_never_reads_a_test_label(synthetic):
    from edsmaps.blur import blur_map

    folder, targets, role = synthetic
    alone = boosting_prediction(folder)
    smoothed = boosting_prediction(folder, prior=("gaussian", 7))
    expected = np.stack([blur_map(alone["predicted"][..., e], "gaussian", 7) for e in range(len(ELEMENTS))], -1)
    np.testing.assert_allclose(smoothed["predicted"], expected, atol=1e-5)  # blurred before the float32 cast
    # Test labels replaced by nonsense: not one prediction moves.
    cache = read_cache(folder / "full.npz")
    nonsense = targets.copy()
    nonsense[role.ravel() == TEST] = [[5.0, -5.0]]
    predictions = {}
    for name, labels in (("honest.npz", targets), ("nonsense.npz", nonsense)):
        write_cache(folder / name, cache["patterns"], labels, cache["haadf"], ELEMENTS, SHAPE, divisor=65536)
        predictions[name] = boosting_prediction(folder, name, prior=("gaussian", 7))
    for key in ("predicted", "predicted_std"):
        np.testing.assert_array_equal(predictions["nonsense.npz"][key], predictions["honest.npz"][key])


def test_trees_written_by_another_scikit_learn_are_refused(synthetic):
    from edsmaps.baselines import load_baseline, predict_baseline

    folder, _, _ = synthetic
    boosting_prediction(folder)
    params = load_baseline(folder / "radial_boosting.npz")
    params["sklearn_version"] = np.array("0.1")
    cache = read_cache(folder / "full.npz")
    with pytest.raises(ValueError, match="scikit-learn 0.1.*rerun the workflow"):
        predict_baseline(params, cache["patterns"], cache["haadf"], 65536)


REFIT = {"split": "blocked", "buffer": 1, "train_fraction": 1.0, "random_state": 0}


def near_test(role, buffer=1):
    from scipy.ndimage import binary_dilation

    return binary_dilation(role == TEST, structure=np.ones((2 * buffer + 1,) * 2, dtype=bool))


def test_a_refit_learns_from_every_allowed_pixel_and_is_judged_by_cross_fitting(synthetic):
    from edsmaps.strategies import spatial_folds
    from edsmaps.strategies import VALIDATION

    folder, targets, role = synthetic
    refitted = fitted_prediction(folder, "constant", refit=REFIT)
    params = np.load(folder / "constant.npz")
    allowed = ~near_test(role).ravel()
    assert (allowed & ~np.isin(role.ravel(), [TRAIN, VALIDATION])).any()  # validation buffers join the refit
    np.testing.assert_allclose(params["intercept"], targets[allowed].mean(axis=0), rtol=1e-6)
    # Each validation pixel is judged by the model fitted without its fold and the buffer around it.
    validation = np.flatnonzero(role.ravel() == VALIDATION)
    folds = spatial_folds(np.column_stack([np.zeros_like(validation), validation]), [SHAPE])
    np.testing.assert_array_equal(params["fold_map_0033"].ravel()[validation], folds)
    for fold in np.unique(folds):
        in_fold = np.zeros(N, dtype=bool)
        in_fold[validation[folds == fold]] = True
        kept = allowed & ~near_test(np.where(in_fold, TEST, TRAIN).reshape(SHAPE)).ravel()
        expected = targets[kept].mean(axis=0)
        held_out = refitted["held_out_calibrated"].reshape(N, -1)[in_fold]
        np.testing.assert_allclose(held_out, np.tile(expected, (in_fold.sum(), 1)), rtol=1e-5)
    # ... and its uncertainty is the spread of that fold model's own members, which never saw it either
    on_validation = role == VALIDATION
    assert (refitted["held_out_std"][on_validation] > 0).all()
    assert not np.array_equal(refitted["held_out_std"][on_validation], refitted["predicted_std"][on_validation])


@pytest.mark.parametrize("kind", ["pca_ridge", "radial_boosting"])
def test_a_refit_never_reads_a_label_within_the_buffer_of_a_test_pixel(synthetic, kind):
    folder, targets, role = synthetic
    cache = read_cache(folder / "full.npz")
    nonsense = targets.copy()
    nonsense[near_test(role).ravel()] = [[5.0, -5.0]]  # test pixels and their buffer
    predictions = {}
    for name, labels in (("honest.npz", targets), ("nonsense.npz", nonsense)):
        write_cache(folder / name, cache["patterns"], labels, cache["haadf"], ELEMENTS, SHAPE, divisor=65536)
        params = fit_baseline(kind, {"0033": folder / name}, folder / "split.npz", folder / f"fit_{name}",
                              pca_components=4, pca_bin=1, n_annuli=8, members=4, refit=REFIT)
        predict_cache_baseline(params, cache, role, folder / f"pred_{name}", "0033")
        predictions[name] = np.load(folder / f"pred_{name}")
    for key in ("predicted", "predicted_std", "held_out_calibrated"):
        np.testing.assert_array_equal(predictions["nonsense.npz"][key], predictions["honest.npz"][key])
    test = role.ravel() == TEST
    predicted = predictions["honest.npz"]["predicted_calibrated"].reshape(N, -1)[test]
    assert np.corrcoef(predicted[:, 0], targets[test, 0])[0, 1] > 0.95  # and it still learns the relation


def test_a_kind_that_needs_haadf_is_refused_without_it(synthetic):
    folder, targets, _ = synthetic
    cache = read_cache(folder / "fit.npz")
    write_cache(folder / "dark.npz", cache["patterns"], targets, np.full(N, np.nan), ELEMENTS, SHAPE, divisor=65536)
    with pytest.raises(ValueError, match=r"baseline haadf_linear needs HAADF maps for the training scans \['0033'\]"):
        fit_baseline("haadf_linear", {"0033": folder / "dark.npz"}, folder / "split.npz", folder / "x.npz")
    assert not (folder / "x.npz").exists()


def test_a_setting_no_kind_takes_is_refused(synthetic):
    folder, _, _ = synthetic
    with pytest.raises(TypeError, match=r"no baseline kind takes the settings \['n_ring'\]"):
        fit_baseline("virtual_ridge", {"0033": folder / "fit.npz"}, folder / "split.npz", folder / "x.npz", n_ring=6)


class TotalCounts(ModelKind):
    """A kind made up here, outside the package: ridge (the default regressor) on the log of each
    pattern's total counts, floored at its own setting ``count_floor``, saved in the baseline NPZ."""

    defaults = {"count_floor": 1.0}

    def fit_arrays(self, caches, train, seed, count_floor):
        return {"count_floor": np.float64(count_floor)}

    def features(self, params, patterns, haadf, indices, divisor):
        counts = patterns[indices].astype(np.float32).sum(axis=(1, 2)) * np.float32(divisor)
        return np.log(np.maximum(counts, params["count_floor"]))[:, None].astype(np.float32)


@pytest.fixture
def total_counts():
    """The made-up kind, registered for one test only: the others see the package's kinds."""
    register("total_counts", TotalCounts())
    yield "total_counts"
    del MODEL_KINDS["total_counts"]


@pytest.mark.parametrize("refit", [None, REFIT], ids=["fit", "refit"])
def test_a_kind_registered_outside_the_package_is_fitted_and_predicted_as_the_package_kinds(synthetic, total_counts,
                                                                                             refit):
    folder, targets, role = synthetic
    pred = fitted_prediction(folder, total_counts, count_floor=2.0, members=4, refit=refit)
    params = np.load(folder / "total_counts.npz")
    assert str(params["kind"]) == "total_counts" and params["count_floor"] == 2.0 and params["coef"].shape == (2, 1)
    test = role.ravel() == TEST
    predicted = pred["predicted_calibrated"].reshape(N, -1)[test]
    for i in range(len(ELEMENTS)):
        assert np.corrcoef(predicted[:, i], targets[test, i])[0, 1] > 0.9
    assert np.isfinite(pred["predicted_std"]).all() and (pred["predicted_std"] > 0).all()
    assert ("held_out_calibrated" in pred) == (refit is not None)
    if refit is not None:  # its fold models carry its own arrays and predict their folds
        assert any(key.startswith("fold0_") for key in params.files)
        assert np.isfinite(pred["held_out_calibrated"]).all()
    with pytest.raises(ValueError, match="'total_counts' is registered already"):
        register(total_counts, TotalCounts())


def test_validation_chooses_the_spatial_prior_the_labels_support(synthetic):
    """Labels of independent pixels: blurring the maps only hurts. Labels blurred as EDS labels are
    (the patterns still seeing each pixel alone): the blurred maps are closer."""
    from edsmaps.blur import blur_map

    folder, targets, role = synthetic
    both = [("none", 1), ("gaussian", 7)]
    sharp = fit_baseline("pca_ridge", {"0033": folder / "fit.npz"}, folder / "split.npz", folder / "sharp.npz",
                         pca_components=4, pca_bin=1, members=2, spatial_prior=both)
    assert str(sharp["prior_blur_method"]) == "none"
    assert list(sharp["prior_candidates"]) == ["none 1", "gaussian 7"]
    blurred = np.stack([blur_map(targets[:, e].reshape(SHAPE), "gaussian", 7).ravel() for e in range(2)], axis=1)
    blurred[role.ravel() == TEST] = np.nan
    cache = read_cache(folder / "fit.npz")
    write_cache(folder / "blurred.npz", cache["patterns"], blurred, cache["haadf"], ELEMENTS, SHAPE, divisor=65536)
    smooth = fit_baseline("pca_ridge", {"0033": folder / "blurred.npz"}, folder / "split.npz", folder / "smooth.npz",
                          pca_components=4, pca_bin=1, members=2, spatial_prior=both)
    assert str(smooth["prior_blur_method"]) == "gaussian" and int(smooth["prior_blur_kernel"]) == 7
    assert smooth["prior_validation_mae"][1] < smooth["prior_validation_mae"][0]


def test_the_constant_keeps_a_map_without_contrast_whatever_the_spatial_prior(synthetic):
    folder, targets, role = synthetic
    pred = fitted_prediction(folder, "constant", spatial_prior=[("gaussian", 7)])
    assert str(np.load(folder / "constant.npz")["prior_blur_method"]) == "none"
    assert np.ptp(pred["predicted"].reshape(N, -1), axis=0).max() == 0  # exactly flat: no Pearson r from rounding


def test_thinning_augmentation_fits_on_lower_dose_patterns_reproducibly(synthetic):
    folder, targets, role = synthetic

    def fit(name, fraction):
        return fit_baseline("virtual_ridge", {"0033": folder / "fit.npz"}, folder / "split.npz", folder / name,
                            n_rings=4, members=2, min_dose_fraction=fraction)

    plain, thinned, again = fit("plain.npz", 1.0), fit("a.npz", 0.1), fit("b.npz", 0.1)
    np.testing.assert_array_equal(thinned["coef"], again["coef"])
    assert not np.array_equal(plain["coef"], thinned["coef"])
