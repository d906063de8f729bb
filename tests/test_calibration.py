import numpy as np
import pytest

import logging

from edsmaps.calibration import (
    CANDIDATES,
    MIN_PIXELS,
    apply_calibration,
    choose_calibration,
    fit_calibration,
    fit_linear,
)
from edsmaps.composition import project_composition
from edsmaps.strategies import spatial_folds
from edsmaps.scaling import fit_input_scaling, scale_patterns


def test_linear_calibration_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    y_cnn = rng.random(500)
    alpha, beta = fit_linear(y_cnn, 2.5 * y_cnn - 0.3 + 1e-4 * rng.standard_normal(500))
    assert alpha == pytest.approx(2.5, abs=1e-3) and beta == pytest.approx(-0.3, abs=1e-3)


def test_calibration_per_element_and_haadf_round_trip():
    rng = np.random.default_rng(1)
    predicted = {"eds": rng.random((300, 2)).astype(np.float32), "haadf": rng.random(300).astype(np.float32)}
    truth = {"eds": predicted["eds"] * [0.5, 2.0] + [0.1, -0.2], "haadf": 2.5 * predicted["haadf"] + 1}
    constants = {"eds": truth["eds"].mean(axis=0), "haadf": truth["haadf"].mean()}
    calibration = fit_calibration(predicted, truth, ["Ge", "Te"], np.arange(300) % 5, constants)
    assert {r["choice"] for r in calibration["outputs"].values()} == {"linear"} and calibration["dead"] == []
    assert calibration["outputs"]["Te"]["alpha"] == pytest.approx(2.0, rel=1e-4)
    assert calibration["outputs"]["haadf"]["beta"] == pytest.approx(1.0, abs=1e-4)
    calibrated = apply_calibration(predicted, calibration, ["Ge", "Te"])
    np.testing.assert_allclose(calibrated["eds"], truth["eds"], atol=1e-5)
    np.testing.assert_allclose(calibrated["haadf"], truth["haadf"], atol=1e-4)


def test_a_line_that_stretches_a_nearly_constant_output_is_not_a_calibration():
    """An under-trained CNN whose output barely varies: a line would multiply it by 20, and any
    shift of the raw output on a new scan by the same factor."""
    rng = np.random.default_rng(4)
    label = rng.uniform(0.1, 0.5, 400)
    raw = 0.3 + (label - 0.3) / 20 + 0.001 * rng.standard_normal(400)
    record = choose_calibration(raw, label, np.arange(400) % 5, constant=label.mean())
    assert record["cv_mae"]["linear"] is None and record["choice"] != "linear"
    moderate = choose_calibration(0.3 + (label - 0.3) / 2, label, np.arange(400) % 5, constant=label.mean())
    assert moderate["choice"] == "linear" and moderate["alpha"] == pytest.approx(2.0, rel=1e-3)


def test_log_scaling_is_fitted_on_training_patterns_only():
    patterns = np.full((10, 8, 8), 100 / 2**16, dtype=np.float16)
    patterns[5:] = 60000 / 2**16  # bright "test" patterns must not move the reference
    params = fit_input_scaling("log", [(patterns, np.arange(5))], 2**16)
    assert params["log_reference"] == pytest.approx(np.log1p(100), rel=1e-3)
    scaled = scale_patterns(patterns[:5], params)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, 1.0, rtol=1e-3)


def test_paper_scaling_divides_counts_by_2_16():
    patterns = np.array([[[0.5]]], dtype=np.float16)
    params = fit_input_scaling("paper", [(patterns, [0])], 2**16)
    assert scale_patterns(patterns, params)[0, 0, 0] == pytest.approx(0.5)
    params_max = fit_input_scaling("paper", [(patterns, [0])], 1000.0)
    assert scale_patterns(patterns, params_max)[0, 0, 0] == pytest.approx(500 / 2**16)
    with pytest.raises(ValueError, match="unknown input scaling 'sqrt'"):
        fit_input_scaling("sqrt", [(patterns, [0])], 1.0)


def test_the_chosen_calibration_never_cross_fits_worse_than_the_mean_nor_than_a_clear_win_of_the_model():
    rng = np.random.default_rng(2)
    choices = set()
    for trial in range(60):
        n = int(rng.integers(60, 400))
        y_cnn = rng.random(n)
        y_true = rng.uniform(-1, 2) * y_cnn + rng.normal(0, rng.uniform(0.01, 1), n) + rng.uniform(-1, 1)
        constant = y_true.mean() + rng.normal(0, 0.05)
        record = choose_calibration(y_cnn, y_true, rng.integers(0, 5, n), constant)
        cv, choice = record["cv_mae"], record["choice"]
        choices.add(choice)
        assert cv[choice] <= cv["mean"], record
        if choice == "mean":  # the model's best did not win by more than its standard error
            assert record["margin"]["mae_below_mean"] <= record["margin"]["standard_error"], record
            assert (record["alpha"], record["beta"]) == (0.0, constant)  # the constant baseline itself
        else:
            assert cv[choice] <= min(v for k, v in cv.items() if v is not None), record
        assert choice != "linear" or record["alpha"] > 0
        assert record["dead"] == (choice == "mean") and set(cv) == set(CANDIDATES)
    assert {"linear", "mean"} <= choices  # identity: test_a_narrow_win_of_the_raw_output_is_not_trusted


def test_a_narrow_win_of_the_raw_output_is_not_trusted():
    """The raw output beats the constant on three of five validation blocks and loses badly on two:
    lower cross-fitted MAE on average, but within the noise of the blocks, so the constant is kept."""
    folds = np.repeat(np.arange(5), 60)
    y_true = np.zeros(300)
    y_cnn = np.where(folds < 3, 0.0, 0.24) * np.where(np.arange(300) % 2, 1, -1)
    record = choose_calibration(y_cnn, y_true, folds, constant=0.1)
    assert record["cv_mae"]["identity"] < record["cv_mae"]["mean"]  # the plain minimum would pick the raw output
    assert record["choice"] == "mean" and record["dead"] and record["beta"] == 0.1
    clear = choose_calibration(np.zeros(300), y_true, folds, constant=0.1)  # better on every block
    assert clear["choice"] == "identity"


def test_a_relation_seen_in_one_block_only_is_not_chosen():
    """The paper's calibration fits one line through every validation pixel; when the slope comes
    from one region alone it hurts everywhere else. Cross-fitting over blocks keeps the mean."""
    rng = np.random.default_rng(0)
    folds = np.repeat(np.arange(5), 60)
    y_cnn = rng.random(300)
    y_true = 0.3 + 0.01 * rng.standard_normal(300)
    y_true[folds == 0] = 0.3 + 1.5 * (y_cnn[folds == 0] - 0.5)  # a biased subset: one region only
    alpha, beta = fit_linear(y_cnn, y_true)
    assert alpha > 0.2  # the line the paper's calibration would apply
    elsewhere_cnn, elsewhere_true = rng.random(1000), 0.3 + 0.01 * rng.standard_normal(1000)
    assert np.abs(alpha * elsewhere_cnn + beta - elsewhere_true).mean() > 3 * np.abs(0.3 - elsewhere_true).mean()
    record = choose_calibration(y_cnn, y_true, folds, constant=0.3)
    assert record["choice"] == "mean" and record["dead"] and record["alpha"] == 0
    # Without block 0 the slope is not positive: the line is rejected outright.
    assert record["cv_mae"]["linear"] is None and record["cv_mae"]["mean"] < record["cv_mae"]["identity"]


def test_too_few_validation_pixels_to_judge_make_the_output_dead_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        record = choose_calibration(np.arange(MIN_PIXELS - 1.0), np.zeros(MIN_PIXELS - 1), np.arange(MIN_PIXELS - 1) % 5,
                                    constant=0.2)
    assert (record["choice"], record["alpha"], record["beta"], record["dead"]) == ("mean", 0.0, 0.2, True)
    assert "too few to judge the model, the output is dead" in caplog.text
    enough = choose_calibration(np.arange(MIN_PIXELS + 0.0), np.arange(MIN_PIXELS + 0.0), np.arange(MIN_PIXELS) % 5,
                                constant=0.2)
    assert enough["choice"] == "identity" and not enough["dead"]


def test_folds_follow_spatial_blocks():
    rows, cols = 8, 8
    index = np.column_stack([np.zeros(rows * cols, int), np.arange(rows * cols)])
    folds = spatial_folds(index, [(rows, cols)], n_folds=5, grid=4)
    blocks = (np.arange(rows * cols) // cols // 2) * 4 + (np.arange(rows * cols) % cols) // 2
    for block in range(16):  # the 4 pixels of a 2 x 2 block share their fold
        assert len(set(folds[blocks == block])) == 1
    assert set(folds) == set(range(5))
    two_scans = np.vstack([index, index + [1, 0]])
    assert len(set(spatial_folds(two_scans, [(rows, cols)] * 2, n_folds=40, grid=4))) == 32


def test_projection_onto_possible_compositions_against_a_hand_computation():
    eds = np.array([[0.7, 0.5, -0.1], [0.2, 0.3, 0.1], [-0.2, 0.5, 0.1], [1.4, -0.3, 0.0]])
    projected, other = project_composition(eds)
    np.testing.assert_allclose(projected, [[0.6, 0.4, 0.0], [0.2, 0.3, 0.1], [0.0, 0.5, 0.1], [1.0, 0.0, 0.0]],
                               atol=1e-6)  # fmt: skip
    assert other is None
    projected, other = project_composition(eds, closure=True)
    np.testing.assert_allclose(other[:, 0], [0.0, 0.4, 0.4, 0.0], atol=1e-6)
    np.testing.assert_allclose(projected.sum(axis=1) + other[:, 0], 1, atol=1e-6)
    # A dead output (fixed) keeps its constant; the others share what it leaves: sum <= 1 - 0.2.
    eds = np.array([[0.7, 0.5, 0.2], [0.1, -0.2, 0.2], [0.9, 0.3, 0.2]])
    projected, _ = project_composition(eds, fixed=[False, False, True])
    np.testing.assert_allclose(projected, [[0.5, 0.3, 0.2], [0.1, 0.0, 0.2], [0.7, 0.1, 0.2]], atol=1e-6)
