"""``keras.ops`` functions custom Keras 3 layers and losses use (``conv``, ``pad``,
``moments``, ``take_along_axis``, the crossentropies, ...): forward values, dtypes and tape
gradients of ``sum(y * r)`` against Keras 3.15.1 on TensorFlow 2.21 in
``tests/fixtures/keras_ops_more.npz`` (made by ``make_keras_ops_more.py`` from the calls in
``keras_ops_more_cases.py``), and the exception classes Keras raises for bad arguments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.keras import ops
from tests.fixtures.keras_ops_more_cases import CASES, error_probes
from tests.helpers import check_recorded_case

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras_ops_more.npz"


@pytest.fixture(scope="module")
def golden():
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_and_gradient_match_keras(case, golden):
    check_recorded_case(case, CASES, golden, ops, float32_tol=1e-5)


PROBES = error_probes(ops, tf.constant)


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_bad_arguments_raise_keras_exception_class(probe, golden):
    expected = str(golden[f"errors/{probe}"])
    assert expected, "Keras raised nothing for this probe"
    with pytest.raises(Exception) as info:
        PROBES[probe]()
    assert type(info.value).__name__ == expected


@pytest.mark.parametrize("space", ["nn", "numpy", "image"])
def test_submodules_hold_keras_names_and_import(space, golden):
    import importlib

    module = importlib.import_module(f"convnp.keras.ops.{space}")
    assert module is getattr(tf.keras.ops, space)
    keras_names = set(golden[f"names/{space}"].tolist())
    ours = set(module.__all__)
    assert ours <= keras_names, sorted(ours - keras_names)
    assert len(ours) >= {"nn": 30, "numpy": 80, "image": 4}[space]
    for name in ours:
        if space != "image":
            assert getattr(module, name) is getattr(ops, name), name


def test_slice_update_sends_gradient_to_both_inputs():
    x = tf.constant(np.arange(12.0).reshape(3, 4))
    u = tf.constant(-np.ones((2, 2)))
    with tf.GradientTape() as tape:
        tape.watch([x, u])
        y = ops.slice_update(x, (1, 1), u)
        loss = tf.reduce_sum(y * np.arange(12.0).reshape(3, 4))
    gx, gu = tape.gradient(loss, [x, u])
    want = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(gu.numpy(), want[1:3, 1:3])
    want[1:3, 1:3] = 0
    np.testing.assert_array_equal(gx.numpy(), want)
    np.testing.assert_array_equal(y.numpy()[1:3, 1:3], -1.0)


def test_control_flow_keeps_structure():
    out = ops.while_loop(lambda a, b: a < 3, lambda a, b: [a + 1, b * 2.0], [0, 1.0])
    assert isinstance(out, list) and out[0] == 3 and float(out[1]) == 8.0
    carry, ys = ops.scan(lambda c, x: (c + 1.0, None), 0.0, length=4)
    assert float(carry) == 4.0 and ys is None
    assert ops.fori_loop(1, 4, lambda i, v: v + i, 0) == 6


class SqueezeExcite(tf.keras.layers.Layer):
    """A squeeze-excite block written only with keras.ops (as Keras 3 users write them)."""

    def __init__(self, ratio=2, **kwargs):
        super().__init__(**kwargs)
        self.ratio = ratio

    def build(self, input_shape):
        c = input_shape[-1]
        self.w1 = self.add_weight(shape=(c, max(1, c // self.ratio)), initializer="he_normal")
        self.w2 = self.add_weight(shape=(max(1, c // self.ratio), c), initializer="he_normal")

    def call(self, x):
        s = ops.mean(x, axis=[1, 2], keepdims=True)
        s = ops.relu(ops.matmul(s, self.w1))
        s = ops.hard_sigmoid(ops.matmul(s, self.w2))
        return ops.multiply(x, s)


class OpsConv(tf.keras.layers.Layer):
    """A convolution with ops.conv and ops.pad, normalised over the batch with ops.moments."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(3, 3, input_shape[-1], self.filters),
                                      initializer="glorot_uniform")

    def call(self, x):
        y = ops.conv(ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect"), self.kernel)
        mean, var = ops.moments(y, axes=[0, 1, 2], keepdims=True)
        return ops.relu((y - ops.stop_gradient(mean)) * ops.rsqrt(var + 1e-3))


def clipped_bce(y_true, y_pred):
    p = ops.clip(y_pred, 1e-6, 1.0 - 1e-6)
    return -ops.mean(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p), axis=-1)


def test_custom_layers_and_loss_written_with_keras_ops_train_in_fit():
    tf.keras.utils.set_random_seed(1)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(96, 1)).astype(np.float32)
    x = rng.normal(size=(96, 8, 8, 2)).astype(np.float32)
    x[:, 2:6, 2:6, 0] += 1.5 * (2 * y[:, :, None] - 1)  # a bright or dark centre square
    inputs = tf.keras.Input(shape=(8, 8, 2))
    h = OpsConv(6)(inputs)
    h = SqueezeExcite(2)(h)
    h = tf.keras.layers.GlobalAveragePooling2D()(h)
    out = tf.keras.layers.Dense(1, activation="sigmoid")(h)
    model = tf.keras.Model(inputs, out)
    model.compile(optimizer=tf.keras.optimizers.Adam(0.02), loss=clipped_bce,
                  metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, epochs=12, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0], losses
    assert history.history["accuracy"][-1] > 0.85
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def _nchw(x):
    return np.moveaxis(x, -1, 1)


@pytest.mark.parametrize("call", [
    lambda x, df: ops.conv(x, np.linspace(-1, 1, 3 * 2 * 3 * 4).reshape(3, 2, 3, 4), 2,
                           "same", data_format=df),
    lambda x, df: ops.conv(x, np.linspace(-1, 1, 3 * 2 * 3 * 4).reshape(3, 2, 3, 4),
                           dilation_rate=2, data_format=df),
    lambda x, df: ops.max_pool(x, 2, padding="same", data_format=df),
    lambda x, df: ops.average_pool(x, (3, 2), 1, data_format=df),
    lambda x, df: ops.depthwise_conv(x, np.linspace(-1, 1, 2 * 2 * 3 * 2).reshape(2, 2, 3, 2),
                                     padding="same", data_format=df),
    lambda x, df: ops.separable_conv(x, np.ones((3, 3, 3, 1)), np.ones((1, 1, 3, 2)),
                                     data_format=df),
], ids=["conv", "conv_dilated", "max_pool", "average_pool", "depthwise_conv",
        "separable_conv"])
def test_channels_first_is_channels_last_with_the_channel_axis_moved(call):
    """TensorFlow's CPU kernels have no NCHW convolution or pooling, so Keras on TensorFlow
    cannot give these numbers here; the rule is the channels_last op with the channel axis
    moved (as Keras does on other backends), values and gradients."""
    a = np.random.default_rng(5).normal(size=(2, 7, 6, 3))
    last, first = tf.constant(a), tf.constant(_nchw(a))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([last, first])
        y_last, y_first = call(last, "channels_last"), call(first, "channels_first")
        r = np.random.default_rng(6).normal(size=y_last.shape)
        loss_last = tf.reduce_sum(y_last * r)
        loss_first = tf.reduce_sum(y_first * _nchw(r))
    np.testing.assert_allclose(y_first.numpy(), _nchw(y_last.numpy()), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tape.gradient(loss_first, first).numpy(),
                               _nchw(tape.gradient(loss_last, last).numpy()), rtol=1e-12,
                               atol=1e-12)
