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

from . import layout
from .layout import TEST, TRAIN, UNUSED, VALIDATION  # noqa: F401 - the role codes
from .plan import SCAN_ROLES, SPLIT_DEFAULTS, resolve_scans, strategy_scans  # noqa: F401 - the strategy API

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


def near(mask, buffer):
    """Pixels within Chebyshev distance ``buffer`` of ``mask`` (the support of a square kernel)."""
    from scipy.ndimage import binary_dilation

    if buffer == 0:
        return mask.copy()
    return binary_dilation(mask, structure=np.ones((2 * buffer + 1,) * 2, dtype=bool))


def _as_array(roles, shape):
    return np.frombuffer(bytes(roles), dtype=np.int8).reshape(shape).copy()


def label_coverage(roles, labels):
    """(E,) per element, the share of the TRAIN pixels whose label lies within the range of the
    VALIDATION pixels' labels (0 without either): how much of what training sees validation
    judges. ``labels``: (rows, cols, E), or a list of such arrays of several scans (pooled);
    ``roles``: (rows, cols), shared by the scans, or a list with each scan's."""
    stack = [labels] if isinstance(labels, np.ndarray) else list(labels)
    layouts = roles if isinstance(roles, list) else [roles] * len(stack)
    fitted = np.concatenate([scan[role == TRAIN] for scan, role in zip(stack, layouts)])
    held = np.concatenate([scan[role == VALIDATION] for scan, role in zip(stack, layouts)])
    if not len(fitted) or not len(held):
        return np.zeros(stack[0].shape[-1])
    return ((fitted >= held.min(axis=0)) & (fitted <= held.max(axis=0))).mean(axis=0)


def _choose_layout(layouts, shape, labels, where):
    """The candidate validation layout to keep: the first drawn without labels; with labels
    ((rows, cols, E), or a list of them for scans that share the layout) the one whose
    validation labels cover the most of training's (highest smallest :func:`label_coverage`
    over the elements, then highest mean, then first drawn). Candidates without a training or a
    validation pixel are skipped.

    Raises:
        ValueError: no candidate keeps both (``where`` says which scan and split).
    """
    roles = [_as_array(candidate, shape) for candidate in layouts]
    usable = [r for r in roles if (r == TRAIN).any() and (r == VALIDATION).any()]
    if not usable:
        raise ValueError(f"{where} leaves no training or no validation pixel; the workflow's plan names a fix")
    if labels is None or (isinstance(labels, list) and not labels):
        return usable[0]
    coverage = [label_coverage(r, labels) for r in usable]
    best = max(range(len(usable)), key=lambda i: (coverage[i].min(), coverage[i].mean(), -i))
    return usable[best]


def blocked_roles(shape, test_fraction, val_fraction, block_grid, buffer, seed, validation_block=None, labels=None):
    """Hold out whole blocks: the scan is cut into a ``block_grid`` (rows, cols) of blocks and
    ``test_fraction`` of them (at least one), drawn with ``seed``, are test. Pixels within
    ``buffer`` (Chebyshev distance) of a test pixel are unused; validation blocks are spread
    over the rest (:func:`spread_validation_roles`), with training pixels within ``buffer`` of
    them unused, so no blurred label used for fitting holds the EDS counts of a pixel it is
    judged on (with a buffer of the blur radius, labels up to twice as far still share some
    neighbours' counts). ``labels`` (rows, cols, E) choose among validation layouts; the test
    pixels' labels are never looked at.
    """
    held_out = layout.test_layout(shape, layout.held_out_blocks(shape, block_grid, test_fraction, seed), buffer)
    return spread_validation_roles(shape, val_fraction, validation_block, buffer, seed, labels, held_out)


def spread_validation_roles(shape, val_fraction, block, buffer, seed, labels=None, roles=None):
    """Validation blocks spread over the TRAIN pixels of a scan (every pixel of a scan only
    trained on, or those of ``roles``, a layout with test blocks), with the training pixels
    within ``buffer`` (Chebyshev) of a validation pixel unused.

    The scan is cut into blocks of :func:`edsmaps.layout.validation_side` pixels; in serpentine
    order they form ``val_fraction`` x their number of groups, and one block of each group is
    validation, so every part of the scan is near a validation block
    (:func:`edsmaps.layout.validation_layouts`). Of several such draws (seeded by ``seed`` and
    the draw) the one whose validation labels cover the most of the training labels' range,
    element by element, is kept (``labels`` (rows, cols, E); without them the first draw): on
    a sample whose composition changes across the scan, validation then judges every
    composition training sees.

    Returns:
        (rows, cols) int8 of TRAIN/VALIDATION/UNUSED (and TEST where ``roles`` has it).
    Raises:
        ValueError: no draw keeps a training and a validation pixel.
    """
    start = bytearray([TRAIN]) * (shape[0] * shape[1]) if roles is None else roles
    side = layout.validation_side(shape, block, buffer)
    candidates = layout.validation_layouts(shape, start, val_fraction, side, buffer, seed)
    where = f"a {shape[0]}x{shape[1]} scan with {side}-pixel validation blocks and a {buffer}-pixel buffer"
    return _choose_layout(candidates, shape, labels, where)


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


def spatial_folds(index, scan_shapes, n_folds=5, grid=4):
    """Fold number of each pixel from the spatial block it lies in, so neighbouring pixels (whose
    blurred labels share EDS counts) are never split between fitting and judging.

    Args:
        index: (K, 2) int (scan number, pattern number, row-major) of the pixels.
        scan_shapes: (rows, cols) of each scan, by scan number.
    Returns:
        (K,) int fold numbers in 0..n_folds-1 (fewer when there are fewer blocks).
    """
    blocks = spatial_blocks(index, scan_shapes, grid)
    return blocks % min(n_folds, int(blocks.max(initial=-1)) + 1)


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
        allowed = (role != TEST) & ~near(role == TEST, buffer)
        if settings["train_fraction"] < 1.0:
            candidates = np.flatnonzero(allowed.ravel())
            keep = max(1, int(round(settings["train_fraction"] * len(candidates))))
            allowed = np.zeros(role.shape, dtype=bool)
            picked = np.random.default_rng([settings["random_state"], number]).permutation(candidates)[:keep]
            allowed.ravel()[picked] = True
        chosen[scan] = allowed
    return chosen


def fit_pixels(caches, roles, refit):
    """The labelled pixels (:class:`edsmaps.cacheset.LabelledPixels`) of a strategy's training
    caches a model is finally fitted on: with ``refit`` (the strategy's split settings) those of
    :func:`final_fit_pixels`, else the TRAIN pixels."""
    if refit is None:
        return caches.pixels(roles, [TRAIN])
    allowed = final_fit_pixels({scan: roles[scan] for scan in caches.scans}, refit)
    return caches.pixels({scan: np.where(allowed[scan], TRAIN, UNUSED) for scan in caches.scans}, [TRAIN])


def pixel_roles(strategy, scans, scan_shapes, split_seed=42, labels=None):
    """Role of every pixel: dict scan -> (rows, cols) int8 of UNUSED/TRAIN/VALIDATION/TEST.

    A scan both trained and tested (``single``) is split ``random`` (default) or ``blocked``
    (see :func:`blocked_roles`; ``block_grid``, ``buffer``) with ``test_fraction`` and
    ``validation_fraction``, seeded by ``split_seed`` (the paper's 42). The scans only trained
    on give ``validation_fraction`` of their blocks to validation, spread over them
    (:func:`spread_validation_roles`; ``validation_block``, ``buffer``), the same blocks in
    every such scan of one size: a series scans one area again and again, and a location held out
    in one scan but trained on in another would be judged by a model that has seen it. ``labels``
    ({scan: (rows, cols, E) blurred EDS} of the training scans) choose, of the validation layouts
    drawn, the one whose labels cover training's. Test scans are test everywhere. Validation never
    touches a test pixel, so early stopping and calibration never see test data.
    ``train_fraction`` < 1 then keeps only that share of the training pixels (the learning curve).
    """
    train, test = strategy_scans(strategy, scans)
    settings = {**SPLIT_DEFAULTS, **strategy}
    val_fraction, test_fraction = settings["validation_fraction"], settings["test_fraction"]
    labels = labels or {}
    roles = {}
    only_trained = [s for s in train if s not in test]
    for shape in dict.fromkeys(tuple(scan_shapes[s]) for s in only_trained):
        alike = [s for s in only_trained if tuple(scan_shapes[s]) == shape]
        role = spread_validation_roles(shape, val_fraction, settings["validation_block"], _buffer(settings),
                                       layout.scan_seed(split_seed, 0), [labels[s] for s in alike if s in labels])
        roles.update({s: role.copy() for s in alike})
    for scan in train + [s for s in test if s not in train]:
        shape = tuple(scan_shapes[scan])
        if scan in train and scan in test:
            if settings["split"] == "blocked":
                role = blocked_roles(shape, test_fraction, val_fraction, settings["block_grid"], _buffer(settings),
                                     split_seed, settings["validation_block"], labels.get(scan))
            else:
                role = random_roles(shape, test_fraction, val_fraction, split_seed)
        elif scan in train:
            role = roles[scan]
        else:
            role = np.full(shape, TEST, dtype=np.int8)
        if scan in train and settings["train_fraction"] < 1.0:
            role = subsample_training(role, settings["train_fraction"], split_seed)
        roles[scan] = role
    return {scan: roles[scan] for scan in train + [s for s in test if s not in train]}


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
    """Roles of every pixel of a strategy's scans (:func:`pixel_roles`), written as NPZ; the log
    says, per training scan, how well its validation labels cover its training labels.

    Args:
        cache_paths: {scan: cache NPZ} of the strategy's scans (their scan shapes, and the
            training scans' blurred EDS, which choose among validation layouts).
        strategy: the strategy's settings (train, test and split settings).
        scans: every labelled scan id, in acquisition order (roles resolve against it).
        output_npz: {scan: (rows, cols) int8 role} (UNUSED, TRAIN, VALIDATION, TEST).
    Returns:
        The roles written.
    """
    import logging

    train, _ = strategy_scans(strategy, scans)
    shapes, labels, elements = {}, {}, []
    for scan, path in cache_paths.items():
        with np.load(path, allow_pickle=False) as cache:
            shapes[scan] = tuple(int(v) for v in cache["scan_shape"])
            if scan in train:
                labels[scan] = cache["targets"].reshape(*shapes[scan], -1)
                elements = [str(e) for e in cache["elements"]]
    roles = pixel_roles(strategy, scans, shapes, {**SPLIT_DEFAULTS, **strategy}["random_state"], labels)
    log = logging.getLogger(__name__)
    for scan in train:
        coverage = label_coverage(roles[scan], labels[scan])
        log.info("%s: %d training, %d validation pixels; its validation labels cover %s of its training labels",
                 scan, (roles[scan] == TRAIN).sum(), (roles[scan] == VALIDATION).sum(),
                 ", ".join(f"{e} {c:.2f}" for e, c in zip(elements, coverage)))
    pooled = label_coverage([roles[s] for s in train], [labels[s] for s in train])
    log.info("all training scans: validation labels cover %s of the training labels",
             ", ".join(f"{e} {c:.2f}" for e, c in zip(elements, pooled)))
    save_roles(roles, output_npz)
    return roles
