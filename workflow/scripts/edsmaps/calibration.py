"""Calibration of a model's raw outputs, chosen so that it cannot make a map worse than the
constant, and the projection of every calibrated map onto physically possible compositions.

The paper fits y = alpha * y_cnn + beta per element on the model's validation pixels and keeps it.
A fit judged on the pixels it was fitted on almost always "wins", and a slope fitted on a
narrow range can extrapolate wildly (alpha = 8, or alpha < 0 flipping the correlation). Here three
candidates per output — ``identity`` (the raw output), ``linear`` (alpha > 0 only) and ``mean``
(the training pixels' mean: the ``constant`` baseline, alpha = 0) — are scored by cross-fitting
over spatial blocks of the validation pixels (fit on the other blocks, judge on the held-out
one). The model's best candidate is kept only when it beats the mean by more than one standard
error of the per-block difference: validation pixels lie in the training scans, where a model
looks better than on new scans, so a narrow win is not trusted. Otherwise the mean is chosen and
the output is *dead*: the model learned nothing usable for it, and its map is the constant. With
fewer than ``MIN_PIXELS`` validation pixels (or a single block) the identity is kept, with a
warning. Test pixels are never seen.
"""

import logging

import numpy as np

from .blur import NO_PRIOR

from .strategies import spatial_blocks

log = logging.getLogger(__name__)

CANDIDATES = ("identity", "linear", "mean")
MIN_PIXELS = 50  # below this many validation pixels the raw output is kept
N_FOLDS = 5
FOLD_GRID = 4  # each scan is cut into FOLD_GRID x FOLD_GRID blocks; blocks are dealt to folds


def fit_linear(y_cnn, y_true):
    """alpha, beta of y_true ~ alpha * y_cnn + beta (1D arrays), least squares."""
    from sklearn.linear_model import LinearRegression

    fit = LinearRegression().fit(np.asarray(y_cnn, dtype=np.float64)[:, None], np.asarray(y_true, dtype=np.float64))
    return float(fit.coef_[0]), float(fit.intercept_)


def fit_candidate(name, y_cnn, y_true, constant):
    """(alpha, beta) of one candidate fitted on these pixels; None for a linear fit with alpha <= 0
    or on a constant output (it would be the mean, not a calibration of the model). The mean
    candidate is ``constant`` whatever the pixels."""
    if name == "identity":
        return 1.0, 0.0
    if name == "mean":
        return 0.0, float(constant)
    if np.ptp(y_cnn) == 0:
        return None
    alpha, beta = fit_linear(y_cnn, y_true)
    return (alpha, beta) if alpha > 0 else None


def spatial_folds(index, scan_shapes, n_folds=N_FOLDS, grid=FOLD_GRID):
    """Fold number of each pixel from the spatial block it lies in, so neighbouring pixels (whose
    blurred labels share EDS counts) are never split between fitting and judging.

    Args:
        index: (K, 2) int (scan number, pattern number, row-major) of the pixels.
        scan_shapes: (rows, cols) of each scan, by scan number.
    Returns:
        (K,) int fold numbers in 0..n_folds-1 (fewer when there are fewer blocks).
    """
    blocks = spatial_blocks(index, scan_shapes, grid)
    return blocks % min(n_folds, int(blocks.max(initial=-1)) + 1)


def choose_calibration(y_cnn, y_true, folds, constant, min_pixels=MIN_PIXELS):
    """Choose one output's calibration by cross-fitting over ``folds``; the choice is refitted on
    every pixel.

    The model's best candidate (identity or linear, lowest cross-fitted MAE, ties to identity)
    is chosen when its MAE is below the mean's by more than one standard error of the per-fold
    difference; otherwise the mean (``constant``, the training pixels' mean) is. So the chosen
    MAE is never above the mean's, and is the lowest of all unless the model's win is within its
    own noise. A linear candidate whose slope is not positive in every cross-fit is rejected (a
    slope that depends on which blocks it sees is not a calibration).

    Args:
        y_cnn, y_true: (n,) raw output and label of the validation pixels.
        folds: (n,) fold number of each pixel (:func:`spatial_folds`).
        constant: the training pixels' mean label (the constant baseline's prediction).
        min_pixels: fewer validation pixels (or one fold) keep the raw output, with a warning.
    Returns:
        A dict: ``choice``, ``alpha``, ``beta``, ``dead`` (the mean was chosen), ``n_pixels``,
        ``n_folds``, ``cv_mae`` {candidate: cross-fitted MAE, None where it could not be fitted}
        and ``margin`` (the mean's cross-fitted MAE minus the best model candidate's, and its
        standard error over the folds).
    """
    y_cnn, y_true, folds = (np.asarray(v, dtype=np.float64) for v in (y_cnn, y_true, folds))
    fold_ids = np.unique(folds)
    record = {"n_pixels": int(len(y_true)), "n_folds": len(fold_ids), "cv_mae": {}}
    if len(y_true) < min_pixels or len(fold_ids) < 2:
        log.warning("only %d validation pixels in %d block(s) (at least %d in 2 needed): raw output kept",
                    len(y_true), len(fold_ids), min_pixels)
        return {**record, "choice": "identity", "alpha": 1.0, "beta": 0.0, "dead": False,
                "cv_mae": dict.fromkeys(CANDIDATES), "margin": None}
    fold_mae = {}
    for name in CANDIDATES:
        errors = np.empty_like(y_true)
        for fold in fold_ids:
            held_out = folds == fold
            coefficients = fit_candidate(name, y_cnn[~held_out], y_true[~held_out], constant)
            if coefficients is None:
                errors = None
                break
            alpha, beta = coefficients
            errors[held_out] = np.abs(alpha * y_cnn[held_out] + beta - y_true[held_out])
        record["cv_mae"][name] = None if errors is None else float(errors.mean())
        if errors is not None:
            fold_mae[name] = np.array([errors[folds == fold].mean() for fold in fold_ids])
    models = [k for k in ("identity", "linear") if record["cv_mae"][k] is not None]
    best = min(models, key=lambda k: (record["cv_mae"][k], CANDIDATES.index(k)))
    gain = fold_mae["mean"] - fold_mae[best]
    margin = float(record["cv_mae"]["mean"] - record["cv_mae"][best])
    standard_error = float(gain.std(ddof=1) / np.sqrt(len(gain)))
    record["margin"] = {"candidate": best, "mae_below_mean": margin, "standard_error": standard_error}
    choice = best if margin > standard_error else "mean"
    coefficients = fit_candidate(choice, y_cnn, y_true, constant)
    if coefficients is None:  # linear won across folds but its slope on all pixels is not positive
        choice = "identity" if "identity" in models and record["cv_mae"]["identity"] < record["cv_mae"]["mean"] \
            else "mean"
        coefficients = fit_candidate(choice, y_cnn, y_true, constant)
    alpha, beta = coefficients
    return {**record, "choice": choice, "alpha": alpha, "beta": beta, "dead": choice == "mean"}


def fit_calibration(predicted, truth, elements, folds, constants):
    """Choose each output's calibration (:func:`choose_calibration`).

    Args:
        predicted, truth: dict output -> values on the validation pixels, (n, E) for "eds",
            (n,) for "haadf".
        elements: names of the E columns.
        folds: (n,) fold number of each pixel (:func:`spatial_folds`).
        constants: dict output -> the training pixels' mean label, (E,) for "eds", float for "haadf".
    Returns:
        {"outputs": {name: choice record}, "n_pixels", "dead": [names whose choice is the mean]}.
    """
    outputs = {}
    for i, element in enumerate(elements):
        outputs[element] = choose_calibration(predicted["eds"][:, i], truth["eds"][:, i], folds, constants["eds"][i])
    if "haadf" in predicted:
        outputs["haadf"] = choose_calibration(predicted["haadf"], truth["haadf"], folds, constants["haadf"])
    dead = [name for name, record in outputs.items() if record["dead"]]
    for name in dead:
        record = outputs[name]
        log.warning("%s: the model does not clearly beat the training mean on validation blocks (cross-fitted MAE "
                    "%.4g vs %s %.4g): the output is dead, its map is the training mean", name,
                    record["cv_mae"]["mean"], record["margin"]["candidate"],
                    record["cv_mae"][record["margin"]["candidate"]])
    return {"outputs": outputs, "n_pixels": len(truth["eds"]), "dead": dead}


def apply_calibration(predicted, calibration, elements):
    """Calibrated copy of ``predicted`` (dict output -> array): y = alpha * y + beta per output,
    no projection (see :func:`edsmaps.composition.project_composition`)."""
    out = {}
    coeffs = calibration["outputs"]
    alpha = np.array([coeffs[e]["alpha"] for e in elements], dtype=np.float32)
    beta = np.array([coeffs[e]["beta"] for e in elements], dtype=np.float32)
    out["eds"] = predicted["eds"] * alpha + beta
    if "haadf" in predicted:
        out["haadf"] = predicted["haadf"] * np.float32(coeffs["haadf"]["alpha"]) + np.float32(coeffs["haadf"]["beta"])
    return out


def calibrate(model, scaling, roles, caches, batch_size, spatial_prior=NO_PRIOR):
    """Predict the validation pixels of the training scans and choose every output's calibration
    (:func:`fit_calibration`).

    Args:
        model, scaling: the trained model and its input scaling (dict).
        roles: the strategy's pixel roles ({scan: (rows, cols)}; validation pixels: role 2).
        caches: the training scans' :class:`edsmaps.cacheset.CacheSet`.
        batch_size: patterns per prediction batch.
        spatial_prior: (blur method, kernel) of :func:`edsmaps.inference.predict_scan_pixels`.
    Returns:
        The calibration (JSON-able dict; per output: choice, alpha, beta, dead, n_pixels, n_folds,
        cross-fitted MAE of every candidate).
    """
    from .inference import predict_scan_pixels
    from .strategies import TRAIN, VALIDATION

    pixels = caches.pixels(roles, [VALIDATION])
    training = caches.pixels(roles, [TRAIN])
    constants = {"eds": training.eds.astype(np.float64).mean(axis=0),
                 "haadf": float(np.nanmean(training.haadf)) if np.isfinite(training.haadf).any() else np.nan}
    predicted = {}
    for number in range(len(caches.scans)):
        rows = pixels.index[:, 0] == number
        if rows.any():
            out = predict_scan_pixels(model, caches.patterns[number], pixels.index[rows, 1],
                                      roles[caches.scans[number]].shape, scaling, batch_size, caches.doses[number],
                                      spatial_prior)
            for name, values in out.items():
                predicted.setdefault(name, []).append(values)
    predicted = {name: np.concatenate(v) for name, v in predicted.items()}
    truth = {"eds": pixels.eds, "haadf": pixels.haadf}
    folds = spatial_folds(pixels.index, [roles[scan].shape for scan in caches.scans])
    calibration = fit_calibration(predicted, truth, caches.elements, folds, constants)
    calibration["fitted_on"] = ("validation pixels of the training scans, candidates cross-fitted over spatial blocks; "
                                "mean: the training pixels' mean")
    return calibration
