"""The converted scan's py4DSTEM file, written and read a few scan rows at a time, so that memory
does not grow with the scan.

py4DSTEM writes the file's structure and calibration (``py4DSTEM.save`` of a stand-in with one
detector pixel per position); the pattern array and its axes are then replaced through h5py and
filled chunk by chunk. ``py4DSTEM.read`` gives back the same DataCube as saving it whole.
"""

import numpy as np


def _datacube_nodes(archive, path):
    """(DataCube group, Calibration group) of an open py4DSTEM file."""
    found = {}

    def visit(name, node):
        kind = node.attrs.get("python_class")
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind in ("DataCube", "Calibration"):
            found.setdefault(kind, node)

    archive.visititems(visit)
    if "DataCube" not in found or "Calibration" not in found or "R_pixel_size" not in found["Calibration"]:
        raise ValueError(f"{path}: no py4DSTEM DataCube with a calibration in it; rebuild it with "
                         "snakemake --cores all --forcerun convert_scan")
    return found["DataCube"], found["Calibration"]


def converted_datacube(archive, path):
    """(the (rows, cols, Qy, Qx) pattern dataset, (real-space pixel size, units)) of an open
    py4DSTEM file written by :func:`write_datacube`, read without loading it.

    Raises:
        ValueError: the file holds no DataCube with a calibration.
    """
    cube, calibration = _datacube_nodes(archive, path)
    units = calibration["R_pixel_units"][()]
    units = units.decode() if isinstance(units, bytes) else str(units)
    return cube["data"], (float(calibration["R_pixel_size"][()]), units)


def write_datacube(path, shape, calibrate, row_chunks):
    """Write a py4DSTEM file of one float32 DataCube of ``shape`` (rows, cols, Qy, Qx).

    Args:
        path: the ``.h5`` to write (overwritten).
        shape: (rows, cols, Qy, Qx).
        calibrate: ``calibrate(calibration)`` sets the py4DSTEM calibration (pixel sizes, origin).
        row_chunks: iterable of (r, cols, Qy, Qx) arrays, whole scan rows in order, adding up to
            ``shape``.

    Raises:
        ValueError: the chunks do not add up to ``shape``.
    """
    import h5py
    import py4DSTEM

    def calibrated(data):
        cube = py4DSTEM.DataCube(data=data)
        calibrate(cube.calibration)
        return cube

    axes = calibrated(np.broadcast_to(np.float32(0), shape)).dims  # what py4DSTEM gives this shape
    py4DSTEM.save(str(path), calibrated(np.zeros((*shape[:2], 1, 1), dtype=np.float32)), mode="o")
    with h5py.File(path, "r+") as archive:
        group, _ = _datacube_nodes(archive, path)
        for name, values in [("data", None)] + [(f"dim{n}", axis) for n, axis in enumerate(axes)]:
            attrs = dict(group[name].attrs)
            del group[name]
            if values is None:
                node = group.create_dataset(name, shape=shape, dtype=np.float32)
            else:
                node = group.create_dataset(name, data=np.asarray(values))
            for key, value in attrs.items():
                node.attrs.create(key, value)
        data, rows = group["data"], 0
        for chunk in row_chunks:
            if chunk.shape[1:] != tuple(shape[1:]) or rows + len(chunk) > shape[0]:
                raise ValueError(f"{path}: a chunk of shape {chunk.shape} does not fit rows {rows}.. of {tuple(shape)}")
            data[rows:rows + len(chunk)] = chunk
            rows += len(chunk)
        if rows != shape[0]:
            raise ValueError(f"{path}: {rows} scan rows written of the {shape[0]} announced")
