"""Simple models fitted on the CNN's training pixels (then, with ``refit``, on every labelled
pixel of the training scans a fit may use, and judged by cross-fitting), to tell what the CNN
adds.

- ``constant``: the training mean of every element (what a map without contrast scores);
- ``haadf_linear``: least squares on the HAADF signal (Z-contrast alone);
- ``virtual_ridge``: ridge regression on virtual detectors, a bright-field disk and annuli
  of equal width out to the pattern edge (py4DSTEM's detector geometry);
- ``pca_ridge``: ridge regression on the principal components of log patterns;
- ``radial_boosting``: gradient-boosted trees per element (:mod:`edsmaps.boosting`) on physics
  at absolute scale: the log mean counts in equal-width annuli of the centred pattern (the
  diffuse scattering and ring positions that carry composition), the total counts and the
  HAADF signal where present. Annuli make it blind to the pattern's orientation.

Ridge strength and boosting rounds are chosen on the validation pixels, ridge features are
standardised on the pixels a ridge is fitted on; test pixels are never seen. A model may take the spatial
prior: its maps blurred with the EDS labels' own kernel, so that it is scored on the support the
blurred labels have (predictions of neighbours only, never a label). Beside the fit, members
refitted on block-bootstrap resamples of its pixels (whole spatial blocks drawn with
replacement: neighbours' labels share EDS counts) give each prediction an uncertainty, the
members' spread. A fitted baseline is an NPZ of plain arrays.
"""

import re

import numpy as np

from .atomic import atomic_output
from .cacheset import CacheSet, dose_factor
from .centering import detector_centre
from .blur import NO_PRIOR
from .strategies import TRAIN, UNUSED, VALIDATION, load_roles, spatial_blocks

BASELINES = ("constant", "haadf_linear", "virtual_ridge", "pca_ridge", "radial_boosting")
RIDGE_ALPHAS = np.logspace(-3, 4, 15)
CHUNK = 1024
BOOTSTRAP_GRID = 4  # every training scan cut into 4 x 4 blocks for the bootstrap
FOLD = "fold{}_"  # prefix of the arrays of a refitted baseline's cross-fit on fold k
FOLD_MAP = "fold_map_"  # + scan id: (rows, cols) int8, the fold of each validation pixel, -1 elsewhere


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


def features(params, patterns, haadf, indices, divisor):
    """Design matrix (n, d) float32 of the baseline described by ``params`` (an NPZ dict)."""
    kind = str(params["kind"])
    if kind == "constant":
        return np.zeros((len(indices), 0), dtype=np.float32)
    if kind == "haadf_linear":
        return haadf[indices, None].astype(np.float32)
    if kind == "virtual_ridge":
        return virtual_features(patterns, indices, params["detectors"], divisor)
    if kind == "radial_boosting":
        return radial_features(patterns, haadf, indices, params["annulus"], divisor)
    logs = log_patterns(patterns, indices, divisor, int(params["bin_factor"]))
    return (logs - params["pca_mean"]) @ params["pca_components"].T


class _Features:
    """Features of the chosen pixels of every cache of a CacheSet, stacked."""

    def __init__(self, caches, params):
        self.caches, self.params = caches, params

    def __call__(self, pixels):
        parts = []
        for number in range(len(self.caches.scans)):
            rows = pixels.index[:, 0] == number
            parts.append(features(self.params, self.caches.patterns[number], self.caches.haadf[number],
                                  pixels.index[rows, 1], self.caches.divisor * self.caches.dose_factors[number]))
        return np.concatenate(parts)


def fit_ridge(x_train, y_train, x_val, y_val, alphas):
    """Standardise on training rows; pick the ridge alpha with the lowest validation MSE.

    Returns dict of feature mean/scale, coef (E, d), intercept (E,), alpha.
    """
    from sklearn.linear_model import Ridge

    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    scale[scale == 0] = 1
    zt, zv = (x_train - mean) / scale, (x_val - mean) / scale
    best = None
    for alpha in alphas:
        fit = Ridge(alpha=alpha).fit(zt, y_train)
        mse = float(np.mean((fit.predict(zv) - y_val) ** 2))
        if best is None or mse < best[0]:
            best = (mse, alpha, fit)
    _, alpha, fit = best
    return {"feature_mean": mean, "feature_scale": scale, "coef": np.atleast_2d(fit.coef_).astype(np.float64),
            "intercept": np.atleast_1d(fit.intercept_).astype(np.float64), "alpha": float(alpha)}


def bootstrap_members(z, y, blocks, alpha, n_members, seed):
    """Ridge fits (at ``alpha``; a mean without features) on block-bootstrap resamples.

    Args:
        z: (n, d) standardised training features; y: (n, E) targets.
        blocks: (n,) spatial block of each training pixel; whole blocks are drawn with replacement.
        n_members: resamples; seed: their draw.
    Returns:
        dict ``member_coef`` (K, E, d) and ``member_intercept`` (K, E).
    """
    from sklearn.linear_model import Ridge

    from .boosting import block_bootstrap_weights

    if n_members == 0:
        return {"member_coef": np.zeros((0, y.shape[1], z.shape[1])), "member_intercept": np.zeros((0, y.shape[1]))}
    coefs, intercepts = [], []
    for weight in block_bootstrap_weights(blocks, n_members, seed):
        if z.shape[1] == 0:
            coefs.append(np.zeros((y.shape[1], 0)))
            intercepts.append(np.average(y, axis=0, weights=weight))
        else:
            fit = Ridge(alpha=alpha).fit(z, y, sample_weight=weight)
            coefs.append(np.atleast_2d(fit.coef_))
            intercepts.append(np.atleast_1d(fit.intercept_))
    return {"member_coef": np.stack(coefs), "member_intercept": np.stack(intercepts)}


def fit_baseline(kind, cache_paths, split_path, output_npz, n_rings=8, pca_components=30, pca_bin=2, seed=42,
                 max_pca_pixels=4000, members=8, n_annuli=24, spatial_prior=NO_PRIOR, refit=None):
    """Fit one baseline on the TRAIN pixels of a strategy (ridge alpha, boosting rounds chosen on
    VALIDATION) and save it. With ``refit``, fit it again with those settings on every pixel
    :func:`edsmaps.strategies.final_fit_pixels` allows — validation pixels included — and, so
    that validation judges the refit as it is, cross-fit it: the validation pixels are cut into
    folds of spatial blocks, and the fold-k model is the same refit without fold k's pixels and
    the pixels within the strategy's buffer of them (``fold{k}_*`` arrays, and ``fold_map_{scan}``
    giving each validation pixel's fold). A fold model predicts its fold's validation pixels
    (:func:`predict_cache_baseline`: ``held_out_*``), never having seen them.

    Args:
        kind: one of BASELINES.
        cache_paths: {scan: cache NPZ} of the strategy's training scans.
        split_path: the strategy's split NPZ (pixel roles).
        output_npz: the fitted baseline (its parameters, arrays).
        n_rings: virtual detectors of ``virtual_ridge`` (a disk, then annuli).
        pca_components, pca_bin, max_pca_pixels: ``pca_ridge``'s components, detector binning and
            the most training patterns its PCA is fitted on.
        seed: seed of the PCA's pixel subsample, of the trees and of the bootstrap.
        members: block-bootstrap refits whose spread is the prediction's uncertainty.
        n_annuli: ``radial_boosting``'s annuli.
        spatial_prior: (blur method, kernel) the maps are blurred with (:func:`edsmaps.blur.blur_map`),
            the EDS labels' own; ("none", 1) predicts every pixel on its own.
        refit: the strategy's split settings (split, buffer, train_fraction, random_state), or
            None to keep the fit on the TRAIN pixels.
    Raises:
        ValueError: unknown kind, or ``haadf_linear`` without HAADF maps.
    """
    from .strategies import fit_pixels

    if kind not in BASELINES:
        raise ValueError(f"unknown baseline '{kind}'; choose from {BASELINES}")
    roles = load_roles(split_path)
    caches = CacheSet(cache_paths)
    train, val = caches.pixels(roles, [TRAIN]), caches.pixels(roles, [VALIDATION])
    params = {"kind": np.array(kind), "elements": np.array(caches.elements), "dose": np.float64(caches.reference_dose),
              "prior_blur_method": np.array(spatial_prior[0]), "prior_blur_kernel": np.array(int(spatial_prior[1]))}
    if kind == "haadf_linear" and not (np.isfinite(train.haadf).all() and np.isfinite(val.haadf).all()):
        raise ValueError(f"baseline haadf_linear needs HAADF maps for the training scans {caches.scans} (data.haadf)")
    if kind == "virtual_ridge":
        params["detectors"] = virtual_detectors(tuple(caches.pattern_shape), n_rings)
    if kind == "pca_ridge":
        params.update(_fit_pca(caches, train, pca_components, pca_bin, seed, max_pca_pixels))
    if kind == "radial_boosting":
        import sklearn

        params["annulus"] = annulus_of_pixels(tuple(caches.pattern_shape), n_annuli)
        params["sklearn_version"] = np.array(sklearn.__version__)
    feats = _Features(caches, params)
    shapes = [roles[scan].shape for scan in caches.scans]
    model = _fit_model(kind, feats, train, val, shapes, members, seed)
    if refit is not None:
        training_roles = {scan: roles[scan] for scan in caches.scans}
        params.update(_cross_fit(kind, feats, caches, training_roles, refit, val, shapes, seed, model, members // 2))
        model = _fit_model(kind, feats, fit_pixels(caches, roles, refit), val, shapes, members, seed, chosen=model)
    params.update(model)
    with atomic_output(output_npz) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **params)
    return params


def _cross_fit(kind, feats, caches, roles, refit, val, shapes, seed, chosen, members, n_folds=5):
    """The fold models of a refit (:func:`fit_baseline`) as arrays prefixed ``fold{k}_``, and each
    training scan's ``fold_map_{scan}``. Folds are spatial blocks of the validation pixels
    (:func:`edsmaps.strategies.spatial_folds`); fold k's model leaves out its pixels and, where
    the strategy buffers held-out pixels, those within the buffer of them. Each fold model has
    ``members`` bootstrap refits of its own: their spread on the fold's pixels, which none of them
    saw, is the uncertainty validation scales (the refit's members saw those pixels and would
    agree there more than on a new scan)."""
    from .strategies import SPLIT_DEFAULTS, final_fit_pixels, near, spatial_folds

    settings = {**SPLIT_DEFAULTS, **refit}
    buffer = 0 if settings["split"] == "random" else settings["buffer"]
    allowed = final_fit_pixels(roles, refit)
    folds = spatial_folds(val.index, shapes, n_folds)
    arrays, fold_maps = {}, {}
    for number, scan in enumerate(caches.scans):
        fold_map = np.full(roles[scan].size, -1, dtype=np.int8)
        mine = val.index[:, 0] == number
        fold_map[val.index[mine, 1]] = folds[mine]
        fold_maps[scan] = fold_map.reshape(roles[scan].shape)
    for fold in np.unique(folds):
        kept = {scan: np.where(allowed[scan] & ~near(fold_maps[scan] == fold, buffer), TRAIN, UNUSED)
                for scan in caches.scans}
        model = _fit_model(kind, feats, caches.pixels(kept, [TRAIN]), val, shapes, members, seed, chosen=chosen)
        arrays.update({f"{FOLD.format(fold)}{key}": value for key, value in model.items()})
    return {**arrays, **{f"{FOLD_MAP}{scan}": fold_map for scan, fold_map in fold_maps.items()}}


def _fit_model(kind, feats, fit, val, scan_shapes, members, seed, chosen=None):
    """The fitted arrays of one baseline on the pixels ``fit``, and its ``members``
    block-bootstrap refits (none: 0). Ridge alpha and boosting rounds are chosen on ``val``, or
    taken from an earlier fit ``chosen``."""
    from .boosting import bootstrap_trees, choose_rounds, fit_trees, trees_to_array

    blocks = spatial_blocks(fit.index, scan_shapes, BOOTSTRAP_GRID)
    fitted_on = {"n_fit_pixels": np.int64(len(fit.index))}
    if kind == "radial_boosting":
        x = feats(fit)
        rounds = chosen["rounds"] if chosen else choose_rounds(x, fit.eds, feats(val), val.eds, seed)
        return {**fitted_on, "rounds": rounds, "trees": trees_to_array(fit_trees(x, fit.eds, rounds, seed)),
                "member_trees": trees_to_array(bootstrap_trees(x, fit.eds, blocks, rounds, members, seed))}
    if kind == "constant":
        x = np.zeros((len(fit.index), 0))
        model = {"feature_mean": np.zeros(0), "feature_scale": np.ones(0), "coef": np.zeros((fit.eds.shape[1], 0)),
                 "intercept": fit.eds.astype(np.float64).mean(axis=0), "alpha": 0.0}
    else:
        x = feats(fit)
        alphas = [float(chosen["alpha"])] if chosen else RIDGE_ALPHAS
        model = fit_ridge(x, fit.eds, feats(val), val.eds, alphas)
    z = (x - model["feature_mean"]) / model["feature_scale"]
    return {**fitted_on, **model, **bootstrap_members(z, fit.eds, blocks, model["alpha"], members, seed)}


def fold_models(params):
    """{fold: the baseline's params with that fold model's arrays} of a cross-fitted refit, empty
    for a baseline fitted once."""
    folds = {}
    for key, value in params.items():
        match = re.fullmatch(r"fold(\d+)_(.+)", key)
        if match:
            folds.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return {fold: {**params, **arrays} for fold, arrays in sorted(folds.items())}


def _fit_pca(caches, train, n_components, bin_factor, seed, max_pixels):
    """PCA of the log patterns of (at most ``max_pixels``) training pixels."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.permutation(len(train.index))[:max_pixels])
    logs = np.concatenate([
        log_patterns(caches.patterns[number], train.index[chosen][train.index[chosen, 0] == number, 1],
                     caches.divisor * caches.dose_factors[number], bin_factor)
        for number in range(len(caches.scans))
    ])
    n_components = min(n_components, *logs.shape)
    pca = PCA(n_components=n_components, svd_solver="randomized", random_state=seed).fit(logs)
    return {"bin_factor": np.array(bin_factor), "pca_mean": pca.mean_.astype(np.float32),
            "pca_components": pca.components_.astype(np.float32)}


def load_baseline(path):
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def predict_baseline(params, patterns, haadf, divisor):
    """Predicted composition (N, E) float64 of every pattern of one cache, pixel by pixel, and
    the bootstrap members' predictions (K, N, E) float64."""
    x = features(params, patterns, haadf, np.arange(len(patterns)), divisor).astype(np.float64)
    if str(params["kind"]) == "radial_boosting":
        from .boosting import predict_trees, trees_from_array

        trees = trees_from_array(params["trees"], params["sklearn_version"])
        predicted = predict_trees(trees, x)
        members = [predict_trees(member, x) for member in trees_from_array(params["member_trees"],
                                                                          params["sklearn_version"])]
        return predicted, np.stack(members) if members else np.zeros((0, *predicted.shape))
    z = (x - params["feature_mean"]) / params["feature_scale"]
    members = np.einsum("nd,ked->kne", z, params["member_coef"]) + params["member_intercept"][:, None, :]
    return z @ params["coef"].T + params["intercept"], members


def predict_cache_baseline(params, cache, role, output_npz, scan=None):
    """Predict every pattern of one cached scan with a fitted baseline, in the CNN's format (a
    baseline needs no calibration: "calibrated" is the raw prediction projected onto possible
    compositions, as the CNN's), with the bootstrap members' spread as ``predicted_std``; the
    spatial prior, where fitted with one, blurs the maps and every member's before the spread.
    For a training ``scan`` of a cross-fitted refit, ``held_out_calibrated`` and ``held_out_std``
    hold every validation pixel as predicted by the fold model that never saw it, with the
    spread of that model's members (the refit's elsewhere): what validation scores.

    Args:
        params: the fitted baseline (:func:`fit_baseline`).
        cache: the scan's cache (dict of arrays).
        role: (rows, cols) pixel roles of the scan in the strategy.
        output_npz: prediction NPZ (:func:`edsmaps.prediction_file.write_prediction`): maps
            (rows, cols, E) float32 atomic fraction.
        scan: the scan's id (its fold map, when it is a training scan of a refit).
    """
    from .composition import project_composition
    from .prediction_file import write_prediction

    elements = [str(e) for e in cache["elements"]]
    if elements != [str(e) for e in params["elements"]]:
        raise ValueError(f"{output_npz}: the scan's elements {elements} differ from the baseline's "
                         f"{list(params['elements'])}")
    factor = dose_factor(params["dose"], cache["dose"])
    predicted, spread = _prior_maps(params, cache, factor)
    possible, _ = project_composition(predicted)
    maps = {"predicted": predicted, "predicted_calibrated": possible, "predicted_std": spread}
    fold_map = params.get(f"{FOLD_MAP}{scan}")
    if fold_map is not None and (role == VALIDATION).any():
        held_out, held_out_spread = predicted.copy(), spread.copy()
        for fold, model in fold_models(params).items():
            chosen = fold_map.ravel() == fold
            fold_predicted, fold_spread = _prior_maps(model, cache, factor)
            held_out[chosen], held_out_spread[chosen] = fold_predicted[chosen], fold_spread[chosen]
        maps["held_out_calibrated"], _ = project_composition(held_out)
        maps["held_out_std"] = held_out_spread
    write_prediction(output_npz, cache, role, maps, dose_ratio=1 / factor, fit_pixels=int(params["n_fit_pixels"]))


def _prior_maps(params, cache, factor):
    """Prediction and the members' spread (N, E) float32 of one cache seen at ``factor`` times its
    counts, with the baseline's spatial prior (NaN spread without members)."""
    from .blur import blur_pixel_values

    predicted, members = predict_baseline(params, cache["patterns"], cache["haadf"],
                                          float(cache["pattern_divisor"]) * factor)
    prior = (tuple(int(v) for v in cache["scan_shape"]), str(params["prior_blur_method"]),
             int(params["prior_blur_kernel"]))
    predicted = blur_pixel_values(predicted, *prior).astype(np.float32)
    if not len(members):
        return predicted, np.full(predicted.shape, np.nan, dtype=np.float32)
    return predicted, blur_pixel_values(members, *prior).std(axis=0).astype(np.float32)


def fit_and_predict_baseline(kind, training_scans, cache_paths, split_path, baseline_npz, prediction_paths,
                             spatial_prior_models=(), label_blur=NO_PRIOR, **settings):
    """Fit a baseline on a strategy's training pixels, refitted where asked (:func:`fit_baseline`),
    and predict every scan asked for in the same job.

    Args:
        kind: one of BASELINES.
        training_scans: the strategy's training scans.
        cache_paths: {scan: cache NPZ} of every scan read (training and predicted).
        split_path: the strategy's split NPZ.
        baseline_npz: the fitted baseline written.
        prediction_paths: {scan: prediction NPZ} (:func:`predict_cache_baseline`) to write.
        spatial_prior_models: the baselines whose maps take the spatial prior.
        label_blur: (method, kernel) the EDS labels were blurred with: the spatial prior's.
        settings: the other keyword settings of :func:`fit_baseline`.
    """
    from .prediction_file import read_cache, scan_role

    prior = tuple(label_blur) if kind in spatial_prior_models else NO_PRIOR
    params = fit_baseline(kind, {s: cache_paths[s] for s in training_scans}, split_path, baseline_npz,
                          spatial_prior=prior, **settings)
    for scan, output_npz in prediction_paths.items():
        cache = read_cache(cache_paths[scan])
        shape = tuple(int(v) for v in cache["scan_shape"])
        predict_cache_baseline(params, cache, scan_role(split_path, scan, shape), output_npz, scan)
