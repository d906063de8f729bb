"""Check that the diffraction stack's scan order matches the HAADF map.

A stack written column-major (transposed) or serpentine is a common export mistake; it
silently pairs each pattern with the wrong EDS pixel. The virtual ADF image, built from
the patterns in the order we assume, must correlate best with the HAADF map as given.
"""

import numpy as np


def candidate_orders(image):
    """The (rows, cols) image under each scan-order hypothesis for the flat pattern stack."""
    rows, cols = image.shape
    serpentine = image.copy()
    serpentine[1::2] = serpentine[1::2, ::-1]
    return {
        "as_given": image,
        "transposed": image.ravel().reshape(cols, rows).T,
        "serpentine": serpentine,
    }


def _pearson(a, b):
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


def check_scan_order(virtual_adf, haadf):
    """Pearson r of the virtual ADF under each hypothesis with the HAADF map.

    Returns a dict with ``correlations``, ``best`` and ``ok`` (False when a hypothesis other
    than ``as_given`` fits better by more than 0.05).
    """
    correlations = {name: _pearson(img, haadf) for name, img in candidate_orders(virtual_adf).items()}
    finite = {k: v for k, v in correlations.items() if np.isfinite(v)}
    best = max(finite, key=finite.get) if finite else "as_given"
    ok = best == "as_given" or finite[best] - finite.get("as_given", -np.inf) <= 0.05
    return {"correlations": correlations, "best": best, "ok": bool(ok)}
