"""``tf.keras.backend``'s Keras 2 math (``K.mean``, ``K.clip``, ``K.flatten``, the
cross-entropies, ...): values, dtypes and tape gradients against TensorFlow 2.21 / Keras 3.15's
legacy backend (``tests/fixtures/keras_backend.npz``, made by ``make_keras_backend.py`` from
``keras_backend_cases.py``), gradients against central differences, and Keras-2 dice / F1 /
IoU functions written with ``K.*`` inside ``model.compile`` + ``fit`` compared with Keras's
history, evaluation and trained weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from tests.fixtures import keras_backend_cases as cases
from tests.tensor import gradcheck

K = keras.backend
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras_backend.npz"


@pytest.fixture(scope="module")
def golden():
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("case", sorted(cases.CASES))
def test_values_dtypes_and_gradients_match_tensorflow(case, golden):
    names, fn = cases.CASES[case]
    tensors = [tf.constant(golden[f"in/{n}"]) for n in names]
    watched = [t for n, t in zip(names, tensors) if n in cases.FLOAT_INPUTS]
    y = fn(K, *tensors)
    assert str(np.asarray(y).dtype) == str(golden[f"{case}/dtype"])
    np.testing.assert_allclose(np.asarray(y), golden[f"{case}/y"], rtol=2e-6, atol=1e-6)
    if f"{case}/r" not in golden:
        return
    with tf.GradientTape() as tape:
        for t in watched:
            tape.watch(t)
        s = tf.reduce_sum(fn(K, *tensors) * golden[f"{case}/r"])
    grads = tape.gradient(s, watched)
    for n, g in zip([n for n in names if n in cases.FLOAT_INPUTS], grads):
        expected = golden[f"{case}/grad/{n}"]
        if np.isnan(expected).all() or not np.any(expected):  # None or zeros in TensorFlow
            assert g is None or not np.any(g.numpy()), f"{case}: TensorFlow's is zero"
        else:
            assert g is not None, f"{case}: no gradient reached {n}"
            np.testing.assert_allclose(g.numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["mean", "std_axis", "pow_half", "clip", "cumsum",
                                  "l2_normalize", "switch", "relu_all", "softsign", "elu",
                                  "categorical_crossentropy_unnormalized",
                                  "sparse_categorical_crossentropy_ignore",
                                  "binary_crossentropy", "repeat_elements"])
def test_gradients_match_central_differences(case, golden):
    names, fn = cases.CASES[case]
    (name,) = names
    x = golden[f"in/{name}"].astype(np.float64)
    r = np.random.default_rng(1).normal(size=np.shape(fn(K, tf.constant(x))))
    gradcheck.check(lambda t: tf.reduce_sum(fn(K, t) * r), x, rtol=1e-4)


def test_shape_helpers():
    x = tf.zeros((2, 3, 4))
    assert K.int_shape(x) == (2, 3, 4) and K.ndim(x) == 3 and K.count_params(x) == 24
    np.testing.assert_array_equal(K.shape(x).numpy(), [2, 3, 4])
    assert K.shape(x).dtype == np.int32
    inputs = keras.Input((5, 3))
    assert K.int_shape(inputs) == (None, 5, 3) and K.ndim(inputs) == 3
    assert K.is_keras_tensor(inputs) and not K.is_keras_tensor(x)
    assert not K.is_keras_tensor(3)


def test_variables_and_creation():
    v = K.variable([[1, 2], [3, 4]])
    assert isinstance(v, tf.Variable) and v.dtype == np.float32
    assert K.count_params(v) == 4 and K.get_value(v).tolist() == [[1, 2], [3, 4]]
    z = K.zeros((2, 3))
    assert isinstance(z, tf.Variable) and z.dtype == np.float32
    assert K.ones((2,), dtype="int32").dtype == np.int32
    assert not isinstance(K.zeros((0, 3)), tf.Variable)
    assert K.constant(1).dtype == np.float32


def test_switch_on_a_scalar_and_on_a_lower_rank_condition():
    x = tf.constant(np.arange(-3.0, 3.0, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(K.switch(tf.constant(True), lambda: x * 2, lambda: -x), x * 2)
    np.testing.assert_array_equal(K.switch(False, x, -x), -x)
    # Keras 2's rule (TensorFlow 2.21's legacy backend fails here): the condition is extended
    # along the trailing axes
    rows = K.switch(tf.constant([True, False]), x, -x).numpy()
    np.testing.assert_array_equal(rows, [x.numpy()[0], -x.numpy()[1]])


def _named(fn, name):
    def call(y_true, y_pred):
        return fn(K, y_true, y_pred)

    call.__name__ = name
    return call


def _segmenter():
    train = cases.TRAIN
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="sigmoid")])
    model.layers[0].set_weights([train["kernel"], train["bias"]])
    model.compile(optimizer=keras.optimizers.SGD(train["learning_rate"]),
                  loss=_named(cases.dice_loss, "dice_loss"),
                  metrics=[_named(cases.f1, "f1"), _named(cases.dice_coef, "dice_coef"),
                           _named(cases.iou, "iou")])
    return model


def test_keras2_dice_loss_and_f1_metric_train_as_in_keras(golden):
    train = cases.TRAIN
    model = _segmenter()
    before = model.evaluate(train["x"], train["y"], batch_size=train["batch_size"], verbose=0,
                            return_dict=True)
    for key in ("loss", "f1", "dice_coef", "iou"):
        np.testing.assert_allclose(before[key], golden[f"train/before/{key}"], rtol=1e-5)
    history = model.fit(train["x"], train["y"], epochs=train["epochs"],
                        batch_size=train["batch_size"], shuffle=False, verbose=0)
    for key in ("loss", "f1", "dice_coef", "iou"):
        np.testing.assert_allclose(history.history[key], golden[f"train/history/{key}"],
                                   rtol=1e-5, err_msg=key)
    kernel, bias = model.layers[0].get_weights()
    np.testing.assert_allclose(kernel, golden["train/kernel"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias, golden["train/bias"], rtol=1e-5, atol=1e-6)


def test_backend_math_on_keras_tensors_becomes_layers(tmp_path):
    inputs = keras.Input((4,))
    h = K.relu(K.concatenate([inputs, K.square(inputs)]), max_value=2.0)
    outputs = K.mean(h, axis=-1, keepdims=True)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, 1)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    want = np.clip(np.concatenate([x, x * x], -1), 0, 2).mean(-1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-6)
    path = tmp_path / "k.convnp"
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), want,
                               rtol=1e-6)


def test_variable_updates_and_values():
    v = K.variable([1.0, 2.0])
    K.update(v, [3.0, 4.0])
    K.update_add(v, [1.0, 1.0])
    K.update_sub(v, [0.5, 0.5])
    np.testing.assert_allclose(K.eval(v), [3.5, 4.5])
    K.moving_average_update(v, [1.5, 0.5], 0.75)  # v -= (v - value) * 0.25
    np.testing.assert_allclose(K.get_value(v), [3.0, 3.5])
    w = K.eye(3)
    assert isinstance(w, tf.Variable) and K.dtype(w) == "float32"
    K.batch_set_value([(v, [0, 1]), (w, np.zeros((3, 3)))])
    values = K.batch_get_value([v, w])
    np.testing.assert_array_equal(values[0], [0, 1])
    assert not np.any(values[1])
    assert K.backend() == "tensorflow"
    assert K.dtype(tf.constant([1, 2])) == "int32"
    assert isinstance(K.cast_to_floatx([1, 2]), np.ndarray)


def test_random_helpers():
    b = K.random_bernoulli((1000,), p=0.3, seed=1).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.06
    t = K.truncated_normal((1000,), stddev=2.0, seed=1).numpy()
    assert t.dtype == np.float32 and np.abs(t).max() <= 4.0
    d = K.dropout(tf.ones((1000,)), 0.5, seed=1).numpy()
    assert set(np.unique(d)) <= {0.0, 2.0}


@pytest.mark.parametrize("call", [
    lambda: K.batch_dot(tf.ones((2,)), tf.ones((2, 3))),
    lambda: K.batch_dot(tf.ones((2, 3)), tf.ones((3, 3))),
    lambda: K.batch_dot(tf.ones((2, 3)), tf.ones((2, 3)), axes=0),
    lambda: K.batch_dot(tf.ones((2, 3, 4)), tf.ones((2, 5, 4))),
    lambda: K.bias_add(tf.ones((2, 3, 4)), tf.ones((2, 2, 2, 4))),
    lambda: K.repeat(tf.ones((2, 3, 4)), 2),
    lambda: K.temporal_padding(tf.ones((2, 3, 4)), (1, 2, 3)),
    lambda: K.spatial_2d_padding(tf.ones((1, 2, 2, 1)), ((1, 1),)),
])
def test_bad_shapes_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
