"""Readers and writers of raw microscope files: the one place that picks a reader, by file
extension (and by content where formats share one: ``.emd`` is Velox or py4DSTEM).

Diffraction readers yield patterns lazily, never the whole file as float: (N, Qy, Qx) with
N = rows * cols in row-major scan order (MRC stacks, memory-mapped) or (rows, cols, Qy, Qx)
(py4DSTEM files, py4DSTEM's ``import_file`` memory maps, Velox EMD as dask arrays).
Map readers return (rows, cols) float32 arrays: 2D MRC, or a map picked by its title from a
Velox EMD (quantified EDS maps and DF/HAADF images are stored there side by side).
A new format is one function registered in ``DIFFRACTION_READERS`` or ``MAP_READERS``.
"""

import contextlib
import mmap
from pathlib import Path

import mrcfile
import numpy as np

from .atomic import atomic_output


class InputDataError(ValueError):
    """A user-supplied file is missing, malformed or inconsistent with the config."""


MRC_LABELS = 10  # the header's 80-character text labels


def write_mrc(path, array, voxel_size=None, labels=()):
    """Write ``array`` (2D map or 3D stack) to an MRC file atomically; ``voxel_size`` (x, y, z)
    in Å, or None for 0 (unknown); ``labels``: lines of text for the header (at most 9, each cut
    to 80 characters) after the first, ``edsmaps``."""
    with atomic_output(path) as tmp:
        with mrcfile.new(tmp, overwrite=True) as mrc:
            mrc.set_data(np.ascontiguousarray(array))
            if voxel_size is not None:
                mrc.voxel_size = tuple(voxel_size)
            # mrcfile stamps the creation time into label 0; fixed labels keep files reproducible.
            lines = ["edsmaps", *labels][:MRC_LABELS]
            for i, line in enumerate(lines):
                mrc.header.label[i] = line.encode("ascii", "replace")[:80]
            mrc.header.nlabl = len(lines)


def _open_mrc(path):
    try:
        return mrcfile.mmap(path, mode="r")
    except (ValueError, OSError) as exc:
        raise InputDataError(
            f"{path}: not a readable MRC file ({exc}). Re-export it from the microscope software "
            "or check that the copy is complete."
        ) from exc


def release_pages(array):
    """Hand back the pages of a memory-mapped input read so far: they stay in the page cache
    (shared, reclaimable) but leave this process, so a pass over a scan larger than memory keeps
    its resident memory to one chunk. Arrays that are not memory-mapped are left alone."""
    mapped = getattr(array, "_mmap", None)  # numpy's memmap (and its views) keep their mmap here
    if isinstance(mapped, mmap.mmap) and not mapped.closed and hasattr(mmap, "MADV_DONTNEED"):
        mapped.madvise(mmap.MADV_DONTNEED)  # read-only file pages: dropped, read again on access


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
def _mrc_reader(path, scan_shape):
    with _mrc_stack(path) as data:
        yield data


@contextlib.contextmanager
def _py4dstem_cube(path, scan_shape=None):
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


def is_velox_emd(path):
    """Velox writes a root dataset ``Version`` naming its format; py4DSTEM/emdfile does not."""
    import h5py

    try:
        with h5py.File(path, "r") as fh:
            return "Version" in fh and b"Velox" in bytes(fh["Version"][()].ravel()[0])
    except OSError as exc:
        raise InputDataError(f"{path}: not a readable HDF5/EMD file ({exc}). Check that the copy is complete.") from exc


def velox_signals(path, select_type=None):
    """Signals of a Velox EMD (RosettaSciIO, lazy): list of dicts with data, axes, metadata."""
    from rsciio.emd import file_reader

    try:
        return file_reader(str(path), lazy=True, select_type=select_type)
    except Exception as exc:  # RosettaSciIO raises many types for bad files
        raise InputDataError(f"{path}: RosettaSciIO could not read this Velox EMD ({exc}).") from exc


def _title(signal):
    return str(signal["metadata"].get("General", {}).get("title", ""))


@contextlib.contextmanager
def _emd_cube(path, scan_shape):
    if not is_velox_emd(path):
        with _py4dstem_cube(path) as data:
            yield data
        return
    cubes = [s for s in velox_signals(path) if np.ndim(s["data"]) == 4]
    if len(cubes) != 1:
        titles = [_title(s) for s in velox_signals(path)]
        raise InputDataError(f"{path}: expected one 4D-STEM dataset in this Velox EMD, found {len(cubes)} "
                             f"(signals: {titles}). Export the 4D-STEM acquisition on its own.")
    yield cubes[0]["data"]


@contextlib.contextmanager
def _py4dstem_import(path, scan_shape):
    """Detector formats py4DSTEM's ``import_file`` reads, memory-mapped: Gatan DM3/DM4, EMPAD
    ``.raw`` (130 x 128 frames; the scan shape comes from the config), Quantum Detectors
    Merlin ``.mib``, Gatan K2 ``.gtg``/``.bin``."""
    import py4DSTEM

    kwargs = {"EMPAD_shape": (*scan_shape, 130, 128)} if path.suffix.lower() == ".raw" else {}
    try:
        cube = py4DSTEM.import_file(str(path), mem="MEMMAP", **kwargs)
    except Exception as exc:  # each reader raises its own types
        raise InputDataError(f"{path}: py4DSTEM could not import it ({exc}). Check the file and scan_shape.") from exc
    yield cube.data


DIFFRACTION_READERS = {
    ".mrc": _mrc_reader, ".h5": _py4dstem_cube, ".hdf5": _py4dstem_cube, ".emd": _emd_cube,
    ".dm3": _py4dstem_import, ".dm4": _py4dstem_import, ".raw": _py4dstem_import, ".mib": _py4dstem_import,
    ".gtg": _py4dstem_import, ".bin": _py4dstem_import,
}  # fmt: skip


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
    with reader(path, scan_shape) as data:
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


LENGTH_IN_NM = {"pm": 1e-3, "A": 0.1, "Å": 0.1, "nm": 1.0, "um": 1e3, "µm": 1e3, "μm": 1e3, "mm": 1e6}


def _mrc_map(path, title, pixel):
    with _open_mrc(path) as mrc:
        data = np.asarray(mrc.data, dtype=np.float32)
    return data[0] if data.ndim == 3 and data.shape[0] == 1 else data


def _velox_map(path, title, pixel):
    """The 2D image titled ``title``; its pixel size is checked against ``pixel`` (size, units)."""
    images = [s for s in velox_signals(path, select_type="images") if np.ndim(s["data"]) == 2]
    chosen = [s for s in images if _title(s) == title]
    if not chosen:
        raise InputDataError(f"{path}: no 2D map titled '{title}' in this Velox EMD; it has {[_title(s) for s in images]}. "
                             "Check elements (EDS maps are titled by element) and data.haadf_title.")
    signal = chosen[0]
    if pixel is not None:
        _check_pixel_size(path, title, signal["axes"], pixel)
    return np.asarray(signal["data"], dtype=np.float32)


def _check_pixel_size(path, title, axes, pixel):
    size, units = pixel
    for axis in axes:
        scale, unit = float(axis.get("scale", 1.0)), str(axis.get("units", ""))
        if unit not in LENGTH_IN_NM or units not in LENGTH_IN_NM:
            continue  # uncalibrated axis or config units: nothing to compare
        in_file, in_config = scale * LENGTH_IN_NM[unit], size * LENGTH_IN_NM[units]
        if abs(in_file - in_config) > 0.02 * in_config:
            raise InputDataError(
                f"{path}: map '{title}' has {in_file:.4g} nm pixels ({axis.get('name')} axis: {scale:.4g} {unit}) but "
                f"calibration.r_pixel_size is {in_config:.4g} nm. Maps and diffraction must come from the same scan; "
                "fix calibration.r_pixel_size or pick the matching file."
            )


MAP_READERS = {".mrc": _mrc_map, ".emd": _velox_map}


def read_map(path, scan_shape, what, title=None, pixel=None):
    """Read a 2D map (rows, cols) as float32; ``what`` names it in error messages.

    Containers (Velox ``.emd``) hold several maps: ``title`` picks one, and their axes are
    checked against ``pixel`` = (real-space pixel size, units) of the scan.
    """
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{path}: {what} file not found. Check data.folder and the file templates.")
    reader = MAP_READERS.get(path.suffix.lower())
    if reader is None:
        raise InputDataError(f"{path}: unknown map format '{path.suffix}'. Supported: {sorted(MAP_READERS)}.")
    data = reader(path, title or what, pixel)
    if data.shape != tuple(scan_shape):
        raise InputDataError(
            f"{path}: {what} map has shape {data.shape}, expected scan_shape {tuple(scan_shape)}."
        )
    if not np.isfinite(data).all():
        raise InputDataError(f"{path}: {what} map contains NaN or Inf values; fix or re-export the map.")
    return data


def read_eds_map(path, scan_shape, element, unit, pixel=None):
    """Read one EDS map (titled by its element in a container) as atomic fractions (rows, cols)."""
    eds = read_map(path, scan_shape, f"EDS {element}", title=element, pixel=pixel)
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
