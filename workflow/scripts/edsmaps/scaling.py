"""Input scaling of diffraction patterns, fitted on training pixels only and saved with the model.

- ``paper``: counts / 2**16, as Code 1 (no statistic to fit);
- ``log``: log1p(counts) / log1p(c), c the ``percentile`` of training-pixel counts, so most
  values lie in [0, 1] while keeping low-dose structure visible.
HAADF targets (auxiliary head) are divided by their training-pixel mean.
"""

import json

import numpy as np

SCALINGS = ("paper", "log")


def fit_input_scaling(method, sources, divisor, percentile=99.9, sample=200000, seed=0):
    """Fit ``method`` on training pixels only.

    ``sources``: list of (patterns (N, Qy, Qx) cached values, indices of training patterns);
    counts = value * ``divisor``. Returns a JSON-serialisable dict for :func:`scale_patterns`.
    """
    if method not in SCALINGS:
        raise ValueError(f"unknown input scaling '{method}'; choose one of {SCALINGS}")
    params = {"method": method, "divisor": float(divisor)}
    if method == "log":
        rng = np.random.default_rng(seed)
        draws = []
        per_source = max(1, sample // len(sources))
        for patterns, indices in sources:
            rows = rng.choice(np.asarray(indices), size=per_source)
            cols = rng.integers(0, int(np.prod(patterns.shape[1:])), size=per_source)
            draws.append(sampled_values(patterns, rows, cols) * np.float32(divisor))
        reference = np.percentile(np.concatenate(draws), percentile)
        params["log_reference"] = float(max(np.log1p(reference), 1e-6))
        params["percentile"] = percentile
    return params


def sampled_values(patterns, rows, cols, chunk=256):
    """(n,) float32: the value at flat position ``cols[i]`` of pattern ``rows[i]``, reading
    ``chunk`` patterns at a time (``patterns`` may be a :class:`edsmaps.pattern_file.PatternFile`)."""
    values = np.empty(len(rows), dtype=np.float32)
    order = np.argsort(rows, kind="stable")
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        unique, inverse = np.unique(rows[part], return_inverse=True)
        values[part] = patterns[unique].reshape(len(unique), -1)[inverse, cols[part]]
    return values


def scale_patterns(cached, params, dtype=np.float32):
    """Scale a batch of cached patterns (float16, any shape) to network input: computed in
    float32, returned as ``dtype`` (float16 under mixed precision halves host-to-GPU traffic
    and loses nothing, the first layer computes in float16 anyway)."""
    x = np.asarray(cached, dtype=np.float32)
    if params["method"] == "paper":
        x *= np.float32(params["divisor"] / 2.0**16)
    else:
        np.multiply(x, np.float32(params["divisor"]), out=x)
        np.log1p(x, out=x)
        x *= np.float32(1.0 / params["log_reference"])
    return x if x.dtype == dtype else x.astype(dtype)


def at_dose(params, factor):
    """Input scaling for a scan whose counts are multiplied by ``factor`` (``dose_factor``)."""
    return {**params, "divisor": params["divisor"] * factor}


def load_json(path):
    with open(path) as fh:
        return json.load(fh)
