"""Draw the workflow's rule graph (paper Fig. 10) with Snakemake and Graphviz."""

import shutil
import subprocess
import sys

from .atomic import atomic_output


def draw_rule_graph(snakefile, configfiles, png, pdf):
    """Run ``snakemake --rulegraph`` on ``snakefile`` and render it with ``dot`` to PNG and PDF."""
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError("fig10 needs Graphviz 'dot' on PATH: install it (apt-get install graphviz, or "
                           "conda install graphviz) and re-run.")
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile), "--rulegraph", "--nolock"]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    graph = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    start = graph.find("digraph")
    if start < 0:
        raise RuntimeError(f"snakemake --rulegraph printed no graph:\n{graph[-2000:]}")
    for path, fmt in ((png, "png"), (pdf, "pdf")):
        with atomic_output(path) as tmp:
            subprocess.run([dot, f"-T{fmt}", "-o", str(tmp)], input=graph[start:], check=True, text=True)
