"""The chunks of scan rows that every step streaming a scan (conversion, caching, the dose
series' thinning) reads, processes and writes at a time, so that memory does not grow with the
scan, and the scratch file such a step keeps rows in between two passes."""

import numpy as np

CHUNK_BYTES = 64 * 2**20


def row_slices(start, stop, row_bytes):
    """Slices of scan rows [start, stop), each about CHUNK_BYTES (``row_bytes`` a row), at least
    one row."""
    step = max(1, CHUNK_BYTES // max(1, int(row_bytes)))
    return [slice(row, min(row + step, stop)) for row in range(start, stop, step)]


class RowScratch:
    """Rows of ``shape`` (rows, ...) in ``dtype``, appended in order to an unnamed file in ``folder``
    (gone when closed, or when the process ends however it ends) and read back by row slices."""

    def __init__(self, folder, shape, dtype):
        import tempfile

        self.file = tempfile.TemporaryFile(dir=folder)
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self.row_values = int(np.prod(self.shape[1:]))

    def append(self, chunk):
        self.file.write(np.ascontiguousarray(chunk, dtype=self.dtype).data)

    def read(self, rows):
        self.file.seek(rows.start * self.row_values * self.dtype.itemsize)
        count = (rows.stop - rows.start) * self.row_values
        return np.fromfile(self.file, dtype=self.dtype, count=count).reshape(-1, *self.shape[1:])

    def chunks(self):
        for rows in row_slices(0, self.shape[0], self.row_values * self.dtype.itemsize):
            yield self.read(rows)

    def close(self):
        self.file.close()
