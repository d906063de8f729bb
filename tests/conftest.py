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
TINY_SMALL_CONFIG = REPO / "tests" / "tiny_small_config.yaml"


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


@pytest.fixture(scope="session")
def tiny_small_run(tmp_path_factory):
    """One run of the whole workflow on a tiny version of the second demo (128 x 128 patterns,
    no crop, oxide inside the scan), shared by the tests that check nothing assumes the first."""
    workdir = tmp_path_factory.mktemp("tiny_small_run")
    run_snakemake(workdir, config=TINY_SMALL_CONFIG)
    return workdir


@pytest.fixture(scope="session")
def tiny_config():
    import yaml

    return yaml.safe_load(TINY_CONFIG.read_text())
