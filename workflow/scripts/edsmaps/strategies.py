"""Training/test split strategies: which scans train, which are tested, which pixels do what.

A strategy is data (config), e.g. ``{train: [first], test: [rest]}``. Scans are
named by id or by role: ``first``, ``last``, ``middle`` (all but first and last), ``rest``
(all but the training scans). Every pixel of every scan of a strategy gets a role
(unused, train, validation, test) so metrics score test pixels only and figures can still
show whole maps.

A scan both trained and tested is split ``random`` (the paper: pixels drawn at random, so a
test pixel's blurred label overlaps its training neighbours') or ``blocked`` (whole blocks
held out, with a buffer of unused pixels at least the blur radius wide around them).
"""

import numpy as np

from .plan import SCAN_ROLES, resolve_scans, strategy_scans  # noqa: F401 - the strategy API

UNUSED, TRAIN, VALIDATION, TEST = 0, 1, 2, 3
ROLE_NAMES = {UNUSED: "unused", TRAIN: "train", VALIDATION: "validation", TEST: "test"}


def _random_pick(indices, fraction, seed):
    from sklearn.model_selection import train_test_split

    keep, picked = train_test_split(indices, test_size=fraction, random_state=seed)
    return np.sort(keep), np.sort(picked)


def stripe_rows(n_rows, fraction):
    """Last rows of a scan forming a contiguous stripe of ``fraction`` of it (at least one row)."""
    n = max(1, int(round(n_rows * fraction)))
    return np.arange(n_rows - n, n_rows)


def random_roles(shape, test_fraction, val_fraction, seed):
    """The paper's split: ``test_fraction`` of the pixels drawn at random (scikit-learn,
    ``random_state=seed``), then ``val_fraction`` of the rest for validation."""
    rows, cols = shape
    role = np.full(rows * cols, UNUSED, dtype=np.int8)
    fit, test_idx = _random_pick(np.arange(rows * cols), test_fraction, seed)
    fit_idx, val_idx = _random_pick(fit, val_fraction, seed)
    role[fit_idx], role[val_idx], role[test_idx] = TRAIN, VALIDATION, TEST
    return role.reshape(rows, cols)


def _near(mask, buffer):
    """Pixels within Chebyshev distance ``buffer`` of ``mask`` (the support of a square kernel)."""
    from scipy.ndimage import binary_dilation

    if buffer == 0:
        return mask.copy()
    return binary_dilation(mask, structure=np.ones((2 * buffer + 1,) * 2, dtype=bool))


def blocked_roles(shape, test_fraction, val_fraction, block_grid, buffer, seed):
    """Hold out whole blocks: the scan is cut into a ``block_grid`` (rows, cols) of blocks,
    ``test_fraction`` of them (at least one) are test and ``val_fraction`` of the rest
    validation, drawn with ``seed``. Pixels within ``buffer`` (Chebyshev distance) of a test
    pixel, and training pixels within ``buffer`` of a validation pixel, are unused, so no
    blurred label used for fitting shares a source pixel with a label it is judged on.
    """
    rows, cols = shape
    grid_rows, grid_cols = min(block_grid[0], rows), min(block_grid[1], cols)
    row_block = np.searchsorted(np.linspace(0, rows, grid_rows + 1)[1:-1], np.arange(rows), side="right")
    col_block = np.searchsorted(np.linspace(0, cols, grid_cols + 1)[1:-1], np.arange(cols), side="right")
    block = row_block[:, None] * grid_cols + col_block[None, :]
    n_blocks = grid_rows * grid_cols
    n_test = max(1, int(round(test_fraction * n_blocks)))
    n_val = max(1, int(round(val_fraction * (n_blocks - n_test))))
    if n_test + n_val >= n_blocks:
        raise ValueError(f"a {grid_rows}x{grid_cols} block grid leaves no training block after {n_test} test and "
                         f"{n_val} validation blocks; use a finer block_grid")
    order = np.random.default_rng(seed).permutation(n_blocks)
    role = np.full(shape, TRAIN, dtype=np.int8)
    role[np.isin(block, order[n_test : n_test + n_val])] = VALIDATION
    role[np.isin(block, order[:n_test])] = TEST
    role[_near(role == TEST, buffer) & (role != TEST)] = UNUSED
    role[_near(role == VALIDATION, buffer) & (role == TRAIN)] = UNUSED
    if not (role == TRAIN).any() or not (role == VALIDATION).any():
        raise ValueError(f"a {buffer}-pixel buffer around the held-out blocks of a {rows}x{cols} scan leaves no "
                         "training or validation pixel; use a coarser block_grid or a larger crop")
    return role


def subsample_training(role, fraction, seed):
    """Keep ``fraction`` of the TRAIN pixels (random, at least one), the rest UNUSED.

    Nested: with one seed, the pixels kept at a fraction are kept at every larger one.
    """
    train = np.flatnonzero(role.ravel() == TRAIN)
    keep = max(1, int(round(fraction * len(train))))
    dropped = np.random.default_rng(seed).permutation(train)[keep:]
    out = role.copy()
    out.ravel()[dropped] = UNUSED
    return out


def pixel_roles(strategy, scans, scan_shapes, split_seed=42):
    """Role of every pixel: dict scan -> (rows, cols) int8 of UNUSED/TRAIN/VALIDATION/TEST.

    A scan both trained and tested (``single``) is split ``random`` (default) or ``blocked``
    (see :func:`blocked_roles`; ``block_grid``, ``buffer``) with ``test_fraction`` and
    ``validation_fraction``, seeded by ``split_seed`` (the paper's 42). A training-only scan
    gives a contiguous stripe of rows to validation. Test scans are test everywhere.
    Validation never touches a test pixel, so early stopping and calibration never see test
    data. ``train_fraction`` < 1 then keeps only that share of the training pixels (the
    learning curve).
    """
    train, test = strategy_scans(strategy, scans)
    val_fraction = strategy.get("validation_fraction", 0.2)
    test_fraction = strategy.get("test_fraction", 0.2)
    roles = {}
    for scan in train + [s for s in test if s not in train]:
        rows, cols = scan_shapes[scan]
        if scan in train and scan in test:
            if strategy.get("split", "random") == "blocked":
                role = blocked_roles((rows, cols), test_fraction, val_fraction, strategy.get("block_grid", (4, 3)),
                                     strategy.get("buffer", 0), split_seed)
            else:
                role = random_roles((rows, cols), test_fraction, val_fraction, split_seed)
        elif scan in train:
            role = np.full((rows, cols), TRAIN, dtype=np.int8)
            role[stripe_rows(rows, val_fraction)] = VALIDATION
        else:
            role = np.full((rows, cols), TEST, dtype=np.int8)
        if scan in train and strategy.get("train_fraction", 1.0) < 1.0:
            role = subsample_training(role, strategy["train_fraction"], split_seed)
        roles[scan] = role
    return roles


def save_roles(roles, path):
    """Write roles (dict scan -> (rows, cols) int8) to an NPZ keyed by scan id."""
    from .atomic import atomic_output

    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **roles)


def load_roles(path):
    with np.load(path, allow_pickle=False) as npz:
        return {scan: npz[scan] for scan in npz.files}


def write_split(cache_paths, strategy, scans, output_npz):
    """Roles of every pixel of a strategy's scans from their caches' scan shapes."""
    shapes = {}
    for scan, path in cache_paths.items():
        with np.load(path, allow_pickle=False) as cache:
            shapes[scan] = tuple(int(v) for v in cache["scan_shape"])
    roles = pixel_roles(strategy, scans, shapes, strategy.get("random_state", 42))
    save_roles(roles, output_npz)
    return roles
