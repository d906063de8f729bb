"""Which model a strategy recommends: every model (CNN, ensemble, baseline) ranked on the
validation pixels of the training scans only, never on a test pixel.

Rank: mean over the elements of the validation MAE of the calibrated prediction against the
blurred EDS (lowest first), ties by mean Pearson r (highest first; an undefined r, a constant
map, ranks last), then the simpler model (baseline, ensemble, CNN), then by name. Where a model carries an uncertainty (``predicted_std``), its
coverage is the share of validation pixel values whose error lies within 2 sigma.
"""

import numpy as np

from .metrics import load_prediction, pearson_r
from .strategies import VALIDATION

TIE_DECIMALS = 9  # MAEs equal to this many decimals (of atomic fraction) are a tie
SIMPLER_FIRST = {"baseline": 0, "ensemble": 1, "cnn": 2}


def validation_pixels(paths):
    """Calibrated prediction, blurred EDS and uncertainty (NaN without one) of the validation
    pixels of predictions of several scans, pooled: three (n, E) float64 arrays and elements.
    A refitted model's are those of its fit before the refit (``held_out_*``), which never saw
    a validation pixel."""
    predicted, truth, spread, elements = [], [], [], None
    for path in paths:
        pred = load_prediction(path)
        chosen = pred["role"] == VALIDATION
        elements = pred["elements"]
        calibrated = pred.get("held_out_calibrated", pred["predicted_calibrated"])
        std = pred.get("held_out_std", pred.get("predicted_std", np.full_like(calibrated, np.nan)))
        predicted.append(calibrated[chosen])
        truth.append(pred["eds_blurred"][chosen])
        spread.append(std[chosen])
    return *(np.concatenate(a).astype(np.float64) for a in (predicted, truth, spread)), elements


def validation_scores(paths):
    """One model's scores on the validation pixels of its predictions ``paths`` (the training
    scans of a strategy): dict of ``mae_<element>``, ``pearson_r_<element>``, ``mae_mean``,
    ``pearson_r_mean``, ``coverage_2sigma`` (NaN without an uncertainty) and ``n_pixels``.

    Raises:
        ValueError: no validation pixel, or a validation label that is not finite.
    """
    import warnings

    from .metrics import ConstantMapWarning

    predicted, truth, spread, elements = validation_pixels(paths)
    if len(truth) == 0 or not np.isfinite(truth).all():
        raise ValueError(f"{list(map(str, paths))}: models are ranked on validation pixels with EDS labels; these "
                         f"have {len(truth)} (check the strategy's validation_fraction)")
    row = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantMapWarning)  # a constant map: r is NaN, ranked last
        for i, element in enumerate(elements):
            row[f"mae_{element}"] = float(np.mean(np.abs(predicted[:, i] - truth[:, i])))
            row[f"pearson_r_{element}"] = pearson_r(truth[:, i], predicted[:, i])
    row["mae_mean"] = float(np.mean([row[f"mae_{e}"] for e in elements]))
    row["pearson_r_mean"] = float(np.mean([row[f"pearson_r_{e}"] for e in elements]))
    covered = np.abs(predicted - truth) <= 2 * spread
    row["coverage_2sigma"] = float(covered.mean()) if np.isfinite(spread).all() else float("nan")
    row["n_pixels"] = int(len(truth))
    return row


def rank_models(scores):
    """Sort a DataFrame of :func:`validation_scores` rows (with strategy, model and kind) into each
    strategy's ranking, best first, with a ``rank`` column (1 = recommended)."""
    ranked = scores.assign(
        _mae=scores["mae_mean"].round(TIE_DECIMALS),
        _r=-scores["pearson_r_mean"].fillna(-np.inf),
        _kind=scores["kind"].map(SIMPLER_FIRST),
    ).sort_values(["strategy", "_mae", "_r", "_kind", "model"], kind="stable")
    ranked["rank"] = ranked.groupby("strategy", sort=False).cumcount() + 1
    return ranked.drop(columns=["_mae", "_r", "_kind"]).reset_index(drop=True)


def recommend_models(items, strategies, validation_tsv, recommended_tsv):
    """Score every model on its validation pixels, rank them per strategy and write the tables.

    Args:
        items: dicts with strategy, model (folder under ``results/predictions/{strategy}/``),
            kind (cnn, ensemble, baseline) and path, one per training scan prediction.
        strategies: the strategies, in config order.
        validation_tsv: every model's validation scores and rank.
        recommended_tsv: one row per strategy, its rank-1 model: columns ``strategy``, ``model``,
            ``kind`` and the validation scores.
    Returns:
        (ranking, recommended) DataFrames.
    """
    import pandas as pd

    from .atomic import write_tsv

    paths = {}
    for item in items:
        paths.setdefault((item["strategy"], item["model"], item["kind"]), []).append(item["path"])
    rows = [{"strategy": s, "model": m, "kind": k, **validation_scores(p)} for (s, m, k), p in paths.items()]
    ranking = rank_models(pd.DataFrame(rows))
    ranking["strategy"] = pd.Categorical(ranking["strategy"], categories=strategies, ordered=True)
    ranking = ranking.sort_values(["strategy", "rank"], kind="stable")
    ranking["strategy"] = ranking["strategy"].astype(str)
    recommended = ranking[ranking["rank"] == 1].drop(columns="rank").reset_index(drop=True)
    write_tsv(ranking, validation_tsv)
    write_tsv(recommended, recommended_tsv)
    return ranking, recommended


def load_recommended(path):
    """{strategy: recommended model} from ``recommended.tsv``."""
    import pandas as pd

    table = pd.read_csv(path, sep="\t", dtype={"strategy": str, "model": str})
    return dict(zip(table["strategy"], table["model"]))
