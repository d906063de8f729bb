"""Metric tables, figures and the report on the shared tiny run."""

import re
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import run_snakemake

from edsmaps.strategies import TEST, TRAIN, UNUSED

FIGURES = [
    "fig1_single_training_and_accuracy", "fig2_extrapolation_metrics", "fig3_maps_extrapolation",
    "fig4_crosscorr_extrapolation", "fig5_interpolation_metrics", "fig6_maps_interpolation",
    "fig7_crosscorr_interpolation", "fig8_calibrated_eds_haadf", "fig9_eds_blur_comparison", "fig10_workflow",
]  # fmt: skip


def test_every_figure_exists_as_png_and_pdf(tiny_run):
    for figure in FIGURES:
        png = tiny_run / "results" / "figures" / f"{figure}.png"
        pdf = tiny_run / "results" / "figures" / f"{figure}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", figure
        assert pdf.read_bytes()[:5] == b"%PDF-", figure


def test_metric_tables_score_test_pixels_against_every_reference(tiny_run):
    table = pd.read_csv(tiny_run / "results" / "tables" / "metrics.tsv", sep="\t", dtype={"scan": str})
    assert set(table["reference"]) == {"eds_blurred", "eds_unblurred", "truth", "haadf"}
    assert set(table["prediction"]) == {"raw", "calibrated", "measured"}  # measured: the noise ceilings
    assert set(table.loc[table["kind"] == "ceiling", "prediction"]) == {"measured"}
    assert set(table["strategy"]) == {"single", "single_blocked", "extrapolate", "interpolate"}
    # single: 20 % of the 72 cropped pixels; cross-scan test scans: every pixel.
    assert set(table.loc[table["strategy"] == "single", "n_pixels"]) == {15}
    assert set(table.loc[table["strategy"] == "interpolate", "scan"]) == {"0034", "0035"}
    assert set(table.loc[table["strategy"] == "extrapolate", "n_pixels"]) == {72}
    assert "0037" not in set(table["scan"])  # predict-only scans are never scored
    np.testing.assert_allclose(table["abs_error_at_pct"], 100 * table["mae"], rtol=1e-5)
    summary = pd.read_csv(tiny_run / "results" / "tables" / "summary.tsv", sep="\t")
    summary = summary[summary["kind"] == "cnn"]
    row = summary[(summary.strategy == "extrapolate") & (summary.variant == "paper") & (summary.output == "Te")
                  & (summary.prediction == "raw") & (summary.reference == "eds_blurred")]  # fmt: skip
    per_scan = table[(table.kind == "cnn") & (table.strategy == "extrapolate") & (table.variant == "paper") & (table.output == "Te")
                     & (table.prediction == "raw") & (table.reference == "eds_blurred")]  # fmt: skip
    assert row["n_scans"].item() == 3
    assert row["mae_mean"].item() == pytest.approx(per_scan["mae"].mean(), rel=1e-4)
    crosscorr = pd.read_csv(tiny_run / "results" / "tables" / "crosscorr.tsv", sep="\t")
    real = crosscorr[(crosscorr.matrix == "real") & (crosscorr.row_element == crosscorr.col_element)]
    np.testing.assert_allclose(real["pearson_r"], 1, atol=1e-6)
    assert "| extrapolate | paper | Te |" in (tiny_run / "results" / "tables" / "summary.md").read_text()


def test_figures_have_the_papers_panels(tiny_run, tmp_path):
    from edsmaps import figures

    results = tiny_run / "results"
    fig1 = figures.training_and_accuracy(results / "models/single/paper/history.csv",
                                         results / "predictions/single/paper/0033.npz", "raw", "x",
                                         tmp_path / "1.png", tmp_path / "1.pdf")  # fmt: skip
    assert [t.split()[0] for t in fig1["panels"]] == ["A", "B", "C", "D"]
    extrapolation = [results / f"predictions/extrapolate/paper/{s}.npz" for s in ("0034", "0035", "0036")]
    fig2 = figures.strategy_metrics(extrapolation, "raw", "x", tmp_path / "2.png", tmp_path / "2.pdf")
    assert fig2["panels"] == ["A  correlation (3 test scans)", "B  mean absolute error"]
    maps = [results / f"predictions/extrapolate/paper/{s}.npz" for s in ("0033", "0035")]
    fig3 = figures.composition_maps(maps, ["0033", "0035"], "raw", "x", tmp_path / "3.png", tmp_path / "3.pdf",
                                    label_blur="gaussian 7×7")
    assert len(fig3["panels"]) == 2 * 2 * 5  # the paper's figure: blurred EDS and the CNN
    assert fig3["panels"][0] == "0033 O: EDS, gaussian 7×7\n(training scan)"
    assert "0035 O: paper CNN\n(test scan)" in fig3["panels"]
    recommended = [results / f"predictions/extrapolate/recommended/{s}.npz" for s in ("0033", "0035")]
    fig3 = figures.composition_maps(maps, ["0033", "0035"], "calibrated", "x", tmp_path / "3.png",
                                    tmp_path / "3.pdf", recommended_paths=recommended, label_blur="gaussian 7×7")
    assert len(fig3["panels"]) == 3 * 2 * 5 and "0035 Te: recommended\n(test scan)" in fig3["panels"]
    fig4 = figures.cross_correlations(extrapolation, "raw", "x", tmp_path / "4.png", tmp_path / "4.pdf")
    assert [t.split()[0] for t in fig4["panels"]] == ["A", "B", "C"]
    fig8 = figures.calibrated_eds_haadf(results / "predictions/interpolate/paper_haadf/0035.npz",
                                        results / "cache/0035.npz", [2, 5, 2, 5], "0035", "x",
                                        tmp_path / "8.png", tmp_path / "8.pdf")  # fmt: skip
    assert len(fig8["panels"]) == 6 * 3 + 1 and "0035 HAADF: calibrated" in fig8["panels"]
    with pytest.raises(ValueError, match="region"):
        figures.calibrated_eds_haadf(results / "predictions/interpolate/paper_haadf/0035.npz",
                                     results / "cache/0035.npz", [2, 50, 2, 5], "0035", "x",
                                     tmp_path / "8.png", tmp_path / "8.pdf")  # fmt: skip


def test_figures_show_the_prediction_the_tables_score(tiny_run, tmp_path):
    """By default a figure plots the calibrated prediction, the one summary.tsv and summary.md
    score: its bars are the table's numbers, and its title says model, prediction and strategy."""
    import yaml
    from conftest import REPO
    from edsmaps import figures

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    kind = schema["properties"]["figures"]["properties"]["prediction"]["default"]
    assert kind == "calibrated"
    paths = [tiny_run / f"results/predictions/extrapolate/paper/{s}.npz" for s in ("0034", "0035", "0036")]
    plotted = figures.strategy_metrics(paths, kind, "x", tmp_path / "2.png", tmp_path / "2.pdf")["values"]
    summary = pd.read_csv(tiny_run / "results" / "tables" / "summary.tsv", sep="\t")
    rows = summary[(summary.kind == "cnn") & (summary.strategy == "extrapolate") & (summary.variant == "paper")
                   & (summary.prediction == kind) & (summary.reference == "eds_blurred")].set_index("output")  # fmt: skip
    for element, values in plotted.items():
        assert values["mae"] == pytest.approx(rows.loc[element, "mae_mean"], rel=1e-4)
        if np.isfinite(values["pearson_r"]):
            assert values["pearson_r"] == pytest.approx(rows.loc[element, "pearson_r_mean"], rel=1e-4, abs=1e-6)
    from edsmaps.evaluation import markdown_cell

    markdown = (tiny_run / "results" / "tables" / "summary.md").read_text()
    row = rows.loc["Te"]
    cell = markdown_cell(row["pearson_r_mean"], row["pearson_r_std"], "pearson_r", row["calibration"])
    assert f"| extrapolate | paper | Te | {cell} |" in markdown
    assert f"{100 * row['mae_mean']:.1f}" in markdown.split("| extrapolate | paper | Te |")[1].split("\n")[0]
    from PIL import Image

    with Image.open(tiny_run / "results/figures/fig2_extrapolation_metrics.png") as png:
        title = png.text["Title"]
    assert title == ("Accuracy: paper CNN, calibrated prediction — "
                     "strategy extrapolate: trained on 0033, tested on 0034, 0035, 0036")
    with Image.open(tiny_run / "results/figures/fig1_single_training_and_accuracy.png") as png:
        assert "strategy single: trained on 0033, tested on held-out pixels of the same scan" in png.text["Title"]


def test_one_figure_rebuilds_alone_after_a_plot_setting_changes(tiny_run, tmp_path):
    rerun = tmp_path / "rerun"
    shutil.copytree(tiny_run, rerun)
    target = "results/figures/fig3_maps_extrapolation.png"
    proc = run_snakemake(rerun, "--dry-run", "--config", "figures={'prediction': 'raw'}", "--", target)
    out = proc.stdout + proc.stderr
    assert "Params have changed" in out
    # Nothing upstream (training, prediction) re-runs: the figure is the only job.
    assert set(re.findall(r"^rule (\w+):", out, flags=re.MULTILINE)) == {"fig3_maps_extrapolation"}, out


def test_a_figure_alone_builds_only_its_inputs(tmp_path):
    from conftest import REPO

    work = tmp_path / "fresh"
    shutil.copytree(REPO / "config", work / "config")
    proc = run_snakemake(work, "--dry-run", "--", "results/figures/fig3_maps_extrapolation.png")
    stats = proc.stdout.split("Job stats:")[-1]
    assert "train_model" in stats and "interpolate" not in proc.stdout
    assert "fig5_interpolation_metrics" not in stats and "metric_tables" not in stats


def test_report_renders_every_figure_and_table(tiny_run):
    report = tiny_run / "results" / "report.html"
    run_snakemake(tiny_run, "--report", str(report))
    html = report.read_text(errors="ignore")
    for name in FIGURES + ["metrics.tsv", "summary.tsv", "crosscorr.tsv"]:
        assert name in html, name


def test_comparison_puts_cnn_baselines_and_ceilings_side_by_side(tiny_run):
    comparison = pd.read_csv(tiny_run / "results" / "tables" / "comparison.tsv", sep="\t")
    splits = dict(zip(comparison["strategy"], comparison["split"]))
    assert splits == {"single": "random", "single_blocked": "blocked", "extrapolate": "across scans",
                      "interpolate": "across scans"}  # fmt: skip
    models = set(zip(comparison["kind"], comparison["variant"]))
    assert models == {("recommended", "recommended"), ("cnn", "paper"), ("cnn", "paper_haadf"),
                      ("baseline", "constant"), ("baseline", "haadf_linear"), ("baseline", "virtual_ridge"),
                      ("baseline", "pca_ridge"), ("baseline", "radial_boosting"), ("ceiling", "scan_to_scan"),
                      ("ceiling", "measured_eds"), ("oracle", "oracle")}  # fmt: skip
    assert set(comparison["reference"]) == {"eds_blurred", "truth"}
    table = pd.read_csv(tiny_run / "results" / "tables" / "metrics.tsv", sep="\t", dtype={"scan": str})
    # A baseline is scored on exactly the CNN's test pixels of the same split.
    for strategy in ("single", "single_blocked"):
        pixels = table[(table.strategy == strategy) & (table.reference == "eds_blurred")].groupby("kind")["n_pixels"]
        assert pixels.nunique().eq(1).all() and pixels.first().nunique() == 1
    # The blocked split leaves a buffer: fewer test pixels than pixels not trained on.
    with np.load(tiny_run / "results" / "splits" / "single_blocked.npz") as split:
        role = split["0033"]
    assert (role == UNUSED).any() and (role == TEST).sum() == 12  # one 4 x 3 block of the 8 x 9 scan
    constant = comparison[(comparison.variant == "constant") & (comparison.reference == "eds_blurred")]
    assert constant["pearson_r_mean"].isna().all() and (constant["mae_mean"] > 0).all()
    markdown = (tiny_run / "results" / "tables" / "comparison.md").read_text()
    assert "## Pearson r against `eds_blurred`" in markdown and "| single_blocked | blocked | O |" in markdown
    # Pixels of every role per strategy and scan, read from the splits.
    pixels = pd.read_csv(tiny_run / "results" / "tables" / "pixels.tsv", sep="\t", dtype={"scan": str})
    blocked = pixels[(pixels.strategy == "single_blocked") & (pixels.scan == "0033")].iloc[0]
    assert (blocked.train, blocked.validation, blocked.test, blocked.unused) == tuple(
        int((role == value).sum()) for value in (1, 2, 3, 0))  # fmt: skip
    assert set(pixels[pixels.strategy == "interpolate"]["scan"]) == {"0033", "0034", "0035", "0036"}
    assert "| single_blocked | 0033 | " in markdown
    # A dead output is marked where its scores are shown.
    dead = comparison[comparison["calibration"].fillna("").astype(str).str.contains("mean")]
    marked = [line for line in markdown.splitlines() if line.startswith("|") and "†" in line]
    assert len(marked) > 0 if len(dead) else marked == []
    for strategy in splits:
        png = tiny_run / "results" / "figures" / "comparison" / f"{strategy}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_learning_curve_target_scores_nested_training_subsets(tiny_run):
    run_snakemake(tiny_run, "learning_curve")
    curve = pd.read_csv(tiny_run / "results" / "learning_curve" / "learning_curve.tsv", sep="\t")
    assert sorted(set(curve["fraction"])) == [0.5, 1.0]
    assert set(zip(curve["kind"], curve["variant"])) == {("cnn", "paper"), ("baseline", "radial_boosting")}
    pixels = curve.groupby(["kind", "fraction"])["n_fit_pixels"].first()
    with np.load(tiny_run / "results" / "splits" / "single_blocked.npz") as split:
        role = split["0033"]
    assert pixels["cnn", 1.0] == (role == TRAIN).sum()
    # the baseline is refitted on the validation pixels and buffers too, never near a test block
    assert pixels["baseline", 1.0] > (role == TRAIN).sum()
    assert pixels["baseline", 1.0] < (role != TEST).sum()
    for kind in ("cnn", "baseline"):
        assert pixels[kind, 0.5] == round(0.5 * pixels[kind, 1.0])
    assert (tiny_run / "results" / "figures" / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_the_maps_figure_keeps_a_missing_composition_visible(tiny_run, tmp_path):
    """Fig. 11: a map and its truth share a colour scale that spans the training scans' EDS, the
    calibrated sigma is always shown, and pixels unlike the training data are outlined."""
    import json

    from edsmaps import figures

    folder = tiny_run / "results" / "predicted_maps" / "0037"
    meta = json.loads((folder / "maps.json").read_text())
    drawn = figures.predicted_maps([folder], [tiny_run / "resources" / "demo" / "truth" / "0037.npz"], ["0037"],
                                   "x", tmp_path / "11.png", tmp_path / "11.pdf")
    panels = drawn["panels"]
    assert len(panels) == 3 * 5  # map, sigma, truth per element
    assert sum("σ" in p for p in panels) == 5 and sum("truth" in p and "hidden" in p for p in panels) == 5
    assert all("red: unlike training" in p for p in panels if "predicted" in p)
    for element, (low, high) in drawn["scales"]["0037"].items():
        seen_low, seen_high = meta["training_eds_range"][element]
        assert low <= seen_low and high >= seen_high  # the scale spans what the models learned from
