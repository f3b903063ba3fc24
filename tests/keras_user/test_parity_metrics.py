"""Users' metrics give what TensorFlow 2.21 gives.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

metrics = tf.keras.metrics

Y_TRUE = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]], "float32")
Y_PRED = np.array([[.1, .8, .6], [.7, .3, .2], [.4, .9, .1], [.2, .35, .8], [.55, .5, .3],
                   [.3, .6, .45]], "float32")
WEIGHTS = np.array([1, .5, 0, 2, 1, 3], "float32")


def _two_batches(metric):
    metric.update_state(Y_TRUE[:3], Y_PRED[:3])
    metric.update_state(Y_TRUE[3:], Y_PRED[3:], sample_weight=WEIGHTS[3:])
    return float(metric.result())


@pytest.mark.parametrize("arguments, expected", [
    # TF 2.21: one curve per label, the mean (or label_weights-weighted mean) of their areas
    ({"multi_label": True}, 0.97619),
    ({"multi_label": True, "num_labels": 3}, 0.97619),
    ({"multi_label": True, "curve": "PR"}, 0.99364),
    ({"multi_label": True, "curve": "PR", "summation_method": "minoring"}, 0.72018),
    ({"multi_label": True, "label_weights": [1., 2., 0.5]}, 0.9898),
    ({"multi_label": True, "label_weights": [1., 2., 0.5], "curve": "PR"}, 0.99727),
    ({"multi_label": True, "thresholds": [0.25, 0.5, 0.75]}, 0.90079),
    ({"multi_label": True, "num_thresholds": 7}, 0.9881),
    # TF 2.21: without multi_label, label_weights weigh each label's entries in one curve
    ({"label_weights": [1., 2., 0.5]}, 0.95455),
    ({"label_weights": [1., 2., 0.5], "curve": "PR"}, 0.96871),
])
def test_auc_multi_label_and_label_weights(arguments, expected):
    # convnp raised NotImplementedError for multi_label, num_labels and label_weights
    metric = metrics.AUC(**arguments)
    assert _two_batches(metric) == pytest.approx(expected, abs=1e-5)
    metric.reset_state()
    assert float(metric.result()) == 0.0
    assert _two_batches(metric) == pytest.approx(expected, abs=1e-5)


def test_auc_multi_label_from_logits_and_config():
    logits = np.log(Y_PRED / (1 - Y_PRED))
    metric = metrics.AUC(multi_label=True, from_logits=True)
    metric.update_state(Y_TRUE[:3], logits[:3])
    metric.update_state(Y_TRUE[3:], logits[3:], sample_weight=WEIGHTS[3:])
    assert float(metric.result()) == pytest.approx(0.97619, abs=1e-5)
    # TF 2.21's config keys (thresholds only when given)
    config = metrics.AUC(multi_label=True, num_labels=3).get_config()
    assert {"multi_label", "num_labels", "label_weights"} <= set(config)
    assert "thresholds" not in config
    assert config["multi_label"] is True and config["num_labels"] == 3
    again = metrics.AUC.from_config(metrics.AUC(label_weights=[1., 2., 0.5]).get_config())
    assert _two_batches(again) == pytest.approx(0.95455, abs=1e-5)


def test_auc_multi_label_misuse():
    # TF 2.21: ValueError for predictions not (batch, labels); a change in the number of
    # labels fails too (InvalidArgumentError there, a ValueError here)
    with pytest.raises(ValueError):
        metrics.AUC(multi_label=True).update_state(Y_TRUE[:, 0], Y_PRED[:, 0])
    with pytest.raises(ValueError):
        metrics.AUC(multi_label=True).update_state(Y_TRUE.reshape(3, 2, 3),
                                                   Y_PRED.reshape(3, 2, 3))
    metric = metrics.AUC(multi_label=True)
    metric.update_state(Y_TRUE, Y_PRED)
    with pytest.raises(ValueError):
        metric.update_state(Y_TRUE[:, :2], Y_PRED[:, :2])
    with pytest.raises(ValueError):
        metrics.AUC(multi_label=True, num_labels=2).update_state(Y_TRUE, Y_PRED)
    with pytest.raises(ValueError):
        metrics.AUC(label_weights=[1., 2.]).update_state(Y_TRUE, Y_PRED)
    with pytest.raises(ValueError, match="num_labels"):
        metrics.AUC(multi_label=True, num_labels=0)


def test_sparse_top_k_from_sorted_ids():
    # TF 2.21: the predictions are class ids, best first; a hit is the label among the first k
    # (convnp raised NotImplementedError)
    ids = np.array([[2, 0, 1], [1, 2, 0], [0, 1, 2], [2, 1, 0]])
    metric = metrics.SparseTopKCategoricalAccuracy(k=2, from_sorted_ids=True)
    metric.update_state(np.array([0, 0, 1, 2]), ids)
    assert float(metric.result()) == pytest.approx(0.75)
    metric.update_state(np.array([[1], [1]]), ids[:2], sample_weight=[0.0, 2.0])
    assert float(metric.result()) == pytest.approx(5 / 6)
    assert metric.get_config()["from_sorted_ids"] is True
    assert "from_sorted_ids" not in metrics.SparseTopKCategoricalAccuracy().get_config()
    with pytest.raises(ValueError, match="from_sorted_ids"):
        metric.update_state(np.array([0, 1]), ids)


def test_f1_and_r2_after_reset_state():
    # TF 2.21: a reset keeps the shape the first batch gave: F1Score(average=None) gives one
    # zero per class (convnp: an empty array), R2Score gives nan (0 / 0; convnp: 0.0)
    f1 = metrics.F1Score(threshold=0.5)
    f1.update_state(Y_TRUE, Y_PRED)
    f1.reset_state()
    result = np.asarray(f1.result())
    assert result.shape == (3,) and not result.any()
    for average in ("weighted", "macro", "micro"):  # 0.0 each in TF 2.21
        f1 = metrics.F1Score(average=average)
        f1.update_state(Y_TRUE, Y_PRED)
        f1.reset_state()
        assert float(f1.result()) == 0.0
    r2 = metrics.R2Score()
    r2.update_state(Y_TRUE[:, :2], Y_PRED[:, :2])
    r2.reset_state()
    assert np.isnan(float(r2.result()))
    r2.update_state(Y_TRUE[:, :2], Y_PRED[:, :2])
    assert np.isfinite(float(r2.result()))


def test_crossentropy_metric_configs_name_their_defaults():
    # TF 2.21's configs (dtype aside): the loss arguments even when left at their defaults
    assert metrics.BinaryCrossentropy().get_config() == {
        "name": "binary_crossentropy", "from_logits": False, "label_smoothing": 0}
    assert metrics.CategoricalCrossentropy().get_config() == {
        "name": "categorical_crossentropy", "from_logits": False, "label_smoothing": 0,
        "axis": -1}
    config = metrics.SparseCategoricalCrossentropy(from_logits=True).get_config()
    assert config == {"name": "sparse_categorical_crossentropy", "from_logits": True,
                      "ignore_class": None, "axis": -1}
    assert metrics.SparseCategoricalCrossentropy.from_config(config).get_config() == config
    # the losses take Keras's axis argument (the class axis last) and name it in their config
    assert tf.keras.losses.BinaryCrossentropy(axis=-1).get_config()["axis"] == -1
    assert tf.keras.losses.CategoricalCrossentropy().get_config()["axis"] == -1
    with pytest.raises(ValueError, match="axis"):
        tf.keras.losses.CategoricalCrossentropy(axis=0)


def test_binary_accuracy_keeps_every_entry():
    # TF 2.21 (Keras 3): binary_accuracy gives one hit per entry, not a mean per sample, so a
    # sample weight may weigh each label (convnp: shape (3,) and a ValueError for (3, 2)
    # weights)
    y_true = np.array([[0., 1.], [1., 0.], [1., 1.]])
    y_pred = np.array([[.2, .7], [.6, .1], [.9, .3]])
    hits = np.asarray(metrics.binary_accuracy(y_true, y_pred))
    np.testing.assert_array_equal(hits, [[1, 1], [1, 1], [1, 0]])
    assert hits.dtype == np.float32
    assert np.asarray(metrics.binary_accuracy(np.ones((2, 3, 4)), np.ones((2, 3, 4)))).shape \
        == (2, 3, 4)
    for weights, expected in (([[1., 0], [0, 1], [2, 1]], 0.8), ([1., 0, 2], 2 / 3),
                              ([[1.], [0.], [2.]], 2 / 3)):
        metric = metrics.BinaryAccuracy()
        metric.update_state(y_true, y_pred, sample_weight=np.array(weights))
        assert float(metric.result()) == pytest.approx(expected, abs=1e-6)
    metric = metrics.Accuracy()
    metric.update_state(y_true, (y_pred > 0.5).astype(float),
                        sample_weight=np.array([[1., 0], [0, 1], [2, 1]]))
    assert float(metric.result()) == pytest.approx(0.8, abs=1e-6)
