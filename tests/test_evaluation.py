import numpy as np
import pandas as pd
import pytest
from edsmaps.evaluation import (
    ceiling_rows,
    comparison_markdown,
    comparison_table,
    neighbour_scan,
)
from edsmaps.metrics import summarise
from edsmaps.strategies import TEST, TRAIN


def test_neighbour_is_the_next_scan_or_the_previous_for_the_last():
    scans = ["0033", "0034", "0035"]
    assert [neighbour_scan(s, scans) for s in scans] == ["0034", "0035", "0034"]
    assert neighbour_scan("0033", ["0033"]) is None


def test_ceilings_score_the_neighbour_scan_and_the_measured_map_on_test_pixels_only():
    rng = np.random.default_rng(0)
    truth = rng.random((4, 5, 2))
    measured = truth + 0.01 * rng.normal(size=truth.shape)
    role = np.full((4, 5), TRAIN, dtype=np.int8)
    role[:2] = TEST
    pred = {"role": role, "elements": ["O", "Te"], "eds_blurred": measured, "truth": truth}
    neighbour = measured.copy()
    neighbour[2:] = 0  # differs only outside the test pixels
    rows = ceiling_rows(pred, {"eds_blurred": neighbour}, {"strategy": "s", "scan": "0033"})
    scan_to_scan = [r for r in rows if r["variant"] == "scan_to_scan"]
    assert len(scan_to_scan) == 2 and all(r["pearson_r"] == pytest.approx(1) for r in scan_to_scan)
    assert all(r["n_pixels"] == 10 and r["kind"] == "ceiling" for r in rows)
    measured_rows = [r for r in rows if r["variant"] == "measured_eds"]
    assert [r["reference"] for r in measured_rows] == ["truth", "truth"]
    assert all(0.9 < r["pearson_r"] < 1 for r in measured_rows)


def metric_rows(kind, variant, prediction, reference, values):
    """Tidy rows: values[(replicate, scan)] = pearson r."""
    return [{"strategy": "single", "kind": kind, "variant": variant, "replicate": rep, "scan": scan, "output": "O",
             "prediction": prediction, "reference": reference, "pearson_r": r, "mae": 1 - r, "abs_error_at_pct": 0.0,
             "percent_error": 0.0, "r2": 0.0, "coverage_2sigma": np.nan if kind == "ceiling" else r}
            for (rep, scan), r in values.items()]


def test_comparison_spreads_over_seeds_and_takes_calibrated_cnn_and_measured_ceilings():
    table = pd.DataFrame(
        metric_rows("cnn", "paper", "calibrated", "eds_blurred", {(1, "a"): 0.5, (1, "b"): 0.7, (2, "a"): 0.7,
                                                                  (2, "b"): 0.9})
        + metric_rows("cnn", "paper", "raw", "eds_blurred", {(1, "a"): 0.0})
        + metric_rows("baseline", "pca_ridge", "calibrated", "eds_blurred", {(1, "a"): 0.8, (1, "b"): 0.9})
        + metric_rows("ceiling", "scan_to_scan", "measured", "eds_blurred", {(1, "a"): 0.95, (1, "b"): 0.97})
    )
    summary = summarise(table)
    cnn = summary[(summary["variant"] == "paper") & (summary["prediction"] == "calibrated")].iloc[0]
    assert cnn["n_replicates"] == 2 and cnn["n_scans"] == 2
    assert cnn["pearson_r_mean"] == pytest.approx(0.7)
    assert cnn["pearson_r_seed_std"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    comparison = comparison_table(summary, {"single": "blocked"})
    assert list(comparison["variant"]) == ["paper", "pca_ridge", "scan_to_scan"]
    assert list(comparison["spread_over"]) == ["seeds", "scans", "scans"]
    assert comparison.loc[0, "pearson_r_spread"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert set(comparison["split"]) == {"blocked"}
    markdown = comparison_markdown(comparison)
    assert "| single | blocked | O | 0.70 ± 0.14 | 0.85 ± 0.07 | 0.96 ± 0.01 |" in markdown
    # coverage: models only, the ceilings measure rather than predict
    assert "| single | blocked | O | 0.70 ± 0.14 | 0.85 ± 0.07 |\n" in markdown
    comparison.loc[0, "calibration"] = "linear/mean"  # one replicate's output died
    assert "| single | blocked | O | 0.70 ± 0.14 † | 0.85 ± 0.07 | 0.96 ± 0.01 |" in comparison_markdown(comparison)


def test_a_models_share_of_what_the_data_allow_runs_from_the_constant_to_the_oracle():
    import pandas as pd

    from edsmaps.evaluation import oracle_share_markdown

    rows = [("baseline", "constant", 0.04), ("oracle", "oracle", 0.01), ("baseline", "radial_boosting", 0.02)]
    table = pd.DataFrame([{"strategy": "extrapolate", "reference": "truth", "kind": kind, "variant": variant,
                           "output": element, "mae_mean": mae} for kind, variant, mae in rows for element in "AB"])
    text = oracle_share_markdown(table)
    assert "| extrapolate | 1.00 | 0.67 |" in text  # (4 - 2) / (4 - 1)
    assert oracle_share_markdown(table[table["variant"] != "oracle"]) == ""
