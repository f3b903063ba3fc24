"""GradientTape: recording, structures, persistence, layers and models as VJPs, and the tape
against fit's own gradients."""

import warnings

import numpy as np
import pytest

import convnp
import convnp as tf
from convnp.app import zoo
from tests.tensor.gradcheck import check, numeric_grad

tfl = tf.keras.layers


def test_variable_and_operators_are_recorded():
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x * x + 2 * x - x / 4 + x ** 2
    assert float(tape.gradient(y, x)) == pytest.approx(2 * 3 + 2 - 0.25 + 6)
    assert x.dtype == tf.float32 and isinstance(tape.gradient, object)


def test_numpy_functions_and_methods_on_tensors_record():
    a = np.random.default_rng(0).normal(size=(3, 4))
    check(lambda t: np.sum(np.exp(t) * t.T.T), a)
    check(lambda t: (t.reshape(4, 3) @ np.ones((3, 2))).sum(), a)
    check(lambda t: np.mean(np.maximum(t, 0.1) ** 2, axis=0).max(), a)
    check(lambda t: t[1:, [0, 2]].sum() + np.clip(t, -0.5, 0.5).sum(), a)
    check(lambda t: np.sqrt(np.abs(t) + 1).transpose().dot(np.ones(3)).sum(), a)


def test_augmented_assignment_rebinds_like_tensorflow():
    a = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        total = 0
        for k in (1.0, 3.0):
            total += k * a * a  # the second += is on a tensor: a new tensor, recorded
    assert float(tape.gradient(total, a)) == pytest.approx(16.0)
    t = tf.constant([1.0])
    u = t
    u += 1
    assert t.numpy().tolist() == [1.0] and u.numpy().tolist() == [2.0]
    w = tf.constant(np.ones(2))
    with tf.GradientTape() as tape:
        tape.watch(w)
        with pytest.raises(NotImplementedError, match="in place"):
            np.add(w, 1, out=w)


def test_unknown_numpy_function_on_watched_tensor_is_refused():
    t = tf.constant(np.ones(3))
    with tf.GradientTape() as tape:
        tape.watch(t)
        with pytest.raises(NotImplementedError, match="no gradient rule"):
            np.cumprod(t)
        with pytest.raises(NotImplementedError, match="no gradient rule"):
            np.cbrt(t)  # (np.arcsinh has a rule: tf.math.asinh)
        assert float(np.argmax(t)) == 0.0  # no gradient needed: allowed


def test_structures_persistence_unconnected_and_stop():
    a = tf.Variable([1.0, 2.0])
    b = tf.Variable(3.0)
    c = tf.Variable(5.0, trainable=False)
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(a * b) + c
        z = tf.stop_gradient(a) * b
        with tape.stop_recording():
            w = a * 10
    grads = tape.gradient(y, {"a": a, "pair": (b, [c])})
    np.testing.assert_allclose(grads["a"].numpy(), [3.0, 3.0])
    assert float(grads["pair"][0]) == 3.0 and grads["pair"][1][0] is None
    assert tape.gradient(z, a) is None and float(tape.gradient(z, b)) == 3.0
    assert tape.gradient(w, a) is None
    zero = tape.gradient(w, a, unconnected_gradients="zero")
    assert zero.numpy().tolist() == [0.0, 0.0]
    np.testing.assert_allclose(tape.gradient([y, z], b).numpy(), 6.0)
    np.testing.assert_allclose(tape.gradient(y, a, output_gradients=2.0).numpy(), [6.0, 6.0])
    assert set(map(id, tape.watched_variables())) == {id(a), id(b)}
    with tf.GradientTape() as once:
        y = a * a
    once.gradient(y, a)
    with pytest.raises(RuntimeError, match="non-persistent"):
        once.gradient(y, a)


def test_watch_accessed_variables_off_and_watch_checks():
    v = tf.Variable(2.0)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        y = v * v
    assert tape.gradient(y, v) is None
    # TF 2.21 raises ValueError for a Python number (and for None or a string)
    with tf.GradientTape() as tape, pytest.raises(ValueError, match="tensors or Variables"):
        tape.watch(3.0)
    with tf.GradientTape() as tape, pytest.raises(ValueError):
        tape.watch(None)


def test_tf_function_runs_eagerly():
    @tf.function
    def f(x):
        return x * 2

    @tf.function(jit_compile=True, reduce_retracing=True)
    def g(x):
        return x + 1

    assert float(f(tf.constant(2.0))) == 4.0 and float(g(1.0)) == 2.0


def test_variable_api():
    v = tf.Variable([[1.0, 2.0]], name="w")
    assert v.shape == (1, 2) and v.shape.as_list() == [1, 2] and v.name == "w"
    assert v.assign([[3.0, 4.0]]) is v and v.numpy().tolist() == [[3.0, 4.0]]
    v.assign_add([[1.0, 1.0]])
    v.assign_sub([[0.5, 0.5]])
    assert v.numpy().tolist() == [[3.5, 4.5]]
    assert (v + 1).numpy().tolist() == [[4.5, 5.5]] and np.asarray(v).dtype == np.float32
    assert tf.Variable(1).dtype == tf.int32 and tf.Variable(np.ones(2)).dtype == tf.float64
    with pytest.raises(ValueError, match="expected shape"):
        v.assign([1.0, 2.0, 3.0])
    assert float(tf.reduce_sum(v)) == 8.0 and v[0, 1].numpy() == 4.5


def test_apply_gradients_on_tf_variables_minimizes():
    w = tf.Variable([5.0, -3.0])
    opt = tf.keras.optimizers.SGD(learning_rate=0.1)
    for _ in range(100):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(w - tf.constant([1.0, 2.0])))
        grads = tape.gradient(loss, [w])
        opt.apply_gradients(zip(grads, [w]))
    np.testing.assert_allclose(w.numpy(), [1.0, 2.0], atol=1e-4)


def test_layer_called_twice_under_one_tape_uses_each_calls_values():
    tf.keras.utils.set_random_seed(0)
    dense = tfl.Dense(3, activation="tanh", dtype="float64")
    x1 = np.random.default_rng(1).normal(size=(2, 4))
    x2 = np.random.default_rng(2).normal(size=(2, 4))
    dense.build((None, 4))

    def f(k):
        old = dense.kernel.value.copy()
        dense.kernel.value[...] = k
        out = float(np.sum(np.asarray(dense(x1)) ** 2 + 3 * np.asarray(dense(x2))))
        dense.kernel.value[...] = old
        return out

    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(dense(x1) ** 2) + tf.reduce_sum(3 * dense(x2))
    g = tape.gradient(y, dense.kernel).numpy()
    g_again = tape.gradient(y, dense.kernel).numpy()
    num = numeric_grad(lambda k: f(np.asarray(k)), dense.kernel.value)
    np.testing.assert_allclose(g, num, rtol=1e-6)
    np.testing.assert_allclose(g_again, g)


def _conv_net():
    return tf.keras.Sequential([
        tfl.Conv2D(3, 3, padding="same", activation="relu", input_shape=(6, 6, 2),
                   dtype="float64"),
        tfl.BatchNormalization(dtype="float64"),
        tfl.MaxPooling2D(2, dtype="float64"),
        tfl.Flatten(dtype="float64"),
        tfl.Dense(2, activation="softmax", dtype="float64"),
    ])


def test_input_gradient_of_a_conv_net_matches_central_differences():
    tf.keras.utils.set_random_seed(3)
    model = _conv_net()
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 2))
    w = np.random.default_rng(1).normal(size=(2, 2))

    def f(t):
        return tf.reduce_sum(model(t, training=False) * w)

    check(f, x, rtol=1e-5)


def _fit_grads(model, x, y):
    fused, variables = model._prepare_training()
    model._compute_gradients([x.astype(model._compute_dtype())], y, fused)
    grads = [np.array(v.grad) for v in variables]
    model._drop_caches()
    return grads


def _tape_grads(model, x, y, loss):
    with tf.GradientTape() as tape:
        pred = model(x, training=True)
        value = loss(y, pred)
    return [g.numpy() for g in tape.gradient(value, model.trainable_variables)]


def _compare(model, x, y, loss, rtol=1e-4):
    model.compile("sgd", loss)
    convnp.random.set_seed(5)
    expected = _fit_grads(model, x, y)
    convnp.random.set_seed(5)
    got = _tape_grads(model, x, y, model.compiled_loss)
    assert len(got) == len(expected) > 0
    # a conv bias feeding BatchNormalization has a zero gradient: only float32 noise is left
    # there, so the absolute tolerance follows the largest gradient of the model
    scale = max(np.max(np.abs(e)) for e in expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-5 * scale)


def test_tape_equals_fit_on_happy_model():
    tf.keras.utils.set_random_seed(0)
    model = zoo.happy_model((16, 16, 3))
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(4, 16, 16, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=(4, 1)).astype(np.float32)
    _compare(model, x, y, "binary_crossentropy")


def test_tape_equals_fit_on_signs_model():
    tf.keras.utils.set_random_seed(0)
    model = zoo.signs_model((16, 16, 3))
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(4, 16, 16, 3)).astype(np.float32)
    y = np.eye(6, dtype=np.float32)[rng.integers(0, 6, size=4)]
    _compare(model, x, y, "categorical_crossentropy")


def test_tape_equals_fit_on_a_model_with_every_built_in_layer():
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(shape=(8, 8, 2))
    x = tfl.ZeroPadding2D(1)(inputs)
    x = tfl.Conv2D(4, 3, activation="relu")(x)
    x = tfl.BatchNormalization(axis=3)(x)
    x = tfl.DepthwiseConv2D(3, padding="same")(x)
    a = tfl.ReLU()(x)
    b = tfl.Activation("tanh")(x)
    x = tfl.Add()([a, b])
    c = tfl.MaxPooling2D(2)(x)
    d = tfl.AveragePooling2D(2)(x)
    x = tfl.Concatenate()([c, d])
    x = tfl.Dropout(0.2)(x)
    x = tfl.Concatenate()([tfl.GlobalAveragePooling2D()(x), tfl.GlobalMaxPooling2D()(x),
                           tfl.Flatten()(x)])
    x = tfl.Dense(3, activation="softmax")(x)
    model = tf.keras.Model(inputs, x)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(5, 8, 8, 2)).astype(np.float32)
    ys = rng.integers(0, 3, size=(5,)).astype(np.float32)
    _compare(model, xs, ys, "sparse_categorical_crossentropy")


def test_tape_through_a_model_inside_a_model_and_frozen_layers():
    tf.keras.utils.set_random_seed(0)
    base = tf.keras.Sequential([tfl.Dense(4, activation="relu", input_shape=(3,))])
    inputs = tf.keras.Input(shape=(3,))
    out = tfl.Dense(1)(base(inputs))
    model = tf.keras.Model(inputs, out)
    base.layers[0].trainable = False
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=(6, 1)).astype(np.float32)
    assert len(model.trainable_variables) == 2
    _compare(model, x, y, "mse")


def test_loss_objects_under_a_tape_and_outside():
    loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    logits = np.random.default_rng(0).normal(size=(4, 3))
    labels = np.array([0, 2, 1, 1])
    value = loss(labels, logits)
    assert value.shape == () and np.isfinite(value.numpy())
    check(lambda t: loss(labels, t), logits)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check(lambda t: tf.keras.losses.MeanSquaredError()(np.ones((4, 3)), t), logits)


def test_a_layer_called_on_a_variable_differentiates_with_respect_to_it():
    tf.keras.utils.set_random_seed(0)
    conv = tfl.Conv2D(2, 3, padding="same", dtype="float64")
    image = tf.Variable(np.random.default_rng(0).uniform(size=(1, 5, 5, 1)))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(conv(image) ** 2)
    g = tape.gradient(y, image)
    assert g.shape == (1, 5, 5, 1)
    check(lambda t: tf.reduce_sum(conv(t) ** 2), image.numpy())


def test_tape_equals_fit_on_a_model_with_the_newer_built_in_layers():
    from convnp.layers.tf_op import TensorFlowOpLayer

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(shape=(10, 10, 3))
    x = tfl.Rescaling(0.5, offset=0.1)(inputs)
    x = TensorFlowOpLayer("reverse_channels")(TensorFlowOpLayer("mul", [1.0, 2.0, 3.0])(x))
    x = tfl.RandomFlip("horizontal")(x)
    x = tfl.RandomContrast(0.2)(x)
    x = tfl.RandomRotation(0.1)(x)
    x = tfl.RandomTranslation(0.1, 0.1)(x)
    x = tfl.RandomZoom(0.1)(x)
    x = tfl.RandomCrop(9, 9)(x)
    x = tfl.ZeroPadding2D(((0, 1), (1, 0)))(x)
    x = tfl.Cropping2D(1)(x)
    x = tfl.Conv2D(4, 3, padding="same")(x)
    a = tfl.SeparableConv2D(4, 3, padding="same")(x)
    b = tfl.Conv2DTranspose(4, 3, padding="same")(x)
    c = tfl.Subtract()([a, b])
    d = tfl.Multiply()([a, b])
    x = tfl.Average()([tfl.Maximum()([c, d]), tfl.Minimum()([c, d])])
    x = tfl.UpSampling2D(2)(x)
    x = tfl.Resizing(8, 8)(x)
    x = tfl.CenterCrop(6, 6)(x)
    x = tfl.GlobalAveragePooling2D()(x)
    dot = tfl.Dot(axes=1)([tfl.Dense(3)(x), tfl.Dense(3)(x)])
    out = tfl.Dense(1, activation="sigmoid")(tfl.Concatenate()([x, dot]))
    model = tf.keras.Model(inputs, out)
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(4, 10, 10, 3)).astype(np.float32)
    ys = rng.integers(0, 2, size=(4, 1)).astype(np.float32)
    _compare(model, xs, ys, "binary_crossentropy")


def test_slicing_split_and_unstack_gradients():
    """Basic indexing writes its gradient (no scatter-add); an index array repeating a place
    adds up; split and unstack are one record each, and parts nothing reads get zeros."""
    a = np.random.default_rng(1).normal(size=(3, 4))
    check(lambda t: (t[:, ::-1] * np.arange(12.0).reshape(3, 4)).sum() + t[1, 2:].sum(), a)
    check(lambda t: (t[[0, 0, 2]] ** 2).sum(), a)  # row 0 counted twice
    check(lambda t: sum((p ** 3).sum() for p in tf.split(t, [1, 3], axis=1)), a)
    check(lambda t: sum(((i + 1) * r).sum() for i, r in enumerate(tf.unstack(t, axis=-1))), a)
    x = tf.Variable(np.arange(12.0).reshape(3, 4))
    with tf.GradientTape(persistent=True) as tape:
        _, right = tf.split(x, [1, 3], axis=1)
        rows = tf.unstack(x)
        y = tf.reduce_sum(right * 2.0) + tf.reduce_sum(rows[1] * 3.0)
    want = np.zeros((3, 4))
    want[:, 1:] += 2.0
    want[1] += 3.0
    np.testing.assert_array_equal(tape.gradient(y, x), want)
    # one record for the two parts of the split, one for the three rows
    assert sorted(len(outs) for _, outs, *_ in tape._records if len(outs) > 1) == [2, 3]


def test_infinities_and_nans_come_without_numpys_warnings():
    """TensorFlow computes log(0), x / 0, sqrt(-1) and exp(1000) silently, and their
    gradients too; NumPy would warn from inside convnp each time. Values as TensorFlow's."""
    x = tf.constant([0.0, -1.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            log = tf.math.log(x)
            ratio = tf.constant(1.0) / x
            root = tf.sqrt(x)
            big = tf.exp(x)
        grads = [tape.gradient(y, x).numpy() for y in (log, ratio, root, big)]
        np.add(x, x, out=np.empty(3, np.float32))  # the out= path too
    np.testing.assert_array_equal(log.numpy()[:1], [-np.inf])
    assert np.isnan(log.numpy()[1]) and ratio.numpy()[0] == np.inf
    assert np.isnan(root.numpy()[1]) and big.numpy()[2] == np.inf
    assert grads[0][0] == np.inf and grads[1][0] == -np.inf and grads[2][0] == np.inf
    assert grads[3][2] == np.inf
