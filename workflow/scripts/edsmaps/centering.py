"""Find, fit and remove the descan: every pattern's origin moved to the detector centre.

Origins are found *before* any central-beam removal (otherwise the brightest feature is a
Bragg spot). The finder is a vectorised version of py4DSTEM's ``get_origin``: locate the
brightest region, then take the centre of mass inside ``rscale`` x the probe radius.

The centre is a pixel, (Qy // 2, Qx // 2): where numpy's ``fftshift`` and py4DSTEM put zero
frequency (its probe templates are centred at Q / 2), and the middle pixel of an odd-sized
detector. A pattern is moved by whole pixels exactly, and only the sub-pixel remainder is
interpolated, by the Fourier shift theorem (py4DSTEM's ``get_shifted_ar``): bilinear
interpolation would average neighbouring pixels and widen the central disk and every Bragg
disk, a Fourier shift moves them without changing their shape.
"""

import cv2
import numpy as np

from .rawio import release_pages

CHUNK_PATTERNS = 256


SUBPIXEL_TOLERANCE = 1e-3  # a shift this close to whole pixels is a whole-pixel move
FOURIER_PAD = 8  # zeros around a pattern before its Fourier shift, so nothing wraps round


def detector_centre(pattern_shape):
    """The pixel (qy, qx) every pattern's origin is moved to: (Qy // 2, Qx // 2)."""
    return pattern_shape[0] // 2, pattern_shape[1] // 2


def _block_sum(chunk, factor):
    n, qy, qx = chunk.shape
    qy2, qx2 = qy // factor * factor, qx // factor * factor
    return chunk[:, :qy2, :qx2].reshape(n, qy2 // factor, factor, qx2 // factor, factor).sum(axis=(2, 4))


def find_origins(patterns, probe_radius, rscale=1.2):
    """Origin (qy0, qx0) of every pattern, each (rows, cols) float64.

    ``patterns``: (rows, cols, Qy, Qx), any numeric dtype (memory-mapped is fine; chunks are
    converted to float32 one at a time). ``probe_radius`` in pixels (py4DSTEM's
    ``get_probe_size`` of the mean pattern).
    """
    rows, cols, qy, qx = patterns.shape
    flat = patterns.reshape(rows * cols, qy, qx)
    factor = max(1, int(probe_radius // 2))
    yy, xx = np.mgrid[0:qy, 0:qx].astype(np.float32)
    origins = np.empty((rows * cols, 2))
    for start in range(0, rows * cols, CHUNK_PATTERNS):
        chunk = np.asarray(flat[start : start + CHUNK_PATTERNS], dtype=np.float32)
        coarse = _block_sum(chunk, factor)
        # Smooth at the probe scale (as py4DSTEM's gaussian pre-filter) so a hot pixel cannot win.
        coarse = np.stack([cv2.GaussianBlur(c, (3, 3), 0) for c in coarse])
        peak = coarse.reshape(len(chunk), -1).argmax(axis=1)
        py, px = np.unravel_index(peak, coarse.shape[1:])
        cy = (py + 0.5) * factor - 0.5
        cx = (px + 0.5) * factor - 0.5
        # Second pass re-centres the disk mask on the first centre of mass (removes the bias of
        # the coarse grid); py4DSTEM stops after one pass on a whole-pixel peak.
        for _ in range(2):
            mask = (yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2 < (
                probe_radius * rscale
            ) ** 2
            weights = chunk * mask
            total = weights.sum(axis=(1, 2))
            total[total == 0] = np.nan
            cy = (weights * yy).sum(axis=(1, 2)) / total
            cx = (weights * xx).sum(axis=(1, 2)) / total
        origins[start : start + len(chunk), 0] = cy
        origins[start : start + len(chunk), 1] = cx
        release_pages(patterns)
    origins = origins.reshape(rows, cols, 2)
    return origins[..., 0], origins[..., 1]


def fit_origins(qy0, qx0, fitfunction="plane"):
    """Smooth model of the descan with py4DSTEM's robust ``fit_origin``.

    Returns fitted (qy0, qx0), each (rows, cols), and the residual RMS in pixels.
    """
    from py4DSTEM.process.calibration import fit_origin

    # py4DSTEM names the first detector axis x; our qy is its qx.
    fit_y, fit_x, res_y, res_x = fit_origin((qy0, qx0), fitfunction=fitfunction, robust=True)
    residual = float(np.sqrt(np.nanmean(np.asarray(res_y) ** 2 + np.asarray(res_x) ** 2)))
    return np.asarray(fit_y), np.asarray(fit_x), residual


def _whole_pixel_shift(pattern, dy, dx, out):
    """``out`` = ``pattern`` moved by whole pixels (dy, dx), zeros shifted in (no wrap-around)."""
    qy, qx = pattern.shape
    out[:] = 0
    if abs(dy) >= qy or abs(dx) >= qx:
        return out
    out[max(dy, 0) : qy + min(dy, 0), max(dx, 0) : qx + min(dx, 0)] = \
        pattern[max(-dy, 0) : qy + min(-dy, 0), max(-dx, 0) : qx + min(-dx, 0)]
    return out


def fourier_shift(patterns, dy, dx):
    """(n, Qy, Qx) ``patterns`` each moved by its sub-pixel (``dy``, ``dx``) (n,) with the Fourier
    shift theorem, zero-padded by FOURIER_PAD so nothing wraps round; the interpolation's ringing
    below zero is clipped (counts are not negative). float32."""
    padded = np.pad(np.asarray(patterns, dtype=np.float64), ((0, 0), (FOURIER_PAD,) * 2, (FOURIER_PAD,) * 2))
    ky = np.fft.fftfreq(padded.shape[1])[None, :, None]
    kx = np.fft.rfftfreq(padded.shape[2])[None, None, :]
    ramp = np.exp(-2j * np.pi * (ky * np.asarray(dy)[:, None, None] + kx * np.asarray(dx)[:, None, None]))
    shifted = np.fft.irfft2(np.fft.rfft2(padded) * ramp, s=padded.shape[1:])
    return np.clip(shifted[:, FOURIER_PAD:-FOURIER_PAD, FOURIER_PAD:-FOURIER_PAD], 0, None).astype(np.float32)


def shift_to_centre(patterns, qy0, qx0, out=None):
    """Move each pattern's origin (``qy0``, ``qx0``, each (rows, cols)) to the detector centre:
    by whole pixels exactly, then by the sub-pixel remainder with :func:`fourier_shift` (skipped
    where it is below SUBPIXEL_TOLERANCE, so a pattern already centred comes back unchanged).

    Pixels shifted in from outside the detector are 0 (no wrap-around). ``patterns``
    (rows, cols, Qy, Qx) any dtype; returns float32 of the same shape (``out`` if given).
    """
    rows, cols, qy, qx = patterns.shape
    if out is None:
        out = np.empty(patterns.shape, dtype=np.float32)
    cy, cx = detector_centre((qy, qx))
    dy, dx = cy - np.asarray(qy0, dtype=np.float64), cx - np.asarray(qx0, dtype=np.float64)
    whole_y, whole_x = np.round(dy).astype(int), np.round(dx).astype(int)
    rest_y, rest_x = dy - whole_y, dx - whole_x
    for r in range(rows):
        row = np.asarray(patterns[r], dtype=np.float32)
        for c in range(cols):
            _whole_pixel_shift(row[c], whole_y[r, c], whole_x[r, c], out[r, c])
        sub = np.flatnonzero(np.maximum(np.abs(rest_y[r]), np.abs(rest_x[r])) > SUBPIXEL_TOLERANCE)
        if len(sub):
            out[r, sub] = fourier_shift(out[r, sub], rest_y[r, sub], rest_x[r, sub])
    return out


def bin_patterns(patterns, factor):
    """Sum ``factor`` x ``factor`` detector pixels (float32); trailing pixels that do not fill a bin
    are dropped, as py4DSTEM's ``bin_Q`` does."""
    if factor == 1:
        return patterns
    rows, cols, qy, qx = patterns.shape
    flat = patterns.reshape(rows * cols, qy, qx)
    binned = np.empty((rows * cols, qy // factor, qx // factor), dtype=np.float32)
    for start in range(0, rows * cols, CHUNK_PATTERNS):
        binned[start : start + CHUNK_PATTERNS] = _block_sum(
            np.asarray(flat[start : start + CHUNK_PATTERNS], dtype=np.float32), factor
        )
    return binned.reshape(rows, cols, qy // factor, qx // factor)


def central_beam_mask(pattern_shape, radius):
    """Boolean (Qy, Qx) disk of ``radius`` pixels around the detector centre."""
    cy, cx = detector_centre(pattern_shape)
    yy, xx = np.mgrid[0 : pattern_shape[0], 0 : pattern_shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
