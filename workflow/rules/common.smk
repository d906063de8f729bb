import os
import re
import sys
from pathlib import Path

from snakemake.utils import validate

# The package beside the scripts, for the strategy and scan-role helpers below.
sys.path.insert(0, str(Path(workflow.current_basedir).parent / "scripts"))
from edsmaps.caching import crop_slices
from edsmaps.demo import ELEMENTS as DEMO_ELEMENTS
from edsmaps.strategies import resolve_scans
from edsmaps.strategies import strategy_scans as _resolve_strategy

validate(config, schema="../schemas/config.schema.yaml")

SCANS = config["scans"]
PREDICT_ONLY = config["predict_only"]
if set(PREDICT_ONLY) & set(SCANS):
    raise ValueError(
        f"config: predict_only scans {sorted(set(PREDICT_ONLY) & set(SCANS))} are also in scans; "
        "a scan either has EDS (scans) or not (predict_only)"
    )
ELEMENTS = config["elements"]


wildcard_constraints:
    scan="|".join(re.escape(scan) for scan in SCANS + PREDICT_ONLY),


def raw_file(template, scan, element=None):
    """Path of one raw input under data.folder, from a template with {scan} and {element}."""
    fields = {"scan": scan} if element is None else {"scan": scan, "element": element}
    return os.path.join(config["data"]["folder"], template.format(**fields))


def raw_inputs():
    """Every raw file the configured scans need: EDS only for scans with EDS (not predict_only)."""
    data = config["data"]
    files = []
    for scan in SCANS + PREDICT_ONLY:
        files.append(raw_file(data["diffraction"], scan))
        if scan in SCANS:
            files += list(
                dict.fromkeys(raw_file(data["eds"], scan, el) for el in ELEMENTS)
            )
        if data["haadf"] is not None:
            files.append(raw_file(data["haadf"], scan))
    return files


def check_config():
    """What the schema cannot say: crop inside the scan, strategies naming listed scans,
    generated data only under resources/, and (for real data) every raw file present."""
    try:
        crop_slices(
            config["scan_shape"],
            config["cache"]["crop_rows"],
            config["cache"]["crop_cols"],
        )
    except ValueError as exc:
        raise ValueError(f"config: cache.crop_rows / cache.crop_cols: {exc}") from None
    for name, strategy in config["strategies"].items():
        try:
            _resolve_strategy(strategy, SCANS)
        except ValueError as exc:
            raise ValueError(f"config: strategies.{name}: {exc}") from None
    eds = config["data"]["eds"]
    if "{element}" not in eds and Path(eds).suffix.lower() != ".emd":
        raise ValueError(
            f"config: data.eds '{eds}' has no {{element}}: only a container (Velox .emd) holds every "
            "element's map in one file; add {element} to the template"
        )
    folder = Path(config["data"]["folder"])
    if config["demo"]["enabled"]:
        if (
            folder.is_absolute()
            or ".." in folder.parts
            or folder.parts[:1] != ("resources",)
        ):
            raise ValueError(
                f"config: data.folder '{folder}': with demo.enabled the workflow writes the demo scans there, "
                "so it must be a folder under resources/ (e.g. resources/demo)"
            )
        return
    missing = [f for f in raw_inputs() if not os.path.exists(f)]
    if missing:
        listing = "\n  ".join(missing)
        raise FileNotFoundError(
            f"config: {len(missing)} raw file(s) missing under data.folder '{folder}':\n  {listing}\n"
            "Check data.folder, the data.diffraction/eds/haadf templates, scans and elements "
            "(set data.haadf: null when there is no HAADF; list scans without EDS under predict_only)."
        )


check_config()


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
    """The HAADF map as a list: empty when data.haadf is null."""
    template = config["data"]["haadf"]
    return [] if template is None else [raw_file(template, wildcards.scan)]


def converted_h5(path):
    """Mark the float32 py4DSTEM file temporary unless conversion.keep_converted is set."""
    return path if config["conversion"]["keep_converted"] else temp(path)


def conversion_settings():
    return {k: v for k, v in config["conversion"].items() if k != "keep_converted"}


def blur_radius():
    """Half the EDS blur kernel: how far a blurred label reaches into its neighbours."""
    cache = config["cache"]
    return 0 if cache["blur_method"] == "none" else cache["blur_kernel"] // 2


def with_buffer(settings):
    """A strategy's settings with a null buffer replaced by the blur radius."""
    buffer = settings.get("buffer")
    return {**settings, "buffer": blur_radius() if buffer is None else buffer}


STRATEGIES = list(config["strategies"])
STRATEGY_SETTINGS = {name: with_buffer(s) for name, s in config["strategies"].items()}
LEARNING_CURVE = config["learning_curve"]
if LEARNING_CURVE["strategy"] not in STRATEGIES:
    raise ValueError(
        f"config: learning_curve.strategy names '{LEARNING_CURVE['strategy']}', not one of {STRATEGIES}"
    )


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

VARIANTS = list(config["variants"])
SEEDS = config["training"]["seeds"]
# Replicate k >= 2 of a variant trains as "<variant>-rep<k>" with seed + k - 1.
CNN_MODELS = {
    (variant if k == 1 else f"{variant}-rep{k}"): (variant, k)
    for variant in VARIANTS
    for k in range(1, SEEDS + 1)
}
BASELINES = [
    b
    for b in config["baselines"]["models"]
    if b != "haadf_linear" or config["data"]["haadf"] is not None
]
if set(BASELINES) & set(VARIANTS):
    raise ValueError(
        f"config: variants {sorted(set(BASELINES) & set(VARIANTS))} share a name with a baseline; rename them"
    )
for _key, _names in (("variant", VARIANTS), ("baseline", BASELINES)):
    if LEARNING_CURVE[_key] not in _names:
        raise ValueError(
            f"config: learning_curve.{_key} names '{LEARNING_CURVE[_key]}', not one of {_names}"
        )


wildcard_constraints:
    strategy="|".join(re.escape(s) for s in STRATEGY_SETTINGS),
    variant="|".join(re.escape(v) for v in CNN_MODELS),
    baseline="|".join(BASELINES) if BASELINES else "(?!)",


def cache_files(scans):
    return [f"results/cache/{scan}.npz" for scan in scans]


def training_scans(strategy):
    return _resolve_strategy(STRATEGY_SETTINGS[strategy], SCANS)[0]


def strategy_scans(strategy):
    """Training and test scans of a strategy, in acquisition order: every one is predicted."""
    train, test = _resolve_strategy(STRATEGY_SETTINGS[strategy], SCANS)
    return [s for s in SCANS if s in train or s in test]


def model_settings(model):
    """Model architecture from config.model with the variant's head, activation and closure."""
    return {**config["model"], **config["variants"][CNN_MODELS[model][0]]}


def training_settings(model):
    """config.training for one replicate: seed + replicate - 1."""
    settings = {k: v for k, v in config["training"].items() if k != "seeds"}
    settings["seed"] += CNN_MODELS[model][1] - 1
    return settings


def baseline_settings():
    settings = config["baselines"]
    return {
        "n_rings": settings["virtual_rings"],
        "pca_components": settings["pca_components"],
        "pca_bin": settings["pca_bin"],
        "max_pca_pixels": settings["pca_max_pixels"],
        "seed": config["training"]["seed"],
    }


def backend_settings():
    """What prediction needs of the training runtime settings."""
    keys = ("backend", "seed", "deterministic")
    return {k: config["training"][k] for k in keys}


def all_predictions():
    """Every scan of every strategy, plus the predict-only scans, for every CNN model; the
    baselines (for comparison only) on the strategy's own scans."""
    cnn = [
        f"results/predictions/{strategy}/{model}/{scan}.npz"
        for strategy in STRATEGIES
        for model in CNN_MODELS
        for scan in strategy_scans(strategy) + PREDICT_ONLY
    ]
    baselines = [
        item["path"] for item in scored_predictions() if item["kind"] == "baseline"
    ]
    return cnn + baselines


def all_exported_maps():
    return expand(
        "results/predicted_maps/{strategy}/{variant}/{scan}",
        strategy=STRATEGIES,
        variant=VARIANTS,
        scan=PREDICT_ONLY,
    )


def figure_scans(names):
    """Scan ids from ids or roles (first, last, middle) of the figures config."""
    return resolve_scans(names, SCANS)


def test_scans(strategy):
    return _resolve_strategy(STRATEGY_SETTINGS[strategy], SCANS)[1]


def model_file(strategy, variant, name):
    return f"results/models/{strategy}/{variant}/{name}"


def prediction_files(strategy, variant, scans):
    return [f"results/predictions/{strategy}/{variant}/{scan}.npz" for scan in scans]


def model_labels():
    """(model name, labels) of every CNN replicate and baseline, for the metric tables."""
    labels = [
        (name, {"variant": variant, "replicate": k, "kind": "cnn"})
        for name, (variant, k) in CNN_MODELS.items()
    ]
    return labels + [
        (b, {"variant": b, "replicate": 1, "kind": "baseline"}) for b in BASELINES
    ]


def scored_predictions(strategies=STRATEGIES, models=None):
    """Every prediction of a scan with EDS, labelled for the metric tables."""
    return [
        {"strategy": strategy, **labels, "scan": scan, "path": path}
        for strategy in strategies
        for model, labels in model_labels()
        if models is None or model in models
        for scan, path in zip(
            strategy_scans(strategy),
            prediction_files(strategy, model, strategy_scans(strategy)),
        )
    ]


def split_kinds():
    """How each scored strategy separates training from test pixels."""
    kinds = {}
    for strategy in STRATEGIES:
        train, test = _resolve_strategy(STRATEGY_SETTINGS[strategy], SCANS)
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


def truth_files():
    """Noise-free composition of the demo scans (none for real data)."""
    if not config["demo"]["enabled"]:
        return {}
    return {
        scan: os.path.join(config["data"]["folder"], "truth", f"{scan}.npz")
        for scan in SCANS
    }


FIGURES = config["figures"]
FIG_SINGLE = FIGURES["single_strategy"]
FIG_EXTRAPOLATE = FIGURES["extrapolation_strategy"]
FIG_INTERPOLATE = FIGURES["interpolation_strategy"]
FIG_VARIANT = FIGURES["variant"]
FIG_CALIBRATION = FIGURES["calibration"]
for _key in ("single_strategy", "extrapolation_strategy", "interpolation_strategy"):
    if FIGURES[_key] not in STRATEGIES:
        raise ValueError(
            f"config: figures.{_key} names strategy '{FIGURES[_key]}', not one of {STRATEGIES}"
        )
for _variant in (FIGURES["variant"], FIGURES["calibration"]["variant"]):
    if _variant not in VARIANTS:
        raise ValueError(
            f"config: figures names variant '{_variant}', not one of {VARIANTS}"
        )


ALL_FIGURES = [
    "fig1_single_training_and_accuracy",
    "fig2_extrapolation_metrics",
    "fig3_maps_extrapolation",
    "fig4_crosscorr_extrapolation",
    "fig5_interpolation_metrics",
    "fig6_maps_interpolation",
    "fig7_crosscorr_interpolation",
    "fig8_calibrated_eds_haadf",
    "fig9_eds_blur_comparison",
    "fig10_workflow",
]
