"""A user's own data with the four keys a config needs (tests/conftest.py ``own_data_run``):
uncropped 24 x 10 scans of 128 x 128 patterns whose oxidised band runs along the bottom edge.
The workflow must not depend on the demo's sizes, crop or layout, and its defaults must fit a
small scan."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import OWN_SCANS, OWN_SHAPE

ELEMENTS = ["O", "Si", "Ge", "Sb", "Te"]
# single_blocked is left out: its held-out blocks and their buffer would take more than half a scan
STRATEGIES = ["single", "extrapolate", "interpolate", "deploy"]
PIXELS = OWN_SHAPE[0] * OWN_SHAPE[1]


def tables(run, name):
    return pd.read_csv(run / "results" / "tables" / name, sep="\t", dtype={"members": str})


def test_the_whole_uncropped_scan_is_cached_with_the_oxide_reaching_its_edge(own_data_run):
    from edsmaps.caching import load_cache

    run, folder, _ = own_data_run
    for scan in OWN_SCANS:
        cache = load_cache(run / "results" / "cache" / f"{scan}.npz")
        assert tuple(cache["scan_shape"]) == OWN_SHAPE and tuple(cache["crop_origin"]) == (0, 0)
        assert cache["patterns"].shape == (PIXELS, 128, 128)
    with np.load(folder / "truth" / "S1.npz") as truth:
        oxygen = truth["composition"][..., 0]
    assert oxygen[0].mean() < 0.1 and oxygen[-1].mean() > 0.4  # oxide along the bottom edge


def test_every_default_strategy_is_split_with_validation_covering_the_labels(own_data_run):
    from edsmaps.strategies import TRAIN, VALIDATION, label_coverage, load_roles

    run, _, proc = own_data_run
    assert "strategy 'single_blocked' is left out: on a 24x10 scan" in proc.stdout + proc.stderr
    pixels = tables(run, "pixels.tsv")
    assert list(dict.fromkeys(pixels["strategy"])) == STRATEGIES
    assert (pixels[["train", "validation", "test", "unused"]].sum(axis=1) == PIXELS).all()
    trained = pixels[pixels["train"] > 0]
    assert (trained["validation"] > 0).all()
    for strategy in ("extrapolate", "interpolate", "deploy"):
        roles = load_roles(run / "results" / "splits" / f"{strategy}.npz")
        trained = [scan for scan, role in roles.items() if (role == TRAIN).any()]
        labels = []
        for scan in trained:
            with np.load(run / "results" / "cache" / f"{scan}.npz") as cache:
                labels.append(cache["targets"].reshape(*OWN_SHAPE, -1))
            assert (roles[scan] == VALIDATION).any()
        # the validation blocks reach the oxidised edge as well as the rest of the scans
        assert label_coverage([roles[s] for s in trained], labels).min() >= 0.8, strategy


@pytest.mark.parametrize("strategy", ["extrapolate", "interpolate"])
def test_calibration_never_chooses_worse_than_raw_or_the_mean(own_data_run, strategy):
    run, _, _ = own_data_run
    calibration = json.loads((run / "results" / "models" / strategy / "paper" / "calibration.json").read_text())
    for name, record in calibration["outputs"].items():
        assert record["choice"] != "linear" or record["alpha"] > 0, name
        scored = {k: v for k, v in record["cv_mae"].items() if v is not None}
        if scored:  # never worse than the mean on held-out blocks; the mean unless the model wins clearly
            assert scored[record["choice"]] <= scored["mean"], name
            margin = record["margin"]
            assert record["dead"] == (margin["mae_below_mean"] <= margin["standard_error"]), name
        else:  # too few validation pixels to judge: dead, never raw
            assert record["dead"] and record["choice"] == "mean", name


def test_every_prediction_is_a_possible_composition(own_data_run):
    run, _, _ = own_data_run
    predictions = sorted((run / "results" / "predictions").glob("*/*/*.npz"))
    assert predictions
    for path in predictions:
        with np.load(path) as pred:
            calibrated = pred["predicted_calibrated"]
        assert calibrated.shape == (*OWN_SHAPE, 5), path
        assert calibrated.min() >= 0 and calibrated.sum(axis=-1).max() <= 1 + 1e-5, path


def test_a_dead_cnn_output_is_exactly_the_constant_the_tables_show(own_data_run):
    run, _, _ = own_data_run
    comparison = tables(run, "comparison.tsv")
    blurred = comparison[comparison.reference == "eds_blurred"]
    constant = blurred[blurred.variant == "constant"].set_index(["strategy", "output"])["mae_mean"]
    cnn = blurred[blurred.kind == "cnn"]
    dead = cnn[cnn["calibration"] == "mean"]
    assert len(dead) > 0
    for row in dead.itertuples():
        assert row.mae_mean == pytest.approx(constant[(row.strategy, row.output)], rel=1e-6), row


def test_every_strategy_recommends_maps_and_says_how_sure_and_how_wide(own_data_run):
    run, _, _ = own_data_run
    recommended = tables(run, "recommended.tsv").set_index("strategy")
    assert list(recommended.index) == STRATEGIES
    validation = tables(run, "validation.tsv")
    for strategy, row in recommended.iterrows():
        members = row["members"].split(",")
        ranked = validation[validation.strategy == strategy]
        assert members == list(ranked[ranked.tied]["model"]) and row["best_model"] in members
        assert row["tie"] == (len(members) > 1) and row["model"] == "recommended"
        assert row["mae_mean_nested"] >= 0 and row["margin_se"] >= 0
    intervals = tables(run, "intervals.tsv")
    assert len(intervals) == (len(validation) + len(STRATEGIES)) * len(ELEMENTS)  # every model, the maps, element
    assert (intervals["sigma_scale"] > 0).all()
    comparison = tables(run, "comparison.tsv")
    models = comparison[(comparison.kind != "ceiling") & (comparison.reference == "eds_blurred")]
    assert models["coverage_2sigma_mean"].between(0, 1).all()  # every model has a test coverage
    assert set(models[models.kind == "recommended"]["strategy"]) == set(STRATEGIES) - {"deploy"}


def test_without_x_ray_counts_or_truth_the_dose_curve_is_the_models_alone(own_data_run):
    workdir, _, _ = own_data_run
    curve = pd.read_csv(workdir / "results/tables/dose_curve.tsv", sep="\t")
    assert set(curve["strategy"]) == {"extrapolate", "interpolate"} and set(curve["reference"]) == {"eds"}
    assert "eds_at_dose" not in set(curve["model"]) and curve["mae"].notna().all()
    assert "Not measured: it needs each element's raw X-ray counts" in (
        workdir / "results/tables/comparison.md").read_text()
    assert (workdir / "results/figures/fig12_dose_curve.png").exists()
