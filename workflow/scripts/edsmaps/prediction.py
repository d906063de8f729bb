"""Apply a trained model (+ its input scaling and calibration) to cached scans."""

import numpy as np

from .calibration import apply_calibration, load_calibration
from .composition import project_composition
from .inference import load_trained_model, predict_patterns
from .prediction_file import read_cache, scan_role, write_prediction
from .scaling import load_json


def predict_scan(model_path, scaling_path, calibration_path, split_path, cache_path, scan, output_npz, batch_size,
                 backend_settings):
    """Predict every pattern of one cached scan and write its maps.

    Calibrated maps are projected onto possible compositions (fractions >= 0 summing to <= 1,
    or to 1 with a closure model's "other"; HAADF >= 0), and each output's calibration choice
    is stored beside them.

    Args:
        model_path, scaling_path, calibration_path: the trained model, its input scaling JSON
            and its calibration JSON.
        split_path: the strategy's split NPZ; ``scan``'s roles are stored with the maps (all
            unused for a scan outside the strategy).
        cache_path: the scan's cache NPZ.
        scan: the scan id.
        output_npz: maps shaped like the cropped scan (:func:`write_prediction`): ``predicted``
            and ``predicted_calibrated`` (rows, cols, E) float32 atomic fraction, labels, roles.
        batch_size: patterns per batch.
        backend_settings: keyword arguments of :func:`edsmaps.backend.setup_backend`.
    """
    from .backend import setup_backend

    setup_backend(**backend_settings)
    scaling = load_json(scaling_path)
    calibration = load_calibration(calibration_path)
    model = load_trained_model(model_path)
    cache = read_cache(cache_path)
    elements = [str(e) for e in cache["elements"]]
    if elements != scaling["elements"]:
        raise ValueError(f"{cache_path}: elements {elements} differ from the model's {scaling['elements']}")
    rows, cols = (int(v) for v in cache["scan_shape"])
    raw = predict_patterns(model, cache["patterns"], np.arange(rows * cols), scaling, batch_size)
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
    outputs = elements + (["haadf"] if "haadf" in raw else [])
    choices = np.array([calibration["outputs"][name]["choice"] for name in outputs])
    write_prediction(output_npz, cache, scan_role(split_path, scan, (rows, cols)), maps, calibration_choice=choices)
