#!/usr/bin/env python
"""Benchmark preprocessing (raw read, conversion + centering, caching) of one scan.

Generates a demo scan of the requested size (paper size by default: 110 x 45 patterns of
256 x 256) unless --diffraction/--eds-dir point at your own files, then runs each step in
a fresh process and prints and writes a table (seconds, peak memory, patterns/s).

    python tools/benchmark.py                     # paper size, ~2 minutes, 2 GB disk
    python tools/benchmark.py --scan-shape 12 9 --pattern-size 96   # smoke test
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))

from edsmaps.benchmark import measure, read_whole_stack, write_table  # noqa: E402
from edsmaps.caching import CacheSettings, build_cache  # noqa: E402
from edsmaps.conversion import Calibration, ConversionSettings, convert_scan  # noqa: E402
from edsmaps.demo import ELEMENTS, DemoSettings, generate_scan, write_scan  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scan-shape", type=int, nargs=2, default=[110, 45], metavar=("ROWS", "COLS"))
    parser.add_argument("--pattern-size", type=int, default=256)
    parser.add_argument("--crop-rows", type=int, nargs=2, default=None, metavar=("START", "STOP"))
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/preprocess.tsv"))
    args = parser.parse_args(argv)
    rows, cols = args.scan_shape
    crop = tuple(args.crop_rows) if args.crop_rows else (rows * 2 // 11, rows * 9 // 11)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp = Path(tmp)
        settings = DemoSettings(scan_shape=(rows, cols), pattern_size=args.pattern_size, n_scans=6)
        paths = {
            "diffraction": tmp / "scan.mrc",
            "eds": {el: tmp / f"eds-{el}.mrc" for el in ELEMENTS},
            "haadf": tmp / "haadf.mrc",
        }
        print(f"generating a {rows}x{cols} scan of {args.pattern_size}^2 patterns ...", flush=True)
        write_scan(generate_scan(settings, 0), paths["diffraction"], paths["eds"], paths["haadf"], tmp / "truth.npz")
        n = rows * cols
        results = [
            measure("raw_read", read_whole_stack, paths["diffraction"], (rows, cols), items=n),
            measure(
                "convert_and_center",
                convert_scan,
                paths["diffraction"],
                paths["haadf"],
                (rows, cols),
                Calibration(1.053, "nm", 0.1451, "A^-1"),
                ConversionSettings(remove_central_beam=True),
                tmp / "converted.h5",
                tmp / "origins.json",
                tmp / "virtual.npz",
                tmp / "order.json",
                items=n,
            ),
            measure(
                "crop_blur_cache",
                build_cache,
                tmp / "converted.h5",
                {el: paths["eds"][el] for el in ("O", "Si", "Ge", "Sb", "Te")},
                paths["haadf"],
                (rows, cols),
                "fraction",
                CacheSettings(crop_rows=crop),
                tmp / "cache.npz",
                items=n,
            ),
        ]
        raw_mb = paths["diffraction"].stat().st_size / 1e6
        print(write_table(results, args.out), end="")
        print(f"raw read: {raw_mb / results[0].seconds:.0f} MB/s of {raw_mb:.0f} MB")
        total = results[1].seconds + results[2].seconds
        peak = max(r.peak_rss_mb for r in results[1:])
        print(f"conversion + caching: {total:.1f} s, peak {peak:.0f} MB (written to {args.out})")


if __name__ == "__main__":
    main()
