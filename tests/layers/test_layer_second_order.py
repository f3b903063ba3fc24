"""Every layer's second-order rule (`Layer.second_order`) against central differences of the
first-order gradients, in float64.

For a model f, weights W and input x, with s = sum(c * f(x)) and its first-order gradients
g_x, g_W (from one tape), the penalty P = sum(a * g_x**2) + sum_k sum(b_k * g_Wk) exercises
both kinds of cotangent a rule takes (of the input gradient, nonlinearly, and of the weight
gradients). Its gradient from nested tapes must match central differences of P, computed
with first-order tapes only."""

import numpy as np
import pytest

import convnp as tf

L = tf.keras.layers
F64 = {"dtype": "float64"}


def _first_order(model, x, objective):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        s = objective(model(xt, training=True))
    return tape.gradient(s, [xt] + model.trainable_variables,
                         unconnected_gradients="zero")


def _penalty_value(model, x, objective, a, bs):
    grads = [np.asarray(g) for g in _first_order(model, x, objective)]
    return float(np.sum(a * grads[0] ** 2) + sum(np.sum(b * g) for b, g in zip(bs, grads[1:])))


def _check(model, x, seed=0, rtol=1e-6, objective=None):
    """``objective(outputs)``: the scalar differentiated twice (default: a weighted sum)."""
    rng = np.random.default_rng(seed)
    out_shape = np.shape(model(x))
    if objective is None:
        c = rng.normal(size=out_shape)

        def objective(out):
            return tf.reduce_sum(out * c)
    a = rng.normal(size=x.shape)
    variables = model.trainable_variables
    bs = [rng.normal(size=v.shape) for v in variables]
    xt = tf.constant(x)
    with tf.GradientTape() as outer:
        outer.watch(xt)
        with tf.GradientTape() as inner:
            inner.watch(xt)
            s = objective(model(xt, training=True))
        grads = inner.gradient(s, [xt] + variables, unconnected_gradients="zero")
        penalty = tf.reduce_sum(a * grads[0] * grads[0])
        for b, g in zip(bs, grads[1:]):
            penalty = penalty + tf.reduce_sum(b * g)
    found = outer.gradient(penalty, variables + [xt], unconnected_gradients="zero")
    assert float(penalty) == pytest.approx(_penalty_value(model, x, objective, a, bs), rel=1e-9)

    eps = 1e-6
    targets = [(v, None) for v in variables] + [(None, x)]
    for (variable, inputs), got in zip(targets, found):
        base = np.array(variable.numpy() if variable is not None else inputs)
        numeric = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            values = []
            for sign in (1, -1):
                moved = base.copy()
                moved[index] += sign * eps
                if variable is not None:
                    variable.assign(moved)
                    values.append(_penalty_value(model, x, objective, a, bs))
                else:
                    values.append(_penalty_value(model, moved, objective, a, bs))
            numeric[index] = (values[0] - values[1]) / (2 * eps)
        if variable is not None:
            variable.assign(base)
        name = variable.name if variable is not None else "input"
        np.testing.assert_allclose(np.asarray(got), numeric, rtol=rtol, atol=1e-7,
                                   err_msg=name)


def _images(shape, seed=1):
    return np.random.default_rng(seed).normal(size=shape)


ACTIVATIONS = ["linear", "relu", "tanh", "sigmoid", "elu", "selu", "softplus", "silu",
               "gelu", "exponential", "softmax", "leaky_relu", "softsign", "mish", "hard_silu",
               "log_sigmoid"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_with_each_fused_activation(activation):
    tf.keras.utils.set_random_seed(3)
    model = tf.keras.Sequential([tf.keras.Input((5,), dtype="float64"),
                                 L.Dense(4, activation=activation, **F64),
                                 L.Dense(2, activation="tanh", **F64)])
    x = _images((3, 5)) * (0.3 if activation == "exponential" else 1.0)
    _check(model, x)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softmax", "gelu", "relu"])
def test_activation_layers(activation):
    tf.keras.utils.set_random_seed(4)
    model = tf.keras.Sequential([tf.keras.Input((4,), dtype="float64"),
                                 L.Dense(5, **F64), L.Activation(activation, **F64),
                                 L.Dense(2, **F64)])
    _check(model, _images((2, 4)))


def test_convolutions_strided_dilated_and_padded():
    tf.keras.utils.set_random_seed(5)
    model = tf.keras.Sequential([
        tf.keras.Input((7, 7, 2), dtype="float64"),
        L.Conv2D(3, 3, strides=2, padding="same", activation="tanh", **F64),
        L.Conv2D(2, 2, dilation_rate=2, padding="same", activation="softplus", **F64),
        L.Conv2D(2, (2, 1), padding="valid", use_bias=False, **F64),
        L.Flatten(**F64), L.Dense(1, **F64)])
    _check(model, _images((2, 7, 7, 2)))


def test_conv1d():
    tf.keras.utils.set_random_seed(6)
    model = tf.keras.Sequential([
        tf.keras.Input((9, 2), dtype="float64"),
        L.Conv1D(3, 3, strides=2, activation="sigmoid", **F64),
        L.Conv1D(2, 2, padding="causal", dilation_rate=2, activation="elu", **F64),
        L.GlobalAveragePooling1D(**F64), L.Dense(1, **F64)])
    _check(model, _images((2, 9, 2)))


def test_shape_padding_pooling_and_elementwise_layers():
    tf.keras.utils.set_random_seed(7)
    model = tf.keras.Sequential([
        tf.keras.Input((6, 6, 2), dtype="float64"),
        L.ZeroPadding2D(1, **F64), L.Conv2D(3, 3, activation="relu", **F64),
        L.AveragePooling2D(2, **F64), L.UpSampling2D(2, **F64), L.Cropping2D(1, **F64),
        L.Activation("sigmoid", **F64), L.LeakyReLU(0.1, **F64), L.ELU(0.5, **F64),
        L.ReLU(**F64), L.Dropout(0.0, **F64), L.GaussianNoise(0.0, **F64),
        L.Reshape((-1,), **F64), L.Dense(2, activation="softmax", **F64), L.Dense(1, **F64)])
    _check(model, _images((2, 6, 6, 2)))


def test_merges_in_a_functional_model():
    tf.keras.utils.set_random_seed(8)
    inp = tf.keras.Input((5, 5, 2), dtype="float64")
    a = L.Conv2D(3, 3, padding="same", activation="tanh", **F64)(inp)
    b = L.Conv2D(3, 1, activation="sigmoid", **F64)(inp)
    merged = [L.Add(**F64)([a, b]), L.Subtract(**F64)([a, b]), L.Average(**F64)([a, b, a])]
    x = L.Concatenate(**F64)(merged + [inp])
    x = L.Conv2D(2, 3, activation="elu", **F64)(x)
    out = L.Dense(1, **F64)(L.GlobalAveragePooling2D(**F64)(x))
    _check(tf.keras.Model(inp, out), _images((2, 5, 5, 2)))


def test_nested_model_and_shared_layer():
    tf.keras.utils.set_random_seed(9)
    block = tf.keras.Sequential([tf.keras.Input((4,), dtype="float64"),
                                 L.Dense(4, activation="tanh", **F64)])
    shared = L.Dense(4, activation="sigmoid", **F64)
    inp = tf.keras.Input((4,), dtype="float64")
    h = shared(block(inp))
    h = shared(L.Add(**F64)([h, inp]))
    out = L.Dense(1, activation="softplus", **F64)(h)
    _check(tf.keras.Model(inp, out), _images((3, 4)))


def test_layers_called_one_by_one_outside_a_model():
    tf.keras.utils.set_random_seed(10)
    conv = L.Conv2D(2, 3, activation="tanh", **F64)
    dense = L.Dense(1, **F64)

    class Critic(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.conv, self.dense = conv, dense

        def call(self, x):
            h = self.conv(x)
            return self.dense(tf.reshape(tf.nn.elu(h) + tf.nn.softplus(h), (-1, 2 * 3 * 3)))

    model = Critic()
    _check(model, _images((2, 5, 5, 1)))


def test_max_pooling_tiled_overlapping_and_global():
    tf.keras.utils.set_random_seed(11)
    model = tf.keras.Sequential([
        tf.keras.Input((7, 7, 2), dtype="float64"),
        L.Conv2D(3, 2, activation="tanh", **F64),
        L.MaxPooling2D(2, padding="same", **F64),
        L.Conv2D(3, 1, activation="sigmoid", **F64),
        L.MaxPooling2D(3, strides=1, **F64),
        L.Conv2D(2, 1, activation="softplus", **F64),
        L.GlobalMaxPooling2D(**F64), L.Dense(1, **F64)])
    _check(model, _images((2, 7, 7, 2)))


def test_batch_normalization_with_batch_and_moving_statistics():
    tf.keras.utils.set_random_seed(12)
    inp = tf.keras.Input((4, 4, 2), dtype="float64")
    h = L.Conv2D(3, 3, padding="same", **F64)(inp)
    h = L.BatchNormalization(**F64)(h)  # the model is called with training=True
    h = L.Activation("tanh", **F64)(h)
    frozen = L.BatchNormalization(**F64)
    h = frozen(h, training=False)  # moving statistics: affine in its input
    h = L.Conv2D(2, 2, activation="elu", **F64)(h)
    out = L.Dense(1, **F64)(L.Flatten(**F64)(h))
    model = tf.keras.Model(inp, out)
    frozen.moving_mean.assign(np.array([0.1, -0.2, 0.3]))
    frozen.moving_variance.assign(np.array([0.5, 1.5, 2.0]))
    _check(model, _images((3, 4, 4, 2)))


def test_layer_normalization():
    tf.keras.utils.set_random_seed(13)
    model = tf.keras.Sequential([
        tf.keras.Input((3, 4), dtype="float64"),
        L.Dense(5, activation="tanh", **F64),
        L.LayerNormalization(**F64),
        L.Dense(4, activation="sigmoid", **F64),
        L.LayerNormalization(axis=[1, 2], center=False, **F64),
        L.Flatten(**F64), L.Dense(1, **F64)])
    _check(model, _images((2, 3, 4)))


def _labels(kind):
    rng = np.random.default_rng(2)
    if kind == "sparse":
        return np.array([0, 2, 1, 2])
    if kind == "onehot":
        return np.eye(3)[[0, 2, 1, 2]]
    if kind == "binary":
        return rng.integers(0, 2, size=(4, 3)).astype("float64")
    return rng.normal(size=(4, 3))


LOSSES = [
    ("mse", lambda: tf.keras.losses.MeanSquaredError(), "real"),
    ("mae", lambda: tf.keras.losses.MeanAbsoluteError(), "real"),
    ("huber", lambda: tf.keras.losses.Huber(delta=0.5), "real"),
    ("mse_sum", lambda: tf.keras.losses.MeanSquaredError(reduction="sum"), "real"),
    ("bce_logits", lambda: tf.keras.losses.BinaryCrossentropy(from_logits=True), "binary"),
    ("bce_probs", lambda: tf.keras.losses.BinaryCrossentropy(label_smoothing=0.1), "binary"),
    ("cce_logits", lambda: tf.keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=0.2), "onehot"),
    ("scce_logits", lambda: tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
     "sparse"),
    ("scce_ignore", lambda: tf.keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=1), "sparse"),
    ("cce_probs", lambda: tf.keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
     "onehot"),
    ("scce_probs", lambda: tf.keras.losses.SparseCategoricalCrossentropy(), "sparse"),
    ("mse_function", lambda: tf.keras.losses.mean_squared_error, "real"),
    ("scce_function", lambda: (lambda y, p: tf.keras.losses.sparse_categorical_crossentropy(
        y, p, from_logits=True)), "sparse"),
]


@pytest.mark.parametrize(("name", "make", "kind"), LOSSES, ids=[c[0] for c in LOSSES])
def test_double_backpropagation_through_a_loss(name, make, kind):
    # the input gradient of a loss, penalised and differentiated again ("double backprop")
    tf.keras.utils.set_random_seed(14)
    last = {"bce_probs": "sigmoid", "cce_probs": "softmax", "scce_probs": "softmax"}.get(name)
    model = tf.keras.Sequential([tf.keras.Input((4,), dtype="float64"),
                                 L.Dense(5, activation="tanh", **F64),
                                 L.Dense(3, activation=last, **F64)])
    loss, y = make(), _labels(kind)
    weights = np.linspace(0.5, 1.5, 4)

    def objective(out):
        value = loss(y, out)
        return tf.reduce_sum(value * weights) if np.ndim(value) else value

    _check(model, _images((4, 4)), objective=objective)


def test_a_loss_without_a_second_order_rule_refuses_by_name():
    model = tf.keras.Sequential([tf.keras.Input((4,), dtype="float64"),
                                 L.Dense(3, activation="softmax", **F64)])
    x = tf.constant(_images((2, 4)))
    loss = tf.keras.losses.KLDivergence()
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            inner.watch(x)
            value = loss(np.full((2, 3), 1 / 3), model(x))
        g = inner.gradient(value, x)
        penalty = tf.reduce_sum(g * g)
    with pytest.raises(NotImplementedError, match="kl_divergence"):
        outer.gradient(penalty, model.trainable_variables)


def test_transposed_and_depthwise_convolutions():
    tf.keras.utils.set_random_seed(15)
    model = tf.keras.Sequential([
        tf.keras.Input((4, 4, 2), dtype="float64"),
        L.Conv2DTranspose(3, 3, strides=2, padding="same", activation="tanh", **F64),
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="sigmoid", **F64),
        L.DepthwiseConv2D(3, strides=2, **F64),
        L.Conv2DTranspose(2, 2, strides=1, use_bias=False, **F64),
        L.Flatten(**F64), L.Dense(1, **F64)])
    _check(model, _images((2, 4, 4, 2)))


def test_one_d_depthwise_separable_transposed_and_max_pooling():
    """The 1-D layers whose rules run the 2-D ops on height-1 images (SeparableConv1D's
    chains its two steps), in both layouts."""
    tf.keras.utils.set_random_seed(16)
    model = tf.keras.Sequential([
        tf.keras.Input((6, 2), dtype="float64"),
        L.Conv1DTranspose(3, 3, strides=2, padding="same", activation="tanh", **F64),
        L.SeparableConv1D(3, 3, depth_multiplier=2, padding="same", activation="sigmoid",
                          **F64),
        L.DepthwiseConv1D(3, strides=2, activation="softplus", **F64),
        L.MaxPooling1D(2, strides=1, **F64),
        L.SeparableConv1D(2, 2, data_format="channels_first", activation="tanh", **F64),
        L.GlobalMaxPooling1D(**F64), L.Dense(1, **F64)])
    _check(model, _images((2, 6, 2)))


def test_grouped_conv1d():
    """Both grouped paths: one input channel per group (the depthwise op) and several."""
    tf.keras.utils.set_random_seed(17)
    model = tf.keras.Sequential([
        tf.keras.Input((7, 2), dtype="float64"),
        L.Conv1D(4, 3, groups=2, padding="causal", dilation_rate=2, activation="tanh", **F64),
        L.Conv1D(4, 2, groups=2, strides=2, activation="sigmoid", **F64),
        L.Flatten(**F64), L.Dense(1, **F64)])
    _check(model, _images((2, 7, 2)))


class _Scaled(tf.keras.layers.Layer):
    """A user's layer written in tensor ops (no backward of its own)."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                     dtype="float64")

    def call(self, x):
        return tf.tanh(x * self.scale) + tf.square(x) * 0.5


def test_users_layers_and_tensor_functions_inside_a_model():
    tf.keras.utils.set_random_seed(16)
    inp = tf.keras.Input((4,), dtype="float64")
    h = L.Dense(5, **F64)(inp)
    h = _Scaled(dtype="float64")(h)
    h = tf.nn.leaky_relu(h, alpha=0.1)  # a TensorFlow function on a model's tensor
    h = tf.sigmoid(L.Dense(3, **F64)(h))
    model = tf.keras.Model(inp, L.Dense(1, **F64)(h))
    model.layers[2].scale.assign(np.array([0.5, -1.0, 1.5, 0.7, 1.1]))
    _check(model, _images((3, 4)))


def test_prelu_softmax_rescaling_and_multiply():
    tf.keras.utils.set_random_seed(17)
    inp = tf.keras.Input((4, 4, 2), dtype="float64")
    h = L.Rescaling(0.5, offset=-1.0, **F64)(inp)
    h = L.Conv2D(3, 3, padding="same", **F64)(h)
    shared = L.PReLU(shared_axes=[1, 2], **F64)
    h = shared(h)
    gate = L.Dense(3, activation="sigmoid", **F64)(L.GlobalAveragePooling2D(
        keepdims=True, **F64)(h))
    h = L.Multiply(**F64)([h, gate])  # squeeze-and-excitation: (m, 1, 1, 3) * (m, 4, 4, 3)
    h = L.PReLU(**F64)(L.Conv2D(2, 3, **F64)(h))
    h = L.Softmax(axis=[1, 2], **F64)(h)
    h = L.Multiply(**F64)([h, h, L.Softmax(**F64)(h)])
    out = L.Dense(1, **F64)(L.Flatten(**F64)(h))
    model = tf.keras.Model(inp, out)
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if isinstance(layer, L.PReLU):
            layer.alpha.assign(rng.uniform(0.1, 0.5, layer.alpha.shape))
    _check(model, _images((2, 4, 4, 2)))


def test_group_normalization():
    tf.keras.utils.set_random_seed(18)
    model = tf.keras.Sequential([
        tf.keras.Input((3, 3, 4), dtype="float64"),
        L.Conv2D(4, 2, padding="same", activation="tanh", **F64),
        L.GroupNormalization(groups=2, **F64),
        L.Conv2D(6, 2, activation="sigmoid", **F64),
        L.GroupNormalization(groups=2, axis=1, center=False, **F64),
        L.Flatten(**F64), L.Dense(1, **F64)])
    rng = np.random.default_rng(4)
    for layer in model.layers:
        if isinstance(layer, L.GroupNormalization):
            layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape))
    _check(model, _images((2, 3, 3, 4)))


def test_unit_normalization():
    tf.keras.utils.set_random_seed(19)
    model = tf.keras.Sequential([
        tf.keras.Input((3, 4), dtype="float64"),
        L.Dense(5, activation="tanh", **F64),
        L.UnitNormalization(**F64),
        L.Dense(4, **F64),
        L.UnitNormalization(axis=[1, 2], **F64),
        L.Flatten(**F64), L.Dense(1, **F64)])
    _check(model, _images((2, 3, 4)))
