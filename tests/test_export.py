"""Exported maps open at their real scale and say what they are."""

import json

import mrcfile
import numpy as np
import pandas as pd
import pytest
import tifffile
from edsmaps.export import export_predicted_maps, export_recommended_maps, voxel_size_angstrom
from test_selection import ELEMENTS, SHAPE, write


@pytest.fixture
def prediction(tmp_path):
    truth = np.full((*SHAPE, 2), 0.3, dtype=np.float32)
    return write(tmp_path / "pred.npz", truth, truth + 0.1, spread=np.full_like(truth, 0.02))


def intervals(tmp_path, scale=1.0, source="members"):
    """intervals.tsv with one model's calibrated uncertainty: sigma = scale x spread."""
    rows = [{"strategy": "deploy", "model": "pca_ridge", "element": e, "sigma_source": source, "sigma_scale": scale,
             "sigma_floor": 0.0, "nominal_coverage": 0.95, "validated_coverage": c, "n_pixels": 12}
            for e, c in zip(ELEMENTS, (0.93, 0.96))]
    pd.DataFrame(rows).to_csv(tmp_path / "intervals.tsv", sep="\t", index=False)
    return tmp_path / "intervals.tsv"


def test_mrc_and_tiff_carry_the_pixel_size(tmp_path, prediction):
    assert export_predicted_maps(prediction, tmp_path / "bare", "percent") == ["O", "Te"]  # no intervals: no sigma
    names = export_predicted_maps(prediction, tmp_path / "maps", "percent", intervals(tmp_path), ("deploy", "pca_ridge"))
    assert names == ["O", "Te", "O_std", "Te_std"]
    with mrcfile.open(tmp_path / "maps" / "O.mrc") as mrc:
        assert float(mrc.voxel_size.x) == pytest.approx(10.0) and float(mrc.voxel_size.y) == pytest.approx(10.0)
        np.testing.assert_allclose(mrc.data, 40.0, rtol=1e-6)  # at.%, as the input EDS
    with tifffile.TiffFile(tmp_path / "maps" / "Te_std.tif") as tif:
        numerator, denominator = tif.pages[0].tags["XResolution"].value
        assert numerator / denominator == pytest.approx(1.0) and tif.imagej_metadata["unit"] == "nm"
        np.testing.assert_allclose(tif.asarray(), 2.0, rtol=1e-6)


def test_voxel_sizes_by_unit():
    assert voxel_size_angstrom(1.053, "nm") == pytest.approx(10.53)
    assert voxel_size_angstrom(2.0, "A") == 2.0
    assert voxel_size_angstrom(1.0, "pixels") == 0.0  # no length: MRC's "unknown"


def test_the_recommended_maps_come_with_their_metadata(tmp_path, prediction):
    row = {"strategy": "deploy", "model": "recommended", "kind": "average", "mae_O": 0.04, "mae_Te": 0.02,
           "pearson_r_O": 0.9, "pearson_r_Te": np.nan, "mae_mean": 0.03, "pearson_r_mean": 0.7, "n_pixels": 12,
           "members": "pca_ridge,radial_boosting", "best_model": "radial_boosting", "tie": True, "margin_mae": 0.001,
           "margin_se": 0.002, "n_blocks": 6, "mae_O_nested": 0.05, "mae_Te_nested": 0.03, "mae_mean_nested": 0.04}
    pd.DataFrame([row]).to_csv(tmp_path / "recommended.tsv", sep="\t", index=False)
    flagged = np.zeros(SHAPE, dtype=bool)
    flagged[0, :2] = True
    np.savez(tmp_path / "ood.npz", distance=np.where(flagged, 9.0, 1.0).astype(np.float32), threshold=4.0,
             flagged=flagged, share_flagged=flagged.mean(), alpha=0.01, validation_share_flagged=0.01, dose_ratio=1.0)
    bands = pd.read_csv(intervals(tmp_path, scale=2.0), sep="\t").assign(model="recommended")
    bands.to_csv(tmp_path / "intervals.tsv", sep="\t", index=False)
    meta = export_recommended_maps(prediction, tmp_path / "recommended.tsv", tmp_path / "intervals.tsv",
                                   tmp_path / "ood.npz", "deploy", "0039", tmp_path / "0039", "fraction",
                                   training_predictions=[prediction])
    written = (tmp_path / "0039" / "maps.json").read_text()
    assert json.loads(written, parse_constant=lambda c: pytest.fail(f"not JSON: {c}")) == meta  # strict JSON
    assert meta["validation_pearson_r"]["Te"] is None  # an undefined r is null, never NaN
    assert (meta["model"], meta["strategy"], meta["units"]) == ("average of pca_ridge, radial_boosting", "deploy",
                                                                "atomic fraction")
    assert meta["members"] == ["pca_ridge", "radial_boosting"]
    assert meta["choice"] == {"best_model": "radial_boosting", "tie": True, "margin_mae": 0.001, "margin_se": 0.002}
    assert meta["validation_mae"] == {"O": 0.04, "Te": 0.02}
    assert meta["validation_mae_nested"] == {"O": 0.05, "Te": 0.03}
    assert meta["uncertainty"]["nominal_coverage"] == 0.95
    assert meta["uncertainty"]["validated_coverage"] == {"O": 0.93, "Te": 0.96}
    assert meta["out_of_distribution"]["share_flagged"] == pytest.approx(2 / 30)
    assert meta["dead"] == {"O": False, "Te": False}
    assert meta["training_eds_range"] == {"O": [pytest.approx(0.3), pytest.approx(0.3)],
                                          "Te": [pytest.approx(0.3), pytest.approx(0.3)]}
    assert meta["crop_origin_in_raw_scan"] == {"row": 0, "col": 0} and meta["dose_relative_to_training"] == 1.0
    assert sorted(meta["maps"]) == sorted(ELEMENTS + [f"{e}_std" for e in ELEMENTS] + ["ood", "ood_distance"])
    np.testing.assert_allclose(mrcfile.read(tmp_path / "0039" / "O_std.mrc"), 2.0 * 0.02, rtol=1e-6)  # scaled sigma
    np.testing.assert_array_equal(mrcfile.read(tmp_path / "0039" / "ood.mrc"), flagged.astype(np.float32))
    with mrcfile.open(tmp_path / "0039" / "Te_std.mrc") as mrc:  # the header says what the map is
        labels = [bytes(label).decode().strip() for label in mrc.header.label[: int(mrc.header.nlabl)]]
    assert labels == ["edsmaps", "Te_std: calibrated sigma of Te, atomic fraction",
                      "model average of pca_ridge, radial_boosting", "strategy deploy, scan 0039"]
    with pytest.raises(ValueError, match="no recommended model for strategy 'other'"):
        export_recommended_maps(prediction, tmp_path / "recommended.tsv", tmp_path / "intervals.tsv",
                                tmp_path / "ood.npz", "other", "0039", tmp_path / "x", "fraction")


def test_a_predicted_haadf_is_never_named_as_the_measured_one(tmp_path):
    truth = np.full((*SHAPE, 2), 0.3, dtype=np.float32)
    path = write(tmp_path / "haadf.npz", truth, truth)
    with np.load(path) as pred:
        arrays = dict(pred)
    np.savez(path, **arrays, haadf_predicted_calibrated=np.ones(SHAPE, np.float32))
    names = export_predicted_maps(path, tmp_path / "maps", "fraction")
    assert "HAADF_predicted" in names and "HAADF" not in names
