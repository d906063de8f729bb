"""The parse-time config checks and defaults (standard library only), without Snakemake."""

import ast
import sys

import numpy as np
import pytest
import yaml
from jsonschema import Draft202012Validator

from conftest import REPO
from edsmaps import config_checks as checks
from edsmaps.demo_files import MARKER, demo_folder_problem, template_pattern, write_marker
from edsmaps.plan import complete_defaults, default_strategies, default_variants, resolve_scans, strategy_scans
from edsmaps.rawio import write_mrc

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
PARSE_TIME_MODULES = ["layout", "plan", "config_checks", "demo_files"]


@pytest.mark.parametrize("module", PARSE_TIME_MODULES)
def test_parse_time_modules_import_the_standard_library_only(module):
    tree = ast.parse((REPO / "workflow" / "scripts" / "edsmaps" / f"{module}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [] if node.level else [node.module]
            if node.level:  # relative: must be another parse-time module
                imported = [node.module] if node.module else [alias.name for alias in node.names]
                assert set(imported) <= set(PARSE_TIME_MODULES), f"{module} imports .{imported}"
        else:
            continue
        for name in names:
            assert name.split(".")[0] in sys.stdlib_module_names, f"{module} imports {name}"


def test_key_paths_name_nested_keys_and_list_items():
    assert checks.key_path(["figures", "calibration", "scan"]) == "figures.calibration.scan"
    assert checks.key_path(["scans", 1]) == "scans[1]"
    assert checks.key_path(["strategies", "extrapolate", "train", 0]) == "strategies.extrapolate.train[0]"
    assert checks.key_path([]) == "(top level)"


def test_schema_problems_are_all_listed_by_key_path():
    config = {"scans": ["0033"], "elements": ["O"], "scan_shape": [4, 4], "bogus": 1,
              "data": {"folder": "x", "diffraction": "{scan}.mrc", "eds": "{scan}_{element}.mrc"},
              "training": {"epochs": "ten"}, "cache": {"blur_kernel": 6}}  # fmt: skip
    problems = checks.schema_problems(Draft202012Validator(SCHEMA).iter_errors(config))
    assert len(problems) == 3
    assert problems[0].startswith("(top level): Additional properties are not allowed ('bogus' was unexpected)")
    assert "check the spelling" in problems[0]
    assert problems[1].startswith("cache.blur_kernel: ") and problems[2].startswith("training.epochs: 'ten' is not")


def test_unquoted_scan_ids_get_a_hint_instead_of_a_type_error():
    config = {"scans": [27, "0034"], "predict_only": [39], "elements": ["O"], "scan_shape": [4, 4],
              "data": {"folder": "x", "diffraction": "{scan}.mrc", "eds": "{scan}_{element}.mrc"}}  # fmt: skip
    unquoted = checks.unquoted_scan_ids(config)
    assert list(unquoted) == ["scans[0]", "predict_only[0]"]
    assert 'quote scan ids ("0033"); YAML reads an unquoted 0033 as the number 27' in unquoted["scans[0]"]
    # The schema's own "27 is not of type 'string'" is not repeated for those keys.
    assert checks.schema_problems(Draft202012Validator(SCHEMA).iter_errors(config), skip_paths=unquoted) == []


def test_unknown_template_fields_name_the_key():
    problems = checks.template_problems({"diffraction": "{sample}/{scan}_4d.mrc", "eds": "{scan}-{element}.mrc",
                                         "haadf": "{scan}-{detector}.mrc"})  # fmt: skip
    assert problems == [
        "data.diffraction '{sample}/{scan}_4d.mrc': unknown field(s) {sample}; a template may use only {scan}: "
        "write the rest of the name literally",
        "data.haadf '{scan}-{detector}.mrc': unknown field(s) {detector}; a template may use only {scan}: write the "
        "rest of the name literally",
    ]
    assert "has no {element}" in checks.template_problems({"diffraction": "{scan}.mrc", "eds": "{scan}.mrc"})[0]
    assert checks.template_problems({"diffraction": "{scan}.mrc", "eds": "{scan} EDS.emd", "haadf": None}) == []


def test_mrc_header_is_read_without_mrcfile(tmp_path):
    write_mrc(tmp_path / "stack.mrc", np.zeros((12, 16, 8), dtype=np.uint16))
    write_mrc(tmp_path / "map.mrc", np.linspace(0.1, 0.6, 12, dtype=np.float32).reshape(3, 4))
    assert checks.mrc_header(tmp_path / "stack.mrc") == ((12, 16, 8), None)  # all zeros: no statistics
    shape, (low, high) = checks.mrc_header(tmp_path / "map.mrc")
    assert shape == (1, 3, 4) and low == pytest.approx(0.1) and high == pytest.approx(0.6)
    (tmp_path / "text.mrc").write_text("not an MRC file" * 30)
    with pytest.raises(ValueError, match="not an MRC file"):
        checks.mrc_header(tmp_path / "text.mrc")


def eds_files(tmp_path, scale, scans=("a", "b"), elements=("O", "Te")):
    """EDS maps of atomic fractions times ``scale``, as raw_inputs lists them."""
    files = []
    for scan in scans:
        for element, level in zip(elements, (0.3, 0.6)):
            path = tmp_path / f"{scan}_{element}.mrc"
            write_mrc(path, (np.full((3, 4), level * scale) + np.arange(12).reshape(3, 4) * 1e-3).astype(np.float32))
            files.append({"path": str(path), "kind": "eds", "scan": scan, "element": element})
    return files


def test_eds_units_are_checked_from_the_headers_for_every_scan_at_once(tmp_path):
    problems = checks.raw_file_problems(eds_files(tmp_path, 1.0), (3, 4), "percent")
    assert [p.split(" (")[0] for p in problems] == ["EDS maps of scan a", "EDS maps of scan b"]
    assert all(p.endswith("they hold atomic fractions (0-1). Set data.eds_unit: fraction.") for p in problems)
    problems = checks.raw_file_problems(eds_files(tmp_path, 100.0), (3, 4), "fraction")
    assert len(problems) == 2 and "values above 1 for an atomic fraction (largest: {'O': 30.011, 'Te': 60.011})" \
        in problems[0] and problems[0].endswith("If the maps are in at.%, set data.eds_unit: percent.")
    assert checks.raw_file_problems(eds_files(tmp_path, 100.0), (3, 4), "percent") == []
    assert checks.raw_file_problems(eds_files(tmp_path, 1.0), (3, 4), "fraction") == []
    # a map whose header has no statistics leaves its scan to the check_inputs job
    files = eds_files(tmp_path, 1.0, scans=("a",))
    write_mrc(tmp_path / "a_O.mrc", np.zeros((3, 4), dtype=np.float32))
    assert checks.raw_file_problems(files, (3, 4), "percent") == []


def test_raw_files_are_checked_against_scan_shape_all_at_once(tmp_path):
    write_mrc(tmp_path / "a.mrc", np.zeros((11, 8, 8), dtype=np.uint16))  # one pattern short of 3 x 4
    write_mrc(tmp_path / "a_O.mrc", np.zeros((4, 3), dtype=np.float32))  # transposed map
    write_mrc(tmp_path / "b.mrc", np.zeros((12, 8, 8), dtype=np.uint16))
    files = [{"path": str(tmp_path / n), "kind": k} for n, k in
             (("a.mrc", "diffraction"), ("a_O.mrc", "map"), ("b.mrc", "diffraction"), ("b_O.mrc", "map"))]
    problems = checks.raw_file_problems(files, (3, 4), folder="/data/x")
    assert problems == [
        f"1 raw file(s) missing under data.folder '/data/x':\n    {tmp_path / 'b_O.mrc'}\n  Check data.folder, the "
        "data.diffraction/eds/haadf/eds_counts templates, scans and elements (set data.haadf: null when there is no HAADF; list "
        "scans without EDS under predict_only).",
        f"{tmp_path / 'a.mrc'}: holds 11 patterns but scan_shape 3x4 needs 12. Set scan_shape to the scan's "
        "[rows, cols] or check the export.",
        f"{tmp_path / 'a_O.mrc'}: map of shape (4, 3), expected scan_shape (3, 4). Maps and diffraction must come "
        "from the same scan.",
    ]


DEMO_DATA = {"diffraction": "{scan} - 2 185 kx SI 4DSTEM.mrc", "eds": "{scan} - 2 185 kx SI-{element}-at.mrc",
             "haadf": "{scan} - 2 185 kx SI-HAADF.mrc"}  # fmt: skip


def test_the_demo_generates_only_into_an_empty_or_its_own_folder(tmp_path):
    folder = tmp_path / "demo"
    assert demo_folder_problem(folder, DEMO_DATA) is None  # missing
    folder.mkdir()
    assert demo_folder_problem(folder, DEMO_DATA) is None  # empty
    (folder / "0033 - 2 185 kx SI-O-at.mrc").write_bytes(b"a user's map")
    problem = demo_folder_problem(folder, DEMO_DATA)
    assert f"data.folder '{folder}' holds files without the demo's marker" in problem
    assert "set demo.enabled: false" in problem
    write_marker(folder, seed=7)
    assert demo_folder_problem(folder, DEMO_DATA) is None  # the demo's own files
    (folder / "truth").mkdir()
    (folder / "truth" / "0033.npz").write_bytes(b"")
    (folder / ".0034 - 2 185 kx SI-O-at.partial-123.mrc").write_bytes(b"")  # a job writing right now
    assert demo_folder_problem(folder, DEMO_DATA) is None
    (folder / "scanA_Au.mrc").write_bytes(b"")
    problem = demo_folder_problem(folder, DEMO_DATA)
    assert "holds files the demo did not write (scanA_Au.mrc)" in problem and "demo.enabled: false" in problem
    assert '"seed": 7' in (folder / MARKER).read_text()


def test_template_pattern_matches_any_scan_and_demo_element():
    pattern = template_pattern("{scan}/eds-{element}.mrc")
    assert pattern.fullmatch("0033/eds-Au.mrc") and pattern.fullmatch("scan_b.2/eds-O.mrc")
    assert not pattern.fullmatch("0033/eds-Fe.mrc") and not pattern.fullmatch("0033/x/eds-O.mrc")


def test_default_strategies_follow_the_number_of_scans():
    assert list(default_strategies(1)) == ["single", "single_blocked", "deploy"]
    assert list(default_strategies(2)) == ["single", "single_blocked", "extrapolate", "deploy"]
    strategies = default_strategies(4)
    assert list(strategies) == ["single", "single_blocked", "extrapolate", "interpolate", "deploy"]
    assert strategy_scans(strategies["interpolate"], ["a", "b", "c", "d"]) == (["a", "d"], ["b", "c"])
    assert strategy_scans(strategies["deploy"], ["a", "b", "c", "d"]) == (["a", "b", "c", "d"], [])
    assert minimal_config(3, None)["predicted_maps"]["strategy"] == "deploy"
    assert list(default_variants(False)) == ["paper"] and list(default_variants(True)) == ["paper", "paper_haadf"]


def minimal_config(n_scans, haadf):
    """A user's minimal config with the schema's and the role defaults filled as the workflow does."""
    from snakemake.utils import validate

    config = {"scans": [f"s{i}" for i in range(n_scans)], "elements": ["O", "Te"], "scan_shape": [20, 10],
              "data": {"folder": "x", "diffraction": "{scan}.mrc", "eds": "{scan}_{element}.mrc", "haadf": haadf}}
    config["strategies"] = default_strategies(n_scans)
    config["variants"] = default_variants(haadf is not None)
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return complete_defaults(config)


def test_figure_and_learning_curve_defaults_follow_what_the_run_has():
    config = minimal_config(2, haadf=None)
    figures = config["figures"]
    assert (figures["single_strategy"], figures["extrapolation_strategy"], figures["interpolation_strategy"]) == (
        "single", "extrapolate", None)  # fmt: skip
    assert figures["variant"] == "paper" and figures["calibration"]["variant"] == "paper"
    assert figures["calibration"]["strategy"] == "extrapolate" and figures["calibration"]["scan"] == "s1"
    assert config["learning_curve"]["strategy"] == "single_blocked"
    assert config["learning_curve"]["baseline"] == "radial_boosting"
    assert config["training"]["epochs"] == 100 and config["model"]["batch_norm_momentum"] == 0.99  # the paper's
    problems = checks.figure_problems(figures, config["strategies"], config["variants"], config["scans"],
                                      config["scan_shape"], config["cache"])  # fmt: skip
    assert problems == []
    config = minimal_config(5, haadf="{scan}_haadf.mrc")
    assert config["figures"]["interpolation_strategy"] == "interpolate"
    assert config["figures"]["calibration"] == {"strategy": "interpolate", "variant": "paper_haadf", "scan": "s1",
                                                "region": [0, 4, 0, 4]}  # fmt: skip


def test_defaults_fit_a_small_scan_and_a_run_without_baselines():
    from snakemake.utils import validate

    config = {"scans": ["a", "b"], "elements": ["O"], "scan_shape": [3, 2], "baselines": {"models": ["haadf_linear"]},
              "data": {"folder": "x", "diffraction": "{scan}.mrc", "eds": "{scan}_{element}.mrc"}}  # fmt: skip
    config["strategies"], config["variants"] = default_strategies(2), default_variants(False)
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    complete_defaults(config)
    assert config["figures"]["calibration"]["region"] == [0, 3, 0, 2]  # the top-left 4 x 4, cut to the scan
    assert config["learning_curve"]["baseline"] is None  # haadf_linear is not fitted without HAADF


def test_unquoted_scan_ids_are_found_in_strategies_and_figures_too():
    config = {"strategies": {"mine": {"train": [33], "test": ["rest"]}}, "figures": {"interpolation_map_scans": [34]}}
    assert list(checks.unquoted_scan_ids(config)) == ["strategies.mine.train[0]", "figures.interpolation_map_scans[0]"]


def test_figure_settings_naming_what_the_run_lacks_are_reported_together():
    config = minimal_config(2, haadf=None)
    figures = config["figures"]
    figures["calibration"].update(scan="s9", region=[0, 40, 0, 4])
    figures["extrapolation_map_scans"] = ["s7"]
    figures["interpolation_strategy"] = "interpolate"
    problems = checks.figure_problems(figures, config["strategies"], config["variants"], config["scans"],
                                      config["scan_shape"], {"crop_rows": [0, 10], "crop_cols": None})  # fmt: skip
    assert [p.split(":")[0] for p in problems] == [
        "figures.interpolation_strategy", "figures.extrapolation_map_scans", "figures.interpolation_map_scans",
        "figures.calibration.scan", "figures.calibration.region [0, 40, 0, 4]"]  # fmt: skip
    assert problems[-1].endswith("must lie inside the cropped scan of 10 x 10 pixels")


def test_roles_resolve_for_any_scan_list():
    assert resolve_scans(["first", "last"], ["a"]) == ["a"]
    assert resolve_scans(["middle"], ["a", "b"]) == []


def test_the_maps_come_from_a_strategy_that_tests_nothing():
    strategies = {"extrapolate": {"train": ["first"], "test": ["rest"]}, "mine": {"train": ["all"], "test": []}}
    assert checks.maps_problems("mine", strategies, ["s9"]) == []
    assert "tests scans" in checks.maps_problems("extrapolate", strategies, ["s9"])[0]
    assert "is not one of" in checks.maps_problems("deploy", strategies, ["s9"])[0]
    assert "need a deployment strategy" in checks.maps_problems(None, {"x": strategies["extrapolate"]}, ["s9"])[0]
    assert checks.maps_problems(None, {"x": strategies["extrapolate"]}, []) == []


def test_figures_and_the_learning_curve_need_a_tested_strategy_training_their_variant():
    strategies = {"cross": {"train": ["first"], "test": ["rest"], "variants": ["paper"]},
                  "deploy": {"train": ["all"], "test": []}}
    uses = [("figures.extrapolation_strategy", "cross", "paper"), ("figures.calibration.strategy", "cross", "paper_haadf"),
            ("learning_curve.strategy", "deploy", "paper")]
    problems = checks.scored_strategy_problems(uses, strategies)
    assert len(problems) == 2
    assert "figures.calibration.strategy: strategy 'cross' does not train variant 'paper_haadf'" in problems[0]
    assert "learning_curve.strategy: strategy 'deploy' has no test scans" in problems[1]
    assert "strategies.cross.variants: ['cnn']" in checks.strategy_problems(
        {"cross": {**strategies["cross"], "variants": ["cnn"]}}, ["a", "b"], ["paper"])[0]


def test_a_spatial_prior_for_a_cnn_variant_that_does_not_exist_is_refused():
    assert checks.unknown_variant_problems("prediction.spatial_prior", ["physics"], ["paper"]) == [
        "prediction.spatial_prior: ['physics'] are not among the variants ['paper']"]
    assert checks.unknown_variant_problems("prediction.spatial_prior", ["paper"], ["paper", "physics"]) == []


def split_config(scan_shape, strategies=None, crop_rows=None):
    """A validated minimal config of five scans of ``scan_shape`` (strategies: the user's, if any)."""
    from snakemake.utils import validate

    config = {"scans": ["s1", "s2", "s3", "s4", "s5"], "elements": ["O", "Te"], "scan_shape": list(scan_shape),
              "cache": {"crop_rows": crop_rows},
              "data": {"folder": "x", "diffraction": "{scan}.mrc", "eds": "{scan}_{element}.mrc"}}
    if strategies is not None:
        config["strategies"] = strategies
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return config


def test_the_default_plan_leaves_out_what_a_small_scan_cannot_split_well_and_says_why():
    from edsmaps.plan import planned_default_strategies

    strategies, left_out = planned_default_strategies(split_config((36, 24)))  # the demo's crop: everything
    assert list(strategies) == ["single", "single_blocked", "extrapolate", "interpolate", "deploy"] and not left_out
    strategies, left_out = planned_default_strategies(split_config((24, 10)))
    assert list(strategies) == ["single", "extrapolate", "interpolate", "deploy"]
    assert left_out == {"single_blocked": "on a 24x10 scan, held-out blocks of a 4x3 block_grid with a 3-pixel buffer "
                                          "leave 105 of 240 pixels (44 %) to train and validate on"}
    assert checks.left_out_notes(left_out) == [f"strategy 'single_blocked' is left out: {left_out['single_blocked']}"]
    strategies, left_out = planned_default_strategies(split_config((3, 3)))
    assert strategies == {}
    problems = checks.left_out_problems(strategies, left_out)
    assert problems[0].startswith("strategies: no default strategy can be split on these scans (single: a random "
                                  "split of a 3x3 scan needs at least 10 pixels)")


def test_a_strategy_the_user_wrote_that_cannot_be_split_is_refused_with_a_fix_that_works():
    from edsmaps.plan import split_problem, split_settings

    def works(strategy, fix, shape):
        """The fix a message names, applied to the strategy: does it split?"""
        key, value = fix.split(".")[-1].split(": ")
        value = [int(v) for v in value.strip("[]").split(", ")] if value.startswith("[") else int(value)
        return split_problem(split_settings({**strategy, key: value}, 3), [f"s{i}" for i in range(1, 6)], shape) is None

    blocks = {"train": ["first"], "test": ["first"], "split": "blocked", "block_grid": [4, 3]}
    later = {"train": ["first"], "test": ["rest"], "buffer": 3}
    problems = checks.split_problems(split_config((8, 9), {"blocks": blocks, "later": later}))
    assert len(problems) == 1
    assert problems[0] == ("strategies.blocks: on a 8x9 scan, held-out blocks of a 4x3 block_grid and 3-pixel "
                           "validation blocks with a 3-pixel buffer leave 9 training and 0 validation pixels; set "
                           "strategies.blocks.buffer: 2 or strategies.blocks.block_grid: [4, 1]")
    fixes = problems[0].split("; set ")[1].split(" or ")
    assert all(works(blocks, fix, (8, 9)) for fix in fixes)
    problems = checks.split_problems(split_config((6, 5), {"later": later}))
    assert problems == ["strategies.later: on a 6x5 scan, 3-pixel validation blocks with a 3-pixel buffer leave 0 "
                        "training and 15 validation pixels; set strategies.later.buffer: 2"]
    assert works(later, "strategies.later.buffer: 2", (6, 5))
    assert checks.split_problems(split_config((36, 24), {"blocks": blocks, "later": later})) == []
