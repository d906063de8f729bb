"""The only place that touches Keras backend specifics: backend choice, threads, seeds,
determinism, GPU memory growth and mixed precision.

Call :func:`setup_backend` before anything imports keras: ``KERAS_BACKEND`` and oneDNN
settings are read once at import time.
"""

import logging
import os
import random

import numpy as np

log = logging.getLogger(__name__)


def setup_backend(backend="tensorflow", threads=None, seed=0, deterministic=False, mixed_precision=False):
    """Configure Keras and return the imported ``keras`` module.

    ``deterministic`` makes CPU runs bit-identical (oneDNN off, TF op determinism) at about
    half the CPU training speed. ``mixed_precision`` is applied only when a GPU is present.
    Returns keras; ``keras.backend.backend()`` names the backend in use.
    """
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if deterministic:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
        os.environ["TF_DETERMINISTIC_OPS"] = "1"
        os.environ["PYTHONHASHSEED"] = str(seed)
    gpu = False
    if backend == "tensorflow":
        import tensorflow as tf

        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
        gpus = tf.config.list_physical_devices("GPU")
        for device in gpus:
            tf.config.experimental.set_memory_growth(device, True)  # share the GPU, don't grab it all
        gpu = bool(gpus)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
    elif backend == "jax":
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        import jax

        gpu = any(d.platform == "gpu" for d in jax.devices())
    elif backend == "torch":
        import torch

        if threads:
            torch.set_num_threads(threads)
        if deterministic:
            torch.use_deterministic_algorithms(True)
        gpu = torch.cuda.is_available()
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    if mixed_precision and gpu:
        keras.mixed_precision.set_global_policy("mixed_float16")
    log.info("keras %s on %s backend, gpu=%s, deterministic=%s", keras.__version__, backend, gpu, deterministic)
    return keras


def distribution(backend, devices):
    """(context to build and compile the model in, replicas) for data-parallel training on
    ``devices`` devices: the GPUs, else logical CPU devices (tests split the CPU). 1: one device,
    as without this. Each replica takes one batch of ``batch_size``; the global batch is
    ``batch_size`` x replicas.

    TensorFlow: ``tf.distribute.MirroredStrategy``; JAX: Keras' ``DataParallel`` distribution.

    Raises:
        ValueError: fewer devices visible than asked, or a backend without data parallelism here.
    """
    import contextlib

    if devices == 1:
        return contextlib.nullcontext(), 1
    if backend == "tensorflow":
        import tensorflow as tf

        found = [d.name for d in tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")]
    elif backend == "jax":
        import keras

        found = keras.distribution.list_devices()  # the default platform's: GPUs where there are any
    else:
        raise ValueError(f"training.distribute: {devices} needs the tensorflow or jax backend, not {backend}")
    if len(found) < devices:
        raise ValueError(f"training.distribute: {devices} devices asked for, {len(found)} visible ({found}); request "
                         f"that many GPUs (the SLURM profile asks for training.distribute) or set it to {len(found)}")
    if backend == "tensorflow":
        strategy = tf.distribute.MirroredStrategy(devices=found[:devices])
        log.info("training on %d replicas: %s", strategy.num_replicas_in_sync, found[:devices])
        return strategy.scope(), strategy.num_replicas_in_sync
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=found[:devices]))
    log.info("training on %d replicas: %s", devices, found[:devices])
    return contextlib.nullcontext(), devices
