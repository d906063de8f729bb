"""The regressors a baseline model kind fits on its features, one family each, written once for
every kind. Each chooses its one setting on the validation pixels (or takes it from an earlier
fit), refits ``members`` times on block-bootstrap resamples of its pixels (their spread is the
prediction's uncertainty), and keeps its fitted state as NPZ arrays:

- :data:`RIDGE`: ridge regression on features standardised on the pixels it is fitted on, the
  strength chosen on validation; without features, the mean of the targets (no strength to choose);
- :data:`TREES`: gradient-boosted trees per element (:mod:`edsmaps.boosting`), the rounds chosen
  on validation.
"""

import numpy as np

RIDGE_ALPHAS = np.logspace(-3, 4, 15)


def fit_ridge(x_train, y_train, x_val, y_val, alphas):
    """Standardise on training rows; pick the ridge alpha with the lowest validation MSE.

    Returns dict of feature mean/scale, coef (E, d), intercept (E,), alpha.
    """
    from sklearn.linear_model import Ridge

    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    scale[scale == 0] = 1
    zt, zv = (x_train - mean) / scale, (x_val - mean) / scale
    best = None
    for alpha in alphas:
        fit = Ridge(alpha=alpha).fit(zt, y_train)
        mse = float(np.mean((fit.predict(zv) - y_val) ** 2))
        if best is None or mse < best[0]:
            best = (mse, alpha, fit)
    _, alpha, fit = best
    return {"feature_mean": mean, "feature_scale": scale, "coef": np.atleast_2d(fit.coef_).astype(np.float64),
            "intercept": np.atleast_1d(fit.intercept_).astype(np.float64), "alpha": float(alpha)}


def fit_mean(y_train):
    """:func:`fit_ridge`'s arrays of a fit without features: the training mean, alpha 0."""
    return {"feature_mean": np.zeros(0), "feature_scale": np.ones(0), "coef": np.zeros((y_train.shape[1], 0)),
            "intercept": y_train.astype(np.float64).mean(axis=0), "alpha": 0.0}


def bootstrap_members(z, y, blocks, alpha, n_members, seed):
    """Ridge fits (at ``alpha``; a mean without features) on block-bootstrap resamples.

    Args:
        z: (n, d) standardised training features; y: (n, E) targets.
        blocks: (n,) spatial block of each training pixel; whole blocks are drawn with replacement.
        n_members: resamples; seed: their draw.
    Returns:
        dict ``member_coef`` (K, E, d) and ``member_intercept`` (K, E).
    """
    from sklearn.linear_model import Ridge

    from .boosting import block_bootstrap_weights

    if n_members == 0:
        return {"member_coef": np.zeros((0, y.shape[1], z.shape[1])), "member_intercept": np.zeros((0, y.shape[1]))}
    coefs, intercepts = [], []
    for weight in block_bootstrap_weights(blocks, n_members, seed):
        if z.shape[1] == 0:
            coefs.append(np.zeros((y.shape[1], 0)))
            intercepts.append(np.average(y, axis=0, weights=weight))
        else:
            fit = Ridge(alpha=alpha).fit(z, y, sample_weight=weight)
            coefs.append(np.atleast_2d(fit.coef_))
            intercepts.append(np.atleast_1d(fit.intercept_))
    return {"member_coef": np.stack(coefs), "member_intercept": np.stack(intercepts)}


class RidgeRegression:
    """Ridge regression, its strength chosen on validation; the mean where there are no features."""

    def provenance(self):
        """Arrays saved once beside the fitted state, saying what can read it: none."""
        return {}

    def fit(self, feats, fit, val, blocks, members, seed, chosen=None):
        """The fitted arrays on the pixels ``fit`` (``feats(pixels)``: their (n, d) features) and
        ``members`` bootstrap refits drawn by ``blocks`` and ``seed``; the strength is chosen on
        ``val``, or taken from an earlier fit's arrays ``chosen``."""
        x = feats(fit)
        if x.shape[1] == 0:
            model = fit_mean(fit.eds)
        else:
            alphas = [float(chosen["alpha"])] if chosen else RIDGE_ALPHAS
            model = fit_ridge(x, fit.eds, feats(val), val.eds, alphas)
        z = (x - model["feature_mean"]) / model["feature_scale"]
        return {**model, **bootstrap_members(z, fit.eds, blocks, model["alpha"], members, seed)}

    def predict(self, params, x):
        """Prediction (N, E) and the members' predictions (K, N, E), float64, of (N, d) float64 features."""
        z = (x - params["feature_mean"]) / params["feature_scale"]
        members = np.einsum("nd,ked->kne", z, params["member_coef"]) + params["member_intercept"][:, None, :]
        return z @ params["coef"].T + params["intercept"], members


class BoostedTrees:
    """Gradient-boosted trees per element, the rounds chosen on validation (:mod:`edsmaps.boosting`)."""

    def provenance(self):
        """The scikit-learn version that pickles the trees: another one refuses to read them."""
        import sklearn

        return {"sklearn_version": np.array(sklearn.__version__)}

    def fit(self, feats, fit, val, blocks, members, seed, chosen=None):
        """As :meth:`RidgeRegression.fit`, with the rounds of each element for the strength."""
        from .boosting import bootstrap_trees, choose_rounds, fit_trees, trees_to_array

        x = feats(fit)
        rounds = chosen["rounds"] if chosen else choose_rounds(x, fit.eds, feats(val), val.eds, seed)
        return {"rounds": rounds, "trees": trees_to_array(fit_trees(x, fit.eds, rounds, seed)),
                "member_trees": trees_to_array(bootstrap_trees(x, fit.eds, blocks, rounds, members, seed))}

    def predict(self, params, x):
        """As :meth:`RidgeRegression.predict`."""
        from .boosting import predict_trees, trees_from_array

        trees = trees_from_array(params["trees"], params["sklearn_version"])
        predicted = predict_trees(trees, x)
        members = [predict_trees(member, x) for member in trees_from_array(params["member_trees"],
                                                                          params["sklearn_version"])]
        return predicted, np.stack(members) if members else np.zeros((0, *predicted.shape))


RIDGE = RidgeRegression()
TREES = BoostedTrees()
