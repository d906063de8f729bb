"""Apply a trained model (+ its input scaling and calibration) to cached scans."""

import numpy as np

from .atomic import atomic_output
from .calibration import apply_calibration, load_calibration
from .scaling import load_json
from .strategies import UNUSED


def load_trained_model(model_path):
    """Load a ``.keras`` model safely (no arbitrary code), uncompiled."""
    import keras

    return keras.saving.load_model(model_path, compile=False, safe_mode=True)


def predict_patterns(model, patterns, indices, scaling, batch_size):
    """Model outputs for ``patterns[indices]`` (float16 cache), as dict name -> (n, d) float32.

    HAADF comes back in the units of the measured map (the training scale is undone).
    """
    from .data import PatternBatches

    index = np.column_stack([np.zeros(len(indices), dtype=int), np.asarray(indices)])
    batches = PatternBatches([patterns], index, None, scaling, batch_size)
    outputs = model.predict(batches, verbose=0)
    if not isinstance(outputs, dict):
        outputs = {"eds": outputs}
    result = {name: np.asarray(values, dtype=np.float32) for name, values in outputs.items()}
    if "haadf" in result:
        result["haadf"] = result["haadf"][:, 0] * np.float32(scaling["haadf_scale"])
    return result


def predict_scan(model_path, scaling_path, calibration_path, roles_path, cache_path, scan, output_npz, batch_size,
                 backend_settings):
    """Predict every pattern of one cached scan and write maps shaped like the cropped scan.

    Output NPZ: ``elements``; ``scan_shape``; ``crop_origin``; ``r_pixel_size/units``;
    ``predicted`` and ``predicted_calibrated`` (rows, cols, E) atomic fraction;
    ``haadf_predicted`` / ``haadf_predicted_calibrated`` (rows, cols) when the model has a
    HAADF head; truths ``eds_blurred``, ``eds_unblurred`` (rows, cols, E) and ``haadf``
    (rows, cols) (NaN when absent); ``role`` (rows, cols) int8 of the strategy's split
    (0 unused, 1 train, 2 validation, 3 test).
    """
    from .backend import setup_backend
    from .strategies import load_roles

    setup_backend(**backend_settings)
    scaling = load_json(scaling_path)
    calibration = load_calibration(calibration_path)
    model = load_trained_model(model_path)
    with np.load(cache_path, allow_pickle=False) as npz:
        cache = {key: npz[key] for key in npz.files}
    elements = [str(e) for e in cache["elements"]]
    if elements != scaling["elements"]:
        raise ValueError(f"{cache_path}: elements {elements} differ from the model's {scaling['elements']}")
    rows, cols = (int(v) for v in cache["scan_shape"])
    raw = predict_patterns(model, cache["patterns"], np.arange(rows * cols), scaling, batch_size)
    calibrated = apply_calibration(raw, calibration, elements)
    roles = load_roles(roles_path)
    role = roles.get(scan, np.full((rows, cols), UNUSED, dtype=np.int8))
    maps = {
        "predicted": raw["eds"].reshape(rows, cols, -1),
        "predicted_calibrated": calibrated["eds"].reshape(rows, cols, -1),
        "eds_blurred": cache["targets"].reshape(rows, cols, -1),
        "eds_unblurred": cache["targets_unblurred"].reshape(rows, cols, -1),
        "haadf": cache["haadf"].reshape(rows, cols),
    }
    if "haadf" in raw:
        maps["haadf_predicted"] = raw["haadf"].reshape(rows, cols)
        maps["haadf_predicted_calibrated"] = calibrated["haadf"].reshape(rows, cols)
    with atomic_output(output_npz) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                elements=np.array(elements),
                scan_shape=cache["scan_shape"],
                crop_origin=cache["crop_origin"],
                r_pixel_size=cache["r_pixel_size"],
                r_pixel_units=cache["r_pixel_units"],
                role=role.astype(np.int8),
                **{k: v.astype(np.float32) for k, v in maps.items()},
            )
