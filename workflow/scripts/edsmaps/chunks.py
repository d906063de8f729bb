"""The chunks of scan rows that every step streaming a scan (conversion, caching, the dose
series' thinning) reads, processes and writes at a time, so that memory does not grow with the
scan."""

CHUNK_BYTES = 64 * 2**20


def row_slices(start, stop, row_bytes):
    """Slices of scan rows [start, stop), each about CHUNK_BYTES (``row_bytes`` a row), at least
    one row."""
    step = max(1, CHUNK_BYTES // max(1, int(row_bytes)))
    return [slice(row, min(row + step, stop)) for row in range(start, stop, step)]
