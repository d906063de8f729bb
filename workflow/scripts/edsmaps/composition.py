"""Physically possible compositions: what every calibrated map is projected onto."""

import numpy as np


def project_composition(eds, closure=False):
    """Nearest physically possible composition of each row of ``eds`` (n, E): every fraction
    >= 0 and their sum <= 1 (the element list may be incomplete). With ``closure`` the sum is 1
    with the "other" share, returned as a second array ``1 - sum``; without it, None.

    The Euclidean projection onto {c >= 0, sum(c) <= 1}: clipping at 0 when that sums to at
    most 1, else the projection onto the simplex {c >= 0, sum(c) = 1} (sort-based).
    """
    eds = np.asarray(eds, dtype=np.float64)
    clipped = np.clip(eds, 0, None)
    over = clipped.sum(axis=1) > 1
    if over.any():
        rows = eds[over]
        ordered = -np.sort(-rows, axis=1)
        cumulative = np.cumsum(ordered, axis=1) - 1
        k = np.arange(1, rows.shape[1] + 1)
        rho = (ordered - cumulative / k > 0).sum(axis=1)
        theta = cumulative[np.arange(len(rows)), rho - 1] / rho
        clipped[over] = np.clip(rows - theta[:, None], 0, None)
    other = np.clip(1 - clipped.sum(axis=1, keepdims=True), 0, None) if closure else None
    return clipped.astype(np.float32), (None if other is None else other.astype(np.float32))
