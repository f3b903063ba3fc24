"""Precision, Recall, AUC, top-k accuracies and IoU: Keras's documented examples, hand counts,
per-pixel (segmentation) shapes, configs."""

from __future__ import annotations

import numpy as np
import pytest

from convnp import metrics


def _run(metric, y_true, y_pred, sample_weight=None):
    metric.update_state(np.asarray(y_true), np.asarray(y_pred), sample_weight)
    return metric.result()


def test_precision_recall_keras_examples():
    assert _run(metrics.Precision(), [0, 1, 1, 1], [1, 0, 1, 1]) == pytest.approx(2 / 3)
    assert _run(metrics.Precision(), [0, 1, 1, 1], [1, 0, 1, 1],
                [0, 0, 1, 0]) == pytest.approx(1.0)
    # top_k over the last axis: only the first k scores count as predicted positive
    assert _run(metrics.Precision(top_k=2), [0, 0, 1, 1], [1, 1, 1, 1]) == 0.0
    assert _run(metrics.Precision(top_k=4), [0, 0, 1, 1], [1, 1, 1, 1]) == pytest.approx(0.5)
    assert _run(metrics.Recall(), [0, 1, 1, 1], [1, 0, 1, 1]) == pytest.approx(2 / 3)
    assert _run(metrics.Recall(), [0, 1, 1, 1], [1, 0, 1, 1],
                [0, 0, 1, 0]) == pytest.approx(1.0)


def test_precision_threshold_is_strict_and_lists_give_lists():
    assert _run(metrics.Precision(thresholds=0.5), [[1], [0]], [[0.5], [0.6]]) == 0.0
    r = _run(metrics.Recall(thresholds=[0.3, 0.7]), [0, 1, 1, 1], [0.5, 0.2, 0.5, 0.8])
    assert r == pytest.approx([2 / 3, 1 / 3])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.Precision(thresholds=1.5)


def test_precision_class_id_selects_a_column():
    y_true = np.array([[1, 0], [0, 1], [1, 1]])
    y_pred = np.array([[0.9, 0.8], [0.2, 0.1], [0.7, 0.6]])
    assert _run(metrics.Precision(class_id=1), y_true, y_pred) == pytest.approx(1 / 2)
    assert _run(metrics.Recall(class_id=1), y_true, y_pred) == pytest.approx(1 / 2)


def _roc_auc_exact(y_true, scores):
    """Probability that a positive outscores a negative (ties count half)."""
    pos, neg = scores[y_true == 1], scores[y_true == 0]
    diff = pos[:, None] - neg[None, :]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))


def test_auc_keras_example_and_close_to_exact_roc_auc():
    assert _run(metrics.AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9]) == 0.75
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    s = np.clip(0.3 * y + rng.uniform(0, 0.7, 400), 0, 1)
    auc = _run(metrics.AUC(num_thresholds=1000), y, s)
    assert auc == pytest.approx(_roc_auc_exact(y, s), abs=2e-3)
    pr = metrics.AUC(curve="PR")
    assert 0.5 < _run(pr, y, s) <= 1.0
    lo = _run(metrics.AUC(summation_method="minoring"), y, s)
    hi = _run(metrics.AUC(summation_method="majoring"), y, s)
    assert lo <= auc <= hi
    logits = np.log(s + 1e-3) - np.log(1 - s + 1e-3)
    assert _run(metrics.AUC(from_logits=True, num_thresholds=1000), y, logits) == \
        pytest.approx(auc, abs=5e-3)


def test_top_k_accuracies_keras_examples_and_ties():
    y_pred = [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]
    assert _run(metrics.TopKCategoricalAccuracy(k=1), [[0, 0, 1], [0, 1, 0]], y_pred) == 0.5
    assert _run(metrics.SparseTopKCategoricalAccuracy(k=1), [2, 1], y_pred) == 0.5
    assert _run(metrics.SparseTopKCategoricalAccuracy(k=2), [[2], [2]], y_pred) == 0.5
    # a tie at the k-th place counts as inside (TensorFlow's in_top_k)
    assert _run(metrics.SparseTopKCategoricalAccuracy(k=1), [1], [[0.5, 0.5, 0.0]]) == 1.0
    assert metrics.get("top_k_categorical_accuracy").k == 5


def test_mean_iou_keras_example_and_hand_count():
    assert _run(metrics.MeanIoU(num_classes=2), [0, 0, 1, 1], [0, 1, 0, 1]) == \
        pytest.approx(1 / 3, abs=1e-6)
    # fractional weights count as such with a float dtype; with the default int64 one
    # TensorFlow 2.21 truncates them to 0 first
    m = metrics.MeanIoU(num_classes=2, dtype="float32")
    assert _run(m, [0, 0, 1, 1], [0, 1, 0, 1], [0.3, 0.3, 0.3, 0.1]) == \
        pytest.approx((0.3 / 0.9 + 0.1 / 0.7) / 2, abs=1e-6)
    assert _run(metrics.MeanIoU(num_classes=2), [0, 0, 1, 1], [0, 1, 0, 1],
                [0.3, 0.3, 0.3, 0.1]) == 0.0
    # a class absent from labels and predictions is left out of the mean
    assert _run(metrics.MeanIoU(num_classes=3), [0, 1], [0, 1]) == pytest.approx(1.0, abs=1e-6)


def test_mean_iou_on_segmentation_scores_with_ignore_class():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(2, 5, 4, 3))
    labels = rng.integers(0, 3, size=(2, 5, 4))
    pred = np.argmax(scores, axis=-1)
    m = metrics.MeanIoU(3, sparse_y_pred=False, ignore_class=2)
    value = _run(m, labels[..., None], scores)
    keep = labels != 2
    ious = []
    for c in range(3):
        t, p = (labels == c) & keep, (pred == c) & keep
        union = np.sum(t | p)
        if union:
            ious.append(np.sum(t & p) / union)
    assert value == pytest.approx(np.mean(ious), abs=1e-6)
    one_hot = metrics.OneHotMeanIoU(3)
    assert _run(one_hot, np.eye(3)[labels], scores) == pytest.approx(
        _run(metrics.MeanIoU(3, sparse_y_pred=False), labels, scores))
    with pytest.raises(ValueError, match="sparse_y_pred=False"):
        metrics.MeanIoU(3).update_state(labels, scores)


def test_per_pixel_accuracies():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(2, 3, 4, 5))
    labels = rng.integers(0, 5, size=(2, 3, 4))
    expected = np.mean(np.argmax(scores, -1) == labels)
    assert _run(metrics.SparseCategoricalAccuracy(), labels, scores) == pytest.approx(expected)
    assert _run(metrics.SparseCategoricalAccuracy(), labels[..., None], scores) == \
        pytest.approx(expected)
    assert _run(metrics.CategoricalAccuracy(), np.eye(5)[labels], scores) == \
        pytest.approx(expected)
    auto = metrics.get("accuracy")
    assert _run(auto, labels, scores) == pytest.approx(expected)
    probs = rng.uniform(size=(2, 3, 4, 1))
    mask = rng.integers(0, 2, size=(2, 3, 4))
    assert _run(metrics.BinaryAccuracy(), mask, probs) == pytest.approx(
        np.mean((probs[..., 0] > 0.5) == mask))


@pytest.mark.parametrize("metric", [
    metrics.Precision(thresholds=[0.2, 0.6], top_k=2), metrics.Recall(class_id=1),
    metrics.AUC(num_thresholds=50, curve="PR"), metrics.MeanIoU(4, ignore_class=0),
    metrics.IoU(3, target_class_ids=[0, 2]), metrics.TopKCategoricalAccuracy(k=3),
    metrics.SparseTopKCategoricalAccuracy(k=2), metrics.BinaryAccuracy(threshold=0.3),
])
def test_config_round_trip(metric):
    again = metrics.deserialize(metrics.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == metric.get_config()


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="num_classes"):
        metrics.MeanIoU(0)
    with pytest.raises(ValueError, match="target_class_ids"):
        metrics.IoU(3, target_class_ids=[3])
    with pytest.raises(ValueError, match="k must"):
        metrics.TopKCategoricalAccuracy(k=0)
    with pytest.raises(ValueError, match="dtype"):
        metrics.MeanIoU(2, dtype="bool")
    metrics.MeanIoU(2, dtype="int64")  # what Keras records in an IoU metric's config
