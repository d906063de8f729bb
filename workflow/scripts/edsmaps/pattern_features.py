"""What a baseline model kind sees of a diffraction pattern: log mean counts in virtual detectors
(a bright-field disk and annuli, py4DSTEM's geometry) or in equal-width annuli about the centre,
and binned log patterns, at absolute scale (cache units times the divisor and dose factor).
Patterns are converted chunk by chunk: a float16 cache is never held whole as float32.
"""

import numpy as np

from .centering import detector_centre

CHUNK = 1024


def virtual_detectors(pattern_shape, n_rings):
    """(n_rings, Qy, Qx) bool masks: a centred disk then annuli, equal widths to the edge."""
    from py4DSTEM import DataCube

    centre = tuple(float(c) for c in detector_centre(pattern_shape))
    edges = np.linspace(0, min(pattern_shape) / 2, n_rings + 1)
    masks = [DataCube.make_detector(pattern_shape, "circle", (centre, float(edges[1])))]
    masks += [DataCube.make_detector(pattern_shape, "annulus", (centre, (float(lo), float(hi))))
              for lo, hi in zip(edges[1:-1], edges[2:])]
    return np.stack(masks)


def virtual_features(patterns, indices, masks, divisor):
    """log(1 + mean counts) in every detector of ``patterns[indices]`` (float16 cache), chunked."""
    weights = (masks / masks.sum(axis=(1, 2), keepdims=True)).reshape(len(masks), -1).T.astype(np.float32)
    out = np.empty((len(indices), len(masks)), dtype=np.float32)
    for start in range(0, len(indices), CHUNK):
        chunk = patterns[indices[start : start + CHUNK]].astype(np.float32).reshape(-1, weights.shape[0])
        out[start : start + CHUNK] = chunk @ weights
    return np.log1p(out * np.float32(divisor))


def annulus_of_pixels(pattern_shape, n_annuli):
    """(Qy * Qx,) int: the equal-width annulus about the pattern centre (the pixel patterns are
    centred on) of every detector pixel, out to the inscribed circle; -1 beyond it (the corners)."""
    y, x = np.indices(pattern_shape) - np.array(detector_centre(pattern_shape))[:, None, None]
    annulus = np.floor(np.hypot(y, x) / (min(pattern_shape) / 2) * n_annuli).astype(int).ravel()
    annulus[annulus >= n_annuli] = -1
    return annulus


def radial_features(patterns, haadf, indices, annulus, divisor):
    """(n, A + 2) float32 of ``patterns[indices]``: log(1 + mean counts) in each annulus, then
    log(1 + total counts) and the HAADF signal (NaN without one: trees treat it as missing).

    The log of the annulus' mean, not the mean of each pixel's log: at a lower dose Poisson noise
    pulls the mean of logs down (a 0039-like scan at a quarter of the dose was mapped with a
    mean MAE of 2.28 at.% that way, 1.99 this way), while the mean count means the same at any
    dose once scaled by the dose factor."""
    inside = np.flatnonzero(annulus >= 0)
    n_annuli = int(annulus.max()) + 1
    weights = np.zeros((len(annulus), n_annuli), dtype=np.float32)
    weights[inside, annulus[inside]] = 1
    weights /= weights.sum(axis=0)
    out = np.empty((len(indices), n_annuli + 2), dtype=np.float32)
    for start in range(0, len(indices), CHUNK):
        rows = slice(start, start + CHUNK)
        counts = patterns[indices[rows]].astype(np.float32).reshape(-1, len(annulus)) * np.float32(divisor)
        out[rows, :n_annuli] = np.log1p(counts @ weights)
        out[rows, n_annuli] = np.log1p(counts.sum(axis=1))
    out[:, -1] = haadf[indices]
    return out


def log_patterns(patterns, indices, divisor, bin_factor):
    """log(1 + counts) of ``patterns[indices]``, binned by ``bin_factor``, flattened float32."""
    n, qy, qx = len(indices), patterns.shape[1] // bin_factor, patterns.shape[2] // bin_factor
    out = np.empty((n, qy * qx), dtype=np.float32)
    for start in range(0, n, CHUNK):
        chunk = patterns[indices[start : start + CHUNK], : qy * bin_factor, : qx * bin_factor].astype(np.float32)
        binned = chunk.reshape(len(chunk), qy, bin_factor, qx, bin_factor).sum(axis=(2, 4))
        out[start : start + CHUNK] = np.log1p(binned.reshape(len(chunk), -1) * np.float32(divisor))
    return out
