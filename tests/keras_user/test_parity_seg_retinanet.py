"""keras.io's RetinaNet program, condensed: a backbone model made with
``Model(inputs=[backbone.inputs], ...)``, a subclassed detector called on
``Input([None, None, 3])``, a decoding layer taking ``(images, predictions)`` and returning
`tf.image.combined_non_max_suppression`'s named tuple, and the inference model built on it.

The expected values are TensorFlow 2.21's for the same program (run side by side).
"""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

import convnp as tf

keras = tf.keras


def _backbone():
    inputs = keras.Input([None, None, 3])
    c3 = keras.layers.Conv2D(4, 3, strides=8, padding="same", name="c3")(inputs)
    c4 = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="c4")(c3)
    c5 = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="c5")(c4)
    backbone = keras.Model(inputs, c5)
    outputs = [backbone.get_layer(name).output for name in ["c3", "c4", "c5"]]
    # keras.io writes the inputs inside one more list
    return keras.Model(inputs=[backbone.inputs], outputs=outputs)


class Detector(keras.Model):
    def __init__(self, num_classes, **kwargs):
        super().__init__(name="Detector", **kwargs)
        self.backbone = _backbone()
        self.lateral = [keras.layers.Conv2D(4, 1) for _ in range(3)]
        self.up = keras.layers.UpSampling2D(2)
        self.head = keras.layers.Conv2D(9 * (4 + num_classes), 3, padding="same")
        self.num_classes = num_classes

    def call(self, images, training=False):
        c3, c4, c5 = self.backbone(images, training=training)
        p5 = self.lateral[2](c5)
        p4 = self.lateral[1](c4) + self.up(p5)
        p3 = self.lateral[0](c3) + self.up(p4)
        n = tf.shape(images)[0]
        outs = [tf.reshape(self.head(p), [n, -1, 4 + self.num_classes]) for p in (p3, p4, p5)]
        return tf.concat(outs, axis=1)


class Decode(keras.layers.Layer):
    """Anchors from the image size (float feature sizes into tf.range/tile/fill/reshape),
    box deltas decoded, then combined non-max suppression."""

    def call(self, images, predictions):
        shape = tf.cast(tf.shape(images), tf.float32)
        anchors = []
        for level in (3, 4, 5):
            fh = tf.math.ceil(shape[1] / 2 ** level)
            fw = tf.math.ceil(shape[2] / 2 ** level)
            rx = tf.range(fw, dtype=tf.float32) + 0.5
            ry = tf.range(fh, dtype=tf.float32) + 0.5
            centers = tf.stack(tf.meshgrid(rx, ry), axis=-1) * 2 ** level
            centers = tf.tile(tf.expand_dims(centers, -2), [1, 1, 9, 1])
            size = tf.fill([fh, fw, 9, 2], 4.0 * 2 ** level)
            anchors.append(tf.reshape(tf.concat([centers, size], -1), [fh * fw * 9, 4]))
        anchors = tf.concat(anchors, axis=0)[None]
        deltas = predictions[:, :, :4] * 0.1
        centers = deltas[:, :, :2] * anchors[:, :, 2:] + anchors[:, :, :2]
        sizes = tf.math.exp(deltas[:, :, 2:]) * anchors[:, :, 2:]
        boxes = tf.concat([centers - sizes / 2.0, centers + sizes / 2.0], axis=-1)
        scores = tf.nn.sigmoid(predictions[:, :, 4:])
        return tf.image.combined_non_max_suppression(
            tf.expand_dims(boxes, axis=2), scores, 5, 6, 0.5, 0.3, clip_boxes=False)


def test_model_inputs_given_in_a_nested_list():
    keras.backend.clear_session()
    backbone = _backbone()
    # TensorFlow 2.21 flattens them: one input
    assert len(backbone.inputs) == 1
    assert [tuple(t.shape) for t in backbone.outputs] == [(None, None, None, 4)] * 3
    out = backbone(np.zeros((1, 64, 64, 3), np.float32))
    assert [tuple(t.shape) for t in out] == [(1, 8, 8, 4), (1, 4, 4, 4), (1, 2, 2, 4)]


def test_retinanet_inference_model_keeps_the_named_tuple():
    keras.backend.clear_session()
    model = Detector(2)
    x = np.random.default_rng(0).random((1, 64, 64, 3)).astype("float32")
    model(x)  # built on 64 x 64 images first
    model.set_weights([np.random.default_rng(i).standard_normal(w.shape).astype("float32") * 0.3
                       for i, w in enumerate(model.get_weights())])
    image = keras.Input(shape=[None, None, 3], name="image")
    predictions = model(image, training=False)
    # TensorFlow 2.21: the number of anchors follows the image size, so it is unknown
    assert tuple(predictions.shape) == (None, None, 6)
    detections = Decode()(image, predictions)
    assert type(detections).__name__ == "CombinedNonMaxSuppression"
    assert [tuple(t.shape) for t in detections] == [(None, 6, 4), (None, 6), (None, 6), (None,)]
    inference = keras.Model(inputs=image, outputs=detections)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = inference.predict(x, verbose=0)
    assert type(out).__name__ == "CombinedNonMaxSuppression"
    # TensorFlow 2.21's detections
    np.testing.assert_allclose(out.nmsed_boxes[0], [
        [12.894, 2.590, 46.185, 39.769], [-9.684, -4.144, 20.999, 30.119],
        [10.489, -23.329, 33.733, -2.452], [0.603, 11.538, 40.031, 44.404],
        [9.439, -15.082, 32.804, 7.871], [40.106, 4.769, 66.685, 41.724]], atol=2e-3)
    np.testing.assert_allclose(out.nmsed_scores[0],
                               [0.999, 0.9982, 0.9977, 0.9976, 0.9974, 0.9958], atol=1e-4)
    assert out.nmsed_classes[0].tolist() == [1, 1, 1, 1, 1, 0]
    assert out.valid_detections.tolist() == [6]
    called = inference(x)
    assert type(called).__name__ == "CombinedNonMaxSuppression"
    np.testing.assert_allclose(np.asarray(called.nmsed_scores), out.nmsed_scores, atol=1e-6)


def test_tf_optimizers_losses_metrics_are_there_on_a_fresh_import():
    # keras.io's RetinaNet: tf.optimizers.schedules.PiecewiseConstantDecay, tf.losses.Loss
    code = ("import convnp as tf; "
            "s = tf.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01]); "
            "print(float(s(20)), tf.losses.Loss.__name__, tf.metrics.MeanIoU.__name__)")
    here = str(Path(tf.__file__).resolve().parents[1])  # this convnp, not an installed one
    env = {**os.environ, "PYTHONPATH": here}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True, env=env)
    assert done.stdout.split() == ["0.01", "Loss", "MeanIoU"]
