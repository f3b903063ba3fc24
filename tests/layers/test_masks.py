"""Masks beyond the recurrent layers, against Keras 3.15 (``tests/fixtures/make_masks.py``):
GlobalAveragePooling1D (both data formats), the merge layers, Softmax, BatchNormalization,
Attention, recurrent layers called with initial states, models used as layers (functional
and Sequential) receiving and handing on masks, a model mixing them all (predictions,
gradients, training, files both ways), and the masks symbolic and eager tensors carry."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from convnp.keras import layers
from tests.helpers import (
    FIXTURES,
    check_training_gradients,
    load_fixture,
    numerical_gradient,
    rel_error,
)

Z = load_fixture("masks.npz")

MERGES = {
    "add": layers.Add, "add_c": layers.Add, "subtract": layers.Subtract,
    "average": layers.Average, "multiply": layers.Multiply, "multiply_c": layers.Multiply,
    "maximum": layers.Maximum, "maximum_c": layers.Maximum, "minimum": layers.Minimum,
    "minimum_c": layers.Minimum, "concatenate": layers.Concatenate,
    "concatenate_c": layers.Concatenate,
    "concatenate_steps": lambda: layers.Concatenate(axis=1), "dot": lambda: layers.Dot(axes=2),
}


def taped(fn, *tensors):
    """``(out, [d sum(out * dy) / d t for t in tensors])`` with ``dy`` from ``fn``."""
    with tf.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        out, dy = fn()
        total = tf.reduce_sum(out * dy)
    return out, tape.gradient(total, list(tensors))


# -- GlobalAveragePooling1D ----------------------------------------------------------------------


@pytest.mark.parametrize("case", ["last", "last_keep", "first", "first_keep"])
def test_global_average_pooling_1d_averages_the_kept_steps_as_keras(case):
    key = f"gap/{case}"
    fmt = "channels_first" if case.startswith("first") else "channels_last"
    layer = layers.GlobalAveragePooling1D(data_format=fmt, keepdims=case.endswith("keep"))
    x = tf.constant(Z[f"{key}/x"])
    out, (grad,) = taped(lambda: (layer(x, mask=Z[f"{key}/mask"]), Z[f"{key}/dy"]), x)
    np.testing.assert_allclose(out, Z[f"{key}/out"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad, Z[f"{key}/grad"], rtol=1e-6, atol=1e-7)
    assert getattr(out, "_keras_mask", None) is None  # Keras: its output carries none
    # the layer's own backward gives the same gradient
    layer(Z[f"{key}/x"], mask=Z[f"{key}/mask"])
    np.testing.assert_allclose(layer.backward(Z[f"{key}/dy"]), Z[f"{key}/grad"], rtol=1e-6,
                               atol=1e-7)


def test_global_average_pooling_1d_of_nothing_kept_is_nan_and_passes_no_gradient():
    layer = layers.GlobalAveragePooling1D()
    out = layer(Z["gap/last/x"], mask=Z["gap/empty/mask"])
    np.testing.assert_array_equal(np.isnan(out), np.isnan(Z["gap/empty/out"]))
    np.testing.assert_allclose(out, Z["gap/empty/out"], rtol=1e-6)
    grad = layer.backward(np.ones_like(Z["gap/empty/out"]))
    assert np.isfinite(grad).all() and not grad[1].any()


def test_global_average_pooling_1d_float64_gradient_with_a_mask():
    rng = np.random.default_rng(1)
    for fmt in ("channels_last", "channels_first"):
        layer = layers.GlobalAveragePooling1D(data_format=fmt, keepdims=True, dtype="float64")
        x = rng.standard_normal((3, 4, 5))
        mask = rng.random((3, 5 if fmt == "channels_first" else 4)) > 0.3
        mask[:, 0] = True
        out = np.asarray(layer(x, mask=mask))
        dy = rng.standard_normal(out.shape)
        dx = layer.backward(dy)
        numeric = numerical_gradient(
            lambda layer=layer, x=x, mask=mask: np.asarray(layer(x, mask=mask)), x, dy)
        assert rel_error(dx, numeric) < 1e-8


def test_global_pooling_1d_channels_first_and_refusals():
    x = np.random.default_rng(2).standard_normal((2, 3, 5)).astype("float32")
    first = layers.GlobalAveragePooling1D(data_format="channels_first")
    np.testing.assert_allclose(first(x), x.mean(axis=2), rtol=1e-6)
    assert first.compute_output_shape((None, 3, 5)) == (None, 3)
    assert layers.GlobalMaxPooling1D(data_format="channels_first", keepdims=True) \
        .compute_output_shape((None, 3, 5)) == (None, 3, 1)
    np.testing.assert_allclose(layers.GlobalMaxPooling1D(data_format="channels_first")(x),
                               x.max(axis=2))
    config = first.get_config()
    assert config["data_format"] == "channels_first"
    assert layers.GlobalAveragePooling1D.from_config(config).data_format == "channels_first"
    with pytest.raises(ValueError, match="mask must have shape"):
        first(x, mask=np.ones((2, 3), bool))  # (batch, features): not the steps
    with pytest.raises(ValueError, match="channels_last"):
        layers.GlobalAveragePooling1D(data_format="channels_middle")
    with pytest.raises(TypeError, match="no mask argument"):
        layers.Flatten()(x, mask=np.ones((2, 3), bool))


# -- merge layers -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(MERGES))
def test_merge_layers_use_and_hand_on_masks_as_keras(case):
    key = f"merge/{case}"
    a = layers.Masking()(Z[f"{key}/a"])
    second = layers.Masking()(Z[f"{key}/b"]) if not case.endswith("_c") \
        and case != "concatenate_steps" else tf.constant(Z[f"{key}/c"])
    np.testing.assert_array_equal(a._keras_mask, Z[f"{key}/a_mask"])
    layer = MERGES[case]()
    out, grads = taped(lambda: (layer([a, second]), Z[f"{key}/dy"]), a, second)
    np.testing.assert_allclose(out, Z[f"{key}/out"], rtol=1e-6, atol=1e-6)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, Z[f"{key}/grad/{i}"], rtol=1e-6, atol=1e-6)
    if f"{key}/out_mask" in Z:
        np.testing.assert_array_equal(out._keras_mask, Z[f"{key}/out_mask"])
    else:
        assert getattr(out, "_keras_mask", None) is None
    # the layer's own backward (what fit runs) agrees with the tape
    layer([a, second])
    for g, want in zip(layer.backward(Z[f"{key}/dy"]), grads):
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-6)


def test_merge_mask_checks_and_arithmetic_on_keras_tensors_is_mask_blind():
    with pytest.raises(ValueError, match="same length"):
        layers.Add().compute_mask([np.ones((1, 2, 3))] * 2, [None])
    with pytest.raises(ValueError, match="should be a list"):
        layers.Concatenate().compute_mask([np.ones((1, 2, 3))] * 2, np.ones((1, 2), bool))
    ids = keras.Input((4,), dtype="int32")
    e = layers.Embedding(5, 3, mask_zero=True)(ids)
    # Keras's a * b is the op multiply: no mask used, none handed on, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        product = e * e
    assert product._keras_mask is None
    assert layers.Multiply()([e, e])._keras_mask is not None


# -- Softmax, BatchNormalization, Attention, initial states ------------------------------------


def test_softmax_with_a_mask_as_keras():
    x = tf.constant(Z["softmax/x"])
    out, (grad,) = taped(lambda: (layers.Softmax()(x, mask=Z["softmax/mask"]),
                                  Z["softmax/dy"]), x)
    np.testing.assert_allclose(out, Z["softmax/out"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad, Z["softmax/grad"], rtol=1e-5, atol=1e-7)
    layer = layers.Softmax()
    layer(Z["softmax/x"], mask=Z["softmax/mask"].astype("float32"))  # numbers keep > 0.5
    np.testing.assert_allclose(layer.backward(Z["softmax/dy"]), Z["softmax/grad"], rtol=1e-5,
                               atol=1e-7)
    # Keras refuses a (batch, steps) mask on (batch, steps, features) (it aligns the last axes)
    seq = keras.Input((5,), dtype="int32")
    with pytest.raises(ValueError, match="broadcastable"):
        layers.Softmax()(layers.Embedding(9, 3, mask_zero=True)(seq))


def test_batch_normalization_takes_masked_moments_in_training_as_keras():
    layer = layers.BatchNormalization(momentum=0.5)
    layer.build((None, 5, 4))
    layer.set_weights([Z[f"bn/w/{i}"] for i in range(4)])
    x = tf.constant(Z["bn/x"])
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, mask=Z["bn/mask"], training=True)
        total = tf.reduce_sum(out * Z["bn/dy"])
    grads = tape.gradient(total, [x, layer.gamma, layer.beta])
    np.testing.assert_allclose(out, Z["bn/out"], rtol=1e-5, atol=1e-5)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, Z[f"bn/grad/{i}"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean, Z["bn/moving/0"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance, Z["bn/moving/1"], rtol=1e-5)
    # inference uses the moving statistics, mask or not; a mask must have one axis fewer
    np.testing.assert_array_equal(layer(Z["bn/x"], mask=Z["bn/mask"]), layer(Z["bn/x"]))
    with pytest.raises(ValueError, match="one dimension less"):
        layer(Z["bn/x"], mask=np.ones((3, 5, 4), bool))


def test_batch_normalization_masked_float64_gradient():
    rng = np.random.default_rng(3)
    layer = layers.BatchNormalization(dtype="float64")
    x = rng.standard_normal((3, 4, 2)) * 2
    mask = rng.random((3, 4)) > 0.4
    layer.build(x.shape)
    layer.set_weights([rng.standard_normal(2) + 1, rng.standard_normal(2), np.zeros(2),
                       np.ones(2)])
    dy = rng.standard_normal(x.shape)

    def run():
        layer.moving_mean.assign(np.zeros(2))
        return np.asarray(layer(x, mask=mask, training=True))

    run()
    dx = layer.backward(dy)
    dgamma = layer.gamma.grad
    assert rel_error(dx, numerical_gradient(run, x, dy)) < 1e-7
    numeric = numerical_gradient(run, layer.gamma.value, dy)  # perturbs it in place
    assert rel_error(dgamma, numeric) < 1e-7


def test_attention_uses_the_masks_its_inputs_carry():
    q, v = layers.Masking()(Z["attention/q"]), layers.Masking()(Z["attention/v"])
    out = layers.Attention()([q, v])
    np.testing.assert_allclose(out, Z["attention/out"], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(out._keras_mask, Z["attention/out_mask"])
    query = keras.Input((3, 4))
    value = keras.Input((5, 4))
    model = keras.Model([query, value], layers.Attention()(
        [layers.Masking()(query), layers.Masking()(value)]))
    np.testing.assert_allclose(model.predict([Z["attention/q"], Z["attention/v"]], verbose=0),
                               Z["attention/out"], rtol=1e-6, atol=1e-7)


def test_a_recurrent_layer_called_with_initial_states_gets_no_mask_as_in_keras():
    ids = keras.Input((5,), dtype="int32")
    h, c = keras.Input((2,)), keras.Input((2,))
    e = layers.Embedding(10, 3, mask_zero=True)(ids)
    y = layers.LSTM(2, return_sequences=True)(e, initial_state=[h, c])
    assert y._keras_mask is e._keras_mask
    model = keras.Model([ids, h, c], y)
    model.set_weights([Z[f"initial/w/{i}"] for i in range(4)])
    args = [Z["initial/ids"], Z["initial/h"], Z["initial/c"]]
    np.testing.assert_allclose(model.predict(args, verbose=0), Z["initial/out"], rtol=1e-5,
                               atol=1e-6)
    eager = model.layers[-1](model.get_layer(index=1)(Z["initial/ids"]),
                             initial_state=[Z["initial/h"], Z["initial/c"]])
    np.testing.assert_allclose(eager, Z["initial/out"], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(eager._keras_mask, Z["initial/out_mask"])


# -- a model mixing them: nested models, merges, pooling, normalization --------------------------


def build_model():
    """convnp's spelling of ``make_masks.build_model`` (the same layer names)."""
    ids = keras.Input((6,), dtype="int32", name="ids")
    extra = keras.Input((6, 3), name="extra")
    e = layers.Embedding(20, 8, mask_zero=True, name="embed")(ids)
    text = layers.Dense(1, name="text_out")(layers.Dense(4, activation="relu", name="hidden")(
        layers.GlobalAveragePooling1D(name="pool")(e)))
    joined = layers.LSTM(5, name="join_lstm")(layers.Concatenate(name="join")([e, extra]))
    inner_ids = keras.Input((6,), dtype="int32", name="inner_ids")
    inner = layers.LSTM(4, return_sequences=True, name="enc_lstm")(
        layers.Embedding(20, 3, mask_zero=True, name="enc_embed")(inner_ids))
    encoder = keras.Model(inner_ids, inner, name="encoder")
    encoded = layers.GRU(3, name="after_encoder")(encoder(ids))
    stacked = keras.Sequential([layers.Dense(4, name="seq_dense"),
                                layers.LSTM(3, name="seq_lstm")], name="seq")(e)
    gated = layers.Dense(8, name="gate")(layers.Masking(name="mask_extra")(extra))
    product = layers.LSTM(2, name="mul_lstm")(layers.Multiply(name="mul")([e, gated]))
    biggest = layers.Dense(1, name="max_out")(layers.GlobalAveragePooling1D(name="max_pool")(
        layers.Maximum(name="max")([e, layers.Dense(8, name="lift")(extra)])))
    normed = layers.Dense(1, name="bn_out")(layers.GlobalAveragePooling1D(name="bn_pool")(
        layers.BatchNormalization(momentum=0.5, name="bn")(e)))
    return keras.Model([ids, extra], [text, joined, encoded, stacked, product, biggest, normed],
                       name="masked")


def weighted_layers(model):
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(weighted_layers(layer))
        elif layer.weights:
            found.append(layer)
    return found


@pytest.fixture(scope="module")
def keras_file_model():
    pytest.importorskip("h5py")
    return keras.models.load_model(FIXTURES / "masks.keras")


def inputs():
    return [Z["model/ids"], Z["model/extra"]]


def outputs_equal(ys, rtol=1e-5, atol=1e-6):
    for i, y in enumerate(ys):
        np.testing.assert_allclose(y, Z[f"model/y/{i}"], rtol=rtol, atol=atol)


def test_a_keras_file_of_masked_layers_predicts_as_keras(keras_file_model, tmp_path):
    model = keras_file_model
    outputs_equal(model.predict(inputs(), verbose=0))
    outputs_equal(model(inputs()))
    for suffix in (".keras", ".convnp"):
        model.save(tmp_path / f"again{suffix}")
        again = keras.models.load_model(tmp_path / f"again{suffix}")
        for a, b in zip(again.predict(inputs(), verbose=0), model.predict(inputs(), verbose=0)):
            np.testing.assert_array_equal(a, b)


def test_the_model_built_in_code_matches_keras_outputs_gradients_and_training(
        keras_file_model):
    model = build_model()
    source = {layer.name: layer for layer in weighted_layers(keras_file_model)}
    for layer in weighted_layers(model):
        layer.set_weights(source[layer.name].get_weights())
    outputs_equal(model.predict(inputs(), verbose=0))
    # symbolic masks are where Keras has them
    assert model.get_layer("pool").output._keras_mask is None
    assert model.get_layer("join").output._keras_mask is not None
    # Keras records no mask on the output of a model used as a layer (it hands one on when
    # the model runs)
    assert model.get_layer("after_encoder").input._keras_mask is None
    assert model.get_layer("mul").output._keras_mask is not None
    # gradients in training mode (BatchNormalization's masked moments)
    dys = [Z[f"model/dy/{i}"] for i in range(7)]
    layers_ = weighted_layers(model)
    weights = [w for layer in layers_ for w in layer.trainable_weights]
    moving = [v.numpy().copy() for v in model.get_layer("bn").non_trainable_weights]
    with tf.GradientTape() as tape:
        outs = model(inputs(), training=True)
        total = tf.add_n([tf.reduce_sum(o * dy) for o, dy in zip(outs, dys)])
    grads = iter(tape.gradient(total, weights))
    for layer in layers_:
        for i, _ in enumerate(layer.trainable_weights):
            np.testing.assert_allclose(np.asarray(next(grads)),
                                       Z[f"model/grad/{layer.name}/{i}"], rtol=2e-4, atol=2e-6,
                                       err_msg=f"{layer.name}/{i}")
    for v, value in zip(model.get_layer("bn").non_trainable_weights, moving):
        v.assign(value)
    # fit: three steps of SGD on every output's mean squared error, as Keras trained it
    model.compile(keras.optimizers.SGD(0.1), ["mse"] * 7)
    history = model.fit(inputs(), [Z[f"model/target/{i}"] for i in range(7)], batch_size=4,
                        epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], Z["model/loss"], rtol=1e-5)
    for layer in layers_:
        for i, w in enumerate(layer.get_weights()):
            np.testing.assert_allclose(w, Z[f"model/trained/{layer.name}/{i}"], rtol=1e-4,
                                       atol=1e-6, err_msg=f"{layer.name}/{i}")


def test_masked_model_float64_gradients_by_central_differences():
    """fit's backward through built-in layers called with masks (pooling, normalization,
    merges) and a nested model handing its mask on, against float64 central differences."""
    rng = np.random.default_rng(4)
    f64 = {"dtype": "float64"}
    ids = keras.Input((5,), dtype="int32")
    other = keras.Input((5, 2))
    e = layers.Embedding(9, 2, mask_zero=True, **f64)(ids)
    pooled = layers.GlobalAveragePooling1D(**f64)(layers.BatchNormalization(**f64)(e))
    inner_in = keras.Input((5, 2))
    inner = keras.Model(inner_in, layers.Dense(2, **f64)(inner_in))
    merged = layers.Maximum(**f64)([inner(e), layers.Dense(2, **f64)(other)])
    product = layers.Multiply(**f64)([merged, layers.Masking(**f64)(other)])
    out = layers.Concatenate(**f64)([pooled, layers.GlobalAveragePooling1D(**f64)(product)])
    model = keras.Model([ids, other], layers.Dense(1, **f64)(out))
    model.compile("sgd", "mse")
    x_ids = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 0], [8, 1, 0, 0, 0]])
    x_other = rng.standard_normal((3, 5, 2)) * (rng.random((3, 5, 1)) > 0.3)
    y = rng.standard_normal((3, 1))
    assert check_training_gradients(model, [x_ids, x_other], y, atol=1e-7) == 9


def test_masks_on_eager_results_and_symbolic_tensors():
    ids = np.array([[1, 2, 0], [3, 0, 0]])
    e = layers.Embedding(5, 4, mask_zero=True)(ids)
    np.testing.assert_array_equal(e._keras_mask, ids != 0)
    dense = layers.Dense(2)(e)  # Keras's supports_masking: handed on
    np.testing.assert_array_equal(dense._keras_mask, ids != 0)
    assert getattr(layers.GlobalAveragePooling1D()(dense), "_keras_mask", None) is None
    # a model called on arrays gives its outputs the masks its layers gave them
    inp = keras.Input((3,), dtype="int32")
    seq = layers.LSTM(2, return_sequences=True)(layers.Embedding(5, 4, mask_zero=True)(inp))
    model = keras.Model(inp, seq)
    np.testing.assert_array_equal(model(ids)._keras_mask, ids != 0)
    # ... and takes the masks given (or carried) to its layers
    values = keras.Input((3, 4))
    follower = keras.Model(values, layers.LSTM(2)(layers.Dense(4)(values)))
    x = np.asarray(e)
    masked = follower(x, mask=ids != 0)
    np.testing.assert_allclose(follower(e), masked)
    np.testing.assert_allclose(masked, follower.layers[-1](follower.layers[-2](e)), rtol=1e-6)
    assert not np.allclose(masked, follower(x))
    symbolic = layers.Embedding(5, 4, mask_zero=True)(inp)
    assert layers.Dropout(0.5)(symbolic)._keras_mask is symbolic._keras_mask
    assert layers.Dot(axes=2)([symbolic, symbolic])._keras_mask is None


def test_a_layer_dropping_a_mask_warns_as_keras_and_ops_do_not():
    inp = keras.Input((3,), dtype="int32")
    e = layers.Embedding(5, 4, mask_zero=True)(inp)
    with pytest.warns(UserWarning, match="does not support masking"):
        assert layers.Flatten()(e)._keras_mask is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keras.ops.sum(e, axis=-1)
        layers.Dense(2)(e)


def test_multi_head_attention_takes_the_masks_off_its_inputs_as_keras():
    q = layers.Masking()(Z["attention/q"])
    v = layers.Masking()(Z["attention/v"])
    qm = q._keras_mask
    out = layers.MultiHeadAttention(2, 2)(q, v)
    np.testing.assert_array_equal(out._keras_mask, qm)
    assert q._keras_mask is None and v._keras_mask is None


def test_a_model_used_as_a_layer_with_a_list_of_inputs_gets_their_masks():
    a, b = keras.Input((4, 3)), keras.Input((4, 3))
    inner = keras.Model([a, b], layers.GRU(2)(layers.Add()([a, b])))
    x, y = keras.Input((4, 3)), keras.Input((4, 3))
    outer = keras.Model([x, y], inner([layers.Masking()(x), layers.Masking()(y)]))
    rng = np.random.default_rng(5)
    xs = rng.standard_normal((2, 4, 3)).astype("float32")
    ys = rng.standard_normal((2, 4, 3)).astype("float32")
    xs[0, 2:] = ys[0, 2:] = 0.0  # padded in both: masked after the OR of Add
    ys[1, 3] = 0.0  # padded in one only: kept
    gru = inner.layers[-1]
    expected = gru(xs + ys, mask=np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool))
    np.testing.assert_allclose(outer.predict([xs, ys], verbose=0), expected, rtol=1e-6)


def test_losses_and_metrics_count_the_kept_steps_of_a_masked_output_as_keras():
    """A tagger whose per-step output carries the embedding's mask: Keras 3's losses and mean
    metrics weigh the kept steps only (fit, evaluate, the weights after)."""
    ids = keras.Input((6,), dtype="int32")
    h = layers.LSTM(5, return_sequences=True)(layers.Embedding(12, 4, mask_zero=True)(ids))
    model = keras.Model(ids, layers.TimeDistributed(layers.Dense(3, activation="softmax"))(h))
    model.set_weights([Z[f"tagger/w/{i}"] for i in range(6)])
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(Z["tagger/x"], Z["tagger/y"], batch_size=4, epochs=3, shuffle=False,
                        verbose=0)
    np.testing.assert_allclose(history.history["loss"], Z["tagger/loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["accuracy"], Z["tagger/accuracy"], rtol=1e-6)
    np.testing.assert_allclose(model.evaluate(Z["tagger/x"], Z["tagger/y"], verbose=0),
                               Z["tagger/evaluate"], rtol=1e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, Z[f"tagger/trained/{i}"], rtol=1e-4, atol=1e-6)


def test_apply_mask_weights_as_keras():
    from convnp.losses import apply_mask

    mask = np.array([[1, 1, 0], [1, 0, 0]], bool)
    np.testing.assert_allclose(apply_mask(None, mask, "sum_over_batch_size", "float32"),
                               mask * 2.0)  # 6 values, 3 kept
    np.testing.assert_allclose(apply_mask(np.array([[1.0], [3.0]]), mask, "sum", "float32"),
                               mask * np.array([[1.0], [3.0]]))
    # a flat (batch,) one weighs every step of its example too (Keras 3.15 fails there;
    # tests/models/test_mask_sample_weight.py)
    np.testing.assert_allclose(apply_mask(np.array([1.0, 3.0]), mask, "sum", "float32"),
                               mask * np.array([[1.0], [3.0]]))
    with pytest.raises(ValueError, match=r"shape \(4,\) does not match the output's mask"):
        apply_mask(np.ones(4), mask, "sum", "float32")
    assert not apply_mask(None, np.zeros((2, 2), bool), "mean", "float32").any()
    assert apply_mask("given", None, "sum", "float32") == "given"


def test_self_attention_on_a_masked_embedding_with_a_residual_as_keras():
    """MultiHeadAttention reads the embedding's mask and takes it off the embedding, so the
    residual Add hands on no mask when the model runs; the pooling reads the mask the model
    recorded (the OR of the two), as Keras 3.15 does."""
    ids = keras.Input((6,), dtype="int32")
    e = layers.Embedding(12, 4, mask_zero=True)(ids)
    attended = layers.MultiHeadAttention(2, 2)(e, e)
    normed = layers.LayerNormalization()(layers.Add()([attended, e]))
    model = keras.Model(ids, layers.Dense(1)(layers.GlobalAveragePooling1D()(normed)))
    model.set_weights([Z[f"transformer/w/{i}"] for i in range(len(model.get_weights()))])
    np.testing.assert_allclose(model.predict(Z["transformer/x"], verbose=0),
                               Z["transformer/pred"], rtol=1e-5, atol=1e-6)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    history = model.fit(Z["transformer/x"], Z["transformer/y"], batch_size=4, epochs=3,
                        shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], Z["transformer/loss"], rtol=1e-5)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, Z[f"transformer/trained/{i}"], rtol=1e-4, atol=1e-6)
