"""The oracle ceiling of the demo: what the data allow a model to learn.

Gradient-boosted trees given the hidden quantities through which the demo's composition reaches
its patterns and HAADF (:func:`edsmaps.demo.hidden_quantities`), fitted on the pixels the
strategy's baselines are finally fitted on, their maps blurred with the labels' kernel. The demo tells Sb from Te barely, as elastic scattering does:
a model's share of this ceiling is what it learned of what there was to learn. Never a model a
user gets: it reads the truth.
"""

import numpy as np

from .strategies import load_roles

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


def fit_and_predict_oracle(training_scans, cache_paths, truth_paths, split_path, prediction_paths, label_blur, seed,
                           refit=None):
    """Fit the oracle on the pixels a strategy's baselines are finally fitted on and write its maps
    of the scans asked for.

    The rounds are fixed (:data:`edsmaps.boosting.MAX_ROUNDS`), not chosen on validation pixels:
    its features are noise-free, and validation blocks of the training scans under-fit what
    extrapolation needs (one round for Sb on the default demo's ``extrapolate``, r 0.68 instead
    of 0.81).

    Args:
        training_scans: the strategy's training scans.
        cache_paths: {scan: cache NPZ} of every scan read; truth_paths: {scan: demo truth NPZ}.
        split_path: the strategy's split NPZ.
        prediction_paths: {scan: prediction NPZ} written (:func:`edsmaps.prediction_file.write_prediction`).
        label_blur: (method, kernel) the EDS labels were blurred with: the maps' blur.
        seed: the trees' seed.
        refit: the strategy's split settings where the baselines are refitted (their final pixels,
            :func:`edsmaps.strategies.fit_pixels`), else None: the training pixels.
    """
    from .blur import blur_pixel_values
    from .boosting import MAX_ROUNDS, fit_trees, predict_trees
    from .cacheset import CacheSet
    from .composition import project_composition
    from .prediction_file import read_cache, scan_role, write_prediction
    from .strategies import fit_pixels

    caches = CacheSet({scan: cache_paths[scan] for scan in training_scans})
    pixels = fit_pixels(caches, load_roles(split_path), refit)
    features = {scan: _features(truth_paths[scan], read_cache(cache_paths[scan])) for scan in training_scans}
    x = np.concatenate([features[scan][pixels.index[pixels.index[:, 0] == number, 1]]
                        for number, scan in enumerate(caches.scans)])
    trees = fit_trees(x, pixels.eds, [MAX_ROUNDS] * pixels.eds.shape[1], seed)
    for scan, output_npz in prediction_paths.items():
        cache = read_cache(cache_paths[scan])
        shape = tuple(int(v) for v in cache["scan_shape"])
        predicted = blur_pixel_values(predict_trees(trees, _features(truth_paths[scan], cache)), shape,
                                      str(label_blur[0]), int(label_blur[1])).astype(np.float32)
        maps = {"predicted": predicted, "predicted_calibrated": project_composition(predicted)[0]}
        write_prediction(output_npz, cache, scan_role(split_path, scan, shape), maps, dose_ratio=1.0,
                         fit_pixels=len(x))
