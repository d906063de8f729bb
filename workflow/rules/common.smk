import re
import sys
from pathlib import Path

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

SCANS = config["scans"]
PREDICT_ONLY = config["predict_only"]
if set(PREDICT_ONLY) & set(SCANS):
    raise ValueError(
        f"config: predict_only scans {sorted(set(PREDICT_ONLY) & set(SCANS))} are also in scans; "
        "a scan either has EDS (scans) or not (predict_only)"
    )
ELEMENTS = config["elements"]
DEMO_ELEMENTS = ["O", "Si", "Ge", "Sb", "Te", "Au"]


wildcard_constraints:
    scan="|".join(re.escape(scan) for scan in SCANS + PREDICT_ONLY),


def raw_file(template, scan, element=None):
    """Path of one raw input under data.folder, from a template with {scan} and {element}."""
    fields = {"scan": scan} if element is None else {"scan": scan, "element": element}
    return os.path.join(config["data"]["folder"], template.format(**fields))


def diffraction_file(wildcards):
    return raw_file(config["data"]["diffraction"], wildcards.scan)


def eds_files(wildcards):
    """EDS maps of the configured elements, in target column order (none for predict-only scans)."""
    if wildcards.scan in PREDICT_ONLY:
        return []
    return [raw_file(config["data"]["eds"], wildcards.scan, el) for el in ELEMENTS]


def haadf_files(wildcards):
    """The HAADF map as a list: empty when data.haadf is null."""
    template = config["data"]["haadf"]
    return [] if template is None else [raw_file(template, wildcards.scan)]


def converted_h5(path):
    """Mark the float32 py4DSTEM file temporary unless conversion.keep_converted is set."""
    return path if config["conversion"]["keep_converted"] else temp(path)


def conversion_settings():
    return {k: v for k, v in config["conversion"].items() if k != "keep_converted"}


sys.path.insert(0, str(Path(workflow.current_basedir).parent / "scripts"))
from edsmaps.strategies import strategy_scans as _resolve_strategy  # noqa: E402

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
