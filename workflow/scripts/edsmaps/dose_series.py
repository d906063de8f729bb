"""Every fitted model's maps of a strategy's test scans recorded at fractions of the dose
(:mod:`edsmaps.dose`): the series :mod:`edsmaps.dose_curve` scores. It imports no model: each
family's predictor comes from its own module, so baselines and CNNs run in their own environments."""

from pathlib import Path

import numpy as np

from .dose import thinned_caches, thinning_rng
from .prediction_file import read_cache


def series_key(what, model, scan):
    """The NPZ key of one model's ``what`` (calibrated, std) series of one scan."""
    return f"{what}__{model}__{scan}"


def predict_dose_series(models, cache_paths, prediction_paths, fractions, seed, output_npz, predictor):
    """Fitted models' maps of every scan at every dose fraction, each (scan, fraction) thinned
    once and seen by every model.

    At the full dose a model's maps are its prediction files' (the same computation). A model
    that ignores its input (``predictor`` gives None) keeps its full-dose maps at every dose,
    without predicting again.

    Args:
        models: {model: (kind, paths)}: the artefacts ``predictor`` loads.
        cache_paths: {scan: cache NPZ} of the scans predicted.
        prediction_paths: {model: {scan: its full-dose prediction NPZ}}.
        fractions: dose fractions in (0, 1].
        seed: the thinning's seed (:func:`edsmaps.dose.thinning_rng`).
        output_npz: ``fractions`` (D,), ``scans``, ``models`` and per model and scan
            (:func:`series_key`) ``calibrated`` (D, rows, cols, E) float32 and, for a model with
            members, their spread ``std``.
        predictor: (kind, paths) -> a function cache -> (calibrated (N, E), spread (N, E) or
            None), or None for a model that ignores its input
            (:func:`edsmaps.baselines.baseline_predictor`, :func:`edsmaps.prediction.cnn_predictor`).
    """
    from .atomic import atomic_output
    from .prediction_file import read_prediction

    predictors = {model: predictor(kind, paths) for model, (kind, paths) in models.items()}
    arrays = {"fractions": np.asarray(fractions, dtype=np.float64), "scans": np.array(list(cache_paths)),
              "models": np.array(list(models))}
    for scan, path in cache_paths.items():
        cache = read_cache(path)
        shape = (*(int(v) for v in cache["scan_shape"]), len(cache["elements"]))
        maps = {model: {} for model in models}
        for fraction, thinned in thinned_caches(cache, fractions, lambda fraction: thinning_rng(seed, scan, fraction),
                                                Path(output_npz).parent):
            for model, predict in predictors.items():
                if fraction == 1 or predict is None:
                    full = read_prediction(prediction_paths[model][scan])
                    calibrated, spread = full["predicted_calibrated"], full.get("predicted_std")
                else:
                    calibrated, spread = predict(thinned)
                maps[model][fraction] = (np.reshape(calibrated, shape),
                                         None if spread is None else np.reshape(spread, shape))
        for model, by_fraction in maps.items():
            series = [by_fraction[fraction] for fraction in fractions]
            arrays[series_key("calibrated", model, scan)] = np.asarray([m for m, _ in series], dtype=np.float32)
            if series[0][1] is not None:
                arrays[series_key("std", model, scan)] = np.asarray([s for _, s in series], dtype=np.float32)
    with atomic_output(output_npz) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
