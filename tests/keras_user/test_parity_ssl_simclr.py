"""keras.io's "Semi-supervised image classification using contrastive pretraining with
SimCLR", condensed: a ``ContrastiveModel`` with its own ``compile(contrastive_optimizer,
probe_optimizer)``, a contrastive loss over ``l2_normalize``d projections, a linear probe
trained in the same step and a ``test_step`` logging only the probe's metrics. Augmentation is
a Rescaling only, so that numbers compare; the expected values are TensorFlow 2.21's (Keras 3)
for the same weights and data."""

from __future__ import annotations

import numpy as np

import convnp as tf

keras = tf.keras
layers = keras.layers
WIDTH = 8


def _set_weights(model, seed):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.2, w.shape).astype("float32")
                       for w in model.get_weights()])


class ContrastiveModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.temperature = 0.1
        self.contrastive_augmenter = keras.Sequential([keras.Input((16, 16, 3)),
                                                       layers.Rescaling(1 / 255)])
        self.classification_augmenter = keras.Sequential([keras.Input((16, 16, 3)),
                                                          layers.Rescaling(1 / 255)])
        self.encoder = keras.Sequential([
            keras.Input((16, 16, 3)),
            layers.Conv2D(4, kernel_size=3, strides=2, activation="relu"),
            layers.Conv2D(4, kernel_size=3, strides=2, activation="relu"),
            layers.Flatten(),
            layers.Dense(WIDTH, activation="relu"),
        ], name="encoder")
        self.projection_head = keras.Sequential([
            keras.Input((WIDTH,)), layers.Dense(WIDTH, activation="relu"), layers.Dense(WIDTH),
        ], name="projection_head")
        self.linear_probe = keras.Sequential([layers.Input((WIDTH,)), layers.Dense(10)],
                                             name="linear_probe")

    def compile(self, contrastive_optimizer, probe_optimizer, **kwargs):
        super().compile(**kwargs)
        self.contrastive_optimizer = contrastive_optimizer
        self.probe_optimizer = probe_optimizer
        self.probe_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.contrastive_loss_tracker = keras.metrics.Mean(name="c_loss")
        self.contrastive_accuracy = keras.metrics.SparseCategoricalAccuracy(name="c_acc")
        self.probe_loss_tracker = keras.metrics.Mean(name="p_loss")
        self.probe_accuracy = keras.metrics.SparseCategoricalAccuracy(name="p_acc")

    @property
    def metrics(self):
        return [self.contrastive_loss_tracker, self.contrastive_accuracy,
                self.probe_loss_tracker, self.probe_accuracy]

    def contrastive_loss(self, projections_1, projections_2):
        projections_1 = tf.math.l2_normalize(projections_1, axis=1)
        projections_2 = tf.math.l2_normalize(projections_2, axis=1)
        similarities = tf.matmul(projections_1, projections_2,
                                 transpose_b=True) / self.temperature
        labels = tf.range(tf.shape(projections_1)[0])
        self.contrastive_accuracy.update_state(labels, similarities)
        self.contrastive_accuracy.update_state(labels, tf.transpose(similarities))
        loss_1_2 = keras.losses.sparse_categorical_crossentropy(labels, similarities,
                                                                from_logits=True)
        loss_2_1 = keras.losses.sparse_categorical_crossentropy(
            labels, tf.transpose(similarities), from_logits=True)
        return (loss_1_2 + loss_2_1) / 2

    def train_step(self, data):
        (unlabeled_images, _), (labeled_images, labels) = data
        images = tf.concat((unlabeled_images, labeled_images), axis=0)
        augmented_1 = self.contrastive_augmenter(images, training=True)
        augmented_2 = self.contrastive_augmenter(images, training=True)
        with tf.GradientTape() as tape:
            features_1 = self.encoder(augmented_1, training=True)
            features_2 = self.encoder(augmented_2 * 0.9, training=True)
            projections_1 = self.projection_head(features_1, training=True)
            projections_2 = self.projection_head(features_2, training=True)
            contrastive_loss = self.contrastive_loss(projections_1, projections_2)
        variables = self.encoder.trainable_weights + self.projection_head.trainable_weights
        gradients = tape.gradient(contrastive_loss, variables)
        self.contrastive_optimizer.apply_gradients(zip(gradients, variables))
        self.contrastive_loss_tracker.update_state(contrastive_loss)

        preprocessed = self.classification_augmenter(labeled_images, training=True)
        with tf.GradientTape() as tape:
            features = self.encoder(preprocessed, training=False)
            class_logits = self.linear_probe(features, training=True)
            probe_loss = self.probe_loss(labels, class_logits)
        gradients = tape.gradient(probe_loss, self.linear_probe.trainable_weights)
        self.probe_optimizer.apply_gradients(zip(gradients,
                                                 self.linear_probe.trainable_weights))
        self.probe_loss_tracker.update_state(probe_loss)
        self.probe_accuracy.update_state(labels, class_logits)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        labeled_images, labels = data
        preprocessed = self.classification_augmenter(labeled_images, training=False)
        features = self.encoder(preprocessed, training=False)
        class_logits = self.linear_probe(features, training=False)
        self.probe_loss_tracker.update_state(self.probe_loss(labels, class_logits))
        self.probe_accuracy.update_state(labels, class_logits)
        return {m.name: m.result() for m in self.metrics[2:]}


def _datasets():
    rng = np.random.default_rng(1)
    unlabeled = rng.integers(0, 256, (8, 16, 16, 3)).astype("float32")
    labeled = rng.integers(0, 256, (8, 16, 16, 3)).astype("float32")
    labels = rng.integers(0, 10, (8,))
    unlabeled_ds = tf.data.Dataset.from_tensor_slices(
        (unlabeled, -np.ones(8, "int64"))).batch(4)
    labeled_ds = tf.data.Dataset.from_tensor_slices((labeled, labels)).batch(4)
    train_ds = tf.data.Dataset.zip((unlabeled_ds, labeled_ds)).prefetch(tf.data.AUTOTUNE)
    test_ds = tf.data.Dataset.from_tensor_slices((labeled, labels)).batch(4)
    return train_ds, test_ds


def test_simclr_pretraining_history_and_evaluation_match_tensorflow():
    model = ContrastiveModel()
    model.compile(contrastive_optimizer=keras.optimizers.Adam(0.01),
                  probe_optimizer=keras.optimizers.Adam(0.01))
    for part in (model.encoder, model.projection_head, model.linear_probe):
        _set_weights(part, 3)
    train_ds, test_ds = _datasets()
    history = model.fit(train_ds, epochs=2, validation_data=test_ds, verbose=0)
    # TF 2.21: the keys sorted, the numbers below
    expected = {"c_acc": [1.0, 1.0], "c_loss": [1.6662, 0.9936], "p_acc": [0.125, 0.375],
                "p_loss": [2.4035, 2.3446], "val_p_acc": [0.25, 0.375],
                "val_p_loss": [2.3354, 2.2886]}
    assert list(history.history) == list(expected)
    for key, values in expected.items():
        np.testing.assert_allclose(history.history[key], values, atol=1e-4, err_msg=key)
    np.testing.assert_allclose(model.evaluate(test_ds, verbose=0), [2.2886, 0.375], atol=1e-4)
    results = model.evaluate(test_ds, verbose=0, return_dict=True)
    assert list(results) == ["p_acc", "p_loss"]  # TF 2.21 sorts a step's logs by key
    assert model.metrics_names == ["c_loss", "c_acc", "p_loss", "p_acc"]
    assert (int(model.contrastive_optimizer.iterations),
            int(model.probe_optimizer.iterations)) == (4, 4)
    assert [layer.name for layer in model.layers][2:] == ["encoder", "projection_head",
                                                          "linear_probe"]


class _LabelReader(keras.Model):
    """Records the dtypes its train_step is given and one-hot encodes the labels, as a
    supervised step over a labelled batch may."""

    def __init__(self):
        super().__init__()
        self.dtypes = []
        self.tracker = keras.metrics.Mean(name="t")

    def train_step(self, data):
        self.parts = (type(data[0]), type(data[1]))
        (_, unlabeled_ids), (_, labels) = data
        self.dtypes.append((unlabeled_ids.dtype, labels.dtype))
        self.tracker.update_state(tf.reduce_sum(tf.one_hot(labels, 10)))
        return {"t": self.tracker.result()}


def test_a_users_train_step_gets_integer_labels_as_they_come():
    train_ds, _ = _datasets()
    model = _LabelReader()
    model.compile(optimizer="sgd")
    history = model.fit(train_ds, epochs=1, verbose=0)
    # TF 2.21: int64 labels reach the step (tf.one_hot takes them); 4 ones per batch of 4
    assert model.dtypes[0] == (tf.int64, tf.int64)
    assert model.parts == (tuple, tuple)  # TF 2.21: both halves of the zip are tuples
    assert history.history["t"] == [4.0]


class _DtypeRecorder(keras.Model):
    """Records the dtypes of the ``(x, y)`` its train_step is given; its metric counts the
    one-hot rows of ``y`` when ``y`` holds labels of ``classes`` classes, else the steps."""

    def __init__(self, classes=None):
        super().__init__()
        self.seen = []
        self.classes = classes
        self.tracker = keras.metrics.Mean(name="t")

    def train_step(self, data):
        x, y = data
        self.seen.append((x.dtype, y.dtype))
        count = 1.0 if self.classes is None else tf.reduce_sum(tf.one_hot(y, self.classes))
        self.tracker.update_state(count)
        return {"t": self.tracker.result()}


def test_uint8_images_of_a_dataset_reach_a_users_step_as_uint8():
    images = np.zeros((4, 8, 8, 3), "uint8")
    model = _DtypeRecorder()
    model.compile(optimizer="sgd")
    model.fit(tf.data.Dataset.from_tensor_slices((images, images)).batch(2), verbose=0)
    assert model.seen[0][0] == tf.uint8  # TF 2.21 (SimSiam's uint8 CIFAR batches)


def test_integer_array_targets_reach_a_users_train_step_as_integers():
    model = _DtypeRecorder(classes=5)
    model.compile(optimizer="sgd")
    model.fit(np.ones((4, 3), "float32"), np.array([0, 1, 2, 3]), batch_size=2, verbose=0)
    assert model.seen[0] == (tf.float32, tf.int64)  # TF 2.21's dtypes


def test_train_on_batch_gives_a_users_step_integer_labels():
    model = _DtypeRecorder(classes=4)
    model.compile(optimizer="sgd")
    # TF 2.21: int64 labels, two one-hot rows
    assert model.train_on_batch(np.ones((2, 3), "float32"), np.array([1, 2])) == 2.0
    assert [labels for _, labels in model.seen] == [tf.int64]
