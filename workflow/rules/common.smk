import os
import re
import sys
from pathlib import Path

from snakemake.utils import validate

# The package beside the scripts, for the strategy and scan-role helpers below.
sys.path.insert(0, str(Path(workflow.current_basedir).parent / "scripts"))
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


STRATEGIES = list(config["strategies"])
VARIANTS = list(config["variants"])


wildcard_constraints:
    strategy="|".join(re.escape(s) for s in STRATEGIES),
    variant="|".join(re.escape(v) for v in VARIANTS),


def cache_files(scans):
    return [f"results/cache/{scan}.npz" for scan in scans]


def training_scans(strategy):
    return _resolve_strategy(config["strategies"][strategy], SCANS)[0]


def strategy_scans(strategy):
    """Training and test scans of a strategy, in acquisition order: every one is predicted."""
    train, test = _resolve_strategy(config["strategies"][strategy], SCANS)
    return [s for s in SCANS if s in train or s in test]


def model_settings(variant):
    """Model architecture from config.model with the variant's head and output activation."""
    return {**config["model"], **config["variants"][variant]}


def backend_settings():
    """What prediction needs of the training runtime settings."""
    keys = ("backend", "seed", "deterministic")
    return {k: config["training"][k] for k in keys}


def all_predictions():
    """Every scan of every strategy, plus the predict-only scans, for every variant."""
    return [
        f"results/predictions/{strategy}/{variant}/{scan}.npz"
        for strategy in STRATEGIES
        for variant in VARIANTS
        for scan in strategy_scans(strategy) + PREDICT_ONLY
    ]


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
    return _resolve_strategy(config["strategies"][strategy], SCANS)[1]


def model_file(strategy, variant, name):
    return f"results/models/{strategy}/{variant}/{name}"


def prediction_files(strategy, variant, scans):
    return [f"results/predictions/{strategy}/{variant}/{scan}.npz" for scan in scans]


def scored_predictions():
    """Every prediction of a scan with EDS, labelled for the metric tables."""
    return [
        {"strategy": strategy, "variant": variant, "scan": scan, "path": path}
        for strategy in STRATEGIES
        for variant in VARIANTS
        for scan, path in zip(
            strategy_scans(strategy),
            prediction_files(strategy, variant, strategy_scans(strategy)),
        )
    ]


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
