"""Tidy metric tables (one row per measurement) and a markdown summary under results/tables/."""

import numpy as np

from .atomic import atomic_output
from .metrics import cross_correlation, load_prediction, pooled_test_pixels, score_prediction, summarise


def _write_tsv(frame, path):
    with atomic_output(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def write_metric_tables(predictions, truth_paths, metrics_tsv, summary_tsv, crosscorr_tsv, summary_md):
    """Score every prediction on its test pixels.

    ``predictions``: list of dicts with strategy, variant, scan and path; ``truth_paths``:
    dict scan -> demo truth NPZ (empty for real data).
    """
    import pandas as pd

    rows, crosscorr, groups = [], [], {}
    for item in predictions:
        pred = load_prediction(item["path"], truth_paths.get(item["scan"]))
        labels = {k: item[k] for k in ("strategy", "variant", "scan")}
        rows.extend(score_prediction(pred, labels))
        if (pred["role"] == 3).any():
            groups.setdefault((item["strategy"], item["variant"]), []).append(pred)
    for (strategy, variant), preds in groups.items():
        elements = preds[0]["elements"]
        for kind in ("raw", "calibrated"):
            real, predicted = pooled_test_pixels(preds, kind=kind)
            for matrix, values in cross_correlation(real, predicted).items():
                for (i, j), r in np.ndenumerate(values):
                    crosscorr.append({"strategy": strategy, "variant": variant, "prediction": kind, "matrix": matrix,
                                      "row_element": elements[i], "col_element": elements[j], "pearson_r": r})
    table = pd.DataFrame(rows)
    summary = summarise(table)
    _write_tsv(table, metrics_tsv)
    _write_tsv(summary, summary_tsv)
    _write_tsv(pd.DataFrame(crosscorr), crosscorr_tsv)
    with atomic_output(summary_md) as tmp:
        tmp.write_text(markdown_summary(summary))
    return table, summary


def markdown_summary(summary):
    """Pearson r (mean +- std over test scans) of calibrated predictions against the blurred EDS."""
    chosen = summary[(summary["prediction"] == "calibrated") & (summary["reference"] == "eds_blurred")]
    lines = [
        "# Prediction accuracy on test pixels",
        "",
        "Pearson r and MAE (atomic fraction) of calibrated predictions against the blurred EDS maps,",
        "mean ± std over test scans. Full tables: `metrics.tsv` (one row per measurement), `summary.tsv`.",
        "",
        "| strategy | variant | output | Pearson r | MAE | scans |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for _, row in chosen.iterrows():
        std_r = "" if np.isnan(row["pearson_r_std"]) else f" ± {row['pearson_r_std']:.2f}"
        std_mae = "" if np.isnan(row["mae_std"]) else f" ± {row['mae_std']:.4f}"
        lines.append(f"| {row['strategy']} | {row['variant']} | {row['output']} | {row['pearson_r_mean']:.2f}{std_r} "
                     f"| {row['mae_mean']:.4f}{std_mae} | {row['n_scans']} |")
    return "\n".join(lines) + "\n"
