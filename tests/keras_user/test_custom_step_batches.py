"""A functional model with its own ``train_step`` takes batches laid out as that step reads
them, as in Keras 3: keras.io's metric-learning example feeds ``(2, classes, H, W, C)`` arrays
(anchors and positives stacked) to a model whose input is ``(H, W, C)``. fit refused the
first batch by the model's input shape before."""

from __future__ import annotations

import numpy as np

import convnp as tf

keras = tf.keras
CLASSES = 4


class Pairs(keras.utils.PyDataset):
    def __init__(self, images, batches):
        super().__init__()
        self.images, self.batches = images, batches

    def __len__(self):
        return self.batches

    def __getitem__(self, index):
        rng = np.random.default_rng(index)
        picks = rng.integers(0, len(self.images), size=(2, CLASSES))
        return self.images[picks]  # (2, CLASSES, 8, 8, 3): no targets


class PairModel(keras.Model):
    def train_step(self, data):
        anchors, positives = data[0], data[1]
        with tf.GradientTape() as tape:
            a = self(anchors, training=True)
            p = self(positives, training=True)
            similarities = keras.ops.einsum("ae,pe->ap", a, p) / 0.2
            labels = keras.ops.arange(CLASSES)
            loss = self.compute_loss(y=labels, y_pred=similarities)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(labels, similarities)
        return {m.name: m.result() for m in self.metrics}


def _model():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.UnitNormalization()(keras.layers.Dense(5)(x))
    model = PairModel(inputs, out)
    model.compile(keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_own_step_takes_stacked_pairs_from_a_py_dataset():
    keras.utils.set_random_seed(0)
    images = np.random.default_rng(0).random((12, 8, 8, 3)).astype(np.float32)
    model = _model()
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(Pairs(images, 5), epochs=2, verbose=0).history
    assert list(history) == ["loss"] and all(np.isfinite(history["loss"]))
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.predict(images, verbose=0).shape == (12, 5)


def test_own_step_takes_them_from_a_dataset_too():
    images = np.random.default_rng(1).random((3, 2, CLASSES, 8, 8, 3)).astype(np.float32)
    model = _model()
    history = model.fit(tf.data.Dataset.from_tensor_slices(images), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


class TwoStreams(keras.Model):
    """A model with no call of its own, trained on two zipped datasets (keras.io's SimCLR:
    unlabeled images with dummy labels, and labeled images)."""

    def __init__(self):
        super().__init__()
        self.encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(3)])
        self.encoder.summary(print_fn=lambda line: None)  # before it is built, as SimCLR does

    def compile(self, optimizer, **kwargs):
        super().compile(**kwargs)
        self.step_optimizer = optimizer
        self.tracker = keras.metrics.Mean(name="l")

    @property
    def metrics(self):
        return [self.tracker]

    def train_step(self, data):
        (unlabeled, _), (labeled, labels) = data
        images = keras.ops.concatenate((unlabeled, labeled), axis=0)
        with tf.GradientTape() as tape:
            logits = self.encoder(images, training=True)[-labels.shape[0]:]
            loss = keras.losses.sparse_categorical_crossentropy(labels, logits,
                                                                from_logits=True)
            loss = keras.ops.mean(loss)
        grads = tape.gradient(loss, self.encoder.trainable_weights)
        self.step_optimizer.apply_gradients(zip(grads, self.encoder.trainable_weights))
        self.tracker.update_state(loss)
        return {m.name: m.result() for m in self.metrics}


def test_own_step_takes_two_zipped_datasets():
    rng = np.random.default_rng(2)
    unlabeled = tf.data.Dataset.from_tensor_slices(
        (rng.random((12, 4, 4, 1)).astype(np.float32), np.full(12, -1))).batch(4)
    labeled = tf.data.Dataset.from_tensor_slices(
        (rng.random((6, 4, 4, 1)).astype(np.float32), rng.integers(0, 3, 6))).batch(2)
    model = TwoStreams()
    model.compile(keras.optimizers.Adam(0.05))
    history = model.fit(tf.data.Dataset.zip((unlabeled, labeled)), epochs=4, verbose=0).history
    assert list(history) == ["l"] and len(history["l"]) == 4
    assert history["l"][-1] < history["l"][0]
