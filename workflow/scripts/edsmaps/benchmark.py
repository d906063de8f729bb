"""Measure wall time and peak memory of workflow steps, each in a fresh process.

Used by ``tools/benchmark.py``; each step runs in a spawned interpreter so its peak resident
memory (``ru_maxrss``) is its own and not the benchmark driver's.
"""

import multiprocessing
import resource
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class StepResult:
    step: str
    seconds: float
    peak_rss_mb: float
    items: int
    unit: str

    @property
    def rate(self):
        return self.items / self.seconds if self.seconds > 0 else float("nan")


def peak_rss_mb():
    """Peak resident memory of this process in MB.

    Linux's VmHWM belongs to the address space, so it restarts at exec; ``ru_maxrss`` would
    carry over the parent's peak into a spawned child.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(conn, fn, args, kwargs):
    start = time.perf_counter()
    fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    conn.send((seconds, peak_rss_mb()))
    conn.close()


def measure(step, fn, *args, items=0, unit="patterns", **kwargs):
    """Run ``fn(*args, **kwargs)`` in a spawned process; return its time and peak RSS."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, kwargs))
    proc.start()
    child.close()
    try:
        seconds, peak = parent.recv()
    except EOFError as exc:
        proc.join()
        raise RuntimeError(f"benchmark step '{step}' failed (exit code {proc.exitcode})") from exc
    proc.join()
    return StepResult(step, seconds, peak, items, unit)


def read_whole_stack(path, scan_shape):
    """Read a raw diffraction file into memory once (the raw read throughput)."""
    import numpy as np

    from .rawio import open_diffraction

    with open_diffraction(path, scan_shape) as data:
        np.array(data)


def write_table(results, path):
    """Write results as TSV with rate columns; returns the text."""
    lines = ["step\tseconds\tpeak_rss_mb\titems\tunit\trate_per_s"]
    for r in results:
        lines.append(f"{r.step}\t{r.seconds:.3f}\t{r.peak_rss_mb:.0f}\t{r.items}\t{r.unit}\t{r.rate:.1f}")
    text = "\n".join(lines) + "\n"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)
    return text
