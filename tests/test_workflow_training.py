"""End-to-end training, calibration and prediction on the shared tiny run."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import run_snakemake

from edsmaps.strategies import TEST, UNUSED, VALIDATION

STRATEGY_SCANS = {
    "single": ["0033"],
    "single_blocked": ["0033"],
    "extrapolate": ["0033", "0034", "0035", "0036"],
    "interpolate": ["0033", "0034", "0035", "0036"],
}
VARIANTS = ["paper", "paper_haadf"]
ELEMENTS = ["O", "Si", "Ge", "Sb", "Te"]


@pytest.mark.parametrize("strategy", list(STRATEGY_SCANS))
@pytest.mark.parametrize("variant", VARIANTS)
def test_models_carry_history_scaling_calibration_and_provenance(tiny_run, strategy, variant):
    folder = tiny_run / "results" / "models" / strategy / variant
    history = (folder / "history.csv").read_text().splitlines()
    columns = history[0].split(",")
    assert columns[0] == "epoch" and {"loss", "val_loss"} <= set(columns)
    assert 1 <= len(history) - 1 <= 2  # tiny config caps at 2 epochs
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["training"]["epochs"] == 2 and manifest["training"]["deterministic"] is True
    assert manifest["model"]["haadf_head"] is (variant == "paper_haadf")
    assert "keras" in manifest["versions"] and "numpy" in manifest["versions"]
    scaling = json.loads((folder / "input_scaling.json").read_text())
    assert scaling["method"] == "log" and scaling["elements"] == ELEMENTS
    calibration = json.loads((folder / "calibration.json").read_text())
    assert set(calibration["outputs"]) == set(ELEMENTS) | ({"haadf"} if variant == "paper_haadf" else set())
    for name, record in calibration["outputs"].items():
        assert record["choice"] in ("identity", "linear", "mean") and record["dead"] == (record["choice"] == "mean")
        assert record["choice"] != "linear" or record["alpha"] > 0
        if record["cv_mae"]["mean"] is None:  # too few validation pixels to judge: dead, never raw
            assert record["dead"] and record["reason"] == "too few validation pixels"
        elif record["choice"] != "identity":  # chosen on held-out blocks: never worse than the constant
            assert record["cv_mae"][record["choice"]] <= record["cv_mae"]["mean"]
    assert calibration["dead"] == [n for n, r in calibration["outputs"].items() if r["dead"]]
    # The spatial prior is chosen on the same validation pixels (prediction.spatial_prior: validation).
    prior = calibration["spatial_prior"]
    scores, chosen = prior["validation_mae"], " ".join(map(str, prior["chosen"]))
    assert set(scores) == {"none 1", "gaussian 7"}
    known = [v for v in scores.values() if v is not None]  # None: too few validation pixels to score
    assert scores[chosen] == min(known) if known else chosen == "none 1"
    # Calibration is fitted on exactly the validation pixels of the training scans.
    training = ["0033", "0036"] if strategy == "interpolate" else ["0033"]
    with np.load(tiny_run / "results" / "splits" / f"{strategy}.npz") as split:
        assert calibration["n_pixels"] == sum(int((split[s] == VALIDATION).sum()) for s in training) > 0

@pytest.mark.parametrize("strategy", list(STRATEGY_SCANS))
def test_every_scan_of_a_strategy_is_predicted_with_its_role_mask(tiny_run, strategy):
    from edsmaps.caching import load_cache

    folder = tiny_run / "results" / "predictions" / strategy
    for variant in VARIANTS:
        predicted = sorted(p.stem for p in (folder / variant).glob("*.npz"))
        assert predicted == STRATEGY_SCANS[strategy]  # the predict-only scan: by deploy's models
    calibration = json.loads((tiny_run / "results" / "models" / strategy / "paper" / "calibration.json").read_text())
    with np.load(tiny_run / "results" / "splits" / f"{strategy}.npz") as split:
        roles = {s: split[s] for s in split.files}
    for scan in STRATEGY_SCANS[strategy]:
        with np.load(folder / "paper" / f"{scan}.npz") as pred:
            assert pred["predicted"].shape == (8, 9, 5) and list(pred["elements"]) == ELEMENTS
            np.testing.assert_array_equal(pred["role"], roles[scan])
            alpha = np.array([calibration["outputs"][e]["alpha"] for e in ELEMENTS])
            beta = np.array([calibration["outputs"][e]["beta"] for e in ELEMENTS])
            linear = pred["predicted"] * alpha + beta
            calibrated = pred["predicted_calibrated"]
            # Projected onto possible compositions; unchanged where the line already gives one.
            assert calibrated.min() >= 0 and calibrated.sum(axis=-1).max() <= 1 + 1e-5
            possible = (linear.min(axis=-1) >= 0) & (linear.sum(axis=-1) <= 1)
            np.testing.assert_allclose(calibrated[possible], linear[possible], atol=1e-5)
            assert list(pred["calibration_choice"]) == [calibration["outputs"][e]["choice"] for e in ELEMENTS]
            # The paper variant's softmax output is a composition.
            np.testing.assert_allclose(pred["predicted"].sum(axis=-1), 1.0, atol=1e-4)
            cache = load_cache(tiny_run / "results" / "cache" / f"{scan}.npz")
            np.testing.assert_array_equal(pred["eds_blurred"].reshape(-1, 5), cache["targets"])
            assert "haadf_predicted" not in pred.files
        with np.load(folder / "paper_haadf" / f"{scan}.npz") as pred:
            assert pred["haadf_predicted"].shape == (8, 9) and pred["haadf_predicted_calibrated"].shape == (8, 9)
    if strategy == "single":
        role = roles["0033"]
        assert {1, 2, 3} == set(np.unique(role))
    elif strategy == "interpolate":
        assert (roles["0034"] == TEST).all() and (roles["0035"] == TEST).all()
        assert not (roles["0033"] == TEST).any() and not (roles["0036"] == TEST).any()


def test_deterministic_training_reproduces_predictions(tiny_run, tmp_path):
    target = "results/predictions/single/paper/0033.npz"
    rerun = tmp_path / "rerun"
    shutil.copytree(tiny_run, rerun)
    run_snakemake(rerun, "--forcerun", "train_model", "--", target)
    with np.load(tiny_run / target) as first, np.load(rerun / target) as second:
        np.testing.assert_array_equal(first["predicted"], second["predicted"])
        np.testing.assert_array_equal(first["predicted_calibrated"], second["predicted_calibrated"])


def test_scans_without_eds_are_mapped_by_the_recommended_deploy_model(tiny_run):
    import mrcfile
    import tifffile

    from edsmaps.intervals import load_intervals, prediction_sigma
    from edsmaps.metrics import load_prediction

    recommended = pd.read_csv(tiny_run / "results" / "tables" / "recommended.tsv", sep="\t", dtype=str)
    members = recommended.set_index("strategy").loc["deploy", "members"].split(",")
    model = members[0] if len(members) == 1 else "average of " + ", ".join(members)
    pred = load_prediction(tiny_run / "results" / "predictions" / "deploy" / "recommended" / "0037.npz")
    assert (pred["role"] == UNUSED).all() and np.isnan(pred["eds_blurred"]).all()
    calibrated = pred["predicted_calibrated"]
    sigma = prediction_sigma(pred, load_intervals(tiny_run / "results" / "tables" / "intervals.tsv")[("deploy",
                                                                                                     "recommended")])
    folder = tiny_run / "results" / "predicted_maps" / "0037"
    meta = json.loads((folder / "maps.json").read_text())
    assert (meta["model"], meta["strategy"], meta["units"]) == (model, "deploy", "atomic fraction")
    assert meta["crop_origin_in_raw_scan"] == {"row": 2, "col": 0} and meta["scan_shape"] == [8, 9]
    validation = recommended.set_index("strategy").loc["deploy"]
    assert meta["validation_mae"] == pytest.approx({e: float(validation[f"mae_{e}"]) for e in ELEMENTS}, rel=1e-5)
    assert meta["members"] == members and meta["choice"]["tie"] == (len(members) > 1)
    assert meta["uncertainty"]["nominal_coverage"] == 0.95
    # demo.predict_only_dose is 0.25; a ratio of mean counts also depends on the composition (its oxide band)
    assert meta["dose_relative_to_training"] == pytest.approx(0.25, rel=0.12)
    for i, element in enumerate(ELEMENTS):
        with mrcfile.open(folder / f"{element}.mrc") as mrc:
            np.testing.assert_array_equal(mrc.data, calibrated[..., i])
            assert float(mrc.voxel_size.x) == pytest.approx(10.53)  # 1.053 nm in Å
        with tifffile.TiffFile(folder / f"{element}.tif") as tif:
            np.testing.assert_array_equal(tif.asarray(), calibrated[..., i])
            numerator, denominator = tif.pages[0].tags["XResolution"].value
            assert denominator / numerator == pytest.approx(1.053) and tif.imagej_metadata["unit"] == "nm"
        assert 0 <= calibrated[..., i].min() and calibrated[..., i].max() <= 1  # a possible atomic fraction
        np.testing.assert_array_equal(mrcfile.read(folder / f"{element}_std.mrc"), sigma[..., i])  # calibrated sigma
        assert (sigma[..., i] > 0).all()
    # the oxidised band across 0037 (demo.predict_only_oxide_band; on 12 rows its edges are gradients)
    # is flagged far more often than the rest of the scan
    ood = mrcfile.read(folder / "ood.mrc")
    with np.load(tiny_run / "resources" / "demo" / "truth" / "0037.npz") as truth:
        band = truth["composition"][2:10, :, 0] >= 0.35
    assert ood[band].mean() >= 0.4 and ood[band].mean() >= 3 * ood[~band].mean()
    assert meta["out_of_distribution"]["share_flagged"] == pytest.approx(ood.mean())
    # Any other model's maps on request, under its own name.
    run_snakemake(tiny_run, "--", "results/predicted_maps/deploy/constant/0037")
    with np.load(tiny_run / "results" / "predictions" / "deploy" / "constant" / "0037.npz") as pred:
        constant = pred["predicted_calibrated"]
    np.testing.assert_array_equal(mrcfile.read(tiny_run / "results" / "predicted_maps" / "deploy" / "constant" / "0037"
                                               / "O.mrc"), constant[..., 0])  # fmt: skip
