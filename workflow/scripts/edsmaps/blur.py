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
