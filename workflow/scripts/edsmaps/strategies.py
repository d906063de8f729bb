"""Training/test split strategies: which scans train, which are tested, which pixels do what.

A strategy is data (config), e.g. ``{train: [first], test: [rest], split: random}``. Scans are
named by id or by role: ``first``, ``last``, ``middle`` (all but first and last), ``rest``
(all but the training scans). Every pixel of every scan of a strategy gets a role
(unused, train, validation, test) so metrics score test pixels only and figures can still
show whole maps.
"""

import numpy as np

UNUSED, TRAIN, VALIDATION, TEST = 0, 1, 2, 3
ROLE_NAMES = {UNUSED: "unused", TRAIN: "train", VALIDATION: "validation", TEST: "test"}
SCAN_ROLES = ("first", "last", "middle", "rest")


def resolve_scans(names, scans, training=None):
    """Expand ids and role names into scan ids, keeping acquisition order."""
    chosen = []
    for name in names:
        if name == "first":
            picked = scans[:1]
        elif name == "last":
            picked = scans[-1:]
        elif name == "middle":
            picked = scans[1:-1]
        elif name == "rest":
            if training is None:
                raise ValueError("'rest' can only name test scans")
            picked = [s for s in scans if s not in training]
        elif name in scans:
            picked = [name]
        else:
            raise ValueError(f"strategy names scan '{name}', which is neither in scans {scans} nor one of {SCAN_ROLES}")
        chosen.extend(p for p in picked if p not in chosen)
    return [s for s in scans if s in chosen]


def strategy_scans(strategy, scans):
    """(training scans, test scans) of a strategy config."""
    train = resolve_scans(strategy["train"], scans)
    test = resolve_scans(strategy["test"], scans, training=train)
    if not train:
        raise ValueError(f"strategy {strategy} has no training scan for scans {scans}")
    if not test:
        raise ValueError(f"strategy {strategy} has no test scan for scans {scans}")
    return train, test


def _random_pick(indices, fraction, seed):
    from sklearn.model_selection import train_test_split

    keep, picked = train_test_split(indices, test_size=fraction, random_state=seed)
    return np.sort(keep), np.sort(picked)


def stripe_rows(n_rows, fraction):
    """Last rows of a scan forming a contiguous stripe of ``fraction`` of it (at least one row)."""
    n = max(1, int(round(n_rows * fraction)))
    return np.arange(n_rows - n, n_rows)


def pixel_roles(strategy, scans, scan_shapes, split_seed=42):
    """Role of every pixel: dict scan -> (rows, cols) int8 of UNUSED/TRAIN/VALIDATION/TEST.

    A scan both trained and tested (``single``) is split at random: ``test_fraction`` of its
    pixels are test (``random_state = split_seed``, as the paper's 42), then
    ``validation_fraction`` of the rest is validation. A training-only scan gives a contiguous
    stripe of rows to validation. Test scans are test everywhere. Validation never touches a
    test pixel, so early stopping and calibration never see test data.
    """
    train, test = strategy_scans(strategy, scans)
    val_fraction = strategy.get("validation_fraction", 0.2)
    roles = {}
    for scan in train + [s for s in test if s not in train]:
        rows, cols = scan_shapes[scan]
        role = np.full(rows * cols, UNUSED, dtype=np.int8)
        if scan in train and scan in test:
            fit, test_idx = _random_pick(np.arange(rows * cols), strategy.get("test_fraction", 0.2), split_seed)
            fit_idx, val_idx = _random_pick(fit, val_fraction, split_seed)
            role[fit_idx], role[val_idx], role[test_idx] = TRAIN, VALIDATION, TEST
        elif scan in train:
            role[:] = TRAIN
            role.reshape(rows, cols)[stripe_rows(rows, val_fraction)] = VALIDATION
        else:
            role[:] = TEST
        roles[scan] = role.reshape(rows, cols)
    return roles


def save_roles(roles, path):
    """Write roles (dict scan -> (rows, cols) int8) to an NPZ keyed by scan id."""
    from .atomic import atomic_output

    with atomic_output(path) as tmp:
        with open(tmp, "wb") as fh:
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
