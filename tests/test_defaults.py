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


def test_baseline_names_are_the_schemas():
    models = SCHEMA["baselines"]["properties"]["models"]
    assert list(BASELINES) == models["items"]["enum"] == models["default"]


def test_a_disagreeing_default_is_caught():
    @dataclasses.dataclass
    class Drifted:
        data_workers: int = 1

    with pytest.raises(AssertionError, match="data_workers"):
        test_settings_defaults_are_the_schemas(Drifted, SCHEMA["training"]["properties"])
