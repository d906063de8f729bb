"""Convert one raw scan: find and remove the descan, bin, mask the central beam, attach
calibrations and save a py4DSTEM ``.h5``; write origin statistics, virtual images and a
scan-order check beside it."""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import centering
from .atomic import atomic_output, write_json
from .chunks import RowScratch, row_slices
from .datacube_file import write_datacube
from .rawio import open_diffraction, read_map, release_pages
from .scan_order import check_scan_order

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversionSettings:
    """``center``: shift origins to the detector centre (MRC input always; ``.h5`` input only if
    ``recenter_h5``). ``bin_factor``: detector binning. ``remove_central_beam``: zero a disk of
    ``beam_mask_scale`` x the measured probe radius. ``origin_fit``: py4DSTEM fit function."""

    center: bool = True
    recenter_h5: bool = False
    bin_factor: int = 1
    remove_central_beam: bool = False
    beam_mask_scale: float = 1.3
    origin_fit: str = "plane"
    adf_inner_scale: float = 3.0


@dataclass(frozen=True)
class Calibration:
    r_pixel_size: float
    r_pixel_units: str
    q_pixel_size: float
    q_pixel_units: str


def _origin_stats(qy0, qx0):
    return {
        "mean_qy": float(np.nanmean(qy0)),
        "mean_qx": float(np.nanmean(qx0)),
        "std_qy": float(np.nanstd(qy0)),
        "std_qx": float(np.nanstd(qx0)),
        "range_qy": float(np.nanmax(qy0) - np.nanmin(qy0)),
        "range_qx": float(np.nanmax(qx0) - np.nanmin(qx0)),
    }


def probe_radius(mean_pattern):
    from py4DSTEM.process.calibration import get_probe_size

    radius, _, _ = get_probe_size(mean_pattern)
    return float(radius)


def _virtual_images(chunks, scan_shape, pattern_shape, radius, inner_scale):
    """Virtual bright-field and annular dark-field images (rows, cols) float32 of the patterns in
    ``chunks`` (whole scan rows), and the annulus' (inner, outer) radii: py4DSTEM's detectors,
    applied pattern by pattern as its ``get_virtual_image`` does, without a DataCube per chunk."""
    import py4DSTEM

    centre = centering.detector_centre(pattern_shape)
    outer = min(pattern_shape) / 2 - 1
    inner = min(inner_scale * radius, outer / 2)
    stand_in = py4DSTEM.DataCube(data=np.zeros((1, 1, *pattern_shape), dtype=np.float32))
    masks = [stand_in.get_virtual_image(mode=mode, geometry=(centre, size), return_mask=True, verbose=False)
             for mode, size in (("circle", radius), ("annulus", (inner, outer)))]
    images = [[], []]
    for chunk in chunks:
        for image, mask in zip(images, masks):
            image.append([np.sum(pattern * mask) for pattern in chunk.reshape(-1, *pattern_shape)])
    bf, adf = (np.concatenate(image).reshape(scan_shape).astype(np.float32) for image in images)
    return bf, adf, (inner, outer)


def _read_rows(raw, row_chunks):
    """The raw scan's rows, a chunk at a time (copies); pages of a memory-mapped file are handed
    back after each."""
    for rows in row_chunks:
        chunk = np.array(raw[rows])
        release_pages(raw)
        yield chunk


def mean_pattern(chunks):
    """Mean (Qy, Qx) float64 of the patterns in ``chunks`` ((r, cols, Qy, Qx) arrays), added one
    pattern at a time in scan order: the bits of ``patterns.mean(axis=(0, 1), dtype=float64)``."""
    total, count = 0.0, 0
    for chunk in chunks:
        for pattern in chunk.reshape(-1, *chunk.shape[2:]):
            total = total + pattern if count == 0 else np.add(total, pattern, out=total)
            count += 1
    return np.asarray(total, dtype=np.float64) / count


def convert_scan(
    diffraction_path,
    haadf_path,
    scan_shape,
    calibration: Calibration,
    settings: ConversionSettings,
    output_h5,
    origin_json,
    virtual_npz,
    scan_order_json,
    haadf_title="HAADF",
):
    """Convert ``diffraction_path`` (any format of :mod:`edsmaps.rawio`) into a centred py4DSTEM .h5.

    All outputs are written atomically.

    Args:
        diffraction_path: the raw 4D-STEM scan (memory-mapped where the format allows).
        haadf_path: the HAADF map, or None (no scan-order check then); in a container (Velox
            EMD) the map titled ``haadf_title`` is used.
        scan_shape: (rows, cols) of the scan.
        calibration: real-space and detector pixel sizes stored in the file.
        settings: centring, binning and central-beam removal.
        output_h5: the py4DSTEM DataCube, float32 counts, origin at the detector centre.
        origin_json: measured origins before/after centring (detector pixels), probe radius.
        virtual_npz: virtual bright-field and annular dark-field images (rows, cols) float32.
        scan_order_json: agreement of the virtual images with HAADF in row-major and transposed order.
    Returns:
        (origin statistics dict, scan-order dict).
    """
    is_h5 = str(diffraction_path).lower().endswith((".h5", ".hdf5"))
    center = settings.center and (settings.recenter_h5 or not is_h5)
    with open_diffraction(diffraction_path, scan_shape) as raw:
        raw_rows = row_slices(0, raw.shape[0], int(np.prod(raw.shape[1:])) * raw.dtype.itemsize)
        rough_radius = probe_radius(mean_pattern(_read_rows(raw, raw_rows)))
        qy0, qx0 = centering.find_origins(raw, rough_radius)
        stats = {"probe_radius_raw_px": rough_radius, "measured_before": _origin_stats(qy0, qx0)}
        if center:
            fit_y, fit_x, residual = centering.fit_origins(qy0, qx0, settings.origin_fit)
            stats["fit"] = {"function": settings.origin_fit, "residual_rms_px": residual}
        factor = settings.bin_factor
        shape = (*raw.shape[:2], raw.shape[2] // factor, raw.shape[3] // factor)
        scratch = RowScratch(Path(output_h5).parent, shape, np.float32)  # the centred patterns, between two passes
        try:
            for rows, chunk in zip(raw_rows, _read_rows(raw, raw_rows)):
                chunk = (centering.shift_to_centre(chunk, fit_y[rows], fit_x[rows]) if center
                         else np.asarray(chunk, dtype=np.float32))
                scratch.append(centering.bin_patterns(chunk, factor))
            log.info("origins found; centering=%s", center)
            return _save_converted(scratch, shape, stats, center, calibration, settings, diffraction_path, haadf_path,
                                   haadf_title, output_h5, origin_json, virtual_npz, scan_order_json)
        finally:
            scratch.close()


def _save_converted(scratch, shape, stats, center, calibration, settings, diffraction_path, haadf_path, haadf_title,
                    output_h5, origin_json, virtual_npz, scan_order_json):
    """Measure the centred patterns, save them (central beam removed if asked) and check the
    scan order: the second half of :func:`convert_scan`."""
    scan_shape, pattern_shape = shape[:2], shape[2:]
    probe_radius_px = probe_radius(mean_pattern(scratch.chunks()))
    origins = [centering.find_origins(chunk, probe_radius_px) for chunk in scratch.chunks()]
    qy1, qx1 = (np.concatenate([o[axis] for o in origins]) for axis in (0, 1))
    stats["probe_radius_px"] = probe_radius_px
    stats["measured_after"] = _origin_stats(qy1, qx1)
    stats["detector_centre"] = list(centering.detector_centre(pattern_shape))
    stats["centered"] = center
    stats["bin_factor"] = settings.bin_factor
    bf, adf, adf_radii = _virtual_images(scratch.chunks(), scan_shape, pattern_shape, probe_radius_px,
                                     settings.adf_inner_scale)
    mask = None
    if settings.remove_central_beam:
        mask = centering.central_beam_mask(pattern_shape, probe_radius_px * settings.beam_mask_scale)
        stats["central_beam_mask_radius_px"] = probe_radius_px * settings.beam_mask_scale

    def saved_rows():
        for chunk in scratch.chunks():
            if mask is not None:
                chunk[..., mask] = 0
            yield chunk

    def calibrate(cal):
        cal.set_R_pixel_size(calibration.r_pixel_size)
        cal.set_R_pixel_units(calibration.r_pixel_units)
        cal.set_Q_pixel_size(calibration.q_pixel_size * settings.bin_factor)
        cal.set_Q_pixel_units(calibration.q_pixel_units)
        centre_y, centre_x = centering.detector_centre(pattern_shape)
        cal.set_origin((np.full(scan_shape, centre_y), np.full(scan_shape, centre_x)))
        cal.set_probe_semiangle(probe_radius_px)

    with atomic_output(output_h5) as tmp:
        write_datacube(tmp, shape, calibrate, saved_rows())

    order = {"checked": False, "reason": "no HAADF map given"}
    if haadf_path is not None:
        haadf = read_map(haadf_path, scan_shape, "HAADF", haadf_title,
                         (calibration.r_pixel_size, calibration.r_pixel_units))
        order = {"checked": True, **check_scan_order(adf, haadf)}
        if not order["ok"]:
            log.warning(
                "WARNING: %s: the virtual ADF image matches the HAADF map best under the '%s' scan "
                "order (r=%.3f) rather than as given (r=%.3f). The diffraction stack is probably "
                "exported %s; re-export it row-major or reorder it before training.",
                diffraction_path,
                order["best"],
                order["correlations"][order["best"]],
                order["correlations"]["as_given"],
                order["best"],
            )
    write_json(scan_order_json, order)
    write_json(origin_json, stats)
    with atomic_output(virtual_npz) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, virtual_bf=bf, virtual_adf=adf, adf_radii_px=np.array(adf_radii))
    return stats, order
