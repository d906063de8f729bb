"""Same config and seed, same numbers: a second run of the tiny config reproduces the metric tables."""

import json
import shutil

from conftest import REPO, run_snakemake

TABLES = ["metrics.tsv", "summary.tsv", "comparison.tsv", "crosscorr.tsv"]


def test_two_runs_with_one_seed_give_identical_tables(tiny_run, tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    run_snakemake(tmp_path, "results/tables/metrics.tsv")
    for name in TABLES:
        first = (tiny_run / "results" / "tables" / name).read_text()
        second = (tmp_path / "results" / "tables" / name).read_text()
        assert first == second, name
    provenance = json.loads((tmp_path / "results" / "tables" / "provenance.json").read_text())
    assert provenance["config"]["training"]["seed"] == 42 and provenance["config"]["scans"][0] == "0033"
    assert {"numpy", "keras", "snakemake"} <= set(provenance["versions"])
