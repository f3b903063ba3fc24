"""TensorFlow parity of the helpers in TF's 3-D CNN video classification tutorial: the labels
of a batched dataset against the model's predictions (``tf.concat(model.predict(ds),
axis=0)``), then a confusion matrix. The expected behaviour is TF 2.21's."""

import numpy as np

import convnp as tf

keras = tf.keras
layers = keras.layers


def test_concat_of_one_tensor_gives_it_back():
    # TF 2.21: tf.concat(values) takes a single tensor as a list of one and returns it
    a = np.arange(6, dtype="float32").reshape(2, 3)
    for value, axis in ((a, 0), (a, 1), (tf.constant(a), 0), (tf.constant(a), -1)):
        out = tf.concat(value, axis=axis)
        assert tuple(out.shape) == (2, 3)
        np.testing.assert_array_equal(np.asarray(out), a)
    assert tuple(tf.concat([a, a], axis=0).shape) == (4, 3)  # a list is joined as before
    assert np.asarray(tf.concat([[1, 2], [3]], axis=0)).tolist() == [1, 2, 3]


def test_actual_and_predicted_labels_of_a_video_dataset():
    rng = np.random.default_rng(0)
    clips = rng.random((6, 2, 8, 8, 3)).astype("float32")
    labels = np.array([0, 1, 2, 1, 0, 2], dtype="int16")
    ds = tf.data.Dataset.from_tensor_slices((clips, labels)).batch(4)
    inp = keras.Input((2, 8, 8, 3))
    x = layers.GlobalAveragePooling3D()(layers.Conv3D(2, (1, 3, 3))(inp))
    model = keras.Model(inp, layers.Dense(3)(x))

    actual = tf.stack([y for _, y in ds.unbatch()], axis=0)
    predicted = tf.argmax(tf.concat(model.predict(ds, verbose=0), axis=0), axis=1)
    assert tuple(actual.shape) == (6,) and actual.dtype == np.int16
    assert tuple(predicted.shape) == (6,) and predicted.dtype == np.int64
    cm = tf.math.confusion_matrix(actual, predicted)
    assert tuple(cm.shape) == (3, 3) and cm.dtype == np.int32
    assert int(np.asarray(cm).sum()) == 6
