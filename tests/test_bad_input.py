"""Every bad input a user can meet stops the run with a message naming the key or file and the fix."""

import shutil

import mrcfile
import numpy as np
import pytest

from conftest import REPO, run_snakemake
from edsmaps.cacheset import CacheSet
from edsmaps.rawio import InputDataError, open_diffraction, read_eds_map, read_map, write_mrc
from synthetic import write_cache


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("bad_config")
    shutil.copytree(REPO / "config", workdir / "config")
    return workdir


def dry_run_error(workdir, overlay):
    (workdir / "bad.yaml").write_text(overlay)
    proc = run_snakemake(workdir, "-n", check=False, overlays=[workdir / "bad.yaml"])
    assert proc.returncode != 0
    return proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("overlay", "expected"),
    [
        ("bogus_key: 1\n", "'bogus_key' was unexpected"),
        ("training: {epochs: ten}\n", "training.epochs: 'ten' is not of type 'integer'"),
        ("scans: ['0033', 'scan 34']\n", "scans[1]: 'scan 34' does not match"),
        ("scans: [0033, '0034']\n", 'scans[0]: 27 is a number: quote scan ids ("0033")'),
        ("elements: [O, silicon]\n", "elements[1]: 'silicon' does not match"),
        ("cache: {crop_rows: [2, 30]}\n", "cache.crop_rows [2, 30) must lie inside the scan's 0..12"),
        ("cache: {blur_kernel: 6}\n", "cache.blur_kernel: 6 should not be valid"),
        ("cache: {blur_kernel: -3}\n", "cache.blur_kernel: -3 is less than the minimum of 1"),
        ("strategies: {extrapolate: {train: ['0044']}}\n", "strategies.extrapolate: names scan '0044', which is neither in scans"),
        ("data: {folder: /tmp/elsewhere}\n", "must be a folder under resources/"),
        ("predict_only: ['0036']\n", "predict_only: scans ['0036'] are also in scans"),
        ("data: {diffraction: '{sample}/{scan}.mrc'}\n", "data.diffraction '{sample}/{scan}.mrc': unknown field(s) {sample}"),
        ("figures: {calibration: {scan: '0099'}}\n", "figures.calibration.scan: names scan '0099'"),
        ("figures: {calibration: {region: [0, 40, 0, 4]}}\n", "figures.calibration.region [0, 40, 0, 4]: [row0, row1"),
        ("figures: {extrapolation_strategy: extrapolation}\n", "figures.extrapolation_strategy: strategy 'extrapolation' is not"),
        ("learning_curve: {variant: cnn}\n", "learning_curve.variant: 'cnn' is not one of ['paper', 'paper_haadf']"),
        ("predicted_maps: {strategy: interpolate}\n", "predicted_maps.strategy: 'interpolate' tests scans"),
        ("figures: {interpolation_strategy: deploy}\n", "figures.interpolation_strategy: strategy 'deploy' has no test"),
    ],
)
def test_bad_config_names_the_key(config_dir, overlay, expected):
    assert expected in dry_run_error(config_dir, overlay)


def test_missing_raw_files_are_listed_all_at_once(config_dir, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "0033 - 2 185 kx SI 4DSTEM.mrc").write_bytes(b"")  # one present, the rest missing
    message = dry_run_error(config_dir, f"demo: {{enabled: false}}\ndata: {{folder: '{folder}'}}\n")
    # Tiny config: 5 diffraction + 4 scans x 5 elements of EDS and of X-ray counts (data.eds_counts)
    # + 5 HAADF, minus the one present; no EDS for 0037.
    assert "49 raw file(s) missing" in message and "0034 - 2 185 kx SI-Sb-counts.mrc" in message
    assert "0036 - 2 185 kx SI-Te-at.mrc" in message and "0037 - 2 185 kx SI-HAADF.mrc" in message
    assert "0037 - 2 185 kx SI-O-at.mrc" not in message
    assert "predict_only" in message


def test_truncated_mrc_is_refused(tmp_path):
    path = tmp_path / "stack.mrc"
    write_mrc(path, np.zeros((12, 16, 16), dtype=np.uint16))
    path.write_bytes(path.read_bytes()[:-1000])
    with pytest.raises(InputDataError, match=r"stack.mrc: not a readable MRC file .*Re-export"):
        with open_diffraction(path, (3, 4)):
            pass


def test_h5_without_a_datacube_is_refused(tmp_path):
    import h5py
    import py4DSTEM

    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as fh:
        fh["data"] = np.zeros((4, 4))
    with pytest.raises(InputDataError, match="plain.h5: py4DSTEM could not read it"):
        with open_diffraction(plain, (2, 2)):
            pass
    image = tmp_path / "image.h5"
    py4DSTEM.save(str(image), py4DSTEM.RealSlice(data=np.zeros((2, 2, 1)), name="image"), mode="o")
    with pytest.raises(InputDataError, match="image.h5: no 4D datacube found .*py4DSTEM.save"):
        with open_diffraction(image, (2, 2)):
            pass


def test_haadf_with_the_wrong_shape_is_refused(tmp_path):
    write_mrc(tmp_path / "haadf.mrc", np.ones((5, 4), dtype=np.float32))
    with pytest.raises(InputDataError, match=r"haadf.mrc: HAADF map has shape \(5, 4\), expected scan_shape \(4, 5\)"):
        read_map(tmp_path / "haadf.mrc", (4, 5), "HAADF")


def test_negative_and_infinite_eds_values_are_refused(tmp_path):
    negative = np.full((3, 4), 0.2, dtype=np.float32)
    negative[1, 1] = -0.05
    write_mrc(tmp_path / "neg.mrc", negative)
    with pytest.raises(InputDataError, match="neg.mrc: EDS O map has negative values"):
        read_eds_map(tmp_path / "neg.mrc", (3, 4), "O", "fraction")
    infinite = np.full((3, 4), 0.2, dtype=np.float32)
    infinite[0, 0] = np.inf
    write_mrc(tmp_path / "inf.mrc", infinite)
    with pytest.raises(InputDataError, match="inf.mrc: EDS O map contains NaN or Inf"):
        read_eds_map(tmp_path / "inf.mrc", (3, 4), "O", "fraction")


def test_pattern_sizes_that_differ_within_a_strategy_are_refused(tmp_path):
    for name, q in (("a", 16), ("b", 32)):
        write_cache(tmp_path / f"{name}.npz", np.zeros((4, q, q)), np.zeros((4, 1)), np.zeros(4), ["O"], (2, 2))
    with pytest.raises(ValueError, match=r"different pattern sizes .*conversion.bin_factor"):
        CacheSet({"a": tmp_path / "a.npz", "b": tmp_path / "b.npz"})


def test_a_failed_job_leaves_no_output_behind(tmp_path):
    target = "results/converted/0033.h5"
    run_snakemake(tmp_path, target)
    raw = tmp_path / "resources" / "demo" / "0033 - 2 185 kx SI 4DSTEM.mrc"
    raw.write_bytes(raw.read_bytes()[:-1000])  # the header is intact, the last patterns are cut off
    proc = run_snakemake(tmp_path, target, "--forcerun", "convert_scan", check=False)
    assert proc.returncode != 0
    log = (tmp_path / "logs" / "convert_scan" / "0033.log").read_text()
    assert "0033 - 2 185 kx SI 4DSTEM.mrc: not a readable MRC file" in log
    leftovers = [p.name for d in ("results/converted", "results/qc/0033") for p in (tmp_path / d).glob("*")
                 if d == "results/qc/0033" or p.name.startswith("0033")]
    assert leftovers == ["inputs.json"]  # only the finished check of the maps, none of the conversion


def test_a_cache_from_before_doses_were_recorded_is_refused_with_the_fix(tmp_path):
    from edsmaps.prediction_file import read_cache

    write_cache(tmp_path / "new.npz", np.ones((4, 8, 8)), np.full((4, 2), 0.5), np.ones(4), ["O", "Te"], (2, 2))
    with np.load(tmp_path / "new.npz") as cache:
        np.savez(tmp_path / "old.npz", **{k: cache[k] for k in cache.files if k != "dose"})
    for load in (lambda path: CacheSet({"0033": path}), read_cache):
        with pytest.raises(ValueError, match=r"old.npz: this cache records no dose .* --forcerun cache_scan"):
            load(tmp_path / "old.npz")
    assert CacheSet({"0033": tmp_path / "new.npz"}).doses == [64.0]
