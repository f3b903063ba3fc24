"""keras.activations on tensors (a user's layer writing ``keras.activations.relu(x)`` or
``self.activation(x)`` in ``call``) are followed by the tapes, and every ReLU-like function
takes TensorFlow's slope at its ties (x == 0, the cap, the threshold).

The expected numbers were printed by TensorFlow 2.21 / Keras 3.15.1 running the same code
(`tape.gradient` rounded to 4 decimals)."""

import numpy as np
import pytest

import convnp as tf

K = tf.keras
X = [[-3.0, -1.0, 0.0, 1.0, 3.0, 6.0]]
WEIGHTS = [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]
# d sum(WEIGHTS * activation(X)) / dX
TF_GRADIENTS = {
    "relu": [0.0, 0.0, 0.0, 4.0, 5.0, 6.0],
    "sigmoid": [0.0452, 0.3932, 0.75, 0.7864, 0.2259, 0.0148],
    "tanh": [0.0099, 0.8399, 3.0, 1.6799, 0.0493, 0.0001],
    "softplus": [0.0474, 0.5379, 1.5, 2.9242, 4.7629, 5.9852],
    "softsign": [0.0625, 0.5, 3.0, 1.0, 0.3125, 0.1224],
    "elu": [0.0498, 0.7358, 3.0, 4.0, 5.0, 6.0],
    "selu": [0.0875, 1.2935, 3.1521, 4.2028, 5.2535, 6.3042],
    "silu": [-0.0881, 0.1447, 1.5, 3.7107, 5.4405, 6.074],
    "leaky_relu": [0.2, 0.4, 0.6, 4.0, 5.0, 6.0],
    "relu6": [0.0, 0.0, 0.0, 4.0, 5.0, 0.0],
    "exponential": [0.0498, 0.7358, 3.0, 10.8731, 100.4277, 2420.5728],
    "gelu": [-0.0119, -0.1666, 1.5, 4.3333, 5.0597, 6.0],
    "hard_sigmoid": [0.0, 0.3333, 0.5, 0.6667, 0.0, 0.0],
    "hard_silu": [0.0, 0.3333, 1.5, 3.3333, 5.0, 6.0],
    "mish": [-0.0934, 0.1184, 1.8, 4.1961, 5.1055, 6.0008],
    "log_sigmoid": [0.9526, 1.4621, 1.5, 1.0758, 0.2371, 0.0148],
    "hard_tanh": [0.0, 2.0, 3.0, 4.0, 0.0, 0.0],
    "celu": [0.0498, 0.7358, 6.0, 4.0, 5.0, 6.0],
    "linear": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    "softmax": [-0.0006, -0.0034, -0.0068, -0.0123, -0.0436, 0.0667],
    "log_softmax": [0.9976, 1.9819, 2.9509, 3.8665, 4.0137, -13.8106],
}


def _gradient(function, x=X, weighted=False):
    x = tf.constant(np.array(x, "float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
        total = tf.reduce_sum(y * tf.constant(WEIGHTS)) if weighted else tf.reduce_sum(y)
    g = tape.gradient(total, x)
    assert g is not None, "the tape lost the activation"
    return np.asarray(g)


@pytest.mark.parametrize("name", sorted(TF_GRADIENTS))
@pytest.mark.parametrize("how", ["layer", "function", "get"])
def test_every_activation_on_a_tensor_as_tensorflow(name, how):
    function = {"layer": K.layers.Activation(name), "function": getattr(K.activations, name),
                "get": K.activations.get(name)}[how]
    np.testing.assert_allclose(_gradient(function, weighted=True).ravel(), TF_GRADIENTS[name],
                               rtol=1e-3, atol=6e-5)
    assert isinstance(function(tf.constant(np.array(X, "float32"))), tf.Tensor)


def test_arguments_other_than_the_defaults_on_tensors():
    x = [[-2.0, -1.0, 0.0, 0.5, 1.0, 4.0]]
    relu = K.activations.relu
    assert _gradient(lambda t: relu(t, threshold=1.0), x).ravel().tolist() == \
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert _gradient(lambda t: relu(t, max_value=4.0, negative_slope=0.1), x).ravel().tolist() \
        == pytest.approx([0.1, 0.1, 0.0, 1.0, 1.0, 1.0])
    assert _gradient(lambda t: K.activations.leaky_relu(t, negative_slope=0.5), x).ravel() \
        .tolist() == [0.5, 0.5, 0.5, 1.0, 1.0, 1.0]
    y = relu(np.array(x, "float32"), negative_slope=0.1, max_value=4.0, threshold=1.0)
    np.testing.assert_allclose(y, [[-0.3, -0.2, -0.1, -0.05, 0.0, 4.0]], rtol=1e-6)
    np.testing.assert_allclose(
        _gradient(lambda t: K.activations.softmax(t, axis=0), x), np.zeros((1, 6)), atol=1e-7)
    assert _gradient(lambda t: K.activations.elu(t, alpha=2.0), x).ravel()[1] == \
        pytest.approx(2 * np.exp(-1.0))


class _MyDense(K.layers.Layer):
    def __init__(self, units, activation=None):
        super().__init__()
        self.units = units
        self.activation = K.activations.get(activation)

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones")

    def call(self, x):
        return self.activation(tf.matmul(x, self.w))


class _Act(K.layers.Layer):
    def call(self, x):
        return K.activations.relu(x) + K.activations.gelu(x) * 0.5


def test_user_layers_calling_activations_train_the_layers_below():
    m = K.Sequential([K.Input((3,)), K.layers.Dense(4, kernel_initializer="ones"),
                      _MyDense(2, "relu"), _Act(), K.layers.Dense(1, kernel_initializer="ones")])
    x = np.array([[1.0, -2.0, 0.5], [0.3, 0.2, -0.1]], "float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(m(x) ** 2)
    sums = [float(np.abs(np.asarray(g)).sum())
            for g in tape.gradient(loss, m.trainable_variables)]
    np.testing.assert_allclose(sums, [70.63222, 117.72035, 47.08814, 44.41195, 9.42464],
                               rtol=1e-5)
    m.compile(optimizer=K.optimizers.SGD(0.01), loss="mse")
    before = m.layers[0].get_weights()[0].copy()
    m.fit(x, np.zeros((2, 1)), verbose=0)
    moved = float(np.abs(m.layers[0].get_weights()[0] - before).sum())
    assert moved == pytest.approx(0.353161, rel=1e-4)


def test_relu_family_slopes_at_the_ties():
    x = [[-1.0, 0.0, 1.0, 2.0, 6.0, 7.0]]
    for function, want in [
        (tf.nn.relu, [0, 0, 1, 1, 1, 1]), (K.ops.relu, [0, 0, 1, 1, 1, 1]),
        (tf.nn.relu6, [0, 0, 1, 1, 0, 0]), (K.ops.relu6, [0, 0, 1, 1, 0, 0]),
        (K.layers.LeakyReLU(), [0.3, 0.3, 1, 1, 1, 1]),
        (tf.nn.selu, [0.6468, 1.0507, 1.0507, 1.0507, 1.0507, 1.0507]),
    ]:
        np.testing.assert_allclose(_gradient(lambda t, f=function: f(t), x).ravel(), want,
                                   rtol=1e-4, err_msg=str(function))


@pytest.mark.parametrize("kwargs, want", [
    ({"max_value": 6.0}, [0, 0, 0, 1, 1, 1, 1, 0, 0]),
    ({"max_value": 4.0}, [0, 0, 0, 1, 1, 1, 0, 0, 0]),
    ({"negative_slope": 0.1}, [0.1, 0.1, 0.1, 1, 1, 1, 1, 1, 1]),
    ({"threshold": 1.0}, [0, 0, 0, 0, 0, 1, 1, 1, 1]),
    ({"negative_slope": 0.1, "threshold": 1.0}, [0.1, 0.1, 0.1, 0.1, 0, 1, 1, 1, 1]),
    ({"max_value": 4.0, "negative_slope": 0.1}, [0.1, 0.1, 0, 1, 1, 1, 0, 0, 0]),
    ({"max_value": 6.0, "negative_slope": 0.1}, [0.1, 0.1, 0, 1, 1, 1, 1, 0, 0]),
    ({"max_value": 4.0, "threshold": 1.0}, [0, 0, 0, 0, 0, 1, 0, 0, 0]),
])
def test_relu_layer_slopes_as_tensorflow(kwargs, want):
    x = [[-2.0, -1.0, 0.0, 0.5, 1.0, 4.0, 5.0, 6.0, 7.0]]
    layer = K.layers.ReLU(**kwargs)
    with tf.GradientTape() as tape:
        t = tf.constant(np.array(x, "float32"))
        tape.watch(t)
        y = layer(t)
    np.testing.assert_allclose(np.asarray(tape.gradient(y, t)).ravel(), want, rtol=1e-6)
    assert not np.signbit(np.asarray(y)[np.asarray(y) == 0]).any()  # no -0.0 outputs
