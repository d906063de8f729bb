"""Physically possible compositions: what every calibrated map is projected onto."""

import numpy as np


def project_composition(eds, closure=False, fixed=None):
    """Nearest physically possible composition of each row of ``eds`` (n, E): every fraction
    >= 0 and their sum <= 1 (the element list may be incomplete). With ``closure`` the sum is 1
    with the "other" share, returned as a second array ``1 - sum``; without it, None.

    ``fixed`` (E,) bool marks columns kept as they are (a dead output's constant, which the
    projection must not move); the others are projected onto {c >= 0, sum(c) <= 1 - sum(fixed)}.

    The Euclidean projection onto {c >= 0, sum(c) <= b}: clipping at 0 when that sums to at
    most b, else the projection onto the simplex {c >= 0, sum(c) = b} (sort-based).
    """
    eds = np.asarray(eds, dtype=np.float64)
    fixed = np.zeros(eds.shape[1], dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
    out = eds.copy()
    free = eds[:, ~fixed]
    budget = np.clip(1 - eds[:, fixed].sum(axis=1), 0, None)
    clipped = np.clip(free, 0, None)
    over = clipped.sum(axis=1) > budget
    if over.any():
        rows = free[over]
        ordered = -np.sort(-rows, axis=1)
        cumulative = np.cumsum(ordered, axis=1) - budget[over, None]
        k = np.arange(1, rows.shape[1] + 1)
        rho = np.maximum((ordered - cumulative / k > 0).sum(axis=1), 1)
        theta = cumulative[np.arange(len(rows)), rho - 1] / rho
        clipped[over] = np.clip(rows - theta[:, None], 0, None)
    out[:, ~fixed] = clipped
    other = np.clip(1 - out.sum(axis=1, keepdims=True), 0, None) if closure else None
    return out.astype(np.float32), (None if other is None else other.astype(np.float32))
