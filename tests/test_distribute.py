"""Data-parallel training (training.distribute) on the CPU split into two devices: the same loss
curve and predictions as one device with the same global batch (JAX where it is installed)."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO
from synthetic import write_cache
from test_physics_cnn import SCAN_SHAPE, synthetic_patterns

from edsmaps.strategies import write_split

GLOBAL_BATCH = 64
# Measured: training losses equal to 4 digits, validation losses within 1.1e-3 (relative),
# predictions within 6.3e-4 (the replicas sum their gradients in another order).
TOLERANCE = 5e-3
PREDICTION_TOLERANCE = 5e-3

TRAIN = """
import json, sys
import numpy as np
sys.path.insert(0, {scripts!r})
backend = {backend!r}
if backend == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
else:
    import os

    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
from edsmaps.inference import load_trained_model, predict_patterns
from edsmaps.model import ModelSettings
from edsmaps.prediction_file import read_cache
from edsmaps.scaling import load_json
from edsmaps.training import TrainingSettings, train_variant

d, devices = {folder!r}, {devices}
out = d + f"/{{devices}}"
settings = TrainingSettings(backend=backend, epochs=4, patience=4, batch_size={global_batch} // devices, learning_rate=3e-3,
                            mixed_precision=False, deterministic=True, distribute=devices, data_workers=1)
model = ModelSettings(conv_filters=(8, 16), dense_units=(16,), dropout=0.0, batch_norm_momentum=0.9)
history = train_variant({{"s": d + "/s.npz"}}, d + "/split.npz", settings, model, out + ".keras", out + ".csv",
                        out + ".json", out + "_manifest.json")
cache = read_cache(d + "/s.npz")
predicted = predict_patterns(load_trained_model(out + ".keras"), cache["patterns"], np.arange(len(cache["patterns"])),
                             load_json(out + ".json"), 64, float(cache["dose"]))["eds"]
with open(out + "_manifest.json") as fh:
    result = json.load(fh)["result"]
print(json.dumps({{"loss": [r["loss"] for r in history], "val_loss": [r["val_loss"] for r in history],
                  "predicted": predicted.tolist(), "replicas": result["replicas"],
                  "global_batch_size": result["global_batch_size"]}}))
"""


def trained(folder, devices, backend):
    script = TRAIN.format(scripts=str(REPO / "workflow" / "scripts"), folder=str(folder), devices=devices,
                          global_batch=GLOBAL_BATCH, backend=backend)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", params=["tensorflow", "jax"])
def runs(request, tmp_path_factory):
    if request.param == "jax":
        pytest.importorskip("jax", reason="the JAX backend is optional")
    d = tmp_path_factory.mktemp(f"distribute_{request.param}")
    patterns, targets = synthetic_patterns(SCAN_SHAPE[0] * SCAN_SHAPE[1], np.random.default_rng(0))
    cache = write_cache(d / "s.npz", patterns, targets, np.ones(len(targets)), ["A", "B"], SCAN_SHAPE)
    write_split({"s": cache}, {"train": ["first"], "test": ["first"]}, ["s"], d / "split.npz")
    return {devices: trained(d, devices, request.param) for devices in (1, 2)}


def test_two_devices_train_with_the_global_batch_and_say_so(runs):
    assert (runs[1]["replicas"], runs[1]["global_batch_size"]) == (1, GLOBAL_BATCH)
    assert (runs[2]["replicas"], runs[2]["global_batch_size"]) == (2, GLOBAL_BATCH)


def test_two_devices_follow_the_loss_curve_of_one(runs):
    for key in ("loss", "val_loss"):
        one, two = np.array(runs[1][key]), np.array(runs[2][key])
        assert len(one) == len(two) == 4
        np.testing.assert_allclose(two, one, rtol=TOLERANCE)
    assert runs[2]["loss"][-1] < runs[2]["loss"][0]  # it learns


def test_two_devices_give_the_same_predictions(runs):
    one, two = np.array(runs[1]["predicted"]), np.array(runs[2]["predicted"])
    assert np.abs(two - one).max() < PREDICTION_TOLERANCE


def test_more_devices_than_visible_is_refused_with_the_fix():
    # In its own process: listing devices starts TensorFlow, whose thread settings are then fixed
    # for every later test in this one.
    script = f"""
import sys
sys.path.insert(0, {str(REPO / "workflow" / "scripts")!r})
from edsmaps.backend import distribution
try:
    distribution("tensorflow", 64)
except ValueError as error:
    print(error)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search("distribute: 64 devices asked for.*visible", done.stdout)
