"""Convert one raw scan: find and remove the descan, bin, mask the central beam, attach
calibrations and save a py4DSTEM ``.h5``; write origin statistics, virtual images and a
scan-order check beside it."""

import logging
from dataclasses import dataclass

import numpy as np

from . import centering
from .atomic import atomic_output, write_json
from .rawio import open_diffraction, read_map
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


def _virtual_images(cube, radius, inner_scale):
    centre = centering.detector_centre(cube.data.shape[2:])
    outer = min(cube.data.shape[2:]) / 2 - 1
    inner = min(inner_scale * radius, outer / 2)
    bf = cube.get_virtual_image(
        mode="circle", geometry=(centre, radius), name="virtual_bf", verbose=False
    )
    adf = cube.get_virtual_image(
        mode="annulus", geometry=(centre, (inner, outer)), name="virtual_adf", verbose=False
    )
    return np.asarray(bf.data, dtype=np.float32), np.asarray(adf.data, dtype=np.float32), (inner, outer)


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
    import py4DSTEM

    is_h5 = str(diffraction_path).lower().endswith((".h5", ".hdf5"))
    center = settings.center and (settings.recenter_h5 or not is_h5)
    with open_diffraction(diffraction_path, scan_shape) as raw:
        mean_raw = raw.mean(axis=(0, 1), dtype=np.float64)
        rough_radius = probe_radius(mean_raw)
        qy0, qx0 = centering.find_origins(raw, rough_radius)
        stats = {"probe_radius_raw_px": rough_radius, "measured_before": _origin_stats(qy0, qx0)}
        if center:
            fit_y, fit_x, residual = centering.fit_origins(qy0, qx0, settings.origin_fit)
            stats["fit"] = {"function": settings.origin_fit, "residual_rms_px": residual}
            patterns = centering.shift_to_centre(raw, fit_y, fit_x)
        else:
            patterns = np.asarray(raw, dtype=np.float32)
    log.info("origins found; centering=%s", center)
    patterns = centering.bin_patterns(patterns, settings.bin_factor)
    probe_radius_px = probe_radius(patterns.mean(axis=(0, 1), dtype=np.float64))
    qy1, qx1 = centering.find_origins(patterns, probe_radius_px)
    stats["probe_radius_px"] = probe_radius_px
    stats["measured_after"] = _origin_stats(qy1, qx1)
    stats["detector_centre"] = list(centering.detector_centre(patterns.shape[2:]))
    stats["centered"] = center
    stats["bin_factor"] = settings.bin_factor

    cube = py4DSTEM.DataCube(data=patterns)
    bf, adf, adf_radii = _virtual_images(cube, probe_radius_px, settings.adf_inner_scale)
    if settings.remove_central_beam:
        mask = centering.central_beam_mask(patterns.shape[2:], probe_radius_px * settings.beam_mask_scale)
        patterns[..., mask] = 0
        stats["central_beam_mask_radius_px"] = probe_radius_px * settings.beam_mask_scale

    cal = cube.calibration
    cal.set_R_pixel_size(calibration.r_pixel_size)
    cal.set_R_pixel_units(calibration.r_pixel_units)
    cal.set_Q_pixel_size(calibration.q_pixel_size * settings.bin_factor)
    cal.set_Q_pixel_units(calibration.q_pixel_units)
    centre_y, centre_x = centering.detector_centre(patterns.shape[2:])
    cal.set_origin((np.full(scan_shape, centre_y), np.full(scan_shape, centre_x)))
    cal.set_probe_semiangle(probe_radius_px)
    with atomic_output(output_h5) as tmp:
        py4DSTEM.save(str(tmp), cube, mode="o")

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
