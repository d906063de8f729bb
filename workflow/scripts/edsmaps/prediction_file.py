"""The prediction NPZ every model (CNN or baseline) writes, and the inputs it is built from."""

import numpy as np

from .atomic import atomic_output
from .strategies import UNUSED


def read_cache(cache_path):
    """A cache NPZ as a dict of arrays (its dose checked, :func:`edsmaps.cacheset.cache_dose`);
    its ``patterns`` stay on disk, read where indexed (:class:`edsmaps.pattern_file.PatternFile`)."""
    from .cacheset import cache_dose
    from .pattern_file import PatternFile

    with np.load(cache_path, allow_pickle=False) as npz:
        cache_dose(npz, cache_path)
        cache = {key: npz[key] for key in npz.files if key != "patterns"}
    return {**cache, "patterns": PatternFile(cache_path)}


def scan_role(split_path, scan, shape):
    """The scan's pixel roles in a strategy's split (all UNUSED for a scan outside it)."""
    from .strategies import load_roles

    return load_roles(split_path).get(scan, np.full(shape, UNUSED, dtype=np.int8))


def read_prediction(path):
    """A prediction NPZ (:func:`write_prediction`) as a dict of arrays."""
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def write_prediction(output_npz, cache, role, predicted, dose_ratio, fit_pixels, calibration_choice=None):
    """Write per-pixel predictions (dict name -> (N, ...) arrays) as maps beside the cache's truths.

    Output NPZ: ``elements``; ``scan_shape``; ``crop_origin``; ``r_pixel_size/units``;
    ``predicted`` and ``predicted_calibrated`` (rows, cols, E) atomic fraction;
    ``predicted_std`` (rows, cols, E) the uncertainty (spread of a model's members) when it has
    one; ``held_out_calibrated`` / ``held_out_std`` of a refitted baseline on a training scan,
    each validation pixel as predicted by the cross-fitted model that never saw it (what
    validation scores);
    ``dose_ratio`` the scan's dose over the model's training dose; ``n_fit_pixels`` the
    EDS-labelled pixels the model was fitted on (``fit_pixels``);
    ``predicted_other`` (rows, cols, 1) with closure; ``haadf_predicted`` /
    ``haadf_predicted_calibrated`` (rows, cols) when the model has a HAADF head; truths
    ``eds_blurred``, ``eds_unblurred`` (rows, cols, E) and ``haadf`` (rows, cols) (NaN when
    absent); ``role`` (rows, cols) int8 of the strategy's split (0 unused, 1 train,
    2 validation, 3 test); ``calibration_choice`` (E[+1],) str, per element (then HAADF), the
    calibration of a CNN (identity, linear or mean: dead), absent for baselines.
    """
    rows, cols = (int(v) for v in cache["scan_shape"])
    maps = {
        "eds_blurred": cache["targets"],
        "eds_unblurred": cache["targets_unblurred"],
        "haadf": cache["haadf"],
        **predicted,
    }
    maps = {k: np.asarray(v, dtype=np.float32).reshape(rows, cols, *np.shape(v)[1:]) for k, v in maps.items()}
    with atomic_output(output_npz) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            elements=cache["elements"],
            scan_shape=cache["scan_shape"],
            crop_origin=cache["crop_origin"],
            r_pixel_size=cache["r_pixel_size"],
            r_pixel_units=cache["r_pixel_units"],
            role=role.astype(np.int8),
            dose_ratio=np.float64(dose_ratio),
            n_fit_pixels=np.int64(fit_pixels),
            **({} if calibration_choice is None else {"calibration_choice": np.asarray(calibration_choice)}),
            **maps,
        )
