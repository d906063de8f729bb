"""Training-time augmentations that respect diffraction physics (pure NumPy, no Keras).

- dihedral: a centred pattern rotated by 90° or mirrored is the pattern of the same material
  with the sample rotated or flipped, so its composition target is unchanged. Square patterns
  have 8 such transforms, others 4 (identity, the two mirrors, 180°). On an even-sized pattern
  the centre pixel (Q // 2) is not the middle of the array, so a transform moves the origin by
  one pixel.
- Poisson thinning: keeping each detected electron with probability ``p`` turns a pattern into
  one recorded at ``p`` x the dose (binomial thinning of Poisson counts is Poisson); divided by
  ``p`` it is what the model sees of a lower-dose scan at its training dose.
"""

import numpy as np


def dihedral_count(pattern_shape):
    """How many rotations/mirrors keep a (Qy, Qx) pattern's shape: 8 if square, else 4."""
    return 8 if pattern_shape[0] == pattern_shape[1] else 4


def dihedral(patterns, codes):
    """Transform each pattern of (n, Qy, Qx) ``patterns`` by its code in 0..7 (0..3 if not
    square): bit 0 mirrors left-right, bit 1 mirrors up-down, bit 2 transposes. Returns a new
    array of the same shape and dtype."""
    out = np.array(patterns, copy=True)
    codes = np.asarray(codes)
    if out.shape[1] != out.shape[2] and (codes >= 4).any():
        raise ValueError(f"codes 4..7 transpose the pattern and need square patterns, not {out.shape[1:]}")
    for i, code in enumerate(codes):
        pattern = out[i]
        if code & 4:
            pattern = pattern.T
        if code & 2:
            pattern = pattern[::-1]
        if code & 1:
            pattern = pattern[:, ::-1]
        out[i] = pattern
    return out


def thin_counts(cached, divisor, fractions, rng):
    """Poisson-thin (n, Qy, Qx) cached patterns (counts = cached x ``divisor``) to ``fractions``
    (n,) of their dose and scale back, so the expected pattern is unchanged and only the
    noise is that of the lower dose. Non-integer counts (sub-pixel centring) are rounded first.
    Returns float32 in cache units."""
    fractions = np.asarray(fractions, dtype=np.float64)[:, None, None]
    counts = np.rint(np.asarray(cached, dtype=np.float32) * np.float32(divisor)).astype(np.int64)
    kept = rng.binomial(np.clip(counts, 0, None), fractions)
    return (kept / (fractions * divisor)).astype(np.float32)
