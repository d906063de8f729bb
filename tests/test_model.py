import pytest

from edsmaps.model import InputTooSmallError, ModelSettings, build_model, compile_model, feature_size

keras = pytest.importorskip("keras")


def test_default_is_the_papers_code3():
    model = build_model((256, 256), 5)
    assert model.count_params() == 11_170_693
    kinds = [layer.__class__.__name__ for layer in model.layers]
    assert kinds == [
        "InputLayer", "Conv2D", "BatchNormalization", "ReLU", "MaxPooling2D",
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D",
        "Dropout", "Flatten", "Dense", "Dense", "Dense", "Dense",
    ]  # fmt: skip
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [32, 64, 128, 256, 512]
    assert [c.kernel_size for c in convs] == [(3, 3)] * 5
    assert [c.activation.__name__ for c in convs] == ["linear", "relu", "relu", "relu", "relu"]
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    assert [d.units for d in dense] == [512, 256, 128, 5]
    assert dense[-1].activation.__name__ == "softmax"
    assert model.get_layer(index=model.layers.index(dense[0]) - 2).rate == 0.5


def test_compile_uses_adam_and_mae():
    model = compile_model(build_model((96, 96), 5))
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)


def test_haadf_variant_has_two_relu_heads():
    model = build_model((96, 96), 5, ModelSettings(haadf_head=True, output_activation="relu"))
    assert sorted(model.output_names) == ["eds", "haadf"]
    assert model.get_layer("eds").activation.__name__ == "relu"
    assert model.get_layer("haadf").units == 1


def test_input_too_small_is_refused_with_the_minimum():
    assert feature_size(94, 5, 3) == 1 and feature_size(93, 5, 3) == 0
    build_model((94, 94), 5)
    with pytest.raises(InputTooSmallError, match="93x93 px are too small .* at least 94 px"):
        build_model((93, 93), 5)


def test_closure_adds_an_other_output_that_completes_the_composition():
    import numpy as np

    from edsmaps.inference import predict_patterns
    from edsmaps.training import with_other

    eds = np.array([[0.2, 0.3], [0.6, 0.5]], dtype=np.float32)
    np.testing.assert_allclose(with_other(eds), [[0.2, 0.3, 0.5], [0.6, 0.5, 0.0]])
    settings = ModelSettings(conv_filters=(4,), dense_units=(8,), closure=True)
    model = build_model((16, 16), 3, settings)  # 2 elements + other
    patterns = np.random.default_rng(0).random((5, 16, 16)).astype(np.float16)
    scaling = {"method": "paper", "divisor": 65536.0, "elements": ["O", "Te"], "dose": 1.0}
    out = predict_patterns(model, patterns, np.arange(5), scaling, batch_size=4, dose=1.0)
    assert out["eds"].shape == (5, 2) and out["other"].shape == (5, 1)
    np.testing.assert_allclose(out["eds"].sum(axis=1) + out["other"][:, 0], 1, rtol=1e-5)


def test_input_pooling_averages_before_the_conv_stack_and_counts_in_the_minimum():
    settings = ModelSettings(conv_filters=(4, 8), dense_units=(8,), input_pool=4)
    model = build_model((40, 40), 2, settings)
    assert model.get_layer("input_pool").pool_size == (4, 4)
    with pytest.raises(InputTooSmallError, match="after 4x4 input pooling .* at least 40 px"):
        build_model((36, 36), 2, settings)
