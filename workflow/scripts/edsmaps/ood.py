"""A warning where a scan without EDS is unlike the data the models learned from: per pixel, how
far its diffraction lies from the training pixels, judged against the validation pixels.

Features: the pattern's radial profile, log of the mean counts in equal-width annuli about the
centre, and the log of its total counts (as ``radial_boosting`` sees a pattern: composition
moves the amorphous rings and dims the central disk). Their Mahalanobis distance to the
training pixels of the strategy that maps the scan (Ledoit-Wolf covariance) is a pixel's
score; a pixel is flagged when its score exceeds the conformal (1 - ALPHA) quantile of the
validation pixels' scores, so that about ALPHA of pixels like the validation ones are flagged
by chance. A scan at a lower dose than the training scans has noisier patterns: the training
and validation patterns are then Poisson-thinned to the scan's dose first, so noise alone is
not mistaken for something new.
"""

import logging

import numpy as np

log = logging.getLogger(__name__)

ALPHA = 0.01
N_ANNULI = 24


def profile_features(patterns, indices, annulus, divisor, factor=1.0, thin_to=1.0, seed=0):
    """(n, A + 1) float32: log mean counts per annulus and log total counts of ``patterns[indices]``
    (counts = cache units x ``divisor``) seen at ``factor`` times their counts, Poisson-thinned
    first to ``thin_to`` of their dose when that is below 1 (the expected counts stay, the noise
    becomes that of the lower dose)."""
    from .augmentation import thin_counts
    from .pattern_features import CHUNK, radial_features

    indices = np.asarray(indices)
    no_haadf = np.full(len(patterns), np.nan, dtype=np.float32)
    if thin_to >= 1:
        return radial_features(patterns, no_haadf, indices, annulus, divisor * factor)[:, :-1]
    rng = np.random.default_rng(seed)
    parts = [np.empty((0, int(annulus.max()) + 2), dtype=np.float32)]
    for start in range(0, len(indices), CHUNK):
        chunk = indices[start : start + CHUNK]
        thinned = thin_counts(patterns[chunk], divisor, np.full(len(chunk), thin_to), rng)
        parts.append(radial_features(thinned, no_haadf, np.arange(len(chunk)), annulus, divisor * factor)[:, :-1])
    return np.concatenate(parts)


def _features_of(caches, pixels, annulus, scan_dose, seed):
    """Features of the chosen pixels of every cache at the caches' reference dose, each thinned
    from its own dose to ``scan_dose`` where that is lower."""
    parts = []
    for number in range(len(caches.scans)):
        rows = pixels.index[:, 0] == number
        parts.append(profile_features(caches.patterns[number], pixels.index[rows, 1], annulus, caches.divisor,
                                      caches.dose_factors[number], scan_dose / caches.doses[number], [seed, number]))
    return np.concatenate(parts).astype(np.float64)


def distance_model(train_features):
    """Standardisation and Ledoit-Wolf precision of the training features."""
    from sklearn.covariance import LedoitWolf

    mean = train_features.mean(axis=0)
    scale = train_features.std(axis=0)
    scale[scale == 0] = 1
    covariance = LedoitWolf().fit((train_features - mean) / scale)
    return mean, scale, covariance


def distances(model, features):
    """Mahalanobis distance of each row of ``features`` to the training pixels."""
    mean, scale, covariance = model
    return np.sqrt(covariance.mahalanobis((features - mean) / scale))


def ood_map(cache_paths, split_path, scan_cache, output_npz, seed=0, alpha=ALPHA):
    """Score every pixel of one scan against the training pixels of a strategy and flag those
    unlike its validation pixels.

    Args:
        cache_paths: {scan: cache NPZ} of the strategy's training scans.
        split_path: the strategy's split NPZ (TRAIN pixels fit, VALIDATION pixels set the bar).
        scan_cache: the cache of the scan to judge.
        output_npz: ``distance`` (rows, cols) float32 Mahalanobis distance, ``threshold`` (the
            conformal 1 - alpha quantile of the validation pixels' distances), ``flagged``
            (rows, cols) bool, ``share_flagged``, ``alpha``, ``validation_share_flagged`` (the
            share of validation pixels above the threshold) and ``dose_ratio``.
        seed: seed of the Poisson thinning.
        alpha: the share of pixels like the validation ones flagged by chance.
    Returns:
        The arrays written.
    """
    from .atomic import atomic_output
    from .pattern_features import annulus_of_pixels
    from .cacheset import CacheSet, cache_dose
    from .intervals import conformal_quantile
    from .pattern_file import PatternFile
    from .strategies import TRAIN, VALIDATION, load_roles

    caches = CacheSet(cache_paths)
    roles = load_roles(split_path)
    annulus = annulus_of_pixels(tuple(caches.pattern_shape), N_ANNULI)
    with np.load(scan_cache, allow_pickle=False) as cache:
        shape = tuple(int(v) for v in cache["scan_shape"])
        scan_dose, divisor = cache_dose(cache, scan_cache), float(cache["pattern_divisor"])
    patterns = PatternFile(scan_cache)  # read a chunk at a time: memory does not grow with the scan
    if patterns.shape[1:] != tuple(caches.pattern_shape):
        raise ValueError(f"{scan_cache}: patterns of {patterns.shape[1:]} pixels, the training scans' are "
                         f"{tuple(caches.pattern_shape)}")
    model = distance_model(_features_of(caches, caches.pixels(roles, [TRAIN]), annulus, scan_dose, seed))
    reference = distances(model, _features_of(caches, caches.pixels(roles, [VALIDATION]), annulus, scan_dose,
                                              seed + 1))
    threshold = conformal_quantile(reference, 1 - alpha)
    factor = caches.reference_dose / scan_dose
    scan = distances(model, profile_features(patterns, np.arange(len(patterns)), annulus, divisor,
                                             factor).astype(np.float64))
    flagged = (scan > threshold).reshape(shape)
    result = {"distance": scan.reshape(shape).astype(np.float32), "threshold": np.float64(threshold),
              "flagged": flagged, "share_flagged": np.float64(flagged.mean()), "alpha": np.float64(alpha),
              "validation_share_flagged": np.float64(np.mean(reference > threshold)),
              "dose_ratio": np.float64(scan_dose / caches.reference_dose)}
    log.info("%s: %.1f %% of the pixels unlike the training scans' (distance above %.3g, which %.1f %% of the "
             "validation pixels exceed)", scan_cache, 100 * result["share_flagged"], threshold,
             100 * result["validation_share_flagged"])
    with atomic_output(output_npz) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **result)
    return result
