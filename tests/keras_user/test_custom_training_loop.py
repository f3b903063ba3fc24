"""A custom training loop as Keras users write it (``tf.function`` + ``GradientTape`` +
``tf.clip_by_global_norm``), run unchanged under ``import convnp as tf``: a subclassed CNN
(Conv2D, BatchNormalization, tf.nn.relu, pooling, Dense), SGD with momentum on a CosineDecay
schedule, CategoricalCrossentropy(from_logits=True, label_smoothing=0.1), and a tf.data
pipeline with tf.image random augmentation. The loss must fall and the clipped gradients must
have the norm clip_by_global_norm promises."""

from __future__ import annotations

import numpy as np

import convnp as tf


class SmallCNN(tf.keras.Model):
    def __init__(self, num_classes=3):
        super().__init__()
        self.conv1 = tf.keras.layers.Conv2D(8, 3, padding="same", use_bias=False)
        self.bn1 = tf.keras.layers.BatchNormalization()
        self.pool = tf.keras.layers.MaxPooling2D()
        self.conv2 = tf.keras.layers.Conv2D(16, 3, padding="same")
        self.gap = tf.keras.layers.GlobalAveragePooling2D()
        self.dropout = tf.keras.layers.Dropout(0.1)
        self.head = tf.keras.layers.Dense(num_classes)

    def call(self, x, training=False):
        x = tf.nn.relu(self.bn1(self.conv1(x), training=training))
        x = self.pool(x)
        x = tf.nn.relu(self.conv2(x))
        x = self.gap(x)
        x = self.dropout(x, training=training)
        return self.head(x)


def _data(n=96, size=12, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    images = rng.normal(0, 0.3, (n, size, size, 3)).astype(np.float32)
    for i, c in enumerate(labels):  # class c: a bright square in its own channel
        images[i, 3:9, 3:9, c] += 1.5
    return images, np.eye(classes, dtype=np.float32)[labels]


def test_custom_training_loop_with_clip_by_global_norm_learns():
    tf.keras.utils.set_random_seed(0)
    x, y = _data()

    def augment(image, label):
        image = tf.image.random_flip_left_right(image)
        image = tf.image.random_brightness(image, 0.1)
        return image, label

    ds = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(96).map(augment).batch(16))
    model = SmallCNN()
    schedule = tf.keras.optimizers.schedules.CosineDecay(0.05, decay_steps=60)
    opt = tf.keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    loss_fn = tf.keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)

    # the loop of the brief, verbatim
    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
        grads = tape.gradient(loss, model.trainable_variables)
        grads, _ = tf.clip_by_global_norm(grads, 5.0)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    first = last = None
    for _epoch in range(4):
        losses = [float(train_step(xb, yb)) for xb, yb in ds]
        first = losses if first is None else first
        last = losses
    assert np.mean(last) < 0.7 * np.mean(first)
    assert int(opt.iterations) == 4 * 6
    accuracy = np.mean(np.argmax(model(x, training=False).numpy(), -1) == np.argmax(y, -1))
    assert accuracy > 0.9


def test_clip_by_global_norm_on_model_gradients_keeps_direction_and_caps_norm():
    tf.keras.utils.set_random_seed(1)
    x, y = _data(n=16)
    model = SmallCNN()
    loss_fn = tf.keras.losses.CategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True)) * 100.0
    grads = tape.gradient(loss, model.trainable_variables)
    norm = float(tf.linalg.global_norm(grads))
    assert norm > 1.0
    clipped, reported = tf.clip_by_global_norm(grads, 1.0)
    np.testing.assert_allclose(float(reported), norm, rtol=1e-6)
    np.testing.assert_allclose(float(tf.linalg.global_norm(clipped)), 1.0, rtol=1e-5)
    for g, c in zip(grads, clipped):
        np.testing.assert_allclose(c.numpy(), g.numpy() / norm, rtol=1e-4, atol=1e-8)
        assert c.dtype == g.dtype
    unchanged, _ = tf.clip_by_global_norm(grads, 10 * norm)
    for g, c in zip(grads, unchanged):
        np.testing.assert_allclose(c.numpy(), g.numpy(), rtol=1e-6)
