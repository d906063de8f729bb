"""Export predicted maps of scans without EDS as calibrated MRC and TIFF element maps."""

import numpy as np

from .atomic import atomic_output
from .rawio import write_mrc

UNIT_FACTOR = {"fraction": 1.0, "percent": 100.0}


def write_tiff(path, image):
    """Write a 2D float32 TIFF atomically."""
    import tifffile

    with atomic_output(path) as tmp:
        tifffile.imwrite(tmp, np.ascontiguousarray(image, dtype=np.float32))


def export_predicted_maps(predictions_npz, output_dir, eds_unit):
    """Write the calibrated maps of one prediction as MRC and TIFF.

    Args:
        predictions_npz: a prediction NPZ (:func:`edsmaps.prediction.predict_scan`).
        output_dir: folder for ``{element}.mrc`` and ``{element}.tif``, (rows, cols) float32, plus
            ``HAADF.*`` when the model has a HAADF head.
        eds_unit: 'fraction' or 'percent', as the input EDS maps.
    Returns:
        The names written (elements, then HAADF).
    """
    from pathlib import Path

    with np.load(predictions_npz, allow_pickle=False) as pred:
        elements = [str(e) for e in pred["elements"]]
        maps = {el: pred["predicted_calibrated"][..., i] * UNIT_FACTOR[eds_unit] for i, el in enumerate(elements)}
        if "haadf_predicted_calibrated" in pred.files:
            maps["HAADF"] = pred["haadf_predicted_calibrated"]
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, image in maps.items():
        write_mrc(output_dir / f"{name}.mrc", image.astype(np.float32))
        write_tiff(output_dir / f"{name}.tif", image)
    return list(maps)
