"""The small TensorFlow/Keras functions notebooks call: tf.config, tf.device, tf.print,
tf.pad/sort/argsort/math.top_k (with gradients), tf.debugging, keras.backend, keras.utils,
keras.random."""

from __future__ import annotations

import io

import numpy as np
import pytest

import convnp as tf


def _grad(fn, x0):
    x = tf.Variable(np.asarray(x0, np.float64))
    with tf.GradientTape() as tape:
        y = fn(x)
    return y, tape.gradient(y, x).numpy()


def _numeric(fn, x0, eps=1e-6):
    x0 = np.asarray(x0, np.float64)
    grad = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        step = np.zeros_like(x0)
        step[i] = eps
        grad[i] = (float(fn(tf.constant(x0 + step))) - float(fn(tf.constant(x0 - step)))) / (
            2 * eps)
    return grad


def test_config_device_eager():
    assert tf.config.list_physical_devices("GPU") == []
    cpus = tf.config.list_physical_devices("CPU")
    assert len(cpus) == 1 and cpus[0].device_type == "CPU"
    assert tf.config.list_physical_devices() == cpus
    tf.config.experimental.set_memory_growth(cpus[0], True)
    with pytest.raises(TypeError, match="PhysicalDevice"):
        tf.config.experimental.set_memory_growth("/GPU:0", True)
    with pytest.raises(TypeError, match="bool"):
        tf.config.experimental.set_memory_growth(cpus[0], "yes")
    with tf.device("/CPU:0"):
        assert tf.executing_eagerly() is True
    with tf.device("/device:GPU:0"):  # soft placement: runs on the CPU
        pass
    with pytest.raises(ValueError, match="device name"), tf.device("the gpu please"):
        pass


def test_print_like_tensorflow():
    out = io.StringIO()
    tf.print("x:", tf.constant([1, 2, 3, 4, 5, 6, 7, 8]), tf.constant(2.5), output_stream=out)
    assert out.getvalue() == "x: [1 2 3 ... 6 7 8] 2.5\n"
    out = io.StringIO()
    tf.print(tf.constant([[1, 2], [3, 4]]), summarize=-1, output_stream=out, sep="|")
    assert out.getvalue() == "[[1 2]\n [3 4]]\n"


def test_pad_modes_values_and_gradients():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(tf.pad(x, [[1, 0], [0, 2]]).numpy(),
                                  np.pad(x, [(1, 0), (0, 2)]))
    np.testing.assert_array_equal(tf.pad(x, [[0, 0], [2, 2]], constant_values=7).numpy()[0],
                                  [7, 7, 0, 1, 2, 7, 7])
    np.testing.assert_array_equal(tf.pad(x, [[1, 1], [2, 1]], "REFLECT").numpy(),
                                  np.pad(x, [(1, 1), (2, 1)], mode="reflect"))
    np.testing.assert_array_equal(tf.pad(x, [[2, 0], [3, 3]], "symmetric").numpy(),
                                  np.pad(x, [(2, 0), (3, 3)], mode="symmetric"))
    weights = tf.constant(np.random.default_rng(0).normal(size=(4, 6)))
    for mode in ("CONSTANT", "REFLECT", "SYMMETRIC"):
        def f(v, mode=mode):
            return tf.reduce_sum(tf.pad(v, [[1, 1], [2, 1]], mode) * weights)
        _, g = _grad(f, x)
        np.testing.assert_allclose(g, _numeric(f, x), atol=1e-6)
    with pytest.raises(ValueError, match="at most 2"):
        tf.pad(x, [[0, 0], [3, 0]], "REFLECT")
    with pytest.raises(ValueError, match="shape \\(2, 2\\)"):
        tf.pad(x, [[1, 1]])
    with pytest.raises(ValueError, match="mode"):
        tf.pad(x, [[1, 1], [1, 1]], "WRAP")


def test_sort_argsort_top_k():
    v = np.array([[3.0, 1.0, 3.0, 2.0], [0.0, 5.0, 5.0, -1.0]])
    np.testing.assert_array_equal(tf.sort(v).numpy(), np.sort(v))
    np.testing.assert_array_equal(tf.sort(v, direction="DESCENDING").numpy(),
                                  -np.sort(-v))
    # stable, ties in input order both ways (TensorFlow's stable argsort)
    assert tf.argsort(v, direction="DESCENDING").numpy().tolist() == [[0, 2, 3, 1],
                                                                     [1, 2, 0, 3]]
    assert tf.argsort(v, axis=0).numpy().tolist() == [[1, 0, 0, 1], [0, 1, 1, 0]]
    assert tf.argsort(v).dtype == tf.int32
    values, indices = tf.math.top_k(v, k=2)
    assert values.numpy().tolist() == [[3, 3], [5, 5]]
    assert indices.numpy().tolist() == [[0, 2], [1, 2]]
    with pytest.raises(ValueError, match="k must be"):
        tf.math.top_k(v, k=5)
    with pytest.raises(ValueError, match="direction"):
        tf.sort(v, direction="down")
    w = tf.constant(np.arange(8.0).reshape(2, 4))
    x0 = np.random.default_rng(1).normal(size=(2, 4))
    for f in (lambda t: tf.reduce_sum(tf.sort(t, axis=1) * w),
              lambda t: tf.reduce_sum(tf.sort(t, axis=0, direction="DESCENDING") * w),
              lambda t: tf.reduce_sum(tf.math.top_k(t, 3).values * w[:, :3])):
        _, g = _grad(f, x0)
        np.testing.assert_allclose(g, _numeric(f, x0), atol=1e-6)


def test_debugging():
    tf.debugging.assert_equal(tf.constant([1, 2]), [1, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="did not hold"):
        tf.debugging.assert_equal([1, 2, 3], [1, 0, 3])
    assert issubclass(tf.errors.InvalidArgumentError, ValueError)
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.debugging.check_numerics(x * 3.0, "bad") ** 2)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [18.0, 36.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="oops : Tensor had NaN"):
        tf.debugging.check_numerics(tf.constant([1.0, np.nan]), "oops")


def test_backend_formats():
    k = tf.keras.backend
    assert k.image_data_format() == "channels_last"
    k.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="channels_first.*not supported"):
        k.set_image_data_format("channels_first")
    k.set_floatx("float32")
    assert k.floatx() == "float32"
    with pytest.raises(ValueError, match="dtype='float64' to each layer"):
        k.set_floatx("float64")
    with pytest.raises(ValueError, match="unknown float type"):
        k.set_floatx("float128")


def test_utils_normalize_split_progbar(tmp_path):
    u = tf.keras.utils
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(u.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(u.normalize(x, axis=0, order=1), [[1.0, 1.0], [0.0, 0.0]])
    data = (np.arange(10), np.arange(10) * 10)
    left, right = u.split_dataset(data, left_size=0.8)
    assert len(left) == 8 and len(right) == 2
    assert [int(e[1]) for e in right.as_numpy_iterator()] == [80, 90]
    left, right = u.split_dataset(np.arange(10), right_size=3, shuffle=True, seed=1)
    got = sorted([int(e) for e in left.as_numpy_iterator()] +
                 [int(e) for e in right.as_numpy_iterator()])
    assert got == list(range(10)) and len(right) == 3
    ds_left, _ = u.split_dataset(tf.data.Dataset.from_tensor_slices(np.arange(4)))
    assert len(ds_left) == 2
    with pytest.raises(ValueError, match="more"):
        u.split_dataset(np.arange(10), left_size=6, right_size=6)
    out = io.StringIO()
    bar = u.Progbar(4, verbose=2, stateful_metrics=["lr"])
    bar._stream = out
    bar.update(1, [("loss", 4.0), ("lr", 0.5)])
    bar.add(1, [("loss", 2.0), ("lr", 0.1)])
    bar.update(4, [("loss", 1.0)])
    text = out.getvalue()
    assert "loss: 2.0000" in text and "lr: 0.1000" in text  # (4 + 2 + 2 * 1) / 4


def test_save_img_roundtrip(tmp_path):
    pytest.importorskip("PIL")
    image = np.zeros((4, 5, 3), np.uint8)
    image[1, 2] = [255, 0, 0]
    path = tmp_path / "x.png"
    tf.keras.utils.save_img(path, image, scale=False)
    back = tf.keras.utils.img_to_array(tf.keras.utils.load_img(path))
    np.testing.assert_array_equal(back, image)


def test_keras_random():
    r = tf.keras.random
    a = r.normal((2, 3), seed=4)
    np.testing.assert_array_equal(a.numpy(), r.normal((2, 3), seed=4).numpy())
    assert a.dtype == tf.float32
    gen1, gen2 = r.SeedGenerator(7), r.SeedGenerator(7)
    first = r.uniform((5,), seed=gen1).numpy()
    assert not np.array_equal(first, r.uniform((5,), seed=gen1).numpy())
    np.testing.assert_array_equal(first, r.uniform((5,), seed=gen2).numpy())
    ints = r.randint((100,), 2, 5, seed=0).numpy()
    assert ints.dtype == np.int32 and ints.min() >= 2 and ints.max() <= 4
    assert np.all(np.abs(r.truncated_normal((200,), seed=1).numpy()) <= 2)
    with pytest.raises(ValueError, match="seed"):  # TF 2.21: ValueError
        r.normal((2,), seed="x")
