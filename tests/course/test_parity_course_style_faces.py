"""Week 4's notebooks as they are written: neural style transfer (content and style costs,
gram matrix, a VGG19 base's layer outputs, ``@tf.function`` train steps that update a
``tf.Variable`` image with ``optimizer.apply_gradients`` and ``tf.clip_by_value``) and face
recognition's triplet loss. The numbers are what TensorFlow 2.21 gives for the same code and
inputs (``weights=None`` with weights set from a seeded NumPy generator; 32x32 images).
"""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

EagerTensor = type(tf.constant(1.0))

def compute_content_cost(content_output, generated_output):
    a_C = content_output[-1]
    a_G = generated_output[-1]
    m, n_H, n_W, n_C = a_G.get_shape().as_list()
    a_C_unrolled = tf.reshape(a_C, shape=[m, -1, n_C])
    a_G_unrolled = tf.reshape(a_G, shape=[m, -1, n_C])
    return tf.reduce_sum(tf.square(a_C_unrolled - a_G_unrolled)) / (4.0 * n_H * n_W * n_C)

def gram_matrix(A):
    return tf.matmul(A, tf.transpose(A))

def compute_layer_style_cost(a_S, a_G):
    _, n_H, n_W, n_C = a_G.get_shape().as_list()
    a_S = tf.transpose(tf.reshape(a_S, shape=[-1, n_C]))
    a_G = tf.transpose(tf.reshape(a_G, shape=[-1, n_C]))
    return tf.reduce_sum(tf.square(gram_matrix(a_S) - gram_matrix(a_G))) / (4.0 * ((n_H * n_W * n_C) ** 2))

STYLE_LAYERS = [("block1_conv1", 0.2), ("block2_conv1", 0.2), ("block3_conv1", 0.2), ("block4_conv1", 0.2), ("block5_conv1", 0.2)]

def compute_style_cost(style_image_output, generated_image_output, STYLE_LAYERS=STYLE_LAYERS):
    J_style = 0
    a_S = style_image_output[:-1]
    a_G = generated_image_output[:-1]
    for i, weight in zip(range(len(a_S)), STYLE_LAYERS):
        J_style += weight[1] * compute_layer_style_cost(a_S[i], a_G[i])
    return J_style

@tf.function()
def total_cost(J_content, J_style, alpha=10, beta=40):
    return alpha * J_content + beta * J_style

def clip_0_1(image):
    return tf.clip_by_value(image, clip_value_min=0.0, clip_value_max=1.0)

def arrays(seed, *shapes):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-2, 3, s).astype(np.float32) for s in shapes]



def test_costs_and_gram_matrix():
    a_C, a_G = arrays(1, (1, 1, 4, 4, 3), (1, 1, 4, 4, 3))
    J_content = compute_content_cost(tf.constant(a_C), tf.constant(a_G))
    assert type(J_content) is EagerTensor and J_content.shape == ()
    assert np.isclose(J_content, 1.058975338935852, rtol=1e-6)
    assert np.isclose(compute_content_cost(tf.constant(a_C), tf.constant(a_C)), 0.0)
    (A,) = arrays(2, (3, 2))
    GA = gram_matrix(tf.constant(A))
    assert type(GA) is EagerTensor and GA.shape == (3, 3)
    assert np.allclose(GA[0, :], [0.73638, -0.65126, -1.52608], atol=1e-5)
    a_S, a_G = arrays(3, (1, 4, 4, 3), (1, 4, 4, 3))
    assert np.isclose(compute_layer_style_cost(tf.constant(a_S), tf.constant(a_G)),
                      0.048380546271800995, rtol=1e-5)
    J = total_cost(0.2, 0.8)
    assert type(J) is EagerTensor and np.isclose(J, 34)


def vgg_outputs():
    vgg = tf.keras.applications.VGG19(include_top=False, input_shape=(32, 32, 3), weights=None)
    vgg.trainable = False
    rng = np.random.default_rng(7)
    vgg.set_weights([
        (rng.normal(0, 1, w.shape) * np.sqrt(2.0 / np.prod(w.shape[:3]))).astype(np.float32)
        if w.ndim == 4 else np.full(w.shape, 0.01, np.float32) for w in vgg.get_weights()])
    outputs = [vgg.get_layer(name).output for name, _ in STYLE_LAYERS + [("block5_conv4", 1)]]
    return tf.keras.Model([vgg.input], outputs)


def test_style_transfer_train_steps():
    vgg_model_outputs = vgg_outputs()
    pixels = np.random.default_rng(8).integers(0, 256, (2, 1, 32, 32, 3)).astype(np.uint8)
    content_image, style_image = tf.constant(pixels[0]), tf.constant(pixels[1])
    a_C = vgg_model_outputs(tf.Variable(tf.image.convert_image_dtype(content_image, tf.float32)))
    a_S = vgg_model_outputs(tf.Variable(tf.image.convert_image_dtype(style_image, tf.float32)))
    assert type(a_C) is list and len(a_C) == 6
    assert [tuple(t.shape) for t in a_C] == [(1, 32, 32, 64), (1, 16, 16, 128), (1, 8, 8, 256),
                                             (1, 4, 4, 512), (1, 2, 2, 512), (1, 2, 2, 512)]
    generated_image = tf.Variable(
        tf.image.convert_image_dtype(style_image, tf.float32) * 0.5 + 0.25)
    optimizer = tf.keras.optimizers.Adam(learning_rate=0.01)

    @tf.function()
    def train_step(generated_image):
        with tf.GradientTape() as tape:
            a_G = vgg_model_outputs(generated_image)
            J = total_cost(compute_content_cost(a_C, a_G), compute_style_cost(a_S, a_G))
        grad = tape.gradient(J, generated_image)
        optimizer.apply_gradients([(grad, generated_image)])
        generated_image.assign(clip_0_1(generated_image))
        return J

    costs = [train_step(generated_image) for _ in range(3)]
    assert all(type(J) is EagerTensor for J in costs)
    np.testing.assert_allclose(costs, [0.17021219, 0.14528345, 0.12205981], rtol=1e-5)
    np.testing.assert_allclose(generated_image.numpy().ravel()[:6],
                               [0.38755, 0.4616, 0.45012, 0.64954, 0.52547, 0.39366], atol=2e-5)
    assert int(optimizer.iterations.numpy()) == 3


def triplet_loss(y_true, y_pred, alpha=0.2):
    anchor, positive, negative = y_pred[0], y_pred[1], y_pred[2]
    pos_dist = tf.reduce_sum(tf.square(tf.subtract(anchor, positive)), axis=-1)
    neg_dist = tf.reduce_sum(tf.square(tf.subtract(anchor, negative)), axis=-1)
    basic_loss = tf.add(tf.subtract(pos_dist, neg_dist), alpha)
    return tf.reduce_sum(tf.maximum(basic_loss, 0.0))


@pytest.mark.parametrize("y_pred, alpha, expected", [
    (([1., 1.], [1., 1.], [1., 1.]), 5, 5),
    (([1., 1.], [1., 1.], [0., 0.]), 3, 1.),
    (([1., 1.], [0., 0.], [1., 1.]), 0, 2.),
    (([0., 0.], [0., 0.], [0., 0.]), -2, 0),
    (([[1., 0.], [1., 0.]], [[1., 0.], [1., 0.]], [[0., 1.], [0., 1.]]), 3, 2.),
    (([[1., 1.], [2., 0.]], [[0., 3.], [1., 1.]], [[1., 0.], [0., -1.]]), 1, 5),
])
def test_triplet_loss_grader_cases(y_pred, alpha, expected):
    # the grader's lists of Python floats; TF 2.21 gives a float32 EagerTensor and the
    # comparison a bool tensor that `assert` reads
    loss = triplet_loss((None, None, None), y_pred, alpha)
    assert type(loss) is EagerTensor and loss.dtype == np.float32
    assert loss == expected
    assert str(loss) == f"tf.Tensor({float(expected)}, shape=(), dtype=float32)"


def test_triplet_loss_on_random_encodings_and_verify():
    tf.random.set_seed(1)
    y_pred = (tf.keras.backend.random_normal([3, 128], mean=6, stddev=0.1, seed=1),
              tf.keras.backend.random_normal([3, 128], mean=1, stddev=1, seed=1),
              tf.keras.backend.random_normal([3, 128], mean=3, stddev=4, seed=1))
    assert all(type(t) is EagerTensor and t.shape == (3, 128) for t in y_pred)
    loss = triplet_loss((None, None, None), y_pred)
    assert type(loss) is EagerTensor and float(loss) > 0
    # the notebook's verify(): predict_on_batch gives a NumPy array, the distance a NumPy float
    inputs = tf.keras.Input((8, 8, 3))
    encoder = tf.keras.Model(inputs, tf.keras.layers.Dense(128)(
        tf.keras.layers.GlobalAveragePooling2D()(inputs)))
    image = np.random.default_rng(0).random((1, 8, 8, 3))
    embedding = encoder.predict_on_batch(image)
    assert type(embedding) is np.ndarray and embedding.shape == (1, 128)
    encoding = embedding / np.linalg.norm(embedding, ord=2)
    dist = np.linalg.norm(encoding - encoding * 0.5)
    assert type(dist) is np.float32 and bool(dist < 0.7) is True
