"""Inference with batch normalization folded into the layer before it (`convnp.ops.fold`,
`convnp.models.folded`): predict/evaluate/model(x) agree with the plain path, the folded
weights follow every change of the variables they come from, and training never folds."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import config
from convnp.models.folded import Folded
from convnp.ops import batchnorm, conv_forward, fold
from convnp.ops.depthwise import depthwise_conv_forward
from convnp.ops.fold import finish_inplace, fold_kernel, pointwise_forward

tfl = tf.keras.layers


def _bn_stats(model, seed=3):
    """Give every BatchNormalization distinct statistics (some gamma negative), so that a
    missing or stale fold shows."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, tfl.BatchNormalization):
            n = layer.moving_mean.shape[0]
            draw = {"gamma": rng.uniform(-1.5, 1.5, n), "beta": rng.normal(0, 0.5, n),
                    "moving_mean": rng.normal(0, 0.5, n),
                    "moving_variance": rng.uniform(0.2, 2.0, n)}
            layer.set_weights([draw[v.name] for v in layer.weights])


def _mixed(dtype="float32", seed=0):
    """Every chain the folding knows, and BNs it must leave alone: a ResNet-style block with a
    conv + BN shortcut, MobileNetV2's inverted residual (ReLU6, depthwise, linear
    projection + Add), conv + BN + ReLU + tiling pool, a conv with its own ReLU before a pool,
    a BN after a pooling, Dense + BN."""
    tf.keras.utils.set_random_seed(seed)
    kw = {"dtype": dtype}
    inputs = tf.keras.Input(shape=(8, 8, 3), dtype=dtype)
    x = tfl.BatchNormalization(**kw)(inputs)  # reads the input: not folded
    x = tfl.Conv2D(8, 3, padding="same", use_bias=False, **kw)(x)
    x = tfl.ReLU(6.0, **kw)(tfl.BatchNormalization(**kw)(x))
    shortcut = x
    z = tfl.Conv2D(8, 1, **kw)(x)
    z = tfl.Activation("relu", **kw)(tfl.BatchNormalization(axis=3, **kw)(z))
    z = tfl.DepthwiseConv2D(3, padding="same", depth_multiplier=1, use_bias=False, **kw)(z)
    z = tfl.ReLU(6.0, **kw)(tfl.BatchNormalization(**kw)(z))
    z = tfl.BatchNormalization(**kw)(tfl.Conv2D(8, 1, use_bias=False, **kw)(z))
    x = tfl.Add(**kw)([z, shortcut])  # linear bottleneck: no ReLU
    # ResNet's convolutional block: strided main path and strided 1x1 shortcut
    main = tfl.Conv2D(6, 3, strides=2, padding="same", **kw)(x)
    main = tfl.BatchNormalization(axis=3, **kw)(main)
    side = tfl.BatchNormalization(axis=3, **kw)(tfl.Conv2D(6, 1, strides=2, **kw)(x))
    x = tfl.Activation("relu", **kw)(tfl.Add(**kw)([main, side]))
    x = tfl.DepthwiseConv2D(3, depth_multiplier=2, padding="same", **kw)(x)
    x = tfl.BatchNormalization(**kw)(x)
    x = tfl.Conv2D(6, 3, padding="same", **kw)(x)
    x = tfl.MaxPooling2D(2, **kw)(tfl.ReLU(**kw)(tfl.BatchNormalization(**kw)(x)))
    x = tfl.MaxPooling2D(2, **kw)(tfl.Conv2D(5, 1, activation="relu", **kw)(x))
    x = tfl.BatchNormalization(**kw)(x)  # after a pool: not folded
    x = tfl.Flatten(**kw)(x)
    x = tfl.BatchNormalization(**kw)(tfl.Dense(7, **kw)(x))
    outputs = tfl.Dense(3, activation="softmax", **kw)(x)
    model = tf.keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    _bn_stats(model)
    return model


def _data(dtype="float32", n=4, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8, 8, 3)).astype(dtype)
    return x, np.eye(3, dtype=dtype)[rng.integers(0, 3, n)]


def _plain_predict(model, x):
    with config.plain_path():
        return model.predict(x, verbose=0)


def _assert_matches_plain(model, x, rtol):
    got, want = model.predict(x, verbose=0), _plain_predict(model, x)
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


# -- the arithmetic -------------------------------------------------------------------------


def _bn_after(z, scale, shift):
    return z * scale + shift


def test_fold_kernel_matches_conv_then_batch_norm_in_float64():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 5, 3))
    w, b = rng.standard_normal((3, 3, 3, 4)), rng.standard_normal(4)
    scale, shift = batchnorm.scale_and_shift(
        rng.standard_normal(4), rng.uniform(0.1, 2, 4), rng.standard_normal(4),
        rng.standard_normal(4), 1e-3, np.float64)
    hp = {"stride": 1, "pad": "same"}
    want = _bn_after(conv_forward(x, w, b.reshape(1, 1, 1, 4), hp)[0], scale, shift)
    w2, b2 = fold_kernel(w, b, scale, shift)
    got = conv_forward(x, w2, b2.reshape(1, 1, 1, 4), hp)[0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert not np.shares_memory(w2, w)
    # no bias: the folded bias is the shift alone
    np.testing.assert_array_equal(fold_kernel(w, None, scale, shift)[1], shift)


def test_fold_kernel_for_depthwise_and_dense_kernels():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 5, 3))
    w = rng.standard_normal((3, 3, 3, 2))  # depth multiplier 2: channel c * 2 + k
    scale, shift = rng.standard_normal(6), rng.standard_normal(6)
    hp = {"stride": 2, "pad": "same"}
    want = _bn_after(depthwise_conv_forward(x, w, np.zeros((1, 1, 1, 6)), hp)[0], scale, shift)
    w2, b2 = fold_kernel(w, None, scale, shift)
    got = depthwise_conv_forward(x, w2, b2.reshape(1, 1, 1, 6), hp)[0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    dense, bias, xd = rng.standard_normal((4, 6)), rng.standard_normal(6), rng.standard_normal(
        (3, 4))
    w3, b3 = fold_kernel(dense, bias, scale, shift)
    np.testing.assert_allclose(xd @ w3 + b3, _bn_after(xd @ dense + bias, scale, shift),
                               rtol=1e-12, atol=1e-12)


def test_fold_kernel_refuses_a_scale_per_other_channels():
    with pytest.raises(ValueError, match="output channels"):
        fold_kernel(np.ones((3, 3, 2, 4)), None, np.ones(5), np.zeros(5))


@pytest.mark.parametrize("m, stride, small_blocks", [
    (2, 1, False),   # one block
    (64, 2, False),  # shared between the threads
    (64, 1, True),   # many blocks of 256 rows in each thread
])
def test_pointwise_forward_matches_a_1x1_conv_then_the_tail(m, stride, small_blocks,
                                                            monkeypatch):
    if small_blocks:
        monkeypatch.setattr(fold, "BLOCK_OUTPUTS", 1 << 12)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((m, 17, 17, 40))
    w, b = rng.standard_normal((1, 1, 40, 48)), rng.standard_normal(48)
    z = conv_forward(x, w, b.reshape(1, 1, 1, 48), {"stride": stride, "pad": "valid"})[0]
    shortcut = rng.standard_normal(z.shape)
    sampled = np.ascontiguousarray(x[:, ::stride, ::stride])
    np.testing.assert_allclose(pointwise_forward(sampled, w, b, shortcut, True, 6.0),
                               np.clip(z + shortcut, 0, 6), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(pointwise_forward(sampled, w[0, 0]), z - b, rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("rows", [7, 70_000])  # one range, and shared between the cores
def test_finish_inplace_adds_and_rectifies_in_place(rows):
    rng = np.random.default_rng(2)
    z = rng.standard_normal((rows, 3)).astype(np.float32) * 8
    z[0, 0] = np.nan
    s = rng.standard_normal((rows, 3)).astype(np.float32)
    want = np.clip(z + s, 0, 6)
    out = finish_inplace(z, s, relu=True, max_value=6.0)
    assert out is z
    np.testing.assert_array_equal(out, want)  # NaN stays NaN, as in the layers
    z2 = rng.standard_normal((rows, 3)).astype(np.float32)
    want2 = np.maximum(z2, 0)
    np.testing.assert_array_equal(finish_inplace(z2, relu=True), want2)
    z3 = z2.copy()
    assert finish_inplace(z3) is z3 and np.array_equal(z3, want2)


# -- models -----------------------------------------------------------------------------------


def test_the_inference_schedule_folds_every_chain_and_leaves_other_bns():
    model = _mixed()
    schedule = model._graph.inference_schedule()
    units = [n.layer for n in schedule if isinstance(n.layer, Folded)]
    bns = [n.layer for n in schedule if isinstance(n.layer, tfl.BatchNormalization)]
    # the BN on the input and the BN after the pool stay; every other one is folded
    assert len(bns) == 2
    assert len(units) == 10
    assert sum(u.bn is not None for u in units) == 10 - 1  # conv(relu) + pool has no BN
    assert sum(u.add is not None for u in units) == 2
    assert sum(u.pool is not None for u in units) == 2
    assert not any(isinstance(n.layer, tfl.Add) for n in schedule)
    with config.plain_path():
        assert model._graph.inference_schedule() is model._graph.nodes


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-5)])
def test_folded_predict_equals_the_plain_path(dtype, rtol):
    model = _mixed(dtype)
    x, _ = _data(dtype)
    _assert_matches_plain(model, x, rtol)


def test_model_call_and_evaluate_fold_and_agree():
    model = _mixed("float64")
    x, y = _data("float64")
    got = np.asarray(model(x))
    assert model._graph._ran is model._graph.inference_schedule()
    with config.plain_path():
        want = np.asarray(model(x))
        want_eval = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), want_eval, rtol=1e-12)


def test_a_stale_fold_is_never_used():
    """Each change of a variable the folded weights come from shows in the next predict."""
    model = _mixed("float64")
    x, y = _data("float64")
    unit = next(n.layer for n in model._graph.inference_schedule()
                if isinstance(n.layer, Folded) and n.layer.bn is not None)
    bn, kernel = unit.bn, unit.layer.kernel
    changes = [
        lambda: model.train_on_batch(x, y),  # optimizer update and moving statistics
        lambda: bn.moving_mean.assign(bn.moving_mean.value + 0.5),
        lambda: bn.moving_variance.assign_add(np.full(bn.moving_variance.shape, 0.7)),
        lambda: bn.gamma.assign_sub(np.full(bn.gamma.shape, 0.3)),
        lambda: kernel.assign(kernel.value * -2.0),
        # an optimizer step on the kernel alone (no moving statistic changes)
        lambda: tf.keras.optimizers.SGD(0.5).apply_gradients([(np.ones_like(kernel.value),
                                                               kernel)]),
        lambda: model.set_weights([w * 1.1 for w in model.get_weights()]),
    ]
    previous = model.predict(x, verbose=0)
    for change in changes:
        change()
        now = model.predict(x, verbose=0)
        np.testing.assert_allclose(now, _plain_predict(model, x), rtol=1e-12)
        assert not np.array_equal(now, previous)
        previous = now


def _predicted_unit(wanted):
    """A float64 mixed model after one predict, its data, and its first `Folded` unit for
    which ``wanted(unit)`` holds."""
    model = _mixed("float64")
    x, _ = _data("float64")
    model.predict(x, verbose=0)
    unit = next(n.layer for n in model._graph.inference_schedule()
                if isinstance(n.layer, Folded) and wanted(n.layer))
    return model, x, unit


def test_a_fold_follows_a_replaced_value_and_a_marked_in_place_write():
    model, x, unit = _predicted_unit(lambda unit: unit.bn is not None)
    unit.bn.moving_mean.value = unit.bn.moving_mean.value + 1.0  # a new array
    np.testing.assert_allclose(model.predict(x, verbose=0), _plain_predict(model, x),
                               rtol=1e-12)
    unit.layer.kernel.value *= -1.0  # in place: the writer says so
    unit.layer.kernel.mark_modified()
    np.testing.assert_allclose(model.predict(x, verbose=0), _plain_predict(model, x),
                               rtol=1e-12)


def test_load_weights_refreshes_the_fold(tmp_path):
    model, other = _mixed("float64", seed=0), _mixed("float64", seed=5)
    x, _ = _data("float64")
    pytest.importorskip("h5py")
    before = model.predict(x, verbose=0)
    path = tmp_path / "other.weights.h5"
    other.save_weights(path)  # float32 in the file
    model.load_weights(path)
    want = other.predict(x, verbose=0)
    assert not np.allclose(before, want, rtol=1e-3)
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-6)


def test_folding_never_changes_the_layers_weights():
    model = _mixed()
    before = [w.copy() for w in model.get_weights()]
    model.predict(_data()[0], verbose=0)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_training_calls_never_fold():
    model = _mixed("float64")
    x, y = _data("float64")
    graph = model._graph
    model(x, training=True)
    assert graph._ran is graph.schedule
    assert not any(isinstance(n.layer, Folded) for n in graph.schedule)
    model.train_on_batch(x, y)
    assert graph._ran is graph.schedule
    unit = next(n.layer for n in graph.inference_schedule() if isinstance(n.layer, Folded))
    with pytest.raises(RuntimeError, match="inference mode only"):
        unit.call(x, training=True)
    with pytest.raises(RuntimeError, match="inference mode only"):
        unit.backward(x)


def test_a_tape_over_an_inference_call_backpropagates_through_the_layers():
    """model(x, training=False) under a GradientTape needs a backward: no folding there."""
    model = _mixed("float64")
    x, _ = _data("float64")
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = tf.reduce_sum(model(xt, training=False) * np.arange(3.0))
    grad = np.asarray(tape.gradient(out, xt))
    assert model._graph._ran is model._graph.schedule
    h, idx = 1e-6, (1, 2, 3, 0)
    up, down = x.copy(), x.copy()
    up[idx] += h
    down[idx] -= h
    numeric = (np.sum(model.predict(up, verbose=0) * np.arange(3.0))
               - np.sum(model.predict(down, verbose=0) * np.arange(3.0))) / (2 * h)
    np.testing.assert_allclose(grad[idx], numeric, rtol=1e-5, atol=1e-9)


def test_a_nested_model_is_folded_inside_predict():
    base = _mixed("float64")
    inputs = tf.keras.Input(shape=(8, 8, 3), dtype="float64")
    outputs = tfl.Dense(2, dtype="float64")(base(inputs, training=False))
    outer = tf.keras.Model(inputs, outputs)
    x, _ = _data("float64")
    got = outer.predict(x, verbose=0)
    assert base._graph._ran is base._graph.inference_schedule()
    with config.plain_path():
        want = outer.predict(x, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_a_sequential_vgg_stage_folds_conv_bn_relu_pool():
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([
        tfl.Input(shape=(8, 8, 3)),
        tfl.Conv2D(4, 3, padding="same"), tfl.BatchNormalization(), tfl.ReLU(),
        tfl.Conv2D(4, 3, padding="same"), tfl.BatchNormalization(), tfl.ReLU(),
        tfl.MaxPooling2D(2), tfl.Flatten(), tfl.Dense(2)])
    _bn_stats(model)
    kinds = [type(n.layer).__name__ for n in model._graph.inference_schedule()]
    assert kinds == ["Folded", "Folded", "Flatten", "Dense"]
    _assert_matches_plain(model, _data()[0], 1e-5)


def test_bns_that_cannot_fold_run_as_written():
    """A BN on another axis, after a nonlinear conv, or after a conv whose output has a second
    reader stays a BatchNormalization call; BNs without gamma or beta fold."""
    tf.keras.utils.set_random_seed(2)
    kw = {"dtype": "float64"}
    inputs = tf.keras.Input(shape=(6, 6, 3), dtype="float64")
    a = tfl.Conv2D(4, 3, padding="same", **kw)(inputs)
    b = tfl.BatchNormalization(axis=1, **kw)(a)  # normalizes rows, not channels
    c = tfl.BatchNormalization(**kw)(tfl.Conv2D(4, 1, activation="tanh", **kw)(b))
    d = tfl.Conv2D(4, 1, use_bias=False, **kw)(c)
    e = tfl.BatchNormalization(**kw)(d)
    f = tfl.BatchNormalization(center=False, scale=False, **kw)(
        tfl.Conv2D(4, 1, **kw)(tfl.Add(**kw)([d, e])))  # d has two readers
    model = tf.keras.Model(inputs, tfl.Flatten(**kw)(f))
    _bn_stats(model)
    folded = [n.layer for n in model._graph.inference_schedule() if isinstance(n.layer, Folded)]
    assert len(folded) == 1 and folded[0].bn is f.layer
    assert folded[0].bn.gamma is None and folded[0].bn.beta is None
    assert sum(isinstance(n.layer, tfl.BatchNormalization)
               for n in model._graph.inference_schedule()) == 3
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 3))
    _assert_matches_plain(model, x, 1e-12)


def test_a_unit_whose_layer_changed_activation_runs_the_layers_as_written():
    model, x, unit = _predicted_unit(lambda unit: unit.add is not None)
    unit.layer.activation = tf.keras.activations.get("tanh")  # no longer foldable
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(got, _plain_predict(model, x), rtol=1e-12)
    unit.layer.activation = tf.keras.activations.get("linear")
    assert not np.allclose(got, model.predict(x, verbose=0))
