"""The converted scan's py4DSTEM file written a few rows at a time reads back as the DataCube
py4DSTEM saves whole."""

import h5py
import numpy as np
import pytest

from edsmaps.datacube_file import converted_datacube, write_datacube

SHAPE = (5, 3, 12, 10)


def calibrate(cal):
    cal.set_R_pixel_size(1.053)
    cal.set_R_pixel_units("nm")
    cal.set_Q_pixel_size(0.29)
    cal.set_Q_pixel_units("A^-1")
    cal.set_origin((np.full(SHAPE[:2], 6.0), np.full(SHAPE[:2], 5.0)))
    cal.set_probe_semiangle(2.5)


def test_written_by_rows_reads_back_as_saved_whole(tmp_path):
    import py4DSTEM

    data = np.random.default_rng(0).random(SHAPE).astype(np.float32)
    whole = py4DSTEM.DataCube(data=data)
    calibrate(whole.calibration)
    py4DSTEM.save(str(tmp_path / "whole.h5"), whole, mode="o")
    write_datacube(tmp_path / "rows.h5", SHAPE, calibrate, (data[r:r + 2] for r in range(0, 5, 2)))

    expected, got = py4DSTEM.read(str(tmp_path / "whole.h5")), py4DSTEM.read(str(tmp_path / "rows.h5"))
    np.testing.assert_array_equal(got.data, data)
    for axis_expected, axis_got in zip(expected.dims, got.dims, strict=True):
        np.testing.assert_array_equal(axis_got, axis_expected)
    assert set(got.calibration.keys) == set(expected.calibration.keys)
    for key in expected.calibration.keys:
        assert str(got.calibration[key]) == str(expected.calibration[key]), key
    with h5py.File(tmp_path / "rows.h5") as archive:
        patterns, pixel = converted_datacube(archive, tmp_path / "rows.h5")
        assert patterns.shape == SHAPE and pixel == (1.053, "nm")
        np.testing.assert_array_equal(patterns[3:5, 1], data[3:5, 1])


def test_rows_that_do_not_add_up_are_refused(tmp_path):
    rows = [np.zeros((2, *SHAPE[1:]), np.float32)] * 2
    with pytest.raises(ValueError, match=r"4 scan rows written of the 5 announced"):
        write_datacube(tmp_path / "short.h5", SHAPE, calibrate, rows)
    with pytest.raises(ValueError, match=r"a chunk of shape \(2, 3, 12, 10\) does not fit rows 4"):
        write_datacube(tmp_path / "long.h5", SHAPE, calibrate, rows * 3)
