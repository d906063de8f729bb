"""The dose curve and the oracle ceiling of a whole run (the tiny demo), and what they never read."""

import numpy as np
import pandas as pd
import pytest
from conftest import run_snakemake

from edsmaps.dose_curve import EDS_AT_DOSE

REFIT = {"split": "random", "buffer": 3, "train_fraction": 1.0, "random_state": 42}  # the tiny single's
FRACTIONS = [1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125]  # the schema's default, which the tiny config keeps


@pytest.fixture(scope="module")
def curve(tiny_run):
    return pd.read_csv(tiny_run / "results/tables/dose_curve.tsv", sep="\t", dtype={"model": str})


def test_every_cross_scan_strategy_has_every_model_and_eds_at_every_dose(curve, tiny_run):
    assert set(curve["strategy"]) == {"extrapolate", "interpolate"}  # the others test their training scans
    models = set(curve["model"])
    assert {"recommended", "constant", "radial_boosting", "paper", "paper_haadf", EDS_AT_DOSE} <= models
    for _, part in curve.groupby(["strategy", "model", "reference", "element"]):
        assert sorted(part["dose_fraction"]) == sorted(FRACTIONS)
    assert set(curve.loc[curve["model"] == EDS_AT_DOSE, "reference"]) == {"truth"}
    band = curve.loc[curve["model"] != EDS_AT_DOSE, "coverage_2sigma"]
    assert band.notna().all() and band.between(0, 1).all()
    assert (tiny_run / "results/figures/fig12_dose_curve.png").stat().st_size > 10_000


def test_a_model_that_ignores_its_input_has_a_flat_curve(curve):
    constant = curve[curve["model"] == "constant"]
    spread = constant.groupby(["strategy", "reference", "element"])["mae"].agg(np.ptp)
    assert (spread < 1e-7).all()
    learned = curve[curve["model"] == "radial_boosting"].groupby(["strategy", "reference", "element"])["mae"]
    assert (learned.agg(np.ptp) > 1e-4).any()  # the patterns' noise reaches a model that reads them


def test_eds_at_a_lower_dose_is_noisier(curve):
    eds = curve[curve["model"] == EDS_AT_DOSE].pivot_table(index=["strategy", "element"], columns="dose_fraction",
                                                            values="mae")
    assert (eds[FRACTIONS[-1]] > 1.5 * eds[1.0]).all()


def test_the_dose_saving_is_in_the_comparison(tiny_run):
    saving = pd.read_csv(tiny_run / "results/tables/dose_saving.tsv", sep="\t", keep_default_na=False, na_values=[""])
    assert set(saving["strategy"]) == {"extrapolate", "interpolate"}
    assert (saving["saving_factor"] > 0).all()
    np.testing.assert_allclose(saving["saving_factor"], saving["eds_dose_needed"] / saving["dose_fraction"], rtol=1e-5)
    assert "## Dose saving" in (tiny_run / "results/tables/comparison.md").read_text()


def test_the_curve_is_reproducible_from_the_seed(tiny_run, tmp_path):
    target = "results/dose_curve/extrapolate/cnn.npz"
    series = tiny_run / target
    with np.load(series) as npz:
        before = {key: npz[key] for key in npz.files}
    run_snakemake(tiny_run, target, "--forcerun", "dose_series_cnn")
    with np.load(series) as npz:
        assert set(npz.files) == set(before)
        for key in npz.files:
            np.testing.assert_array_equal(npz[key], before[key])


def test_the_oracle_is_a_ceiling_that_never_reads_a_test_label(tiny_run, tmp_path):
    from edsmaps.oracle import fit_and_predict_oracle
    from edsmaps.strategies import TEST, load_roles

    comparison = pd.read_csv(tiny_run / "results/tables/comparison.tsv", sep="\t")
    oracle = comparison[comparison["variant"] == "oracle"]
    assert set(oracle["kind"]) == {"oracle"} and set(oracle["strategy"]) >= {"single", "extrapolate"}
    assert "## Share of what the data allow" in (tiny_run / "results/tables/comparison.md").read_text()
    split = tiny_run / "results/splits/single.npz"
    truth = {"0033": tiny_run / "resources/demo/truth/0033.npz"}
    paths = []
    for name, shift in (("as_is", 0.0), ("changed", 0.3)):
        with np.load(tiny_run / "results/cache/0033.npz") as npz:
            cache = {key: npz[key] for key in npz.files}
        test = load_roles(split)["0033"].ravel() == TEST
        cache["targets"][test] += shift  # a test label the oracle must not see
        np.savez(tmp_path / f"{name}.npz", **cache)
        paths.append(tmp_path / f"pred_{name}.npz")
        fit_and_predict_oracle(["0033"], {"0033": tmp_path / f"{name}.npz"}, truth, split, {"0033": paths[-1]},
                               ("gaussian", 7), seed=1, refit=REFIT)
    with np.load(paths[0]) as a, np.load(paths[1]) as b:
        np.testing.assert_array_equal(a["predicted_calibrated"], b["predicted_calibrated"])
