"""A plain ReLU that only feeds a max pooling runs after it (on the pooled tensor); the model
must compute exactly what the layers as written compute."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.models.functional import Graph
from tests.helpers import assert_paths_agree, train_on_both_paths

tfl = tf.keras.layers


def _model(relu, padding, seed=0):
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape=(9, 9, 2))
    z = tfl.Conv2D(4, 3, padding="same")(inputs)
    z = tfl.MaxPool2D(pool_size=3, strides=2, padding=padding)(relu(z))
    outputs = tfl.Dense(3, activation="softmax")(tfl.Flatten()(z))
    model = tf.keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_relu_before_max_pool_runs_after_it_with_identical_results(padding):
    swapped = _model(tfl.ReLU(), padding)
    # A ReLU capped far above the data computes the same function but is never moved.
    as_written = _model(tfl.ReLU(max_value=1e30), padding)
    as_written.set_weights(swapped.get_weights())

    names = [type(n.layer).__name__ for n in swapped._graph.schedule]
    assert names.index("MaxPooling2D") < names.index("ReLU")
    assert [type(n.layer).__name__ for n in as_written._graph.schedule].index("ReLU") < \
        names.index("ReLU")
    # the model as written is what users see
    assert [type(layer).__name__ for layer in swapped.layers][2:4] == ["ReLU", "MaxPooling2D"]

    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 9, 9, 2)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 5)]
    np.testing.assert_allclose(swapped.predict(x, verbose=0), as_written.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-7)
    for _ in range(3):
        swapped.train_on_batch(x, y)
        as_written.train_on_batch(x, y)
    for a, b in zip(swapped.get_weights(), as_written.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_relu_read_elsewhere_is_not_moved():
    inputs = tf.keras.Input(shape=(4, 4, 1))
    r = tfl.ReLU()(inputs)
    outputs = tfl.Add()([tfl.Flatten()(tfl.MaxPool2D(pool_size=4)(r)),
                         tfl.Flatten()(tfl.MaxPool2D(pool_size=4)(r))])
    model = tf.keras.Model(inputs, outputs)
    assert [n.layer for n in model._graph.schedule] == [n.layer for n in model._graph.nodes]


# -- conv + max pool fusion ---------------------------------------------------------------------

def _conv_pool_model(conv_kwargs, pool_kwargs, shape=(16, 16, 3), seed=0, dtype=None):
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape=shape, dtype=dtype)
    z = tfl.Conv2D(8, 4, **conv_kwargs)(inputs)
    z = tfl.MaxPool2D(**pool_kwargs)(tfl.ReLU()(z))
    z = tfl.Conv2D(16, 2, padding="same")(z)  # fused too, and needs its input gradient
    z = tfl.MaxPool2D(pool_size=2)(tfl.ReLU()(z))
    outputs = tfl.Dense(6, activation="softmax")(tfl.Flatten()(z))
    model = tf.keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _kinds(model):
    return [type(n.layer).__name__ for n in model._graph.schedule]


def _unfused_copy(model, build):
    twin = build()
    twin._set_graph(Graph(twin._graph.inputs, twin._graph.outputs, fuse=False))
    twin.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    twin.set_weights(model.get_weights())
    return twin


@pytest.mark.parametrize("ties", [False, True])
def test_conv_then_max_pool_runs_fused_with_the_results_of_the_layers(ties):
    def build():
        return _conv_pool_model({"padding": "same"}, {"pool_size": 8})

    fused = build()
    assert _kinds(fused) == ["ConvMaxPool", "ReLU", "ConvMaxPool", "ReLU", "Flatten", "Dense"]
    plain = _unfused_copy(fused, build)
    assert "ConvMaxPool" not in _kinds(plain)
    # what users see is unchanged
    assert [type(layer).__name__ for layer in fused.layers][1:3] == ["Conv2D", "ReLU"]

    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 16, 16, 3)).astype(np.float32)
    if ties:  # flat image regions give equal conv outputs inside a window
        x = np.round(x).clip(0, 1)
        x[:, :8, :8] = 0.5
    y = np.eye(6, dtype=np.float32)[rng.integers(0, 6, 6)]
    np.testing.assert_allclose(fused.predict(x, verbose=0), plain.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-7)
    history_fused = fused.fit(x, y, batch_size=3, epochs=3, verbose=0, shuffle=False)
    history_plain = plain.fit(x, y, batch_size=3, epochs=3, verbose=0, shuffle=False)
    np.testing.assert_allclose(history_fused.history["loss"], history_plain.history["loss"],
                               rtol=1e-5)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("conv_kwargs, pool_kwargs", [
    ({"padding": "same", "activation": "tanh"}, {"pool_size": 8}),      # activation in the conv
    ({"padding": "same"}, {"pool_size": 3, "strides": 2}),               # overlapping windows
    ({"padding": "same"}, {"pool_size": 3, "padding": "same"}),          # padded: 16 % 3 != 0
])
def test_conv_pool_pairs_that_differ_are_not_fused(conv_kwargs, pool_kwargs):
    model = _conv_pool_model(conv_kwargs, pool_kwargs)
    assert _kinds(model)[:2] == ["Conv2D", "MaxPooling2D"]


def _mnist_like(seed=0):
    """The keras.io MNIST convnet, smaller: ReLU convs read by 2x2 pools, the second pool
    leaving a row and a column of its 7x7 input out."""
    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential([
        tfl.Input(shape=(18, 18, 1)),
        tfl.Conv2D(6, 3, activation="relu"),
        tfl.MaxPooling2D(2),
        tfl.Conv2D(5, 2, activation="relu"),
        tfl.MaxPooling2D(2),
        tfl.Flatten(),
        tfl.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


@pytest.mark.parametrize("ties", [False, True])
def test_relu_conv_then_max_pool_runs_fused_with_the_results_of_the_plain_path(ties):
    model = _mnist_like()
    assert _kinds(model) == ["ConvMaxPool", "ConvMaxPool", "Flatten", "Dense"]
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 18, 18, 1)).astype(np.float32)
    if ties:  # flat regions: equal conv outputs in a window, and windows rectified to 0
        x = np.round(x).clip(-1, 1)
        x[:, :9] = -1.0
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 4)]
    assert_paths_agree(train_on_both_paths(_mnist_like, x, y, steps=3))


def test_same_pooling_that_adds_no_padding_is_fused():
    model = _conv_pool_model({"padding": "same"}, {"pool_size": 4, "padding": "same"})
    assert _kinds(model)[0] == "ConvMaxPool"


def test_conv_output_read_twice_is_not_fused():
    inputs = tf.keras.Input(shape=(8, 8, 2))
    z = tfl.Conv2D(4, 3, padding="same")(inputs)
    a = tfl.Flatten()(tfl.MaxPool2D(pool_size=2)(z))
    b = tfl.Flatten()(tfl.MaxPool2D(pool_size=4)(z))
    model = tf.keras.Model(inputs, tfl.Concatenate()([a, b]))
    assert "ConvMaxPool" not in _kinds(model)


# -- batch normalization + max pool fusion ----------------------------------------------------

def _bn_pool_model(bn_kwargs=None, seed=0):
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input(shape=(12, 12, 3))
    z = tfl.ZeroPadding2D(1)(inputs)
    # No conv bias: BatchNormalization removes it, so its true gradient is 0 and Adam turns the
    # rounding noise of that 0 into full-size steps (tests/fixtures/KERAS_SEMANTICS.md §11).
    z = tfl.Conv2D(6, 3, use_bias=False)(z)
    z = tfl.BatchNormalization(axis=3, **(bn_kwargs or {}))(z)
    z = tfl.MaxPool2D(pool_size=2)(tfl.ReLU()(z))
    outputs = tfl.Dense(1, activation="sigmoid")(tfl.Flatten()(z))
    model = tf.keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _compare_with_unfused(build, x, y, epochs=3):
    fused = build()
    plain = build()
    plain._set_graph(Graph(plain._graph.inputs, plain._graph.outputs, fuse=False))
    plain.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    plain.set_weights(fused.get_weights())
    np.testing.assert_allclose(fused.predict(x, verbose=0), plain.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-7)
    h_fused = fused.fit(x, y, batch_size=4, epochs=epochs, verbose=0, shuffle=False)
    h_plain = plain.fit(x, y, batch_size=4, epochs=epochs, verbose=0, shuffle=False)
    np.testing.assert_allclose(h_fused.history["loss"], h_plain.history["loss"], rtol=1e-5)
    for a, b in zip(fused.get_weights(), plain.get_weights()):  # moving statistics included
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fused.predict(x, verbose=0), plain.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-6)
    return fused


def _binary_data(n=8, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 12, 12, 3)).astype(np.float32)
    y = rng.integers(0, 2, (n, 1)).astype(np.float32)
    return x, y


@pytest.mark.parametrize("bn_kwargs", [None, {"center": False}, {"scale": False},
                                       {"momentum": 0.5}])
def test_batch_norm_then_max_pool_runs_fused_with_the_results_of_the_layers(bn_kwargs):
    x, y = _binary_data()
    model = _compare_with_unfused(lambda: _bn_pool_model(bn_kwargs), x, y)
    assert _kinds(model) == ["ZeroPadding2D", "Conv2D", "BatchNormMaxPool", "ReLU", "Flatten",
                             "Dense"]


def test_batch_norm_with_a_negative_gamma_runs_the_layers_one_after_the_other():
    x, y = _binary_data()

    def build():
        model = _bn_pool_model()
        bn = model.layers[3]
        gamma = bn.gamma.value.copy()
        gamma[2] = -0.5  # this channel's normalization is decreasing: max becomes min
        bn.gamma.assign(gamma)
        return model

    model = _compare_with_unfused(build, x, y, epochs=2)
    assert model.layers[3].gamma.value[2] < 0


def test_frozen_batch_norm_in_training_runs_the_layers_one_after_the_other():
    x, y = _binary_data()

    def build():
        model = _bn_pool_model()
        model.layers[3].trainable = False
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        return model

    _compare_with_unfused(build, x, y, epochs=2)


def test_batch_statistics_survive_a_large_mean():
    # raw moments would cancel catastrophically here; the fused layer must fall back
    from convnp.ops.batchnorm import moments

    rng = np.random.default_rng(0)
    x = (1e4 + rng.standard_normal((4096, 3))).astype(np.float32)
    mean, var = moments(x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mean, x64.mean(axis=0), rtol=1e-7)
    np.testing.assert_allclose(var, x64.var(axis=0), rtol=1e-4)
    small = rng.standard_normal((4096, 3)).astype(np.float32) * 3 + 1
    np.testing.assert_allclose(moments(small)[1],
                               small.astype(np.float64).var(axis=0), rtol=1e-6)


def test_fused_calls_in_a_sub_model_fixed_in_inference_mode_still_train():
    # Keras: base(x, training=False) inside a bigger model keeps batch normalization in
    # inference mode, yet the base's weights train when base.trainable is True. The fused
    # calls keep nothing for backward in inference mode, so they must replay the call.
    def build(fuse):
        tf.keras.utils.set_random_seed(0)
        base = tf.keras.Sequential([
            tfl.Input(shape=(8, 8, 2)),
            tfl.Conv2D(4, 3, padding="same"),
            tfl.MaxPool2D(2),                       # conv + pool
            tfl.Conv2D(4, 2, padding="same", use_bias=False),
            tfl.BatchNormalization(),
            tfl.MaxPool2D(2),                       # batch norm + pool
        ], name="base")
        if not fuse:
            base._set_graph(Graph(base._graph.inputs, base._graph.outputs, fuse=False))
        inputs = tf.keras.Input(shape=(8, 8, 2))
        outputs = tfl.Dense(1, activation="sigmoid")(tfl.Flatten()(base(inputs, training=False)))
        model = tf.keras.Model(inputs, outputs)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        return model, base

    (fused, fused_base), (plain, plain_base) = build(True), build(False)
    assert [type(n.layer).__name__ for n in fused_base._graph.schedule] == [
        "ConvMaxPool", "Conv2D", "BatchNormMaxPool"]
    assert "ConvMaxPool" not in [type(n.layer).__name__ for n in plain_base._graph.schedule]
    plain.set_weights(fused.get_weights())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 8, 8, 2)).astype(np.float32)
    y = rng.integers(0, 2, (6, 1)).astype(np.float32)
    before = fused_base.get_weights()
    h_fused = fused.fit(x, y, batch_size=3, epochs=2, verbose=0, shuffle=False)
    h_plain = plain.fit(x, y, batch_size=3, epochs=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(h_fused.history["loss"], h_plain.history["loss"], rtol=1e-5)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert not np.allclose(before[0], fused_base.get_weights()[0])  # the conv did train
