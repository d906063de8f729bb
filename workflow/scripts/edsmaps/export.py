"""Export predicted maps of scans without EDS as MRC and TIFF images a microscope program opens
at their real pixel size, with their uncertainty and a JSON saying what they are."""

from pathlib import Path

import numpy as np

from .atomic import atomic_output, write_json
from .rawio import write_mrc

UNIT_FACTOR = {"fraction": 1.0, "percent": 100.0}
UNIT_NAMES = {"fraction": "atomic fraction", "percent": "at.%"}
ANGSTROM_PER = {"nm": 10.0, "A": 1.0, "Å": 1.0, "Angstrom": 1.0, "pm": 0.01, "um": 1e4, "µm": 1e4}


def voxel_size_angstrom(pixel_size, units):
    """MRC voxel size (Å) of a scan pixel of ``pixel_size`` ``units``; 0 (unknown, as MRC has it)
    for units without a length (``pixels``)."""
    return float(pixel_size) * ANGSTROM_PER[units] if units in ANGSTROM_PER else 0.0


def write_tiff(path, image, pixel_size, units):
    """Write a 2D float32 TIFF atomically, with ImageJ's resolution tags (pixels per ``units``)."""
    import tifffile

    resolution = (1.0 / pixel_size, 1.0 / pixel_size) if units in ANGSTROM_PER else None
    with atomic_output(path) as tmp:
        tifffile.imwrite(tmp, np.ascontiguousarray(image, dtype=np.float32), imagej=True, resolution=resolution,
                         metadata={"unit": units})


def write_maps(maps, output_dir, pixel_size, units, about=()):
    """Every map (name -> (image (rows, cols), what it is)) as ``{name}.mrc`` (voxel size in Å;
    the header's labels say what it is and ``about`` it: model, strategy, scan) and
    ``{name}.tif``. Returns the names written."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    voxel = voxel_size_angstrom(pixel_size, units)
    for name, (image, what) in maps.items():
        write_mrc(output_dir / f"{name}.mrc", np.asarray(image, dtype=np.float32), voxel_size=(voxel, voxel, 1.0),
                  labels=[f"{name}: {what}", *about])
        write_tiff(output_dir / f"{name}.tif", image, pixel_size, units)
    return list(maps)


def prediction_maps(pred, eds_unit, sigma=None):
    """{name: (map, what it is)}: the calibrated element maps, their calibrated uncertainty
    (``{element}_std``, from ``sigma`` (rows, cols, E) when given,
    :func:`edsmaps.intervals.prediction_sigma`), in ``eds_unit``, and the HAADF head's map
    (``HAADF_predicted``: predicted from diffraction, not the scan's measured HAADF), from a
    prediction NPZ's arrays."""
    factor, unit = UNIT_FACTOR[eds_unit], UNIT_NAMES[eds_unit]
    elements = [str(e) for e in pred["elements"]]
    maps = {el: (pred["predicted_calibrated"][..., i] * factor, f"predicted {el}, {unit}")
            for i, el in enumerate(elements)}
    if sigma is not None:
        maps.update({f"{el}_std": (sigma[..., i] * factor, f"calibrated sigma of {el}, {unit}")
                     for i, el in enumerate(elements)})
    if "haadf_predicted_calibrated" in pred:
        maps["HAADF_predicted"] = (pred["haadf_predicted_calibrated"], "HAADF predicted from diffraction, map units")
    return maps


def _sigma(pred, interval_rows):
    from .intervals import prediction_sigma

    return None if interval_rows is None else prediction_sigma(pred, interval_rows)


def export_predicted_maps(predictions_npz, output_dir, eds_unit, intervals_tsv=None, model=None):
    """Write the calibrated maps of one prediction (and its uncertainty) as MRC and TIFF.

    Args:
        predictions_npz: a prediction NPZ (:func:`edsmaps.prediction_file.write_prediction`).
        output_dir: folder for ``{element}.mrc`` / ``.tif`` (rows, cols) float32, ``{element}_std.*``
            the calibrated uncertainty, and ``HAADF.*`` when the model has a HAADF head.
        eds_unit: 'fraction' or 'percent', as the input EDS maps.
        intervals_tsv, model: ``intervals.tsv`` and the (strategy, model) whose calibrated
            uncertainty it holds; no ``_std`` maps without them or for a model it does not rank.
    Returns:
        The names written.
    """
    from .intervals import load_intervals
    from .metrics import load_prediction

    pred = load_prediction(predictions_npz)
    rows = None if intervals_tsv is None else load_intervals(intervals_tsv).get(tuple(model))
    about = [] if model is None else [f"model {model[1]}, strategy {model[0]}"]
    return write_maps(prediction_maps(pred, eds_unit, _sigma(pred, rows)), output_dir,
                      float(pred["r_pixel_size"]), str(pred["r_pixel_units"]), about)


def _ood_maps(ood_npz):
    """The out-of-distribution maps of a scan and what maps.json says of them."""
    with np.load(ood_npz, allow_pickle=False) as ood:
        maps = {"ood": (ood["flagged"].astype(np.float32), "1 where the diffraction is unlike the training pixels'"),
                "ood_distance": (ood["distance"], f"Mahalanobis distance of the radial profile, flagged above "
                                                  f"{float(ood['threshold']):.4g}")}
        summary = {
            "maps": {"ood": ["ood.mrc", "ood.tif"], "ood_distance": ["ood_distance.mrc", "ood_distance.tif"]},
            "share_flagged": float(ood["share_flagged"]),
            "threshold": float(ood["threshold"]),
            "validation_share_flagged": float(ood["validation_share_flagged"]),
            "method": ("ood = 1 where the pattern's radial profile lies farther from the training pixels' "
                       "(Mahalanobis distance, ood_distance) than all but "
                       f"{100 * float(ood['alpha']):g} % of the validation pixels'; predictions there are "
                       "extrapolations"),
        }
    return maps, summary


def training_eds_range(prediction_paths, factor):
    """{element: [min, max]} of the blurred EDS labels of the training scans' predictions, times
    ``factor`` (the unit): the compositions the models learned from."""
    from .metrics import load_prediction

    ranges = {}
    for path in prediction_paths:
        pred = load_prediction(path)
        for i, element in enumerate(pred["elements"]):
            labels = pred["eds_blurred"][..., i]
            low, high = float(np.nanmin(labels)) * factor, float(np.nanmax(labels)) * factor
            old = ranges.get(element, [low, high])
            ranges[element] = [min(old[0], low), max(old[1], high)]
    return ranges


def export_recommended_maps(prediction_npz, recommended_tsv, intervals_tsv, ood_npz, strategy, scan, output_dir,
                            eds_unit, training_predictions=()):
    """The maps a user takes home: the recommended maps of the deployment strategy (the average
    of the models its ranking ties, :func:`edsmaps.selection.rank_strategy`) of one predict_only
    scan, with their calibrated uncertainty and the out-of-distribution mask, as MRC and TIFF,
    and ``maps.json`` saying what they are.

    Args:
        prediction_npz: the recommended prediction of ``scan`` (``results/predictions/{strategy}/
            recommended/{scan}.npz``).
        recommended_tsv: ``recommended.tsv`` (:func:`edsmaps.selection.recommend_models`).
        intervals_tsv: ``intervals.tsv``, the calibrated uncertainty of every model.
        ood_npz: the scan's out-of-distribution map (:func:`edsmaps.ood.ood_map`).
        strategy: the deployment strategy; scan: the scan id.
        output_dir: the folder of maps and ``maps.json``: the models averaged and strategy, how
            they were chosen (and whether it was a tie), units, pixel size, crop origin in the raw
            scan, validation MAE per element (judged on the pixels that chose the models, and
            nested: each block judged by the models chosen on the others), the uncertainty's
            nominal and validated coverage, the share of out-of-distribution pixels, which
            elements are dead (the constant), the range of the training scans' EDS, and the scan's
            dose relative to the training scans'.
        training_predictions: the recommended predictions of the strategy's training scans
            (their blurred EDS gives ``training_eds_range``).
    Returns:
        The metadata written.
    """
    import pandas as pd

    from .intervals import load_intervals
    from .metrics import load_prediction
    from .plan import RECOMMENDED

    table = pd.read_csv(recommended_tsv, sep="\t", dtype={"strategy": str, "members": str})
    row = table[table["strategy"] == strategy]
    if row.empty:
        raise ValueError(f"{recommended_tsv}: no recommended model for strategy '{strategy}'")
    row = row.iloc[0]
    members = str(row["members"]).split(",")
    pred = load_prediction(prediction_npz)
    elements = pred["elements"]
    factor = UNIT_FACTOR[eds_unit]
    pixel_size, units = float(pred["r_pixel_size"]), str(pred["r_pixel_units"])
    bands = load_intervals(intervals_tsv)[(strategy, RECOMMENDED)]
    maps = prediction_maps(pred, eds_unit, _sigma(pred, bands))
    ood_maps, ood_summary = _ood_maps(ood_npz)
    model = members[0] if len(members) == 1 else "average of " + ", ".join(members)
    names = write_maps({**maps, **ood_maps}, output_dir, pixel_size, units,
                       [f"model {model}"[:80], f"strategy {strategy}, scan {scan}"])
    dead = pred.get("dead", np.zeros(len(elements), dtype=bool))
    metadata = {
        "scan": scan,
        "model": model,
        "model_kind": str(row["kind"]),
        "members": members,
        "strategy": strategy,
        "chosen_by": ("the average of the models whose mean validation MAE is within one standard error of the "
                      "lowest (paired errors over spatial blocks; results/tables/validation.tsv)"),
        "choice": {"best_model": str(row["best_model"]), "tie": bool(row["tie"]),
                   "margin_mae": float(row["margin_mae"]) * factor, "margin_se": float(row["margin_se"]) * factor},
        "units": UNIT_NAMES[eds_unit],
        "maps": {name: [f"{name}.mrc", f"{name}.tif"] for name in names},
        "uncertainty": {
            "maps": {el: f"{el}_std" for el in elements},
            "sigma": ("calibrated standard deviation: the members' spread (or one width per element for a model "
                      "with one member) scaled by split conformal prediction so that +-2 sigma holds the nominal "
                      "coverage of the validation pixels' errors (results/tables/intervals.tsv)"),
            "nominal_coverage": float(bands[0]["nominal_coverage"]),
            "validated_coverage": {str(b["element"]): float(b["validated_coverage"]) for b in bands},
        },
        "out_of_distribution": ood_summary,
        "pixel_size": pixel_size,
        "pixel_units": units,
        "mrc_voxel_size_angstrom": voxel_size_angstrom(pixel_size, units),
        "crop_origin_in_raw_scan": {"row": int(pred["crop_origin"][0]), "col": int(pred["crop_origin"][1])},
        "scan_shape": [int(v) for v in pred["scan_shape"]],
        "validation_mae": {el: float(row[f"mae_{el}"]) * factor for el in elements},
        "validation_mae_nested": {el: float(row[f"mae_{el}_nested"]) * factor for el in elements},
        "validation_pearson_r": {el: float(row[f"pearson_r_{el}"]) for el in elements},
        "dead": {el: bool(d) for el, d in zip(elements, dead)},
        "training_eds_range": training_eds_range(training_predictions, factor),
        "dose_relative_to_training": float(pred["dose_ratio"]),
    }
    return write_json(Path(output_dir) / "maps.json", metadata)
