"""The recommended model is chosen on validation pixels only, and ensembles carry their spread."""

import numpy as np
import pandas as pd
import pytest
from edsmaps.ensemble import ensemble_prediction, member_spread
from edsmaps.prediction_file import write_prediction
from edsmaps.selection import choose as choose_model
from edsmaps.selection import (
    nested_errors,
    paired_difference,
    recommend_models,
    validation_pixels,
    validation_scores,
    write_recommended_maps,
)
from edsmaps.strategies import TEST, TRAIN, VALIDATION

SHAPE = (6, 5)
ELEMENTS = ["O", "Te"]


def roles():
    role = np.full(SHAPE, TRAIN, dtype=np.int8)
    role[:2] = VALIDATION
    role[-2:] = TEST
    return role


def fake_cache(truth):
    return {"targets": truth.reshape(-1, 2), "targets_unblurred": truth.reshape(-1, 2),
            "haadf": np.ones(SHAPE[0] * SHAPE[1], np.float32), "elements": np.array(ELEMENTS),
            "scan_shape": np.array(SHAPE), "crop_origin": np.array([0, 0]), "r_pixel_size": np.float64(1.0),
            "r_pixel_units": np.array("nm")}


def write(path, truth, predicted, spread=None, choice=None):
    maps = {"predicted": predicted, "predicted_calibrated": predicted}
    if spread is not None:
        maps["predicted_std"] = spread
    write_prediction(path, fake_cache(truth), roles(), {k: v.reshape(-1, 2) for k, v in maps.items()},
                     dose_ratio=1.0, fit_pixels=int((roles() == TRAIN).sum()), calibration_choice=choice)
    return path


@pytest.fixture
def truth():
    rng = np.random.default_rng(0)
    o = rng.uniform(0.1, 0.6, SHAPE)
    return np.stack([o, 1 - o], axis=-1).astype(np.float32)


def choose(tmp_path, truth, predictions):
    items = [{"strategy": "s", "model": name, "kind": "baseline", "path": write(tmp_path / f"{name}.npz", truth, p)}
             for name, p in predictions.items()]
    _, recommended = recommend_models(items, ["s"], tmp_path / "validation.tsv", tmp_path / "recommended.tsv")
    return recommended.loc[0, "model"]


def choose(tmp_path, truth, predictions, kind="baseline"):
    items = [{"strategy": "s", "model": name, "kind": kind, "path": write(tmp_path / f"{name}.npz", truth, p)}
             for name, p in predictions.items()]
    _, recommended, _ = recommend_models(items, ["s"], tmp_path / "validation.tsv", tmp_path / "recommended.tsv",
                                         tmp_path / "intervals.tsv")
    return recommended.loc[0, "members"]


def test_the_choice_never_reads_a_test_pixel(tmp_path, truth):
    validation = roles() == VALIDATION
    a = truth + 0.05  # off everywhere
    b = np.where(validation[..., None], truth + 0.06, truth).astype(np.float32)  # off on validation only
    # Scored on every pixel b would win (MAE 0.024 against 0.05); on validation pixels a wins.
    assert choose(tmp_path, truth, {"a": a, "b": b}) == "a"
    clean = pd.read_csv(tmp_path / "validation.tsv", sep="\t")
    corrupted = truth.copy()
    corrupted[roles() == TEST] = np.nan  # any use of a test label would show
    assert choose(tmp_path, corrupted, {"a": a, "b": b}) == "a"
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "validation.tsv", sep="\t"), clean)
    table = pd.read_csv(tmp_path / "recommended.tsv", sep="\t")
    assert list(table.columns[:3]) == ["strategy", "model", "kind"] and "mae_O" in table and "mae_mean" in table
    assert {"members", "best_model", "tie", "margin_mae", "margin_se", "mae_mean_nested"} <= set(table.columns)
    assert table.loc[0, "model"] == "recommended" and table.loc[0, "kind"] == "baseline"


def errors_in_blocks(rng, n_blocks, per_block, offset, block_noise):
    """Per-pixel errors of a model: its level ``offset`` plus a shift shared by each block's pixels."""
    shifts = rng.normal(0, block_noise, n_blocks)
    return np.clip(offset + np.repeat(shifts, per_block) + rng.normal(0, 0.002, n_blocks * per_block), 0, None)


def test_a_win_within_the_noise_of_the_blocks_is_a_tie():
    rng = np.random.default_rng(0)
    blocks = np.repeat(np.arange(8), 20)
    shared = errors_in_blocks(rng, 8, 20, 0.03, 0.01)
    models = [("cnn", "paper"), ("baseline", "radial_boosting"), ("baseline", "pca_ridge")]
    # radial_boosting is lower by 0.001 on average, but every other block it is worse
    errors = {"pca_ridge": shared, "radial_boosting": shared + np.repeat(np.tile([-0.006, 0.004], 4), 20),
              "paper": shared + 0.02}
    picked = choose_model(models, errors, blocks)
    assert picked["best"] == "radial_boosting" and picked["tied"] == ["pca_ridge", "radial_boosting"]  # simplest first
    assert picked["margin"]["pca_ridge"] > 0 and picked["margin"]["pca_ridge"] <= picked["standard_error"]["pca_ridge"]
    # the same mean win, the same in every block: evidence, the flexible model stands alone
    errors["radial_boosting"] = shared - 0.001
    assert choose_model(models, errors, blocks)["tied"] == ["radial_boosting"]


def test_one_block_is_no_evidence_and_a_cnn_that_equals_the_constant_is_tied_with_it():
    blocks = np.zeros(30, dtype=int)
    errors = {"constant": np.full(30, 0.05), "paper": np.full(30, 0.01)}
    picked = choose_model([("cnn", "paper"), ("baseline", "constant")], errors, blocks)
    assert picked["best"] == "paper" and picked["tied"] == ["constant", "paper"]  # infinite standard error
    blocks = np.repeat(np.arange(3), 10)
    errors = {"constant": np.full(30, 0.05), "paper": np.full(30, 0.05)}  # a dead CNN is the constant
    picked = choose_model([("cnn", "paper"), ("baseline", "constant")], errors, blocks)
    assert picked["best"] == "constant" and picked["tied"] == ["constant", "paper"]


def test_the_paired_standard_error_clusters_pixels_by_block():
    errors = np.array([0.1, 0.1, 0.3, 0.3])
    mean, standard_error = paired_difference(errors, np.zeros(4), np.array([0, 0, 1, 1]))
    assert mean == pytest.approx(0.2)
    # two blocks of means 0.1 and 0.3, equal weights: sqrt(2 / 1 * (0.1^2 + 0.1^2) / 2^2) = 0.1
    assert standard_error == pytest.approx(0.1)


def test_the_nested_estimate_judges_each_block_with_the_models_chosen_on_the_others():
    blocks = np.repeat(np.arange(4), 5)
    truth = np.zeros((20, 1))
    # pca_ridge is better on blocks 0-2, much worse on block 3: chosen on all blocks the two tie
    predicted = {"constant": np.full((20, 1), 0.05), "pca_ridge": np.where(blocks < 3, 0.02, 0.2)[:, None]}
    errors = {k: np.abs(v - truth)[:, 0] for k, v in predicted.items()}
    models = [("baseline", "constant"), ("baseline", "pca_ridge")]
    nested = nested_errors(models, errors, predicted, truth, blocks)
    # blocks 0-2: chosen on the others (block 3 among them) -> a tie -> the average (0.035);
    # block 3: chosen on blocks 0-2, where pca_ridge always wins -> pca_ridge alone (0.2)
    np.testing.assert_allclose(nested[:, 0], np.where(blocks < 3, 0.035, 0.2))


def test_the_recommended_maps_average_the_tied_models(tmp_path, truth):
    validation = roles() == VALIDATION
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 0.01, truth.shape).astype(np.float32)
    a, b = truth + noise, truth - noise  # as good as each other, with opposite errors
    paths = {m: write(tmp_path / f"{m}.npz", truth, p, spread=np.full_like(truth, 0.01))
             for m, p in (("pca_ridge", a), ("radial_boosting", b))}
    paths["constant"] = write(tmp_path / "constant.npz", truth, np.full_like(truth, 0.3))
    items = [{"strategy": "s", "model": m, "kind": "baseline", "path": p} for m, p in paths.items()]
    _, recommended, intervals = recommend_models(items, ["s"], tmp_path / "v.tsv", tmp_path / "r.tsv",
                                                 tmp_path / "i.tsv")
    row = recommended.iloc[0]
    assert row["members"] == "pca_ridge,radial_boosting" and row["tie"] and row["kind"] == "average"
    assert row["mae_mean"] == pytest.approx(0.0, abs=1e-6)  # their errors cancel
    assert set(intervals[intervals.model == "recommended"]["element"]) == set(ELEMENTS)
    write_recommended_maps(tmp_path / "r.tsv", "s", {m: {"x": p} for m, p in paths.items()},
                           {"x": tmp_path / "average.npz"})
    with np.load(tmp_path / "average.npz") as average:
        np.testing.assert_allclose(average["predicted_calibrated"], truth, atol=1e-6)
        # the members' spread (0.01) and their disagreement (the noise) combined
        np.testing.assert_allclose(average["predicted_std"], np.sqrt(0.01**2 + noise**2), rtol=1e-4)
        assert not average["dead"].any() and (average["role"] == roles()).all()
    assert validation.any()


def test_a_refitted_model_is_scored_by_its_fit_that_never_saw_the_validation_pixels(tmp_path, truth):
    refit = truth.copy()  # a refit has seen the validation labels: perfect there
    held_out = truth + 0.04
    path = tmp_path / "refit.npz"
    maps = {"predicted": refit, "predicted_calibrated": refit, "predicted_std": np.full_like(truth, 0.001),
            "held_out_calibrated": held_out, "held_out_std": np.full_like(truth, 0.03)}
    write_prediction(path, fake_cache(truth), roles(), {k: v.reshape(-1, 2) for k, v in maps.items()}, dose_ratio=1.0,
                     fit_pixels=int((roles() == TRAIN).sum()))
    predicted, label, spread, _, elements = validation_pixels([path])
    row = validation_scores(predicted, label, elements)
    assert row["mae_O"] == pytest.approx(0.04, abs=1e-6) and row["mae_Te"] == pytest.approx(0.04, abs=1e-6)
    np.testing.assert_allclose(spread, 0.03)  # the held-out fit's members, not the refit's


def test_uncertainty_is_zero_for_identical_members_and_grows_with_disagreement():
    member = np.random.default_rng(1).random((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(member_spread([member, member, member]), 0)
    spreads = [member_spread([member - d, member, member + d]).mean() for d in (0.01, 0.05, 0.2)]
    assert spreads[0] < spreads[1] < spreads[2]
    assert spreads[1] == pytest.approx(0.05 * np.sqrt(2 / 3), rel=1e-4)


def test_an_ensemble_averages_its_members_and_keeps_their_spread(tmp_path, truth):
    a = write(tmp_path / "a.npz", truth, truth + 0.02, choice=np.array(["identity", "mean"]))
    b = write(tmp_path / "b.npz", truth, truth - 0.02, choice=np.array(["identity", "linear"]))
    out = ensemble_prediction([a, b], tmp_path / "e.npz")
    np.testing.assert_allclose(out["predicted_calibrated"], truth, atol=1e-6)
    np.testing.assert_allclose(out["predicted_std"], 0.02, atol=1e-6)
    assert list(out["calibration_choice"]) == ["identity", "mean/linear"]
    with pytest.raises(ValueError, match="at least two members"):
        ensemble_prediction([a], tmp_path / "one.npz")
    assert not (tmp_path / "one.npz").exists()
