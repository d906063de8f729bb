"""Readers and writers of raw microscope files, chosen by file extension.

Diffraction readers yield patterns shaped (N, Qy, Qx) with N = rows * cols in row-major
scan order (MRC stacks, memory-mapped) or (rows, cols, Qy, Qx) (py4DSTEM ``.h5``).
Map readers return (rows, cols) float32 arrays.
"""

import contextlib
from pathlib import Path

import mrcfile
import numpy as np

from .atomic import atomic_output


class InputDataError(ValueError):
    """A user-supplied file is missing, malformed or inconsistent with the config."""


def write_mrc(path, array):
    """Write ``array`` (2D map or 3D stack) to an MRC file atomically."""
    with atomic_output(path) as tmp:
        with mrcfile.new(tmp, overwrite=True) as mrc:
            mrc.set_data(np.ascontiguousarray(array))
            # mrcfile stamps the creation time into label 0; a fixed label keeps files reproducible.
            mrc.header.label[0] = b"edsmaps"


def _open_mrc(path):
    try:
        return mrcfile.mmap(path, mode="r")
    except (ValueError, OSError) as exc:
        raise InputDataError(
            f"{path}: not a readable MRC file ({exc}). Re-export it from the microscope software "
            "or check that the copy is complete."
        ) from exc


@contextlib.contextmanager
def _mrc_stack(path):
    with _open_mrc(path) as mrc:
        data = mrc.data
        if data.ndim != 3:
            raise InputDataError(
                f"{path}: expected a 3D MRC stack (N, Qy, Qx) of diffraction patterns, found shape "
                f"{data.shape}."
            )
        yield data


@contextlib.contextmanager
def _py4dstem_cube(path):
    import py4DSTEM

    try:
        data = py4DSTEM.read(str(path))
    except Exception as exc:  # py4DSTEM raises many types for bad files
        raise InputDataError(f"{path}: py4DSTEM could not read it ({exc}).") from exc
    cube = getattr(data, "data", None)
    if not hasattr(data, "calibration") or cube is None or np.ndim(cube) != 4:
        raise InputDataError(
            f"{path}: no 4D datacube found (got {type(data).__name__}). Save the DataCube itself "
            "with py4DSTEM.save(path, datacube)."
        )
    yield cube


DIFFRACTION_READERS = {".mrc": _mrc_stack, ".h5": _py4dstem_cube, ".hdf5": _py4dstem_cube}


@contextlib.contextmanager
def open_diffraction(path, scan_shape):
    """Yield the patterns of ``path`` as a (rows, cols, Qy, Qx) array (a view, not a copy).

    Raises InputDataError when the file is missing, of an unknown type or its pattern count
    does not match ``scan_shape`` (rows, cols).
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{path}: diffraction file not found. Check data.folder and data.diffraction.")
    reader = DIFFRACTION_READERS.get(path.suffix.lower())
    if reader is None:
        raise InputDataError(
            f"{path}: unknown diffraction format '{path.suffix}'. Supported: {sorted(DIFFRACTION_READERS)}."
        )
    rows, cols = scan_shape
    with reader(path) as data:
        if data.ndim == 3:
            if data.shape[0] != rows * cols:
                raise InputDataError(
                    f"{path}: holds {data.shape[0]} patterns but scan_shape {rows}x{cols} needs "
                    f"{rows * cols}. Set scan_shape to the scan's (rows, cols) or check the export."
                )
            data = data.reshape(rows, cols, *data.shape[1:])
        elif data.shape[:2] != (rows, cols):
            raise InputDataError(
                f"{path}: scan shape {data.shape[:2]} differs from scan_shape {rows}x{cols} in the config."
            )
        yield data


def read_map(path, scan_shape, what):
    """Read a 2D MRC map (rows, cols) as float32; ``what`` names it in error messages."""
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{path}: {what} file not found. Check data.folder and the file templates.")
    with _open_mrc(path) as mrc:
        data = np.asarray(mrc.data, dtype=np.float32)
    if data.ndim == 3 and data.shape[0] == 1:
        data = data[0]
    if data.shape != tuple(scan_shape):
        raise InputDataError(
            f"{path}: {what} map has shape {data.shape}, expected scan_shape {tuple(scan_shape)}."
        )
    if not np.isfinite(data).all():
        raise InputDataError(f"{path}: {what} map contains NaN or Inf values; fix or re-export the map.")
    return data


def read_eds_map(path, scan_shape, element, unit):
    """Read one EDS map and return atomic fractions (rows, cols) float32."""
    eds = read_map(path, scan_shape, f"EDS {element}")
    if unit == "percent":
        eds = eds / 100.0
    if eds.min() < 0:
        raise InputDataError(f"{path}: EDS {element} map has negative values (min {eds.min():.3g}).")
    if eds.max() > 1.0 + 1e-6:
        raise InputDataError(
            f"{path}: EDS {element} map has values up to {eds.max():.3g}, above 1 for an atomic "
            "fraction. If the maps are in at.%, set eds_unit: percent."
        )
    return eds
