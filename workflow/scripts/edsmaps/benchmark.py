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
    """``seconds`` is the step's own timing when the function returns one (e.g. just
    ``model.fit``), else the whole call's."""

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
    timed = fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    conn.send((timed if isinstance(timed, float) else seconds, peak_rss_mb()))
    conn.close()


def measure(step, fn, *args, items=0, unit="patterns", **kwargs):
    """Run ``fn(*args, **kwargs)`` in a spawned process; return its time and peak RSS.

    If ``fn`` returns a float, that is taken as the step's time in seconds (so a function can
    time only its core, e.g. ``model.fit``, not imports and loading)."""
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


def write_synthetic_cache(patterns, targets, cache_path, raw_path):
    """A training cache (float16 / 2**16) plus the raw uint16 stack for the reference loader."""
    import numpy as np

    from .cacheset import mean_dose

    n = len(patterns)
    np.save(raw_path, patterns)
    with open(cache_path, "wb") as fh:
        np.savez(
            fh,
            patterns=(patterns / np.float32(2**16)).astype(np.float16),
            pattern_divisor=np.float64(2**16),
            dose=np.float64(mean_dose(patterns)),
            targets=targets.astype(np.float32),
            targets_unblurred=targets.astype(np.float32),
            haadf=np.ones(n, dtype=np.float32),
            has_haadf=np.bool_(True),
            has_eds=np.bool_(True),
            elements=np.array(["O", "Si", "Ge", "Sb", "Te"]),
            scan_shape=np.array([n, 1]),
            crop_origin=np.array([0, 0]),
            r_pixel_size=np.float64(1.0),
            r_pixel_units=np.array("nm"),
        )


def ours_train(cache_path, split_path, workdir, epochs, threads, backend="tensorflow", data_workers=1, batch_size=64):
    """Our training path (float16 cache streamed by PyDataset); returns model.fit seconds."""
    import json

    from .model import ModelSettings
    from .training import TrainingSettings, train_variant

    settings = TrainingSettings(backend=backend, epochs=epochs, patience=epochs, mixed_precision=True,
                                data_workers=data_workers, batch_size=batch_size)
    train_variant({"bench": cache_path}, split_path, settings, ModelSettings(), workdir / "m.keras",
                  workdir / "h.csv", workdir / "s.json", workdir / "manifest.json", threads=threads)
    return steady_seconds(json.loads((workdir / "manifest.json").read_text())["result"]["epoch_seconds"])


def steady_seconds(epoch_seconds):
    """Training time at the steady-state rate: with several epochs the first (compilation,
    warm-up) is replaced by the mean of the others."""
    if len(epoch_seconds) < 2:
        return float(sum(epoch_seconds))
    rest = epoch_seconds[1:]
    return float(sum(rest) / len(rest) * len(epoch_seconds))


def ours_predict(cache_path, workdir, threads, backend="tensorflow", data_workers=1):
    """Our prediction path on every pattern of the cache; returns predict seconds."""
    import numpy as np

    from .backend import setup_backend

    setup_backend(backend, threads=threads)
    from .inference import load_trained_model, predict_patterns
    from .pattern_file import PatternFile
    from .scaling import load_json

    model = load_trained_model(workdir / "m.keras")
    scaling = load_json(workdir / "s.json")
    with np.load(cache_path) as cache:
        dose = float(cache["dose"])
    patterns = PatternFile(cache_path)  # read per batch, as the workflow's prediction does
    predict_patterns(model, patterns, np.arange(min(256, len(patterns))), scaling, 256, dose)  # compile untimed
    start = time.perf_counter()
    predict_patterns(model, patterns, np.arange(len(patterns)), scaling, 256, dose, data_workers)
    return time.perf_counter() - start


def reference_train_predict(raw_path, targets_path, epochs, threads, phase, backend="tensorflow", batch_size=64):
    """The paper's way (Code 1/4): whole scan as float64 / 2**16, train_test_split(0.2, 42),
    ``model.fit`` on numpy arrays with batch 64; returns fit or predict seconds."""
    import numpy as np

    from .backend import setup_backend

    keras = setup_backend(backend, threads=threads, mixed_precision=False)
    from sklearn.model_selection import train_test_split

    from .model import build_model, compile_model

    x = np.load(raw_path) / 2**16  # float64, as py4DSTEM.read(...).data / 2 ** 16
    y = np.load(targets_path)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)
    model = compile_model(build_model(x.shape[1:], y.shape[1]))
    if phase == "train":
        timer = epoch_timer(keras)
        model.fit(x_train, {"eds": y_train}, batch_size=batch_size, validation_data=(x_test, {"eds": y_test}),
                  epochs=epochs, verbose=0, callbacks=[timer])
        return steady_seconds(timer.seconds)
    model.predict(x[:256], batch_size=256, verbose=0)  # compile outside the timing
    start = time.perf_counter()
    model.predict(x, batch_size=256, verbose=0)
    return time.perf_counter() - start


def ours_origins(path, scan_shape):
    """Our origin finder (vectorised two-pass centre of mass) on a memory-mapped raw stack."""
    import numpy as np
    import py4DSTEM  # noqa: F401  (imported before the timing, as in the comparison)

    from .centering import find_origins
    from .conversion import probe_radius
    from .rawio import open_diffraction

    with open_diffraction(path, scan_shape) as data:
        start = time.perf_counter()
        radius = probe_radius(np.asarray(data[:: max(1, data.shape[0] // 8)].mean(axis=(0, 1)), dtype=np.float64))
        find_origins(data, radius)
        return time.perf_counter() - start


def py4dstem_origins(path, scan_shape):
    """The paper's way: py4DSTEM's ``get_origin``, a Python loop over patterns."""
    import numpy as np
    import py4DSTEM
    from py4DSTEM.process.calibration import get_origin

    from .rawio import open_diffraction

    with open_diffraction(path, scan_shape) as data:
        cube = py4DSTEM.DataCube(data=np.asarray(data))
        start = time.perf_counter()
        get_origin(cube)
        return time.perf_counter() - start


def tile_scan(base_diffraction, base_maps, factor, folder):
    """A scan of ``factor`` x the positions of the base scan: its patterns repeated ``factor``
    times down the rows (the raw MRC written one copy at a time, never whole in memory) and its
    maps ({name: MRC path}) tiled alike. Returns (diffraction path, {name: map path})."""
    import mrcfile
    import numpy as np

    from .rawio import release_pages, write_mrc

    folder.mkdir(parents=True, exist_ok=True)
    diffraction = folder / "scan.mrc"
    with mrcfile.mmap(base_diffraction, mode="r") as base:
        n, qy, qx = base.data.shape
        with mrcfile.new_mmap(diffraction, shape=(n * factor, qy, qx), mrc_mode=6, overwrite=True) as tiled:
            for copy in range(factor):
                tiled.data[copy * n:(copy + 1) * n] = base.data
                tiled.flush()
                release_pages(tiled.data)
    maps = {}
    for name, path in base_maps.items():
        maps[name] = folder / Path(path).name
        write_mrc(maps[name], np.tile(mrcfile.read(path), (factor, 1)))
    return diffraction, maps


def scale_summary(results):
    """Per step, from {factor: {step: StepResult}}: peak memory of the largest scan over the
    smallest's, and the exponent b of time ~ positions^b (least squares in log-log)."""
    import numpy as np

    factors = sorted(results)
    rows = []
    for step in results[factors[0]]:
        runs = [results[f][step] for f in factors]
        exponent = (float(np.polyfit(np.log(factors), np.log([r.seconds for r in runs]), 1)[0])
                    if len(factors) > 1 else float("nan"))
        rows.append({"step": step, "memory_ratio": runs[-1].peak_rss_mb / runs[0].peak_rss_mb,
                     "time_exponent": exponent, "rate_ratio": runs[-1].rate / runs[0].rate})
    return rows


def comparison_rows(pairs):
    """One row per (our step, the paper's way or None): time, rate, peak memory, ratios."""
    rows = []
    for ours, paper in pairs:
        row = {"step": ours.step, "items": ours.items, "unit": ours.unit, "seconds": ours.seconds, "rate_per_s": ours.rate,
               "peak_rss_mb": ours.peak_rss_mb}
        if paper is not None:
            row.update(paper_seconds=paper.seconds, paper_rate_per_s=paper.rate, paper_peak_rss_mb=paper.peak_rss_mb,
                       speed_ratio=ours.rate / paper.rate, memory_ratio=ours.peak_rss_mb / paper.peak_rss_mb)
        rows.append(row)
    return rows


def format_table(rows, columns):
    """TSV text of dict rows; None -> empty, floats to 4 significant digits."""
    def cell(v):
        if v is None:
            return ""
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    return "\n".join(["\t".join(columns)] + ["\t".join(cell(row.get(c)) for c in columns) for row in rows]) + "\n"


def write_text(text, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)


COMPARISON_COLUMNS = ["step", "items", "unit", "seconds", "rate_per_s", "peak_rss_mb", "paper_seconds", "paper_rate_per_s",
                      "paper_peak_rss_mb", "speed_ratio", "memory_ratio"]


def summarise_rule_benchmarks(folder):
    """Per rule: jobs, total and longest wall seconds, largest peak RSS (MB) from the
    Snakemake ``benchmark:`` files under ``folder`` (``<rule>/**/*.tsv``)."""
    import pandas as pd

    rows = []
    for rule_dir in sorted(p for p in Path(folder).iterdir() if p.is_dir()):
        files = sorted(rule_dir.rglob("*.tsv"))
        if not files:
            continue
        runs = pd.concat([pd.read_csv(f, sep="\t") for f in files])
        rows.append({"rule": rule_dir.name, "jobs": len(files), "total_s": float(runs["s"].sum()),
                     "max_s": float(runs["s"].max()), "max_rss_mb": float(pd.to_numeric(runs["max_rss"],
                                                                                        errors="coerce").max())})
    return rows


def epoch_timer(keras):
    """A Keras callback recording each epoch's wall time in ``.seconds`` (the first epoch
    includes compilation)."""

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    return EpochTimer()
