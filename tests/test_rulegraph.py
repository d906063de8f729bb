import shutil
from collections import Counter

import matplotlib.image
import pytest
import yaml

from conftest import REPO, env_without_graphviz
from edsmaps.rulegraph import draw_rule_graph, draw_with_matplotlib, layers, parse_dot, rule_graph

DEMO_CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


@pytest.fixture
def default_graph(tmp_path, monkeypatch):
    """The rule graph of the default (demo) workflow, planned in an empty folder."""
    monkeypatch.chdir(tmp_path)
    return rule_graph(DEMO_CONFIG)


def test_rule_graph_is_parsed_into_layers(default_graph):
    labels, edges = parse_dot(default_graph)
    names = set(labels.values())
    assert {"generate_demo_scan", "check_inputs", "convert_scan", "cache_scan", "train_model",
            "calibrate_and_predict_extrapolate", "recommend_models", "export_recommended_maps", "all"} <= names  # fmt: skip
    depth = {labels[n]: d for n, d in layers(labels, edges).items()}
    assert depth["generate_demo_scan"] < depth["check_inputs"] < depth["convert_scan"] < depth["cache_scan"]
    assert depth["cache_scan"] < depth["train_model"] < depth["calibrate_and_predict_extrapolate"]
    assert depth["fit_baseline_deploy"] < depth["recommend_models"] < depth["export_recommended_maps"] < depth["all"]


def test_the_workflows_own_rule_graph_draws_without_graphviz(default_graph, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", env_without_graphviz()["PATH"])  # the matplotlib fallback
    labels, edges = parse_dot(default_graph)
    assert len(labels) >= 20 and max(Counter(layers(labels, edges).values()).values()) > 6  # a crowded (staggered) layer
    draw_rule_graph(DEMO_CONFIG, tmp_path / "g.png", tmp_path / "g.pdf")
    height, width = matplotlib.image.imread(tmp_path / "g.png").shape[:2]
    assert 1000 < width <= 4000 and 500 < height <= 4000
    assert (tmp_path / "g.pdf").read_bytes()[:4] == b"%PDF"


def test_a_two_rule_graph_draws_without_graphviz(tmp_path):
    graph = 'digraph {\n\t0[label = "all"];\n\t1[label = "a"];\n\t1 -> 0\n}'
    draw_with_matplotlib(graph, tmp_path / "g.png", tmp_path / "g.pdf")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "g.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz (apt-get install graphviz)")
def test_graphviz_draws_the_rule_graph_when_installed(default_graph, tmp_path):
    draw_rule_graph(DEMO_CONFIG, tmp_path / "g.png", tmp_path / "g.pdf")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "g.pdf").read_bytes()[:4] == b"%PDF"
