"""A scan recorded at a fraction of the dose, simulated exactly, for diffraction and for EDS.

Keeping each detected electron (or X-ray) with probability ``f`` (binomial thinning) turns
Poisson counts at dose D into Poisson counts at f x D, independent of the rest. Every model
sees the same thinned patterns (drawn from seed, scan and fraction), at its training dose as
a real lower-dose scan is (:func:`edsmaps.cacheset.dose_factor`).

EDS at the same dose: the scan's X-ray counts thinned by the same fraction, quantified with the
per-element factors that turn its full-dose counts into its measured fractions, then blurred
and cropped as the labels (:func:`edsmaps.caching.eds_labels`).
"""

import zlib

import numpy as np


def thinning_rng(seed, scan, fraction):
    """The random stream that thins ``scan`` to ``fraction``: the same for every model."""
    return np.random.default_rng([int(seed), zlib.crc32(str(scan).encode()), int(round(float(fraction) * 2**20))])


def thin(counts, fraction, rng):
    """Binomial thinning of integer ``counts`` (any shape) to ``fraction`` of their dose, same
    dtype. Poisson counts of mean m come back Poisson of mean ``fraction`` x m."""
    counts = np.asarray(counts)
    if not np.issubdtype(counts.dtype, np.integer):
        raise ValueError(f"thinning needs integer counts, got {counts.dtype}")
    if not 0 < fraction <= 1:
        raise ValueError(f"a dose fraction is in (0, 1], got {fraction}")
    if (counts < 0).any():
        raise ValueError("thinning needs counts >= 0")
    kept = np.zeros_like(counts)
    counted = counts > 0  # zeros stay zeros: drawing only the others is the same and cheaper
    kept[counted] = rng.binomial(counts[counted], fraction)
    return kept


def thinned_caches(cache, fractions, rng_of, folder):
    """The scan of a cache (dict) as if recorded at each of ``fractions`` of its dose, yielded as
    (fraction, cache) from the highest fraction down: its counts (cached patterns x divisor,
    rounded: sub-pixel centring leaves them a little off integers) thinned, stored in cache
    units again, ``dose`` measured again. Nested, as an acquisition stopped earlier: each lower
    dose is thinned from the next higher one (exact: thinning by p then q is thinning by p x q),
    the stream of each step ``rng_of(fraction)``. Fraction 1 is the cache itself.

    A few scan rows at a time, so memory does not grow with the scan: each lower dose's patterns
    go to an NPZ in a scratch folder inside ``folder`` (read where indexed,
    :class:`edsmaps.pattern_file.PatternFile`), its counts to a scratch file the next dose is
    thinned from. A yielded cache's patterns last until the next one is asked for; the scratch
    folder goes when the generator ends or is closed."""
    import tempfile
    from pathlib import Path

    from .chunks import RowScratch, row_slices
    from .pattern_file import PatternFile, write_npz

    patterns = cache["patterns"]
    shape, dtype = tuple(patterns.shape), np.dtype(patterns.dtype)
    divisor = np.float32(cache["pattern_divisor"])
    chunks = row_slices(0, shape[0], int(np.prod(shape[1:])) * np.dtype(np.int32).itemsize)

    def full_dose_counts(rows):
        return np.rint(np.asarray(patterns[rows], dtype=np.float32) * divisor).clip(0, None).astype(np.int32)

    read_counts, previous, source = full_dose_counts, 1.0, None
    with tempfile.TemporaryDirectory(dir=folder, prefix=".thinning-") as scratch:
        pattern_path = Path(scratch) / "patterns.npz"
        for fraction in sorted(fractions, reverse=True):
            if fraction == 1:
                yield fraction, dict(cache)
                continue
            counts, pattern_sums = RowScratch(scratch, shape, np.int32), []
            steps = _thinned_chunks(read_counts, chunks, fraction / previous, rng_of(fraction), counts, pattern_sums)
            pattern_path.unlink(missing_ok=True)
            write_npz(pattern_path, {}, ("patterns", shape, dtype,
                                         (_in_cache_units(chunk, divisor, dtype) for chunk in steps)))
            if source is not None:
                source.close()
            yield fraction, {**cache, "patterns": PatternFile(pattern_path),
                             "dose": np.float64(np.concatenate(pattern_sums).mean())}  # = cacheset.mean_dose
            read_counts, previous, source = counts.read, fraction, counts
        if source is not None:
            source.close()


def _thinned_chunks(read_counts, chunks, fraction, rng, scratch, pattern_sums):
    """Each chunk of rows' counts (``read_counts(rows)``) thinned to ``fraction``, in scan order (one
    random stream drawn through in order: the same draws as the whole array at once), appended to
    ``scratch`` (:class:`edsmaps.chunks.RowScratch`) and their per-pattern sums to ``pattern_sums``."""
    for rows in chunks:
        counts = thin(read_counts(rows), fraction, rng)
        scratch.append(counts)
        pattern_sums.append(counts.sum(axis=tuple(range(1, counts.ndim)), dtype=np.float64))
        yield counts


def _in_cache_units(counts, divisor, dtype):
    thinned = np.empty(counts.shape, dtype=dtype)
    np.multiply(counts, 1 / divisor, out=thinned, casting="unsafe")
    return thinned


def quantification_factors(counts, fractions):
    """What one X-ray count of each element is worth, relative to the others, from the full-dose
    ``counts`` (rows, cols, E) and the ``fractions`` (rows, cols, E) quantified from them: the
    median over pixels where every element was counted of count-normalised fractions, so the
    factors are those the user's quantification used (k-factors, absorption) whatever they were.

    Returns (factors (E,), share): ``share`` the median of the measured fractions' sum (below 1
    when the elements listed are not all of the material)."""
    counts = np.asarray(counts, dtype=np.float64).reshape(-1, np.shape(counts)[-1])
    fractions = np.asarray(fractions, dtype=np.float64).reshape(counts.shape)
    usable = (counts > 0).all(axis=1) & np.isfinite(fractions).all(axis=1)
    if usable.sum() < 10:
        raise ValueError(f"only {int(usable.sum())} pixels have counts of every element: too few to tell "
                         "what one count is worth")
    per_count = fractions[usable] / counts[usable]
    per_count /= per_count.sum(axis=1, keepdims=True)
    return np.median(per_count, axis=0), float(np.median(fractions[usable].sum(axis=1)))


def quantify(counts, factors, share):
    """Atomic fractions (rows, cols, E) float32 of X-ray ``counts`` (rows, cols, E): counts x
    factors normalised to ``share``; a pixel without counts gets ``share`` / E each."""
    weighted = np.asarray(counts, dtype=np.float64) * np.asarray(factors, dtype=np.float64)
    total = weighted.sum(axis=-1, keepdims=True)
    uniform = np.full(weighted.shape, share / weighted.shape[-1])
    return (share * np.divide(weighted, total, out=uniform, where=total > 0)).astype(np.float32)


def eds_at_dose(counts, factors, share, fraction, rng, label_blur, rows, cols):
    """The label (N, E) float32 EDS would give at ``fraction`` of its dose: ``counts`` (rows,
    cols, E) thinned, quantified (:func:`quantify`), blurred and cropped to slices ``rows``,
    ``cols`` as the labels (``label_blur``: the keyword settings of :func:`edsmaps.blur.eds_labels`)."""
    from .blur import eds_labels

    fractions = quantify(thin(counts, fraction, rng), factors, share)
    return eds_labels([fractions[..., i] for i in range(fractions.shape[-1])], rows, cols, **label_blur)
