"""Config checks that run while Snakemake parses the workflow, before any job: every problem is
collected and reported at once, each naming the full key path (``figures.calibration.scan``) or
file and the fix. Standard library only (MRC headers are read with ``struct``).
"""

import os
import string
import struct
from pathlib import Path

from .plan import (
    crop_slices,
    cropped_shape,
    is_deployment,
    label_blur_radius,
    resolve_scans,
    split_fix,
    split_problem,
    split_settings,
    strategy_scans,
)

TEMPLATE_FIELDS = {"diffraction": {"scan"}, "eds": {"scan", "element"}, "haadf": {"scan"}}
SCAN_ID_KEYS = ("scans", "predict_only")  # and every list that names scans, below


class ConfigError(ValueError):
    """One or more problems of the config, listed one per line."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("config has {} problem(s):\n  - {}".format(len(self.problems), "\n  - ".join(self.problems)))


def raise_problems(problems):
    """Raise a ConfigError listing ``problems`` (strings) when there are any."""
    if problems:
        raise ConfigError(problems)


def key_path(parts):
    """``figures.calibration.scan`` / ``scans[1]`` from a sequence of keys and list indices."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def unquoted_scan_ids(config):
    """{key path: message} of scan ids YAML read as numbers (``0033`` unquoted is the number 27)."""
    lists = {key: config.get(key) for key in SCAN_ID_KEYS}
    strategies = config.get("strategies")
    for name, strategy in (strategies.items() if isinstance(strategies, dict) else []):
        for key in ("train", "test"):
            lists[f"strategies.{name}.{key}"] = strategy.get(key) if isinstance(strategy, dict) else None
    figures = config.get("figures") if isinstance(config.get("figures"), dict) else {}
    for key in ("extrapolation_map_scans", "interpolation_map_scans"):
        lists[f"figures.{key}"] = figures.get(key)
    problems = {}
    for key, values in lists.items():
        for i, value in enumerate(values if isinstance(values, list) else []):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                problems[f"{key}[{i}]"] = (f"{key}[{i}]: {value!r} is a number: quote scan ids (\"0033\"); YAML "
                                           "reads an unquoted 0033 as the number 27")
    return problems


def schema_problems(errors, skip_paths=()):
    """Messages of JSON-schema validation errors (objects with ``absolute_path`` and
    ``message``, as jsonschema yields them), skipping errors under ``skip_paths``."""
    problems = []
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        path = key_path(error.absolute_path)
        if any(path == s or path.startswith(s + "[") or path.startswith(s + ".") for s in skip_paths):
            continue
        hint = "check the spelling" if getattr(error, "validator", None) == "additionalProperties" else "see"
        problems.append(f"{path}: {error.message} ({hint} in config/README.md)")
    return problems


def template_problems(data):
    """Unknown ``{fields}`` in the file templates (data.diffraction, data.eds, data.haadf)."""
    problems = []
    for key, allowed in TEMPLATE_FIELDS.items():
        template = data.get(key)
        if not isinstance(template, str):
            continue
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
        except ValueError as exc:
            problems.append(f"data.{key} '{template}': not a valid template ({exc}); write fields as {{scan}}")
            continue
        unknown = sorted(fields - allowed)
        if unknown:
            problems.append(f"data.{key} '{template}': unknown field(s) {{{'}, {'.join(unknown)}}}; a template may "
                            f"use only {{{'}, {'.join(sorted(allowed))}}}: write the rest of the name literally")
    eds = data.get("eds")
    if isinstance(eds, str) and "{element}" not in eds and Path(eds).suffix.lower() != ".emd":
        problems.append(f"data.eds '{eds}' has no {{element}}: only a container (Velox .emd) holds every element's "
                        "map in one file; add {element} to the template")
    return problems


def strategy_problems(strategies, scans, variants):
    """Strategies naming scans or variants that are not listed (``strategies.<name>``)."""
    problems = []
    for name, strategy in strategies.items():
        try:
            strategy_scans(strategy, scans)
        except ValueError as exc:
            problems.append(f"strategies.{name}: {exc}")
        problems += unknown_variant_problems(f"strategies.{name}.variants", strategy.get("variants") or [], variants)
    return problems


def split_problems(config):
    """Strategies whose split leaves a training scan without training or validation pixels on
    scans of the config's (cropped) size (:func:`edsmaps.plan.split_problem`), each with a fix
    that works. Strategies naming unknown scans and an invalid crop are reported elsewhere."""
    cache = config["cache"]
    try:
        shape = cropped_shape(config["scan_shape"], cache["crop_rows"], cache["crop_cols"])
    except ValueError:
        return []
    problems = []
    for name, strategy in config["strategies"].items():
        settings = split_settings(strategy, label_blur_radius(cache))
        try:
            problem = split_problem(settings, config["scans"], shape)
        except ValueError:
            continue  # unknown scans: strategy_problems
        if problem is not None:
            fix = split_fix(settings, config["scans"], shape)
            advice = (f"set strategies.{name}.{fix.replace(' or ', f' or strategies.{name}.')}" if fix else
                      "crop less (cache.crop_rows/crop_cols) or remove the strategy")
            problems.append(f"strategies.{name}: {problem}; {advice}")
    return problems


def left_out_notes(left_out):
    """What the plan says of each default strategy it left out ({name: why})."""
    return [f"strategy '{name}' is left out: {why}" for name, why in left_out.items()]


def left_out_problems(strategies, left_out):
    """When the default plan is left with no strategy, why each was left out."""
    if strategies:
        return []
    return [f"strategies: no default strategy can be split on these scans ({name}: {why})"
            for name, why in left_out.items()] + ["write strategies of your own (config/README.md) or crop less"]


def unknown_variant_problems(key, named, variants):
    """Names under ``key`` that are not among the CNN variants."""
    unknown = [v for v in named if v not in variants]
    return [f"{key}: {unknown} are not among the variants {list(variants)}"] if unknown else []


def trains_variant(strategy, variant):
    """Whether a strategy trains a CNN variant (its ``variants``, null = every one)."""
    return strategy.get("variants") is None or variant in strategy["variants"]


def scored_strategy_problems(uses, strategies):
    """Settings that need a scored strategy training a variant: ``uses`` is a list of (config key,
    strategy name, variant) for the figures and the learning curve."""
    problems = []
    for key, name, variant in uses:
        strategy = strategies.get(name)
        if strategy is None:
            continue  # reported where the name is checked
        if is_deployment(strategy):
            problems.append(f"{key}: strategy '{name}' has no test scans (test: []); name a strategy that tests")
        elif not trains_variant(strategy, variant):
            problems.append(f"{key}: strategy '{name}' does not train variant '{variant}' (its variants: "
                            f"{strategy['variants']})")
    return problems


def maps_problems(maps_strategy, strategies, predict_only):
    """The strategy mapping the predict_only scans must exist and test nothing."""
    if maps_strategy is None:
        if predict_only:
            return [f"predict_only: {predict_only} need a deployment strategy to map them; add one, e.g. "
                    "strategies.deploy: {train: [all], test: []}"]
        return []
    if maps_strategy not in strategies:
        return [f"predicted_maps.strategy: '{maps_strategy}' is not one of {list(strategies)}"]
    if not is_deployment(strategies[maps_strategy]):
        return [f"predicted_maps.strategy: '{maps_strategy}' tests scans; the maps come from a strategy with "
                "test: [] that trains on every labelled scan it names"]
    return []


def crop_problems(config):
    try:
        crop_slices(config["scan_shape"], config["cache"]["crop_rows"], config["cache"]["crop_cols"])
    except ValueError as exc:
        return [f"cache.{exc}; scan_shape is {config['scan_shape']}"]
    return []


def figure_problems(figures, strategies, variants, scans, scan_shape, cache):
    """Figure settings that name strategies, variants or scans the run does not have, and a
    calibration region outside the cropped scan: checked before any job runs."""
    problems = []
    for key in ("single_strategy", "extrapolation_strategy", "interpolation_strategy"):
        if figures.get(key) is not None and figures[key] not in strategies:
            problems.append(f"figures.{key}: strategy '{figures[key]}' is not one of {list(strategies)}")
    calibration = figures["calibration"]
    if calibration["strategy"] not in strategies:
        problems.append(f"figures.calibration.strategy: strategy '{calibration['strategy']}' is not one of "
                        f"{list(strategies)}")
    for key, variant in (("figures.variant", figures["variant"]), ("figures.calibration.variant",
                                                                   calibration["variant"])):
        if variant not in variants:
            problems.append(f"{key}: variant '{variant}' is not one of {list(variants)}")
    for key, strategy_key in (("extrapolation_map_scans", "extrapolation_strategy"),
                              ("interpolation_map_scans", "interpolation_strategy")):
        if figures.get(strategy_key) is None:
            continue  # that figure is not drawn
        try:
            if not resolve_scans(figures[key], scans):
                problems.append(f"figures.{key}: {figures[key]} names no scan of {scans}")
        except ValueError as exc:
            problems.append(f"figures.{key}: {exc}")
    for key, names in (("figures.calibration.scan", [calibration.get("scan")]), ("figures.blur_scan",
                                                                                  [figures["blur_scan"]])):
        if names == [None]:
            continue
        try:
            if not resolve_scans(names, scans):
                problems.append(f"{key}: '{names[0]}' names no scan of {scans}")
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    try:
        rows, cols = cropped_shape(scan_shape, cache["crop_rows"], cache["crop_cols"])
    except ValueError:
        return problems  # reported by crop_problems
    r0, r1, c0, c1 = calibration["region"]
    if not (0 <= r0 < r1 <= rows and 0 <= c0 < c1 <= cols):
        problems.append(f"figures.calibration.region {calibration['region']}: [row0, row1, col0, col1) must lie "
                        f"inside the cropped scan of {rows} x {cols} pixels")
    return problems


def learning_curve_problems(curve, strategies, variants, baselines):
    """Learning-curve settings naming a strategy, variant or baseline the run does not have."""
    problems = []
    for key, names in (("strategy", strategies), ("variant", variants), ("baseline", baselines)):
        if curve.get(key) not in names:
            problems.append(f"learning_curve.{key}: '{curve.get(key)}' is not one of {list(names)}")
    return problems


def demo_location_problems(folder):
    """The demo writes into data.folder: only a folder under resources/ may be its target."""
    folder = Path(folder)
    if folder.is_absolute() or ".." in folder.parts or folder.parts[:1] != ("resources",):
        return [f"data.folder '{folder}': with demo.enabled the workflow generates demo scans there, so it must be "
                "a folder under resources/ (e.g. resources/demo). If it holds your own data, set demo.enabled: false."]
    return []


MRC_MODES = {0, 1, 2, 3, 4, 6, 12, 101}


PERCENT_SUM_FLOOR = 1.5  # as edsmaps.input_checks: a per-pixel sum at or below this is fractions, not at.%


def mrc_header(path):
    """(nz, ny, nx) (the array shape mrcfile gives) and the header's (dmin, dmax) statistics, None
    when the header says they are not set (dmax < dmin, or both 0), read with ``struct``.

    Raises:
        ValueError: not an MRC file.
    """
    with open(path, "rb") as fh:
        header = fh.read(224)
    if len(header) < 224 or header[208:211] != b"MAP":
        raise ValueError("not an MRC file (no 'MAP' at byte 208)")
    order = ">" if header[212] == 0x11 else "<"  # machine stamp: 0x11 big-endian, 0x44 little
    nx, ny, nz, mode = struct.unpack(order + "4i", header[:16])
    if min(nx, ny, nz) < 1 or mode not in MRC_MODES:
        raise ValueError(f"not a readable MRC header (nx={nx}, ny={ny}, nz={nz}, mode={mode})")
    dmin, dmax = struct.unpack(order + "2f", header[76:84])
    statistics = None if dmax < dmin or (dmin == 0 and dmax == 0) else (dmin, dmax)
    return (nz, ny, nx), statistics


def eds_header_problems(ranges, eds_unit):
    """EDS maps whose header statistics contradict ``eds_unit``, per scan, with the job check's
    words (:func:`edsmaps.input_checks.eds_unit_problem`). ``ranges``: {scan: {element: (path,
    (dmin, dmax))}}, scans whose every map has statistics; the per-pixel sum is bounded by the
    sum of the maxima."""
    problems = []
    for scan, maps in ranges.items():
        for element, (path, (low, _)) in maps.items():
            if low < 0:
                problems.append(f"{path}: EDS {element} map has negative values (min {low:.3g}); fix or re-export "
                                "the map.")
        largest = {element: high for element, (_, (_, high)) in maps.items()}
        files = ", ".join(sorted({path for path, _ in maps.values()}))
        if eds_unit == "percent" and sum(largest.values()) <= PERCENT_SUM_FLOOR:
            problems.append(f"EDS maps of scan {scan} ({files}): data.eds_unit is percent, but the elements' maps "
                            f"sum to at most {sum(largest.values()):.3g} per pixel: they hold atomic fractions (0-1). "
                            "Set data.eds_unit: fraction.")
        over = {element: round(high, 3) for element, high in largest.items() if high > 1.0 + 1e-6}
        if eds_unit == "fraction" and over:
            problems.append(f"EDS maps of scan {scan} ({files}): values above 1 for an atomic fraction (largest: "
                            f"{over}). If the maps are in at.%, set data.eds_unit: percent.")
    return problems


def raw_file_problems(files, scan_shape, eds_unit="fraction", folder="data.folder"):
    """Missing raw files (listed in one problem), MRC headers that disagree with ``scan_shape``
    (rows, cols), and EDS maps whose header statistics contradict ``eds_unit`` (every scan's at
    once; maps without statistics are left to the ``check_inputs`` job).

    Args:
        files: dicts with ``path`` and ``kind`` (``diffraction``, ``map`` or ``eds``; an EDS map
            also names its ``scan`` and ``element``).
        folder: ``data.folder``, named in the message about missing files.
    Returns:
        The problems, as messages.
    """
    rows, cols = scan_shape
    missing, problems, ranges, unknown = [], [], {}, set()
    for item in files:
        path = item["path"]
        if not os.path.exists(path):
            missing.append(path)
            continue
        if Path(path).suffix.lower() != ".mrc":
            unknown.add(item.get("scan"))
            continue
        try:
            (nz, ny, nx), statistics = mrc_header(path)
        except (ValueError, OSError) as exc:
            problems.append(f"{path}: {exc}. Re-export it or check that the copy is complete.")
            continue
        if item["kind"] == "diffraction" and nz != rows * cols:
            problems.append(f"{path}: holds {nz} patterns but scan_shape {rows}x{cols} needs {rows * cols}. "
                            "Set scan_shape to the scan's [rows, cols] or check the export.")
        if item["kind"] in ("map", "eds") and (nz, ny, nx) != (1, rows, cols):
            shape = (ny, nx) if nz == 1 else (nz, ny, nx)
            problems.append(f"{path}: map of shape {shape}, expected scan_shape ({rows}, {cols}). Maps and "
                            "diffraction must come from the same scan.")
        if item["kind"] == "eds":
            if statistics is None:
                unknown.add(item["scan"])
            else:
                ranges.setdefault(item["scan"], {})[item["element"]] = (path, statistics)
    known = {scan: maps for scan, maps in ranges.items() if scan not in unknown}
    # a container (Velox EMD) holds several maps: say each of its problems once
    missing = list(dict.fromkeys(missing))
    if missing:
        listing = "\n    ".join(missing)
        problems.insert(0, f"{len(missing)} raw file(s) missing under data.folder '{folder}':\n    {listing}\n  "
                           "Check data.folder, the data.diffraction/eds/haadf/eds_counts templates, scans and elements (set "
                           "data.haadf: null when there is no HAADF; list scans without EDS under predict_only).")
    return list(dict.fromkeys(problems + eds_header_problems(known, eds_unit)))
