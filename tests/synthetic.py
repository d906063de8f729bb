"""Synthetic NPZ caches in the workflow's cache format, for tests with a known answer."""

import numpy as np


def write_cache(path, patterns, targets, haadf, elements, scan_shape, divisor=1.0):
    """A cache (see edsmaps.caching) of float16 ``patterns`` (N, Q, Q) and (N, E) targets."""
    np.savez(
        path,
        patterns=np.asarray(patterns, dtype=np.float16),
        pattern_divisor=np.float64(divisor),
        dose=np.float64(np.asarray(patterns, dtype=np.float64).sum(axis=(1, 2)).mean() * divisor),
        targets=np.asarray(targets, dtype=np.float32),
        targets_unblurred=np.asarray(targets, dtype=np.float32),
        haadf=np.asarray(haadf, dtype=np.float32),
        has_haadf=np.bool_(True),
        has_eds=np.bool_(True),
        elements=np.array(elements),
        scan_shape=np.array(scan_shape),
        crop_origin=np.array([0, 0]),
        r_pixel_size=np.float64(1.0),
        r_pixel_units=np.array("nm"),
    )
    return path
