"""Several models as one: replicates of one CNN (an ensemble, their spread its uncertainty), and
the models a strategy's ranking cannot tell apart (the recommended average)."""

import numpy as np

from .atomic import atomic_output
from .prediction_file import read_prediction

# Maps averaged over the members (a mean of possible compositions is a possible composition).
AVERAGED = ("predicted", "predicted_calibrated", "predicted_other", "predicted_other_calibrated", "haadf_predicted",
            "haadf_predicted_calibrated")


def member_spread(members):
    """Standard deviation over the members (axis 0) of (K, ...) predictions: zero when they
    agree, growing with their disagreement."""
    return np.asarray(members, dtype=np.float64).std(axis=0).astype(np.float32)


def ensemble_prediction(member_paths, output_npz):
    """Average the prediction NPZs of one scan by several models into one prediction NPZ.

    Args:
        member_paths: prediction NPZs (:func:`edsmaps.prediction_file.write_prediction`) of the
            same scan, strategy and split by the ensemble's members.
        output_npz: the ensemble's prediction: the members' mean of every predicted map,
            ``predicted_std`` the spread (:func:`member_spread`) of their calibrated maps, and
            per output the members' calibration choices joined by "/" where they differ.
    Raises:
        ValueError: fewer than two members, or members of different scans or splits.
    """
    if len(member_paths) < 2:
        raise ValueError(f"an ensemble needs at least two members, got {list(member_paths)}")
    members = [read_prediction(path) for path in member_paths]
    first = members[0]
    for path, member in zip(member_paths[1:], members[1:]):
        if not (np.array_equal(member["role"], first["role"]) and np.array_equal(member["elements"],
                                                                                 first["elements"])):
            raise ValueError(f"{path}: its scan, elements or split differ from {member_paths[0]}'s")
    out = dict(first)
    for key in AVERAGED:
        if key in first:
            out[key] = np.mean([m[key] for m in members], axis=0, dtype=np.float64).astype(np.float32)
    out["predicted_std"] = member_spread([m["predicted_calibrated"] for m in members])
    if "calibration_choice" in first:
        choices = np.stack([m["calibration_choice"] for m in members])
        out["calibration_choice"] = np.array(["/".join(dict.fromkeys(str(c) for c in column))
                                              for column in choices.T])
    with atomic_output(output_npz) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **out)
    return out


def combined_spread(means, spreads):
    """The spread of an average of models: sqrt(mean over the models of their members' variance
    (0 for a model without members) + the variance between the models' maps). ``means``:
    (K, ...) maps; ``spreads``: K maps or None each. None for one model without members."""
    means = np.asarray(means, dtype=np.float64)
    if len(means) == 1 and spreads[0] is None:
        return None
    within = np.mean([np.zeros(means.shape[1:]) if s is None else np.asarray(s, np.float64) ** 2 for s in spreads],
                     axis=0)
    return np.sqrt(within + means.var(axis=0)).astype(np.float32)


def average_models(member_paths, output_npz):
    """The average of the prediction NPZs of one scan by several models of one strategy (any
    kinds), as a prediction NPZ: the mean of every map they all have, ``predicted_std`` their
    :func:`combined_spread`, and ``dead`` (E,) True for an element every member predicts as a
    constant (a dead CNN output or the constant baseline). One member: its maps as they are.
    Returns the arrays written."""
    members = [read_prediction(path) for path in member_paths]
    first = members[0]
    out = {key: first[key] for key in ("elements", "scan_shape", "crop_origin", "r_pixel_size", "r_pixel_units",
                                        "role", "dose_ratio", "eds_blurred", "eds_unblurred", "haadf")}
    out["n_fit_pixels"] = np.int64(max(int(m["n_fit_pixels"]) for m in members))
    for key in AVERAGED:
        if all(key in m for m in members):
            out[key] = np.mean([m[key] for m in members], axis=0, dtype=np.float64).astype(np.float32)
    spread = combined_spread([m["predicted_calibrated"] for m in members], [m.get("predicted_std") for m in members])
    if spread is not None:
        out["predicted_std"] = spread
    constant = [np.ptp(m["predicted_calibrated"].reshape(-1, len(first["elements"])), axis=0) == 0 for m in members]
    out["dead"] = np.all(constant, axis=0)
    with atomic_output(output_npz) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **out)
    return out
