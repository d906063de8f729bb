#!/usr/bin/env python
"""Benchmark the workflow's steps, each in a fresh process (time, peak memory, patterns/s).

    python tools/benchmark.py preprocess   # paper-size scan: raw read, conversion, caching
    python tools/benchmark.py training     # train/predict patterns/s and memory, ours vs the
                                           # paper's float64 + model.fit-on-arrays way
    python tools/benchmark.py all          # both (default)

Small sizes for a smoke test: ``--scan-shape 12 9 --pattern-size 96`` (preprocess) and
``--sizes 96 --patterns 64 --epochs 1`` (training).
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

import numpy as np  # noqa: E402

from edsmaps import benchmark as bench  # noqa: E402
from edsmaps.demo import ELEMENTS, DemoSettings, generate_scan, write_scan  # noqa: E402
from edsmaps.strategies import write_split  # noqa: E402

TARGETS = ["O", "Si", "Ge", "Sb", "Te"]


def preprocess(args, tmp):
    from edsmaps.caching import CacheSettings, build_cache
    from edsmaps.conversion import Calibration, ConversionSettings, convert_scan

    rows, cols = args.scan_shape
    crop = (rows * 2 // 11, rows * 9 // 11)  # the paper's rows 20-90 of 110
    settings = DemoSettings(scan_shape=(rows, cols), pattern_size=args.pattern_size, n_scans=6)
    diffraction, haadf = tmp / "scan.mrc", tmp / "haadf.mrc"
    eds = {el: tmp / f"eds-{el}.mrc" for el in ELEMENTS}
    print(f"generating a {rows}x{cols} scan of {args.pattern_size}^2 patterns ...", flush=True)
    write_scan(generate_scan(settings, 0), diffraction, eds, haadf, tmp / "truth.npz")
    n = rows * cols
    results = [
        bench.measure("raw_read", bench.read_whole_stack, diffraction, (rows, cols), items=n),
        bench.measure(
            "convert_and_center", convert_scan, diffraction, haadf, (rows, cols),
            Calibration(1.053, "nm", 0.1451, "A^-1"), ConversionSettings(remove_central_beam=True),
            tmp / "converted.h5", tmp / "origins.json", tmp / "virtual.npz", tmp / "order.json", items=n,
        ),
        bench.measure(
            "crop_blur_cache", build_cache, tmp / "converted.h5", TARGETS, {el: eds[el] for el in TARGETS}, haadf,
            (rows, cols), "fraction", CacheSettings(crop_rows=crop), tmp / "cache.npz", items=n,
        ),
    ]
    raw_mb = diffraction.stat().st_size / 1e6
    summary = [
        f"raw read: {raw_mb / results[0].seconds:.0f} MB/s of {raw_mb:.0f} MB",
        f"conversion + caching: {results[1].seconds + results[2].seconds:.1f} s, "
        f"peak {max(r.peak_rss_mb for r in results[1:]):.0f} MB",
    ]
    return results, summary


def training(args, tmp):
    results, summary = [], []
    for size in args.sizes:
        folder = tmp / f"q{size}"
        folder.mkdir()
        rows = int(np.ceil(args.patterns / 32))
        settings = DemoSettings(scan_shape=(rows, 32), pattern_size=size, n_scans=6)
        print(f"generating {rows * 32} patterns of {size}^2 ...", flush=True)
        scan = generate_scan(settings, 0)
        n = len(scan.patterns)
        targets = scan.composition.reshape(n, -1)[:, [ELEMENTS.index(e) for e in TARGETS]]
        cache, raw, target_file = folder / "cache.npz", folder / "raw.npy", folder / "targets.npy"
        bench.write_synthetic_cache(scan.patterns, targets, cache, raw)
        np.save(target_file, targets.astype(np.float32))
        roles = write_split({"bench": cache}, {"train": ["bench"], "test": ["bench"]}, ["bench"], folder / "split.npz")
        n_ours = int((roles["bench"] == 1).sum())
        n_ref = n - int(np.ceil(0.2 * n))
        e, backend, workers = args.epochs, args.backend, args.data_workers
        rows_ = [
            bench.measure(f"train_ours_{size}", bench.ours_train, cache, folder / "split.npz", folder, e, args.threads,
                          backend, workers, items=e * n_ours),
            bench.measure(f"train_reference_{size}", bench.reference_train_predict, raw, target_file, e, args.threads,
                          "train", backend, items=e * n_ref),
            bench.measure(f"predict_ours_{size}", bench.ours_predict, cache, folder, args.threads, backend, workers,
                          items=n),
            bench.measure(f"predict_reference_{size}", bench.reference_train_predict, raw, target_file, e,
                          args.threads, "predict", backend, items=n),
        ]
        results.extend(rows_)
        for phase, ours, ref in (("train", rows_[0], rows_[1]), ("predict", rows_[2], rows_[3])):
            summary.append(
                f"{size}^2 {phase}: ours {ours.rate:.1f} patterns/s, {ours.peak_rss_mb:.0f} MB; reference "
                f"{ref.rate:.1f} patterns/s, {ref.peak_rss_mb:.0f} MB; speed x{ours.rate / ref.rate:.2f}, "
                f"memory x{ours.peak_rss_mb / ref.peak_rss_mb:.2f}"
            )
    return results, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=["preprocess", "training", "all"], default="all")
    parser.add_argument("--scan-shape", type=int, nargs=2, default=[110, 45], metavar=("ROWS", "COLS"))
    parser.add_argument("--pattern-size", type=int, default=256)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 96], help="training pattern sizes")
    parser.add_argument("--patterns", type=int, default=1024, help="patterns per training benchmark")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", choices=["tensorflow", "jax", "torch"], default="tensorflow")
    parser.add_argument("--data-workers", type=int, default=1, help="threads assembling training batches")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/benchmark.tsv"))
    args = parser.parse_args(argv)
    results, summary = [], []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for what, fn in (("preprocess", preprocess), ("training", training)):
            if args.what in (what, "all"):
                (sub := Path(tmp) / what).mkdir()
                r, s = fn(args, sub)
                results += r
                summary += s
    print(bench.write_table(results, args.out), end="")
    print("\n".join(summary))
    print(f"(table written to {args.out})")


if __name__ == "__main__":
    main()
