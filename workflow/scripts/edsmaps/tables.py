"""Tidy metric tables (one row per measurement) and a markdown summary under results/tables/."""

import numpy as np

from .atomic import atomic_output
from .evaluation import (
    ceiling_rows,
    comparison_markdown,
    comparison_table,
    load_neighbour_maps,
    markdown_cell,
    neighbour_scan,
    pixel_counts,
    pixel_counts_markdown,
)
from .metrics import cross_correlation, load_prediction, pooled_test_pixels, score_prediction, summarise
from .strategies import TEST


def _write_tsv(frame, path):
    with atomic_output(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def _write_text(text, path):
    with atomic_output(path) as tmp:
        tmp.write_text(text)


def write_metric_tables(predictions, truth_paths, cache_paths, split_kinds, split_paths, outputs):
    """Score every prediction on its test pixels, beside the noise ceilings.

    Args:
        predictions: dicts with strategy, kind, variant, replicate, scan and path.
        truth_paths: {scan: demo truth NPZ} (empty for real data).
        cache_paths: {scan: cache NPZ} of every scan with EDS, in acquisition order (for
            scan-to-scan agreement).
        split_kinds: {strategy: random / blocked / across scans}.
        split_paths: {strategy: split NPZ} (pixels per role).
        outputs: paths of metrics, summary, crosscorr, comparison, pixels (TSV) and
            summary_md, comparison_md.
    Returns:
        (metrics, summary, comparison) DataFrames; MAE in atomic fraction.
    """
    import pandas as pd

    scans = list(cache_paths)
    rows, crosscorr, groups, ceilings_done = [], [], {}, set()
    for item in predictions:
        pred = load_prediction(item["path"], truth_paths.get(item["scan"]))
        labels = {k: item[k] for k in ("strategy", "kind", "variant", "replicate", "scan")}
        rows.extend(score_prediction(pred, labels))
        if (pred["role"] == TEST).any() and item["replicate"] == 1:
            groups.setdefault((item["strategy"], item["variant"]), []).append(pred)
        if (item["strategy"], item["scan"]) not in ceilings_done:
            ceilings_done.add((item["strategy"], item["scan"]))
            other = neighbour_scan(item["scan"], scans)
            neighbour = load_neighbour_maps(cache_paths[other]) if other is not None else {}
            rows.extend(ceiling_rows(pred, neighbour, {"strategy": item["strategy"], "scan": item["scan"]}))
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
    comparison = comparison_table(summary, split_kinds)
    _write_tsv(table, outputs["metrics"])
    _write_tsv(summary, outputs["summary"])
    _write_tsv(pd.DataFrame(crosscorr), outputs["crosscorr"])
    _write_tsv(comparison, outputs["comparison"])
    pixels = pixel_counts(split_paths)
    _write_tsv(pixels, outputs["pixels"])
    _write_text(markdown_summary(summary), outputs["summary_md"])
    _write_text(comparison_markdown(comparison) + "\n" + pixel_counts_markdown(pixels), outputs["comparison_md"])
    return table, summary, comparison


def markdown_summary(summary):
    """Pearson r and MAE (mean +- std over test scans) of calibrated CNN predictions against the
    blurred EDS, in the units and with the marks of ``comparison.md``."""
    chosen = summary[(summary["prediction"] == "calibrated") & (summary["reference"] == "eds_blurred")
                     & (summary["kind"] == "cnn")]
    lines = [
        "# Prediction accuracy on test pixels",
        "",
        "Pearson r and MAE in at.% of calibrated CNN predictions against the blurred EDS maps, mean ± std",
        "over test scans. † dead output (its calibration chose the training mean, the constant baseline);",
        "n/a: undefined (a constant map). Baselines and ceilings: `comparison.md`. Full tables: `metrics.tsv`,",
        "`summary.tsv`.",
        "",
        "| strategy | variant | output | Pearson r | MAE in at.% | scans |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for _, row in chosen.iterrows():
        calibration = row.get("calibration", "")
        r = markdown_cell(row["pearson_r_mean"], row["pearson_r_std"], "pearson_r", calibration)
        mae = markdown_cell(row["mae_mean"], row["mae_std"], "mae", calibration)
        lines.append(f"| {row['strategy']} | {row['variant']} | {row['output']} | {r} | {mae} | {row['n_scans']} |")
    return "\n".join(lines) + "\n"
