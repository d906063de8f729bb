"""Which maps a strategy recommends, and how sure that choice is: every model (CNN, ensemble,
baseline) judged on the validation pixels of the training scans only, never on a test pixel.

The best model has the lowest mean validation MAE over the elements (calibrated prediction
against the blurred EDS). A difference between two models is judged by their paired per-pixel
errors, averaged over spatial blocks of the validation pixels (4 x 4 per scan: neighbouring
pixels share EDS counts and composition, so a block, not a pixel, is one piece of evidence).
A model whose MAE is above the best's by no more than one standard error of that paired
difference is *tied* with it: the validation pixels cannot tell the two apart. The recommended
maps are the average of the tied models (RECOMMENDED; the best model alone when it wins by more
than its noise). Against the simplest of the tied models (the one-standard-error rule) on the
default demo, the second demo and a 24 x 10 series of one's own, the average's worst test MAE
was 1.07 x the best model's where the simplest's was 1.40 x: on few validation pixels the
simplest tied model is often a weak one, and averaging models that are equally good on
validation cancels part of their errors. SIMPLICITY orders the tied models and breaks a tie in
MAE itself.

The validation MAE of the maps a ranking picks is optimistic: the same pixels chose them. The
nested estimate judges every block with the average the same rule picks from the other blocks.
"""

import logging

import numpy as np

from .metrics import load_prediction, pearson_r
from .plan import RECOMMENDED
from .strategies import VALIDATION, spatial_blocks

log = logging.getLogger(__name__)


# From the least to the most flexible: the order tied models are listed in, and the winner of an
# exact tie in MAE. Baselines not listed come after the listed ones, CNN ensembles after every
# baseline, single CNNs last.
SIMPLICITY = ("constant", "haadf_linear", "virtual_ridge", "pca_ridge", "radial_boosting")
KIND_ORDER = {"baseline": 0, "ensemble": 1, "cnn": 2}
BLOCK_GRID = 4  # each training scan cut into 4 x 4 blocks for the paired comparison


def simplicity(kind, model):
    """Sort key of a model by simplicity (lowest first)."""
    baseline_rank = SIMPLICITY.index(model) if model in SIMPLICITY else len(SIMPLICITY)
    return KIND_ORDER[kind], baseline_rank, model


def validation_pixels(paths):
    """The validation pixels of one model's predictions of a strategy's training scans, pooled:
    calibrated prediction, blurred EDS and members' spread ((n, E) float64; the spread None for
    a model without members), each pixel's spatial block (n,) and the elements. A refitted
    baseline's are its cross-fitted predictions (``held_out_*``): each pixel predicted by the
    refit without it."""
    predicted, truth, spread, index, shapes, elements = [], [], [], [], [], None
    for number, path in enumerate(paths):
        pred = load_prediction(path)
        chosen = pred["role"] == VALIDATION
        elements = pred["elements"]
        calibrated = pred.get("held_out_calibrated", pred["predicted_calibrated"])
        std = pred.get("held_out_std", pred.get("predicted_std"))
        predicted.append(calibrated[chosen])
        truth.append(pred["eds_blurred"][chosen])
        spread.append(np.full(calibrated[chosen].shape, np.nan) if std is None else std[chosen])
        pixels = np.flatnonzero(chosen.ravel())
        index.append(np.column_stack([np.full(len(pixels), number), pixels]))
        shapes.append(chosen.shape)
    predicted, truth, spread = (np.concatenate(a).astype(np.float64) for a in (predicted, truth, spread))
    blocks = spatial_blocks(np.concatenate(index), shapes, BLOCK_GRID)
    return predicted, truth, (spread if np.isfinite(spread).all() else None), blocks, elements


def validation_scores(predicted, truth, elements):
    """Scores of one model on its validation pixels: ``mae_<element>``, ``pearson_r_<element>``,
    ``mae_mean``, ``pearson_r_mean`` and ``n_pixels``.

    Raises:
        ValueError: no validation pixel, or a validation label that is not finite.
    """
    import warnings

    from .metrics import ConstantMapWarning

    row = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantMapWarning)  # a constant map: r is NaN
        for i, element in enumerate(elements):
            row[f"mae_{element}"] = float(np.mean(np.abs(predicted[:, i] - truth[:, i])))
            row[f"pearson_r_{element}"] = pearson_r(truth[:, i], predicted[:, i])
    row["mae_mean"] = float(np.mean([row[f"mae_{e}"] for e in elements]))
    row["pearson_r_mean"] = float(np.mean([row[f"pearson_r_{e}"] for e in elements]))
    row["n_pixels"] = int(len(truth))
    return row


def paired_difference(errors, reference, blocks):
    """Mean of ``errors`` - ``reference`` (per-pixel, (n,)) and its standard error with the
    pixels clustered in ``blocks``: the blocks' mean differences, weighted by their pixels
    (infinite with one block: one piece of evidence says nothing about its noise)."""
    difference = np.asarray(errors, dtype=np.float64) - np.asarray(reference, dtype=np.float64)
    ids, inverse = np.unique(blocks, return_inverse=True)
    weights = np.bincount(inverse).astype(np.float64)
    means = np.bincount(inverse, weights=difference) / weights
    mean = float(np.sum(weights * means) / weights.sum())
    if len(ids) < 2:
        return mean, float("inf")
    k = len(ids)
    variance = k / (k - 1) * np.sum((weights * (means - mean)) ** 2) / weights.sum() ** 2
    return mean, float(np.sqrt(variance))


def choose(models, errors, blocks, chosen=None):
    """The one-standard-error choice among ``models`` ([(kind, name)]) from their per-pixel
    errors ({name: (n,) mean absolute error over the elements}) on the pixels ``chosen`` (bool
    (n,), all when None).

    Returns:
        dict: ``best`` (lowest MAE; a tie in MAE to the simpler), ``tied`` (the models within one
        standard error of it, simplest first), and per model ``margin`` (MAE minus the best's) and
        ``standard_error`` of that paired difference.
    """
    chosen = np.ones(len(blocks), dtype=bool) if chosen is None else chosen
    mae = {name: float(errors[name][chosen].mean()) for _, name in models}
    best = min(models, key=lambda m: (mae[m[1]], simplicity(*m)))[1]
    margin, standard_error, tied = {}, {}, []
    for kind, name in sorted(models, key=lambda m: simplicity(*m)):
        margin[name], standard_error[name] = paired_difference(errors[name][chosen], errors[best][chosen],
                                                               blocks[chosen])
        if name == best or margin[name] <= standard_error[name]:
            tied.append(name)
    return {"best": best, "tied": tied, "margin": margin, "standard_error": standard_error}


def nested_errors(models, errors, predicted, truth, blocks):
    """(n, E) absolute errors of the recommendation as a procedure: each block's pixels judged by
    the average of the models :func:`choose` ties from the other blocks (NaN with one block).
    Their mean is an honest estimate of the recommended maps' error on pixels that did not
    choose them. ``predicted``: {model: (n, E)}; ``truth`` (n, E)."""
    nested = np.full(truth.shape, np.nan)
    ids = np.unique(blocks)
    if len(ids) < 2:
        return nested
    for block in ids:
        mine = blocks == block
        tied = choose(models, errors, blocks, ~mine)["tied"]
        nested[mine] = np.abs(np.mean([predicted[m][mine] for m in tied], axis=0) - truth[mine])
    return nested


def rank_strategy(strategy, items):
    """Every model of one strategy scored and ranked on its validation pixels, and the
    recommended average of the tied models.

    Args:
        strategy: its name.
        items: {(model, kind): [prediction NPZ of each training scan]}.
    Returns:
        (rows, recommendation, intervals): ``rows`` one dict per model with its validation
        scores, ``margin_mae`` and ``margin_se`` against the best model, ``tied`` and ``rank``
        (the tied models first, simplest first, then by MAE); ``recommendation`` the average's
        validation scores with ``members`` (the tied models), ``best_model``, ``tie``,
        ``margin_mae``/``margin_se`` (of the weakest member), ``n_blocks`` and the nested
        ``mae_<element>_nested`` / ``mae_mean_nested``; ``intervals`` a row per model (and the
        average, RECOMMENDED) and element (:func:`edsmaps.intervals.fit_intervals`).
    Raises:
        ValueError: no validation pixel, a label that is not finite, or models judged on
            different pixels.
    """
    from .ensemble import combined_spread
    from .intervals import fit_intervals

    models = list(items)
    scores, errors, predicted, spreads, interval_rows, blocks, truth, elements = {}, {}, {}, {}, [], None, None, None
    for model, kind in models:
        predicted[model], labels, spreads[model], model_blocks, elements = validation_pixels(items[(model, kind)])
        if len(labels) == 0 or not np.isfinite(labels).all():
            raise ValueError(f"strategy {strategy}: models are ranked on validation pixels with EDS labels; "
                             f"{model}'s predictions have {len(labels)} (check the strategy's validation_fraction)")
        if blocks is not None and not np.array_equal(blocks, model_blocks):
            raise ValueError(f"strategy {strategy}: {model} was judged on other validation pixels than the other models")
        blocks, truth = model_blocks, labels
        scores[model] = validation_scores(predicted[model], truth, elements)
        errors[model] = np.abs(predicted[model] - truth).mean(axis=1)
        for row in fit_intervals(predicted[model] - truth, spreads[model], blocks, elements):
            interval_rows.append({"strategy": strategy, "model": model, **row})
    kinds = [(kind, model) for model, kind in models]
    choice = choose(kinds, errors, blocks)
    tied = choice["tied"]
    order = {name: n for n, name in enumerate(tied)}
    ranked = sorted(kinds, key=lambda m: (m[1] not in order, order.get(m[1], 0), scores[m[1]]["mae_mean"],
                                          simplicity(*m)))
    rows = [{"strategy": strategy, "model": model, "kind": kind, **scores[model],
             "margin_mae": choice["margin"][model], "margin_se": choice["standard_error"][model],
             "tied": model in order, "rank": rank} for rank, (kind, model) in enumerate(ranked, start=1)]
    average = np.mean([predicted[m] for m in tied], axis=0)
    spread = combined_spread([predicted[m] for m in tied], [spreads[m] for m in tied])
    for row in fit_intervals(average - truth, spread, blocks, elements):
        interval_rows.append({"strategy": strategy, "model": RECOMMENDED, **row})
    weakest = max(tied, key=lambda m: choice["margin"][m])
    nested = nested_errors(kinds, errors, predicted, truth, blocks)
    kind = "average" if len(tied) > 1 else dict(models)[tied[0]]
    recommendation = {"strategy": strategy, "model": RECOMMENDED, "kind": kind,
                      **validation_scores(average, truth, elements), "members": ",".join(tied),
                      "best_model": choice["best"], "tie": len(tied) > 1, "margin_mae": choice["margin"][weakest],
                      "margin_se": choice["standard_error"][weakest], "n_blocks": int(len(np.unique(blocks))),
                      **{f"mae_{e}_nested": float(nested[:, i].mean()) for i, e in enumerate(elements)},
                      "mae_mean_nested": float(nested.mean())}
    say = (f"the average of {', '.join(tied)}: within one standard error of the lowest MAE ({choice['best']}) the "
           "validation pixels cannot tell them apart" if recommendation["tie"] else
           f"{tied[0]}: the lowest validation MAE, by more than one standard error")
    log.info("strategy %s recommends %s; validation MAE %.4f, nested estimate %.4f", strategy, say,
             recommendation["mae_mean"], recommendation["mae_mean_nested"])
    return rows, recommendation, interval_rows


def recommend_models(items, strategies, validation_tsv, recommended_tsv, intervals_tsv):
    """Rank every model of every strategy on its validation pixels (:func:`rank_strategy`) and
    write the tables.

    Args:
        items: dicts with strategy, model (folder under ``results/predictions/{strategy}/``),
            kind (cnn, ensemble, baseline) and path, one per training scan prediction.
        strategies: the strategies, in config order.
        validation_tsv: every model's validation scores, margin against the best and rank.
        recommended_tsv: one row per strategy: ``strategy``, ``model`` (RECOMMENDED, the folder of
            its maps), ``kind`` (average, or the kind of the one member), the validation scores of
            the average, ``members`` (the tied models), ``best_model``, ``tie``,
            ``margin_mae``/``margin_se`` (the weakest member's, against the best), the nested
            estimates ``mae_*_nested``.
        intervals_tsv: per strategy, model and element, the calibrated uncertainty's scale
            (:mod:`edsmaps.intervals`).
    Returns:
        (ranking, recommended, intervals) DataFrames.
    """
    import pandas as pd

    from .atomic import write_tsv

    grouped = {}
    for item in items:
        grouped.setdefault(item["strategy"], {}).setdefault((item["model"], item["kind"]), []).append(item["path"])
    rows, recommended, intervals = [], [], []
    for strategy in strategies:
        if strategy in grouped:
            ranked, choice, interval_rows = rank_strategy(strategy, grouped[strategy])
            rows += ranked
            recommended.append(choice)
            intervals += interval_rows
    ranking, recommended, intervals = pd.DataFrame(rows), pd.DataFrame(recommended), pd.DataFrame(intervals)
    write_tsv(ranking, validation_tsv)
    write_tsv(recommended, recommended_tsv)
    write_tsv(intervals, intervals_tsv)
    return ranking, recommended, intervals


def load_recommended(path):
    """{strategy: [the models whose average is recommended]} from ``recommended.tsv``."""
    import pandas as pd

    table = pd.read_csv(path, sep="\t", dtype={"strategy": str, "members": str})
    return {strategy: members.split(",") for strategy, members in zip(table["strategy"], table["members"])}


def write_recommended_maps(recommended_tsv, strategy, prediction_paths, output_paths):
    """The recommended maps of every scan of one strategy (the average of its tied models,
    :func:`edsmaps.ensemble.average_models`), in the folder RECOMMENDED beside the models'.

    Args:
        recommended_tsv: ``recommended.tsv`` (:func:`recommend_models`).
        strategy: the strategy.
        prediction_paths: {model: {scan: prediction NPZ}} of every model of the strategy.
        output_paths: {scan: prediction NPZ} to write.
    """
    from .ensemble import average_models

    members = load_recommended(recommended_tsv).get(strategy)
    if members is None:
        raise ValueError(f"{recommended_tsv}: no recommended model for strategy '{strategy}'")
    log.info("strategy %s: the recommended maps average %s", strategy, ", ".join(members))
    for scan, output in output_paths.items():
        average_models([prediction_paths[model][scan] for model in members], output)
