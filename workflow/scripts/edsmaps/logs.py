"""Send everything a workflow step says (logging, warnings, tracebacks, native libraries'
messages such as TensorFlow's) to its Snakemake log."""

import logging
import os
import sys


def log_to(path):
    """Point file descriptors 1 and 2 (and sys.stdout/sys.stderr) at ``path``, line-buffered,
    and route ``logging`` there at INFO level."""
    log = open(path, "w", buffering=1)  # noqa: SIM115 - lives as long as the job
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    logging.basicConfig(
        stream=log,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
