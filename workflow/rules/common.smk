import re

from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

SCANS = config["scans"]
ELEMENTS = config["elements"]
DEMO_ELEMENTS = ["O", "Si", "Ge", "Sb", "Te", "Au"]


wildcard_constraints:
    scan="|".join(re.escape(scan) for scan in SCANS),


def raw_file(template, scan, element=None):
    """Path of one raw input under data.folder, from a template with {scan} and {element}."""
    fields = {"scan": scan} if element is None else {"scan": scan, "element": element}
    return os.path.join(config["data"]["folder"], template.format(**fields))


def diffraction_file(wildcards):
    return raw_file(config["data"]["diffraction"], wildcards.scan)


def eds_files(wildcards):
    """EDS maps of the configured elements, in target column order."""
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
