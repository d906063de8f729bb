"""The recommended model is chosen on validation pixels only, and ensembles carry their spread."""

import numpy as np
import pandas as pd
import pytest
from edsmaps.ensemble import ensemble_prediction, member_spread
from edsmaps.prediction_file import write_prediction
from edsmaps.selection import rank_models, recommend_models, validation_scores
from edsmaps.strategies import TEST, TRAIN, VALIDATION

SHAPE = (6, 5)
ELEMENTS = ["O", "Te"]


def roles():
    role = np.full(SHAPE, TRAIN, dtype=np.int8)
    role[:2] = VALIDATION
    role[-2:] = TEST
    return role


def fake_cache(truth):
    return {"targets": truth.reshape(-1, 2), "targets_unblurred": truth.reshape(-1, 2),
            "haadf": np.ones(SHAPE[0] * SHAPE[1], np.float32), "elements": np.array(ELEMENTS),
            "scan_shape": np.array(SHAPE), "crop_origin": np.array([0, 0]), "r_pixel_size": np.float64(1.0),
            "r_pixel_units": np.array("nm")}


def write(path, truth, predicted, spread=None, choice=None):
    maps = {"predicted": predicted, "predicted_calibrated": predicted}
    if spread is not None:
        maps["predicted_std"] = spread
    write_prediction(path, fake_cache(truth), roles(), {k: v.reshape(-1, 2) for k, v in maps.items()},
                     dose_ratio=1.0, fit_pixels=int((roles() == TRAIN).sum()), calibration_choice=choice)
    return path


@pytest.fixture
def truth():
    rng = np.random.default_rng(0)
    o = rng.uniform(0.1, 0.6, SHAPE)
    return np.stack([o, 1 - o], axis=-1).astype(np.float32)


def choose(tmp_path, truth, predictions):
    items = [{"strategy": "s", "model": name, "kind": "baseline", "path": write(tmp_path / f"{name}.npz", truth, p)}
             for name, p in predictions.items()]
    _, recommended = recommend_models(items, ["s"], tmp_path / "validation.tsv", tmp_path / "recommended.tsv")
    return recommended.loc[0, "model"]


def test_the_choice_never_reads_a_test_pixel(tmp_path, truth):
    validation = roles() == VALIDATION
    a = truth + 0.05  # off everywhere
    b = np.where(validation[..., None], truth + 0.06, truth).astype(np.float32)  # off on validation only
    # Scored on every pixel b would win (MAE 0.024 against 0.05); on validation pixels a wins.
    assert choose(tmp_path, truth, {"a": a, "b": b}) == "a"
    clean = pd.read_csv(tmp_path / "validation.tsv", sep="\t")
    corrupted = truth.copy()
    corrupted[roles() == TEST] = np.nan  # any use of a test label would show
    assert choose(tmp_path, corrupted, {"a": a, "b": b}) == "a"
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "validation.tsv", sep="\t"), clean)
    table = pd.read_csv(tmp_path / "recommended.tsv", sep="\t")
    assert list(table.columns[:3]) == ["strategy", "model", "kind"] and "mae_O" in table and "mae_mean" in table


def test_a_baseline_may_win_and_ties_go_to_the_higher_correlation(truth):
    rows = pd.DataFrame([
        {"strategy": "s", "model": "paper", "kind": "cnn", "mae_mean": 0.05, "pearson_r_mean": np.nan},
        {"strategy": "s", "model": "constant", "kind": "baseline", "mae_mean": 0.05, "pearson_r_mean": 0.3},
        {"strategy": "s", "model": "pca_ridge", "kind": "baseline", "mae_mean": 0.04, "pearson_r_mean": 0.2},
        {"strategy": "t", "model": "paper", "kind": "cnn", "mae_mean": 0.05 + 1e-12, "pearson_r_mean": 0.1},
        {"strategy": "t", "model": "constant", "kind": "baseline", "mae_mean": 0.05, "pearson_r_mean": np.nan},
        # a dead CNN is the constant: the tie goes to the simpler model, whatever the names
        {"strategy": "u", "model": "a_cnn", "kind": "cnn", "mae_mean": 0.05, "pearson_r_mean": np.nan},
        {"strategy": "u", "model": "constant", "kind": "baseline", "mae_mean": 0.05, "pearson_r_mean": np.nan},
    ])
    ranked = rank_models(rows)
    assert list(ranked[ranked.strategy == "s"].model) == ["pca_ridge", "constant", "paper"]
    assert list(ranked[ranked.strategy == "t"].model) == ["paper", "constant"]  # equal MAE: r decides
    assert list(ranked[ranked.strategy == "u"].model) == ["constant", "a_cnn"]
    assert list(ranked[ranked.strategy == "s"]["rank"]) == [1, 2, 3]


def test_coverage_counts_validation_values_within_two_sigma(tmp_path, truth):
    error = np.full(truth.shape, 0.03, dtype=np.float32)
    error[0] = 0.1  # the first row (validation) misses
    spread = np.full(truth.shape, 0.02, dtype=np.float32)
    path = write(tmp_path / "m.npz", truth, truth + error, spread)
    scores = validation_scores([path])
    validation = roles() == VALIDATION
    assert scores["coverage_2sigma"] == pytest.approx(0.5)  # one of the two validation rows
    assert scores["n_pixels"] == validation.sum()
    assert scores["mae_O"] == pytest.approx(float(np.abs(error[validation][:, 0]).mean()))
    assert np.isnan(validation_scores([write(tmp_path / "n.npz", truth, truth + error)])["coverage_2sigma"])


def test_uncertainty_is_zero_for_identical_members_and_grows_with_disagreement():
    member = np.random.default_rng(1).random((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(member_spread([member, member, member]), 0)
    spreads = [member_spread([member - d, member, member + d]).mean() for d in (0.01, 0.05, 0.2)]
    assert spreads[0] < spreads[1] < spreads[2]
    assert spreads[1] == pytest.approx(0.05 * np.sqrt(2 / 3), rel=1e-4)


def test_an_ensemble_averages_its_members_and_keeps_their_spread(tmp_path, truth):
    a = write(tmp_path / "a.npz", truth, truth + 0.02, choice=np.array(["identity", "mean"]))
    b = write(tmp_path / "b.npz", truth, truth - 0.02, choice=np.array(["identity", "linear"]))
    out = ensemble_prediction([a, b], tmp_path / "e.npz")
    np.testing.assert_allclose(out["predicted_calibrated"], truth, atol=1e-6)
    np.testing.assert_allclose(out["predicted_std"], 0.02, atol=1e-6)
    assert list(out["calibration_choice"]) == ["identity", "mean/linear"]
    with pytest.raises(ValueError, match="at least two members"):
        ensemble_prediction([a], tmp_path / "one.npz")
    assert not (tmp_path / "one.npz").exists()


def test_a_refitted_model_is_scored_by_its_fit_that_never_saw_the_validation_pixels(tmp_path, truth):
    refit = truth.copy()  # a refit has seen the validation labels: perfect there
    held_out = truth + 0.04
    path = tmp_path / "refit.npz"
    maps = {"predicted": refit, "predicted_calibrated": refit, "predicted_std": np.full_like(truth, 0.001),
            "held_out_calibrated": held_out, "held_out_std": np.full_like(truth, 0.03)}
    write_prediction(path, fake_cache(truth), roles(), {k: v.reshape(-1, 2) for k, v in maps.items()}, dose_ratio=1.0,
                     fit_pixels=int((roles() == TRAIN).sum()))
    row = validation_scores([path])
    assert row["mae_O"] == pytest.approx(0.04, abs=1e-6) and row["mae_Te"] == pytest.approx(0.04, abs=1e-6)
    assert row["coverage_2sigma"] == 1.0  # 0.04 within 2 x 0.03; the refit's 0.001 would cover nothing of it
