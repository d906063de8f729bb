"""Train one CNN variant for one split strategy on the NPZ caches of its training scans."""

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .backend import distribution, setup_backend
from .cacheset import CacheSet
from .model import ModelSettings, build_model, compile_model
from .provenance import write_manifest
from .atomic import write_json
from .scaling import fit_input_scaling
from .strategies import TRAIN, VALIDATION, load_roles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingSettings:
    """Optimisation and runtime settings; defaults are the paper's Code 3/4 values.
    ``dihedral_augmentation`` and ``min_dose_fraction`` < 1 augment training batches
    (:class:`edsmaps.data.PatternBatches`), never validation ones."""

    backend: str = "tensorflow"
    seed: int = 42
    deterministic: bool = False
    mixed_precision: bool = True
    input_scaling: str = "log"
    log_percentile: float = 99.9
    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-4
    patience: int = 5
    restore_best_weights: bool = False
    haadf_loss_weight: float = 1.0
    data_workers: int = 4
    dihedral_augmentation: bool = False
    min_dose_fraction: float = 1.0
    distribute: int = 1  # devices trained on in parallel, each with batch_size (edsmaps.backend.distribution)


def write_history(rows, path):
    """History CSV (epoch, loss, metrics, val_loss, ...), one row per finished epoch."""
    import csv

    with atomic_output(path) as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["epoch"])
            writer.writeheader()
            writer.writerows(rows)


def with_other(eds):
    """Append the "other" column, 1 - sum of the elements (>= 0), to (n, E) fractions."""
    other = np.clip(1 - eds.sum(axis=1, keepdims=True, dtype=np.float64), 0, None)
    return np.concatenate([eds, other.astype(eds.dtype)], axis=1)


def target_dict(pixels, haadf_scale, with_haadf, closure=False):
    eds = pixels.eds.astype(np.float32)
    targets = {"eds": with_other(eds) if closure else eds}
    if with_haadf:
        targets["haadf"] = (pixels.haadf / haadf_scale).astype(np.float32)[:, None]
    return targets


def train_variant(
    cache_paths,
    split_path,
    settings: TrainingSettings,
    model_settings: ModelSettings,
    model_path,
    history_path,
    scaling_path,
    manifest_path,
    tensorboard_dir=None,
    threads=None,
    resume_dir=None,
    provenance=None,
):
    """Fit the model on TRAIN pixels with early stopping on VALIDATION pixels of the training
    scans; write the model, history CSV, input scaling JSON and a provenance manifest.

    Args:
        cache_paths: {scan: cache NPZ} of the training scans.
        split_path: the strategy's split NPZ (pixel roles).
        settings: optimisation and runtime settings.
        model_settings: the architecture (:class:`edsmaps.model.ModelSettings`).
        model_path: the trained ``.keras`` model (best validation epoch with
            ``restore_best_weights``).
        history_path: CSV, one row per epoch: loss, val_loss, metrics, seconds.
        scaling_path: JSON of the input scaling fitted on training patterns only.
        manifest_path: JSON of settings, pixel counts, versions and ``provenance``.
        tensorboard_dir: TensorBoard logs, or None.
        threads: CPU threads for the backend, or None for all.
        resume_dir: checkpoints of every finished epoch; a re-run after a kill continues from the
            last one (see :mod:`edsmaps.resume`); removed on success.
        provenance: anything JSON-able (e.g. the resolved config) stored in the manifest.
    """
    import tempfile

    from . import resume

    keras = setup_backend(settings.backend, threads, settings.seed, settings.deterministic, settings.mixed_precision)
    from .data import PatternBatches

    roles = load_roles(split_path)
    caches = CacheSet(cache_paths)
    train = caches.pixels(roles, [TRAIN])
    val = caches.pixels(roles, [VALIDATION])
    if len(train.index) == 0 or len(val.index) == 0:
        raise ValueError(f"{split_path}: the strategy leaves {len(train.index)} training and {len(val.index)} "
                         "validation pixels; both must be non-empty (check validation_fraction and the crop).")
    scaling = fit_input_scaling(
        settings.input_scaling,
        [(p, train.index[train.index[:, 0] == i, 1]) for i, p in enumerate(caches.patterns)],
        caches.divisor,
        settings.log_percentile,
        seed=settings.seed,
    )
    haadf_scale = 1.0
    if model_settings.haadf_head:
        if not np.isfinite(train.haadf).all():
            raise ValueError("the HAADF-auxiliary variant needs HAADF maps for every training scan (data.haadf)")
        haadf_scale = float(train.haadf.mean())
    scaling.update(elements=caches.elements, haadf_scale=haadf_scale, pattern_shape=list(caches.pattern_shape),
                   dose=caches.reference_dose)

    n_outputs = len(caches.elements) + int(model_settings.closure)
    scope, replicas = distribution(settings.backend, settings.distribute)
    with scope:
        # JAX's DataParallel computes batch statistics over the global batch already.
        synchronized = replicas > 1 and settings.backend == "tensorflow"
        model = build_model(tuple(caches.pattern_shape), n_outputs, model_settings, synchronized=synchronized)
        compile_model(model, settings.learning_rate, "mae", settings.haadf_loss_weight)
    global_batch = settings.batch_size * replicas
    train_batches = PatternBatches(
        caches.patterns, train.index, target_dict(train, haadf_scale, model_settings.haadf_head, model_settings.closure), scaling,
        global_batch, shuffle=True, seed=settings.seed, workers=settings.data_workers,
        dose_factors=caches.dose_factors, dihedral=settings.dihedral_augmentation,
        min_dose_fraction=settings.min_dose_fraction,
    )
    val_batches = PatternBatches(
        caches.patterns, val.index, target_dict(val, haadf_scale, model_settings.haadf_head, model_settings.closure), scaling,
        global_batch, workers=settings.data_workers, dose_factors=caches.dose_factors,
    )
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=settings.patience, restore_best_weights=settings.restore_best_weights
    )
    with tempfile.TemporaryDirectory() as scratch:
        checkpoints = Path(resume_dir) if resume_dir is not None else Path(scratch)
        state = resume.restore(model, checkpoints)
        initial_epoch = state["epochs_done"] if state else 0
        if state:
            log.info("resuming from the checkpoint after epoch %d in %s", initial_epoch, checkpoints)
            train_batches.set_epoch(initial_epoch)
        checkpoint = resume.checkpoint_callback(keras, checkpoints, early_stopping, state)
        callbacks = [early_stopping, checkpoint]
        if tensorboard_dir is not None and keras.backend.backend() == "tensorflow":
            callbacks.append(keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir)))
        start = time.perf_counter()
        if state and (state["stopped"] or initial_epoch >= settings.epochs):
            best = resume.load_best_weights(checkpoints)  # stopped, then killed before saving
            if settings.restore_best_weights and best is not None:
                model.set_weights(best)
        else:
            model.fit(train_batches, validation_data=val_batches, epochs=settings.epochs, initial_epoch=initial_epoch,
                      callbacks=callbacks, verbose=2, shuffle=False)  # PatternBatches shuffles, from its seed
        seconds = time.perf_counter() - start
    history = checkpoint.rows
    write_history(history, history_path)
    epochs_run = len(history)
    val_loss = np.array([row["val_loss"] for row in history])
    with atomic_output(model_path) as tmp:
        model.save(tmp)
    write_json(scaling_path, scaling)
    write_manifest(
        manifest_path,
        training=asdict(settings),
        model=asdict(model_settings),
        config=provenance,
        data={
            "caches": {scan: str(p) for scan, p in cache_paths.items()},
            "roles": str(split_path),
            "train_pixels": len(train.index),
            "validation_pixels": len(val.index),
            "elements": caches.elements,
        },
        result={
            "epochs_run": epochs_run,
            "best_epoch": int(np.argmin(val_loss)) + 1,
            "best_val_loss": float(np.min(val_loss)),
            "parameters": int(model.count_params()),
            "seconds": float(np.sum(checkpoint.epoch_seconds)),
            "train_patterns_per_s": epochs_run * len(train.index) / float(np.sum(checkpoint.epoch_seconds)),
            "epoch_seconds": checkpoint.epoch_seconds,
            "resumed_after_epoch": initial_epoch,
            "backend": keras.backend.backend(),
            "replicas": replicas,
            "global_batch_size": global_batch,
        },
    )
    if resume_dir is not None:
        resume.clean(resume_dir)
    log.info("trained %d epochs in %.1f s (this run)", epochs_run, seconds)
    return history
