"""Smoothing of grainy EDS maps with OpenCV, as the paper's ``apply_filter`` (Code 1)."""

import numpy as np

BLUR_METHODS = ("gaussian", "mean", "median", "bilateral", "none")
NO_PRIOR = ("none", 1)  # (method, kernel) of a spatial prior that is off: each pixel on its own


def blur_map(image, method="gaussian", kernel_size=7, bilateral_sigma_color=75.0, bilateral_sigma_space=75.0):
    """Blur a (rows, cols) map; returns float32 of the same shape.

    ``gaussian``: cv2.GaussianBlur(k x k, sigma from k); ``mean``: cv2.blur(k x k);
    ``median``: cv2.medianBlur (OpenCV handles float maps only up to k = 5, larger kernels
    use scipy's median filter with the same replicated border); ``bilateral``:
    cv2.bilateralFilter(d = k, sigmas as given); ``none``: a float32 copy.
    """
    import cv2  # here, so that modules naming NO_PRIOR do not load OpenCV
    from scipy.ndimage import median_filter

    image = np.ascontiguousarray(image, dtype=np.float32)
    if method == "gaussian":
        return cv2.GaussianBlur(image, (kernel_size, kernel_size), 0)
    if method == "mean":
        return cv2.blur(image, (kernel_size, kernel_size))
    if method == "median":
        if kernel_size <= 5:
            return cv2.medianBlur(image, kernel_size)
        return median_filter(image, size=kernel_size, mode="nearest")
    if method == "bilateral":
        return cv2.bilateralFilter(image, kernel_size, bilateral_sigma_color, bilateral_sigma_space)
    if method == "none":
        return image.copy()
    raise ValueError(f"unknown blur method '{method}'; choose one of {BLUR_METHODS}")


def blur_pixel_values(values, scan_shape, method, kernel):
    """(..., N, E) per-pixel values of one (rows, cols) scan with each element's map blurred
    (:func:`blur_map`), as float64; ``method`` "none" returns them as they are."""
    if method == "none":
        return values
    maps = np.asarray(values).reshape(-1, *scan_shape, values.shape[-1])
    blurred = [[blur_map(m[..., e], method, kernel) for e in range(m.shape[-1])] for m in maps]
    return np.asarray(blurred, dtype=np.float64).transpose(0, 2, 3, 1).reshape(values.shape)


def prior_candidates(spatial_prior):
    """The spatial priors (method, kernel) a model chooses from: a list of pairs, or one pair."""
    if len(spatial_prior) and isinstance(spatial_prior[0], (list, tuple)):
        return [(str(m), int(k)) for m, k in spatial_prior]
    return [(str(spatial_prior[0]), int(spatial_prior[1]))]


def prior_support(chosen, scan_shape, spatial_priors):
    """(N,) bool: the pixels of a (rows, cols) scan whose values the ``chosen`` (N,) bool pixels'
    values depend on after any of ``spatial_priors`` (each filter reads a kernel x kernel window,
    borders reflected inside it): predicting these alone gives the chosen pixels' blurred values
    exactly."""
    from scipy.ndimage import binary_dilation

    radius = max(int(kernel) // 2 if method != "none" else 0 for method, kernel in spatial_priors)
    chosen = np.asarray(chosen, dtype=bool)
    if radius == 0:
        return chosen
    window = np.ones((2 * radius + 1, 2 * radius + 1), dtype=bool)
    return binary_dilation(chosen.reshape(scan_shape), structure=window).ravel()


def eds_labels(maps, rows, cols, method="gaussian", kernel=7, sigma_color=75.0, sigma_space=75.0):
    """The labels (N, E) float32 of whole-scan EDS maps (E maps (rows, cols), atomic fraction):
    each blurred (:func:`blur_map`), then cropped to the slices ``rows``, ``cols``."""
    blurred = [blur_map(m, method, kernel, sigma_color, sigma_space) for m in maps]
    return np.stack([m[rows, cols].ravel() for m in blurred], axis=1).astype(np.float32)
