import os
import re
import sys
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from snakemake.logging import logger
from snakemake.utils import validate

# The package beside the scripts; what the workflow imports while it is parsed is standard
# library only, so a Snakemake installed on its own can plan the workflow.
sys.path.insert(0, str(Path(workflow.current_basedir).parent / "scripts"))
from edsmaps import config_checks as checks
from edsmaps.demo_files import ELEMENTS as DEMO_ELEMENTS
from edsmaps.demo_files import HAADF_TEMPLATE as DEMO_HAADF_TEMPLATE
from edsmaps.demo_files import demo_folder_problem
from edsmaps.plan import (
    complete_defaults,
    default_variants,
    is_deployment,
    label_blur_radius,
    planned_default_strategies,
    resolve_scans,
    run_baselines,
    split_settings,
)
from edsmaps.plan import strategy_scans as resolve_strategy  # (training, test) scans
from edsmaps.plan import RECOMMENDED

SCHEMA = "../schemas/config.schema.yaml"


def check_schema():
    """Every schema violation at once, by key path; scan ids YAML read as numbers get their own hint."""
    unquoted = checks.unquoted_scan_ids(config)
    schema = yaml.safe_load((Path(workflow.current_basedir) / SCHEMA).read_text())
    errors = Draft202012Validator(schema).iter_errors(config)
    checks.raise_problems(
        list(unquoted.values()) + checks.schema_problems(errors, skip_paths=unquoted)
    )


check_schema()  # all problems at once; validate() below stops at the first but fills the defaults
config.setdefault("variants", default_variants(config["data"].get("haadf") is not None))
validate(config, schema=SCHEMA)
# The default plan, less the strategies the scans are too small to split.
if "strategies" not in config:
    config["strategies"], LEFT_OUT = planned_default_strategies(config)
    checks.raise_problems(checks.left_out_problems(config["strategies"], LEFT_OUT))
    if workflow.is_main_process:
        for note in checks.left_out_notes(LEFT_OUT):
            logger.warning(note)
complete_defaults(config)

SCANS = config["scans"]
PREDICT_ONLY = config["predict_only"]
ELEMENTS = config["elements"]
VARIANTS = list(config["variants"])
BASELINES = run_baselines(config)
MAPS_STRATEGY = config["predicted_maps"]["strategy"]
FIGURE_STRATEGY_KEYS = (
    "single_strategy",
    "extrapolation_strategy",
    "interpolation_strategy",
)


wildcard_constraints:
    scan="|".join(re.escape(scan) for scan in SCANS + PREDICT_ONLY),


def raw_file(template, scan, element=None):
    """Path of one raw input under data.folder, from a template with {scan} and {element}."""
    fields = {"scan": scan} if element is None else {"scan": scan, "element": element}
    return os.path.join(config["data"]["folder"], template.format(**fields))


def xray_counts_files():
    """{scan: X-ray count map per element} of the scans with EDS, or {} without data.eds_counts."""
    template = config["data"]["eds_counts"]
    if template is None:
        return {}
    return {scan: [raw_file(template, scan, el) for el in ELEMENTS] for scan in SCANS}


def raw_inputs():
    """Every raw file the configured scans need, as dicts with path and kind (diffraction, eds
    with its scan and element, or map): EDS (and X-ray counts) only for scans with EDS.
    """
    data = config["data"]
    files = []
    for scan in SCANS + PREDICT_ONLY:
        files.append(
            {"path": raw_file(data["diffraction"], scan), "kind": "diffraction"}
        )
        if scan in SCANS:
            files += [
                {
                    "path": raw_file(data["eds"], scan, el),
                    "kind": "eds",
                    "scan": scan,
                    "element": el,
                }
                for el in ELEMENTS
            ]
        if data["haadf"] is not None:
            files.append({"path": raw_file(data["haadf"], scan), "kind": "map"})
    files += [
        {"path": path, "kind": "map"}
        for paths in xray_counts_files().values()
        for path in paths
    ]
    return files


PRIOR_BY_VALIDATION = (
    "validation"  # a spatial_prior setting: each model chooses on validation pixels
)


def config_problems():
    """What the schema cannot say, all at once: names that must match, the crop, figures, the
    demo's folder, and (real data, main process only) raw files present and MRC headers
    matching scan_shape."""
    problems = checks.template_problems(config["data"])
    if problems:
        return problems  # the templates are needed for everything below
    overlap = sorted(set(PREDICT_ONLY) & set(SCANS))
    if overlap:
        problems.append(
            f"predict_only: scans {overlap} are also in scans; a scan either has EDS (scans) or not (predict_only)"
        )
    clash = sorted(set(BASELINES) & set(VARIANTS))
    if clash:
        problems.append(
            f"variants: {clash} share a name with a baseline (baselines.models); rename them"
        )
    if RECOMMENDED in VARIANTS:
        problems.append(
            f"variants: '{RECOMMENDED}' names each strategy's recommended maps; rename the variant"
        )
    problems += checks.crop_problems(config)
    problems += checks.strategy_problems(config["strategies"], SCANS, VARIANTS)
    problems += checks.split_problems(config)
    if config["prediction"]["spatial_prior"] != PRIOR_BY_VALIDATION:
        problems += checks.unknown_variant_problems(
            "prediction.spatial_prior", config["prediction"]["spatial_prior"], VARIANTS
        )
    problems += checks.maps_problems(MAPS_STRATEGY, config["strategies"], PREDICT_ONLY)
    figures, curve = config["figures"], config["learning_curve"]
    uses = [
        (f"figures.{key}", figures[key], figures["variant"])
        for key in FIGURE_STRATEGY_KEYS
        if figures.get(key) is not None
    ]
    uses.append(
        (
            "figures.calibration.strategy",
            figures["calibration"]["strategy"],
            figures["calibration"]["variant"],
        )
    )
    uses.append(("learning_curve.strategy", curve["strategy"], curve["variant"]))
    problems += checks.scored_strategy_problems(uses, config["strategies"])
    problems += checks.figure_problems(
        config["figures"],
        config["strategies"],
        config["variants"],
        SCANS,
        config["scan_shape"],
        config["cache"],
    )
    if BASELINES:  # without any baseline there is no learning curve to plan
        problems += checks.learning_curve_problems(
            config["learning_curve"], config["strategies"], VARIANTS, BASELINES
        )
    folder = config["data"]["folder"]
    if config["demo"]["enabled"]:
        location = checks.demo_location_problems(folder)
        problems += location
        if not location and workflow.is_main_process:
            problems += [p for p in [demo_folder_problem(folder, config["data"])] if p]
        return problems
    if workflow.is_main_process:
        problems += checks.raw_file_problems(
            raw_inputs(), config["scan_shape"], config["data"]["eds_unit"], folder
        )
    return problems


checks.raise_problems(config_problems())


def diffraction_file(wildcards):
    return raw_file(config["data"]["diffraction"], wildcards.scan)


def eds_files_of(scan):
    """EDS maps of the configured elements, in target column order (none for predict-only scans)."""
    if scan in PREDICT_ONLY:
        return []
    return [raw_file(config["data"]["eds"], scan, el) for el in ELEMENTS]


def eds_files(wildcards):
    return eds_files_of(wildcards.scan)


def haadf_files(wildcards):
    return haadf_files_of(wildcards.scan)


def haadf_files_of(scan):
    """The HAADF map of a scan as a list: empty when data.haadf is null."""
    template = config["data"]["haadf"]
    return [] if template is None else [raw_file(template, scan)]


def converted_h5(path):
    """Mark the float32 py4DSTEM file temporary unless conversion.keep_converted is set."""
    return path if config["conversion"]["keep_converted"] else temp(path)


def conversion_settings():
    return {k: v for k, v in config["conversion"].items() if k != "keep_converted"}


STRATEGIES = list(config["strategies"])
# Strategies with test scans: the metric tables score them (a deployment strategy tests nothing).
SCORED_STRATEGIES = [
    s for s in STRATEGIES if not is_deployment(config["strategies"][s])
]
STRATEGY_SETTINGS = {
    name: split_settings(s, label_blur_radius(config["cache"]))
    for name, s in config["strategies"].items()
}
LEARNING_CURVE = config["learning_curve"]


def learning_curve_strategy(fraction):
    """Strategy training on ``fraction`` of the pixels (name in per mille); 1 is the strategy itself."""
    if fraction == 1:
        return LEARNING_CURVE["strategy"]
    return f"{LEARNING_CURVE['strategy']}-lc{round(fraction * 1000):04d}"


LEARNING_CURVE_STRATEGIES = {
    learning_curve_strategy(f): {
        **STRATEGY_SETTINGS[LEARNING_CURVE["strategy"]],
        "train_fraction": f,
    }
    for f in LEARNING_CURVE["fractions"]
}
STRATEGY_SETTINGS.update(LEARNING_CURVE_STRATEGIES)

SEEDS = config["training"]["seeds"]
# Replicate k >= 2 of a variant trains as "<variant>-rep<k>" with seed + k - 1.
CNN_MODELS = {
    (variant if k == 1 else f"{variant}-rep{k}"): (variant, k)
    for variant in VARIANTS
    for k in range(1, SEEDS + 1)
}
# With several replicates, "<variant>-ensemble" is their mean, with their spread as uncertainty.
ENSEMBLES = [f"{variant}-ensemble" for variant in VARIANTS] if SEEDS > 1 else []


wildcard_constraints:
    strategy="|".join(re.escape(s) for s in STRATEGY_SETTINGS),
    model="|".join(re.escape(m) for m in CNN_MODELS),
    variant="|".join(re.escape(v) for v in VARIANTS),
    any_model="|".join(
        re.escape(m)
        for m in [
            *CNN_MODELS,
            *(f"{v}-ensemble" for v in VARIANTS),
            *BASELINES,
            RECOMMENDED,
        ]
    ),
    baseline="|".join(BASELINES) if BASELINES else "(?!)",


def per_strategy_rule(step, strategy):
    """Name of a step's rule for one strategy (a rule name is an identifier)."""
    return f"{step}_{strategy}".replace("-", "_")


def cache_files(scans):
    return [f"results/cache/{scan}.npz" for scan in scans]


def training_scans(strategy):
    return resolve_strategy(STRATEGY_SETTINGS[strategy], SCANS)[0]


def scans_of_strategy(strategy):
    """Training and test scans of a strategy, in acquisition order: every one is predicted."""
    train, test = resolve_strategy(STRATEGY_SETTINGS[strategy], SCANS)
    return [s for s in SCANS if s in train or s in test]


def model_settings(model):
    """Model architecture: config.model overridden by the variant's settings."""
    variant = config["variants"][CNN_MODELS[model][0]]
    return {**config["model"], **{k: v for k, v in variant.items() if k != "training"}}


def training_settings(model):
    """config.training with the variant's overrides, for one replicate: seed + replicate - 1."""
    variant, replicate = CNN_MODELS[model]
    settings = {k: v for k, v in config["training"].items() if k != "seeds"}
    settings.update(config["variants"][variant].get("training", {}))
    settings["seed"] += replicate - 1
    return settings


def baseline_settings(strategy):
    settings = config["baselines"]
    split = STRATEGY_SETTINGS[strategy]
    refit_keys = ("split", "buffer", "train_fraction", "random_state")
    return {
        "refit": {k: split[k] for k in refit_keys} if settings["refit"] else None,
        "n_rings": settings["virtual_rings"],
        "pca_components": settings["pca_components"],
        "pca_bin": settings["pca_bin"],
        "max_pca_pixels": settings["pca_max_pixels"],
        "members": settings["bootstrap_members"],
        "min_dose_fraction": settings["min_dose_fraction"],
        "n_annuli": settings["radial_annuli"],
        "spatial_priors": {
            kind: spatial_prior_candidates(settings["spatial_prior"], kind)
            for kind in BASELINES
        },
        "seed": config["training"]["seed"],
    }


def spatial_prior_candidates(setting, name):
    """The spatial priors (blur method, kernel) a model chooses from on validation pixels: none
    and the EDS labels' kernel where ``setting`` is "validation", else the one the list gives.
    """
    labels = [config["cache"]["blur_method"], config["cache"]["blur_kernel"]]
    if setting == PRIOR_BY_VALIDATION:
        return [["none", 1], labels]
    return [labels] if name in setting else [["none", 1]]


def cnn_spatial_prior(wildcards):
    """The spatial priors a trained model chooses from (prediction.spatial_prior)."""
    variant, _ = CNN_MODELS[wildcards.model]
    return spatial_prior_candidates(config["prediction"]["spatial_prior"], variant)


def backend_settings():
    """What prediction needs of the training runtime settings."""
    keys = ("backend", "seed", "deterministic")
    return {k: config["training"][k] for k in keys}


def strategy_variants(strategy):
    """The CNN variants a strategy trains (its ``variants``, null = every one)."""
    chosen = STRATEGY_SETTINGS[strategy]["variants"]
    return [v for v in VARIANTS if chosen is None or v in chosen]


def strategy_models(strategy):
    """(folder name under results/predictions/{strategy}/, labels) of every model of a strategy:
    the CNN replicates of its variants, their ensembles and the baselines."""
    variants = strategy_variants(strategy)
    models = [
        (name, {"variant": variant, "replicate": k, "kind": "cnn"})
        for name, (variant, k) in CNN_MODELS.items()
        if variant in variants
    ]
    models += [
        (
            f"{v}-ensemble",
            {"variant": f"{v}-ensemble", "replicate": 1, "kind": "ensemble"},
        )
        for v in variants
        if ENSEMBLES
    ]
    return models + [
        (b, {"variant": b, "replicate": 1, "kind": "baseline"}) for b in BASELINES
    ]


def predicted_scans(strategy):
    """The scans a strategy's models predict: its own, and the predict_only ones when it maps them."""
    return scans_of_strategy(strategy) + (
        PREDICT_ONLY if strategy == MAPS_STRATEGY else []
    )


def all_predictions():
    """Every model of every strategy on the scans it predicts."""
    return [
        path
        for strategy in STRATEGIES
        for model, _ in strategy_models(strategy)
        for path in prediction_files(strategy, model, predicted_scans(strategy))
    ]


def ensemble_members(wildcards):
    """The replicates' predictions of one scan that an ensemble averages."""
    return [
        f"results/predictions/{wildcards.strategy}/{name}/{wildcards.scan}.npz"
        for name, (variant, _) in CNN_MODELS.items()
        if variant == wildcards.variant
    ]


def validation_predictions(strategy):
    """Every model's predictions of a strategy's training scans (their validation pixels rank
    the models), labelled by strategy and model."""
    return [
        {"strategy": strategy, "model": model, "kind": labels["kind"], "path": path}
        for model, labels in strategy_models(strategy)
        for path in prediction_files(strategy, model, training_scans(strategy))
    ]


RECOMMENDATION_TABLES = ("validation", "recommended", "intervals")


def recommendation_file(strategy, table):
    """One strategy's ranking (validation), recommendation or intervals table."""
    return f"results/recommendation/{strategy}/{table}.tsv"


def strategy_predictions(strategy):
    """{model: {scan: prediction NPZ}} of every model of a strategy on every scan it predicts."""
    scans = predicted_scans(strategy)
    return {
        model: dict(zip(scans, prediction_files(strategy, model, scans)))
        for model, _ in strategy_models(strategy)
    }


def all_exported_maps():
    if MAPS_STRATEGY is None:
        return []
    return expand("results/predicted_maps/{scan}", scan=PREDICT_ONLY)


def figure_scans(names):
    """Scan ids from ids or roles (first, last, middle) of the figures config."""
    return resolve_scans(names, SCANS)


def test_scans(strategy):
    return resolve_strategy(STRATEGY_SETTINGS[strategy], SCANS)[1]


def model_file(strategy, variant, name):
    return f"results/models/{strategy}/{variant}/{name}"


def prediction_files(strategy, variant, scans):
    return [f"results/predictions/{strategy}/{variant}/{scan}.npz" for scan in scans]


RECOMMENDED_MODEL = (
    RECOMMENDED,
    {"variant": RECOMMENDED, "replicate": 1, "kind": RECOMMENDED},
)
ORACLE = "oracle"
# The demo's oracle is scored as a ceiling beside the models, never ranked among them.
ORACLE_MODEL = [(ORACLE, {"variant": ORACLE, "replicate": 1, "kind": ORACLE})]


def scored_predictions(strategies=SCORED_STRATEGIES, models=None):
    """Every prediction of a scan with EDS by a scored strategy, the recommended maps included,
    labelled for the metric tables."""
    return [
        {"strategy": strategy, "model": model, **labels, "scan": scan, "path": path}
        for strategy in strategies
        for model, labels in [
            *strategy_models(strategy),
            RECOMMENDED_MODEL,
            *(ORACLE_MODEL if config["demo"]["enabled"] else []),
        ]
        if models is None or model in models
        for scan, path in zip(
            scans_of_strategy(strategy),
            prediction_files(strategy, model, scans_of_strategy(strategy)),
        )
    ]


def split_kinds():
    """How each scored strategy separates training from test pixels."""
    kinds = {}
    for strategy in SCORED_STRATEGIES:
        train, test = resolve_strategy(STRATEGY_SETTINGS[strategy], SCANS)
        within = set(train) & set(test)
        kinds[strategy] = (
            STRATEGY_SETTINGS[strategy].get("split", "random")
            if within
            else "across scans"
        )
    return kinds


def learning_curve_predictions():
    """Test-scan predictions of the learning-curve model and baseline at every fraction."""
    items = []
    for fraction in LEARNING_CURVE["fractions"]:
        strategy = learning_curve_strategy(fraction)
        for kind, model in (
            ("cnn", LEARNING_CURVE["variant"]),
            ("baseline", LEARNING_CURVE["baseline"]),
        ):
            if model is None:  # no baseline in the run
                continue
            for scan in test_scans(strategy):
                items.append(
                    {
                        "fraction": fraction,
                        "strategy": strategy,
                        "kind": kind,
                        "variant": model,
                        "scan": scan,
                        "path": prediction_files(strategy, model, [scan])[0],
                    }
                )
    return items


def demo_truth_file(scan):
    return os.path.join(config["data"]["folder"], "truth", f"{scan}.npz")


def truth_files():
    """Noise-free composition of the demo scans with EDS (none for real data)."""
    if not config["demo"]["enabled"]:
        return {}
    return {scan: demo_truth_file(scan) for scan in SCANS}


FIGURES = config["figures"]
# What the maps called "real" are: the EDS blurred as the labels are.
LABEL_BLUR = (
    "unblurred"
    if config["cache"]["blur_method"] == "none"
    else f"{config['cache']['blur_method']} {config['cache']['blur_kernel']}×{config['cache']['blur_kernel']}"
)
FIG_SINGLE = FIGURES["single_strategy"]
FIG_EXTRAPOLATE = FIGURES["extrapolation_strategy"]
FIG_INTERPOLATE = FIGURES["interpolation_strategy"]
FIG_VARIANT = FIGURES["variant"]
FIG_CALIBRATION = FIGURES["calibration"]


def figure_title(
    subject, strategy, variant=FIG_VARIANT, prediction=FIGURES["prediction"]
):
    """A figure's title naming what it shows: model, prediction (raw or calibrated), strategy
    and its scans, built from the config it plots."""
    train, test = resolve_strategy(STRATEGY_SETTINGS[strategy], SCANS)
    tested = "held-out pixels of the same scan" if train == test else ", ".join(test)
    return (
        f"{subject}: {variant} CNN, {prediction} prediction\n"
        f"strategy {strategy}: trained on {', '.join(train)}, tested on {tested}"
    )


def figure(function, input, **arguments):
    """One entry of FIGURE_TABLE: the drawing function (``module.function`` in edsmaps), its
    input files and its other arguments, each named as the function's parameter."""
    return {"function": function, "input": input, "arguments": arguments}


def figure_table():
    """The figures this run draws, by file name. Each is drawn by one function; a figure of a
    strategy the run does not have is left out. A new figure is a function in
    ``edsmaps/figures.py``, an entry here and a caption ``workflow/report/{name}.rst``.
    """
    kind = FIGURES["prediction"]
    table = {}
    if FIG_SINGLE is not None:
        table["fig1_single_training_and_accuracy"] = figure(
            "figures.training_and_accuracy",
            {
                "history_csv": model_file(FIG_SINGLE, FIG_VARIANT, "history.csv"),
                "prediction_path": prediction_files(
                    FIG_SINGLE, FIG_VARIANT, test_scans(FIG_SINGLE)[:1]
                )[0],
            },
            kind=kind,
            title=figure_title("Training and accuracy", FIG_SINGLE),
        )
    for strategy, name, numbers in (
        (FIG_EXTRAPOLATE, "extrapolation", (2, 3, 4)),
        (FIG_INTERPOLATE, "interpolation", (5, 6, 7)),
    ):
        if strategy is None:
            continue
        tested = prediction_files(strategy, FIG_VARIANT, test_scans(strategy))
        shown = figure_scans(FIGURES[f"{name}_map_scans"])
        table[f"fig{numbers[0]}_{name}_metrics"] = figure(
            "figures.strategy_metrics",
            {"prediction_paths": tested},
            kind=kind,
            title=figure_title("Accuracy", strategy),
        )
        table[f"fig{numbers[1]}_maps_{name}"] = figure(
            "figures.composition_maps",
            {
                "prediction_paths": prediction_files(strategy, FIG_VARIANT, shown),
                "recommended_paths": (
                    prediction_files(strategy, RECOMMENDED, shown)
                    if FIGURES["show_recommended"]
                    else []
                ),
            },
            scans=shown,
            kind=kind,
            label_blur=LABEL_BLUR,
            title=figure_title(
                f"Blurred EDS ({LABEL_BLUR}) vs predicted maps", strategy
            ),
        )
        table[f"fig{numbers[2]}_crosscorr_{name}"] = figure(
            "figures.cross_correlations",
            {"prediction_paths": tested},
            kind=kind,
            title=figure_title("Element cross-correlations (test pixels)", strategy),
        )
    calibration_scan = figure_scans([FIG_CALIBRATION["scan"]])[0]
    table["fig8_calibrated_eds_haadf"] = figure(
        "figures.calibrated_eds_haadf",
        {
            "prediction_path": prediction_files(
                FIG_CALIBRATION["strategy"],
                FIG_CALIBRATION["variant"],
                [calibration_scan],
            )[0],
            "cache_path": cache_files([calibration_scan])[0],
        },
        region=FIG_CALIBRATION["region"],
        scan=calibration_scan,
        title=figure_title(
            "Raw, calibrated and real maps",
            FIG_CALIBRATION["strategy"],
            FIG_CALIBRATION["variant"],
            "raw and calibrated",
        ),
    )
    blur_scan = figure_scans([FIGURES["blur_scan"]])[0]
    table["fig9_eds_blur_comparison"] = figure(
        "figures.blur_comparison",
        {"eds_paths": eds_files_of(blur_scan)},
        elements=ELEMENTS,
        scan_shape=config["scan_shape"],
        eds_unit=config["data"]["eds_unit"],
        blur=config["cache"],
        scan=blur_scan,
    )
    if MAPS_STRATEGY is not None and PREDICT_ONLY:
        truths = (
            [demo_truth_file(scan) for scan in PREDICT_ONLY]
            if config["demo"]["enabled"]
            else []
        )
        table["fig11_predicted_maps"] = figure(
            "figures.predicted_maps",
            {
                "maps_dirs": expand("results/predicted_maps/{scan}", scan=PREDICT_ONLY),
                "truth_paths": truths,
            },
            scans=PREDICT_ONLY,
            title=f"Maps of the scans without EDS (strategy {MAPS_STRATEGY}: trained on "
            f"{', '.join(training_scans(MAPS_STRATEGY))})",
        )
    if DOSE_STRATEGIES:
        table["fig12_dose_curve"] = figure(
            "figures.dose_curve",
            {
                "curve_tsv": "results/tables/dose_curve.tsv",
                "comparison_tsv": "results/tables/comparison.tsv",
            },
        )
    table["fig10_workflow"] = figure("rulegraph.draw_rule_graph", {}, config=config)
    return table


def dose_curve_strategies():
    """The strategies whose test scans are not their training scans: what a new scan at a lower
    dose would meet."""
    found = []
    for strategy in SCORED_STRATEGIES:
        train, test = resolve_strategy(STRATEGY_SETTINGS[strategy], SCANS)
        if test and not set(test) & set(train):
            found.append(strategy)
    return found


DOSE_STRATEGIES = dose_curve_strategies()


DOSE_SERIES_FAMILIES = ("baseline", "cnn")


def dose_series_file(strategy, family):
    return f"results/dose_curve/{strategy}/{family}.npz"


def dose_series_files(strategy):
    """The series of a strategy's model families that have fitted models."""
    return [
        dose_series_file(strategy, family)
        for family in DOSE_SERIES_FAMILIES
        if dose_series_models(strategy, family)
    ]


def dose_curve_models(strategy):
    """{model: [kind, [the replicates in its dose series]]} of a strategy's dose curve: a CNN
    replicate or a baseline itself, an ensemble its replicates."""
    models = {}
    for model, labels in strategy_models(strategy):
        if labels["kind"] == "ensemble":
            variant = labels["variant"].removesuffix("-ensemble")
            replicates = [n for n, (v, _) in CNN_MODELS.items() if v == variant]
            models[model] = ["ensemble", replicates]
        else:
            models[model] = [labels["kind"], [model]]
    return models


def dose_series_models(strategy, family):
    """{model: [kind, {artefact: path}]} of a family's fitted models in a strategy's dose
    series (baselines and CNNs run in their own environments)."""
    models = {}
    for model, labels in strategy_models(strategy):
        if labels["kind"] != family:
            continue
        if family == "baseline":
            paths = {"baseline": f"results/baselines/{strategy}/{model}.npz"}
        else:
            paths = {
                "model": model_file(strategy, model, "model.keras"),
                "scaling": model_file(strategy, model, "input_scaling.json"),
                "calibration": model_file(strategy, model, "calibration.json"),
            }
        models[model] = [labels["kind"], paths]
    return models


def dose_series_input(family):
    """Input function of a family's dose series rule: its models' artefacts, full-dose
    predictions and the strategy's test caches."""

    def inputs(wildcards):
        models = dose_series_models(wildcards.strategy, family)
        predictions = dose_series_predictions(wildcards.strategy, family)
        return {
            "models": [p for _, paths in models.values() for p in paths.values()],
            "predictions": [
                p for paths in predictions.values() for p in paths.values()
            ],
            "caches": cache_files(test_scans(wildcards.strategy)),
        }

    return inputs


def dose_series_param(family, name):
    """Param function of a family's dose series rule: its ``models``, their full-dose
    ``predictions`` or the test ``scans`` of the wildcards' strategy."""
    values = {
        "models": lambda strategy: dose_series_models(strategy, family),
        "predictions": lambda strategy: dose_series_predictions(strategy, family),
        "scans": test_scans,
    }[name]
    return lambda wildcards: values(wildcards.strategy)


def dose_series_predictions(strategy, family):
    """{model: {scan: full-dose prediction}} of a family's models on a strategy's test scans."""
    scans = test_scans(strategy)
    return {
        model: dict(zip(scans, prediction_files(strategy, model, scans)))
        for model in dose_series_models(strategy, family)
    }


FIGURE_TABLE = figure_table()
ALL_FIGURES = list(FIGURE_TABLE)
