#!/usr/bin/env python
"""Benchmark the workflow's steps, each in a fresh process, beside the paper's way of doing them.

    python tools/benchmark.py preprocess   # paper-size scan: raw read, origin finding (ours vs
                                           # py4DSTEM's get_origin loop), conversion, caching
    python tools/benchmark.py training     # train/predict patterns/s and memory, ours vs the
                                           # paper's float64 + model.fit-on-arrays way
    python tools/benchmark.py all          # both (default)
    python tools/benchmark.py scale        # 1x, 4x and 16x the paper's positions at 128^2: peak
                                           # memory and time of conversion, caching, one training
                                           # epoch and prediction (benchmarks/scale.tsv)

Prints one table (time, patterns/s, peak memory, and the paper's way with speed and memory
ratios) and writes it as TSV (``--out``); then summarises the Snakemake ``benchmark:`` files of a
workflow run (``--rule-benchmarks``, default ``benchmarks/``) into ``benchmarks/rules.tsv``.
``--diffraction FILE --scan-shape R C`` benchmarks preprocessing on your own raw file.
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
SCALE_STEPS = ["convert", "cache", "train_epoch", "predict"]
SCALE_COLUMNS = ["step", "factor", "positions", "patterns", "seconds", "rate_per_s", "peak_rss_mb"]


def preprocess(args, tmp):
    from edsmaps.caching import CacheSettings, build_cache
    from edsmaps.conversion import Calibration, ConversionSettings, convert_scan

    rows, cols = args.scan_shape
    crop = (rows * 2 // 11, rows * 9 // 11)  # the paper's rows 20-90 of 110
    diffraction, haadf = tmp / "scan.mrc", tmp / "haadf.mrc"
    eds = {el: tmp / f"eds-{el}.mrc" for el in ELEMENTS}
    settings = DemoSettings(scan_shape=(rows, cols), pattern_size=args.pattern_size, n_scans=6)
    print(f"generating a {rows}x{cols} scan of {args.pattern_size}^2 patterns ...", flush=True)
    write_scan(generate_scan(settings, 0), diffraction, eds, haadf, tmp / "truth.npz")
    if args.diffraction is not None:
        diffraction = args.diffraction  # your data; EDS and HAADF stay synthetic
    n = rows * cols
    raw_read = bench.measure("raw_read", bench.read_whole_stack, diffraction, (rows, cols), items=n)
    raw_read.items, raw_read.unit = Path(diffraction).stat().st_size / 1e6, "MB"
    pairs = [
        (raw_read, None),
        (bench.measure("find_origins", bench.ours_origins, diffraction, (rows, cols), items=n),
         bench.measure("find_origins_py4dstem", bench.py4dstem_origins, diffraction, (rows, cols), items=n)),
        (bench.measure(
            "convert_and_center", convert_scan, diffraction, haadf, (rows, cols),
            Calibration(1.053, "nm", 0.1451, "A^-1"), ConversionSettings(remove_central_beam=True),
            tmp / "converted.h5", tmp / "origins.json", tmp / "virtual.npz", tmp / "order.json", items=n,
        ), None),
        (bench.measure(
            "crop_blur_cache", build_cache, tmp / "converted.h5", TARGETS, {el: eds[el] for el in TARGETS}, haadf,
            (rows, cols), "fraction", CacheSettings(crop_rows=crop), tmp / "cache.npz", items=n,
        ), None),
    ]
    steps = [p[0] for p in pairs[2:]]
    summary = [f"raw read: {raw_read.rate:.0f} MB/s; conversion + caching of one scan: {sum(r.seconds for r in steps):.1f} s, "
               f"peak {max(r.peak_rss_mb for r in steps):.0f} MB"]
    return pairs, summary


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
        e, backend, workers, batch = args.epochs, args.backend, args.data_workers, args.batch_size
        results += [
            (bench.measure(f"train_{size}", bench.ours_train, cache, folder / "split.npz", folder, e, args.threads,
                           backend, workers, batch, items=e * n_ours),
             bench.measure(f"train_reference_{size}", bench.reference_train_predict, raw, target_file, e,
                           args.threads, "train", backend, batch, items=e * n_ref)),
            (bench.measure(f"predict_{size}", bench.ours_predict, cache, folder, args.threads, backend, workers,
                           items=n),
             bench.measure(f"predict_reference_{size}", bench.reference_train_predict, raw, target_file, e,
                           args.threads, "predict", backend, items=n)),
        ]
    return results, summary


def scale(args, tmp):
    """Each step on scans of ``--factors`` x the base scan's positions (its rows repeated), one
    factor at a time (a 16x scan of 128^2 patterns is 2.6 GB raw, 5.2 GB converted)."""
    import shutil

    from edsmaps.caching import CacheSettings, build_cache
    from edsmaps.conversion import Calibration, ConversionSettings, convert_scan

    rows, cols = args.scan_shape
    base = tmp / "base"
    base.mkdir()
    eds = {el: base / f"eds-{el}.mrc" for el in ELEMENTS}
    print(f"generating a {rows}x{cols} scan of {args.pattern_size}^2 patterns ...", flush=True)
    write_scan(generate_scan(DemoSettings(scan_shape=(rows, cols), pattern_size=args.pattern_size, n_scans=6), 0),
               base / "scan.mrc", eds, base / "haadf.mrc", base / "truth.npz")
    results, table = {}, []

    def measure(factor, step, fn, *fn_args, items):
        """One step of this factor, in a fresh process; each row is written as soon as it is
        measured, so a long run leaves what it finished."""
        result = results.setdefault(factor, {})[step] = bench.measure(step, fn, *fn_args, items=items)
        table.append({"step": step, "factor": factor, "positions": rows * factor * cols, "patterns": items,
                      "seconds": result.seconds, "rate_per_s": result.rate, "peak_rss_mb": result.peak_rss_mb})
        bench.write_text(bench.format_table(table, SCALE_COLUMNS), args.out)
        print(f"{factor}x {step}: {result.seconds:.1f} s, {result.peak_rss_mb:.0f} MB", flush=True)

    steps = SCALE_STEPS[:SCALE_STEPS.index(args.until) + 1]
    for factor in sorted(args.factors):
        folder = tmp / f"x{factor}"
        diffraction, maps = bench.tile_scan(base / "scan.mrc", {**{el: eds[el] for el in TARGETS},
                                                                 "haadf": base / "haadf.mrc"}, factor, folder)
        shape, n = (rows * factor, cols), rows * factor * cols
        print(f"{factor}x: {shape[0]}x{shape[1]} positions ...", flush=True)
        measure(factor, "convert", convert_scan, diffraction, maps["haadf"], shape,
                Calibration(1.053, "nm", 0.1451, "A^-1"), ConversionSettings(remove_central_beam=True),
                folder / "converted.h5", folder / "origins.json", folder / "virtual.npz", folder / "order.json", items=n)
        diffraction.unlink()
        if "cache" in steps:
            measure(factor, "cache", build_cache, folder / "converted.h5", TARGETS, {el: maps[el] for el in TARGETS},
                    maps["haadf"], shape, "fraction", CacheSettings(), folder / "cache.npz", items=n)
            (folder / "converted.h5").unlink()
        if "train_epoch" in steps:
            roles = write_split({"bench": folder / "cache.npz"}, {"train": ["bench"], "test": ["bench"]}, ["bench"],
                                folder / "split.npz")
            measure(factor, "train_epoch", bench.ours_train, folder / "cache.npz", folder / "split.npz", folder, 1,
                    args.threads, args.backend, args.data_workers, args.batch_size,
                    items=int((roles["bench"] == 1).sum()))
        if "predict" in steps:
            measure(factor, "predict", bench.ours_predict, folder / "cache.npz", folder, args.threads, args.backend,
                    args.data_workers, items=n)
        shutil.rmtree(folder)
    return table, bench.scale_summary(results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=["preprocess", "training", "all", "scale"], default="all")
    parser.add_argument("--scan-shape", type=int, nargs=2, default=[110, 45], metavar=("ROWS", "COLS"))
    parser.add_argument("--pattern-size", type=int, default=None, help="default 256 (preprocess), 128 (scale)")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16], help="scale: multiples of the positions")
    parser.add_argument("--until", choices=SCALE_STEPS, default=SCALE_STEPS[-1], help="scale: the last step measured")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 96], help="training pattern sizes")
    parser.add_argument("--patterns", type=int, default=1024, help="patterns per training benchmark")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", choices=["tensorflow", "jax", "torch"], default="tensorflow")
    parser.add_argument("--data-workers", type=int, default=1, help="threads assembling training batches")
    parser.add_argument("--batch-size", type=int, default=64, help="training batch (the paper's 64)")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--diffraction", type=Path, default=None, help="your raw diffraction file to preprocess")
    parser.add_argument("--out", type=Path, default=None, help="default benchmarks/benchmark.tsv (scale.tsv)")
    parser.add_argument("--rule-benchmarks", type=Path, default=Path("benchmarks"),
                        help="folder of a workflow run's Snakemake benchmark files to summarise")
    args = parser.parse_args(argv)
    args.pattern_size = args.pattern_size or (128 if args.what == "scale" else 256)
    args.out = args.out or Path("benchmarks") / ("scale.tsv" if args.what == "scale" else "benchmark.tsv")
    if args.what == "scale":
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            table, summary = scale(args, Path(tmp))
        summary_columns = ["step", "memory_ratio", "time_exponent", "rate_ratio"]
        print(bench.format_table(table, SCALE_COLUMNS) + "\n" + bench.format_table(summary, summary_columns)
              + f"(table written to {args.out})")
        return
    pairs, summary = [], []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for what, fn in (("preprocess", preprocess), ("training", training)):
            if args.what in (what, "all"):
                (sub := Path(tmp) / what).mkdir()
                p, s = fn(args, sub)
                pairs += p
                summary += s
    table = bench.format_table(bench.comparison_rows(pairs), bench.COMPARISON_COLUMNS)
    bench.write_text(table, args.out)
    print(table + "\n".join(summary) + f"\n(table written to {args.out})")
    if args.rule_benchmarks.is_dir():
        rules = bench.summarise_rule_benchmarks(args.rule_benchmarks)
        if rules:
            text = bench.format_table(rules, ["rule", "jobs", "total_s", "max_s", "max_rss_mb"])
            bench.write_text(text, args.out.parent / "rules.tsv")
            print(f"\nSnakemake benchmark files under {args.rule_benchmarks}/, per rule:\n{text}"
                  f"(written to {args.out.parent / 'rules.tsv'})")


if __name__ == "__main__":
    main()
