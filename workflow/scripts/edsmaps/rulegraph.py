"""Draw the workflow's rule graph (paper Fig. 10): Snakemake's ``--rulegraph`` rendered by
Graphviz ``dot`` when it is installed, else laid out in layers with matplotlib."""

import logging
import re
import shutil
import subprocess
import sys

from .atomic import atomic_output

log = logging.getLogger(__name__)


def rule_graph(snakefile, configfiles):
    """The ``snakemake --rulegraph`` dot text of ``snakefile``."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--rulegraph", "--nolock"]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    graph = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    start = graph.find("digraph")
    if start < 0:
        raise RuntimeError(f"snakemake --rulegraph printed no graph:\n{graph[-2000:]}")
    return graph[start:]


def parse_dot(graph):
    """(labels {node id: rule name}, edges [(from, to)]) of a Snakemake rule graph."""
    labels = dict(re.findall(r'^\s*(\d+)\[label = "([^"]+)"', graph, flags=re.MULTILINE))
    edges = re.findall(r"^\s*(\d+) -> (\d+)", graph, flags=re.MULTILINE)
    return labels, edges


def layers(labels, edges):
    """Layer of each node: the length of the longest path reaching it from a source."""
    depth = {node: 0 for node in labels}
    for _ in labels:  # longest-path relaxation; a DAG settles in len(labels) rounds
        for a, b in edges:
            depth[b] = max(depth[b], depth[a] + 1)
    return depth


def draw_with_matplotlib(graph, png, pdf):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, edges = parse_dot(graph)
    depth = layers(labels, edges)
    rows = {}
    for node in sorted(labels, key=int):
        rows.setdefault(depth[node], []).append(node)
    position = {n: (i - (len(r) - 1) / 2, -d) for d, r in rows.items() for i, n in enumerate(r)}
    fig, ax = plt.subplots(figsize=(max(8, 2.4 * max(map(len, rows.values()))), 1.1 * len(rows) + 1))
    for a, b in edges:
        ax.annotate("", xy=position[b], xytext=position[a], arrowprops=dict(arrowstyle="->", color="grey"))
    for node, (x, y) in position.items():
        ax.text(x, y, labels[node], ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round", facecolor="white", edgecolor="tab:blue"))
    ax.set_axis_off()
    ax.margins(0.1)
    for path in (png, pdf):
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight")
    plt.close(fig)


def draw_rule_graph(snakefile, configfiles, png, pdf):
    """Write the rule graph of ``snakefile`` as PNG and PDF."""
    graph = rule_graph(snakefile, configfiles)
    dot = shutil.which("dot")
    if dot is None:
        log.warning("Graphviz 'dot' not found: drawing the rule graph with matplotlib instead")
        draw_with_matplotlib(graph, png, pdf)
        return
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        with atomic_output(path) as tmp:
            subprocess.run([dot, f"-T{fmt}", "-o", str(tmp)], input=graph, check=True, text=True)
