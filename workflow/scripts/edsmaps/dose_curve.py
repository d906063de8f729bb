"""What the method buys: every model's maps of the test scans recorded at fractions of the dose
(:mod:`edsmaps.dose`), beside EDS measured at the same fractions, and the dose it saves.

- :func:`edsmaps.dose_series.predict_dose_series` (the series this module scores).
- :func:`dose_curve_rows`: MAE, Pearson r and the calibrated 2-sigma band's coverage of each
  model (the recommended average included) and of EDS at the same dose, per element, pooled
  over a strategy's test pixels, against the full-dose blurred EDS and (demo) the truth.
- :func:`dose_saving`: per element and dose, the dose EDS needs to match the recommended
  model's MAE against the truth, over that dose; and the dose below which the prediction is
  better than EDS measured at the same dose.
"""

import numpy as np

from .dose import eds_at_dose, quantification_factors, thinning_rng
from .dose_series import series_key
from .ensemble import combined_spread, member_spread
from .intervals import sigma
from .metrics import ConstantMapWarning, scores, truth_maps
from .prediction_file import read_cache, scan_role
from .strategies import TEST

EDS_AT_DOSE = "eds_at_dose"
COLUMNS = ["strategy", "model", "kind", "dose_fraction", "reference", "element", "mae", "pearson_r",
           "coverage_2sigma", "mean_sigma", "n_pixels"]


def series_maps(series_npzs, replicates, scan):
    """(calibrated (D, rows, cols, E), spread or None) of one model from the strategy's series
    NPZs (one per model family): one replicate as it is, several (an ensemble's) averaged with
    their spread."""
    series = {}
    for path in series_npzs:
        with np.load(path, allow_pickle=False) as npz:
            for name in set(replicates) & {str(m) for m in npz["models"]}:
                std_key = series_key("std", name, scan)
                series[name] = (npz[series_key("calibrated", name, scan)], npz[std_key] if std_key in npz else None)
    missing = set(replicates) - set(series)
    if missing:
        raise ValueError(f"{', '.join(series_npzs)}: no dose series of {', '.join(sorted(missing))}; "
                         "rerun the dose_series rules")
    series = [series[name] for name in replicates]
    if len(series) == 1:
        return series[0]
    means = np.asarray([m for m, _ in series])
    return means.mean(axis=0).astype(np.float32), member_spread(means)


def average_series(members):
    """The recommended average of several models' (calibrated, spread) series, as
    :func:`edsmaps.ensemble.average_models` averages their maps."""
    means = [m for m, _ in members]
    mean = np.mean(means, axis=0, dtype=np.float64).astype(np.float32)
    return mean, combined_spread(means, [s for _, s in members])


def _model_sigma(spread, rows, n_pixels):
    """Calibrated sigma (n_pixels, E) of maps with members' ``spread`` (n_pixels, E) or None,
    from the model's interval rows (one per element, in element order)."""
    columns = []
    for i, row in enumerate(rows):
        own = spread[:, i] if spread is not None and row["sigma_source"] == "members" else None
        columns.append(np.broadcast_to(sigma(own, float(row["sigma_scale"]), float(row["sigma_floor"])), (n_pixels,)))
    return np.stack(columns, axis=-1)


def _score_rows(labels, predicted, sigmas, references, elements, test):
    """Rows of one (model, fraction): per reference and element, :func:`edsmaps.metrics.scores` on
    the ``test`` pixels (a constant model's undefined r is NaN, without a warning per dose)."""
    import warnings

    rows = []
    for reference, values in references.items():
        for i, element in enumerate(elements):
            band = None if sigmas is None else sigmas[:, i][test]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConstantMapWarning)
                scored = scores(values[..., i][test], predicted[..., i][test], band)
            rows.append({**labels, "reference": reference, "element": element,
                         **{key: scored[key] for key in ("mae", "pearson_r", "coverage_2sigma")},
                         "mean_sigma": np.nan if band is None else float(np.mean(band)),
                         "n_pixels": int(test.sum())})
    return rows


def dose_curve_rows(strategy, scans, split_path, series_npzs, models, recommended_members, intervals, fractions, seed,
                    cache_paths, scan_shape, truth_paths=None, counts_paths=None, label_blur=None):
    """The dose curve of one strategy: every model and EDS at the same dose, per fraction.

    Args:
        strategy: its name; ``scans`` its test scans; ``split_path`` its split NPZ.
        series_npzs: the strategy's dose series, one per model family
            (:func:`edsmaps.dose_series.predict_dose_series`).
        models: {model: (kind, [its replicates' names in the series])} (:func:`series_maps`).
        recommended_members: the models the recommended maps average.
        intervals: {model: interval rows per element} of the strategy (``intervals.tsv``).
        fractions: the dose fractions of the series.
        seed: the thinning's seed (X-ray counts are thinned from it too).
        cache_paths: {scan: cache NPZ}; its ``targets`` are the full-dose blurred EDS.
        scan_shape: (rows, cols) of the raw scans (the X-ray count maps').
        truth_paths: {scan: demo truth NPZ}, or None: no truth reference.
        counts_paths: {scan: [X-ray count map per element]}, or None: no EDS at the same dose.
        label_blur: the labels' blur, keyword settings of :func:`edsmaps.blur.eds_labels`.
    Returns:
        list of row dicts (:data:`COLUMNS`), test pixels of all the scans pooled.
    """
    per_model = {name: [] for name in [*models, "recommended"]}
    references, eds_series, tests = {}, [], []
    for scan in scans:
        cache = read_cache(cache_paths[scan])
        elements = [str(e) for e in cache["elements"]]
        shape = tuple(int(v) for v in cache["scan_shape"])
        tests.append(scan_role(split_path, scan, shape) == TEST)
        refs = {"eds": cache["targets"].reshape(*shape, -1)}
        if truth_paths:
            refs["truth"] = truth_maps(truth_paths[scan], elements, cache["crop_origin"], shape)
        references[scan] = refs
        series = {name: series_maps(series_npzs, replicates, scan) for name, (_, replicates) in models.items()}
        series["recommended"] = average_series([series[m] for m in recommended_members])
        for name, maps in series.items():
            per_model[name].append(maps)
        if counts_paths and truth_paths:
            eds_series.append(_eds_series(counts_paths[scan], cache, scan_shape, fractions, seed, scan, label_blur))
    test = np.concatenate([t.ravel() for t in tests])
    pooled_refs = {ref: np.concatenate([references[s][ref].reshape(-1, len(elements)) for s in scans])
                   for ref in references[scans[0]]}
    rows = []
    kinds = {**{name: kind for name, (kind, _) in models.items()}, "recommended": "recommended"}
    for name, maps in per_model.items():
        for d, fraction in enumerate(fractions):
            predicted = np.concatenate([m[d].reshape(-1, len(elements)) for m, _ in maps])
            spreads = [s for _, s in maps]
            spread = None if spreads[0] is None else np.concatenate([s[d].reshape(-1, len(elements)) for s in spreads])
            sigmas = _model_sigma(spread, intervals[name], len(predicted)) if name in intervals else None
            labels = {"strategy": strategy, "model": name, "kind": kinds[name], "dose_fraction": float(fraction)}
            rows += _score_rows(labels, predicted, sigmas, pooled_refs, elements, test)
    for d, fraction in enumerate(fractions if eds_series else []):
        measured = np.concatenate([series[d] for series in eds_series])
        labels = {"strategy": strategy, "model": EDS_AT_DOSE, "kind": "measured", "dose_fraction": float(fraction)}
        rows += _score_rows(labels, measured, None, {"truth": pooled_refs["truth"]}, elements, test)
    return rows


def read_xray_counts(count_paths, elements, scan_shape):
    """(rows, cols, E) int64 X-ray counts of one scan, one map per element; they must be whole
    numbers >= 0 (raw counts: thinning a background-subtracted map means nothing)."""
    from .rawio import InputDataError, read_map

    maps = []
    for path, element in zip(count_paths, elements):
        values = read_map(path, scan_shape, f"X-ray counts {element}", title=element)
        if values.min() < 0 or np.abs(values - np.rint(values)).max() > 1e-3:
            raise InputDataError(f"{path}: X-ray counts {element} must be whole numbers >= 0 (raw counts, before "
                                 f"background subtraction), found values from {values.min():.4g} to {values.max():.4g}. "
                                 "Export the raw counts, or set data.eds_counts: null.")
        maps.append(np.rint(values).astype(np.int64))
    return np.stack(maps, axis=-1)


def _eds_series(count_paths, cache, scan_shape, fractions, seed, scan, label_blur):
    """EDS labels (D, N, E) of one scan at every fraction, from its X-ray count maps."""
    from .plan import crop_slices

    counts = read_xray_counts(count_paths, [str(e) for e in cache["elements"]], scan_shape)
    (r0, c0), (n_rows, n_cols) = cache["crop_origin"], cache["scan_shape"]
    rows, cols = crop_slices(scan_shape, [int(r0), int(r0 + n_rows)], [int(c0), int(c0 + n_cols)])
    measured = cache["targets_unblurred"].reshape(int(n_rows), int(n_cols), -1)
    factors, share = quantification_factors(counts[rows, cols], measured)
    return [eds_at_dose(counts, factors, share, fraction, thinning_rng(seed, f"{scan}/xray", fraction),
                        label_blur, rows, cols) for fraction in fractions]


def dose_saving(curve):
    """What the recommended model saves, per strategy and element, against the truth.

    ``curve``: the rows of :func:`dose_curve_rows` (a DataFrame). For each dose fraction d:
    the model's and EDS's MAE at d, the fraction EDS needs to reach the model's MAE (log-log
    interpolation of EDS's curve, made non-increasing), and ``saving_factor`` = that over d.
    Outside EDS's measured range the factor is a bound (``bound``: "at least" when the model
    beats EDS at the highest fraction measured, "at most" when it is worse than EDS at the
    lowest). ``better_below``: the largest fraction at and below which the model's MAE is at
    most EDS's at every measured fraction (NaN: at none). Empty without EDS at the same dose.
    """
    import pandas as pd

    truth = curve[curve["reference"] == "truth"]
    rows = []
    for (strategy, element), part in truth.groupby(["strategy", "element"], sort=False):
        model = part[part["model"] == "recommended"].set_index("dose_fraction")["mae"].sort_index()
        eds = part[part["model"] == EDS_AT_DOSE].set_index("dose_fraction")["mae"].sort_index()
        if eds.empty or model.empty:
            continue
        doses = eds.index.to_numpy(float)
        eds_mae = np.minimum.accumulate(eds.to_numpy(float))  # more dose never makes EDS worse
        better = model.reindex(eds.index).to_numpy(float) <= eds.to_numpy(float)
        losing = np.flatnonzero(~better)
        better_below = doses[losing[0] - 1] if len(losing) and losing[0] > 0 else (np.nan if len(losing) else doses[-1])
        for dose, mae in model.items():
            if mae < eds_mae[-1]:
                needed, bound = doses[-1], "at least"
            elif mae > eds_mae[0]:
                needed, bound = doses[0], "at most"
            else:
                needed = float(np.exp(np.interp(np.log(mae), np.log(eds_mae[::-1]), np.log(doses[::-1]))))
                bound = ""
            rows.append({"strategy": strategy, "element": element, "dose_fraction": dose, "model_mae": mae,
                         "eds_mae": float(eds.get(dose, np.nan)), "eds_dose_needed": needed,
                         "saving_factor": needed / dose, "bound": bound, "better_below": better_below})
    return pd.DataFrame(rows, columns=["strategy", "element", "dose_fraction", "model_mae", "eds_mae",
                                       "eds_dose_needed", "saving_factor", "bound", "better_below"])


def write_dose_curve(strategies, fractions, seed, cache_paths, scan_shape, curve_tsv, saving_tsv, truth_paths=None,
                     counts_paths=None, label_blur=None):
    """The dose curve of every strategy asked for (:func:`dose_curve_rows`) and the dose saving
    (:func:`dose_saving`), as TSVs.

    Args:
        strategies: {strategy: {"scans": test scans, "split": split NPZ, "series": its dose series NPZs,
            "models": {model: [kind, [replicates]]}, "recommended": its recommended.tsv, "intervals":
            its intervals.tsv}}.
        other arguments: see :func:`dose_curve_rows`.
    """
    import pandas as pd

    from .atomic import write_tsv
    from .intervals import load_intervals

    rows = []
    for strategy, item in strategies.items():
        chosen = pd.read_csv(item["recommended"], sep="\t", dtype={"members": str})
        members = str(chosen.loc[chosen["model"] == "recommended", "members"].iloc[0]).split(",")
        models = {name: (kind, list(replicates)) for name, (kind, replicates) in item["models"].items()}
        rows += dose_curve_rows(strategy, list(item["scans"]), item["split"], item["series"], models, members,
                                {model: r for (_, model), r in load_intervals(item["intervals"]).items()}, fractions, seed,
                                cache_paths, scan_shape, truth_paths, counts_paths, label_blur)
    curve = pd.DataFrame(rows, columns=COLUMNS)
    write_tsv(curve, curve_tsv)
    write_tsv(dose_saving(curve), saving_tsv)
    return curve


def dose_saving_markdown(saving):
    """The dose-saving section of ``comparison.md`` from :func:`dose_saving`'s table."""
    lines = ["", "## Dose saving: maps from diffraction vs EDS at the same dose", ""]
    if saving.empty:
        return "\n".join(lines + [
            "Not measured: it needs each element's raw X-ray counts (`data.eds_counts`) to simulate EDS at a lower",
            "dose, and a noise-free reference to score both (the demo's truth). `dose_curve.tsv` and Fig. 12 show",
            "every model's accuracy against the dose beside the scan-to-scan agreement of the EDS maps.", ""])
    fractions = sorted(saving["dose_fraction"].unique())
    lines += [
        "Per element, the recommended model's saving at each dose fraction d: the dose EDS needs to reach the",
        "model's MAE against the truth (test pixels) at d, divided by d (≥: the model beats EDS at the highest dose",
        "measured, ≤: it is worse than EDS at the lowest). *Better below*: the largest fraction at and below which",
        "the prediction's MAE is at most that of EDS measured at the same dose (—: at none).", "",
        "| strategy | element | better below | " + " | ".join(f"d = {_fraction_label(f)}" for f in fractions) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in fractions) + " |"]
    marks = {"at least": "≥ ", "at most": "≤ "}
    for (strategy, element), part in saving.groupby(["strategy", "element"], sort=False):
        by_dose = part.set_index("dose_fraction")
        cells = []
        for fraction in fractions:
            row = by_dose.loc[fraction] if fraction in by_dose.index else None
            cells.append("" if row is None else f"{marks.get(row['bound'], '')}×{row['saving_factor']:.2g}")
        below = part["better_below"].iloc[0]
        lines.append(f"| {strategy} | {element} | {'—' if np.isnan(below) else _fraction_label(below)} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines + [""])


def _fraction_label(fraction):
    """1, 1/2, 1/4 ... for powers of two, else the number."""
    inverse = 1 / fraction
    return "1" if fraction == 1 else (f"1/{inverse:.0f}" if abs(inverse - round(inverse)) < 1e-9 else f"{fraction:g}")
