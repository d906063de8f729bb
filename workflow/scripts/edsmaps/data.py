"""Stream training batches from NPZ caches without float64 or whole-dataset copies.

Import only after :func:`edsmaps.backend.setup_backend` (this module imports keras).
"""

import math

import keras
import numpy as np

from .augmentation import dihedral, dihedral_count, thin_counts
from .scaling import at_dose, scale_patterns


class PatternBatches(keras.utils.PyDataset):
    """Batches of scaled patterns (b, Qy, Qx, 1) float32 and targets from several caches.

    ``patterns``: list of (N_i, Qy, Qx) float16 arrays (one per cache); ``index``: (K, 2) int
    array of (cache number, pattern number); ``targets``: dict output name -> (K, d) float32
    aligned with ``index`` (None for prediction). Shuffles every epoch when ``shuffle``, the
    order drawn from (seed, epoch) so a resumed run sees the epochs an uninterrupted one would.
    Inputs come in the compute dtype of Keras' global policy (float16 under mixed precision).
    ``workers`` > 1 assembles batches in threads (NumPy releases the GIL), in order.
    ``dose_factors``: per cache, what its counts are multiplied by (:func:`edsmaps.cacheset.dose_factor`).
    Training augmentations (:mod:`edsmaps.augmentation`), drawn from (seed, epoch, batch):
    ``dihedral`` rotates/mirrors every pattern at random; ``min_dose_fraction`` < 1 thins each
    pattern to a dose fraction drawn uniformly from [min_dose_fraction, 1].
    """

    def __init__(self, patterns, index, targets, scaling, batch_size, shuffle=False, seed=0, dose_factors=None,
                 dihedral=False, min_dose_fraction=1.0, **kwargs):
        super().__init__(**kwargs)
        self.patterns = patterns
        self.index = np.asarray(index)
        self.targets = targets
        self.count_divisor = scaling["divisor"]
        self.scalings = [at_dose(scaling, f) for f in (dose_factors or [1.0] * len(patterns))]
        self.dihedral = dihedral
        self.min_dose_fraction = min_dose_fraction
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.set_epoch(0)
        self.input_dtype = np.dtype(keras.mixed_precision.global_policy().compute_dtype)

    def __len__(self):
        return math.ceil(len(self.index) / self.batch_size)

    def __getitem__(self, i):
        chosen = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        picks = self.index[chosen]
        shape = self.patterns[0].shape[1:]
        x = np.empty((len(chosen), *shape, 1), dtype=self.input_dtype)
        rng = np.random.default_rng([self.seed, self.epoch, i])
        for cache in np.unique(picks[:, 0]):
            rows = picks[:, 0] == cache
            x[rows, ..., 0] = scale_patterns(self.augmented(self.patterns[cache][picks[rows, 1]], rng),
                                             self.scalings[cache], self.input_dtype)
        if self.targets is None:
            return (x,)
        return x, {name: values[chosen] for name, values in self.targets.items()}

    def augmented(self, cached, rng):
        if self.min_dose_fraction < 1:
            fractions = rng.uniform(self.min_dose_fraction, 1.0, size=len(cached))
            cached = thin_counts(cached, self.count_divisor, fractions, rng)
        if self.dihedral:
            cached = dihedral(cached, rng.integers(0, dihedral_count(cached.shape[1:]), size=len(cached)))
        return cached

    def set_epoch(self, epoch):
        self.epoch = epoch
        n = len(self.index)
        self.order = np.random.default_rng([self.seed, epoch]).permutation(n) if self.shuffle else np.arange(n)

    def on_epoch_end(self):
        self.set_epoch(self.epoch + 1)
