"""Apply a trained model (+ its input scaling and calibration) to cached scans: one job per
trained model calibrates it and predicts every scan, so the runtime starts once."""

import numpy as np

from .calibration import apply_calibration
from .composition import project_composition
from .blur import NO_PRIOR
from .inference import predict_scan_pixels
from .prediction_file import read_cache, scan_role, write_prediction


def chosen_prior(calibration):
    """The spatial prior (method, kernel) a calibration was chosen with (none before priors were
    chosen)."""
    method, kernel = calibration.get("spatial_prior", {}).get("chosen", NO_PRIOR)
    return str(method), int(kernel)


def cnn_maps(model, scaling, calibration, cache, batch_size):
    """The maps of every pattern of one cached scan (dict name -> (N, ...) float32): raw
    ``predicted`` and ``predicted_calibrated``, projected onto possible compositions (fractions
    >= 0 summing to <= 1, or to 1 with a closure model's "other"), and the HAADF head's (>= 0).
    The raw maps are blurred with the calibration's spatial prior first
    (:func:`edsmaps.inference.predict_scan_pixels`)."""
    elements = [str(e) for e in cache["elements"]]
    if elements != scaling["elements"]:
        raise ValueError(f"the scan's elements {elements} differ from the model's {scaling['elements']}")
    rows, cols = (int(v) for v in cache["scan_shape"])
    raw = predict_scan_pixels(model, cache["patterns"], np.arange(rows * cols), (rows, cols), scaling, batch_size,
                              float(cache["dose"]), chosen_prior(calibration))
    calibrated = apply_calibration(raw, calibration, elements)
    dead = [calibration["outputs"][e]["dead"] for e in elements]  # constants: the projection leaves them
    eds, other = project_composition(calibrated["eds"], closure="other" in raw, fixed=dead)
    maps = {"predicted": raw["eds"], "predicted_calibrated": eds}
    if "other" in raw:
        maps["predicted_other"] = raw["other"]
        maps["predicted_other_calibrated"] = other
    if "haadf" in raw:
        maps["haadf_predicted"] = raw["haadf"]
        maps["haadf_predicted_calibrated"] = np.clip(calibrated["haadf"], 0, None)
    return maps


def cnn_predictor(kind, paths, batch_size, backend_settings):
    """For :func:`edsmaps.dose_series.predict_dose_series`: a trained model (``paths``: "model",
    "scaling", "calibration") as a function cache -> (calibrated maps (N, E), None); None when
    every composition output is dead (the constant, whatever the input)."""
    import json

    with open(paths["calibration"]) as fh:
        calibration = json.load(fh)
    if all(record["dead"] for name, record in calibration["outputs"].items() if name != "haadf"):
        return None
    from .backend import setup_backend
    from .inference import load_trained_model
    from .scaling import load_json

    setup_backend(**backend_settings)
    model, scaling = load_trained_model(paths["model"]), load_json(paths["scaling"])
    return lambda cache: (cnn_maps(model, scaling, calibration, cache, batch_size)["predicted_calibrated"], None)


def predict_cache(model, scaling, calibration, role, cache, output_npz, batch_size, fit_pixels):
    """Predict every pattern of one cached scan (:func:`cnn_maps`) and write its maps with each
    output's calibration choice.

    Args:
        model, scaling, calibration: the trained model, its input scaling and calibration (dicts).
        role: (rows, cols) pixel roles of the scan in the strategy.
        cache: the scan's cache (dict of arrays).
        output_npz: maps shaped like the cropped scan (:func:`write_prediction`): ``predicted``
            and ``predicted_calibrated`` (rows, cols, E) float32 atomic fraction, labels, roles.
        batch_size: patterns per batch.
        fit_pixels: the EDS-labelled pixels the model was trained on.
    """
    try:
        maps = cnn_maps(model, scaling, calibration, cache, batch_size)
    except ValueError as error:
        raise ValueError(f"{output_npz}: {error}") from None
    outputs = [str(e) for e in cache["elements"]] + (["haadf"] if "haadf_predicted" in maps else [])
    choices = np.array([calibration["outputs"][name]["choice"] for name in outputs])
    write_prediction(output_npz, cache, role, maps, dose_ratio=float(cache["dose"]) / scaling["dose"],
                     fit_pixels=fit_pixels, calibration_choice=choices)


def calibrate_and_predict(model_path, scaling_path, split_path, training_scans, cache_paths, calibration_json,
                          prediction_paths, batch_size, backend_settings, spatial_prior=NO_PRIOR, refit=None):
    """Calibrate a trained model on the validation pixels of its training scans, then predict
    every scan asked for.

    Args:
        model_path, scaling_path: the trained model and its input scaling JSON.
        split_path: the strategy's split NPZ; each scan's roles are stored with its maps (all
            unused for a scan outside the strategy).
        training_scans: the strategy's training scans (the calibration's validation pixels).
        cache_paths: {scan: cache NPZ} of every scan read (training and predicted).
        calibration_json: the calibration (:func:`edsmaps.calibration.calibrate`) written.
        prediction_paths: {scan: prediction NPZ} (:func:`predict_cache`) to write.
        batch_size: patterns per batch.
        backend_settings: keyword arguments of :func:`edsmaps.backend.setup_backend`.
        spatial_prior: (blur method, kernel): the model's maps are blurred with the EDS labels'
            kernel before they are calibrated and written; ("none", 1): none; a list of them: the
            one validation prefers (:func:`edsmaps.calibration.calibrate`).
        refit: the strategy's split settings where the baselines are refitted, else None: a dead
            output takes the ``constant`` baseline's value (:func:`edsmaps.calibration.constant_values`).
    """
    from .atomic import write_json
    from .backend import setup_backend
    from .cacheset import CacheSet
    from .calibration import calibrate
    from .inference import load_trained_model
    from .scaling import load_json
    from .strategies import TRAIN, load_roles

    setup_backend(**backend_settings)
    scaling = load_json(scaling_path)
    model = load_trained_model(model_path)
    roles = load_roles(split_path)
    calibration = calibrate(model, scaling, roles, CacheSet({s: cache_paths[s] for s in training_scans}), batch_size,
                            spatial_prior, refit)
    write_json(calibration_json, calibration)
    trained_on = int(sum((roles[scan] == TRAIN).sum() for scan in training_scans))
    for scan, output_npz in prediction_paths.items():
        cache = read_cache(cache_paths[scan])
        shape = tuple(int(v) for v in cache["scan_shape"])
        predict_cache(model, scaling, calibration, scan_role(split_path, scan, shape), cache, output_npz, batch_size,
                      trained_on)
