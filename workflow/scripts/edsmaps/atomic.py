"""Write outputs atomically so a failed or killed job never leaves a file that looks complete."""

import contextlib
import json
import math
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


def _strict(value):
    """``value`` with every float that JSON cannot hold (NaN, infinities) as None (null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(item) for item in value]
    return value


def write_json(path, payload):
    """Write ``payload`` as indented, strict JSON atomically: NaN and infinities as null (a strict
    parser refuses them); numpy values as numbers and lists, other values JSON does not know
    (paths) as their text. Returns what was written, read back."""
    def plain(value):
        return _strict(value.tolist()) if hasattr(value, "tolist") else str(value)  # numpy, else text

    text = json.dumps(_strict(payload), indent=2, default=plain, allow_nan=False)
    with atomic_output(path) as tmp:
        tmp.write_text(text + "\n")
    return json.loads(text)


def write_tsv(frame, path):
    """Write a pandas DataFrame as a tab-separated table (6 significant digits) atomically."""
    with atomic_output(path) as tmp:
        frame.to_csv(tmp, sep="\t", index=False, float_format="%.6g")


def write_text(path, text):
    """Write ``text`` atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(text)
