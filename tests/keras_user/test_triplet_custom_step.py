"""keras.io's "Image similarity estimation using a Siamese Network with a triplet loss": a
subclassed model with ``call`` and its own ``train_step``/``test_step``, fitted on a Dataset of
``(anchor, positive, negative)`` batches (no targets). Its steps read the triplets as they come;
fit must not build the model from the first batch as if it were ``(x, y, sample_weight)``.

KERAS_* were obtained by running ``run(tf)`` below, unchanged, with TensorFlow 2.21 / Keras
3.15.1 (``import tensorflow as tf``, TF_ENABLE_ONEDNN_OPTS=0). The distance layer stacks its
two distances into one tensor (the tutorial returns a tuple)."""

from __future__ import annotations

import numpy as np

import convnp


def build(tf):
    keras = tf.keras
    layers = keras.layers
    inp = keras.Input((4, 4, 2))
    x = layers.Conv2D(3, 3, activation="relu")(inp)
    x = layers.Flatten()(x)
    emb = keras.Model(inp, layers.Dense(4)(x))
    emb.set_weights([np.linspace(-0.4, 0.4, 54, dtype=np.float32).reshape(3, 3, 2, 3),
                     np.full(3, 0.05, np.float32),
                     np.linspace(-0.6, 0.6, 48, dtype=np.float32).reshape(12, 4),
                     np.zeros(4, np.float32)])

    class Distances(layers.Layer):
        def call(self, inputs):
            a, p, n = inputs
            ap = keras.ops.sum(tf.square(a - p), -1)
            an = keras.ops.sum(tf.square(a - n), -1)
            return keras.ops.stack([ap, an], axis=-1)

    ins = [keras.Input((4, 4, 2), name=k) for k in ("anchor", "positive", "negative")]
    net = keras.Model(ins, Distances()([emb(i) for i in ins]))

    class SiameseModel(keras.Model):
        def __init__(self, network, margin=0.5):
            super().__init__()
            self.network = network
            self.margin = margin
            self.loss_tracker = keras.metrics.Mean(name="loss")

        def call(self, inputs):
            return self.network(inputs)

        def train_step(self, data):
            with tf.GradientTape() as tape:
                loss = self._compute_loss(data)
            grads = tape.gradient(loss, self.network.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.network.trainable_weights))
            self.loss_tracker.update_state(loss)
            return {"loss": self.loss_tracker.result()}

        def test_step(self, data):
            self.loss_tracker.update_state(self._compute_loss(data))
            return {"loss": self.loss_tracker.result()}

        def _compute_loss(self, data):
            d = self.network(data)
            return tf.maximum(d[:, 0] - d[:, 1] + self.margin, 0.0)

        @property
        def metrics(self):
            return [self.loss_tracker]

    return net, SiameseModel(net, margin=2.0)


def data(tf):
    rng = np.random.default_rng(0)
    a = rng.random((6, 4, 4, 2), dtype=np.float32)
    p = a + np.float32(0.1) * rng.random((6, 4, 4, 2), dtype=np.float32)
    n = rng.random((6, 4, 4, 2), dtype=np.float32)
    ds = tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(a),
                              tf.data.Dataset.from_tensor_slices(p),
                              tf.data.Dataset.from_tensor_slices(n)))
    return ds.take(4).batch(2), ds.skip(4).batch(2)


def run(tf):
    _net, model = build(tf)
    train, val = data(tf)
    model.compile(optimizer=tf.keras.optimizers.SGD(0.05))
    history = model.fit(train, epochs=2, validation_data=val, verbose=0)
    return history.history, model.evaluate(val, verbose=0)

KERAS_HISTORY = {"loss": [0.7140534520149231, 0.14347995817661285],
                 "val_loss": [0.4194099009037018, 0.3555689752101898]}
KERAS_EVALUATE = 0.3555689752101898


def test_triplet_model_fits_on_triplet_batches_as_keras():
    history, evaluated = run(convnp)
    for key, values in KERAS_HISTORY.items():
        np.testing.assert_allclose(history[key], values, rtol=1e-5)
    np.testing.assert_allclose(evaluated, KERAS_EVALUATE, rtol=1e-5)
