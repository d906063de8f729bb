"""Error bars cover what they claim: conformal scaling of every model's uncertainty."""

import numpy as np
import pytest
from edsmaps.intervals import (
    conformal_quantile,
    cross_fitted_coverage,
    fit_intervals,
    fit_scale,
    prediction_sigma,
    sigma,
)


def test_the_conformal_quantile_is_the_finite_sample_one():
    scores = np.arange(1.0, 20.0)  # 19 scores: ceil(20 x 0.95) = 19, the largest
    assert conformal_quantile(scores, 0.95) == 19
    assert conformal_quantile(np.arange(1.0, 101.0), 0.95) == 96  # ceil(101 x 0.95) = 96
    assert conformal_quantile(np.arange(1.0, 5.0), 0.95) == 4  # too few: the largest
    assert np.isnan(conformal_quantile([], 0.95))


@pytest.mark.parametrize("members", [True, False])
def test_a_too_narrow_spread_is_scaled_to_cover_95_percent_of_new_errors(members):
    rng = np.random.default_rng(1)
    true_sigma = rng.uniform(0.005, 0.05, 6000)
    errors = rng.normal(0, true_sigma)
    spread = true_sigma / 4 if members else None  # members agree four times too well
    scale, floor = fit_scale(errors[:3000], None if spread is None else spread[:3000])
    band = sigma(None if spread is None else spread[3000:], scale, floor)
    inside = np.mean(np.abs(errors[3000:]) <= 2 * band)
    assert 0.93 <= inside <= 0.97
    raw = np.mean(np.abs(errors[3000:]) <= 2 * (true_sigma[3000:] / 4)) if members else None
    assert raw is None or raw < 0.5  # what the raw spread claimed


def test_members_that_happen_to_agree_do_not_make_a_pixel_certain():
    spread = np.array([0.0, 0.01, 0.01, 0.02])
    scale, floor = fit_scale(np.array([0.01, 0.01, 0.01, 0.02]), spread)
    assert floor == pytest.approx(0.5 * 0.01)
    assert sigma(np.array([0.0]), scale, floor)[0] == pytest.approx(scale * floor)


def test_cross_fitted_coverage_judges_each_block_with_the_others_scale():
    rng = np.random.default_rng(2)
    blocks = np.repeat(np.arange(10), 100)
    errors = rng.normal(0, 0.02, 1000)
    assert 0.92 <= cross_fitted_coverage(errors, None, blocks) <= 0.98
    # one region much worse than the others: judged by the others' scale it is mostly missed
    errors[blocks == 0] *= 10
    assert cross_fitted_coverage(errors, None, blocks) < 0.93
    assert np.isnan(cross_fitted_coverage(errors, None, np.zeros(1000)))


def test_every_model_gets_a_sigma_map_per_element():
    rng = np.random.default_rng(3)
    errors = rng.normal(0, [0.01, 0.03], (400, 2))
    rows = fit_intervals(errors, None, np.repeat(np.arange(8), 50), ["O", "Te"])
    assert [r["sigma_source"] for r in rows] == ["residuals", "residuals"]
    assert rows[1]["sigma_scale"] == pytest.approx(0.03, rel=0.2)  # one width per element, near the true sigma
    pred = {"elements": ["O", "Te"], "predicted_calibrated": np.zeros((3, 4, 2), np.float32)}
    maps = prediction_sigma(pred, rows)
    assert maps.shape == (3, 4, 2) and np.all(maps[..., 0] == np.float32(rows[0]["sigma_scale"]))
    spread = np.full((400, 2), 0.01)
    rows = fit_intervals(errors, spread, np.repeat(np.arange(8), 50), ["O", "Te"])
    pred["predicted_std"] = np.full((3, 4, 2), 0.02, np.float32)
    maps = prediction_sigma(pred, rows)
    assert maps[0, 0, 1] == pytest.approx(rows[1]["sigma_scale"] * 0.02, rel=1e-5)
