"""How good is a prediction really: noise ceilings, model comparison and the learning curve.

Ceilings, scored on the same test pixels as the models (``kind`` = "ceiling", ``prediction``
= "measured"):
- ``scan_to_scan``: the EDS map of the next scan of the same area (the previous one for the
  last scan) taken as the "prediction". Two noisy measurements of one area agree only this
  well, so no model can be expected to match a noisy EDS map much better. It understates the
  ceiling when the sample changes between scans (beam damage, growth);
- ``measured_eds``: on demo data, the blurred EDS map itself scored against the noise-free
  truth: a model closer to the truth than this has removed noise, not just copied it.
"""

import numpy as np

from .metrics import TEST, scores


def neighbour_scan(scan, scans):
    """The next scan in acquisition order (the previous one for the last); None for one scan."""
    i = scans.index(scan)
    if len(scans) < 2:
        return None
    return scans[i + 1] if i + 1 < len(scans) else scans[i - 1]


def ceiling_rows(pred, neighbour_maps, labels):
    """Ceiling rows (dicts in the metrics table's format) on the test pixels of ``pred``.

    ``neighbour_maps``: dict reference -> (rows, cols, E) EDS maps of the neighbouring scan
    (empty when there is none); ``labels`` (strategy, scan) are copied into every row.
    """
    test = pred["role"] == TEST
    if not test.any():
        return []
    rows = []

    def add(variant, reference, truth, measured):
        for i, element in enumerate(pred["elements"]):
            rows.append({**labels, "kind": "ceiling", "variant": variant, "replicate": 1, "output": element,
                         "prediction": "measured", "reference": reference, "n_pixels": int(test.sum()),
                         **scores(truth[..., i][test], measured[..., i][test])})

    for reference, maps in neighbour_maps.items():
        add("scan_to_scan", reference, pred[reference], maps)
    if "truth" in pred:
        add("measured_eds", "truth", pred["truth"], pred["eds_blurred"])
    return rows


def load_neighbour_maps(cache_path):
    """Blurred and unblurred EDS maps (rows, cols, E) of a cached scan."""
    with np.load(cache_path, allow_pickle=False) as cache:
        shape = tuple(int(v) for v in cache["scan_shape"])
        return {"eds_blurred": cache["targets"].reshape(*shape, -1),
                "eds_unblurred": cache["targets_unblurred"].reshape(*shape, -1)}


COMPARED = {"cnn": "calibrated", "ensemble": "calibrated", "baseline": "calibrated", "recommended": "calibrated",
            "ceiling": "measured", "oracle": "calibrated"}
RECOMMENDED_MARK = " ★"


def comparison_table(summary, split_kinds):
    """Models, baselines and ceilings side by side: Pearson r and MAE per strategy, reference
    and element (the CNN's calibrated predictions; baselines need no calibration).

    ``spread`` is the std over training seeds when there are several, else over test scans;
    ``calibration`` the CNN's calibration choice (``mean``: a dead output).
    """
    chosen = summary[summary["prediction"] == summary["kind"].map(COMPARED)]
    chosen = chosen[chosen["reference"].isin(["eds_blurred", "truth"])].copy()
    several_seeds = chosen["n_replicates"] > 1
    chosen["pearson_r_spread"] = np.where(several_seeds, chosen["pearson_r_seed_std"], chosen["pearson_r_std"])
    chosen["mae_spread"] = np.where(several_seeds, chosen["mae_seed_std"], chosen["mae_std"])
    chosen["coverage_2sigma_spread"] = np.where(several_seeds, chosen["coverage_2sigma_seed_std"],
                                                chosen["coverage_2sigma_std"])
    chosen["spread_over"] = np.where(several_seeds, "seeds", "scans")
    chosen.insert(1, "split", chosen["strategy"].map(split_kinds))
    if "calibration" not in chosen:
        chosen["calibration"] = ""
    columns = ["strategy", "split", "reference", "output", "kind", "variant", "calibration", "pearson_r_mean",
               "pearson_r_spread", "spread_over", "mae_mean", "mae_spread", "coverage_2sigma_mean",
               "coverage_2sigma_spread", "n_scans", "n_replicates"]
    return chosen[columns].reset_index(drop=True)


MARKDOWN_METRICS = {"pearson_r": ("Pearson r", 1, 2), "mae": ("MAE in at.%", 100, 1),
                    "coverage_2sigma": ("Share of test pixels within the calibrated ±2σ band (nominal 95 %)", 1, 2)}


def comparison_markdown(comparison, recommended=None):
    """Wide tables per metric and reference: rows strategy x element, columns the recommended maps,
    models, then ceilings; ``recommended`` ({strategy: the models averaged}) cells marked ★."""
    recommended = recommended or {}
    lines = ["# CNN vs baselines vs noise ceiling", "",
             "Test pixels only, mean ± spread (over seeds when several were trained, else over test scans).",
             "CNN columns are calibrated predictions. `scan_to_scan`: agreement of two EDS scans of the same",
             "area; `measured_eds` (demo only): the blurred EDS map itself scored against the truth; `oracle`",
             "(demo only): trees on the hidden quantities the demo's physics makes of the composition.",
             "† dead output: its calibration chose the constant baseline's value (the model's output did not",
             "clearly beat it on validation blocks), so the map is the constant baseline's. n/a: undefined",
             "(a constant map). `recommended`: the strategy's recommended maps, the average of the models ★",
             "that validation pixels cannot tell apart (`recommended.tsv`). Coverage: the share of test pixels",
             "within the model's calibrated 2σ band (`intervals.tsv`), nominally 0.95.", ""]
    order = {"recommended": -1, "cnn": 0, "ensemble": 1, "baseline": 2, "ceiling": 3, "oracle": 4}
    for metric, (title, factor, digits) in MARKDOWN_METRICS.items():
        for reference, part in comparison.groupby("reference", sort=False):
            models = sorted((m for m in part[["kind", "variant"]].drop_duplicates().itertuples(index=False)
                             if metric != "coverage_2sigma" or m.kind not in ("ceiling", "oracle")),
                            key=lambda m: order[m.kind])
            names = [m.variant for m in models]
            lines += [f"## {title} against `{reference}`", "",
                      "| strategy | split | element | " + " | ".join(names) + " |",
                      "| --- | --- | --- |" + " --- |" * len(names)]
            for (strategy, split, element), rows in part.groupby(["strategy", "split", "output"], sort=False):
                cells = []
                for name in names:
                    row = rows[rows["variant"] == name]
                    mark = RECOMMENDED_MARK if name in recommended.get(strategy, ()) else ""
                    cells.append(_cell(row.iloc[0], metric, factor, digits) + mark if len(row) else "")
                lines.append(f"| {strategy} | {split} | {element} | " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)


def oracle_share_markdown(comparison, reference="truth"):
    """Each model's share of what the data allow (demo): its test MAE's reduction from the
    constant's, over the oracle's, mean MAE over the elements against ``reference``; 0 is the
    constant, 1 the oracle. Empty without an oracle row."""
    part = comparison[comparison["reference"] == reference]
    means = part.groupby(["strategy", "kind", "variant"], sort=False)["mae_mean"].mean()
    strategies = [s for s in dict.fromkeys(part["strategy"]) if (s, "oracle", "oracle") in means.index]
    if not strategies:
        return ""
    models = [(k, v) for _, k, v in means.index if k not in ("ceiling", "oracle") and (k, v) != ("baseline", "constant")]
    models = list(dict.fromkeys(models))
    lines = ["## Share of what the data allow", "",
             f"(constant's MAE − model's) / (constant's − the oracle's), mean MAE over the elements against "
             f"`{reference}`: 0 is the constant, 1 the oracle (trees on the demo's hidden quantities, fitted on the "
             "same pixels, blurred as the labels).", "",
             "| strategy | oracle MAE in at.% | " + " | ".join(v for _, v in models) + " |",
             "| --- | --- |" + " --- |" * len(models)]
    for strategy in strategies:
        constant = means.get((strategy, "baseline", "constant"), np.nan)
        oracle = means[(strategy, "oracle", "oracle")]
        cells = [f"{(constant - means[(strategy, k, v)]) / (constant - oracle):.2f}"
                 if (strategy, k, v) in means.index and constant > oracle else "" for k, v in models]
        lines.append(f"| {strategy} | {100 * oracle:.2f} | " + " | ".join(cells) + " |")
    return "\n".join(lines + [""])


def best_baseline(comparison, strategy, reference):
    """The baseline of a strategy with the highest mean Pearson r over the elements against
    ``reference`` (test pixels); None without baselines."""
    part = comparison[(comparison["strategy"] == strategy) & (comparison["reference"] == reference)
                      & (comparison["kind"] == "baseline")]
    if part.empty:
        return None
    mean_r = part.groupby("variant", sort=False)["pearson_r_mean"].mean().fillna(-np.inf)
    return str(mean_r.idxmax())


def recommended_markdown(comparison, recommended):
    """Each strategy's recommended maps next to its best baseline: test Pearson r, MAE and 2σ
    coverage averaged over the elements, per reference. ``recommended``: {strategy: the models
    averaged}."""
    from .plan import RECOMMENDED

    lines = ["## Recommended maps on test pixels", "",
             "The average of the models validation pixels cannot tell apart (`recommended.tsv`); mean over the",
             "elements. Best baseline: the one with the highest mean Pearson r on the test pixels.", "",
             "| strategy | reference | recommended (average of) | Pearson r | MAE in at.% | 2σ coverage | best baseline "
             "| Pearson r | MAE in at.% | 2σ coverage |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for strategy, members in recommended.items():
        for reference in comparison["reference"].unique():
            if reference not in ("eds_blurred", "truth"):
                continue
            part = comparison[(comparison["strategy"] == strategy) & (comparison["reference"] == reference)]
            if part.empty:
                continue
            cells = []
            for name, label in ((RECOMMENDED, ", ".join(members)),) + ((best_baseline(comparison, strategy,
                                                                                         reference),) * 2,):
                rows = part[part["variant"] == name]
                cells.append(str(label))
                cells += [markdown_cell(rows[f"{metric}_mean"].mean(), np.nan, metric)
                          for metric in ("pearson_r", "mae", "coverage_2sigma")]
            lines.append(f"| {strategy} | {reference} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(row, metric, factor, digits):
    return markdown_cell(row[f"{metric}_mean"], row[f"{metric}_spread"], metric, row.get("calibration", ""))


def markdown_cell(mean, spread, metric, calibration=""):
    """``mean ± spread`` of a metric in the markdown tables' units (MARKDOWN_METRICS), "n/a" when
    undefined, and " †" when the calibration chose the mean (a dead output)."""
    _, factor, digits = MARKDOWN_METRICS[metric]
    dead = " †" if "mean" in str(calibration).split("/") else ""
    if np.isnan(mean):
        return "n/a" + dead
    spread_text = "" if np.isnan(spread) else f" ± {spread * factor:.{digits}f}"
    return f"{mean * factor:.{digits}f}" + spread_text + dead


def pixel_counts(split_paths):
    """Pixels of each role per strategy and scan: DataFrame with strategy, scan, train,
    validation, test, unused (a buffered blocked split can leave a small scan little to train on).

    Args:
        split_paths: {strategy: split NPZ}.
    """
    import pandas as pd

    from .strategies import ROLE_NAMES, load_roles

    rows = []
    for strategy, path in split_paths.items():
        for scan, role in load_roles(path).items():
            counts = {name: int((role == value).sum()) for value, name in ROLE_NAMES.items()}
            rows.append({"strategy": strategy, "scan": scan, **{k: counts[k] for k in
                                                               ("train", "validation", "test", "unused")}})
    return pd.DataFrame(rows, columns=["strategy", "scan", "train", "validation", "test", "unused"])


def pixel_counts_markdown(counts):
    """The pixel counts as a markdown table."""
    lines = ["## Pixels per strategy and scan", "", "| strategy | scan | train | validation | test | unused |",
             "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r.strategy} | {r.scan} | {r.train} | {r.validation} | {r.test} | {r.unused} |"
              for r in counts.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def learning_curve_table(items, truth_paths):
    """Accuracy against the number of EDS-labelled pixels each model was fitted on (a refitted
    baseline's include the validation pixels and buffers it was refitted on).

    ``items``: dicts with fraction, strategy, kind, variant, scan, path of each test-scan
    prediction. Rows: mean over test scans of the calibrated predictions' metrics per model,
    element and reference.
    """
    import pandas as pd

    from .metrics import load_prediction, score_prediction

    rows = []
    for item in items:
        pred = load_prediction(item["path"], truth_paths.get(item["scan"]))
        labels = {k: item[k] for k in ("fraction", "strategy", "kind", "variant", "scan")}
        labels["n_fit_pixels"] = int(pred["n_fit_pixels"])
        rows += [r for r in score_prediction(pred, labels)
                 if r["prediction"] == "calibrated" and r["reference"] in ("eds_blurred", "truth")]
    table = pd.DataFrame(rows)
    keys = ["fraction", "n_fit_pixels", "kind", "variant", "output", "reference"]
    table = table.groupby(keys, sort=False)[["pearson_r", "mae", "r2"]].mean().reset_index()
    return table.sort_values("fraction", kind="stable", ignore_index=True)


def write_learning_curve_table(items, truth_paths, table_tsv):
    """Learning-curve table (:func:`learning_curve_table`) written as TSV; returned for the figure."""
    from .atomic import write_tsv

    table = learning_curve_table(items, truth_paths)
    write_tsv(table, table_tsv)
    return table
