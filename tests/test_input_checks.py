"""The check_inputs job: EDS units, shapes and values of every raw map, all problems at once."""

import json

import numpy as np
import pytest

from edsmaps.input_checks import check_inputs, eds_unit_problem
from edsmaps.rawio import InputDataError, write_mrc


def test_percent_maps_with_a_trace_element_pass_and_fractions_declared_percent_do_not():
    percent = {"O": np.full((3, 4), 40.0), "Te": np.full((3, 4), 59.6), "Au": np.full((3, 4), 0.4)}
    assert eds_unit_problem(percent, "percent", "scan 1") is None  # Au stays below 1 at.%, the sum does not
    fractions = {el: m / 100 for el, m in percent.items()}
    assert eds_unit_problem(fractions, "fraction", "scan 1") is None
    problem = eds_unit_problem(fractions, "percent", "scan 1")
    assert problem.startswith("scan 1: data.eds_unit is percent, but the elements' maps sum to at most 1 per pixel")
    assert problem.endswith("Set data.eds_unit: fraction.")
    assert "set data.eds_unit: percent" in eds_unit_problem(percent, "fraction", "scan 1")


def test_every_problem_of_every_scan_is_reported_at_once_and_nothing_is_written(tmp_path):
    shape = (3, 4)
    for scan in ("a", "b"):
        write_mrc(tmp_path / f"{scan}_O.mrc", np.full(shape, 0.3, dtype=np.float32))
        write_mrc(tmp_path / f"{scan}_Te.mrc", np.full(shape, 0.6, dtype=np.float32))
    bad = np.full(shape, 0.6, dtype=np.float32)
    bad[0, 0] = -0.1
    write_mrc(tmp_path / "b_Te.mrc", bad)
    write_mrc(tmp_path / "haadf.mrc", np.ones((4, 3), dtype=np.float32))
    eds = {s: [tmp_path / f"{s}_O.mrc", tmp_path / f"{s}_Te.mrc"] for s in ("a", "b")}
    report = tmp_path / "inputs.json"
    with pytest.raises(InputDataError) as error:
        check_inputs(eds, {"a": tmp_path / "haadf.mrc"}, ["O", "Te"], shape, "percent", report)
    message = str(error.value)
    assert message.startswith("4 problem(s) with the raw maps:")  # two scans in percent, one negative, HAADF
    assert "EDS maps of scan a" in message and "EDS maps of scan b" in message and "b_Te.mrc: EDS Te map has negative values" in message
    assert "haadf.mrc: HAADF map has shape (4, 3), expected scan_shape (3, 4)" in message
    assert not report.exists()
    check_inputs(eds | {"b": eds["a"]}, {}, ["O", "Te"], shape, "fraction", report)
    summary = json.loads(report.read_text())
    assert summary["a"]["sum_over_elements"] == pytest.approx([0.9, 0.9])
    assert summary["b"]["elements"]["Te"] == pytest.approx([0.6, 0.6])
