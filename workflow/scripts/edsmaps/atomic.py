"""Write outputs atomically so a failed or killed job never leaves a file that looks complete."""

import contextlib
import json
import os
from pathlib import Path


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary name keeps the suffix so libraries that choose a format by extension still work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path, payload):
    """Write ``payload`` as indented JSON atomically; values JSON does not know (paths, numpy
    scalars) are written as their text."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def write_tsv(frame, path):
    """Write a pandas DataFrame as a tab-separated table (6 significant digits) atomically."""
    with atomic_output(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def write_text(path, text):
    """Write ``text`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text)
