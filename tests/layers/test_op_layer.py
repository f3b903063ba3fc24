"""Tensor functions on KerasTensors (``keras.ops.mean(x, axis=[1, 2])``, ``tf.nn.relu(x)``,
``x[..., :3]``, ``x ** 2``, ``a / b``): each becomes a `TFOpLambda` layer of the model, with
Keras 3's output shapes, NumPy's numbers, the tape's gradients and a config that saves."""

from __future__ import annotations

import json

import numpy as np
import pytest

import convnp as tf
from convnp.io import saving
from convnp.keras import ops
from convnp.layers import KerasTensor
from convnp.layers.op_layer import Slot, TFOpLambda, decode, encode
from tests.helpers import check_training_gradients, numerical_gradient, rel_error

keras = tf.keras
rng = np.random.default_rng(0)


def _x(*shape, dtype="float32"):
    return rng.standard_normal(shape).astype(dtype)


# -- shapes and numbers -----------------------------------------------------------------------

# (what to apply to an (8, 8, 3) input, Keras 3.15's output shape, the NumPy twin)
CASES = [
    (lambda t: ops.mean(t, axis=[1, 2]), (None, 3), lambda a: a.mean(axis=(1, 2))),
    (lambda t: ops.sum(t, axis=-1, keepdims=True), (None, 8, 8, 1),
     lambda a: a.sum(axis=-1, keepdims=True)),
    (lambda t: ops.relu(t), (None, 8, 8, 3), lambda a: np.maximum(a, 0)),
    (lambda t: t[:, 1:3, ..., 0], (None, 2, 8), lambda a: a[:, 1:3, ..., 0]),
    (lambda t: t[..., ::-1], (None, 8, 8, 3), lambda a: a[..., ::-1]),
    (lambda t: t[:, None, 0], (None, 1, 8, 3), lambda a: a[:, None, 0]),
    (lambda t: t ** 2, (None, 8, 8, 3), lambda a: a ** 2),
    (lambda t: 2.0 ** t, (None, 8, 8, 3), lambda a: 2.0 ** a),
    (lambda t: abs(t), (None, 8, 8, 3), np.abs),
    (lambda t: t / (abs(t) + 1.0), (None, 8, 8, 3), lambda a: a / (np.abs(a) + 1)),
    (lambda t: ops.concatenate([t, ops.relu(t)], axis=-1), (None, 8, 8, 6),
     lambda a: np.concatenate([a, np.maximum(a, 0)], axis=-1)),
    (lambda t: ops.reshape(t, (-1, 64, 3)), (None, 64, 3), lambda a: a.reshape(-1, 64, 3)),
    (lambda t: ops.transpose(t, (0, 3, 1, 2)), (None, 3, 8, 8),
     lambda a: a.transpose(0, 3, 1, 2)),
    (lambda t: t @ np.ones((3, 2), "float32"), (None, 8, 8, 2),
     lambda a: a @ np.ones((3, 2), "float32")),
    (lambda t: tf.reduce_max(tf.nn.relu(t), axis=[1, 2]), (None, 3),
     lambda a: np.maximum(a, 0).max(axis=(1, 2))),
    (lambda t: tf.image.resize(t, (4, 4)), (None, 4, 4, 3), None),
    (lambda t: ops.image.resize(t, (16, 16)), (None, 16, 16, 3), None),
    (lambda t: ops.softmax(t, axis=-1), (None, 8, 8, 3),
     lambda a: np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_ops_on_keras_tensors_become_layers_with_keras_shapes_and_numpy_numbers(case):
    build, shape, twin = CASES[case]
    inputs = keras.Input((8, 8, 3))
    out = build(inputs)
    assert isinstance(out, KerasTensor)
    assert out.shape == shape
    model = keras.Model(inputs, out)
    assert any(isinstance(layer, TFOpLambda) for layer in model.layers)
    x = _x(2, 8, 8, 3)
    got = model.predict(x, verbose=0)
    assert got.shape == (2,) + shape[1:]
    if twin is not None:
        np.testing.assert_allclose(got, twin(x), rtol=1e-5, atol=1e-6)
    else:  # the same function on the values
        np.testing.assert_allclose(got, build(tf.constant(x)).numpy(), rtol=1e-6)


def test_names_and_summary_follow_the_function():
    keras.backend.clear_session()
    inputs = keras.Input((4,))
    a = ops.mean(inputs, axis=-1, keepdims=True)
    b = ops.mean(inputs, axis=-1, keepdims=True)
    c = tf.nn.relu(inputs)
    assert (a.name, b.name, c.name) == ("mean", "mean_1", "relu")
    model = keras.Model(inputs, [a, b, c])
    lines = []
    model.summary(print_fn=lines.append)
    assert any("mean_1 (TFOpLambda)" in line for line in lines)


def test_unknown_sizes_stay_unknown_and_known_ones_are_found():
    inputs = keras.Input((None, None, 3))
    assert ops.mean(inputs, axis=[1, 2]).shape == (None, 3)
    assert tf.image.resize(inputs, (5, 6)).shape == (None, 5, 6, 3)
    assert inputs[:, :2].shape == (None, None, None, 3)  # 2 rows of an unknown count
    assert ops.concatenate([inputs, inputs], axis=-1).shape == (None, None, None, 6)


def test_ops_that_need_divisible_unknown_sizes():
    """space_to_depth with a block of 2 refuses the trial sizes 5 and 7: sizes a block
    divides are tried next (before: the model could not be built)."""
    inputs = keras.Input((None, None, 4))
    packed = tf.nn.space_to_depth(inputs, 2)
    assert packed.shape == (None, None, None, 16)
    model = keras.Model(inputs, packed)
    assert model.predict(np.ones((1, 6, 8, 4), np.float32), verbose=0).shape == (1, 3, 4, 16)
    with pytest.raises(ValueError, match="height 7 and width 7 must be divisible"):
        tf.nn.space_to_depth(inputs, 5)  # no trial size fits: the first complaint is shown


def test_output_dtype_is_the_ops():
    inputs = keras.Input((5,))
    index = ops.argmax(inputs, axis=-1)
    assert index.dtype == "int32"  # Keras 3 gives int32 indices
    flags = ops.greater(inputs, 0.0)
    assert flags.dtype == "bool"
    model = keras.Model(inputs, index)
    x = _x(3, 5)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x.argmax(-1))


def test_dividing_two_tensors_is_an_op():
    a, b = keras.Input((3,)), keras.Input((3,))
    out = a / b
    assert isinstance(out.layer, TFOpLambda) and out.layer.function.op_name == "true_divide"
    model = keras.Model([a, b], out)
    x, y = _x(2, 3), _x(2, 3) + 3.0
    np.testing.assert_allclose(model.predict([x, y], verbose=0), x / y, rtol=1e-6)


def test_keras_ops_shape_is_the_static_shape():
    assert ops.shape(keras.Input((4, 5))) == (None, 4, 5)


# -- gradients --------------------------------------------------------------------------------


def _float64_model():
    inputs = keras.Input((6, 6, 2), dtype="float64")
    y = keras.layers.Conv2D(3, 3, padding="same", dtype="float64")(inputs)
    y = ops.tanh(y) ** 2 + ops.sigmoid(y)
    y = ops.concatenate([y[:, ::2, ::2], ops.mean(y, axis=[1, 2], keepdims=True)
                         * ops.ones((1, 3, 3, 1), dtype="float64")], axis=-1)
    y = ops.reshape(y, (-1, 54))
    out = keras.layers.Dense(2, dtype="float64")(y)
    return keras.Model(inputs, out)


def test_fit_gradients_through_op_layers_match_central_differences():
    model = _float64_model()
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x = rng.standard_normal((3, 6, 6, 2))
    y = rng.standard_normal((3, 2))
    assert check_training_gradients(model, x, y, atol=1e-6) == 4


def test_input_gradient_of_an_op_layer_matches_central_differences():
    layer = TFOpLambda(ops.power, [Slot(0), 3])
    x = rng.standard_normal((2, 4))
    layer(x)  # builds
    y = layer.call(x)
    dy = rng.standard_normal(np.shape(y))
    dx = layer.backward(dy)
    numeric = numerical_gradient(lambda: np.asarray(layer.call(x)), x, dy)
    assert rel_error(dx, numeric) < 1e-7


def test_gradient_tape_through_a_model_with_op_layers():
    model = _float64_model()
    x = tf.constant(rng.standard_normal((2, 6, 6, 2)))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(model(x) ** 2)
    dx = tape.gradient(loss, x).numpy()

    def f():
        return np.asarray(tf.reduce_sum(model(x_np) ** 2))

    x_np = x.numpy().copy()
    numeric = numerical_gradient(f, x_np, np.array(1.0))
    assert rel_error(dx, numeric) < 1e-6


def test_training_learns_through_op_layers():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8)(inputs)
    out = keras.layers.Dense(1)(ops.relu(hidden) ** 2 / 4.0)
    model = keras.Model(inputs, out)
    model.compile(keras.optimizers.Adam(0.02), "mse")
    x = _x(64, 4)
    y = (x[:, :1] ** 2).astype("float32")
    history = model.fit(x, y, epochs=40, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]


# -- refusals ---------------------------------------------------------------------------------


def test_an_op_that_drops_the_batch_axis_is_refused_with_the_way_round():
    inputs = keras.Input((4,))
    with pytest.raises(ValueError, match="reduce_sum.*batch axis.*axis=\\[1, 2\\]"):
        tf.reduce_sum(inputs, axis=0)
    with pytest.raises(ValueError, match="mean.*batch axis"):
        ops.mean(inputs)
    with pytest.raises(ValueError, match="shape.*batch axis"):
        tf.shape(inputs)


def test_an_op_with_several_outputs_gives_each():
    # more in tests/models/test_multi_output_calls.py
    halves = tf.split(keras.Input((4,)), 2, axis=1)
    assert [h.shape for h in halves] == [(None, 2), (None, 2)]


def test_the_ops_own_errors_say_which_op_and_shapes():
    with pytest.raises(ValueError, match="mean on inputs of shape \\(None, 4\\)"):
        ops.mean(keras.Input((4,)), axis=3)
    with pytest.raises(ValueError, match="concatenate"):
        ops.concatenate([keras.Input((4,)), keras.Input((3, 2))], axis=-1)


def test_a_keras_tensor_cannot_be_iterated():
    with pytest.raises(TypeError, match="cannot be iterated"):
        list(keras.Input((3,)))


def test_numpy_functions_on_a_keras_tensor_point_to_keras_ops():
    inputs = keras.Input((3,))
    with pytest.raises(TypeError, match="numpy.mean cannot compute on KerasTensor.*keras.ops.mean"):
        np.mean(inputs)
    with pytest.raises(TypeError, match="numpy.concatenate.*keras.ops.concatenate"):
        np.concatenate([inputs, inputs])


def test_handmade_layer_arguments_are_checked():
    with pytest.raises(ValueError, match="slots for inputs 0..n-1"):
        TFOpLambda(ops.add, [Slot(1), 1.0])
    with pytest.raises(ValueError, match="not in convnp's op modules"):
        TFOpLambda("os.system", [Slot(0)])
    with pytest.raises(ValueError, match="not one of convnp's tensor ops"):
        TFOpLambda("convnp.keras.ops._symbolic", [Slot(0)])
    with pytest.raises(TypeError, match="tensor op or its path"):
        TFOpLambda(np.mean, [Slot(0)])


# -- configs and files ------------------------------------------------------------------------


def _ops_model():
    inputs = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    y = ops.relu(y)[:, ::2, 1:, ...] ** 2
    y = ops.concatenate([y, ops.mean(y, axis=-1, keepdims=True)], axis=-1)
    y = tf.reduce_mean(y, axis=[1, 2]) * np.array([1.0, 2.0, 3.0, 4.0, 5.0], "float32")
    y = ops.cast(y, tf.float64)
    return keras.Model(inputs, keras.layers.Dense(2)(ops.cast(y, "float32")))


def test_json_config_round_trip():
    model = _ops_model()
    x = _x(2, 8, 8, 3)
    text = model.to_json()
    json.loads(text)  # plain JSON
    rebuilt = keras.models.model_from_json(text)
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    clone = keras.models.clone_model(model)
    assert [type(layer).__name__ for layer in clone.layers] == \
        [type(layer).__name__ for layer in model.layers]


def test_convnp_file_round_trip(tmp_path):
    model = _ops_model()
    x = _x(2, 8, 8, 3)
    saving.save_model(model, tmp_path / "ops.convnp")
    loaded = saving.load_model(tmp_path / "ops.convnp")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_argument_encoding_round_trip():
    values = [Slot(0), None, True, 3, 2.5, "x", Ellipsis, slice(1, None, -1), (1, [2, 3]),
              {"k": (4,)}, np.float32(1.5), np.dtype("int32"),
              np.array([[1, 2]], dtype="int16"), tf.float64]
    for value in values:
        text = json.dumps(encode(value, "here"))
        back = decode(json.loads(text), "here")
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(back, value)
            assert back.dtype == value.dtype
        elif value is tf.float64:
            assert back == np.float64
        else:
            assert back == value and type(back) is type(value if not isinstance(
                value, np.generic) else value.item())


@pytest.mark.parametrize("bad", [
    {"__tensor__": -1}, {"__slice__": [1, 2]}, {"__dtype__": "object"}, {"__what__": 1},
    {"__array__": [1.0, float("nan")], "dtype": "float32"}, float("inf"),
    {"__array__": [[1], [2, 3]], "dtype": "int32"},
])
def test_unreadable_config_arguments_are_refused(bad):
    with pytest.raises(ValueError, match="here"):
        decode(bad, "here")


def test_an_argument_no_config_holds_is_refused_when_saving():
    inputs = keras.Input((3,))
    out = keras.ops.map(lambda row: row * 2.0, inputs)  # a Python function argument
    model = keras.Model(inputs, out)
    np.testing.assert_allclose(model.predict(np.ones((2, 3), "float32"), verbose=0), 2.0)
    with pytest.raises(ValueError, match="cannot be written to a model config"):
        model.to_json()
