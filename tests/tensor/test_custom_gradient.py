"""`tf.custom_gradient` and `tf.recompute_grad` as TensorFlow 2.21 runs them.

The expected numbers are what TF 2.21 printed for the same programs (gradient reversal,
guided backpropagation by swapping a model's ReLUs, a function reading a Variable, several
inputs and outputs, a gradient reversal layer inside fit).
"""

import numpy as np
import pytest

import convnp as tf


@tf.custom_gradient
def grad_reverse(x):
    def custom_grad(dy):
        return -dy
    return tf.identity(x), custom_grad


@tf.custom_gradient
def guided_relu(x):
    def grad(dy):
        return tf.cast(dy > 0, x.dtype) * tf.cast(x > 0, x.dtype) * dy
    return tf.nn.relu(x), grad


def test_gradient_reversal_and_plain_values():
    x = tf.constant([1.0, -2.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(grad_reverse(x) * x)
    np.testing.assert_allclose(tape.gradient(y, x), [0.0, 0.0, 0.0])  # -x + x
    assert float(grad_reverse(tf.constant(2.0))) == 2.0  # no tape: just the value


def _small_convnet():
    inp = tf.keras.Input((6, 6, 2))
    h = tf.keras.layers.Conv2D(3, 3, activation="relu")(inp)
    h = tf.keras.layers.Conv2D(2, 3, activation="relu")(h)
    model = tf.keras.Model(inp, tf.keras.layers.GlobalAveragePooling2D()(h))
    model.set_weights([np.linspace(-1, 1, v.size).reshape(v.shape).astype("float32")
                       for v in model.get_weights()])
    return model


def _input_gradient(model, image):
    with tf.GradientTape() as tape:
        tape.watch(image)
        score = model(image)[0, 0]
    return float(score), tape.gradient(score, image).numpy().ravel()


def test_guided_backprop_by_swapping_the_activations():
    image = tf.constant(np.sin(np.arange(72)).reshape(1, 6, 6, 2).astype("float32"))
    model = _small_convnet()
    score, plain = _input_gradient(model, image)
    # the recipe compares each layer's activation with the Keras function, as in TF
    swapped = 0
    for layer in model.layers:
        if hasattr(layer, "activation") and layer.activation == tf.keras.activations.relu:
            layer.activation = guided_relu
            swapped += 1
    assert swapped == 2
    guided_score, guided = _input_gradient(model, image)
    # TF 2.21: score 0.78724 both ways; 48 nonzero input gradients (|sum| 26.72339) plain,
    # 32 (16.52083) guided, the first nonzero ones below
    assert guided_score == pytest.approx(score) == pytest.approx(0.78724, abs=1e-5)
    assert np.count_nonzero(plain) == 48
    assert np.abs(plain).sum() == pytest.approx(26.72339, abs=1e-4)
    assert np.count_nonzero(guided) == 32
    assert np.abs(guided).sum() == pytest.approx(16.52083, abs=1e-4)
    np.testing.assert_allclose(guided[guided != 0][:4],
                               [-0.33749, -0.29690, -1.04325, -0.90975], atol=1e-5)


def test_activation_equals_the_keras_function_it_names():
    layer = tf.keras.layers.Dense(2, activation="relu")
    assert layer.activation == tf.keras.activations.relu
    assert layer.activation != tf.keras.activations.sigmoid
    assert layer.activation != (lambda x: x)


def test_variables_read_inside_need_the_variables_keyword():
    v = tf.Variable([2.0, 3.0])

    @tf.custom_gradient
    def scale(x):
        def grad(dy, variables=None):
            assert list(variables) == [v]
            return dy * v, [dy * x * 10.0]
        return x * v, grad

    x = tf.constant([1.0, 4.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = tf.reduce_sum(scale(x))
    gx, gv = tape.gradient(out, [x, v])
    np.testing.assert_allclose(gx, [2.0, 3.0])
    np.testing.assert_allclose(gv, [10.0, 40.0])

    @tf.custom_gradient
    def forgets(x):
        return x * v, lambda dy: dy

    with pytest.raises(TypeError, match="variables"), tf.GradientTape() as tape:
        tape.watch(x)
        forgets(x)


def test_several_inputs_and_outputs():
    a, b = tf.constant(3.0), tf.constant(5.0)

    @tf.custom_gradient
    def two(a, b):
        return a * b, lambda dy: (dy * b, dy * a * 2)

    with tf.GradientTape() as tape:
        tape.watch([a, b])
        out = two(a, b)
    assert [float(g) for g in tape.gradient(out, [a, b])] == [5.0, 6.0]

    @tf.custom_gradient
    def multi(x):
        return (x * 2, x * 3), lambda d1, d2: d1 + 10 * d2

    with tf.GradientTape() as tape:
        tape.watch(a)
        p, q = multi(a)
        total = p + q
    assert float(tape.gradient(total, a)) == 11.0
    assert tf.is_tensor(p)

    @tf.custom_gradient
    def short(a, b):
        return a * b, lambda dy: dy  # one gradient for two inputs: TF's ValueError

    with tf.GradientTape() as tape:
        tape.watch([a, b])
        out = short(a, b)
    with pytest.raises(ValueError, match="2 tensor arguments"):
        tape.gradient(out, [a, b])


def test_bad_uses():
    with pytest.raises(TypeError, match="function"):
        tf.custom_gradient(3)
    with pytest.raises(TypeError, match="grad_fn"), tf.GradientTape() as tape:
        x = tf.constant(1.0)
        tape.watch(x)
        tf.custom_gradient(lambda x: x * 2.0)(x)


def test_recompute_grad_keeps_values_and_gradients():
    block = tf.recompute_grad(lambda x: tf.nn.relu(x) * 2.0)
    x = tf.constant([1.0, -2.0, 3.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = tf.reduce_sum(block(x) * x)
    np.testing.assert_allclose(tape.gradient(out, x), [4.0, 0.0, 12.0])
    np.testing.assert_allclose(block(x), [2.0, 0.0, 6.0])


def test_gradient_reversal_layer_in_fit():
    class GradReverse(tf.keras.layers.Layer):
        def call(self, x):
            return grad_reverse(x)

    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2, name="d"),
                                 GradReverse(), tf.keras.layers.Dense(1, name="e")])
    model.set_weights([np.ones((3, 2), "float32"), np.zeros(2, "float32"),
                       np.ones((2, 1), "float32"), np.zeros(1, "float32")])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 1), "float32"), epochs=1, verbose=0)
    # TF 2.21: the layer below the reversal climbs the loss, the one above descends
    np.testing.assert_allclose(model.get_layer("d").kernel.numpy(), np.full((3, 2), 2.2),
                               rtol=1e-6)
    np.testing.assert_allclose(model.get_layer("e").kernel.numpy(), np.full((2, 1), -2.6),
                               rtol=1e-6)
