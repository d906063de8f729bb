"""Gradient-boosted trees (scikit-learn's HistGradientBoostingRegressor), one per element.

The number of boosting rounds of every element is chosen on the validation pixels (the round
after which their error stops falling); test pixels are never seen. A fitted set of trees
travels inside the model's NPZ as pickled bytes, stamped with the scikit-learn version that
wrote it.
"""

import pickle

import numpy as np

MAX_ROUNDS = 300
LEARNING_RATE = 0.05
MAX_LEAF_NODES = 15
MIN_SAMPLES_LEAF = 10


def regressor(rounds, seed):
    from sklearn.ensemble import HistGradientBoostingRegressor

    # early_stopping=False: the rounds are chosen on the validation pixels, never on a random
    # share of the training pixels (sklearn's "auto" turns that on above 10,000 samples).
    return HistGradientBoostingRegressor(max_iter=int(rounds), learning_rate=LEARNING_RATE,
                                         max_leaf_nodes=MAX_LEAF_NODES, min_samples_leaf=MIN_SAMPLES_LEAF,
                                         early_stopping=False, random_state=seed)


def choose_rounds(x_train, y_train, x_val, y_val, seed):
    """(E,) boosting rounds, per element the one with the lowest validation MSE."""
    rounds = []
    for element in range(y_train.shape[1]):
        fit = regressor(MAX_ROUNDS, seed).fit(x_train, y_train[:, element])
        errors = [np.mean((staged - y_val[:, element]) ** 2) for staged in fit.staged_predict(x_val)]
        rounds.append(int(np.argmin(errors)) + 1)
    return np.array(rounds)


def fit_trees(x, y, rounds, seed, sample_weight=None):
    """One regressor per element (column of ``y``), with that element's ``rounds``."""
    return [regressor(r, seed).fit(x, y[:, e], sample_weight=sample_weight) for e, r in enumerate(rounds)]


def predict_trees(trees, x):
    """(n, E) float64 predictions of one set of per-element trees."""
    return np.column_stack([tree.predict(x) for tree in trees])


def block_bootstrap_weights(blocks, n_members, seed):
    """(n,) float64 weights of each of ``n_members`` resamples that draw whole spatial blocks
    (``blocks``: each pixel's block) with replacement."""
    rng = np.random.default_rng(seed)
    n_blocks = int(blocks.max()) + 1
    for drawn in (rng.integers(0, n_blocks, n_blocks) for _ in range(n_members)):
        yield np.bincount(drawn, minlength=n_blocks)[blocks].astype(np.float64)


def bootstrap_trees(x, y, blocks, rounds, n_members, seed):
    """Sets of trees refitted on block-bootstrap resamples, as the ridge baselines' members."""
    return [fit_trees(x, y, rounds, seed, sample_weight=weight)
            for weight in block_bootstrap_weights(blocks, n_members, seed)]


def trees_to_array(trees):
    """Fitted trees as a uint8 array an NPZ holds without pickling the archive itself."""
    return np.frombuffer(pickle.dumps(trees, protocol=pickle.HIGHEST_PROTOCOL), dtype=np.uint8)


def trees_from_array(array, written_by, path="the fitted model"):
    """The trees of :func:`trees_to_array`; a clear error where another scikit-learn wrote them."""
    import sklearn

    if str(written_by) != sklearn.__version__:
        raise ValueError(f"{path}: its trees were fitted with scikit-learn {written_by}, this environment has "
                         f"{sklearn.__version__}; delete it and rerun the workflow to refit them")
    return pickle.loads(np.asarray(array, dtype=np.uint8).tobytes())
