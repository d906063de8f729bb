"""Calibration of a model's raw outputs, chosen so that it cannot make a map worse than the
constant, and the projection of every calibrated map onto physically possible compositions.

The paper fits y = alpha * y_cnn + beta per element on the model's validation pixels and keeps it.
A fit judged on the pixels it was fitted on almost always "wins", and a slope fitted on a
narrow range can extrapolate wildly (alpha = 8, or alpha < 0 flipping the correlation). Here three
candidates per output — ``identity`` (the raw output), ``linear`` (0 < alpha <= MAX_SLOPE) and
``mean`` (the ``constant`` baseline's value: the mean label of the pixels it is fitted on,
alpha = 0) — are scored by cross-fitting
over spatial blocks of the validation pixels (fit on the other blocks, judge on the held-out
one). The model's best candidate is kept only when it beats the mean by more than one standard
error of the per-block difference: validation pixels lie in the training scans, where a model
looks better than on new scans, so a narrow win is not trusted. Otherwise the mean is chosen and
the output is *dead*: the model learned nothing usable for it, and its map is the constant. With
fewer than ``MIN_PIXELS`` validation pixels (or a single block) there is too little evidence to
trust any model: every output is dead, with a warning. Test pixels are never seen.
"""

import logging

import numpy as np

from .blur import NO_PRIOR, prior_candidates, prior_support

from .strategies import spatial_folds

log = logging.getLogger(__name__)

CANDIDATES = ("identity", "linear", "mean")
# A steeper line stretches an output that varies that many times less than the labels: it mostly
# re-fits the validation pixels, and on a new scan multiplies any shift of the raw output by the
# same factor (the second demo's under-trained CNN took slopes of 10-130 and doubled the best
# baseline's test error).
MAX_SLOPE = 3.0
MIN_PIXELS = 50  # below this many validation pixels every output is dead


def fit_linear(y_cnn, y_true):
    """alpha, beta of y_true ~ alpha * y_cnn + beta (1D arrays), least squares."""
    from sklearn.linear_model import LinearRegression

    fit = LinearRegression().fit(np.asarray(y_cnn, dtype=np.float64)[:, None], np.asarray(y_true, dtype=np.float64))
    return float(fit.coef_[0]), float(fit.intercept_)


def fit_candidate(name, y_cnn, y_true, constant):
    """(alpha, beta) of one candidate fitted on these pixels; None for a linear fit with alpha <= 0
    or above MAX_SLOPE, or on a constant output (it would be the mean, not a calibration of the
    model). The mean candidate is ``constant`` whatever the pixels."""
    if name == "identity":
        return 1.0, 0.0
    if name == "mean":
        return 0.0, float(constant)
    if np.ptp(y_cnn) == 0:
        return None
    alpha, beta = fit_linear(y_cnn, y_true)
    return (alpha, beta) if 0 < alpha <= MAX_SLOPE else None


def choose_calibration(y_cnn, y_true, folds, constant, min_pixels=MIN_PIXELS):
    """Choose one output's calibration by cross-fitting over ``folds``; the choice is refitted on
    every pixel.

    The model's best candidate (identity or linear, lowest cross-fitted MAE, ties to identity)
    is chosen when its MAE is below the mean's by more than one standard error of the per-fold
    difference; otherwise the mean (``constant``, the constant baseline's value) is. So the chosen
    MAE is never above the mean's, and is the lowest of all unless the model's win is within its
    own noise. A linear candidate whose slope is not in (0, MAX_SLOPE] in every cross-fit is
    rejected (a slope that depends on which blocks it sees is not a calibration).

    Args:
        y_cnn, y_true: (n,) raw output and label of the validation pixels.
        folds: (n,) fold number of each pixel (:func:`edsmaps.strategies.spatial_folds`).
        constant: the constant baseline's prediction (mean label of the pixels it is fitted on).
        min_pixels: with fewer validation pixels (or one fold) the output is dead, with a warning.
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
        log.warning("only %d validation pixels in %d block(s) (at least %d in 2 needed): too few to judge the "
                    "model, the output is dead (the constant)", len(y_true), len(fold_ids), min_pixels)
        return {**record, "choice": "mean", "alpha": 0.0, "beta": float(constant), "dead": True,
                "cv_mae": dict.fromkeys(CANDIDATES), "margin": None, "reason": "too few validation pixels"}
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
    if coefficients is None:  # linear won across folds but its slope on all pixels is out of bounds
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
        folds: (n,) fold number of each pixel (:func:`edsmaps.strategies.spatial_folds`).
        constants: dict output -> the constant baseline's value (:func:`constant_values`), (E,) for
            "eds", float for "haadf".
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
        if record["margin"] is None:
            continue  # too few pixels: said when chosen
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


def constant_values(caches, roles, refit):
    """The value of the ``constant`` baseline of a strategy, which a dead output takes, so that a
    dead map is exactly the constant the tables show: the mean label of the pixels the constant
    is fitted on (:func:`edsmaps.strategies.fit_pixels`). Returns {"eds": (E,) float64,
    "haadf": float (NaN without HAADF)}."""
    from .strategies import fit_pixels

    fitted = fit_pixels(caches, roles, refit)
    haadf = float(np.nanmean(fitted.haadf)) if np.isfinite(fitted.haadf).any() else np.nan
    return {"eds": fitted.eds.astype(np.float64).mean(axis=0), "haadf": haadf}


def calibrate(model, scaling, roles, caches, batch_size, spatial_prior=NO_PRIOR, refit=None):
    """Predict the validation pixels of the training scans and choose every output's calibration
    (:func:`fit_calibration`), and the spatial prior where there is a choice.

    Args:
        model, scaling: the trained model and its input scaling (dict).
        roles: the strategy's pixel roles ({scan: (rows, cols)}; validation pixels: role 2).
        caches: the training scans' :class:`edsmaps.cacheset.CacheSet`.
        batch_size: patterns per prediction batch.
        spatial_prior: (blur method, kernel) of :func:`edsmaps.inference.predict_scan_pixels`, or a
            list of them: the one whose calibrated validation MAE (cross-fitted, mean over the
            elements) is lowest is chosen, the first on a tie.
        refit: the strategy's split settings where the baselines are refitted (the constant's
            pixels, :func:`constant_values`), else None.
    Returns:
        The calibration (JSON-able dict; per output: choice, alpha, beta, dead, n_pixels, n_folds,
        cross-fitted MAE of every candidate; ``spatial_prior``: the chosen prior and each
        candidate's validation MAE).
    """
    from .inference import predict_patterns, with_prior
    from .strategies import VALIDATION

    candidates = prior_candidates(spatial_prior)
    pixels = caches.pixels(roles, [VALIDATION])
    constants = constant_values(caches, roles, refit)
    predicted = {tuple(prior): {} for prior in candidates}
    for number in range(len(caches.scans)):
        rows = pixels.index[:, 0] == number
        if not rows.any():
            continue
        shape = roles[caches.scans[number]].shape
        chosen = np.zeros(shape[0] * shape[1], dtype=bool)
        chosen[pixels.index[rows, 1]] = True
        support = np.flatnonzero(prior_support(chosen, shape, candidates))  # all the blurred values read
        out = predict_patterns(model, caches.patterns[number], support, scaling, batch_size, caches.doses[number])
        whole = {}
        for name, values in out.items():
            whole[name] = np.zeros((len(chosen), *values.shape[1:]), dtype=values.dtype)
            whole[name][support] = values
        for prior in candidates:
            picked = with_prior(whole, pixels.index[rows, 1], shape, prior)
            for name, values in picked.items():
                predicted[tuple(prior)].setdefault(name, []).append(values)
    truth = {"eds": pixels.eds, "haadf": pixels.haadf}
    folds = spatial_folds(pixels.index, [roles[scan].shape for scan in caches.scans])
    fitted = {}
    for prior, values in predicted.items():
        values = {name: np.concatenate(v) for name, v in values.items()}
        fitted[prior] = fit_calibration(values, truth, caches.elements, folds, constants)
    scores = {prior: _validation_mae(calibration, caches.elements) for prior, calibration in fitted.items()}
    chosen = min(scores, key=lambda prior: (scores[prior], list(scores).index(prior)))
    calibration = fitted[chosen]
    calibration["spatial_prior"] = {"chosen": list(chosen),
                                    "validation_mae": {f"{m} {k}": scores[(m, k)] for m, k in scores}}
    if len(candidates) > 1:
        log.info("spatial prior chosen on validation pixels: %s (mean calibrated MAE %s)", chosen,
                 {f"{m} {k}": round(v, 6) for (m, k), v in scores.items()})
    calibration["fitted_on"] = ("validation pixels of the training scans, candidates cross-fitted over spatial blocks; "
                                "mean: the constant baseline's value")
    return calibration


def _validation_mae(calibration, elements):
    """Mean over the elements of the chosen calibration's cross-fitted validation MAE (NaN-free:
    an element without a score counts as infinitely bad)."""
    values = [calibration["outputs"][e]["cv_mae"].get(calibration["outputs"][e]["choice"]) for e in elements]
    return float(np.mean([np.inf if v is None else v for v in values]))
