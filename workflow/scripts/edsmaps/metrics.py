"""Scores of predicted composition maps, on test pixels only.

Definitions (per element, over the test pixels of one scan):
- ``pearson_r``: Pearson correlation (scipy); NaN with a warning when either map is constant;
- ``mae``: mean absolute error in atomic fraction;
- ``abs_error_at_pct``: the same in at.% (100 x mae);
- ``percent_error``: 100 x mae / mean(reference), the paper's Fig. 1D;
- ``r2``: coefficient of determination (scikit-learn), reference as the truth;
- ``coverage_2sigma``: share of the reference values within +-2 sigma of the calibrated
  prediction, sigma the model's calibrated uncertainty (:mod:`edsmaps.intervals`); NaN where
  there is none (raw predictions, ceilings).
References: ``eds_blurred`` (the paper's target), ``eds_unblurred`` (as measured) and
``truth`` (the noise-free composition, demo data only).
"""

import warnings

import numpy as np

from .intervals import covered
from .prediction_file import read_prediction
from .strategies import TEST

REFERENCES = ("eds_blurred", "eds_unblurred", "truth")
PREDICTIONS = {"raw": "predicted", "calibrated": "predicted_calibrated"}
METRICS = ("pearson_r", "mae", "abs_error_at_pct", "percent_error", "r2", "coverage_2sigma")


class ConstantMapWarning(UserWarning):
    pass


def pearson_r(reference, predicted):
    """Pearson r; NaN (with a ConstantMapWarning) when either input is constant or empty."""
    from scipy.stats import pearsonr

    reference, predicted = np.asarray(reference, float), np.asarray(predicted, float)
    if reference.size < 2 or np.ptp(reference) == 0 or np.ptp(predicted) == 0:
        warnings.warn("constant map: Pearson r is undefined (NaN)", ConstantMapWarning, stacklevel=2)
        return float("nan")
    return float(pearsonr(reference, predicted).statistic)


def scores(reference, predicted, sigma=None):
    """All METRICS of one element's maps (1D arrays of test pixels; ``sigma`` the calibrated
    uncertainty of ``predicted``, or None)."""
    from sklearn.metrics import r2_score

    reference, predicted = np.asarray(reference, float), np.asarray(predicted, float)
    inside = np.nan if sigma is None else covered(predicted - reference, sigma)
    mae = float(np.mean(np.abs(predicted - reference)))
    mean = float(np.mean(reference))
    return {
        "pearson_r": pearson_r(reference, predicted),
        "mae": mae,
        "abs_error_at_pct": 100 * mae,
        "percent_error": 100 * mae / mean if mean != 0 else float("nan"),
        "r2": float(r2_score(reference, predicted)) if reference.size > 1 else float("nan"),
        "coverage_2sigma": inside,
    }


def truth_maps(truth_npz, elements, crop_origin, scan_shape):
    """Noise-free composition (rows, cols, E) of the cropped scan from a demo truth file."""
    with np.load(truth_npz, allow_pickle=False) as truth:
        names = [str(e) for e in truth["elements"]]
        r0, c0 = (int(v) for v in crop_origin)
        rows, cols = (int(v) for v in scan_shape)
        comp = truth["composition"][r0 : r0 + rows, c0 : c0 + cols]
        return np.stack([comp[..., names.index(e)] for e in elements], axis=-1)


def load_prediction(path, truth_npz=None):
    """Prediction NPZ as a dict, with ``truth`` (rows, cols, E) added when ``truth_npz`` is given."""
    pred = read_prediction(path)
    pred["elements"] = [str(e) for e in pred["elements"]]
    if truth_npz is not None:
        pred["truth"] = truth_maps(truth_npz, pred["elements"], pred["crop_origin"], pred["scan_shape"])
    return pred


def score_prediction(pred, labels, sigma=None):
    """Rows (dicts) of every output x prediction kind x reference on the test pixels of ``pred``.

    ``labels`` (strategy, variant, scan ...) are copied into every row. No test pixel -> no rows.
    Calibrated rows of a CNN carry its ``calibration`` choice (identity, linear, or mean: a dead
    output); other rows an empty string. ``sigma`` (rows, cols, E), the calibrated uncertainty,
    gives the calibrated element rows their ``coverage_2sigma``.
    """
    test = pred["role"] == TEST
    if not test.any():
        return []
    choices = [str(c) for c in pred.get("calibration_choice", [])]
    rows = []
    for kind, key in PREDICTIONS.items():
        for reference in REFERENCES:
            if reference not in pred or not np.isfinite(pred[reference][test]).all():
                continue
            for i, element in enumerate(pred["elements"]):
                band = sigma[..., i][test] if sigma is not None and kind == "calibrated" else None
                rows.append({**labels, "output": element, "prediction": kind, "reference": reference,
                             "n_pixels": int(test.sum()), "calibration": _choice(choices, i, kind),
                             **scores(pred[reference][..., i][test], pred[key][..., i][test], band)})
        haadf_key = "haadf_" + key
        if haadf_key in pred and np.isfinite(pred["haadf"][test]).all():
            rows.append({**labels, "output": "HAADF", "prediction": kind, "reference": "haadf",
                         "n_pixels": int(test.sum()), "calibration": _choice(choices, len(pred["elements"]), kind),
                         **scores(pred["haadf"][test], pred[haadf_key][test])})
    return rows


def _choice(choices, i, kind):
    return choices[i] if kind == "calibrated" and i < len(choices) else ""


SUMMARY_KEYS = ["strategy", "kind", "variant", "output", "prediction", "reference"]


def summarise(table):
    """Mean and std over test scans (and replicates) of every metric, DataFrame in and out.

    ``<metric>_seed_std`` is the std over replicates (training seeds) of their mean over
    scans: NaN with one replicate. Tables without ``kind``/``replicate`` columns are one
    CNN replicate.
    """
    table = table.assign(**{k: v for k, v in (("kind", "cnn"), ("replicate", 1)) if k not in table})
    grouped = table.groupby(SUMMARY_KEYS, sort=False)[list(METRICS)]
    summary = grouped.agg(["mean", "std"])
    summary.columns = [f"{metric}_{stat}" for metric, stat in summary.columns]
    spread_metrics = ["pearson_r", "mae", "coverage_2sigma"]
    per_seed = table.groupby(SUMMARY_KEYS + ["replicate"], sort=False)[spread_metrics].mean()
    seed_std = per_seed.groupby(level=SUMMARY_KEYS, sort=False).std()
    for metric in spread_metrics:
        summary[f"{metric}_seed_std"] = seed_std[metric]
    summary["n_scans"] = table.groupby(SUMMARY_KEYS, sort=False)["scan"].nunique()
    summary["n_replicates"] = table.groupby(SUMMARY_KEYS, sort=False)["replicate"].nunique()
    if "calibration" in table:  # the replicates' choices, e.g. "linear" or "linear/mean"
        summary["calibration"] = table.groupby(SUMMARY_KEYS, sort=False)["calibration"].agg(
            lambda c: "/".join(sorted(set(c.fillna("").astype(str)) - {""})))
    return summary.reset_index()


def cross_correlation(real, predicted):
    """Element x element Pearson matrices of pixels (n, E): real-real, predicted-predicted and
    real (rows) vs predicted (columns). Constant columns give NaN entries."""
    e = real.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        both = np.corrcoef(np.concatenate([real, predicted], axis=1), rowvar=False)
    return {"real": both[:e, :e], "predicted": both[e:, e:], "real_vs_predicted": both[:e, e:]}


def pooled_test_pixels(predictions, reference="eds_blurred", kind="calibrated"):
    """Test pixels of several predictions stacked: (real (n, E), predicted (n, E))."""
    real, predicted = [], []
    for pred in predictions:
        test = pred["role"] == TEST
        real.append(pred[reference][test])
        predicted.append(pred[PREDICTIONS[kind]][test])
    return np.concatenate(real), np.concatenate(predicted)
