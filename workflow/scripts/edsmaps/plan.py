"""What the workflow plans with while Snakemake parses it: scan roles, a strategy's scans, the
crop, and the defaults that depend on the scan list (strategies, variants, figures).

Standard library only: a Snakemake installed on its own (``--use-conda``) parses and plans the
workflow without the scientific stack.

Scans are named by id or by role: ``first``, ``last``, ``middle`` (all but first and last),
``all``, ``rest`` (all but the training scans; test scans only).

A strategy without test scans is a deployment strategy: it trains on what it names, is never
scored, and its recommended model maps the ``predict_only`` scans.
"""

from . import layout

SCAN_ROLES = ("first", "last", "middle", "all", "rest")
# The model folder of each strategy's recommended maps (results/predictions/{strategy}/recommended/):
# no variant or baseline may take the name.
RECOMMENDED = "recommended"


def resolve_scans(names, scans, training=None):
    """Expand ids and role names into scan ids, keeping acquisition order.

    Args:
        names: scan ids or roles (``first``, ``last``, ``middle``, ``all``, ``rest``).
        scans: every scan id with EDS, in acquisition order.
        training: the training scans, needed to resolve ``rest``.
    Returns:
        list of scan ids, a subset of ``scans`` in their order.
    Raises:
        ValueError: a name is neither a scan nor a role, or ``rest`` without ``training``.
    """
    chosen = []
    for name in names:
        if name == "first":
            picked = scans[:1]
        elif name == "last":
            picked = scans[-1:]
        elif name == "middle":
            picked = scans[1:-1]
        elif name == "all":
            picked = list(scans)
        elif name == "rest":
            if training is None:
                raise ValueError("'rest' can only name test scans")
            picked = [s for s in scans if s not in training]
        elif name in scans:
            picked = [name]
        else:
            raise ValueError(f"names scan '{name}', which is neither in scans {scans} nor one of {SCAN_ROLES}")
        chosen.extend(p for p in picked if p not in chosen)
    return [s for s in scans if s in chosen]


def strategy_scans(strategy, scans):
    """(training scans, test scans) of a strategy config (``train``/``test`` lists of ids or roles);
    no test scan only for a deployment strategy (``test: []``)."""
    train = resolve_scans(strategy["train"], scans)
    test = resolve_scans(strategy["test"], scans, training=train)
    if not train:
        raise ValueError(f"strategy {strategy} has no training scan for scans {scans}")
    if not test and strategy["test"]:
        raise ValueError(f"strategy {strategy} has no test scan for scans {scans}")
    return train, test


def is_deployment(strategy):
    """A strategy that tests nothing: trained on its scans to map the predict_only ones."""
    return not strategy["test"]


def crop_slices(scan_shape, crop_rows, crop_cols):
    """Row and column slices of the crop ([start, stop) or None for all) of a (rows, cols) scan.

    Raises:
        ValueError: the crop falls outside the scan or is empty.
    """
    slices = []
    for name, extent, crop in (("crop_rows", scan_shape[0], crop_rows), ("crop_cols", scan_shape[1], crop_cols)):
        start, stop = (0, extent) if crop is None else crop
        if not 0 <= start < stop <= extent:
            raise ValueError(f"{name} [{start}, {stop}) must lie inside the scan's 0..{extent} and be non-empty")
        slices.append(slice(start, stop))
    return tuple(slices)


def cropped_shape(scan_shape, crop_rows, crop_cols):
    """(rows, cols) of the scan after cropping."""
    rows, cols = crop_slices(scan_shape, crop_rows, crop_cols)
    return rows.stop - rows.start, cols.stop - cols.start


# A strategy's split settings when its config leaves them out (the schema's defaults; a test
# keeps the two equal). A null buffer is the blur radius, see split_settings.
SPLIT_DEFAULTS = {
    "test_fraction": 0.2,
    "validation_fraction": 0.2,
    "random_state": 42,
    "split": "random",
    "block_grid": [4, 3],
    "validation_block": None,
    "buffer": None,
    "train_fraction": 1.0,
    "variants": None,
}


def split_settings(strategy, blur_radius):
    """A strategy (dict) with every split setting filled in: SPLIT_DEFAULTS for those left out,
    and a null ``buffer`` replaced by ``blur_radius`` (how far a blurred label reaches)."""
    settings = {**SPLIT_DEFAULTS, **strategy}
    if settings["buffer"] is None:
        settings["buffer"] = blur_radius
    return settings


MIN_RANDOM_PIXELS = 10  # the random split draws test, then validation pixels: fewer leave a role empty
# The default plan leaves out a blocked split whose held-out blocks and their buffer take more than
# this share of a scan: on 24 x 10 positions a 4 x 3 grid with a 3-pixel buffer leaves 44 %, of
# which validation and its buffer take more, and the models train on a sixth of the scan.
MIN_DEFAULT_FITTED_SHARE = 0.5


def split_problem(settings, scans, shape, min_fitted_share=0.0):
    """Why a strategy cannot be split on scans of ``shape`` (rows, cols after the crop), with the
    numbers; None when every training scan keeps training and validation pixels and, in a
    blocked split, the held-out blocks and their buffer leave at least ``min_fitted_share`` of
    the scan to train and validate on. Checks the layout the split job starts from (draw 0,
    :func:`edsmaps.layout.scan_layout`), which it only replaces by another with as many blocks.

    Args:
        settings: the strategy's split settings (:func:`split_settings`).
        scans: every labelled scan id, in acquisition order.
    """
    train, test = strategy_scans(settings, scans)
    rows, cols = shape
    for scan in train:
        both = scan in test
        if both and settings["split"] != "blocked":
            if rows * cols < MIN_RANDOM_PIXELS:
                return f"a random split of a {rows}x{cols} scan needs at least {MIN_RANDOM_PIXELS} pixels"
            continue
        seed = settings["random_state"] if both else layout.scan_seed(settings["random_state"], 0)
        try:
            roles = layout.scan_layout(shape, settings, both, seed)
            held_out = layout.held_out_blocks(shape, settings["block_grid"], settings["test_fraction"], seed) \
                if both else []
        except ValueError as exc:
            return str(exc)
        fitted = layout.counts(layout.test_layout(shape, held_out, settings["buffer"]))["train"]
        if fitted < min_fitted_share * rows * cols:
            return (f"on a {rows}x{cols} scan, held-out blocks of a {settings['block_grid'][0]}x"
                    f"{settings['block_grid'][1]} block_grid with a {settings['buffer']}-pixel buffer leave "
                    f"{fitted} of {rows * cols} pixels ({100 * fitted / (rows * cols):.0f} %) to train and validate on")
        counts = layout.counts(roles)
        if not counts["train"] or not counts["validation"]:
            what = ("held-out blocks of a {}x{} block_grid and ".format(*settings["block_grid"]) if both else "")
            side = layout.validation_side(shape, settings["validation_block"], settings["buffer"])
            return (f"on a {rows}x{cols} scan, {what}{side}-pixel validation blocks with a {settings['buffer']}-pixel "
                    f"buffer leave {counts['train']} training and {counts['validation']} validation pixels")
    return None


def split_fix(settings, scans, shape):
    """Settings that make a strategy :func:`split_problem` refuses splittable on scans of
    ``shape``, as text (e.g. ``buffer: 1``), or None: the largest buffer below the current one
    that works, and for a blocked split the block_grid that keeps the most training pixels."""
    fixes = []
    for buffer in range(settings["buffer"] - 1, -1, -1):
        if split_problem({**settings, "buffer": buffer}, scans, shape) is None:
            fixes.append(f"buffer: {buffer}")
            break
    if settings["split"] == "blocked":
        best = None
        for grid_rows in range(1, min(shape[0], 8) + 1):
            for grid_cols in range(1, min(shape[1], 8) + 1):
                trial = {**settings, "block_grid": [grid_rows, grid_cols]}
                if grid_rows * grid_cols < 2 or split_problem(trial, scans, shape) is not None:
                    continue
                kept = layout.counts(layout.scan_layout(shape, trial, True, settings["random_state"]))["train"]
                if best is None or kept > best[0]:
                    best = (kept, grid_rows, grid_cols)
        if best:
            fixes.append(f"block_grid: [{best[1]}, {best[2]}]")
    return " or ".join(fixes) or None


def splittable_strategies(strategies, scans, shape, blur_radius, min_fitted_share=MIN_DEFAULT_FITTED_SHARE):
    """The strategies that can be split on scans of ``shape`` (a blocked split leaving at least
    ``min_fitted_share`` of a scan to train and validate on), and {name: why not} for the others
    (:func:`split_problem`)."""
    kept, left_out = {}, {}
    for name, strategy in strategies.items():
        problem = split_problem(split_settings(strategy, blur_radius), scans, shape, min_fitted_share)
        if problem is None:
            kept[name] = strategy
        else:
            left_out[name] = problem
    return kept, left_out


def default_strategies(n_scans):
    """The strategies a config without ``strategies:`` trains, by scan role.

    ``single`` (the paper's random split of the first scan) and ``single_blocked`` (whole blocks
    held out) always; ``extrapolate`` (first scan -> the rest) from 2 scans; ``interpolate``
    (first + last -> the middle ones) from 3 scans; ``deploy`` (every scan, nothing tested: the
    models that map the predict_only scans) always.
    """
    strategies = {
        "single": {"train": ["first"], "test": ["first"]},
        "single_blocked": {"train": ["first"], "test": ["first"], "split": "blocked"},
    }
    if n_scans >= 2:
        strategies["extrapolate"] = {"train": ["first"], "test": ["rest"]}
    if n_scans >= 3:
        strategies["interpolate"] = {"train": ["first", "last"], "test": ["middle"]}
    strategies["deploy"] = {"train": ["all"], "test": []}
    return strategies


def label_blur_radius(cache):
    """Half the EDS blur kernel of the ``cache`` config: how far a blurred label reaches into its
    neighbours (0 without a blur)."""
    return 0 if cache["blur_method"] == "none" else cache["blur_kernel"] // 2


def planned_default_strategies(config):
    """The default strategies (:func:`default_strategies`) a validated config without
    ``strategies`` gets, less those its scans are too small to split well (a blocked split must
    leave half of a scan to train and validate on, MIN_DEFAULT_FITTED_SHARE): (strategies,
    {name: why it was left out}).
    With an invalid crop every default is kept (the crop check reports it)."""
    strategies = default_strategies(len(config["scans"]))
    cache = config["cache"]
    try:
        shape = cropped_shape(config["scan_shape"], cache["crop_rows"], cache["crop_cols"])
    except ValueError:
        return strategies, {}
    return splittable_strategies(strategies, config["scans"], shape, label_blur_radius(cache))


def default_variants(has_haadf):
    """The paper's CNN, and its HAADF-auxiliary model when there are HAADF maps."""
    variants = {"paper": {"haadf_head": False, "output_activation": "softmax"}}
    if has_haadf:
        variants["paper_haadf"] = {"haadf_head": True, "output_activation": "relu"}
    return variants


# Figure key -> the strategy it shows when the config leaves it unset (null).
FIGURE_STRATEGIES = {
    "single_strategy": "single",
    "extrapolation_strategy": "extrapolate",
    "interpolation_strategy": "interpolate",
}
# The strategy the calibration figure and the learning curve take when left unset, in order of preference.
CALIBRATION_STRATEGIES = ("interpolate", "extrapolate", "single_blocked", "single")
LEARNING_CURVE_STRATEGIES = ("single_blocked", "single")


def _first_present(preferred, names):
    return next((n for n in preferred if n in names), next(iter(names)))


def complete_defaults(config):
    """Fill the settings the config leaves null with choices that depend on what it has.

    A figure strategy left null shows the strategy of its default name, or nothing (its figures
    are skipped) when the run has none. The calibration figure shows the HAADF variant (else
    the figures' variant) on the first test scan of the first of interpolate / extrapolate /
    single_blocked / single present, with the mean pattern of the top-left 4 x 4 pixels (fewer on
    a smaller scan); the learning curve subsamples single_blocked (else single, else the first
    strategy) and compares ``paper`` (else the first variant) with ``radial_boosting`` (else
    ``pca_ridge``, else the first baseline the run fits). Invalid names are left for :mod:`edsmaps.config_checks`.

    Args:
        config: the validated config (schema defaults applied); changed in place.
    Returns:
        ``config``.
    """
    strategies, variants = config["strategies"], config["variants"]
    figures, calibration = config["figures"], config["figures"]["calibration"]
    for key, name in FIGURE_STRATEGIES.items():
        if figures.get(key) is None and name in strategies:
            figures[key] = name
    if figures.get("variant") is None:
        figures["variant"] = _first_present(["paper"], variants)
    if calibration.get("strategy") is None:
        calibration["strategy"] = _first_present(CALIBRATION_STRATEGIES, strategies)
    if calibration.get("variant") is None:
        calibration["variant"] = "paper_haadf" if "paper_haadf" in variants else figures["variant"]
    if calibration.get("scan") is None and calibration["strategy"] in strategies:
        try:
            calibration["scan"] = strategy_scans(strategies[calibration["strategy"]], config["scans"])[1][0]
        except ValueError:
            pass  # the strategy names unknown scans: reported by the strategy check
    maps = config["predicted_maps"]
    if maps.get("strategy") is None:
        deployment = [name for name, s in strategies.items() if is_deployment(s)]
        maps["strategy"] = _first_present(["deploy"], deployment) if deployment else None
    curve = config["learning_curve"]
    if curve.get("strategy") is None:
        curve["strategy"] = _first_present(LEARNING_CURVE_STRATEGIES, strategies)
    if curve.get("variant") is None:
        curve["variant"] = _first_present(["paper"], variants)
    baselines = run_baselines(config)
    if curve.get("baseline") is None and baselines:
        curve["baseline"] = _first_present(["radial_boosting", "pca_ridge"], baselines)
    if calibration.get("region") is None:
        try:
            rows, cols = cropped_shape(config["scan_shape"], config["cache"]["crop_rows"], config["cache"]["crop_cols"])
        except ValueError:
            rows, cols = 4, 4  # the crop itself is reported by the crop check
        calibration["region"] = [0, min(4, rows), 0, min(4, cols)]
    return config


def run_baselines(config):
    """The baselines the run fits: ``baselines.models`` less ``haadf_linear`` without HAADF maps."""
    return [b for b in config["baselines"]["models"] if b != "haadf_linear" or config["data"].get("haadf") is not None]
