"""The paper's Code 3 CNN as a configurable Keras 3 builder (functional API, backend-agnostic)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelSettings:
    """Defaults are Code 3: 32-filter conv + BatchNorm + ReLU, then 64/128/256/512 conv+ReLU,
    each followed by 2x2 max-pooling; Dropout 0.5; Dense 512/256/128 ReLU; softmax output.
    ``batch_norm_momentum`` 0.99 is Keras' default; a short run (few hundred steps) needs a
    lower value or its inference-time statistics are still mostly the initial ones.
    ``closure`` adds an "other" output (1 - sum of the predicted elements), so a softmax no
    longer forces a subset of the elements to sum to one."""

    conv_filters: tuple[int, ...] = (32, 64, 128, 256, 512)
    kernel_size: int = 3
    batch_norm_momentum: float = 0.99
    dropout: float = 0.5
    dense_units: tuple[int, ...] = (512, 256, 128)
    output_activation: str = "softmax"
    haadf_head: bool = False
    closure: bool = False
    input_pool: int = 1


class InputTooSmallError(ValueError):
    pass


def feature_size(size, n_stages, kernel_size):
    """Spatial size after ``n_stages`` of (valid conv, 2x2 max-pool)."""
    for _ in range(n_stages):
        size = (size - kernel_size + 1) // 2
    return size


def build_model(pattern_shape, n_elements, settings: ModelSettings = ModelSettings(), synchronized=False):
    """Uncompiled Keras model: input (Qy, Qx, 1) -> {"eds": (n_elements,)[, "haadf": (1,)]}.

    ``synchronized``: batch statistics over the global batch of every replica (data-parallel
    training on TensorFlow), so that several devices train as one with the global batch.

    Raises InputTooSmallError when the patterns do not survive the pooling stack.
    """
    import keras
    from keras import layers

    smallest = min(pattern_shape) // settings.input_pool
    if feature_size(smallest, len(settings.conv_filters), settings.kernel_size) < 1:
        need = 1
        for _ in settings.conv_filters:
            need = 2 * need + settings.kernel_size - 1
        raise InputTooSmallError(
            f"patterns of {pattern_shape[0]}x{pattern_shape[1]} px are too small for "
            f"{len(settings.conv_filters)} conv+pool stages after {settings.input_pool}x{settings.input_pool} input "
            f"pooling (need at least {need * settings.input_pool} px); use less binning (conversion.bin_factor), "
            "a smaller input_pool or fewer conv_filters."
        )
    inputs = keras.Input(shape=(*pattern_shape, 1), name="pattern")
    x = inputs
    if settings.input_pool > 1:
        x = layers.AveragePooling2D(pool_size=settings.input_pool, name="input_pool")(x)
    for i, filters in enumerate(settings.conv_filters):
        k = (settings.kernel_size, settings.kernel_size)
        if i == 0:
            x = layers.Conv2D(filters, k)(x)
            x = layers.BatchNormalization(momentum=settings.batch_norm_momentum, synchronized=synchronized)(x)
            x = layers.ReLU()(x)
        else:
            x = layers.Conv2D(filters, k, activation="relu")(x)
        x = layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = layers.Dropout(settings.dropout)(x)
    x = layers.Flatten()(x)
    for units in settings.dense_units:
        x = layers.Dense(units, activation="relu")(x)
    # float32 outputs keep mixed-precision training numerically safe.
    outputs = {"eds": layers.Dense(n_elements, activation=settings.output_activation, dtype="float32", name="eds")(x)}
    if settings.haadf_head:
        outputs["haadf"] = layers.Dense(1, activation="relu", dtype="float32", name="haadf")(x)
    return keras.Model(inputs, outputs, name="eds_cnn")


def compile_model(model, learning_rate=1e-4, loss="mae", haadf_loss_weight=1.0):
    """Adam + MAE as in Code 3; the HAADF head (if any) gets ``haadf_loss_weight``."""
    import keras

    losses = {name: loss for name in model.output_names}
    weights = {name: (haadf_loss_weight if name == "haadf" else 1.0) for name in model.output_names}
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=losses,
        loss_weights=weights,
        metrics={name: ["mae"] for name in model.output_names},
    )
    return model
