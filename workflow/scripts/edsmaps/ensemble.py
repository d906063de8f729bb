"""Several trained models of one kind as one: their mean prediction and, as its uncertainty,
their spread."""

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
