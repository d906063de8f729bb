import os

import cv2
import mrcfile
import numpy as np
import pytest

from edsmaps.caching import CacheSettings, build_cache, crop_slices, load_cache
from edsmaps.conversion import Calibration, ConversionSettings, convert_scan
from edsmaps.demo import ELEMENTS, DemoSettings, generate_scan, write_scan
from edsmaps.rawio import InputDataError, open_diffraction, read_map, release_pages, write_mrc

SCAN_SHAPE = (10, 7)
TARGETS = ["O", "Si", "Ge", "Sb", "Te"]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    d = tmp_path_factory.mktemp("scan")
    settings = DemoSettings(scan_shape=SCAN_SHAPE, pattern_size=64, n_scans=2, seed=2)
    eds = {el: d / f"eds-{el}.mrc" for el in ELEMENTS}
    write_scan(generate_scan(settings, 0), d / "diff.mrc", eds, d / "haadf.mrc", d / "truth.npz")
    stats, order = convert_scan(
        d / "diff.mrc",
        d / "haadf.mrc",
        SCAN_SHAPE,
        Calibration(1.053, "nm", 0.1451, "A^-1"),
        ConversionSettings(remove_central_beam=True),
        d / "conv.h5",
        d / "origins.json",
        d / "virtual.npz",
        d / "order.json",
    )
    return d, eds, stats, order


def test_converted_file_opens_with_calibrations(converted):
    import py4DSTEM

    d, _, stats, order = converted
    cube = py4DSTEM.read(str(d / "conv.h5"))
    assert cube.data.shape == (*SCAN_SHAPE, 64, 64) and cube.data.dtype == np.float32
    cal = cube.calibration
    assert cal.get_R_pixel_size() == pytest.approx(1.053) and cal.get_R_pixel_units() == "nm"
    assert cal.get_Q_pixel_size() == pytest.approx(0.1451) and cal.get_Q_pixel_units() == "A^-1"
    # The central beam was removed with a disk from the measured probe size.
    radius = stats["central_beam_mask_radius_px"]
    assert radius == pytest.approx(1.3 * stats["probe_radius_px"])
    assert cube.data[..., 31, 31].max() == 0 and cube.data[..., 31 + int(radius) + 3, 31].max() > 0
    assert order["checked"] and order["ok"]
    with np.load(d / "virtual.npz") as v:
        assert v["virtual_bf"].shape == SCAN_SHAPE and v["virtual_bf"].min() > 0


def test_conversion_a_row_at_a_time_equals_the_conversion_in_one_piece(converted, tmp_path, monkeypatch):
    import py4DSTEM

    import edsmaps.chunks

    d = converted[0]
    settings = ConversionSettings(remove_central_beam=True, bin_factor=2)
    outputs = {}
    for name, chunk_bytes in (("whole", 2**40), ("row", 1)):
        monkeypatch.setattr(edsmaps.chunks, "CHUNK_BYTES", chunk_bytes)
        out = tmp_path / name
        out.mkdir()
        stats, order = convert_scan(d / "diff.mrc", d / "haadf.mrc", SCAN_SHAPE, Calibration(1.053, "nm", 0.1451, "A^-1"),
                                    settings, out / "conv.h5", out / "origins.json", out / "virtual.npz", out / "order.json")
        assert sorted(p.name for p in out.iterdir()) == ["conv.h5", "order.json", "origins.json", "virtual.npz"]
        outputs[name] = (stats, order, py4DSTEM.read(str(out / "conv.h5")).data, dict(np.load(out / "virtual.npz")))
    (stats, order, patterns, virtual), (stats_rows, order_rows, patterns_rows, virtual_rows) = outputs.values()
    assert (stats_rows, order_rows) == (stats, order)
    assert patterns.shape == (*SCAN_SHAPE, 32, 32)
    np.testing.assert_array_equal(patterns_rows, patterns)
    for key in virtual:
        np.testing.assert_array_equal(virtual_rows[key], virtual[key])


def test_cache_round_trip(converted, tmp_path):
    import py4DSTEM

    d, eds, _, _ = converted
    settings = CacheSettings(crop_rows=(2, 8), crop_cols=(1, 6))
    out = tmp_path / "cache.npz"
    build_cache(d / "conv.h5", TARGETS, {el: eds[el] for el in TARGETS}, d / "haadf.mrc", SCAN_SHAPE, "fraction", settings,
                out)
    cache = load_cache(out)
    assert cache["patterns"].dtype == np.float16 and cache["patterns"].shape == (30, 64, 64)
    assert list(cache["elements"]) == TARGETS and tuple(cache["scan_shape"]) == (6, 5)
    assert tuple(cache["crop_origin"]) == (2, 1) and cache["pattern_divisor"] == 2**16
    cube = py4DSTEM.read(str(d / "conv.h5"))
    expected = cube.data[2:8, 1:6].reshape(30, 64, 64) / 2**16
    np.testing.assert_allclose(cache["patterns"].astype(np.float32), expected, rtol=1e-3, atol=1e-7)
    ge = mrcfile.read(eds["Ge"])
    np.testing.assert_array_equal(cache["targets"][:, 2], cv2.GaussianBlur(ge, (7, 7), 0)[2:8, 1:6].ravel())
    np.testing.assert_array_equal(cache["targets_unblurred"][:, 2], ge[2:8, 1:6].ravel())
    assert cache["has_haadf"] and cache["haadf"].shape == (30,)
    assert cache["r_pixel_size"] == pytest.approx(1.053)


def test_cache_without_eds_or_haadf_and_max_scaling(converted, tmp_path):
    d, eds, _, _ = converted
    out = tmp_path / "cache.npz"
    build_cache(d / "conv.h5", ["Te"], {}, None, SCAN_SHAPE, "fraction", CacheSettings(pattern_scale="max"), out)
    cache = load_cache(out)
    assert not cache["has_haadf"] and np.isnan(cache["haadf"]).all()
    assert not cache["has_eds"] and cache["targets"].shape == (70, 1) and np.isnan(cache["targets"]).all()
    assert cache["patterns"].max() == pytest.approx(1.0, rel=1e-3)


def test_percent_maps_are_converted_and_fractions_above_one_refused(converted, tmp_path):
    d, eds, _, _ = converted
    percent = tmp_path / "Te-percent.mrc"
    write_mrc(percent, mrcfile.read(eds["Te"]) * 100)
    out = tmp_path / "cache.npz"
    build_cache(d / "conv.h5", ["Te"], {"Te": percent}, None, SCAN_SHAPE, "percent", CacheSettings(), out)
    np.testing.assert_allclose(load_cache(out)["targets_unblurred"][:, 0], mrcfile.read(eds["Te"]).ravel(), rtol=1e-5)
    out.unlink()
    with pytest.raises(InputDataError, match="eds_unit: percent"):
        build_cache(d / "conv.h5", ["Te"], {"Te": percent}, None, SCAN_SHAPE, "fraction", CacheSettings(), out)
    assert not out.exists() and not list(tmp_path.glob(".cache*"))


@pytest.mark.parametrize("scale", ["uint16", "max"])
def test_cache_written_a_row_at_a_time_equals_the_cache_written_whole(converted, tmp_path, monkeypatch, scale):
    import edsmaps.chunks

    d, eds, _, _ = converted
    settings = CacheSettings(crop_rows=(1, 9), crop_cols=(2, 7), pattern_scale=scale)
    caches = {}
    for name, chunk_bytes in (("whole", 2**40), ("row", 1)):
        monkeypatch.setattr(edsmaps.chunks, "CHUNK_BYTES", chunk_bytes)
        caches[name] = tmp_path / f"{name}.npz"
        build_cache(d / "conv.h5", TARGETS, {el: eds[el] for el in TARGETS}, d / "haadf.mrc", SCAN_SHAPE, "fraction",
                    settings, caches[name])
    whole, by_row = load_cache(caches["whole"]), load_cache(caches["row"])
    assert list(by_row) == list(whole)
    for key in whole:
        np.testing.assert_array_equal(by_row[key], whole[key], err_msg=key)
    counts = whole["patterns"].astype(np.float64) * whole["pattern_divisor"]
    assert whole["dose"] == pytest.approx(counts.sum(axis=(1, 2)).mean(), rel=1e-3)


def test_a_file_that_is_not_a_converted_scan_is_refused_with_the_fix(tmp_path):
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as fh:
        fh["data"] = np.zeros((2, 2, 4, 4), np.float32)
    with pytest.raises(ValueError, match="other.h5: no py4DSTEM DataCube.*forcerun convert_scan"):
        build_cache(tmp_path / "other.h5", ["Te"], {}, None, (2, 2), "fraction", CacheSettings(), tmp_path / "c.npz")
    assert not (tmp_path / "c.npz").exists()


def test_crop_outside_the_scan_is_refused():
    assert crop_slices((110, 45), (20, 90), None) == (slice(20, 90), slice(0, 45))
    with pytest.raises(ValueError, match=r"crop.rows \[20, 120\)"):
        crop_slices((110, 45), (20, 120), None)
    with pytest.raises(ValueError, match="crop.cols"):
        crop_slices((110, 45), None, (5, 5))


def test_reader_errors_name_the_file(tmp_path):
    stack = tmp_path / "stack.mrc"
    write_mrc(stack, np.zeros((11, 8, 8), dtype=np.uint16))
    with pytest.raises(InputDataError, match=r"stack.mrc: holds 11 patterns but scan_shape 3x4 needs 12"):
        with open_diffraction(stack, (3, 4)):
            pass
    with pytest.raises(InputDataError, match="diffraction file not found"):
        with open_diffraction(tmp_path / "missing.mrc", (3, 4)):
            pass
    with pytest.raises(InputDataError, match="unknown diffraction format '.ser'"):
        (tmp_path / "x.ser").write_bytes(b"")
        with open_diffraction(tmp_path / "x.ser", (3, 4)):
            pass
    with pytest.raises(InputDataError, match="x.dm4: py4DSTEM could not import it"):
        (tmp_path / "x.dm4").write_bytes(b"")
        with open_diffraction(tmp_path / "x.dm4", (3, 4)):
            pass
    bad = tmp_path / "nan.mrc"
    write_mrc(bad, np.full((3, 4), np.nan, dtype=np.float32))
    with pytest.raises(InputDataError, match="nan.mrc: EDS O map contains NaN"):
        read_map(bad, (3, 4), "EDS O")
    with pytest.raises(InputDataError, match=r"has shape \(3, 4\), expected scan_shape \(4, 3\)"):
        read_map(bad, (4, 3), "HAADF")


def rss_file_mb():
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
    return int(status["RssFile"].split()[0]) / 1024


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads Linux's /proc")
def test_pages_of_a_memory_mapped_scan_leave_the_process_once_read(tmp_path):
    stack = tmp_path / "stack.mrc"
    write_mrc(stack, np.arange(128 * 256 * 256, dtype=np.uint16).reshape(128, 256, 256) % 1000)  # 16 MiB
    with open_diffraction(stack, (16, 8)) as raw:
        before = rss_file_mb()
        total = int(raw.sum(dtype=np.int64))
        assert rss_file_mb() - before > 12  # the pages read are resident in this process
        release_pages(raw)
        assert rss_file_mb() - before < 2
        assert int(raw.sum(dtype=np.int64)) == total  # and read again on access
    release_pages(np.zeros(3))  # not memory-mapped: nothing to do


def test_virtual_images_by_rows_are_py4dstems():
    import py4DSTEM

    from edsmaps.conversion import _virtual_images

    patterns = np.random.default_rng(3).random((5, 4, 32, 30)).astype(np.float32)
    bf, adf, (inner, outer) = _virtual_images((patterns[r:r + 2] for r in range(0, 5, 2)), (5, 4), (32, 30), 4.2, 3.0)
    cube = py4DSTEM.DataCube(data=patterns)
    expected_bf = cube.get_virtual_image(mode="circle", geometry=((16, 15), 4.2), verbose=False).data
    expected_adf = cube.get_virtual_image(mode="annulus", geometry=((16, 15), (inner, outer)), verbose=False).data
    np.testing.assert_array_equal(bf, expected_bf.astype(np.float32))
    np.testing.assert_array_equal(adf, expected_adf.astype(np.float32))
    assert (inner, outer) == (min(3.0 * 4.2, 14 / 2), 14)
