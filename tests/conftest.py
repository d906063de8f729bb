import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

TINY_CONFIG = REPO / "tests" / "tiny_config.yaml"
# A user's own series, unlike either demo: 24 x 10 scans of 128 x 128 patterns, no crop, an
# oxidised band along the bottom edge; five scans with EDS (S1..S5) and one without (S6).
OWN_SCANS = ["S1", "S2", "S3", "S4", "S5"]
OWN_SHAPE = (24, 10)


def snakemake_command(workdir, *args, overlays=(), config=TINY_CONFIG):
    """The workflow in ``workdir`` (its own results/, resources/, logs/) on ``config`` (the tiny
    config by default; plus ``overlays``, config files applied on top)."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",  # one option for all files: a second --configfile would replace the first
        str(config),
        *[str(o) for o in overlays],
        "--cores",
        "2",
        *args,
    ]


def env_without_graphviz():
    """The environment of a machine without Graphviz: every PATH folder holding ``dot`` is
    replaced by a folder of links to all its other programs (the shell, git, ... stay). The
    rule-graph figure then draws with matplotlib, as it does after a pip-only install."""
    folders = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if os.access(os.path.join(folder, "dot"), os.X_OK):
            folder = _programs_but_dot(folder)
        folders.append(folder)
    return {**os.environ, "PATH": os.pathsep.join(folders)}


_SHADOWS = {}


def _programs_but_dot(folder):
    """A temporary folder linking to every entry of ``folder`` except ``dot`` (made once)."""
    if folder not in _SHADOWS:
        shadow = Path(tempfile.mkdtemp(prefix="path-without-dot-"))
        for entry in os.scandir(folder):
            if entry.name != "dot":
                (shadow / entry.name).symlink_to(entry.path)
        _SHADOWS[folder] = str(shadow)
    return _SHADOWS[folder]


def run_snakemake(workdir, *args, check=True, overlays=(), config=TINY_CONFIG):
    """Run the workflow (see snakemake_command) without Graphviz on PATH; raise with its output
    when it fails and ``check``."""
    cmd = snakemake_command(workdir, *args, overlays=overlays, config=config)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir, env=env_without_graphviz())
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One end-to-end run of the whole workflow on the tiny config, shared by all tests."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    shutil.copytree(REPO / "config", workdir / "config")
    run_snakemake(workdir)
    return workdir


def write_own_series(folder):
    """The raw files of a user's own series (OWN_SCANS, then S6 without EDS) under their own
    naming, simulated with the demo's physics but none of its sizes or layout."""
    from edsmaps.demo import DemoSettings, generate_scan, write_scan
    from edsmaps.demo_files import ELEMENTS

    settings = DemoSettings(scan_shape=OWN_SHAPE, pattern_size=128, n_scans=6, seed=2027, oxide_edge=0.78,
                            oxide_width=1.0)
    for i, scan in enumerate([*OWN_SCANS, "S6"]):
        write_scan(generate_scan(settings, i), folder / f"{scan}_4d.mrc",
                   {el: folder / f"{scan}_{el}.mrc" for el in ELEMENTS}, folder / f"{scan}_HAADF.mrc",
                   folder / "truth" / f"{scan}.npz")  # fmt: skip
    return folder


@pytest.fixture(scope="session")
def own_data_run(tmp_path_factory):
    """The workflow on a user's own 24 x 10 scans (without HAADF) with the four keys a config needs
    and every default, except a few training epochs and bootstrap members: shared by the tests
    that check nothing assumes the demo."""
    import yaml

    folder = write_own_series(tmp_path_factory.mktemp("own_exports"))
    workdir = tmp_path_factory.mktemp("own_data_run")
    config = {"scans": OWN_SCANS, "elements": ["O", "Si", "Ge", "Sb", "Te"], "scan_shape": list(OWN_SHAPE),
              "data": {"folder": str(folder), "diffraction": "{scan}_4d.mrc", "eds": "{scan}_{element}.mrc"}}
    (workdir / "own.yaml").write_text(yaml.safe_dump(config))
    (workdir / "few_epochs.yaml").write_text(yaml.safe_dump({"training": {"epochs": 2, "deterministic": True},
                                                             "baselines": {"bootstrap_members": 4}}))
    proc = run_snakemake(workdir, config=workdir / "own.yaml", overlays=[workdir / "few_epochs.yaml"])
    return workdir, folder, proc


@pytest.fixture(scope="session")
def tiny_config():
    import yaml

    return yaml.safe_load(TINY_CONFIG.read_text())
