"""Send everything a workflow step says (logging, warnings, tracebacks) to its Snakemake log."""

import logging
import sys


def log_to(path):
    """Redirect stderr and stdout (Keras' progress lines) to ``path`` (line-buffered) and route
    ``logging`` there at INFO level."""
    sys.stderr = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    sys.stdout = sys.stderr
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
