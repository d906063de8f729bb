"""The paper's linear calibration y = alpha * y_cnn + beta, per element (and for HAADF).

Fitted with scikit-learn on the validation pixels of the training scans: predictions of
training pixels are overfit (slope ~ 1) and test pixels must never be fitted on.
"""

import json

import numpy as np

from .atomic import atomic_output


def fit_linear(y_cnn, y_true):
    """alpha, beta of y_true ~ alpha * y_cnn + beta (1D arrays)."""
    from sklearn.linear_model import LinearRegression

    fit = LinearRegression().fit(np.asarray(y_cnn, dtype=np.float64)[:, None], np.asarray(y_true, dtype=np.float64))
    return float(fit.coef_[0]), float(fit.intercept_)


def fit_calibration(predicted, truth, elements):
    """``predicted``/``truth``: dict output -> values ((n, E) for "eds", (n,) for "haadf").

    Returns {"outputs": {name: {"alpha", "beta"}}, "n_pixels"}.
    """
    outputs = {}
    for i, element in enumerate(elements):
        alpha, beta = fit_linear(predicted["eds"][:, i], truth["eds"][:, i])
        outputs[element] = {"alpha": alpha, "beta": beta}
    if "haadf" in predicted:
        alpha, beta = fit_linear(predicted["haadf"], truth["haadf"])
        outputs["haadf"] = {"alpha": alpha, "beta": beta}
    return {"outputs": outputs, "n_pixels": len(truth["eds"])}


def apply_calibration(predicted, calibration, elements):
    """Calibrated copy of ``predicted`` (dict output -> array)."""
    out = {}
    coeffs = calibration["outputs"]
    alpha = np.array([coeffs[e]["alpha"] for e in elements], dtype=np.float32)
    beta = np.array([coeffs[e]["beta"] for e in elements], dtype=np.float32)
    out["eds"] = predicted["eds"] * alpha + beta
    if "haadf" in predicted:
        out["haadf"] = predicted["haadf"] * np.float32(coeffs["haadf"]["alpha"]) + np.float32(coeffs["haadf"]["beta"])
    return out


def calibrate_model(model_path, scaling_path, roles_path, cache_paths, output_json, batch_size, backend_settings):
    """Predict the validation pixels of the training scans and fit the calibration JSON."""
    from .backend import setup_backend
    from .cacheset import CacheSet
    from .prediction import load_trained_model, predict_patterns
    from .scaling import load_json
    from .strategies import VALIDATION, load_roles

    setup_backend(**backend_settings)
    scaling = load_json(scaling_path)
    model = load_trained_model(model_path)
    roles = load_roles(roles_path)
    caches = CacheSet(cache_paths)
    pixels = caches.pixels(roles, [VALIDATION])
    predicted = {}
    for number in range(len(caches.scans)):
        rows = pixels.index[:, 0] == number
        if rows.any():
            out = predict_patterns(model, caches.patterns[number], pixels.index[rows, 1], scaling, batch_size)
            for name, values in out.items():
                predicted.setdefault(name, []).append(values)
    predicted = {name: np.concatenate(v) for name, v in predicted.items()}
    truth = {"eds": pixels.eds, "haadf": pixels.haadf}
    calibration = fit_calibration(predicted, truth, caches.elements)
    calibration["fitted_on"] = "validation pixels of the training scans"
    with atomic_output(output_json) as tmp:
        tmp.write_text(json.dumps(calibration, indent=2) + "\n")
    return calibration


def load_calibration(path):
    with open(path) as fh:
        return json.load(fh)
