from conftest import REPO

from edsmaps.rulegraph import draw_with_matplotlib, layers, parse_dot, rule_graph


def test_rule_graph_is_parsed_into_layers():
    graph = rule_graph(REPO / "Snakefile", [REPO / "config" / "config.yaml"])
    labels, edges = parse_dot(graph)
    names = set(labels.values())
    assert {"generate_demo_scan", "convert_scan", "cache_scan", "train_model", "predict_scan", "all"} <= names
    depth = {labels[n]: d for n, d in layers(labels, edges).items()}
    assert depth["generate_demo_scan"] < depth["convert_scan"] < depth["cache_scan"] < depth["train_model"]
    assert depth["train_model"] < depth["calibrate_model"] < depth["predict_scan"] < depth["all"]


def test_matplotlib_drawing_without_graphviz(tmp_path):
    graph = 'digraph {\n\t0[label = "all"];\n\t1[label = "a"];\n\t1 -> 0\n}'
    draw_with_matplotlib(graph, tmp_path / "g.png", tmp_path / "g.pdf")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "g.pdf").read_bytes()[:4] == b"%PDF"
