import warnings

import numpy as np
import pandas as pd
import pytest

from edsmaps.metrics import ConstantMapWarning, cross_correlation, pearson_r, score_prediction, scores, summarise


def test_scores_against_hand_computed_values():
    reference = np.array([0.1, 0.2, 0.3, 0.4])
    predicted = np.array([0.2, 0.2, 0.2, 0.6])
    s = scores(reference, predicted)
    assert s["mae"] == pytest.approx((0.1 + 0 + 0.1 + 0.2) / 4)
    assert s["abs_error_at_pct"] == pytest.approx(100 * 0.1)
    assert s["percent_error"] == pytest.approx(100 * 0.1 / 0.25)
    ss_res = 0.01 + 0 + 0.01 + 0.04
    ss_tot = 0.0225 + 0.0025 + 0.0025 + 0.0225
    assert s["r2"] == pytest.approx(1 - ss_res / ss_tot)
    rx, ry = reference - 0.25, predicted - 0.3
    assert s["pearson_r"] == pytest.approx((rx * ry).sum() / np.sqrt((rx**2).sum() * (ry**2).sum()))
    assert np.isnan(s["coverage_2sigma"])  # no uncertainty, no coverage
    # errors 0.1, 0, 0.1, 0.2 against bands of 2 x 0.06: the last is outside
    assert scores(reference, predicted, np.full(4, 0.06))["coverage_2sigma"] == pytest.approx(0.75)


def test_constant_map_gives_nan_with_a_warning_not_a_crash():
    with pytest.warns(ConstantMapWarning, match="constant map"):
        assert np.isnan(pearson_r([0.1, 0.2, 0.3], [0.5, 0.5, 0.5]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantMapWarning)
        s = scores([0.1, 0.2, 0.3], [0.5, 0.5, 0.5])
    assert np.isnan(s["pearson_r"]) and s["mae"] == pytest.approx(0.3)


def test_only_test_pixels_are_scored():
    role = np.array([[1, 2], [3, 3]], dtype=np.int8)
    truth = np.zeros((2, 2, 1))
    truth[..., 0] = [[9.0, 9.0], [0.2, 0.4]]
    predicted = np.zeros((2, 2, 1))
    predicted[..., 0] = [[0.0, 0.0], [0.3, 0.3]]
    pred = {"role": role, "elements": ["Te"], "predicted": predicted, "predicted_calibrated": predicted,
            "eds_blurred": truth, "eds_unblurred": truth, "haadf": np.full((2, 2), np.nan)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantMapWarning)
        rows = score_prediction(pred, {"strategy": "s", "variant": "v", "scan": "x"})
    assert {(r["prediction"], r["reference"]) for r in rows} == {
        ("raw", "eds_blurred"), ("raw", "eds_unblurred"), ("calibrated", "eds_blurred"),
        ("calibrated", "eds_unblurred"),
    }  # fmt: skip
    assert all(r["n_pixels"] == 2 and r["mae"] == pytest.approx(0.1) for r in rows)
    pred["role"][:] = 1
    assert score_prediction(pred, {}) == []


def test_summary_is_mean_and_std_over_scans():
    table = pd.DataFrame(
        [{"strategy": "e", "variant": "p", "scan": s, "output": "O", "prediction": "raw", "reference": "eds_blurred",
          "pearson_r": r, "mae": m, "abs_error_at_pct": 100 * m, "percent_error": 1.0, "r2": 0.0,
          "coverage_2sigma": np.nan}
         for s, r, m in (("a", 0.2, 0.01), ("b", 0.4, 0.03))]
    )  # fmt: skip
    summary = summarise(table)
    assert summary["pearson_r_mean"].item() == pytest.approx(0.3)
    assert summary["mae_std"].item() == pytest.approx(np.std([0.01, 0.03], ddof=1))
    assert summary["n_scans"].item() == 2


def test_cross_correlation_matrices():
    rng = np.random.default_rng(0)
    real = rng.random((200, 3))
    predicted = np.column_stack([real[:, 0], -real[:, 1], rng.random(200)])
    m = cross_correlation(real, predicted)
    np.testing.assert_allclose(np.diag(m["real"]), 1)
    assert m["real_vs_predicted"][0, 0] == pytest.approx(1) and m["real_vs_predicted"][1, 1] == pytest.approx(-1)
    assert abs(m["real_vs_predicted"][2, 2]) < 0.2
