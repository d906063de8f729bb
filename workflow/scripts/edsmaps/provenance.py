"""What produced a result: package versions and the resolved settings, stored beside it."""

import importlib.metadata
import platform

from .atomic import write_json

PACKAGES = ("numpy", "scipy", "scikit-learn", "keras", "tensorflow", "tensorflow-cpu", "jax", "torch", "py4DSTEM",
            "mrcfile", "h5py", "opencv-python-headless", "snakemake")


def package_versions():
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def write_manifest(path, **sections):
    """JSON with the given sections plus ``versions``."""
    payload = {**sections, "versions": package_versions()}
    write_json(path, payload)
