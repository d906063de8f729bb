"""The caches of a strategy's scans, loaded once, and the labelled pixels of chosen roles."""

from dataclasses import dataclass

import numpy as np

from .pattern_file import PatternFile


def mean_dose(counts):
    """Mean counts per pattern of (N, Qy, Qx) ``counts`` (any dtype), summed in float64."""
    return float(np.asarray(counts).sum(axis=(1, 2), dtype=np.float64).mean())


def cache_dose(cache, path):
    """The ``dose`` of a loaded cache (NPZ or dict), with a clear error for a cache written before
    doses were recorded."""
    if "dose" not in cache:
        raise ValueError(f"{path}: this cache records no dose (mean counts per pattern); it was written by an "
                         "older version of the workflow. Rebuild it: snakemake --cores all --forcerun cache_scan")
    return float(cache["dose"])


def dose_factor(reference_dose, scan_dose):
    """What a scan's counts are multiplied by before a model sees them: the model's training dose
    over the scan's dose (both mean counts per pattern). Features at absolute scale (log counts)
    then mean the same at every dose; the lower dose's extra noise remains."""
    if not scan_dose > 0:
        raise ValueError(f"a scan with dose {scan_dose} (mean counts per pattern) has no signal to predict from")
    return float(reference_dose) / float(scan_dose)


@dataclass
class LabelledPixels:
    """The (cache number, pattern number) index of chosen pixels and their targets;
    ``dose_fractions`` (n,): the dose each pixel's pattern is thinned to before a model sees it
    (training augmentation), or None."""

    index: np.ndarray
    eds: np.ndarray
    haadf: np.ndarray
    dose_fractions: np.ndarray | None = None


class CacheSet:
    """Several scans' caches: labels and HAADF loaded, patterns read from disk where indexed
    (:class:`edsmaps.pattern_file.PatternFile`: memory does not grow with the scans)."""

    def __init__(self, cache_paths):
        self.scans = list(cache_paths)
        self.patterns, self.eds, self.haadf, self.doses = [], [], [], []
        self.elements, self.divisor = None, None
        for scan, path in cache_paths.items():
            with np.load(path, allow_pickle=False) as cache:
                self.patterns.append(PatternFile(path))
                self.eds.append(cache["targets"])
                self.haadf.append(cache["haadf"])
                self.doses.append(cache_dose(cache, path))
                names = [str(e) for e in cache["elements"]]
                if self.elements not in (None, names):
                    raise ValueError(f"{path}: elements {names} differ from another cache's {self.elements}")
                self.elements, self.divisor = names, float(cache["pattern_divisor"])
        shapes = {p.shape[1:] for p in self.patterns}
        if len(shapes) > 1:
            sizes = {scan: p.shape[1:] for scan, p in zip(self.scans, self.patterns)}
            raise ValueError(
                f"caches {[str(p) for p in cache_paths.values()]} have different pattern sizes {sizes}: one model "
                "needs one detector size. Export the scans with the same camera length and binning, or set "
                "conversion.bin_factor so they match."
            )
        self.pattern_shape = self.patterns[0].shape[1:]
        # Every scan is seen at the training scans' mean dose (see edsmaps.scaling.dose_factor).
        self.reference_dose = float(np.mean(self.doses))
        self.dose_factors = [dose_factor(self.reference_dose, dose) for dose in self.doses]

    def pixels(self, roles, wanted_roles):
        """Pixels whose role (dict scan -> (rows, cols)) is in ``wanted_roles``."""
        index, eds, haadf = [], [], []
        for number, scan in enumerate(self.scans):
            chosen = np.flatnonzero(np.isin(roles[scan].ravel(), wanted_roles))
            index.append(np.column_stack([np.full(len(chosen), number), chosen]))
            eds.append(self.eds[number][chosen])
            haadf.append(self.haadf[number][chosen])
        return LabelledPixels(np.concatenate(index), np.concatenate(eds), np.concatenate(haadf))
