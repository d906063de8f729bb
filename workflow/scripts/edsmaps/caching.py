"""Crop, scale and blur one converted scan into the compact NPZ cache that training reads.

Cache format (``results/cache/{scan}.npz``, uncompressed, no pickles):

=====================  ===========================  =========================================
key                    shape, dtype                 meaning
=====================  ===========================  =========================================
patterns               (N, Qy, Qx) float16          centred patterns / pattern_divisor, in [0, 1]
pattern_divisor        () float64                   counts = patterns * pattern_divisor
targets                (N, E) float32               blurred EDS, atomic fraction (the CNN target)
targets_unblurred      (N, E) float32               EDS as measured, atomic fraction
haadf                  (N,) float32                 HAADF (NaN everywhere if has_haadf is False)
has_haadf              () bool
has_eds                () bool                      False for predict-only scans (targets are NaN)
elements               (E,) str                     element order of the target columns
scan_shape             (2,) int64                   (rows, cols) after cropping; N = rows * cols
crop_origin            (2,) int64                   (row, col) of the crop in the raw scan
r_pixel_size           () float64                   with r_pixel_units
r_pixel_units          () str
=====================  ===========================  =========================================

A paper-size scan cropped to 70 x 45 positions of 256 x 256 is 3150 x 128 KiB = 413 MB.
"""

from dataclasses import dataclass

import numpy as np

from .atomic import atomic_output
from .blur import eds_labels
from .chunks import row_slices
from .datacube_file import converted_datacube
from .pattern_file import write_npz
from .plan import crop_slices
from .rawio import read_eds_map, read_map

PAPER_DIVISOR = 2.0**16


@dataclass(frozen=True)
class CacheSettings:
    """``crop_rows``/``crop_cols``: [start, stop) in scan pixels or None for all.
    ``pattern_scale``: 'uint16' divides counts by 2**16 (the paper); 'max' by the scan's largest
    value. ``blur_*``: see :func:`edsmaps.blur.blur_map`."""

    crop_rows: tuple[int, int] | None = None
    crop_cols: tuple[int, int] | None = None
    pattern_scale: str = "uint16"
    blur_method: str = "gaussian"
    blur_kernel: int = 7
    bilateral_sigma_color: float = 75.0
    bilateral_sigma_space: float = 75.0


def build_cache(converted_h5, elements, eds_paths, haadf_path, scan_shape, eds_unit, settings: CacheSettings,
                output_npz, haadf_title="HAADF"):
    """Write the NPZ cache of one scan: cropped patterns and blurred labels.

    Patterns are read, scaled and written in chunks of scan rows (``chunks.row_slices``), so memory
    does not grow with the scan. Maps in a container (Velox EMD) are picked by element symbol and
    ``haadf_title`` and their pixel size checked against the converted scan's.

    Args:
        converted_h5: the centred py4DSTEM file of the scan (:func:`edsmaps.conversion.convert_scan`).
        elements: element symbols, the label columns' order.
        eds_paths: {element: map path}, or empty for a scan without EDS (predict-only: labels NaN).
        haadf_path: the HAADF map, or None.
        scan_shape: (rows, cols) of the raw scan.
        eds_unit: 'fraction' or 'percent' (at.%, divided by 100).
        settings: crop, pattern scaling and label blur.
        output_npz: the cache: ``patterns`` (N, Qy, Qx) float16 counts / ``pattern_divisor``,
            ``targets`` (N, E) float32 blurred atomic fractions, ``targets_unblurred``, ``haadf``
            (N,), ``scan_shape`` and ``crop_origin`` (rows, cols) of the crop in the raw scan,
            ``dose`` the mean counts per pattern (models rescale a scan's counts by it).
        haadf_title: title of the HAADF image in a container.
    """
    import h5py

    rows, cols = crop_slices(scan_shape, settings.crop_rows, settings.crop_cols)
    cropped_shape = (rows.stop - rows.start, cols.stop - cols.start)
    n = cropped_shape[0] * cropped_shape[1]
    with h5py.File(converted_h5, "r") as converted:
        cube, pixel = converted_datacube(converted, converted_h5)
        if eds_paths:
            if list(eds_paths) != list(elements):
                raise ValueError(f"EDS maps given for {list(eds_paths)} but elements are {list(elements)}")
            raw_maps = [read_eds_map(p, scan_shape, el, eds_unit, pixel) for el, p in eds_paths.items()]
            targets = eds_labels(raw_maps, rows, cols, settings.blur_method, settings.blur_kernel,
                                 settings.bilateral_sigma_color, settings.bilateral_sigma_space)
            unblurred = np.stack([m[rows, cols].ravel() for m in raw_maps], axis=1)
        else:
            targets = unblurred = np.full((n, len(elements)), np.nan, dtype=np.float32)
        if haadf_path is not None:
            haadf = read_map(haadf_path, scan_shape, "HAADF", haadf_title, pixel)[rows, cols].ravel()
        else:
            haadf = np.full(n, np.nan, dtype=np.float32)

        pattern_shape = cube.shape[2:]
        row_bytes = cropped_shape[1] * int(np.prod(pattern_shape)) * cube.dtype.itemsize

        def counts():
            """The cropped patterns as (n, Qy, Qx) counts, a few scan rows at a time."""
            for chunk_rows in row_slices(rows.start, rows.stop, row_bytes):
                yield cube[chunk_rows, cols].reshape(-1, *pattern_shape)

        if settings.pattern_scale == "uint16":
            divisor = PAPER_DIVISOR
        else:
            divisor = float(max(chunk.max() for chunk in counts())) or 1.0
        pattern_sums = []

        def scaled():
            for chunk in counts():
                pattern_sums.append(chunk.sum(axis=(1, 2), dtype=np.float64))
                out = np.empty(chunk.shape, dtype=np.float16)
                yield np.multiply(chunk, np.float32(1 / divisor), out=out, casting="unsafe")

        def small_arrays():
            return {
                "pattern_divisor": np.float64(divisor),
                "dose": np.float64(np.concatenate(pattern_sums).mean()),  # = cacheset.mean_dose
                "targets": targets.astype(np.float32),
                "targets_unblurred": unblurred.astype(np.float32),
                "haadf": haadf.astype(np.float32),
                "has_haadf": np.bool_(haadf_path is not None),
                "has_eds": np.bool_(bool(eds_paths)),
                "elements": np.array(list(elements)),
                "scan_shape": np.array(cropped_shape, dtype=np.int64),
                "crop_origin": np.array([rows.start, cols.start], dtype=np.int64),
                "r_pixel_size": np.float64(pixel[0]),
                "r_pixel_units": np.array(pixel[1]),
            }

        with atomic_output(output_npz) as tmp:
            write_npz(tmp, small_arrays, ("patterns", (n, *pattern_shape), np.float16, scaled()))


def load_cache(path):
    """Load a cache as a dict of arrays (no pickles)."""
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}
