"""Resume a killed training job from its last finished epoch.

After every epoch the job writes, into its own folder (not a declared output: Snakemake deletes
those when a job fails), the model and optimizer weights, the best weights so far and a state
file with the history, epoch timings and the early-stopping counters. Each file is written
under a temporary name and renamed, the state file last, so a kill at any moment leaves the
previous consistent checkpoint. A re-run loads it and continues; on success the folder is
removed.
"""

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

STATE = "state.json"
WEIGHTS = "latest.weights.h5"
BEST = "best_weights.npz"


def read_state(folder):
    """The last checkpoint's state dict, or None when there is none."""
    path = Path(folder) / STATE
    if not path.exists():
        return None
    return json.loads(path.read_text())


def restore(model, folder):
    """Load the checkpoint's weights (and optimizer state) into a compiled model; returns the
    state dict or None. The optimizer is built first so its variables can be restored."""
    state = read_state(folder)
    if state is None:
        return None
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(Path(folder) / WEIGHTS)
    return state


def load_best_weights(folder):
    path = Path(folder) / BEST
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as npz:
        return [npz[f"w{i}"] for i in range(len(npz.files))]


def checkpoint_callback(keras, folder, early_stopping, state=None):
    """A callback (place it after ``early_stopping``) that checkpoints every finished epoch
    into ``folder`` and, given a restored ``state``, puts the early-stopping counters back."""
    folder = Path(folder)

    class EpochCheckpoint(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rows = list(state["rows"]) if state else []
            self.epoch_seconds = list(state["epoch_seconds"]) if state else []

        def on_train_begin(self, logs=None):
            # EarlyStopping resets its counters in its own on_train_begin, which runs first.
            if state:
                early_stopping.wait, early_stopping.best = state["wait"], state["best"]
                early_stopping.best_epoch = state["best_epoch"]
                early_stopping.best_weights = load_best_weights(folder)

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_seconds.append(time.perf_counter() - self.start)
            self.rows.append({"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}})
            _make_folder(folder)
            self.model.save_weights(folder / f"next.{WEIGHTS}", overwrite=True)
            os.replace(folder / f"next.{WEIGHTS}", folder / WEIGHTS)
            if early_stopping.best_epoch == epoch and early_stopping.best_weights is not None:
                with open(folder / f"next.{BEST}", "wb") as fh:
                    np.savez(fh, **{f"w{i}": w for i, w in enumerate(early_stopping.best_weights)})
                os.replace(folder / f"next.{BEST}", folder / BEST)
            best = early_stopping.best
            new_state = {
                "epochs_done": epoch + 1, "rows": self.rows, "epoch_seconds": self.epoch_seconds,
                "wait": early_stopping.wait, "best": None if best is None else float(best),
                "best_epoch": early_stopping.best_epoch, "stopped": bool(self.model.stop_training),
            }
            (folder / f"next.{STATE}").write_text(json.dumps(new_state))
            os.replace(folder / f"next.{STATE}", folder / STATE)

    return EpochCheckpoint()


def _make_folder(folder, attempts=3):
    """mkdir -p that survives another job's :func:`clean` removing an empty parent meanwhile."""
    for attempt in range(attempts):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise


def clean(folder):
    """Remove a finished job's checkpoint folder, and its parents as far as they are left empty
    (``results/checkpoints/{strategy}/`` once every model of the strategy is done)."""
    shutil.rmtree(folder, ignore_errors=True)
    try:
        os.removedirs(Path(folder).parent)
    except OSError:
        pass  # a parent still holds another job's checkpoints
