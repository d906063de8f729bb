"""Readers chosen by extension (and content): fixtures we can write, the rest against real files.

Real files are used when their paths are given (otherwise those tests are skipped, with the
reason): ``EDSMAPS_VELOX_EMD`` (a Velox EMD with quantified EDS maps and a DF/HAADF image),
``EDSMAPS_DIFFRACTION`` as ``path:rows:cols`` (any supported 4D-STEM file, e.g. .mib, .dm4).
"""

import os
from pathlib import Path

import numpy as np
import pytest

from edsmaps import rawio
from edsmaps.rawio import InputDataError, open_diffraction, read_eds_map, read_map


def test_empad_raw_is_memory_mapped_without_its_metadata_rows(tmp_path):
    rows, cols = 3, 4
    frames = np.random.default_rng(0).random((rows * cols, 130, 128), dtype=np.float32)
    path = tmp_path / "scan_x4_y3.raw"
    frames.tofile(path)
    with open_diffraction(path, (rows, cols)) as data:
        assert data.shape == (rows, cols, 128, 128)
        assert isinstance(data, np.memmap) or isinstance(getattr(data, "base", None), np.memmap)
        np.testing.assert_array_equal(np.asarray(data[1, 2]), frames[1 * cols + 2, :128])


def test_py4dstem_emd_is_told_apart_from_velox_by_content(tmp_path):
    import py4DSTEM

    cube = np.arange(2 * 3 * 4 * 5, dtype=np.uint16).reshape(2, 3, 4, 5)
    path = tmp_path / "cube.emd"
    py4DSTEM.save(str(path), py4DSTEM.DataCube(data=cube), mode="o")
    assert not rawio.is_velox_emd(path)
    with open_diffraction(path, (2, 3)) as data:
        np.testing.assert_array_equal(np.asarray(data), cube)


def velox_signal(title, data, scale=0.5, units="nm"):
    axes = [{"name": n, "size": s, "scale": scale, "units": units} for n, s in zip("yx", np.shape(data)[:2])]
    return {"data": data, "axes": axes, "metadata": {"General": {"title": title}}}


@pytest.fixture
def fake_velox(monkeypatch, tmp_path):
    """A Velox EMD as RosettaSciIO returns it: element maps, a DF image and a 4D-STEM cube."""
    maps = {"O": np.full((4, 5), 40.0, np.float32), "Fe": np.full((4, 5), 60.0, np.float32)}
    signals = [velox_signal(t, m) for t, m in maps.items()]
    signals += [velox_signal("HAADF", np.arange(20, dtype=np.uint16).reshape(4, 5)),
                velox_signal("DPC", np.zeros((4, 5, 2, 2)))]
    path = tmp_path / "scan.emd"
    path.write_bytes(b"")
    monkeypatch.setattr(rawio, "is_velox_emd", lambda p: True)
    monkeypatch.setattr(rawio, "velox_signals", lambda p, select_type=None: signals)
    return path


def test_velox_maps_are_picked_by_title_with_units_checked(fake_velox):
    np.testing.assert_allclose(read_eds_map(fake_velox, (4, 5), "Fe", "percent", (0.5, "nm")), 0.6)
    np.testing.assert_array_equal(read_map(fake_velox, (4, 5), "HAADF", "HAADF", (0.0005, "µm")),
                                  np.arange(20).reshape(4, 5))
    with pytest.raises(InputDataError, match=r"no 2D map titled 'Si' .*\['O', 'Fe', 'HAADF'\]"):
        read_eds_map(fake_velox, (4, 5), "Si", "percent")
    with pytest.raises(InputDataError, match=r"0.5 nm pixels .* calibration.r_pixel_size is 1.053 nm"):
        read_map(fake_velox, (4, 5), "HAADF", "HAADF", (1.053, "nm"))
    with pytest.raises(InputDataError, match=r"map has shape \(4, 5\), expected scan_shape \(5, 4\)"):
        read_map(fake_velox, (5, 4), "HAADF", "HAADF")


def test_velox_4dstem_cube_is_read_lazily(fake_velox):
    with open_diffraction(fake_velox, (4, 5)) as data:
        assert data.shape == (4, 5, 2, 2)


def test_unknown_map_format_is_refused(tmp_path):
    (tmp_path / "map.png").write_bytes(b"")
    with pytest.raises(InputDataError, match=r"unknown map format '.png'. Supported: \['.emd', '.mrc'\]"):
        read_map(tmp_path / "map.png", (2, 2), "HAADF")


@pytest.mark.skipif("EDSMAPS_VELOX_EMD" not in os.environ,
                    reason="no real Velox EMD given: set EDSMAPS_VELOX_EMD=/path/to/file.emd")
def test_real_velox_emd_maps_read():
    path = Path(os.environ["EDSMAPS_VELOX_EMD"])
    assert rawio.is_velox_emd(path)
    images = [s for s in rawio.velox_signals(path, select_type="images") if np.ndim(s["data"]) == 2]
    assert images
    for signal in images:
        title = rawio._title(signal)
        data = read_map(path, np.shape(signal["data"]), title, title)
        assert data.dtype == np.float32 and np.isfinite(data).all()


@pytest.mark.skipif("EDSMAPS_DIFFRACTION" not in os.environ,
                    reason="no real 4D-STEM file given: set EDSMAPS_DIFFRACTION=/path/to/file:rows:cols")
def test_real_diffraction_file_reads():
    path, rows, cols = os.environ["EDSMAPS_DIFFRACTION"].rsplit(":", 2)
    with open_diffraction(path, (int(rows), int(cols))) as data:
        assert data.shape[:2] == (int(rows), int(cols)) and data.ndim == 4
        assert np.isfinite(np.asarray(data[0, 0], dtype=np.float32)).all()


@pytest.mark.skipif("EDSMAPS_VELOX_EMD" not in os.environ,
                    reason="no real Velox EMD given: set EDSMAPS_VELOX_EMD=/path/to/file.emd")
def test_velox_emd_maps_with_an_mrc_stack_run_through_conversion_and_caching(tmp_path):
    """Templates pointing at a Velox EMD (EDS maps + DF image by title) beside an MRC stack."""
    import yaml

    from conftest import REPO, run_snakemake
    from edsmaps.demo import DemoSettings, generate_scan

    emd = Path(os.environ["EDSMAPS_VELOX_EMD"])
    images = {rawio._title(s): s for s in rawio.velox_signals(emd, select_type="images") if np.ndim(s["data"]) == 2}
    elements = [t for t in images if t.isalpha() and len(t) <= 2 and t[0].isupper()]
    dark_field = next(t for t in images if t not in elements and "EELS" not in t
                      and np.shape(images[t]["data"]) == np.shape(images[elements[0]]["data"]))
    shape = np.shape(images[elements[0]]["data"])
    axis = images[elements[0]]["axes"][0]
    pixel_nm = float(axis["scale"]) * rawio.LENGTH_IN_NM[axis["units"]]
    data = tmp_path / "data"
    data.mkdir()
    scans = ["s1", "s2", "s3"]  # three, so every default strategy has training and test scans
    for i, name in enumerate(scans):
        (data / f"{name}.emd").symlink_to(emd)
        scan = generate_scan(DemoSettings(scan_shape=shape, pattern_size=96, n_scans=3), i)
        rawio.write_mrc(data / f"{name}.mrc", scan.patterns.reshape(-1, 96, 96))
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config.update(scans=scans, predict_only=[], elements=elements, scan_shape=list(shape))
    config["data"] = {"folder": str(data), "diffraction": "{scan}.mrc", "eds": "{scan}.emd", "haadf": "{scan}.emd",
                      "haadf_title": dark_field, "eds_unit": "percent"}
    config["calibration"].update(r_pixel_size=pixel_nm, r_pixel_units="nm")
    config["demo"]["enabled"] = False
    config["cache"]["crop_rows"] = None
    config["figures"].update(extrapolation_map_scans=["first"], interpolation_map_scans=["first"],
                             calibration={"scan": "first", "region": [0, 2, 0, 2]})
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(tmp_path, "results/cache/s1.npz", check=False, overlays=[tmp_path / "config" / "config.yaml"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(tmp_path / "results" / "cache" / "s1.npz") as cache:
        assert list(cache["elements"]) == elements and cache["targets"].shape == (shape[0] * shape[1], len(elements))
        assert bool(cache["has_haadf"]) and np.isfinite(cache["haadf"]).all()
