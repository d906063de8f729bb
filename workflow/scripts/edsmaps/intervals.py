"""Error bars that cover what they claim: every model's uncertainty scaled, per element, by split
conformal prediction on held-out validation pixels.

A model's raw uncertainty is the spread of its members (bootstrap refits, training seeds),
which says where the model is unsure but not by how much: on the demo a 2-sigma band of the
raw spread covered a third of the test pixels. Here each element's sigma is

    sigma = scale * max(spread, floor)

with ``floor`` = FLOOR_SHARE x the median spread on the validation pixels (a pixel where the
members happen to agree is not certain) and ``scale`` chosen so that the band +-2 sigma holds
LEVEL of the validation pixels' errors: the finite-sample conformal quantile of
|error| / max(spread, floor), halved. A model with one member (a single CNN) has spread 1
everywhere: its sigma is the conformal quantile of its validation errors, one width per element.

Validation pixels lie in blocks held out from training (buffered from the training pixels by
the blur radius, so no fitted label shares their EDS counts). A refitted baseline is scaled on
the errors of its fit before the refit, which never saw them. The coverage reported for
validation is cross-fitted: each block is judged with the scale fitted on the other blocks.
"""

import numpy as np

LEVEL = 0.95
FLOOR_SHARE = 0.5


def conformal_quantile(scores, level=LEVEL):
    """The ceil((n + 1) * level)-th smallest of ``scores`` (the largest when there are fewer
    than 1 / (1 - level) of them): a new exchangeable score lies at or below it with
    probability at least ``level``."""
    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    if not len(ordered):
        return np.nan
    k = int(np.ceil((len(ordered) + 1) * level))
    return float(ordered[min(k, len(ordered)) - 1])


def fit_scale(errors, spread, level=LEVEL):
    """(scale, floor) of one element: sigma = scale * max(spread, floor) covers ``level`` of the
    validation ``errors`` (n,) within +-2 sigma. ``spread`` (n,) is the members' spread, or None
    for a model with one member (spread 1, floor 0)."""
    errors = np.abs(np.asarray(errors, dtype=np.float64))
    if spread is None:
        return conformal_quantile(errors, level) / 2, 0.0
    spread = np.asarray(spread, dtype=np.float64)
    floor = FLOOR_SHARE * float(np.median(spread))
    floored = np.maximum(spread, floor)
    if not floored.max() > 0:  # members that never disagree: an interval from the errors alone
        return conformal_quantile(errors, level) / 2, 1.0
    return conformal_quantile(errors / np.maximum(floored, 1e-12), level) / 2, floor


def sigma(spread, scale, floor):
    """Calibrated sigma: ``scale`` x max(``spread``, ``floor``); ``spread`` None (one member): the
    constant ``scale``."""
    if spread is None:
        return np.float32(scale)
    return (scale * np.maximum(np.asarray(spread, dtype=np.float64), floor)).astype(np.float32)


def covered(errors, sigmas):
    """Share of ``errors`` within +-2 ``sigmas``."""
    return float(np.mean(np.abs(errors) <= 2 * np.asarray(sigmas)))


def cross_fitted_coverage(errors, spread, blocks, level=LEVEL):
    """Coverage of the band on each spatial block with the scale fitted on the other blocks,
    pooled over the pixels: what a new region of the sample would see. NaN with one block."""
    blocks = np.asarray(blocks)
    inside = np.zeros(len(errors), dtype=bool)
    ids = np.unique(blocks)
    if len(ids) < 2:
        return float("nan")
    for block in ids:
        mine = blocks == block
        others = None if spread is None else spread[~mine]
        scale, floor = fit_scale(errors[~mine], others, level)
        inside[mine] = np.abs(errors[mine]) <= 2 * sigma(None if spread is None else spread[mine], scale, floor)
    return float(inside.mean())


def fit_intervals(errors, spread, blocks, elements, level=LEVEL):
    """Per element, the scale and floor of its sigma and its cross-fitted validation coverage.

    Args:
        errors: (n, E) calibrated prediction minus label on the validation pixels.
        spread: (n, E) members' spread, or None for a model with one member.
        blocks: (n,) spatial block of each pixel.
        elements: the E element names.
    Returns:
        list of dicts: element, sigma_source (members / residuals), sigma_scale, sigma_floor,
        nominal_coverage, validated_coverage, n_pixels.
    """
    rows = []
    for i, element in enumerate(elements):
        column = None if spread is None else spread[:, i]
        scale, floor = fit_scale(errors[:, i], column, level)
        rows.append({"element": element, "sigma_source": "residuals" if spread is None else "members",
                     "sigma_scale": scale, "sigma_floor": floor, "nominal_coverage": level,
                     "validated_coverage": cross_fitted_coverage(errors[:, i], column, blocks, level),
                     "n_pixels": int(len(errors))})
    return rows


def prediction_sigma(pred, rows):
    """Calibrated sigma maps (rows, cols, E) float32 of a prediction (dict of arrays) from its
    model's interval rows (dicts or a DataFrame's records, one per element)."""
    by_element = {str(r["element"]): r for r in rows}
    calibrated = pred["predicted_calibrated"]
    out = np.empty(calibrated.shape, dtype=np.float32)
    for i, element in enumerate(pred["elements"]):
        row = by_element[str(element)]
        spread = pred["predicted_std"][..., i] if row["sigma_source"] == "members" else None
        out[..., i] = sigma(spread, float(row["sigma_scale"]), float(row["sigma_floor"]))
    return out


def load_intervals(path):
    """{(strategy, model): [row per element]} from ``intervals.tsv``."""
    import pandas as pd

    table = pd.read_csv(path, sep="\t", dtype={"strategy": str, "model": str, "element": str})
    return {key: part.to_dict("records") for key, part in table.groupby(["strategy", "model"], sort=False)}
