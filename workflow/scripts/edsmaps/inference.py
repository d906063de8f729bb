"""Run a trained model on cached patterns: loading it and predicting a set of patterns."""

import numpy as np

from .blur import NO_PRIOR, blur_pixel_values


def load_trained_model(model_path):
    """Load a ``.keras`` model safely (no arbitrary code), uncompiled."""
    import keras

    return keras.saving.load_model(model_path, compile=False, safe_mode=True)


def predict_patterns(model, patterns, indices, scaling, batch_size, dose, data_workers=1):
    """Model outputs for ``patterns[indices]`` (float16 cache of a scan of ``dose`` mean counts per
    pattern, seen at the model's training dose), as dict name -> (n, d) float32.

    HAADF comes back in the units of the measured map (the training scale is undone); a
    closure model's "other" column comes back separately as ``other``.
    """
    from .cacheset import dose_factor
    from .data import PatternBatches

    index = np.column_stack([np.zeros(len(indices), dtype=int), np.asarray(indices)])
    batches = PatternBatches([patterns], index, None, scaling, batch_size, workers=data_workers,
                             dose_factors=[dose_factor(scaling["dose"], dose)])
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


def predict_scan_pixels(model, patterns, indices, scan_shape, scaling, batch_size, dose, spatial_prior=NO_PRIOR):
    """:func:`predict_patterns` of ``patterns[indices]`` of one (rows, cols) scan, with the spatial
    prior (blur method, kernel): the maps are predicted whole and the composition outputs blurred
    with the EDS labels' kernel before ``indices`` are picked (:func:`with_prior`). ("none", 1)
    predicts ``indices`` alone."""
    if spatial_prior[0] == "none":
        return predict_patterns(model, patterns, indices, scaling, batch_size, dose)
    whole = predict_patterns(model, patterns, np.arange(scan_shape[0] * scan_shape[1]), scaling, batch_size, dose)
    return with_prior(whole, indices, scan_shape, spatial_prior)


def with_prior(whole, indices, scan_shape, spatial_prior):
    """``indices`` of the outputs (dict name -> (N, ...)) of a whole (rows, cols) scan, the
    composition outputs blurred with the spatial prior (blur method, kernel) first, so a pixel's
    prediction mixes its neighbours' predictions (never a label). HAADF, whose label is not
    blurred, is left as it is."""
    method, kernel = spatial_prior
    indices = np.asarray(indices)
    picked = {}
    for name, values in whole.items():
        if name == "haadf" or method == "none":
            picked[name] = values[indices]
            continue
        columns = values.reshape(len(values), -1)
        smooth = blur_pixel_values(columns, tuple(scan_shape), method, int(kernel)).astype(np.float32)
        picked[name] = smooth.reshape(values.shape)[indices]
    return picked
