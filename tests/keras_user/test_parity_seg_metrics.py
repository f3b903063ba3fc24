"""The segmentation metrics as keras.io's segmentation programs use them (MeanIoU, IoU,
OneHotMeanIoU, BinaryIoU), alone and in model.compile.

Every expected value is TensorFlow 2.21's for the same program, run side by side with convnp.
"""

import warnings

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def test_iou_metrics_keep_an_int64_confusion_matrix_and_record_its_dtype():
    keras.backend.clear_session()
    m = keras.metrics.MeanIoU(num_classes=3)
    m.update_state([0, 1, 2, 2], [0, 2, 2, 1])
    # TensorFlow 2.21: the metric's dtype is the matrix's, int64; total_cm is its variable
    assert m.dtype == "int64"
    assert m.total_cm.numpy().dtype == np.int64
    assert m.total_cm.numpy().tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    assert [v.name for v in m.variables] == ["total_confusion_matrix"]
    assert m.get_config() == {"name": "mean_io_u", "dtype": "int64", "num_classes": 3,
                              "ignore_class": None, "sparse_y_true": True,
                              "sparse_y_pred": True, "axis": -1}
    assert keras.metrics.BinaryIoU().get_config()["dtype"] == "int64"
    assert keras.metrics.OneHotMeanIoU(3).get_config()["dtype"] == "int64"
    assert keras.metrics.IoU(3, [0], dtype="float32").get_config()["dtype"] == "float32"
    assert keras.metrics.MeanIoU(num_classes=3, dtype="float64").dtype == "float64"
    m.reset_state()
    assert float(m.result()) == 0.0


def test_float_sample_weights_are_cast_to_the_int64_dtype():
    y_true, y_pred = [0, 0, 1, 1], [0, 1, 0, 1]
    m = keras.metrics.MeanIoU(num_classes=2)
    with pytest.warns(UserWarning, match="weight as `float`"):
        m.update_state(y_true, y_pred, sample_weight=np.array([1.7, 0.3, 2.2, 1.0]))
    # TensorFlow 2.21: the weights become [1, 0, 2, 1]
    assert float(m.result()) == pytest.approx(1 / 3, abs=1e-6)
    m = keras.metrics.MeanIoU(num_classes=2)
    m.update_state(y_true, y_pred, sample_weight=[0.3, 0.3, 0.3, 0.1])  # no dtype: no warning
    assert float(m.result()) == 0.0
    m = keras.metrics.MeanIoU(num_classes=2, dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.update_state(y_true, y_pred, sample_weight=np.array([0.3, 0.3, 0.3, 0.1]))
    assert float(m.result()) == pytest.approx(0.2380952, abs=1e-6)
    assert m.total_cm.numpy().dtype == np.float32


def test_iou_family_values_on_segmentation_maps():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, (2, 4, 4))
    scores = rng.random((2, 4, 4, 3)).astype("float32")
    y_pred = np.argmax(scores, -1)
    onehot = tf.one_hot(y_true, 3)

    def result(metric, *args):
        metric.update_state(*args)
        return round(float(metric.result()), 5)

    # TensorFlow 2.21
    assert result(keras.metrics.MeanIoU(num_classes=3), y_true, y_pred) == 0.18657
    assert result(keras.metrics.MeanIoU(num_classes=3, sparse_y_pred=False),
                  y_true, scores) == 0.18657
    assert result(keras.metrics.MeanIoU(num_classes=3, ignore_class=0), y_true, y_pred) == 0.17216
    assert result(keras.metrics.IoU(num_classes=3, target_class_ids=[0, 2]),
                  y_true, y_pred) == 0.18611
    assert result(keras.metrics.OneHotMeanIoU(num_classes=3), onehot, scores) == 0.18657
    assert result(keras.metrics.OneHotIoU(num_classes=3, target_class_ids=[1, 2]),
                  onehot, scores) == 0.20486
    assert result(keras.metrics.OneHotIoU(num_classes=3, target_class_ids=[1, 2],
                                          sparse_y_pred=True), onehot, y_pred) == 0.20486
    assert result(keras.metrics.OneHotMeanIoU(num_classes=3, ignore_class=1),
                  onehot, scores) == 0.15


def test_num_classes_must_be_an_int():
    with pytest.raises(TypeError):  # TensorFlow 2.21: a TypeError
        keras.metrics.MeanIoU(num_classes=1.5)
    with pytest.raises(ValueError):
        keras.metrics.IoU(num_classes=3, target_class_ids=[5])


def test_segmentation_model_compiled_with_iou_metrics():
    keras.backend.clear_session()
    rng = np.random.default_rng(0)
    x = rng.random((4, 8, 8, 3)).astype("float32")
    y = rng.integers(0, 3, (4, 8, 8)).astype("int32")
    inputs = keras.Input((8, 8, 3))
    hidden = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Conv2D(3, 1, activation="softmax")(hidden))
    model.set_weights([np.random.default_rng(7).standard_normal(w.shape).astype("float32") * 0.5
                       for w in model.get_weights()])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.MeanIoU(num_classes=3, sparse_y_pred=False),
                           keras.metrics.IoU(3, [1], sparse_y_pred=False, name="iou1"),
                           "accuracy"])
    history = model.fit(x, y, batch_size=2, epochs=2, verbose=0, shuffle=False,
                        validation_data=(x, y))
    # TensorFlow 2.21
    assert list(history.history) == ["accuracy", "iou1", "loss", "mean_io_u", "val_accuracy",
                                     "val_iou1", "val_loss", "val_mean_io_u"]
    np.testing.assert_allclose(history.history["mean_io_u"], [0.1237, 0.1237], atol=1e-4)
    np.testing.assert_allclose(history.history["iou1"], [0.3711, 0.3711], atol=1e-4)
    np.testing.assert_allclose(history.history["loss"], [1.1186, 1.1099], atol=1e-4)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), [1.1051, 0.1237, 0.3711, 0.3711],
                               atol=1e-4)

    # a binary mask model: BinaryIoU with per-pixel float weights counts them as int64
    yb = (rng.random((4, 8, 8, 1)) > 0.5).astype("float32")
    inputs = keras.Input((8, 8, 3))
    binary = keras.Model(inputs, keras.layers.Conv2D(1, 1, activation="sigmoid")(inputs))
    binary.set_weights([np.full((1, 1, 3, 1), 0.3, "float32"), np.zeros(1, "float32")])
    binary.compile("sgd", "binary_crossentropy",
                   metrics=[keras.metrics.BinaryIoU(target_class_ids=[1], threshold=0.6),
                            keras.metrics.BinaryIoU(name="bi2")])
    per_image = np.array([1.0, 0.5, 2.0, 1.0])[:, None, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        weighted = binary.evaluate(x, yb, verbose=0,
                                   sample_weight=np.broadcast_to(per_image, (4, 8, 8)).copy())
    np.testing.assert_allclose(weighted, [0.8179, 0.3925, 0.252], atol=1e-4)
