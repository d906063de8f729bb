"""A cache's pattern array read from disk on demand, so that memory does not grow with the scan.

A cache NPZ stores its members uncompressed (``np.savez``), so the ``patterns`` member is a plain
``.npy`` at a fixed offset inside the zip: :class:`PatternFile` maps it there for each read and
copies out only the patterns asked for. The map is closed after every read, so the pages read
leave the process (they stay in the page cache, shared and reclaimable): the resident memory of
a step that walks a whole scan in batches stays that of one batch. :func:`write_npz` writes such
an NPZ with one member streamed in chunks, so the writer never holds it whole either.
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


def write_npz(path, arrays, streamed):
    """Write an uncompressed NPZ that ``np.load`` and :class:`PatternFile` read like ``np.savez``'s:
    the member ``streamed = (name, shape, dtype, chunks)`` first, written chunk by chunk from the
    iterable ``chunks`` (arrays whose concatenation along axis 0 has ``shape``), then ``arrays``
    ({name: array}, or a function returning it, called after the streamed member is written, for
    values computed while streaming).

    Raises:
        ValueError: the chunks do not add up to ``shape``.
    """
    name, shape, dtype, chunks = streamed
    dtype = np.dtype(dtype)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)}
    with zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_1_0(member, header)
            rows = 0
            for chunk in chunks:
                chunk = np.ascontiguousarray(chunk, dtype=dtype)
                if chunk.shape[1:] != tuple(shape[1:]):
                    raise ValueError(f"{path}: a chunk of '{name}' has shape {chunk.shape}, not (n, *{tuple(shape[1:])})")
                member.write(chunk)
                rows += len(chunk)
            if rows != shape[0]:
                raise ValueError(f"{path}: '{name}' got {rows} rows of the {shape[0]} announced")
        for key, value in (arrays() if callable(arrays) else arrays).items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)
