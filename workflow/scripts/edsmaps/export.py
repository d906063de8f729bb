"""Export predicted maps of scans without EDS as MRC and TIFF images a microscope program opens
at their real pixel size, with their uncertainty and a JSON saying what they are."""

from pathlib import Path

import numpy as np

from .atomic import atomic_output, write_json
from .prediction_file import read_prediction
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


def write_maps(maps, output_dir, pixel_size, units):
    """Every map (name -> (rows, cols)) as ``{name}.mrc`` (voxel size in Å) and ``{name}.tif``."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    voxel = voxel_size_angstrom(pixel_size, units)
    for name, image in maps.items():
        write_mrc(output_dir / f"{name}.mrc", np.asarray(image, dtype=np.float32), voxel_size=(voxel, voxel, 1.0))
        write_tiff(output_dir / f"{name}.tif", image, pixel_size, units)
    return list(maps)


def prediction_maps(pred, eds_unit):
    """Calibrated element maps, their uncertainty (``{element}_std``, when the model has one) and
    the HAADF head's map, in ``eds_unit``, from a prediction NPZ's arrays."""
    factor = UNIT_FACTOR[eds_unit]
    elements = [str(e) for e in pred["elements"]]
    maps = {el: pred["predicted_calibrated"][..., i] * factor for i, el in enumerate(elements)}
    if "predicted_std" in pred:
        maps.update({f"{el}_std": pred["predicted_std"][..., i] * factor for i, el in enumerate(elements)})
    if "haadf_predicted_calibrated" in pred:
        maps["HAADF"] = pred["haadf_predicted_calibrated"]
    return maps


def export_predicted_maps(predictions_npz, output_dir, eds_unit):
    """Write the calibrated maps of one prediction (and its uncertainty) as MRC and TIFF.

    Args:
        predictions_npz: a prediction NPZ (:func:`edsmaps.prediction_file.write_prediction`).
        output_dir: folder for ``{element}.mrc`` / ``.tif`` (rows, cols) float32, ``{element}_std.*``
            when the model has an uncertainty, and ``HAADF.*`` when it has a HAADF head.
        eds_unit: 'fraction' or 'percent', as the input EDS maps.
    Returns:
        The names written.
    """
    pred = read_prediction(predictions_npz)
    return write_maps(prediction_maps(pred, eds_unit), output_dir, float(pred["r_pixel_size"]),
                      str(pred["r_pixel_units"]))


def export_recommended_maps(prediction_paths, recommended_tsv, strategy, scan, output_dir, eds_unit):
    """The maps a user takes home: the recommended model of the deployment strategy on one
    predict_only scan, with uncertainty, as MRC and TIFF, and ``maps.json`` saying what they are.

    Args:
        prediction_paths: {model: prediction NPZ of ``scan``} for every model of ``strategy``.
        recommended_tsv: ``recommended.tsv`` (:func:`edsmaps.selection.recommend_models`).
        strategy: the deployment strategy; scan: the scan id.
        output_dir: the folder of maps and ``maps.json``: model, strategy, scan, units, pixel size,
            crop origin in the raw scan, the model's validation MAE per element (the error to expect
            on new scans is the cross-scan strategies' test error for the same kind of model), the
            coverage of its 2-sigma band on validation pixels, and the scan's dose relative to the
            training scans'.
    Returns:
        The metadata written.
    """
    import pandas as pd

    table = pd.read_csv(recommended_tsv, sep="\t", dtype={"strategy": str, "model": str})
    row = table[table["strategy"] == strategy]
    if row.empty:
        raise ValueError(f"{recommended_tsv}: no recommended model for strategy '{strategy}'")
    row = row.iloc[0]
    model = str(row["model"])
    pred = read_prediction(prediction_paths[model])
    elements = [str(e) for e in pred["elements"]]
    factor = UNIT_FACTOR[eds_unit]
    pixel_size, units = float(pred["r_pixel_size"]), str(pred["r_pixel_units"])
    names = write_maps(prediction_maps(pred, eds_unit), output_dir, pixel_size, units)
    coverage = float(row["coverage_2sigma"])
    metadata = {
        "scan": scan,
        "model": model,
        "model_kind": str(row["kind"]),
        "strategy": strategy,
        "chosen_by": "lowest mean validation MAE of every model of the strategy (results/tables/validation.tsv)",
        "units": UNIT_NAMES[eds_unit],
        "maps": {name: [f"{name}.mrc", f"{name}.tif"] for name in names},
        "uncertainty": ("{element}_std: standard deviation of the model's members (bootstrap refits or seeds)"
                        if any(n.endswith("_std") for n in names) else
                        "none: the model has one member (set training.seeds >= 2 for CNN ensembles)"),
        "pixel_size": pixel_size,
        "pixel_units": units,
        "mrc_voxel_size_angstrom": voxel_size_angstrom(pixel_size, units),
        "crop_origin_in_raw_scan": {"row": int(pred["crop_origin"][0]), "col": int(pred["crop_origin"][1])},
        "scan_shape": [int(v) for v in pred["scan_shape"]],
        "validation_mae": {el: float(row[f"mae_{el}"]) * factor for el in elements},
        "validation_pearson_r": {el: float(row[f"pearson_r_{el}"]) for el in elements},
        "validation_coverage_2sigma": None if np.isnan(coverage) else coverage,
        "dose_relative_to_training": float(pred["dose_ratio"]),
    }
    write_json(Path(output_dir) / "maps.json", metadata)
    return metadata
