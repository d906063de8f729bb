import numpy as np

from edsmaps.scan_order import candidate_orders, check_scan_order

RNG = np.random.default_rng(1)


def smooth_image(rows, cols):
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(RNG.random((rows, cols)), 2)


def test_correct_order_passes():
    haadf = smooth_image(14, 9)
    result = check_scan_order(haadf + 0.01 * RNG.random((14, 9)), haadf)
    assert result["ok"] and result["best"] == "as_given"
    assert result["correlations"]["as_given"] > 0.9


def test_transposed_export_is_detected():
    haadf = smooth_image(14, 9)
    # A column-major stack read row-major: flat order is haadf.T.ravel().
    virtual = haadf.T.ravel().reshape(14, 9)
    result = check_scan_order(virtual, haadf)
    assert not result["ok"] and result["best"] == "transposed"
    np.testing.assert_array_equal(candidate_orders(virtual)["transposed"], haadf)


def test_serpentine_export_is_detected():
    haadf = smooth_image(14, 9)
    virtual = haadf.copy()
    virtual[1::2] = virtual[1::2, ::-1]
    result = check_scan_order(virtual, haadf)
    assert not result["ok"] and result["best"] == "serpentine"
