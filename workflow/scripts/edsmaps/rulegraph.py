"""Draw the workflow's rule graph (paper Fig. 10): Snakemake's ``--rulegraph`` rendered by
Graphviz ``dot`` when it is installed, else laid out in layers with matplotlib."""

import logging
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .atomic import atomic_output

log = logging.getLogger(__name__)


# The workflow this package belongs to (workflow/scripts/edsmaps/ -> the repository root).
SNAKEFILE = Path(__file__).resolve().parents[3] / "Snakefile"


def rule_graph(config, snakefile=SNAKEFILE):
    """The ``snakemake --rulegraph`` dot text of ``snakefile`` run with ``config`` (a dict, given
    as a config file of its own), in the current working directory."""
    import tempfile

    import yaml

    with tempfile.TemporaryDirectory() as folder:
        configfile = Path(folder) / "config.yaml"
        configfile.write_text(yaml.safe_dump(config))
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--rulegraph", "--nolock",
               "--configfile", str(configfile)]
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


MAX_FIGURE_INCHES = 24  # 3600 px at 150 dpi: a readable page, never a multi-gigapixel canvas


def layout(labels, edges):
    """Position (x, y) of every node: one row per layer, rows centred; in a crowded row every
    other label is raised a little so neighbouring names do not overlap."""
    depth = layers(labels, edges)
    rows = {}
    for node in sorted(labels, key=int):
        rows.setdefault(depth[node], []).append(node)
    position = {}
    for d, row in rows.items():
        for i, node in enumerate(row):
            stagger = 0.22 * (i % 2) if len(row) > 6 else 0.0
            position[node] = (i - (len(row) - 1) / 2, -d + stagger)
    return position


def draw_with_matplotlib(graph, png, pdf, dpi=150):
    """Draw a rule graph in layers. Text and arrows do not autoscale matplotlib's axes, so the
    limits are set from the node positions and the figure size is capped: a tight bounding box
    around unscaled axes would otherwise grow the canvas without bound."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, edges = parse_dot(graph)
    position = layout(labels, edges)
    xs, ys = [p[0] for p in position.values()], [p[1] for p in position.values()]
    width = min(MAX_FIGURE_INCHES, max(8.0, 1.9 * (max(xs) - min(xs) + 1)))
    height = min(MAX_FIGURE_INCHES, 1.1 * (max(ys) - min(ys) + 1) + 1)
    fig, ax = plt.subplots(figsize=(width, height))
    for a, b in edges:
        # Shrunk at both ends so the heads show beside the labels instead of under them.
        ax.annotate("", xy=position[b], xytext=position[a],
                    arrowprops=dict(arrowstyle="-|>", color="grey", shrinkA=9, shrinkB=9))
    for node, (x, y) in position.items():
        ax.text(x, y, labels[node], ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round", facecolor="white", edgecolor="tab:blue"))
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.5)
    ax.set_axis_off()
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99)
    for path in (png, pdf):
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=dpi)
    plt.close(fig)


def draw_rule_graph(config, png, pdf):
    """Write the workflow's rule graph with ``config`` as PNG and PDF. Only the config is a
    parameter, never a path: a finished project moved to another folder has nothing to redo."""
    graph = rule_graph(config)
    dot = shutil.which("dot")
    if dot is None:
        log.warning("Graphviz 'dot' not found: drawing the rule graph with matplotlib instead")
        draw_with_matplotlib(graph, png, pdf)
        return
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        with atomic_output(path) as tmp:
            subprocess.run([dot, f"-T{fmt}", "-o", str(tmp)], input=graph, check=True, text=True)
