"""A training job killed mid-run continues from its last finished epoch when re-run."""

import json
import os
import shutil
import signal
import subprocess
import time

import pandas as pd

from conftest import REPO, run_snakemake, snakemake_command

TARGET = "results/models/single/paper/model.keras"


def test_killed_training_resumes_from_its_last_finished_epoch(tmp_path):
    shutil.copytree(REPO / "config", tmp_path / "config")
    overlay = tmp_path / "long.yaml"
    overlay.write_text("training: {epochs: 12, patience: 12}\n")  # ~1 s an epoch
    run_snakemake(tmp_path, "results/splits/single.npz", overlays=[overlay])
    state = tmp_path / "results" / "checkpoints" / "single" / "paper" / "state.json"
    proc = subprocess.Popen(snakemake_command(tmp_path, TARGET, overlays=[overlay]), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists() and json.loads(state.read_text())["epochs_done"] >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = json.loads(state.read_text())["epochs_done"]
    assert 3 <= done < 12 and not (tmp_path / TARGET).exists()

    run_snakemake(tmp_path, "--unlock", overlays=[overlay])
    run_snakemake(tmp_path, TARGET, overlays=[overlay])
    log = (tmp_path / "logs" / "train_model" / "single" / "paper.log").read_text()
    assert f"resuming from the checkpoint after epoch {done}" in log
    history = pd.read_csv(tmp_path / "results" / "models" / "single" / "paper" / "history.csv")
    assert list(history["epoch"]) == list(range(len(history))) and len(history) == 12
    manifest = json.loads((tmp_path / "results" / "models" / "single" / "paper" / "manifest.json").read_text())
    assert manifest["result"]["resumed_after_epoch"] == done and manifest["result"]["epochs_run"] == 12
    assert manifest["config"]["training"]["epochs"] == 12  # the resolved config travels with the model
    # Checkpoints are removed once the model is written, with the folders they leave empty.
    assert not (tmp_path / "results" / "checkpoints").exists()
