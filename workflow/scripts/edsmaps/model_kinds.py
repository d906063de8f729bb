"""The baseline model kinds, one class each, and the registry that names them.

A kind says what it sees of a pattern (its features, from a cache), what it fits for them on the
training pixels (saved as arrays in the baseline NPZ, read back from it to compute them again)
and which regressor (:mod:`edsmaps.regressors`) is fitted on them. Fitting, refitting,
cross-fitting, bootstrap members, the spatial prior, the dose factor and prediction are written
once for every kind in :mod:`edsmaps.baselines`.

- ``constant``: the training mean of every element (what a map without contrast scores);
- ``haadf_linear``: least squares on the HAADF signal (Z-contrast alone);
- ``virtual_ridge``: ridge regression on virtual detectors, a bright-field disk and annuli
  of equal width out to the pattern edge (py4DSTEM's detector geometry);
- ``pca_ridge``: ridge regression on the principal components of log patterns;
- ``radial_boosting``: gradient-boosted trees per element (:mod:`edsmaps.boosting`) on physics
  at absolute scale: the log mean counts in equal-width annuli of the centred pattern (the
  diffuse scattering and ring positions that carry composition), the total counts and the
  HAADF signal where present. Annuli make it blind to the pattern's orientation.

A new kind is a subclass of :class:`ModelKind` and one line in :data:`MODEL_KINDS`, plus its
name in the schema's enums and the config's list (``tests/test_defaults.py`` checks they agree).
"""

import numpy as np

from .pattern_features import annulus_of_pixels, log_patterns, radial_features, virtual_detectors, virtual_features
from .regressors import RIDGE, TREES


class ModelKind:
    """A baseline model kind: ridge on no features (override :meth:`features`, and
    :meth:`fit_arrays` where the features need fitted arrays)."""

    regressor = RIDGE
    needs_haadf = False  # refused without HAADF maps of the training scans
    reads_input = True  # False: the same map whatever the scan (no spatial prior, flat dose curve)
    defaults = {}  # its own keyword settings of edsmaps.baselines.fit_baseline, with their defaults

    def fit_arrays(self, caches, train, seed):
        """Arrays the features need (NPZ values), fitted on the TRAIN pixels ``train`` of the
        CacheSet ``caches``; gets ``seed`` and the settings named in :attr:`defaults`."""
        return {}

    def features(self, params, patterns, haadf, indices, divisor):
        """Design matrix (n, d) float32 of ``patterns[indices]`` (a float16 cache, its HAADF
        ``haadf``; counts are cache units times ``divisor``), reading the baseline's ``params``."""
        return np.zeros((len(indices), 0), dtype=np.float32)


class Constant(ModelKind):
    """The training mean of every element."""

    reads_input = False


class HaadfLinear(ModelKind):
    """Least squares on the HAADF signal."""

    needs_haadf = True

    def features(self, params, patterns, haadf, indices, divisor):
        return haadf[indices, None].astype(np.float32)


class VirtualRidge(ModelKind):
    """Ridge on ``n_rings`` virtual detectors: a disk, then annuli."""

    defaults = {"n_rings": 8}

    def fit_arrays(self, caches, train, seed, n_rings):
        return {"detectors": virtual_detectors(tuple(caches.pattern_shape), n_rings)}

    def features(self, params, patterns, haadf, indices, divisor):
        return virtual_features(patterns, indices, params["detectors"], divisor)


class PcaRidge(ModelKind):
    """Ridge on ``pca_components`` principal components of the log patterns binned by ``pca_bin``,
    the PCA fitted on at most ``max_pca_pixels`` training patterns."""

    defaults = {"pca_components": 30, "pca_bin": 2, "max_pca_pixels": 4000}

    def fit_arrays(self, caches, train, seed, pca_components, pca_bin, max_pca_pixels):
        from sklearn.decomposition import PCA

        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.permutation(len(train.index))[:max_pca_pixels])
        logs = np.concatenate([
            log_patterns(caches.patterns[number], train.index[chosen][train.index[chosen, 0] == number, 1],
                         caches.divisor * caches.dose_factors[number], pca_bin)
            for number in range(len(caches.scans))
        ])
        n_components = min(pca_components, *logs.shape)
        pca = PCA(n_components=n_components, svd_solver="randomized", random_state=seed).fit(logs)
        return {"bin_factor": np.array(pca_bin), "pca_mean": pca.mean_.astype(np.float32),
                "pca_components": pca.components_.astype(np.float32)}

    def features(self, params, patterns, haadf, indices, divisor):
        logs = log_patterns(patterns, indices, divisor, int(params["bin_factor"]))
        return (logs - params["pca_mean"]) @ params["pca_components"].T


class RadialBoosting(ModelKind):
    """Boosted trees on the radial profile in ``n_annuli`` annuli, total counts and HAADF."""

    regressor = TREES
    defaults = {"n_annuli": 24}

    def fit_arrays(self, caches, train, seed, n_annuli):
        return {"annulus": annulus_of_pixels(tuple(caches.pattern_shape), n_annuli)}

    def features(self, params, patterns, haadf, indices, divisor):
        return radial_features(patterns, haadf, indices, params["annulus"], divisor)


# From the least to the most flexible: the order of the schema's enums.
MODEL_KINDS = {
    "constant": Constant(),
    "haadf_linear": HaadfLinear(),
    "virtual_ridge": VirtualRidge(),
    "pca_ridge": PcaRidge(),
    "radial_boosting": RadialBoosting(),
}


def register(name, kind):
    """Add the ModelKind ``kind`` as ``name`` (a test's own, say); a name taken is refused."""
    if name in MODEL_KINDS:
        raise ValueError(f"a baseline kind '{name}' is registered already")
    MODEL_KINDS[name] = kind
    return kind


def model_kind(name):
    """The registered kind ``name``.

    Raises:
        ValueError: no kind has that name.
    """
    if name not in MODEL_KINDS:
        raise ValueError(f"unknown baseline '{name}'; choose from {tuple(MODEL_KINDS)}")
    return MODEL_KINDS[name]


def kind_settings(name, settings):
    """The settings of the kind ``name``: its defaults, overridden by those ``settings`` (the
    keyword settings of every kind) names.

    Raises:
        TypeError: a setting no registered kind takes.
    """
    known = {key for kind in MODEL_KINDS.values() for key in kind.defaults}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise TypeError(f"no baseline kind takes the settings {unknown}; they take {sorted(known)}")
    defaults = model_kind(name).defaults
    return {**defaults, **{key: value for key, value in settings.items() if key in defaults}}
