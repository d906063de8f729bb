"""The conda environments cannot be solved here (no conda channel); check them statically:
every package pinned, every module a rule's scripts import provided by that rule's env, and
versions in line with the pip environment the tests run in (known exceptions explained)."""

import ast
import re
import sys
from importlib.metadata import version

import pytest
import yaml

from conftest import REPO

# Module imported -> conda-forge package providing it.
CONDA_PACKAGE = {
    "numpy": "numpy", "scipy": "scipy", "cv2": "py-opencv", "mrcfile": "mrcfile", "h5py": "h5py",
    "py4DSTEM": "py4dstem", "keras": "keras", "tensorflow": "tensorflow", "sklearn": "scikit-learn",
    "matplotlib": "matplotlib-base", "pandas": "pandas", "tifffile": "tifffile", "yaml": "pyyaml",
    "rsciio": "rosettasciio",
}  # fmt: skip
# Imported only when training.backend selects them; not part of the default env.
OPTIONAL_MODULES = {"jax", "torch"}
# conda-forge package -> pip distribution in requirements.txt.
PIP_NAME = {
    "py-opencv": "opencv-python-headless", "matplotlib-base": "matplotlib", "snakemake-minimal": "snakemake",
    "py4dstem": "py4DSTEM", "tensorflow": "tensorflow-cpu",
}  # fmt: skip
# (env, package) -> why its pin differs from the pip test environment.
VERSION_EXCEPTIONS = {
    ("train", "tensorflow"): "conda-forge's newest CUDA build is 2.19; pip gives the 2.21 CPU build",
    ("train", "tensorboard"): "follows TensorFlow 2.19",
    ("train", "numpy"): "TensorFlow 2.19 needs numpy < 2.2; pip's TensorFlow 2.21 runs with numpy 2.4",
    ("train", "keras"): "the Keras 3 release paired with conda-forge's TensorFlow 2.19; only keras.* APIs are used",
    ("preprocess", "py-opencv"): "conda-forge ships OpenCV 4.12; the calls used (GaussianBlur, blur, medianBlur, "
    "bilateralFilter, warpAffine) are unchanged in the 5.0 wheel the tests use",
    ("plots", "py-opencv"): "as for preprocess",
    ("train", "py-opencv"): "as for preprocess (the spatial prior blurs maps)",
    ("plots", "graphviz"): "a system package on the pip route (apt-get install graphviz)",
}
SCRIPTS = REPO / "workflow" / "scripts"


def env_files():
    return sorted((REPO / "envs").glob("*.yaml"))


def dependencies(env_file):
    """{package: version spec} of a conda env file (python included)."""
    spec = yaml.safe_load(env_file.read_text())
    assert spec["channels"] == ["conda-forge", "nodefaults"], env_file
    deps = {}
    for dep in spec["dependencies"]:
        name, _, pin = dep.partition("=")
        deps[name] = pin
    return deps


def rules_with_envs():
    """(rule, env name, script path) for every rule that runs a script in a conda env, as
    Snakemake parses the workflow with its default config (rules made in loops included)."""
    from pathlib import Path

    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import OutputSettings, ResourceSettings

    found = []
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow = api.workflow(resource_settings=ResourceSettings(), snakefile=REPO / "Snakefile", workdir=REPO)
        workflow.dag()  # parses the Snakefile and its rules
        for rule in workflow._workflow.rules:
            if Path(rule.snakefile).parent != REPO / "workflow" / "rules":
                continue
            assert rule.conda_env, f"rule {rule.name} in {Path(rule.snakefile).name} declares no conda env"
            if rule.script:
                found.append((rule.name, Path(rule.conda_env).stem, SCRIPTS / Path(rule.script).name))
    return found


def imported_modules(path, seen=None):
    """Top-level third-party modules imported by ``path`` and the edsmaps modules it imports."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: a module of the package
                base = [node.module] if node.module else [alias.name for alias in node.names]
                for module in base:
                    modules |= imported_modules(SCRIPTS / "edsmaps" / f"{module}.py", seen)
                continue
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top == "edsmaps":
                sub = name.split(".")[1] if "." in name else None
                if sub:
                    modules |= imported_modules(SCRIPTS / "edsmaps" / f"{sub}.py", seen)
            elif top not in sys.stdlib_module_names:
                modules.add(top)
    return modules


@pytest.mark.parametrize("env_file", env_files(), ids=lambda p: p.stem)
def test_every_package_is_pinned(env_file):
    for package, pin in dependencies(env_file).items():
        assert re.match(r"\d", pin), f"{env_file.name}: '{package}' is not pinned to a version"


def test_every_rule_runs_in_an_env_that_provides_its_imports():
    rules = rules_with_envs()
    assert {name for name, _, _ in rules} >= {"convert_scan", "train_model", "calibrate_and_predict_extrapolate",
                                              "metric_tables", "recommend_models", "export_recommended_maps",
                                              "dose_series_baseline", "dose_series_cnn"}
    for rule, env, script in rules:
        provided = set(dependencies(REPO / "envs" / f"{env}.yaml"))
        for module in imported_modules(script) - OPTIONAL_MODULES:
            assert module in CONDA_PACKAGE, f"{script.name} imports '{module}': add it to CONDA_PACKAGE"
            assert CONDA_PACKAGE[module] in provided, f"rule {rule}: envs/{env}.yaml lacks {CONDA_PACKAGE[module]}"


def test_the_training_env_is_gpu_tensorflow():
    deps = dependencies(REPO / "envs" / "train.yaml")
    assert deps["tensorflow"].endswith("=cuda*") and deps["cuda-version"].startswith("12")


@pytest.mark.parametrize("env_file", env_files(), ids=lambda p: p.stem)
def test_pins_match_the_pip_environment_or_are_explained(env_file):
    requirements = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if "==" in line:
            name, pin = line.split("==")
            requirements[name.strip().lower()] = pin.strip()
    for package, pin in dependencies(env_file).items():
        pip_name = PIP_NAME.get(package, package).lower()
        if package in ("python", "cuda-version") or pip_name not in requirements:
            continue
        conda_version = pin.split("=")[0].rstrip(".*")
        if (env_file.stem, package) in VERSION_EXCEPTIONS:
            assert not requirements[pip_name].startswith(conda_version), f"stale exception for {package}"
            continue
        assert requirements[pip_name].startswith(conda_version), (
            f"envs/{env_file.name}: {package}={pin} but requirements.txt has {pip_name}=={requirements[pip_name]}"
        )
        assert version(PIP_NAME.get(package, package)).startswith(conda_version)
