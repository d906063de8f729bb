"""A cache's pattern array read from disk on demand, so that memory does not grow with the scan.

A cache NPZ stores its members uncompressed (``np.savez``), so the ``patterns`` member is a plain
``.npy`` at a fixed offset inside the zip: :class:`PatternFile` maps it there for each read and
copies out only the patterns asked for. The map is closed after every read, so the pages read
leave the process (they stay in the page cache, shared and reclaimable): the resident memory of
a step that walks a whole scan in batches stays that of one batch.
"""

import struct
import zipfile

import numpy as np

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip member's local file header (30 bytes)


def member_layout(npz_path, name):
    """(offset, shape, dtype, fortran_order) of the uncompressed ``name`` member of an NPZ.

    Raises:
        ValueError: the member is compressed (``np.savez_compressed``): it cannot be mapped.
    """
    with zipfile.ZipFile(npz_path) as archive:
        info = archive.getinfo(f"{name}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{npz_path}: '{name}' is compressed and cannot be read in pieces; rebuild the cache "
                         "(snakemake --cores all --forcerun cache_scan), which stores it uncompressed")
    with open(npz_path, "rb") as fh:
        fh.seek(info.header_offset)
        header = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
        name_length, extra_length = header[-2:]
        fh.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(fh)
        return fh.tell(), shape, dtype, fortran_order


class PatternFile:
    """The (N, Qy, Qx) ``patterns`` of a cache NPZ, indexed like an array: ``patterns[indices]``
    reads those patterns (a copy); ``np.asarray(patterns)`` reads them all."""

    def __init__(self, npz_path, name="patterns"):
        self.path = str(npz_path)
        self.offset, self.shape, self.dtype, fortran_order = member_layout(npz_path, name)
        if fortran_order:
            raise ValueError(f"{npz_path}: '{name}' is stored in Fortran order; rebuild the cache")
        self.ndim = len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        if self.shape[0] == 0:
            return np.empty(self.shape, dtype=self.dtype)[key]
        # A copy: the map is the only reference to itself and is unmapped on return.
        mapped = np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset, shape=self.shape)
        return np.array(mapped[key])

    def __array__(self, dtype=None, copy=None):
        patterns = self[:]
        return patterns if dtype is None else patterns.astype(dtype, copy=False)

    def __repr__(self):
        return f"PatternFile({self.path!r}, shape={self.shape}, dtype={self.dtype})"
