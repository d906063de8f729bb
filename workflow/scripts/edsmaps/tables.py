"""Tidy metric tables (one row per measurement) and a markdown summary under results/tables/."""

import numpy as np

from .atomic import write_text, write_tsv
from .evaluation import (
    ceiling_rows,
    comparison_markdown,
    comparison_table,
    load_neighbour_maps,
    markdown_cell,
    neighbour_scan,
    oracle_share_markdown,
    pixel_counts,
    pixel_counts_markdown,
    recommended_markdown,
)
from .intervals import load_intervals, prediction_sigma
from .metrics import cross_correlation, load_prediction, pooled_test_pixels, score_prediction, summarise
from .selection import load_recommended
from .strategies import TEST


def write_metric_tables(predictions, truth_paths, cache_paths, split_kinds, split_paths, recommended_path, outputs,
                        intervals_path, dose_saving_path=None):
    """Score every prediction on its test pixels, beside the noise ceilings.

    Args:
        predictions: dicts with strategy, model, kind, variant, replicate, scan and path.
        truth_paths: {scan: demo truth NPZ} (empty for real data).
        cache_paths: {scan: cache NPZ} of every scan with EDS, in acquisition order (for
            scan-to-scan agreement).
        split_kinds: {strategy: random / blocked / across scans}.
        split_paths: {strategy: split NPZ} (pixels per role).
        recommended_path: ``recommended.tsv`` (:func:`edsmaps.selection.recommend_models`),
            marked in ``comparison.md``.
        outputs: paths of metrics, summary, crosscorr, comparison, pixels (TSV) and
            summary_md, comparison_md.
        intervals_path: ``intervals.tsv`` (:func:`edsmaps.selection.recommend_models`): every model's
            calibrated uncertainty, whose test coverage the tables report.
        dose_saving_path: ``dose_saving.tsv`` (:func:`edsmaps.dose_curve.dose_saving`), a section of
            ``comparison.md``; None: the run has no dose curve.
    Returns:
        (metrics, summary, comparison) DataFrames; MAE in atomic fraction.
    """
    import pandas as pd

    scans = list(cache_paths)
    intervals = load_intervals(intervals_path)
    rows, crosscorr, groups, ceilings_done = [], [], {}, set()
    for item in predictions:
        pred = load_prediction(item["path"], truth_paths.get(item["scan"]))
        labels = {k: item[k] for k in ("strategy", "kind", "variant", "replicate", "scan")}
        band = intervals.get((item["strategy"], item["model"]))
        rows.extend(score_prediction(pred, labels, None if band is None else prediction_sigma(pred, band)))
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
    write_tsv(table, outputs["metrics"])
    write_tsv(summary, outputs["summary"])
    write_tsv(pd.DataFrame(crosscorr), outputs["crosscorr"])
    write_tsv(comparison, outputs["comparison"])
    pixels = pixel_counts(split_paths)
    write_tsv(pixels, outputs["pixels"])
    write_text(outputs["summary_md"], markdown_summary(summary))
    recommended = {s: m for s, m in load_recommended(recommended_path).items() if s in split_kinds}
    sections = [comparison_markdown(comparison, recommended), recommended_markdown(comparison, recommended),
                oracle_share_markdown(comparison)]
    if dose_saving_path is not None:
        from .dose_curve import dose_saving_markdown

        sections.append(dose_saving_markdown(pd.read_csv(dose_saving_path, sep="\t", keep_default_na=False,
                                                         na_values=[""])))
    write_text(outputs["comparison_md"], "\n".join([*sections, pixel_counts_markdown(pixels)]))
    return table, summary, comparison


def join_tables(paths, output):
    """Write the tab-separated tables ``paths`` (same columns) one after the other as ``output``,
    every value as it was written."""
    import pandas as pd

    write_tsv(pd.concat([pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False) for path in paths],
                        ignore_index=True), output)


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
