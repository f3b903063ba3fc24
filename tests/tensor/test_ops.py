"""TensorFlow-named tensor ops: forward against NumPy semantics, gradients against central
differences (float64, hypothesis over shapes and axes)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convnp as tf
from convnp.tensor import EagerTensor
from tests.tensor.gradcheck import check

SETTINGS = settings(max_examples=15, deadline=None)


@st.composite
def array_and_axis(draw, min_dims=1, max_dims=3):
    ndim = draw(st.integers(min_dims, max_dims))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    seed = draw(st.integers(0, 2**16))
    x = np.random.default_rng(seed).normal(size=shape)
    axis = draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1)))
    keepdims = draw(st.booleans())
    return x, axis, keepdims


REDUCTIONS = [
    (tf.reduce_sum, np.sum), (tf.reduce_mean, np.mean), (tf.reduce_max, np.max),
    (tf.reduce_min, np.min), (tf.reduce_prod, np.prod), (tf.reduce_std, np.std),
    (tf.reduce_variance, np.var), (tf.math.reduce_logsumexp, None),
]


@pytest.mark.parametrize("op,ref", REDUCTIONS, ids=lambda f: getattr(f, "__name__", "ref"))
@SETTINGS
@given(data=array_and_axis())
def test_reductions_forward_and_gradient(op, ref, data):
    x, axis, keepdims = data
    out = op(tf.constant(x), axis=axis, keepdims=keepdims)
    assert isinstance(out, EagerTensor)
    if ref is not None:
        np.testing.assert_allclose(out.numpy(), ref(x, axis=axis, keepdims=keepdims),
                                   rtol=1e-10)
    else:
        m = np.max(x, axis=axis, keepdims=True)
        expected = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        if not keepdims:
            expected = np.squeeze(expected, axis=axis)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10)
    if op is tf.reduce_std and np.any(out.numpy() == 0):
        return  # sqrt at 0: no derivative (TensorFlow gives NaN too)
    weights = np.random.default_rng(1).normal(size=np.shape(out.numpy()))
    check(lambda t: tf.reduce_sum(op(t, axis=axis, keepdims=keepdims) * weights), x)


def test_reduce_mean_of_ints_is_an_int_and_any_all_work():
    x = tf.constant([[1, 2], [3, 4]])
    assert x.dtype == tf.int32
    assert int(tf.reduce_mean(x)) == 2 and tf.reduce_mean(x).dtype == tf.int32
    assert bool(tf.reduce_any(x > 3)) and not bool(tf.reduce_all(x > 3))
    assert tf.reduce_all(x > 0, axis=1).numpy().tolist() == [True, True]


BINARY = [(tf.add, np.add), (tf.subtract, np.subtract), (tf.multiply, np.multiply),
          (tf.divide, np.divide), (tf.maximum, np.maximum), (tf.minimum, np.minimum),
          (tf.pow, None)]


@pytest.mark.parametrize("op,ref", BINARY, ids=lambda f: getattr(f, "__name__", "ref"))
@SETTINGS
@given(seed=st.integers(0, 2**16), shapes=st.sampled_from(
    [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 4)), ((4,), ()), ((2, 3, 1), (3, 2))]))
def test_binary_ops_broadcast_and_differentiate(op, ref, seed, shapes):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.5, 2.0, size=shapes[0])
    b = rng.uniform(0.5, 2.0, size=shapes[1]) * rng.choice([-1, 1], size=shapes[1])
    if ref is None:
        ref = np.power
    np.testing.assert_allclose(op(tf.constant(a), tf.constant(b)).numpy(), ref(a, b),
                               rtol=1e-12)
    w = rng.normal(size=np.broadcast_shapes(np.shape(a), np.shape(b)))
    check(lambda t: tf.reduce_sum(op(t, tf.constant(b)) * w), a)
    check(lambda t: tf.reduce_sum(op(tf.constant(a), t) * w), b)


UNARY = [(tf.square, np.square, None), (tf.sqrt, np.sqrt, "pos"), (tf.exp, np.exp, None),
         (tf.math.log, np.log, "pos"), (tf.abs, np.abs, None), (tf.negative, np.negative, None),
         (tf.math.tanh, np.tanh, None), (tf.nn.relu, lambda v: np.maximum(v, 0), None),
         (tf.nn.relu6, lambda v: np.clip(v, 0, 6), None),
         (tf.sigmoid, lambda v: 1 / (1 + np.exp(-v)), None), (tf.math.log1p, np.log1p, "pos"),
         (tf.math.rsqrt, lambda v: 1 / np.sqrt(v), "pos")]


@pytest.mark.parametrize("op,ref,domain", UNARY, ids=lambda f: getattr(f, "__name__", "x"))
@SETTINGS
@given(seed=st.integers(0, 2**16), shape=st.sampled_from([(3,), (2, 3), (2, 2, 2)]))
def test_unary_ops(op, ref, domain, seed, shape):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.2, 3.0, size=shape) if domain == "pos" else rng.normal(size=shape) * 4
    x = np.where(np.abs(x) < 1e-3, 0.5, x)  # keep kinks (relu at 0, abs at 0) out of reach
    x = np.where(np.abs(x - 6) < 1e-3, 5.5, x)
    np.testing.assert_allclose(op(tf.constant(x)).numpy(), ref(x), rtol=1e-12)
    w = rng.normal(size=shape)
    check(lambda t: tf.reduce_sum(op(t) * w), x)


@SETTINGS
@given(seed=st.integers(0, 2**16), axis=st.integers(-2, 1))
def test_softmax_family_and_cross_entropies(seed, axis):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(3, 4))
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    p = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(tf.nn.softmax(z, axis=axis).numpy(), p, rtol=1e-12)
    np.testing.assert_allclose(tf.nn.log_softmax(z, axis=axis).numpy(), np.log(p), rtol=1e-10)
    w = rng.normal(size=(3, 4))
    check(lambda t: tf.reduce_sum(tf.nn.softmax(t, axis=axis) * w), z)
    check(lambda t: tf.reduce_sum(tf.nn.log_softmax(t, axis=axis) * w), z)
    labels = rng.integers(0, 4, size=3)
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=z)
    np.testing.assert_allclose(sparse.numpy(), -np.log(
        np.exp(z) / np.exp(z).sum(-1, keepdims=True))[np.arange(3), labels], rtol=1e-10)
    check(lambda t: tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=t) * w[:, 0]), z)
    soft = rng.dirichlet(np.ones(4), size=3)
    dense = tf.nn.softmax_cross_entropy_with_logits(labels=soft, logits=z)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    np.testing.assert_allclose(dense.numpy(), -(soft * logp).sum(-1), rtol=1e-10)
    check(lambda t: tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(soft, t) * w[:, 1]),
          z)
    check(lambda t: tf.reduce_sum(tf.nn.l2_normalize(t, axis=axis) * w), z)


@SETTINGS
@given(seed=st.integers(0, 2**16), ta=st.booleans(), tb=st.booleans(), batch=st.booleans())
def test_matmul_transpose_flags_and_batches(seed, ta, tb, batch):
    rng = np.random.default_rng(seed)
    lead = (2,) if batch else ()
    a = rng.normal(size=lead + ((4, 3) if ta else (3, 4)))
    b = rng.normal(size=(5, 4) if tb else (4, 5))
    ref = np.matmul(np.swapaxes(a, -1, -2) if ta else a, b.T if tb else b)
    out = tf.matmul(a, b, transpose_a=ta, transpose_b=tb)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
    w = rng.normal(size=ref.shape)
    check(lambda t: tf.reduce_sum(tf.matmul(t, b, transpose_a=ta, transpose_b=tb) * w), a)
    check(lambda t: tf.reduce_sum(tf.linalg.matmul(a, t, transpose_a=ta, transpose_b=tb) * w),
          b)


@pytest.mark.parametrize("eq,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ij->j", [(3, 4)]), ("i,j->ij", [(3,), (2,)]), ("ijk,k->ij", [(2, 3, 4), (4,)]),
    ("...x,xy->...y", [(2, 3, 4), (4, 5)]), ("ab...,bc->ac...", [(2, 3, 4, 2), (3, 2)]),
    ("...i,...i->...", [(2, 3), (2, 3)]), ("...ij,jk", [(2, 2, 3), (3, 2)]),
])
def test_einsum_and_tensordot(eq, shapes):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s) for s in shapes]
    ref = np.einsum(eq, *arrays)
    np.testing.assert_allclose(tf.einsum(eq, *arrays).numpy(), ref, rtol=1e-12)
    w = rng.normal(size=ref.shape)
    for i in range(len(arrays)):
        def f(t, i=i):
            ops = list(arrays)
            ops[i] = t
            return tf.reduce_sum(tf.einsum(eq, *ops) * w)
        check(f, arrays[i])
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(3, 4, 5))
    np.testing.assert_allclose(tf.tensordot(a, b, axes=2).numpy(), np.tensordot(a, b, 2),
                               rtol=1e-12)
    np.testing.assert_allclose(tf.tensordot(a, b, axes=[[1], [0]]).numpy(),
                               np.tensordot(a, b, axes=[[1], [0]]), rtol=1e-12)


def test_shape_ops_forward_and_gradient():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4))
    cases = [
        (lambda t: tf.reshape(t, (6, 4)), x.reshape(6, 4)),
        (lambda t: tf.reshape(t, [-1]), x.reshape(-1)),
        (lambda t: tf.transpose(t), x.T),
        (lambda t: tf.transpose(t, perm=[1, 0, 2]), x.transpose(1, 0, 2)),
        (lambda t: tf.expand_dims(t, 1), x[:, None]),
        (lambda t: tf.squeeze(tf.expand_dims(t, 0), 0), x),
        (lambda t: tf.concat([t, t * 2], axis=1), np.concatenate([x, 2 * x], axis=1)),
        (lambda t: tf.stack([t, t + 1], axis=-1), np.stack([x, x + 1], axis=-1)),
        (lambda t: tf.tile(t, [1, 2, 1]), np.tile(x, (1, 2, 1))),
        (lambda t: tf.gather(t, [2, 0, 2], axis=1), x[:, [2, 0, 2]]),
        (lambda t: tf.gather_nd(t, [[0, 1], [1, 2]]), x[[0, 1], [1, 2]]),
        (lambda t: tf.boolean_mask(t, np.array([True, False])), x[[0]]),
        (lambda t: tf.where(t > 0, t, t * 3), np.where(x > 0, x, 3 * x)),
        (lambda t: tf.clip_by_value(t, -0.5, 0.5), np.clip(x, -0.5, 0.5)),
        (lambda t: t[:, 1:, ::2], x[:, 1:, ::2]),
        (lambda t: t[0, tf.newaxis], x[0, None]),
        (lambda t: tf.split(t, 2, axis=2)[1], np.split(x, 2, axis=2)[1]),
        (lambda t: tf.split(t, [1, 3], axis=2)[1], x[:, :, 1:]),
        (lambda t: tf.unstack(t, axis=1)[2], x[:, 2]),
        (lambda t: tf.math.cumsum(t, axis=1), np.cumsum(x, axis=1)),
        (lambda t: tf.add_n([t, t, t]), 3 * x),
        (lambda t: tf.linalg.norm(t), np.linalg.norm(x.ravel())),
        (lambda t: tf.norm(t, axis=-1), np.linalg.norm(x, axis=-1)),
        (lambda t: tf.identity(t), x),
    ]
    cast = tf.cast(tf.constant(x), tf.float32)
    assert cast.dtype == tf.float32
    c = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(c)
        y = tf.reduce_sum(tf.cast(tf.cast(c, tf.float32), tf.float64) * x)
    np.testing.assert_allclose(tape.gradient(y, c).numpy(), x)
    for f, expected in cases:
        out = f(tf.constant(x))
        np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-6)
        w = rng.normal(size=np.shape(expected))
        check(lambda t, f=f, w=w: tf.reduce_sum(tf.cast(f(t), tf.float64) * w), x, rtol=1e-4)


def test_creation_and_dtypes_follow_tensorflow():
    assert tf.constant(1.5).dtype == tf.float32 and tf.constant(3).dtype == tf.int32
    assert tf.constant(np.float64(1.0)).dtype == tf.float64
    assert tf.constant([1, 2], dtype=tf.float32).dtype == np.float32
    assert tf.constant(0.0, shape=(2, 2)).shape == (2, 2)
    assert tf.zeros((2, 3)).dtype == tf.float32 and tf.ones([2], tf.int32).dtype == tf.int32
    assert tf.zeros_like(tf.constant([1, 2])).numpy().tolist() == [0, 0]
    assert tf.fill([2], 7).numpy().tolist() == [7, 7]
    assert tf.range(5).numpy().tolist() == [0, 1, 2, 3, 4] and tf.range(5).dtype == tf.int32
    assert tf.range(1.0, 2.0, 0.5).dtype == tf.float32
    np.testing.assert_allclose(tf.linspace(0.0, 1.0, 3).numpy(), [0, 0.5, 1])
    hot = tf.one_hot([0, 2, -1], 3)
    assert hot.numpy().tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0]] and hot.dtype == tf.float32
    assert tf.shape(tf.zeros((2, 3))).numpy().tolist() == [2, 3]
    assert int(tf.rank(tf.zeros((2, 3)))) == 2 and int(tf.size(tf.zeros((2, 3)))) == 6
    assert tf.argmax([[1, 5], [7, 2]], axis=1).numpy().tolist() == [1, 0]
    assert tf.argmin([[1, 5], [7, 2]]).numpy().tolist() == [0, 1]
    assert tf.cast(tf.constant([1.7, -1.7]), tf.int32).numpy().tolist() == [1, -1]
    assert tf.round(tf.constant([0.5, 1.5])).numpy().tolist() == [0.0, 2.0]
    assert tf.sign(tf.constant([-2.0, 3.0])).numpy().tolist() == [-1.0, 1.0]
    assert tf.where(tf.constant([True, False, True])).numpy().tolist() == [[0], [2]]
    assert tf.convert_to_tensor(np.ones(2)).dtype == tf.float64
    t = tf.constant([1.0])
    assert tf.convert_to_tensor(t) is t
    assert tf.float32 == np.float32 and tf.as_dtype("uint8") == tf.uint8
    assert tf.newaxis is None and tf.is_tensor(t) and not tf.is_tensor(np.ones(1))


def test_unsupported_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="fewer axes"):
        tf.einsum("...ij,j->...", np.ones(3), np.ones(3))
    with pytest.raises(NotImplementedError, match="data_format"):
        tf.nn.conv2d(np.ones((1, 4, 4, 1)), np.ones((2, 2, 1, 1)), 1, "VALID",
                     data_format="NCHW")
    with pytest.raises(ValueError, match="rank >= 2"):
        tf.matmul(np.ones(3), np.ones((3, 2)))
    with pytest.raises(ValueError, match="do not add up"):
        tf.split(np.ones(4), [1, 2])
    with pytest.raises(TypeError, match="expected a dtype"):
        tf.cast(tf.zeros(2), "not-a-dtype")


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("stride", [1, 2])
def test_nn_conv_and_pools_match_references_and_gradients(padding, stride):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 5, 2))
    w = rng.normal(size=(3, 3, 2, 3))
    out = tf.nn.conv2d(x, w, strides=[1, stride, stride, 1], padding=padding)
    if padding == "VALID":
        ref = torch.nn.functional.conv2d(torch.tensor(x).permute(0, 3, 1, 2),
                                         torch.tensor(w).permute(3, 2, 0, 1), stride=stride)
        np.testing.assert_allclose(out.numpy(), ref.permute(0, 2, 3, 1).numpy(), rtol=1e-10)
    weights = rng.normal(size=out.shape)
    check(lambda t: tf.reduce_sum(tf.nn.conv2d(t, w, stride, padding) * weights), x)
    check(lambda t: tf.reduce_sum(tf.nn.conv2d(x, t, stride, padding) * weights), w)
    for pool in (tf.nn.max_pool2d, tf.nn.avg_pool2d):
        pooled = pool(x, ksize=2, strides=stride, padding=padding)
        wp = rng.normal(size=pooled.shape)
        check(lambda t, pool=pool, wp=wp: tf.reduce_sum(pool(t, 2, stride, padding) * wp), x)
    ref_max = torch.nn.functional.max_pool2d(torch.tensor(x).permute(0, 3, 1, 2), 2, stride)
    if padding == "VALID":
        np.testing.assert_allclose(tf.nn.max_pool2d(x, 2, stride, "VALID").numpy(),
                                   ref_max.permute(0, 2, 3, 1).numpy())
    check(lambda t: tf.reduce_sum(tf.nn.bias_add(t, np.arange(2.0)) ** 2), x)


def test_image_ops():
    rng = np.random.default_rng(0)
    img = rng.uniform(size=(4, 6, 3))
    flipped = tf.image.flip_left_right(img)
    np.testing.assert_array_equal(flipped.numpy(), img[:, ::-1])
    np.testing.assert_array_equal(tf.image.flip_up_down(img[None]).numpy()[0], img[::-1])
    w = rng.normal(size=img.shape)
    check(lambda t: tf.reduce_sum(tf.image.flip_left_right(t) * w), img)
    check(lambda t: tf.reduce_sum(tf.image.flip_up_down(t) * w), img)
    same = tf.image.resize(img, (4, 6))
    np.testing.assert_allclose(same.numpy(), img, rtol=1e-6)
    up = tf.image.resize(img[None], (8, 12))
    assert up.shape == (1, 8, 12, 3)
    # bilinear with half-pixel centers: upsampling by 2 keeps the mean of a row exactly at
    # interior samples; the corner keeps its value (clamped)
    np.testing.assert_allclose(up.numpy()[0, 0, 0], img[0, 0], rtol=1e-6)
    near = tf.image.resize(img, (2, 3), method="nearest")
    np.testing.assert_allclose(near.numpy(), img[1::2, 1::2], rtol=1e-6)
    # float64 throughout: `_resize` (tf.image.resize rounds its result to float32)
    check(lambda t: tf.reduce_sum(tf.image._resize(t, (3, 5)) ** 2), img[:3, :4, :1],
          rtol=1e-4)
    as_float = tf.image.convert_image_dtype(np.array([0, 255], dtype=np.uint8), tf.float32)
    assert as_float.numpy().tolist() == [0.0, 1.0]
    back = tf.image.convert_image_dtype(np.array([0.0, 1.0], dtype=np.float32), tf.uint8)
    assert back.numpy().tolist() == [0, 255]
    boxes = np.array([[0, 0, 1, 1], [0, 0.1, 1, 1.1], [0, 2, 1, 3]], dtype=np.float32)
    kept = tf.image.non_max_suppression(boxes, np.array([0.9, 0.8, 0.7]), 3, 0.5)
    assert kept.numpy().tolist() == [0, 2] and kept.dtype == tf.int32


def test_decode_png_and_read_file(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    img = (np.arange(2 * 3 * 3) % 255).astype(np.uint8).reshape(2, 3, 3)
    path = tmp_path / "x.png"
    pil.fromarray(img).save(path)
    raw = tf.io.read_file(str(path))
    decoded = tf.image.decode_png(raw, channels=3)
    np.testing.assert_array_equal(decoded.numpy(), img)
    assert tf.image.decode_png(raw, channels=1).shape == (2, 3, 1)


def test_random_draws_from_convnp_generator():
    tf.random.set_seed(3)
    a = tf.random.normal((2, 3))
    b = tf.random.uniform((4,), minval=2, maxval=5)
    tf.random.set_seed(3)
    np.testing.assert_array_equal(tf.random.normal((2, 3)).numpy(), a.numpy())
    np.testing.assert_array_equal(tf.random.uniform((4,), 2, 5).numpy(), b.numpy())
    assert a.dtype == tf.float32 and ((b.numpy() >= 2) & (b.numpy() < 5)).all()
    ints = tf.random.uniform((10,), 0, 3, dtype=tf.int32)
    assert ints.dtype == tf.int32 and set(ints.numpy().tolist()) <= {0, 1, 2}
    with pytest.raises(ValueError, match="maxval"):
        tf.random.uniform((2,), dtype=tf.int32)


def test_keras_ops_names_and_argument_orders():
    ops = tf.keras.ops
    x = np.arange(6.0).reshape(2, 3)
    assert float(ops.sum(x)) == 15.0 and ops.mean(x, axis=0).numpy().tolist() == [1.5, 2.5, 3.5]
    assert ops.max(x, axis=1, keepdims=True).shape == (2, 1)
    assert ops.clip(x, 1.0, 4.0).numpy().max() == 4.0
    assert ops.arange(3).numpy().tolist() == [0, 1, 2]
    assert ops.take(x, [0, 5]).numpy().tolist() == [0.0, 5.0]
    assert ops.concatenate([x, x], axis=1).shape == (2, 6)
    assert [p.shape for p in ops.split(x, [1], axis=1)] == [(2, 1), (2, 2)]
    assert ops.shape(x) == (2, 3) and float(ops.power(2.0, 3.0)) == 8.0
    np.testing.assert_allclose(ops.softmax(x).numpy().sum(axis=-1), [1.0, 1.0])
    check(lambda t: ops.sum(ops.relu(t) * ops.sigmoid(t)), x - 2.5)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64"])
def test_integer_sums_and_products_keep_their_dtype(dtype):
    # TensorFlow 2.21: reduce_sum/reduce_prod/cumsum of int32 are int32 (int8 stays int8);
    # NumPy alone would widen them to int64
    x = tf.constant([[1, 2, 3], [4, 5, 6]], getattr(tf, dtype))
    for result, value in ((tf.reduce_sum(x), 21), (tf.reduce_prod(x[0]), 6),
                          (tf.reduce_sum(x, axis=0), [5, 7, 9]),
                          (tf.math.cumsum(x[1]), [4, 9, 15])):
        assert result.dtype.name == dtype
        np.testing.assert_array_equal(result.numpy(), value)


@pytest.mark.parametrize("op", [
    lambda x: tf.reduce_sum(x, axis=1),
    lambda x: tf.nn.relu(x),
    lambda x: tf.keras.ops.mean(x, axis=-1, keepdims=True),
    lambda x: tf.constant(x),
])
def test_an_op_on_a_keras_tensor_becomes_a_layer(op):
    """A KerasTensor is no value: the op is recorded as a layer of the model being built
    (`convnp.layers.op_layer`), never run on an object array (a 'string' tensor came out of
    reduce_sum once)."""
    out = op(tf.keras.Input(shape=(4,)))
    assert type(out.layer).__name__ == "TFOpLambda"


def test_numpy_on_a_keras_tensor_says_what_it_got():
    """Functions that are not convnp's ops still refuse a KerasTensor by name."""
    from convnp.tensor.tape import as_array

    with pytest.raises(TypeError, match="got KerasTensor.*keras.layers.Lambda"):
        as_array(tf.keras.Input(shape=(4,)))


def test_a_value_that_is_no_number_is_refused():
    with pytest.raises(TypeError, match="got NoneType"):
        tf.constant(None)
    assert tf.constant(["a", "b"]).numpy().tolist() == ["a", "b"]  # strings stay values


def test_matmul_converts_a_numpy_operand_to_the_tensors_dtype():
    # TensorFlow 2.21: tf.matmul(tf.ones((2, 3)), b) is float32 for b a float64 or int64
    # NumPy array or a list of floats (NumPy's promotion would give float64)
    a = tf.ones((2, 3))
    for b in (np.ones((3, 2)), np.ones((3, 2), np.int64), [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]):
        assert tf.matmul(a, b).dtype == tf.float32
    assert tf.matmul(np.ones((4, 2)), tf.ones((2, 3))).dtype == tf.float32
    v = tf.Variable(np.ones((2, 3), np.float32))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(tf.matmul(v, np.full((3, 2), 2, np.int64)))
    np.testing.assert_array_equal(tape.gradient(total, v).numpy(), np.full((2, 3), 4.0))
