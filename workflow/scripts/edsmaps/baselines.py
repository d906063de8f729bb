"""Simple models fitted on the CNN's training pixels (then, with ``refit``, on every labelled
pixel of the training scans a fit may use, and judged by cross-fitting), to tell what the CNN
adds. Their kinds (:mod:`edsmaps.model_kinds`) say what each sees of a pattern and which
regressor it fits; what follows is written once for every kind.

Ridge strength and boosting rounds are chosen on the validation pixels, ridge features are
standardised on the pixels a ridge is fitted on; test pixels are never seen. A model may take the spatial
prior: its maps blurred with the EDS labels' own kernel, so that it is scored on the support the
blurred labels have (predictions of neighbours only, never a label). Beside the fit, members
refitted on block-bootstrap resamples of its pixels (whole spatial blocks drawn with
replacement: neighbours' labels share EDS counts) give each prediction an uncertainty, the
members' spread. A fitted baseline is an NPZ of plain arrays.
"""

import logging
import re
from dataclasses import replace

import numpy as np

from .atomic import atomic_output
from .blur import NO_PRIOR, prior_candidates
from .cacheset import CacheSet, dose_factor
from .model_kinds import MODEL_KINDS, kind_settings, model_kind
from .pattern_features import virtual_detectors  # noqa: F401 (re-exported: importers of the baselines use it)
from .regressors import RIDGE_ALPHAS, fit_ridge  # noqa: F401 (re-exported, as virtual_detectors)
from .strategies import TRAIN, UNUSED, VALIDATION, load_roles, spatial_blocks

log = logging.getLogger(__name__)

BASELINES = tuple(MODEL_KINDS)  # the built-in kinds, from the least to the most flexible
BOOTSTRAP_GRID = 4  # every training scan cut into 4 x 4 blocks for the bootstrap
FOLD = "fold{}_"  # prefix of the arrays of a refitted baseline's cross-fit on fold k
FOLD_MAP = "fold_map_"  # + scan id: (rows, cols) int8, the fold of each validation pixel, -1 elsewhere


def features(params, patterns, haadf, indices, divisor):
    """Design matrix (n, d) float32 of the baseline described by ``params`` (an NPZ dict)."""
    return model_kind(str(params["kind"])).features(params, patterns, haadf, indices, divisor)


class _Features:
    """Features of the chosen pixels of every cache of a CacheSet, stacked; pixels with
    ``dose_fractions`` see their patterns Poisson-thinned to them first (:meth:`thinned`)."""

    def __init__(self, caches, params, min_dose_fraction=1.0, seed=0):
        self.caches, self.params = caches, params
        self.min_dose_fraction, self.seed = min_dose_fraction, seed

    def thinned(self, pixels):
        """``pixels`` marked to be seen at a dose drawn from [min_dose_fraction, 1] each (as they are
        when min_dose_fraction is 1): the training augmentation of :func:`fit_baseline`."""
        if self.min_dose_fraction >= 1:
            return pixels
        rng = np.random.default_rng([self.seed, len(pixels.index)])
        return replace(pixels, dose_fractions=rng.uniform(self.min_dose_fraction, 1.0, len(pixels.index)))

    def __call__(self, pixels):
        from .augmentation import thin_counts

        parts = []
        for number in range(len(self.caches.scans)):
            rows = pixels.index[:, 0] == number
            patterns, haadf, indices = self.caches.patterns[number], self.caches.haadf[number], pixels.index[rows, 1]
            if pixels.dose_fractions is not None:
                rng = np.random.default_rng([self.seed, number, len(indices)])
                patterns = thin_counts(patterns[indices], self.caches.divisor, pixels.dose_fractions[rows], rng)
                haadf, indices = haadf[indices], np.arange(len(indices))
            parts.append(features(self.params, patterns, haadf, indices,
                                  self.caches.divisor * self.caches.dose_factors[number]))
        return np.concatenate(parts)


def fit_baseline(kind, cache_paths, split_path, output_npz, seed=42, members=8, spatial_prior=NO_PRIOR, refit=None,
                 min_dose_fraction=1.0, **settings):
    """Fit one baseline on the TRAIN pixels of a strategy (ridge alpha, boosting rounds chosen on
    VALIDATION) and save it. With ``refit``, fit it again with those settings on every pixel
    :func:`edsmaps.strategies.final_fit_pixels` allows — validation pixels included — and, so
    that validation judges the refit as it is, cross-fit it: the validation pixels are cut into
    folds of spatial blocks, and the fold-k model is the same refit without fold k's pixels and
    the pixels within the strategy's buffer of them (``fold{k}_*`` arrays, and ``fold_map_{scan}``
    giving each validation pixel's fold). A fold model predicts its fold's validation pixels
    (:func:`predict_cache_baseline`: ``held_out_*``), never having seen them.

    Args:
        kind: a name of :data:`edsmaps.model_kinds.MODEL_KINDS`.
        cache_paths: {scan: cache NPZ} of the strategy's training scans.
        split_path: the strategy's split NPZ (pixel roles).
        output_npz: the fitted baseline (its parameters, arrays).
        seed: seed of what a kind fits for its features (the PCA's pixel subsample), of the trees
            and of the bootstrap.
        members: block-bootstrap refits whose spread is the prediction's uncertainty.
        spatial_prior: (blur method, kernel) the maps are blurred with (:func:`edsmaps.blur.blur_map`),
            the EDS labels' own; ("none", 1) predicts every pixel on its own; a list of them: the one
            with the lowest validation MAE (held-out predictions, as validation scores them), the
            first on a tie (``prior_candidates`` and ``prior_validation_mae`` record the choice).
        refit: the strategy's split settings (split, buffer, train_fraction, random_state), or
            None to keep the fit on the TRAIN pixels.
        min_dose_fraction: below 1, every pattern a model is fitted on (never a validation one) is
            Poisson-thinned to a dose drawn from [min_dose_fraction, 1] and seen at the training
            dose, so the model meets lower-dose noise.
        settings: the kinds' own settings (``n_rings``, ``pca_components``, ...), each kind taking
            those its ``defaults`` name (:mod:`edsmaps.model_kinds`, which says what they mean).
    Raises:
        ValueError: unknown kind, or one that needs HAADF maps (``haadf_linear``) without them.
        TypeError: a setting no kind takes.
    """
    from .strategies import fit_pixels

    baseline_kind, own_settings = model_kind(kind), kind_settings(kind, settings)
    # A map without contrast has nothing to smooth: a blur would only add rounding noise.
    candidates = prior_candidates(spatial_prior) if baseline_kind.reads_input else [NO_PRIOR]
    roles = load_roles(split_path)
    caches = CacheSet(cache_paths)
    train, val = caches.pixels(roles, [TRAIN]), caches.pixels(roles, [VALIDATION])
    params = {"kind": np.array(kind), "elements": np.array(caches.elements), "dose": np.float64(caches.reference_dose),
              "prior_blur_method": np.array(candidates[0][0]), "prior_blur_kernel": np.array(candidates[0][1])}
    if baseline_kind.needs_haadf and not (np.isfinite(train.haadf).all() and np.isfinite(val.haadf).all()):
        raise ValueError(f"baseline {kind} needs HAADF maps for the training scans {caches.scans} (data.haadf)")
    regressor = baseline_kind.regressor
    params.update(baseline_kind.fit_arrays(caches, train, seed, **own_settings))
    params.update(regressor.provenance())
    feats = _Features(caches, params, min_dose_fraction, seed)
    shapes = [roles[scan].shape for scan in caches.scans]
    model = _fit_model(regressor, feats, feats.thinned(train), val, shapes, members, seed)
    if refit is not None:
        training_roles = {scan: roles[scan] for scan in caches.scans}
        params.update(_cross_fit(regressor, feats, caches, training_roles, refit, val, shapes, seed, model,
                                 members // 2))
        model = _fit_model(regressor, feats, feats.thinned(fit_pixels(caches, roles, refit)), val, shapes, members,
                           seed, chosen=model)
    params.update(model)
    if len(candidates) > 1:
        params.update(_choose_prior(params, caches, roles, candidates))
    with atomic_output(output_npz) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **params)
    return params


def _choose_prior(params, caches, roles, candidates):
    """The spatial prior of ``candidates`` with the lowest MAE on the validation pixels, each
    predicted by the model that never saw it (a refit's fold model, else the fit itself), as
    params arrays: the chosen ``prior_blur_*``, ``prior_candidates`` and ``prior_validation_mae``."""
    from .blur import blur_pixel_values, prior_support
    from .composition import project_composition

    models = fold_models(params) or {None: params}
    errors = {prior: [] for prior in candidates}
    for number, scan in enumerate(caches.scans):
        validation = roles[scan].ravel() == VALIDATION
        fold_map = params.get(f"{FOLD_MAP}{scan}")
        for fold, model in models.items():
            chosen = validation if fold is None else validation & (fold_map.ravel() == fold)
            if not chosen.any():
                continue
            support = np.flatnonzero(prior_support(chosen, roles[scan].shape, candidates))
            raw = np.zeros((len(chosen), len(caches.elements)))
            raw[support] = predict_baseline(model, caches.patterns[number], caches.haadf[number],
                                            caches.divisor * caches.dose_factors[number], support)[0]
            for prior in candidates:
                blurred = blur_pixel_values(raw, roles[scan].shape, *prior)
                errors[prior].append(project_composition(blurred[chosen])[0] - caches.eds[number][chosen])
    mae = [float(np.mean(np.abs(np.concatenate(errors[prior])))) if errors[prior] else np.inf for prior in candidates]
    best = candidates[int(np.argmin(mae))]
    log.info("%s: spatial prior chosen on validation pixels: %s (MAE %s)", str(params["kind"]), best,
             dict(zip((f"{m} {k}" for m, k in candidates), np.round(mae, 6))))
    return {"prior_blur_method": np.array(best[0]), "prior_blur_kernel": np.array(best[1]),
            "prior_candidates": np.array([f"{m} {k}" for m, k in candidates]),
            "prior_validation_mae": np.array(mae)}


def _cross_fit(regressor, feats, caches, roles, refit, val, shapes, seed, chosen, members, n_folds=5):
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
        model = _fit_model(regressor, feats, feats.thinned(caches.pixels(kept, [TRAIN])), val, shapes, members, seed,
                           chosen=chosen)
        arrays.update({f"{FOLD.format(fold)}{key}": value for key, value in model.items()})
    return {**arrays, **{f"{FOLD_MAP}{scan}": fold_map for scan, fold_map in fold_maps.items()}}


def _fit_model(regressor, feats, fit, val, scan_shapes, members, seed, chosen=None):
    """The fitted arrays of one baseline's ``regressor`` (:mod:`edsmaps.regressors`) on the pixels
    ``fit``, and its ``members`` block-bootstrap refits (none: 0). Ridge alpha and boosting
    rounds are chosen on ``val``, or taken from an earlier fit ``chosen``."""
    blocks = spatial_blocks(fit.index, scan_shapes, BOOTSTRAP_GRID)
    return {"n_fit_pixels": np.int64(len(fit.index)), **regressor.fit(feats, fit, val, blocks, members, seed, chosen)}


def fold_models(params):
    """{fold: the baseline's params with that fold model's arrays} of a cross-fitted refit, empty
    for a baseline fitted once."""
    folds = {}
    for key, value in params.items():
        match = re.fullmatch(r"fold(\d+)_(.+)", key)
        if match:
            folds.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return {fold: {**params, **arrays} for fold, arrays in sorted(folds.items())}


def load_baseline(path):
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def predict_baseline(params, patterns, haadf, divisor, indices=None):
    """Predicted composition (n, E) float64 of the patterns ``indices`` (default: every one) of
    one cache, pixel by pixel, and the bootstrap members' predictions (K, n, E) float64."""
    baseline_kind = model_kind(str(params["kind"]))
    indices = np.arange(len(patterns)) if indices is None else indices
    x = baseline_kind.features(params, patterns, haadf, indices, divisor).astype(np.float64)
    return baseline_kind.regressor.predict(params, x)


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
    maps = {"predicted": predicted, "predicted_calibrated": project_composition(predicted)[0],
            "predicted_std": spread}
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


def baseline_maps(params, cache):
    """What :func:`predict_cache_baseline` writes of one cache, in memory: the calibrated
    prediction (N, E) (projected onto possible compositions) and the members' spread (N, E)."""
    from .composition import project_composition

    predicted, spread = _prior_maps(params, cache, dose_factor(params["dose"], cache["dose"]))
    return project_composition(predicted)[0], spread


def baseline_predictor(kind, paths):
    """For :func:`edsmaps.dose_series.predict_dose_series`: the fitted baseline ``paths["baseline"]``
    as a function cache -> (:func:`baseline_maps`), None for a kind that ignores its input."""
    params = load_baseline(paths["baseline"])
    return (lambda cache: baseline_maps(params, cache)) if model_kind(str(params["kind"])).reads_input else None


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
                             spatial_priors=None, **settings):
    """Fit a baseline on a strategy's training pixels, refitted where asked (:func:`fit_baseline`),
    and predict every scan asked for in the same job.

    Args:
        kind: a name of :data:`edsmaps.model_kinds.MODEL_KINDS`.
        training_scans: the strategy's training scans.
        cache_paths: {scan: cache NPZ} of every scan read (training and predicted).
        split_path: the strategy's split NPZ.
        baseline_npz: the fitted baseline written.
        prediction_paths: {scan: prediction NPZ} (:func:`predict_cache_baseline`) to write.
        spatial_priors: {kind: the spatial priors (blur method, kernel) it chooses from}
            (:func:`fit_baseline`); a kind not named takes none.
        settings: the other keyword settings of :func:`fit_baseline`.
    """
    from .prediction_file import read_cache, scan_role

    prior = (spatial_priors or {}).get(kind, [NO_PRIOR])
    params = fit_baseline(kind, {s: cache_paths[s] for s in training_scans}, split_path, baseline_npz,
                          spatial_prior=prior, **settings)
    for scan, output_npz in prediction_paths.items():
        cache = read_cache(cache_paths[scan])
        shape = tuple(int(v) for v in cache["scan_shape"])
        predict_cache_baseline(params, cache, scan_role(split_path, scan, shape), output_npz, scan)
