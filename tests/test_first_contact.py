"""A newcomer's first contact: their own minimal config works alone, the demo never writes over
their files, cheap mistakes stop the run before any job, and Snakemake alone plans the workflow."""

import hashlib
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import REPO, TINY_CONFIG, env_without_graphviz, run_snakemake
from edsmaps.demo import DemoSettings, generate_scan, write_scan
from edsmaps.demo_files import ELEMENTS as DEMO_ELEMENTS
from edsmaps.demo_files import write_marker
from edsmaps.rawio import write_mrc

OWN_SCANS = ["scanA", "scanB"]
OWN_ELEMENTS = ["O", "Te"]
OWN_SHAPE = (6, 5)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A user's raw files under their own naming: two 6 x 5 scans of 64 x 64 patterns, EDS maps
    as atomic fractions, no HAADF."""
    folder = tmp_path_factory.mktemp("exports")
    settings = DemoSettings(scan_shape=OWN_SHAPE, pattern_size=64, n_scans=2, seed=3)
    for i, scan in enumerate(OWN_SCANS):
        write_scan(generate_scan(settings, i), folder / f"{scan}_4d.mrc",
                   {el: folder / f"{scan}_{el}.mrc" for el in DEMO_ELEMENTS}, folder / "haadf" / f"{scan}.mrc",
                   folder / "truth" / f"{scan}.npz")  # fmt: skip
    return folder


def checksums(folder):
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def own_config(path, exports, scan_shape=OWN_SHAPE, **data):
    """The minimal own-data config: scans, elements, scan_shape and data, nothing else."""
    config = {"scans": OWN_SCANS, "elements": OWN_ELEMENTS, "scan_shape": list(scan_shape),
              "data": {"folder": str(exports), "diffraction": "{scan}_4d.mrc", "eds": "{scan}_{element}.mrc", **data}}
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_minimal_own_config_stands_alone_through_conversion_and_caching(exports, tmp_path):
    before = checksums(exports)
    config = own_config(tmp_path / "my.yaml", exports)
    # The README's form: --configfile=FILE, then the targets.
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
           "--cores", "2", f"--configfile={config}", "results/cache/scanA.npz", "results/cache/scanB.npz"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env_without_graphviz())
    assert proc.returncode == 0, proc.stderr[-6000:]
    for scan in OWN_SCANS:
        with np.load(tmp_path / "results" / "cache" / f"{scan}.npz") as cache:
            assert cache["patterns"].shape == (30, 64, 64) and list(cache["elements"]) == OWN_ELEMENTS
            assert np.isfinite(cache["targets"]).all() and not cache["has_haadf"]
            assert tuple(cache["scan_shape"]) == OWN_SHAPE  # no crop unless asked for
    assert checksums(exports) == before  # the user's files are never written
    # The whole plan: the demo's settings (predict-only 0039, interpolate, figure scans) are not inherited.
    proc = run_snakemake(tmp_path, "--dry-run", config=config)
    plan = proc.stdout
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", plan.split("Job stats:")[-1], flags=re.MULTILINE))
    # 6 x 5 scans with the blur radius's 3-pixel buffer: only the paper's random split of the first
    # scan can be split; the plan says so for the others before any job
    assert jobs["train_model"] == "1"  # single x paper (no HAADF: no paper_haadf)
    for name in ("single_blocked", "extrapolate", "deploy"):
        assert f"strategy '{name}' is left out: on a 6x5 scan" in proc.stdout + proc.stderr
    assert "interpolate" not in plan and "paper_haadf" not in plan and "0039" not in plan
    assert "fig1_single_training_and_accuracy" in jobs and "fig2_extrapolation_metrics" not in jobs
    # Two scans have no interpolation: its figures have no rule, not a rule with missing inputs.
    proc = run_snakemake(tmp_path, "--dry-run", "results/figures/fig5_interpolation_metrics.png", config=config,
                         check=False)  # fmt: skip
    assert proc.returncode != 0 and "No rule to produce results/figures/fig5_interpolation_metrics.png" in (
        proc.stdout + proc.stderr)  # fmt: skip


@pytest.fixture
def demo_workdir(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path


def test_the_demo_refuses_to_generate_over_files_it_did_not_write(demo_workdir):
    folder = demo_workdir / "resources" / "demo"
    folder.mkdir(parents=True)
    users_map = folder / "0033 - 2 185 kx SI-O-at.mrc"
    write_mrc(users_map, np.full((56, 24), 0.3, dtype=np.float32))
    before = checksums(folder)
    proc = run_snakemake(demo_workdir, "results/cache/0033.npz", check=False, config="config/config.yaml")
    assert proc.returncode != 0
    assert "data.folder 'resources/demo' holds files without the demo's marker" in proc.stderr
    assert "set demo.enabled: false" in proc.stderr
    assert checksums(folder) == before and not (demo_workdir / "results").exists()
    # A folder the demo marked, holding a file of someone else's, is refused too.
    users_map.unlink()
    write_marker(folder, seed=7)
    (folder / "scanA_Au.mrc").write_bytes(b"user data")
    proc = run_snakemake(demo_workdir, "--dry-run", check=False, config="config/config.yaml")
    assert "holds files the demo did not write (scanA_Au.mrc)" in proc.stdout + proc.stderr
    assert (folder / "scanA_Au.mrc").read_bytes() == b"user data"


def test_raw_files_that_disagree_with_scan_shape_stop_the_dry_run(exports, tmp_path):
    config = own_config(tmp_path / "my.yaml", exports, scan_shape=(6, 6))
    proc = run_snakemake(tmp_path, "--dry-run", check=False, config=config)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    for scan in OWN_SCANS:
        assert f"{scan}_4d.mrc: holds 30 patterns but scan_shape 6x6 needs 36" in out
        assert f"{scan}_Te.mrc: map of shape (6, 5), expected scan_shape (6, 6)" in out
    assert "config has 6 problem(s)" in out


def test_a_template_with_an_unknown_field_names_the_key(exports, tmp_path):
    config = own_config(tmp_path / "my.yaml", exports, diffraction="{sample}/{scan}_4d.mrc")
    proc = run_snakemake(tmp_path, "--dry-run", check=False, config=config)
    out = proc.stdout + proc.stderr
    assert "data.diffraction '{sample}/{scan}_4d.mrc': unknown field(s) {sample}" in out and "KeyError" not in out


@pytest.mark.parametrize(("scale", "unit", "expected"), [
    (1, "percent", "they hold atomic fractions (0-1). Set data.eds_unit: fraction."),
    (100, "fraction", "values above 1 for an atomic fraction (largest: {'O': "),
])  # fmt: skip
def test_eds_in_the_wrong_unit_is_refused_before_any_job(exports, tmp_path, scale, unit, expected):
    import mrcfile

    folder = tmp_path / "scaled"
    folder.mkdir()
    for path in exports.glob("*.mrc"):
        if path.stem.endswith(tuple(f"_{el}" for el in DEMO_ELEMENTS)):
            write_mrc(folder / path.name, mrcfile.read(path) * scale)
        else:
            os.symlink(path, folder / path.name)
    config = own_config(tmp_path / "my.yaml", folder, eds_unit=unit)
    proc = run_snakemake(tmp_path, "results/cache/scanA.npz", check=False, config=config)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    for scan in OWN_SCANS:  # read from the MRC headers while planning: every scan at once
        assert f"EDS maps of scan {scan} (" in out and expected in out
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()  # nothing ran


def test_a_failed_job_shows_its_cause_on_the_console(exports, tmp_path):
    """Maps whose headers carry no statistics are checked by the check_inputs job; when it
    refuses them, its message is printed with the failure, not only in its log."""
    import mrcfile

    folder = tmp_path / "no_statistics"
    folder.mkdir()
    for path in exports.glob("*.mrc"):
        if path.stem.endswith(tuple(f"_{el}" for el in DEMO_ELEMENTS)):
            with mrcfile.new(folder / path.name) as mrc:
                mrc.set_data(mrcfile.read(path) * 100)
                mrc.header.dmin, mrc.header.dmax = 0, -1  # "not determined", as MRC allows
        else:
            os.symlink(path, folder / path.name)
    config = own_config(tmp_path / "my.yaml", folder)
    proc = run_snakemake(tmp_path, "results/cache/scanA.npz", check=False, config=config)
    assert proc.returncode != 0
    assert "values above 1 for an atomic fraction" in proc.stdout + proc.stderr  # the log, on the console
    assert not (tmp_path / "results" / "converted").exists()  # stopped before any heavy job


def test_snakemake_alone_parses_plans_and_lints_the_workflow(tmp_path):
    """Everything the workflow imports while parsing is Snakemake or the standard library, so a
    Snakemake installed on its own (the --use-conda route) plans it."""
    pins = [line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()
            if line.startswith(("snakemake==", "snakemake-executor-plugin-slurm=="))]  # fmt: skip
    assert len(pins) == 2
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", *pins], check=True)
    for module in ("cv2", "mrcfile", "scipy", "py4DSTEM", "keras"):  # the stack the jobs need is absent
        assert subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode != 0, module
    # default: 4 tested strategies x 2 variants (deploy fits baselines only); tiny: + deploy x paper;
    # the second demo: the default strategies, deploy included, x 2 variants
    small = REPO / "config" / "demo_small.yaml"
    for name, config, trainings in (("default", None, 8), ("tiny", TINY_CONFIG, 9), ("small", small, 10)):
        work = tmp_path / name
        shutil.copytree(REPO / "config", work / "config")
        cmd = [python, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(work), "-n"]
        proc = subprocess.run(cmd + ([] if config is None else ["--configfile", str(config)]), cwd=work,
                              capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert re.search(rf"^train_model\s+{trainings}$", proc.stdout, flags=re.MULTILINE), proc.stdout[-3000:]
    lint = subprocess.run([python, "-m", "snakemake", "--lint", "--snakefile", str(REPO / "Snakefile")],
                          cwd=tmp_path / "default", capture_output=True, text=True)  # fmt: skip
    assert lint.returncode == 0 and "Congratulations" in lint.stdout + lint.stderr, lint.stdout + lint.stderr
