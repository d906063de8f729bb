"""Apply a trained model (+ its input scaling and calibration) to cached scans."""

import numpy as np

from .calibration import apply_calibration, load_calibration
from .composition import project_composition
from .prediction_file import read_cache, scan_role, write_prediction
from .scaling import load_json


def load_trained_model(model_path):
    """Load a ``.keras`` model safely (no arbitrary code), uncompiled."""
    import keras

    return keras.saving.load_model(model_path, compile=False, safe_mode=True)


def predict_patterns(model, patterns, indices, scaling, batch_size, data_workers=1):
    """Model outputs for ``patterns[indices]`` (float16 cache), as dict name -> (n, d) float32.

    HAADF comes back in the units of the measured map (the training scale is undone); a
    closure model's "other" column comes back separately as ``other``.
    """
    from .data import PatternBatches

    index = np.column_stack([np.zeros(len(indices), dtype=int), np.asarray(indices)])
    batches = PatternBatches([patterns], index, None, scaling, batch_size, workers=data_workers)
    outputs = model.predict(batches, verbose=0)
    if not isinstance(outputs, dict):
        outputs = {"eds": outputs}
    result = {name: np.asarray(values, dtype=np.float32) for name, values in outputs.items()}
    n_elements = len(scaling["elements"])
    if result["eds"].shape[1] == n_elements + 1:  # closure: the last column is "other"
        result["eds"], result["other"] = result["eds"][:, :n_elements], result["eds"][:, n_elements:]
    if "haadf" in result:
        result["haadf"] = result["haadf"][:, 0] * np.float32(scaling["haadf_scale"])
    return result


def predict_scan(model_path, scaling_path, calibration_path, roles_path, cache_path, scan, output_npz, batch_size,
                 backend_settings):
    """Predict every pattern of one cached scan; write maps shaped like the cropped scan
    (format: :func:`write_prediction`). Calibrated maps are projected onto possible compositions
    (fractions >= 0 summing to <= 1, or to 1 with a closure model's "other"; HAADF >= 0), and
    each output's calibration choice is stored beside them."""
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
    eds, other = project_composition(calibrated["eds"], closure="other" in raw)
    maps = {"predicted": raw["eds"], "predicted_calibrated": eds}
    if "other" in raw:
        maps["predicted_other"] = raw["other"]
        maps["predicted_other_calibrated"] = other
    if "haadf" in raw:
        maps["haadf_predicted"] = raw["haadf"]
        maps["haadf_predicted_calibrated"] = np.clip(calibrated["haadf"], 0, None)
    outputs = elements + (["haadf"] if "haadf" in raw else [])
    choices = np.array([calibration["outputs"][name]["choice"] for name in outputs])
    write_prediction(output_npz, cache, scan_role(roles_path, scan, (rows, cols)), maps, calibration_choice=choices)
