"""Training augmentations: rotations/mirrors are exact, Poisson thinning keeps the mean."""

import numpy as np
import pytest

from edsmaps.augmentation import dihedral, dihedral_count, thin_counts


def test_the_eight_codes_are_the_eight_rotations_and_mirrors_of_a_square_pattern():
    pattern = np.arange(36, dtype=np.float32).reshape(6, 6)
    expected = [np.rot90(pattern, k) for k in range(4)] + [np.rot90(pattern.T, k) for k in range(4)]
    got = dihedral(np.repeat(pattern[None], 8, axis=0), np.arange(8))
    assert dihedral_count(pattern.shape) == 8
    assert sorted(g.tobytes() for g in got) == sorted(e.tobytes() for e in expected)


def test_a_non_square_pattern_keeps_its_shape_and_refuses_a_transpose():
    pattern = np.arange(24, dtype=np.float16).reshape(1, 4, 6)
    assert dihedral_count(pattern.shape[1:]) == 4
    got = dihedral(np.repeat(pattern, 4, axis=0), np.arange(4))
    assert got.shape == (4, 4, 6) and got.dtype == np.float16
    np.testing.assert_array_equal(got[3], pattern[0][::-1, ::-1])
    with pytest.raises(ValueError, match="need square patterns"):
        dihedral(pattern, [4])


def test_a_rotation_invariant_pattern_is_left_unchanged():
    yy, xx = np.mgrid[:9, :9] - 4.0
    ring = np.exp(-((np.hypot(yy, xx) - 3) ** 2))
    np.testing.assert_array_equal(dihedral(np.repeat(ring[None], 8, axis=0), np.arange(8)), np.repeat(ring[None], 8, 0))


def test_thinning_keeps_the_expected_pattern_and_adds_the_lower_doses_noise():
    divisor, p = 4.0, 0.25
    counts = np.full((4000, 2, 2), 40.0)
    cached = (counts / divisor).astype(np.float16)
    thinned = thin_counts(cached, divisor, np.full(len(cached), p), np.random.default_rng(0))
    assert thinned.dtype == np.float32 and thinned.shape == cached.shape
    np.testing.assert_allclose(thinned.mean(), 10.0, rtol=0.01)  # cache units: counts / divisor
    # kept ~ Binomial(40, p); kept / (p * divisor) has variance 40 (1 - p) / (p divisor²)
    np.testing.assert_allclose(thinned.var(), 40 * (1 - p) / (p * divisor**2), rtol=0.05)
    untouched = thin_counts(cached, divisor, np.ones(len(cached)), np.random.default_rng(0))
    np.testing.assert_array_equal(untouched, cached.astype(np.float32))
    again = thin_counts(cached, divisor, np.full(len(cached), p), np.random.default_rng(0))
    np.testing.assert_array_equal(again, thinned)
