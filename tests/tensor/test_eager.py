"""EagerTensor: what layer/model calls and Dataset elements return (TensorFlow's eager values)."""

import numpy as np
import pytest

import convnp as tf
from convnp.tensor import DType, EagerTensor, TensorShape, as_dtype, to_eager, to_numpy


def test_numpy_is_a_plain_copy_and_asarray_a_view():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = to_eager(a)
    n = t.numpy()
    assert type(n) is np.ndarray and not np.shares_memory(n, a)  # TensorFlow copies
    assert type(np.asarray(t)) is np.ndarray and np.shares_memory(np.asarray(t), a)


def test_shape_is_a_tensorshape_tuple():
    t = to_eager(np.zeros((2, 3, 4)))
    assert isinstance(t.shape, TensorShape)
    assert t.shape == (2, 3, 4) and t.shape == [2, 3, 4] and t.shape != (2, 3)
    assert t.shape.as_list() == [2, 3, 4] and t.shape.rank == 3
    assert t.shape.num_elements() == 24 and t.shape[1:] == TensorShape([3, 4])
    assert isinstance(t.shape[1:], TensorShape) and t.shape[0] == 2
    m, h, w = t.shape
    assert (m, h, w) == (2, 3, 4)
    assert hash(t.shape) == hash((2, 3, 4))
    t.shape = (6, 4)  # NumPy's in-place reshape still works
    assert t.shape == (6, 4)
    assert TensorShape([None, 3]).num_elements() is None
    assert not TensorShape([None, 3]).is_fully_defined()


def test_dtype_compares_like_tensorflow_and_numpy():
    t = to_eager(np.zeros(3, dtype=np.float32))
    assert t.dtype == np.float32 and t.dtype == "float32" and t.dtype.name == "float32"
    f32 = DType(np.float32)
    assert t.dtype == f32 and f32 == t.dtype and f32 == np.float32 and f32 == "float32"
    assert f32 != np.float64 and f32 != "not a dtype" and f32 != DType(np.int32)
    assert np.zeros(2, dtype=f32).dtype == np.float32
    assert as_dtype("float32") is not None and as_dtype(t.dtype).is_floating
    assert as_dtype(np.uint8).is_unsigned and as_dtype(np.uint8).max == 255
    assert repr(f32) == "tf.float32" and hash(f32) == hash(np.dtype(np.float32))
    with pytest.raises(TypeError, match="expected a dtype"):
        as_dtype(None)


def test_indexing_and_arithmetic_stay_tensors():
    t = to_eager(np.arange(6.0).reshape(2, 3))
    assert isinstance(t[0], EagerTensor) and isinstance(t[1, 2], EagerTensor)
    assert t[1, 2].shape == () and float(t[1, 2]) == 5.0 and int(t[0, 1]) == 1
    s = t * 2 + 1
    assert isinstance(s, EagerTensor) and s.numpy().tolist() == [[1, 3, 5], [7, 9, 11]]
    assert isinstance(np.exp(t), EagerTensor)
    assert float(np.mean(t)) == 2.5 and t.sum(axis=0).shape == (3,)
    assert [float(v) for v in t[0]] == [0.0, 1.0, 2.0]


def test_repr_and_str_look_like_tensorflow():
    t = to_eager(np.array([1.0, 2.0], dtype=np.float32))
    assert repr(t).startswith("<tf.Tensor: shape=(2,), dtype=float32, numpy=array([1., 2.]")
    assert str(t) == "tf.Tensor([1. 2.], shape=(2,), dtype=float32)"
    # TensorFlow 2.21 (NumPy 2) shows a 0-d tensor's number as Python prints it
    assert repr(t[0]) == "<tf.Tensor: shape=(), dtype=float32, numpy=1.0>"
    assert repr(to_eager(np.float32(0.1))).endswith("numpy=0.10000000149011612>")
    assert repr(to_eager(np.array(True))).endswith("dtype=bool, numpy=True>")


def test_structures_convert_both_ways():
    a, b = np.zeros(2), np.ones(3)
    out = to_eager({"x": [a, (b, None)]})
    assert isinstance(out["x"][0], EagerTensor) and isinstance(out["x"][1][0], EagerTensor)
    assert out["x"][1][1] is None
    back = to_numpy(out)
    assert type(back["x"][0]) is np.ndarray and type(back["x"][1][0]) is np.ndarray
    assert isinstance(to_eager(3.0), EagerTensor)


def test_layer_and_model_calls_return_eager_tensors():
    tf.keras.utils.set_random_seed(0)
    layer = tf.keras.layers.Dense(3)
    x = np.ones((2, 4), dtype=np.float32)
    y = layer(x)
    assert isinstance(y, EagerTensor) and y.shape == (2, 3) and y.dtype == np.float32
    # the layer computed on a plain array (kernels never see the subclass)
    assert isinstance(layer(to_eager(x)), EagerTensor)
    model = tf.keras.Sequential([tf.keras.layers.Dense(2, input_shape=(4,))])
    out = model(to_eager(x))
    assert isinstance(out, EagerTensor) and out.numpy().shape == (2, 2)
    # predict keeps returning plain ndarrays, as Keras does
    assert type(model.predict(x, verbose=0)) is np.ndarray
    np.testing.assert_allclose(model.predict(x, verbose=0), out.numpy(), rtol=1e-6)


def test_dataset_elements_are_eager_and_numpy_iterator_is_plain():
    x = np.arange(10.0).reshape(5, 2)
    y = np.arange(5)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
    xb, yb = next(iter(ds))
    assert isinstance(xb, EagerTensor) and xb.shape == (2, 2) and yb.numpy().tolist() == [0, 1]
    xn, yn = next(ds.as_numpy_iterator())
    assert type(xn) is np.ndarray and type(yn) is np.ndarray
    mapped = tf.data.Dataset.from_tensor_slices(x).map(lambda v: v * 2).repeat(2)
    values = [v for v in mapped]
    assert len(values) == 10 and all(isinstance(v, EagerTensor) for v in values)
    assert float(values[6][1]) == 6.0


def test_fit_on_a_dataset_of_eager_elements_still_trains():
    tf.keras.utils.set_random_seed(1)
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    y = (x.sum(axis=1, keepdims=True) > 0).astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, activation="sigmoid",
                                                       input_shape=(3,))])
    model.compile("sgd", "binary_crossentropy")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_numpy_is_a_copy_and_shapes_print_as_tuples():
    """TensorFlow's ``.numpy()`` returns a copy (keras.io's filter visualization edits it in
    place: ``img -= img.mean()``; before, that changed the tensor too), a NumPy scalar for a
    0-d tensor, and ``print(t.shape)`` shows ``(2, 3)``."""
    t = to_eager(np.ones((2, 3), dtype=np.float32)) * 2.0
    row = t[0].numpy()
    row -= 5
    whole = t.numpy()
    whole[1, 0] = 100
    np.testing.assert_array_equal(np.asarray(t), np.full((2, 3), 2.0))
    assert type(t[0, 0].numpy()) is np.float32 and t[0, 0].numpy() == 2.0
    assert str(t.shape) == "(2, 3)" and f"{t.shape}" == "(2, 3)"
    assert repr(t.shape) == "TensorShape([2, 3])"
    assert str(TensorShape([None, 3])) == "(None, 3)"
