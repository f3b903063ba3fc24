"""keras.io recipes with their own Metric and Loss classes (supervised contrastive learning,
a counting metric in the classifier): the names those objects take without a ``name=``, which
become the history's keys, as TensorFlow 2.21 (Keras 3.15) gives them.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


class SupervisedContrastiveLoss(keras.losses.Loss):
    """keras.io's loss: overrides ``__call__`` and never names itself."""

    def __init__(self, temperature=1.0, name=None):
        super().__init__(name=name)
        self.temperature = temperature

    def __call__(self, labels, feature_vectors, sample_weight=None):
        normalized = tf.math.l2_normalize(feature_vectors, axis=1)
        logits = tf.matmul(normalized, normalized, transpose_b=True) / self.temperature
        same = tf.cast(tf.equal(labels, tf.transpose(labels)), logits.dtype)
        same = same / tf.reduce_sum(same, axis=1, keepdims=True)
        return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=same,
                                                                      logits=logits))


class SumOfPredictions(keras.metrics.Metric):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.total = self.add_weight(name="total", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(tf.reduce_sum(y_pred))

    def result(self):
        return self.total


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    yield
    keras.backend.clear_session()


def test_a_users_metric_is_named_in_snake_case_and_numbered():
    # TF 2.21: sum_of_predictions, then sum_of_predictions_1 (convnp: sumofpredictions twice)
    assert SumOfPredictions().name == "sum_of_predictions"
    assert SumOfPredictions().name == "sum_of_predictions_1"
    assert SumOfPredictions(name="total").name == "total"
    assert keras.metrics.Metric().name == "metric"


def test_a_users_metric_name_is_the_history_key():
    # TF 2.21: history keys ['loss', 'sum_of_predictions'] (convnp had 'sumofpredictions')
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=[SumOfPredictions()])
    history = model.fit(np.ones((4, 3), "float32"), np.zeros(4, "int32"), epochs=1, verbose=0)
    assert sorted(history.history) == ["loss", "sum_of_predictions"]
    # two outputs per row summing to 1: four rows give 4
    assert history.history["sum_of_predictions"][0] == pytest.approx(4.0, rel=1e-5)


def test_a_users_loss_is_named_in_snake_case_and_numbered():
    # TF 2.21: supervised_contrastive_loss, supervised_contrastive_loss_1 (convnp: "loss")
    assert SupervisedContrastiveLoss().name == "supervised_contrastive_loss"
    assert SupervisedContrastiveLoss().name == "supervised_contrastive_loss_1"
    assert SupervisedContrastiveLoss(name="supcon").name == "supcon"

    class WithCall(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)

    assert WithCall().name == "with_call"
    assert WithCall().get_config()["name"] == "with_call_1"


def test_built_in_losses_and_metrics_keep_their_names():
    # TF 2.21: a built-in object's name does not take a number, and a user's subclass of a
    # built-in has the built-in's name
    for _ in range(2):
        assert keras.losses.CategoricalCrossentropy().name == "categorical_crossentropy"
        assert keras.metrics.Mean().name == "mean"
        assert keras.metrics.SparseCategoricalAccuracy().name == \
            "sparse_categorical_accuracy"

    class Smoothed(keras.losses.CategoricalCrossentropy):
        pass

    class Accurate(keras.metrics.BinaryAccuracy):
        pass

    assert Smoothed(label_smoothing=0.1).name == "categorical_crossentropy"
    assert Accurate().name == "binary_accuracy"


def test_clear_session_restarts_the_numbers():
    assert SumOfPredictions().name == "sum_of_predictions"
    keras.backend.clear_session()
    assert SumOfPredictions().name == "sum_of_predictions"


def test_the_supervised_contrastive_loss_value():
    # TF 2.21 gives 4.3836 for these labels and features (two feature vectors, repeated)
    rng = np.random.default_rng(0)
    rng.normal(size=(8, 6, 6, 3))
    labels = rng.integers(0, 3, (8, 1))
    features = rng.normal(size=(4, 3)).astype("float32")[:2].repeat(4, 0)
    value = SupervisedContrastiveLoss(0.05)(labels, tf.constant(features))
    assert float(value) == pytest.approx(4.3836, abs=1e-4)


def _keras3_supcon(temperature):
    """keras.io's Keras 3 spelling of the loss: keras.utils.normalize and keras.ops."""
    ops = keras.ops

    def npairs_loss(y_true, y_pred):
        y_true = ops.expand_dims(ops.cast(y_true, y_pred.dtype), -1)
        y_true = ops.cast(ops.equal(y_true, ops.transpose(y_true)), y_pred.dtype)
        y_true /= ops.sum(y_true, 1, keepdims=True)
        return ops.mean(ops.categorical_crossentropy(y_true, y_pred, from_logits=True))

    class Loss(keras.losses.Loss):
        def __call__(self, labels, feature_vectors, sample_weight=None):
            normalized = keras.utils.normalize(feature_vectors, axis=1, order=2)
            logits = ops.divide(ops.matmul(normalized, ops.transpose(normalized)),
                                temperature)
            return npairs_loss(ops.squeeze(labels), logits)

    return Loss()


def test_keras_utils_normalize_of_a_tensor_is_a_differentiable_tensor():
    # TF 2.21: a tensor in gives a tensor out (a NumPy array stays NumPy); convnp gave a
    # NumPy array, so the tape lost the gradient and the recipe's encoder never learnt
    x = np.array([[3.0, 4.0], [0.0, 0.0]], "float32")
    assert isinstance(keras.utils.normalize(x, axis=1), np.ndarray)
    assert not isinstance(keras.utils.normalize(x, axis=1), tf.Tensor)
    out = keras.utils.normalize(tf.constant(x), axis=1)
    assert isinstance(out, tf.Tensor)
    np.testing.assert_allclose(np.asarray(out), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(keras.utils.normalize(tf.constant(x), axis=1,
                                                                order=1)),
                               [[3 / 7, 4 / 7], [0.0, 0.0]], rtol=1e-6)

    rng = np.random.default_rng(0)
    features, labels = rng.normal(size=(8, 6)).astype("float32"), rng.integers(0, 3, (8, 1))
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(5)])
    model.set_weights([np.round(np.cos(np.arange(w.size).reshape(w.shape) * 0.7) * 0.4, 4)
                       .astype("float32") for w in model.get_weights()])
    with tf.GradientTape() as tape:
        loss = _keras3_supcon(0.1)(labels, model(features))
    grads = tape.gradient(loss, model.trainable_weights)
    # TF 2.21: the loss, and the sums of the gradients' absolute values (convnp: None)
    assert float(loss) == pytest.approx(2.0452, abs=1e-4)
    assert [float(np.abs(np.asarray(g)).sum()) for g in grads] == \
        pytest.approx([1.2916, 0.2666, 0.6271, 0.211], abs=2e-4)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=_keras3_supcon(0.1))
    history = model.fit(features, labels, batch_size=4, epochs=3, verbose=0, shuffle=False)
    # TF 2.21: [1.3434, 1.0025, 0.7235] (convnp stayed at 1.3436, nothing learnt)
    assert history.history["loss"] == pytest.approx([1.3434, 1.0025, 0.7235], abs=2e-4)


def test_confusion_and_iou_metrics_are_numbered_like_a_users():
    # TF 2.21 (Keras 3.15): these have no fixed default name, so the second of a class is
    # auc_1, precision_1, ... and a history key follows it (convnp: "auc" every time)
    assert [keras.metrics.AUC().name, keras.metrics.AUC().name] == ["auc", "auc_1"]
    assert [keras.metrics.Precision().name, keras.metrics.Precision().name] == \
        ["precision", "precision_1"]
    assert keras.metrics.Recall().name == "recall"
    assert keras.metrics.TruePositives().name == "true_positives"
    assert keras.metrics.MeanIoU(num_classes=2).name == "mean_io_u"
    assert keras.metrics.BinaryIoU().name == "binary_io_u"
    assert keras.metrics.PrecisionAtRecall(0.5).name == "precision_at_recall"
    # the others keep their fixed names
    assert [keras.metrics.BinaryAccuracy().name, keras.metrics.BinaryAccuracy().name] == \
        ["binary_accuracy", "binary_accuracy"]
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[keras.metrics.AUC()])
    history = model.fit(np.ones((4, 3), "float32"), np.array([0, 1, 0, 1]), verbose=0)
    assert sorted(history.history) == ["auc_2", "loss"]


def test_function_metrics_and_their_wrapper():
    # TF 2.21: compile names a function's metric after the function in snake case (a lambda:
    # "lambda"), a MeanMetricWrapper made without a name is mean_metric_wrapper, a user's
    # subclass of it its own class's name (convnp: "<lambda>", the function's name twice)
    def my_fn(y_true, y_pred):
        return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)

    class MyAcc(keras.metrics.MeanMetricWrapper):
        def __init__(self, **kwargs):
            super().__init__(fn=my_fn, **kwargs)

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse",
                  metrics=[my_fn, MyAcc(), keras.metrics.MeanMetricWrapper(my_fn),
                           keras.metrics.MeanMetricWrapper(my_fn, name="wrapped"),
                           lambda a, b: a - b])
    history = model.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), verbose=0)
    assert sorted(history.history) == ["lambda", "loss", "mean_metric_wrapper", "my_acc",
                                       "my_fn", "wrapped"]
