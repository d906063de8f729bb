import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))

TINY_CONFIG = REPO / "tests" / "tiny_config.yaml"


def snakemake_command(workdir, *args, overlays=()):
    """The workflow in ``workdir`` (its own results/, resources/, logs/) on the tiny config
    (plus ``overlays``, config files applied on top)."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(TINY_CONFIG),
        *[str(o) for o in overlays],
        "--cores",
        "2",
        *args,
    ]


def run_snakemake(workdir, *args, check=True, overlays=()):
    """Run the workflow (see snakemake_command); raise with its output when it fails and ``check``."""
    cmd = snakemake_command(workdir, *args, overlays=overlays)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
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


@pytest.fixture(scope="session")
def tiny_config():
    import yaml

    return yaml.safe_load(TINY_CONFIG.read_text())
