"""Checks of the raw maps that need NumPy, run as a cheap job per scan before its conversion:
every EDS and HAADF map readable, of the scan's shape, finite, and EDS values in the declared unit."""


import numpy as np

from .atomic import write_json
from .rawio import InputDataError, read_map

# Per-pixel sum over the elements at or below which maps declared at.% are really fractions;
# a sum, not one element: a trace element alone may stay below 1 at.% everywhere.
PERCENT_SUM_FLOOR = 1.5


def eds_unit_problem(maps, eds_unit, where):
    """Why ``maps`` ({element: (rows, cols)} as stored) do not look like ``eds_unit``, or None."""
    total = np.sum([m.astype(np.float64) for m in maps.values()], axis=0)
    largest = {el: float(m.max()) for el, m in maps.items()}
    if eds_unit == "percent" and total.max() <= PERCENT_SUM_FLOOR:
        return (f"{where}: data.eds_unit is percent, but the elements' maps sum to at most {total.max():.3g} per "
                "pixel: they hold atomic fractions (0-1). Set data.eds_unit: fraction.")
    if eds_unit == "fraction" and max(largest.values()) > 1.0 + 1e-6:
        over = {el: round(v, 3) for el, v in largest.items() if v > 1.0 + 1e-6}
        return (f"{where}: values above 1 for an atomic fraction (largest: {over}). If the maps are in at.%, "
                "set data.eds_unit: percent.")
    return None


def check_inputs(eds_paths, haadf_paths, elements, scan_shape, eds_unit, report_json, haadf_title="HAADF",
                 pixel=None):
    """Check every raw map of every scan and write a JSON summary; raise one error listing all problems.

    Args:
        eds_paths: {scan: [path per element, in ``elements`` order]} (a container repeats).
        haadf_paths: {scan: path} of the HAADF maps (empty without HAADF).
        elements: element symbols.
        scan_shape: (rows, cols) of the raw scan.
        eds_unit: ``fraction`` or ``percent``.
        report_json: output path: per scan, the range of each element and of their per-pixel sum.
        haadf_title: title of the HAADF image in a container (Velox EMD).
        pixel: (size, units) of the scan, checked against a container's axes.
    Raises:
        InputDataError: listing every problem found, each naming its file.
    """
    problems, report = [], {}
    for scan, paths in eds_paths.items():
        maps = {}
        for element, path in zip(elements, paths):
            try:
                maps[element] = read_map(path, scan_shape, f"EDS {element}", title=element, pixel=pixel)
            except InputDataError as exc:
                problems.append(str(exc))
                continue
            if maps[element].min() < 0:
                problems.append(f"{path}: EDS {element} map has negative values (min {maps[element].min():.3g}); "
                                "fix or re-export the map.")
        if len(maps) < len(elements):
            continue
        where = f"EDS maps of scan {scan} ({', '.join(sorted(set(map(str, paths))))})"
        problem = eds_unit_problem(maps, eds_unit, where)
        if problem:
            problems.append(problem)
        total = np.sum(list(maps.values()), axis=0)
        report[scan] = {"elements": {el: [float(m.min()), float(m.max())] for el, m in maps.items()},
                        "sum_over_elements": [float(total.min()), float(total.max())], "eds_unit": eds_unit}
    for scan, path in haadf_paths.items():
        try:
            read_map(path, scan_shape, "HAADF", title=haadf_title, pixel=pixel)
        except InputDataError as exc:
            problems.append(str(exc))
    if problems:
        raise InputDataError(f"{len(problems)} problem(s) with the raw maps:\n  - " + "\n  - ".join(problems))
    write_json(report_json, report)
    return report
