"""Training, prediction and the dose series read patterns from disk as they need them: their peak
memory does not grow with the scan (each measured in its own process)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from edsmaps.strategies import TRAIN, UNUSED, VALIDATION, save_roles

Q = 64  # 8 KiB per float16 pattern
SMALL = 12_800  # 100 MiB of patterns; LARGE is four times that
LABELLED = 512  # training + validation pixels, the same in both scans

STEP = """
import json, sys
import numpy as np
sys.path.insert(0, {scripts!r})
from edsmaps.model import ModelSettings
from edsmaps.training import TrainingSettings, train_variant
from edsmaps.inference import load_trained_model, predict_patterns
from edsmaps.prediction_file import read_cache
from edsmaps.scaling import load_json

d, step = {folder!r}, {step!r}
if step == "train":
    settings = TrainingSettings(epochs=1, batch_size=64, mixed_precision=False, data_workers=2)
    model = ModelSettings(conv_filters=(4, 8), dense_units=(8,), dropout=0.0, batch_norm_momentum=0.9, input_pool=4)
    train_variant({{"s": d + "/cache.npz"}}, d + "/split.npz", settings, model, d + "/m.keras", d + "/h.csv",
                  d + "/scaling.json", d + "/manifest.json", threads=2)
elif step == "dose_series":
    from edsmaps.dose_series import predict_dose_series

    def pattern_sums(cache):  # a model reading every pattern, a batch at a time
        sums = [cache["patterns"][i:i + 256].astype(np.float32).sum(axis=(1, 2)) for i in range(0, len(cache["patterns"]), 256)]
        return np.concatenate(sums)[:, None].repeat(2, axis=1), None

    predict_dose_series({{"sums": ("sums", {{}})}}, {{"s": d + "/cache.npz"}}, {{}}, [0.5, 0.125], 3, d + "/series.npz",
                        lambda kind, paths: pattern_sums)
    with np.load(d + "/series.npz") as series:
        dose = series["calibrated__sums__s"].mean(axis=(1, 2, 3))
    assert abs(dose[1] / dose[0] - 0.25) < 0.01, dose  # each dose thinned from the scan's counts
else:
    cache = read_cache(d + "/cache.npz")
    model, scaling = load_trained_model(d + "/m.keras"), load_json(d + "/scaling.json")
    out = predict_patterns(model, cache["patterns"], np.arange(len(cache["patterns"])), scaling, 256,
                           float(cache["dose"]), data_workers=2)
    assert len(out["eds"]) == len(cache["patterns"])
# VmHWM: this program's own peak (getrusage's ru_maxrss also counts the forking test process).
peak_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"peak_mib": peak_kib / 1024}}))
"""


def write_scan(folder, n_patterns):
    """A cache of ``n_patterns`` Poisson patterns (a block repeated: writing stays cheap) whose
    first LABELLED pixels are labelled; every other pixel is predicted but never trained on."""
    rng = np.random.default_rng(0)
    block = rng.poisson(2.0, size=(SMALL // 16, Q, Q)).astype(np.float16)
    patterns = np.tile(block, (n_patterns // len(block), 1, 1))
    targets = rng.dirichlet([2, 2], size=n_patterns).astype(np.float32)
    np.savez(folder / "cache.npz", patterns=patterns, pattern_divisor=np.float64(1.0),
             dose=np.float64(block.astype(np.float32).sum(axis=(1, 2)).mean()), targets=targets,
             targets_unblurred=targets, haadf=np.ones(n_patterns, np.float32), has_haadf=np.bool_(True),
             has_eds=np.bool_(True), elements=np.array(["A", "B"]), scan_shape=np.array([n_patterns // 64, 64]),
             crop_origin=np.array([0, 0]), r_pixel_size=np.float64(1.0), r_pixel_units=np.array("nm"))
    roles = np.full(n_patterns, UNUSED, dtype=np.int8)
    roles[: LABELLED * 3 // 4], roles[LABELLED * 3 // 4 : LABELLED] = TRAIN, VALIDATION
    save_roles({"s": roles.reshape(n_patterns // 64, 64)}, folder / "split.npz")


def peak_mib(folder, step):
    script = STEP.format(scripts=str(REPO / "workflow" / "scripts"), folder=str(folder), step=step)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])["peak_mib"]


@pytest.fixture(scope="module")
def peaks(tmp_path_factory):
    measured = {}
    for size, n_patterns in (("small", SMALL), ("large", 4 * SMALL)):
        folder = tmp_path_factory.mktemp(f"memory_{size}")
        write_scan(folder, n_patterns)
        measured[size] = {step: peak_mib(folder, step) for step in ("train", "predict", "dose_series")}
    return measured


@pytest.mark.parametrize("step", ["train", "predict", "dose_series"])
def test_peak_memory_does_not_grow_with_the_scan(peaks, step):
    small, large = peaks["small"][step], peaks["large"][step]
    extra_patterns_mib = 3 * SMALL * Q * Q * 2 / 2**20  # 300 MiB that a step holding the patterns would add
    assert large <= 1.25 * small, f"{step}: peak {large:.0f} MiB on a scan 4x the size of one at {small:.0f} MiB"
    assert large - small < 0.25 * extra_patterns_mib
