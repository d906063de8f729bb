"""The oracle ceiling of the demo: what the data allow a model to learn.

Gradient-boosted trees given the hidden quantities through which the demo's composition reaches
its patterns and HAADF (:func:`edsmaps.demo.hidden_quantities`), fitted on the strategy's
training pixels (rounds chosen on its validation pixels, as ``radial_boosting``), their maps
blurred with the labels' kernel. The demo tells Sb from Te barely, as elastic scattering does:
a model's share of this ceiling is what it learned of what there was to learn. Never a model a
user gets: it reads the truth.
"""

import numpy as np

from .strategies import TRAIN, VALIDATION, load_roles

ORACLE = "oracle"


def _features(truth_npz, cache):
    """(N, 5) hidden quantities of a cache's cropped pixels from the scan's truth NPZ."""
    from .demo import hidden_quantities

    (r0, c0), (rows, cols) = (int(v) for v in cache["crop_origin"]), (int(v) for v in cache["scan_shape"])
    with np.load(truth_npz, allow_pickle=False) as truth:
        crop = (slice(r0, r0 + rows), slice(c0, c0 + cols))
        quantities = hidden_quantities(truth["composition"][crop], truth["thickness"][crop],
                                       truth["crystallinity"][crop])
    return quantities.reshape(rows * cols, -1)


def fit_and_predict_oracle(training_scans, cache_paths, truth_paths, split_path, prediction_paths, label_blur, seed):
    """Fit the oracle on a strategy's training pixels and write its maps of the scans asked for.

    Args:
        training_scans: the strategy's training scans.
        cache_paths: {scan: cache NPZ} of every scan read; truth_paths: {scan: demo truth NPZ}.
        split_path: the strategy's split NPZ (training and validation pixels).
        prediction_paths: {scan: prediction NPZ} written (:func:`edsmaps.prediction_file.write_prediction`).
        label_blur: (method, kernel) the EDS labels were blurred with: the maps' blur.
        seed: the trees' seed.
    """
    from .blur import blur_pixel_values
    from .boosting import choose_rounds, fit_trees, predict_trees
    from .composition import project_composition
    from .prediction_file import read_cache, scan_role, write_prediction

    roles = load_roles(split_path)
    picked = {TRAIN: ([], []), VALIDATION: ([], [])}
    for scan in training_scans:
        cache = read_cache(cache_paths[scan])
        x = _features(truth_paths[scan], cache)
        for role, (xs, ys) in picked.items():
            chosen = roles[scan].ravel() == role
            xs.append(x[chosen])
            ys.append(cache["targets"][chosen])
    (x_train, y_train), (x_val, y_val) = ((np.concatenate(xs), np.concatenate(ys)) for xs, ys in picked.values())
    trees = fit_trees(x_train, y_train, choose_rounds(x_train, y_train, x_val, y_val, seed), seed)
    for scan, output_npz in prediction_paths.items():
        cache = read_cache(cache_paths[scan])
        shape = tuple(int(v) for v in cache["scan_shape"])
        predicted = blur_pixel_values(predict_trees(trees, _features(truth_paths[scan], cache)), shape,
                                      str(label_blur[0]), int(label_blur[1])).astype(np.float32)
        maps = {"predicted": predicted, "predicted_calibrated": project_composition(predicted)[0]}
        write_prediction(output_npz, cache, scan_role(split_path, scan, shape), maps, dose_ratio=1.0,
                         fit_pixels=len(x_train))
