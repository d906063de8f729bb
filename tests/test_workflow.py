"""End-to-end: the tiny config through the whole workflow (one shared run), plus the gates."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, run_snakemake

SCANS = ["0033", "0034", "0035", "0036"]
PREDICT_ONLY = ["0037"]


def test_demo_raw_files_follow_the_paper_naming(tiny_run):
    import mrcfile

    demo = tiny_run / "resources" / "demo"
    stack = mrcfile.read(demo / "0035 - 2 185 kx SI 4DSTEM.mrc")
    assert stack.shape == (12 * 9, 96, 96) and stack.dtype == np.uint16
    for element in ["O", "Si", "Ge", "Sb", "Te", "Au"]:
        assert mrcfile.read(demo / f"0035 - 2 185 kx SI-{element}-at.mrc").shape == (12, 9)
    assert mrcfile.read(demo / "0035 - 2 185 kx SI-HAADF.mrc").shape == (12, 9)
    with np.load(demo / "truth" / "0035.npz") as truth:
        np.testing.assert_allclose(truth["composition"].sum(axis=-1), 1, atol=1e-5)


def test_converted_files_open_in_py4dstem_with_calibrations(tiny_run):
    import py4DSTEM

    for scan in SCANS + PREDICT_ONLY:
        cube = py4DSTEM.read(str(tiny_run / "results" / "converted" / f"{scan}.h5"))
        assert cube.data.shape == (12, 9, 96, 96)
        assert cube.calibration.get_R_pixel_size() == pytest.approx(1.053)
        assert cube.calibration.get_Q_pixel_size() == pytest.approx(0.1451)
        assert cube.calibration.get_Q_pixel_units() == "A^-1"


def test_centering_and_scan_order_qc(tiny_run):
    for scan in SCANS + PREDICT_ONLY:
        qc = tiny_run / "results" / "qc" / scan
        origins = json.loads((qc / "origins.json").read_text())
        before, after = origins["measured_before"], origins["measured_after"]
        assert max(before["std_qy"], before["std_qx"]) > 0.5
        assert after["std_qy"] < 0.5 and after["std_qx"] < 0.5
        order = json.loads((qc / "scan_order.json").read_text())
        assert order["checked"] and order["best"] == "as_given"


def test_caches_hold_cropped_blurred_targets(tiny_run):
    import cv2
    import mrcfile

    from edsmaps.caching import load_cache

    for scan in SCANS:
        cache = load_cache(tiny_run / "results" / "cache" / f"{scan}.npz")
        assert cache["patterns"].shape == (8 * 9, 96, 96) and cache["patterns"].dtype == np.float16
        assert list(cache["elements"]) == ["O", "Si", "Ge", "Sb", "Te"]
        assert tuple(cache["scan_shape"]) == (8, 9)
        assert cache["has_eds"] and np.isfinite(cache["targets"]).all()
    predict_only = load_cache(tiny_run / "results" / "cache" / "0037.npz")
    assert not predict_only["has_eds"] and np.isnan(predict_only["targets"]).all()
    assert predict_only["has_haadf"] and np.isfinite(predict_only["haadf"]).all()
    raw_o = mrcfile.read(tiny_run / "resources" / "demo" / "0033 - 2 185 kx SI-O-at.mrc")
    cache = load_cache(tiny_run / "results" / "cache" / "0033.npz")
    np.testing.assert_array_equal(cache["targets"][:, 0], cv2.GaussianBlur(raw_o, (7, 7), 0)[2:10].ravel())


def test_every_job_wrote_a_log_and_benchmark(tiny_run):
    for rule in ["generate_demo_scan", "convert_scan", "cache_scan"]:
        assert len(list((tiny_run / "logs" / rule).glob("*.log"))) == 5
        assert len(list((tiny_run / "benchmarks" / rule).glob("*.tsv"))) == 5
    for rule in ["train_model", "calibrate_and_predict", "fit_baseline", "export_recommended_maps"]:
        assert list((tiny_run / "logs" / rule).rglob("*.log")), rule


def test_several_seeds_add_an_ensemble_ranked_like_any_model(tiny_run, tmp_path):
    import re

    seeds = tmp_path / "seeds.yaml"
    seeds.write_text("training: {seeds: 2}\n")
    plan = run_snakemake(tiny_run, "--dry-run", overlays=[seeds]).stdout
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", plan.split("Job stats:")[-1], flags=re.MULTILINE))
    # a second replicate per strategy x variant: 5 strategies x 2 variants, less deploy's paper_haadf
    assert jobs["train_model"] == "9"
    assert int(jobs["ensemble_prediction"]) > 0 and jobs["recommend_models"] == "5"  # one per strategy
    assert "results/predictions/deploy/paper-ensemble/0037.npz" in plan


def test_nothing_left_to_do_after_the_run(tiny_run):
    proc = run_snakemake(tiny_run, "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_a_finished_project_copied_elsewhere_has_nothing_to_do(tiny_run, tmp_path):
    """Results move between disks and from cluster scratch to home: copied with their timestamps
    (cp -a), nothing is planned again."""
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(tiny_run, moved, symlinks=True, copy_function=shutil.copy2)
    proc = run_snakemake(moved, "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout[-3000:]


def test_a_changed_map_is_rechecked_without_redoing_every_scan(tiny_run, tmp_path):
    import re
    import shutil

    rerun = tmp_path / "rerun"
    shutil.copytree(tiny_run, rerun)  # keeps the files' times
    import mrcfile

    from edsmaps.rawio import write_mrc

    changed = rerun / "resources" / "demo" / "0034 - 2 185 kx SI-O-at.mrc"
    write_mrc(changed, mrcfile.read(changed) * 0.99)  # a map re-exported
    proc = run_snakemake(rerun, "--dry-run", "results/cache/0034.npz", "results/cache/0035.npz")
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout.split("Job stats:")[-1], flags=re.MULTILINE))
    # That scan alone is checked, converted and cached again; the other is left alone.
    assert jobs == {"check_inputs": "1", "convert_scan": "1", "cache_scan": "1", "total": "3"}, proc.stdout[-3000:]


def test_bad_config_is_rejected_with_the_key(tiny_run, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cache:\n  blur_kernel: 6\n")
    proc = run_snakemake(tiny_run, "--dry-run", overlays=[bad], check=False)
    assert proc.returncode != 0
    assert "cache.blur_kernel: 6 should not be valid" in proc.stdout + proc.stderr


def test_lint_is_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint", "--snakefile", str(REPO / "Snakefile")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations" in proc.stdout + proc.stderr


def test_snakefmt_is_clean():
    proc = subprocess.run([sys.executable, "-m", "snakefmt", "--check", str(REPO)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_benchmark_command_smoke(tiny_run, tmp_path):
    out = tmp_path / "bench.tsv"
    cmd = [sys.executable, str(REPO / "tools" / "benchmark.py"), "all", "--scan-shape", "8", "6", "--pattern-size",
           "64", "--sizes", "96", "--patterns", "64", "--epochs", "1", "--out", str(out),
           "--rule-benchmarks", str(tiny_run / "benchmarks")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    header = rows[0]
    assert header[:4] == ["step", "items", "unit", "seconds"] and header[-2:] == ["speed_ratio", "memory_ratio"]
    table = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    assert list(table) == ["raw_read", "find_origins", "convert_and_center", "crop_blur_cache", "train_96",
                           "predict_96"]  # fmt: skip
    assert table["raw_read"]["unit"] == "MB" and float(table["raw_read"]["items"]) > 0
    assert table["find_origins"]["items"] == "48" and table["predict_96"]["items"] == "64"
    for step in ("find_origins", "train_96", "predict_96"):  # the paper's way beside ours
        row = table[step]
        assert float(row["speed_ratio"]) == pytest.approx(
            float(row["rate_per_s"]) / float(row["paper_rate_per_s"]), rel=1e-2)
        assert float(row["paper_peak_rss_mb"]) > 0
    assert table["crop_blur_cache"]["paper_seconds"] == ""
    rules = (out.parent / "rules.tsv").read_text()
    assert rules.startswith("rule\tjobs\ttotal_s") and "\ntrain_model\t" in rules


def test_scale_benchmark_smoke(tmp_path):
    out = tmp_path / "scale.tsv"
    cmd = [sys.executable, str(REPO / "tools" / "benchmark.py"), "scale", "--scan-shape", "6", "5", "--pattern-size",
           "96", "--factors", "1", "2", "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [dict(zip(*[line.split("\t") for line in (out.read_text().splitlines()[0], row)]))
            for row in out.read_text().splitlines()[1:]]
    assert [(r["step"], r["factor"], r["positions"]) for r in rows] == [
        (step, factor, positions) for factor, positions in (("1", "30"), ("2", "60"))
        for step in ("convert", "cache", "train_epoch", "predict")]  # fmt: skip
    assert all(float(r["seconds"]) > 0 and float(r["peak_rss_mb"]) > 0 for r in rows)
    assert int(rows[2]["patterns"]) < 30 and int(rows[3]["patterns"]) == 30  # training pixels only; every pattern
    assert "memory_ratio\ttime_exponent" in proc.stdout
