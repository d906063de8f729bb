"""Each config default is the schema's: a package default that disagrees with it fails here."""

import dataclasses

import pytest
import yaml
from conftest import REPO

from edsmaps.baselines import BASELINES
from edsmaps.caching import CacheSettings
from edsmaps.conversion import ConversionSettings
from edsmaps.demo import DemoSettings
from edsmaps.model import ModelSettings
from edsmaps.model_kinds import MODEL_KINDS
from edsmaps.plan import SPLIT_DEFAULTS
from edsmaps.training import TrainingSettings

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())["properties"]


def schema_defaults(properties):
    return {key: spec["default"] for key, spec in properties.items() if "default" in spec}


def comparable(value):
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize(
    ("settings", "section"),
    [
        (TrainingSettings, SCHEMA["training"]["properties"]),
        (ModelSettings, {**SCHEMA["model"]["properties"], **SCHEMA["variants"]["additionalProperties"]["properties"]}),
        (CacheSettings, SCHEMA["cache"]["properties"]),
        (ConversionSettings, SCHEMA["conversion"]["properties"]),
        (DemoSettings, SCHEMA["demo"]["properties"]),
    ],
    ids=["training", "model", "cache", "conversion", "demo"],
)
def test_settings_defaults_are_the_schemas(settings, section):
    defaults = schema_defaults(section)
    fields = {f.name: f.default for f in dataclasses.fields(settings) if f.default is not dataclasses.MISSING}
    shared = set(fields) & set(defaults)
    assert shared, "no setting shared with the schema"
    disagreeing = {k: (fields[k], defaults[k]) for k in shared if comparable(fields[k]) != defaults[k]}
    assert not disagreeing, f"package default != schema default: {disagreeing}"


def test_split_defaults_are_the_schemas():
    strategy = SCHEMA["strategies"]["additionalProperties"]["properties"]
    assert SPLIT_DEFAULTS == schema_defaults(strategy)


def test_baseline_names_are_the_registrys_in_the_schema_and_the_config():
    """A model kind is registered, in both schema enums, the default list and the config's list, or in none."""
    names = list(MODEL_KINDS)
    schema = SCHEMA["baselines"]["properties"]
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["baselines"]
    assert list(BASELINES) == names
    assert schema["models"]["items"]["enum"] == names == schema["models"]["default"] == config["models"]
    listed = next(option for option in schema["spatial_prior"]["oneOf"] if option.get("type") == "array")
    assert listed["items"]["enum"] == names
    assert schema["spatial_prior"]["default"] == "validation" == config["spatial_prior"]


# The config key of each kind's own setting (as workflow/rules/common.smk passes them).
KIND_SETTING_KEYS = {"n_rings": "virtual_rings", "pca_components": "pca_components", "pca_bin": "pca_bin",
                     "max_pca_pixels": "pca_max_pixels", "n_annuli": "radial_annuli"}


def test_model_kind_defaults_are_the_schemas():
    defaults = schema_defaults(SCHEMA["baselines"]["properties"])
    for name, kind in MODEL_KINDS.items():
        disagreeing = {k: (v, defaults[KIND_SETTING_KEYS[k]]) for k, v in kind.defaults.items()
                       if v != defaults[KIND_SETTING_KEYS[k]]}
        assert not disagreeing, f"{name}: package default != schema default: {disagreeing}"


def test_a_disagreeing_default_is_caught():
    @dataclasses.dataclass
    class Drifted:
        data_workers: int = 1

    with pytest.raises(AssertionError, match="data_workers"):
        test_settings_defaults_are_the_schemas(Drifted, SCHEMA["training"]["properties"])
