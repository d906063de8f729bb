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


def test_mrc_and_tiff_carry_the_pixel_size(tmp_path, prediction):
    names = export_predicted_maps(prediction, tmp_path / "maps", "percent")
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
    row = {"strategy": "deploy", "model": "pca_ridge", "kind": "baseline", "mae_O": 0.04, "mae_Te": 0.02,
           "pearson_r_O": 0.9, "pearson_r_Te": 0.5, "mae_mean": 0.03, "pearson_r_mean": 0.7,
           "coverage_2sigma": 0.4, "n_pixels": 12}
    pd.DataFrame([row]).to_csv(tmp_path / "recommended.tsv", sep="\t", index=False)
    meta = export_recommended_maps({"pca_ridge": prediction, "constant": tmp_path / "absent.npz"},
                                   tmp_path / "recommended.tsv", "deploy", "0039", tmp_path / "0039", "fraction")
    assert json.loads((tmp_path / "0039" / "maps.json").read_text()) == meta
    assert (meta["model"], meta["strategy"], meta["units"]) == ("pca_ridge", "deploy", "atomic fraction")
    assert meta["validation_mae"] == {"O": 0.04, "Te": 0.02} and meta["validation_coverage_2sigma"] == 0.4
    assert meta["crop_origin_in_raw_scan"] == {"row": 0, "col": 0} and meta["dose_relative_to_training"] == 1.0
    assert sorted(meta["maps"]) == sorted(ELEMENTS + [f"{e}_std" for e in ELEMENTS])
    with pytest.raises(ValueError, match="no recommended model for strategy 'other'"):
        export_recommended_maps({}, tmp_path / "recommended.tsv", "other", "0039", tmp_path / "x", "fraction")
