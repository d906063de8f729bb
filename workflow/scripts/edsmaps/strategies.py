"""Training/test split strategies: which scans train, which are tested, which pixels do what.

A strategy is data (config), e.g. ``{train: [first], test: [rest]}``. Scans are
named by id or by role: ``first``, ``last``, ``middle`` (all but first and last), ``rest``
(all but the training scans). Every pixel of every scan of a strategy gets a role
(unused, train, validation, test) so metrics score test pixels only and figures can still
show whole maps.

A scan both trained and tested is split ``random`` (the paper: pixels drawn at random, so a
test pixel's blurred label overlaps its training neighbours') or ``blocked`` (whole blocks
held out, with a buffer of unused pixels at least the blur radius wide around them). A scan
only trained on gives validation blocks spread over the whole scan, buffered the same way, so
validation sees the compositions training sees (a stripe of rows is one region of the sample).
"""

import numpy as np

from .plan import SCAN_ROLES, SPLIT_DEFAULTS, resolve_scans, strategy_scans  # noqa: F401 - the strategy API

UNUSED, TRAIN, VALIDATION, TEST = 0, 1, 2, 3
ROLE_NAMES = {UNUSED: "unused", TRAIN: "train", VALIDATION: "validation", TEST: "test"}


def _random_pick(indices, fraction, seed):
    from sklearn.model_selection import train_test_split

    keep, picked = train_test_split(indices, test_size=fraction, random_state=seed)
    return np.sort(keep), np.sort(picked)


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


def block_index(shape, grid):
    """Block number (rows, cols) int of every pixel when ``shape`` is cut into a ``grid`` (rows,
    cols) of near-equal blocks, numbered row-major."""
    rows, cols = shape
    row_block = np.searchsorted(np.linspace(0, rows, grid[0] + 1)[1:-1], np.arange(rows), side="right")
    col_block = np.searchsorted(np.linspace(0, cols, grid[1] + 1)[1:-1], np.arange(cols), side="right")
    return row_block[:, None] * grid[1] + col_block[None, :]


def blocked_roles(shape, test_fraction, val_fraction, block_grid, buffer, seed, validation_block=None):
    """Hold out whole blocks: the scan is cut into a ``block_grid`` (rows, cols) of blocks and
    ``test_fraction`` of them (at least one), drawn with ``seed``, are test. Pixels within
    ``buffer`` (Chebyshev distance) of a test pixel are unused; validation blocks are spread
    over the rest (:func:`spread_validation_roles`), with training pixels within ``buffer`` of
    them unused, so no blurred label used for fitting holds the EDS counts of a pixel it is
    judged on (with a buffer of the blur radius, labels up to twice as far still share some
    neighbours' counts).
    """
    rows, cols = shape
    grid_rows, grid_cols = min(block_grid[0], rows), min(block_grid[1], cols)
    block = block_index(shape, (grid_rows, grid_cols))
    n_blocks = grid_rows * grid_cols
    n_test = max(1, int(round(test_fraction * n_blocks)))
    if n_test >= n_blocks:
        raise ValueError(f"a {grid_rows}x{grid_cols} block grid leaves no training block after {n_test} test "
                         "blocks; use a finer block_grid")
    order = np.random.default_rng(seed).permutation(n_blocks)
    role = np.full(shape, TRAIN, dtype=np.int8)
    role[np.isin(block, order[:n_test])] = TEST
    role[_near(role == TEST, buffer) & (role != TEST)] = UNUSED
    available = role == TRAIN
    if available.any():
        role[available] = spread_validation_roles(shape, val_fraction, validation_block, buffer, seed,
                                                  available=available, check=False)[available]
    if not (role == TRAIN).any() or not (role == VALIDATION).any():
        raise ValueError(f"a {buffer}-pixel buffer around the held-out blocks of a {rows}x{cols} scan leaves no "
                         "training or validation pixel; use a coarser block_grid or a larger crop")
    return role


def validation_block_side(block, buffer):
    """Side (pixels) of a training scan's validation blocks: ``block``, or twice the buffer (at
    least 4) so the buffer costs about as many training pixels as validation takes."""
    return block if block else max(4, 2 * buffer)


def spread_validation_roles(shape, val_fraction, block, buffer, seed, available=None, check=True):
    """Roles of a scan only trained on: validation blocks spread over the whole scan.

    The scan is cut into blocks of about ``block`` pixels a side (:func:`validation_block_side`);
    the blocks (those mostly inside ``available``, when given), in serpentine order, form ``n``
    consecutive groups (``n`` = ``val_fraction`` of them, at least one) and one block of each
    group, drawn with ``seed``, is validation. Every part of the scan (and so, on a sample whose
    composition changes across it, every composition) is near some validation block. Training
    pixels within ``buffer`` (Chebyshev) of a validation pixel are unused, as in
    :func:`blocked_roles`.

    Returns:
        (rows, cols) int8 of TRAIN/VALIDATION/UNUSED; outside ``available`` the roles mean nothing.
    Raises:
        ValueError: (with ``check``) the scan is too small to keep training pixels beside a
            buffered block.
    """
    rows, cols = shape
    available = np.ones(shape, dtype=bool) if available is None else available
    side = validation_block_side(block, buffer)
    grid = [max(1, rows // side), max(1, cols // side)]
    if grid[0] * grid[1] == 1:
        grid[int(cols > rows)] = min(2, max(rows, cols))
    blocks = block_index(shape, grid)
    serpentine = np.arange(grid[0] * grid[1]).reshape(grid)
    serpentine[1::2] = serpentine[1::2, ::-1].copy()
    usable = [b for b in serpentine.ravel() if available[blocks == b].mean() >= 0.5]
    n_val = min(len(usable) - 1, max(1, int(round(val_fraction * len(usable)))))
    rng = np.random.default_rng(seed)
    picked = [rng.choice(group) for group in np.array_split(usable, n_val)] if n_val > 0 else []
    role = np.full(shape, TRAIN, dtype=np.int8)
    role[np.isin(blocks, picked) & available] = VALIDATION
    role[_near(role == VALIDATION, buffer) & (role == TRAIN)] = UNUSED
    if check and (not (role == TRAIN).any() or not (role == VALIDATION).any()):
        raise ValueError(f"a {rows}x{cols} training scan cannot hold {side}-pixel validation blocks with a "
                         f"{buffer}-pixel buffer and keep training pixels; set the strategy's validation_block "
                         "or buffer smaller, or crop less")
    return role


def spatial_blocks(index, scan_shapes, grid):
    """Number (0..n-1, in scan then row-major block order) of the spatial block each pixel lies
    in, every scan cut into a ``grid`` x ``grid`` of near-equal blocks.

    Args:
        index: (K, 2) int (scan number, pattern number, row-major) of the pixels.
        scan_shapes: (rows, cols) of each scan, by scan number.
    """
    index = np.asarray(index)
    blocks = np.empty(len(index), dtype=np.int64)
    for number, (rows, cols) in enumerate(scan_shapes):
        mine = index[:, 0] == number
        r, c = np.divmod(index[mine, 1], cols)
        blocks[mine] = (number * grid + r * grid // rows) * grid + c * grid // cols
    return np.unique(blocks, return_inverse=True)[1].reshape(-1)


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


def final_fit_pixels(roles, settings):
    """{scan: (rows, cols) bool}: the pixels a model may be fitted on again once validation has
    chosen its settings (ridge strength, boosting rounds): every labelled pixel of its training
    scans but the test pixels and, where whole blocks are held out, the pixels within the
    strategy's ``buffer`` of them (their blurred labels hold a test pixel's own EDS counts). The
    paper's random split trains beside its test pixels anyway, so there only test pixels are left
    out. With ``train_fraction`` < 1 (the learning curve) that share of them, drawn with
    ``random_state``: the pixels kept at a fraction are kept at every larger one.

    Args:
        roles: {scan: (rows, cols) int8} of the strategy's training scans.
        settings: the strategy's split settings (:func:`edsmaps.plan.split_settings`).
    """
    settings = {**SPLIT_DEFAULTS, **settings}
    buffer = 0 if settings["split"] == "random" else _buffer(settings)
    chosen = {}
    for number, (scan, role) in enumerate(roles.items()):
        allowed = (role != TEST) & ~_near(role == TEST, buffer)
        if settings["train_fraction"] < 1.0:
            candidates = np.flatnonzero(allowed.ravel())
            keep = max(1, int(round(settings["train_fraction"] * len(candidates))))
            allowed = np.zeros(role.shape, dtype=bool)
            picked = np.random.default_rng([settings["random_state"], number]).permutation(candidates)[:keep]
            allowed.ravel()[picked] = True
        chosen[scan] = allowed
    return chosen


def pixel_roles(strategy, scans, scan_shapes, split_seed=42):
    """Role of every pixel: dict scan -> (rows, cols) int8 of UNUSED/TRAIN/VALIDATION/TEST.

    A scan both trained and tested (``single``) is split ``random`` (default) or ``blocked``
    (see :func:`blocked_roles`; ``block_grid``, ``buffer``) with ``test_fraction`` and
    ``validation_fraction``, seeded by ``split_seed`` (the paper's 42). A training-only scan
    gives ``validation_fraction`` of its blocks to validation, spread over it
    (:func:`spread_validation_roles`; ``validation_block``, ``buffer``), drawn with
    (``split_seed``, its position among the training scans). Test scans are test everywhere.
    Validation never touches a test pixel, so early stopping and calibration never see test
    data. ``train_fraction`` < 1 then keeps only that share of the training pixels (the
    learning curve).
    """
    train, test = strategy_scans(strategy, scans)
    settings = {**SPLIT_DEFAULTS, **strategy}
    val_fraction, test_fraction = settings["validation_fraction"], settings["test_fraction"]
    roles = {}
    for scan in train + [s for s in test if s not in train]:
        rows, cols = scan_shapes[scan]
        if scan in train and scan in test:
            if settings["split"] == "blocked":
                role = blocked_roles((rows, cols), test_fraction, val_fraction, settings["block_grid"],
                                     _buffer(settings), split_seed, settings["validation_block"])
            else:
                role = random_roles((rows, cols), test_fraction, val_fraction, split_seed)
        elif scan in train:
            role = spread_validation_roles((rows, cols), val_fraction, settings["validation_block"],
                                           _buffer(settings), [split_seed, train.index(scan)])
        else:
            role = np.full((rows, cols), TEST, dtype=np.int8)
        if scan in train and settings["train_fraction"] < 1.0:
            role = subsample_training(role, settings["train_fraction"], split_seed)
        roles[scan] = role
    return roles


def _buffer(settings):
    if settings["buffer"] is None:
        raise ValueError("the strategy's buffer is unresolved: give it in pixels (plan.split_settings fills in the "
                         "blur radius)")
    return settings["buffer"]


def save_roles(roles, path):
    """Write roles (dict scan -> (rows, cols) int8) to an NPZ keyed by scan id."""
    from .atomic import atomic_output

    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **roles)


def load_roles(path):
    with np.load(path, allow_pickle=False) as npz:
        return {scan: npz[scan] for scan in npz.files}


def write_split(cache_paths, strategy, scans, output_npz):
    """Roles of every pixel of a strategy's scans (:func:`pixel_roles`), written as NPZ.

    Args:
        cache_paths: {scan: cache NPZ} of the strategy's scans (only their scan shapes are read).
        strategy: the strategy's settings (train, test and split settings).
        scans: every labelled scan id, in acquisition order (roles resolve against it).
        output_npz: {scan: (rows, cols) int8 role} (UNUSED, TRAIN, VALIDATION, TEST).
    Returns:
        The roles written.
    """
    shapes = {}
    for scan, path in cache_paths.items():
        with np.load(path, allow_pickle=False) as cache:
            shapes[scan] = tuple(int(v) for v in cache["scan_shape"])
    roles = pixel_roles(strategy, scans, shapes, {**SPLIT_DEFAULTS, **strategy}["random_state"])
    save_roles(roles, output_npz)
    return roles
