import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from edsmaps.strategies import TEST, TRAIN, UNUSED, VALIDATION, pixel_roles, resolve_scans, strategy_scans

SCANS = ["0033", "0034", "0035", "0036", "0037", "0038"]
SHAPES = {s: (36, 24) for s in SCANS}


def test_roles_name_scans_for_any_scan_list():
    assert strategy_scans({"train": ["first"], "test": ["rest"]}, SCANS) == (["0033"], SCANS[1:])
    assert strategy_scans({"train": ["first", "last"], "test": ["middle"]}, SCANS) == (
        ["0033", "0038"],
        ["0034", "0035", "0036", "0037"],
    )
    assert strategy_scans({"train": ["first", "last"], "test": ["middle"]}, ["a", "b", "c"]) == (["a", "c"], ["b"])
    assert resolve_scans(["0035", "first"], SCANS) == ["0033", "0035"]


def test_unknown_scan_is_refused():
    with pytest.raises(ValueError, match="scan '0039'"):
        strategy_scans({"train": ["0039"], "test": ["rest"]}, SCANS)
    with pytest.raises(ValueError, match="no test scan"):
        strategy_scans({"train": ["first"], "test": ["middle"]}, ["a"])


def test_single_split_is_the_papers_random_split_and_disjoint():
    roles = pixel_roles({"train": ["first"], "test": ["first"]}, SCANS, SHAPES)
    assert list(roles) == ["0033"]
    role = roles["0033"].ravel()
    n = role.size
    assert (role == TEST).sum() == int(np.ceil(0.2 * n))
    _, expected_test = train_test_split(np.arange(n), test_size=0.2, random_state=42)
    np.testing.assert_array_equal(np.flatnonzero(role == TEST), np.sort(expected_test))
    assert (role == VALIDATION).sum() > 0 and (role == TRAIN).sum() > 0
    assert not (role == UNUSED).any()  # each pixel has exactly one role


def test_cross_scan_validation_is_a_stripe_of_the_training_scans():
    roles = pixel_roles({"train": ["first", "last"], "test": ["middle"]}, SCANS, SHAPES)
    assert set(roles) == set(SCANS)
    for scan in ["0033", "0038"]:
        role = roles[scan]
        val_rows = np.flatnonzero((role == VALIDATION).all(axis=1))
        assert len(val_rows) == round(0.2 * 36)
        np.testing.assert_array_equal(val_rows, np.arange(36 - len(val_rows), 36))
        assert set(np.unique(role)) == {TRAIN, VALIDATION}
    for scan in ["0034", "0035", "0036", "0037"]:
        assert (roles[scan] == TEST).all()


def chebyshev_distance(a, b):
    """Smallest Chebyshev distance between pixels of masks ``a`` and ``b``."""
    pa, pb = np.argwhere(a), np.argwhere(b)
    return np.abs(pa[:, None, :] - pb[None, :, :]).max(axis=2).min()


@pytest.mark.parametrize("buffer", [0, 1, 3])
@pytest.mark.parametrize("seed", [0, 42, 7])
def test_blocked_split_keeps_a_buffer_between_test_and_fitted_pixels(buffer, seed):
    strategy = {"train": ["first"], "test": ["first"], "split": "blocked", "block_grid": [4, 3], "buffer": buffer}
    role = pixel_roles(strategy, SCANS, SHAPES, split_seed=seed)["0033"]
    test, fitted = role == TEST, np.isin(role, [TRAIN, VALIDATION])
    assert test.any() and (role == TRAIN).any() and (role == VALIDATION).any()
    assert chebyshev_distance(test, fitted) > buffer
    assert chebyshev_distance(role == VALIDATION, role == TRAIN) > buffer
    # whole 9 x 8 blocks are held out: 20 % of 12 blocks
    assert test.sum() == 2 * 9 * 8
    if buffer == 0:
        assert not (role == UNUSED).any()


def test_blocked_split_refuses_a_buffer_that_leaves_nothing_to_train_on():
    strategy = {"train": ["first"], "test": ["first"], "split": "blocked", "block_grid": [2, 2], "buffer": 10}
    with pytest.raises(ValueError, match="buffer"):
        pixel_roles(strategy, SCANS, {"0033": (12, 9)})


def test_training_subsets_are_nested_and_leave_test_and_validation_alone():
    base = {"train": ["first"], "test": ["first"], "split": "blocked", "block_grid": [4, 3], "buffer": 3}
    full = pixel_roles(base, SCANS, SHAPES)["0033"]
    kept = {f: pixel_roles({**base, "train_fraction": f}, SCANS, SHAPES)["0033"] for f in (0.1, 0.5)}
    n_train = (full == TRAIN).sum()
    for fraction, role in kept.items():
        assert (role == TRAIN).sum() == round(fraction * n_train)
        np.testing.assert_array_equal(role == TEST, full == TEST)
        np.testing.assert_array_equal(role == VALIDATION, full == VALIDATION)
    assert not ((kept[0.1] == TRAIN) & (kept[0.5] != TRAIN)).any()
