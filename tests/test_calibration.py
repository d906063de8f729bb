import numpy as np
import pytest

from edsmaps.calibration import apply_calibration, fit_calibration, fit_linear
from edsmaps.scaling import fit_input_scaling, scale_patterns


def test_linear_calibration_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    y_cnn = rng.random(500)
    alpha, beta = fit_linear(y_cnn, 2.5 * y_cnn - 0.3 + 1e-4 * rng.standard_normal(500))
    assert alpha == pytest.approx(2.5, abs=1e-3) and beta == pytest.approx(-0.3, abs=1e-3)


def test_calibration_per_element_and_haadf_round_trip():
    rng = np.random.default_rng(1)
    predicted = {"eds": rng.random((300, 2)).astype(np.float32), "haadf": rng.random(300).astype(np.float32)}
    truth = {"eds": predicted["eds"] * [0.5, 3.0] + [0.1, -0.2], "haadf": 4 * predicted["haadf"] + 1}
    calibration = fit_calibration(predicted, truth, ["Ge", "Te"])
    assert calibration["outputs"]["Te"]["alpha"] == pytest.approx(3.0, rel=1e-4)
    assert calibration["outputs"]["haadf"]["beta"] == pytest.approx(1.0, abs=1e-4)
    calibrated = apply_calibration(predicted, calibration, ["Ge", "Te"])
    np.testing.assert_allclose(calibrated["eds"], truth["eds"], atol=1e-5)
    np.testing.assert_allclose(calibrated["haadf"], truth["haadf"], atol=1e-4)


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
