"""keras.io's "Image similarity estimation using a Siamese Network with a contrastive loss":
a ``Lambda`` of the euclidean distance between two towers, a closure loss
``loss(margin=1)``, RMSprop. The expected values are TensorFlow 2.21's (Keras 3) for the same
weights and inputs."""

from __future__ import annotations

import numpy as np

import convnp as tf

keras = tf.keras
layers = keras.layers


def euclidean_distance(vects):
    x, y = vects
    sum_square = tf.math.reduce_sum(tf.math.square(x - y), axis=1, keepdims=True)
    return tf.math.sqrt(tf.math.maximum(sum_square, keras.backend.epsilon()))


def loss(margin=1):
    def contrastive_loss(y_true, y_pred):
        square_pred = tf.math.square(y_pred)
        margin_square = tf.math.square(tf.math.maximum(margin - (y_pred), 0))
        return tf.math.reduce_mean((1 - y_true) * square_pred + (y_true) * margin_square)

    return contrastive_loss


def _siamese():
    inputs = layers.Input((12, 12, 1))
    x = layers.BatchNormalization()(inputs)
    x = layers.Conv2D(4, (3, 3), activation="tanh")(x)
    x = layers.AveragePooling2D(pool_size=(2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dense(5, activation="tanh")(x)
    embedding_network = keras.Model(inputs, x)
    input_1, input_2 = layers.Input((12, 12, 1)), layers.Input((12, 12, 1))
    merge_layer = layers.Lambda(euclidean_distance, output_shape=(1,))(
        [embedding_network(input_1), embedding_network(input_2)])
    normal_layer = layers.BatchNormalization()(merge_layer)
    output_layer = layers.Dense(1, activation="sigmoid")(normal_layer)
    siamese = keras.Model(inputs=[input_1, input_2], outputs=output_layer)
    rng = np.random.default_rng(0)
    siamese.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") if w.ndim > 1 else
                         (np.abs(rng.normal(0, 0.2, w.shape)) + 0.5).astype("float32")
                         for w in siamese.get_weights()])
    return siamese, rng


def test_siamese_fit_evaluate_predict_match_tensorflow():
    siamese, rng = _siamese()
    x1 = rng.uniform(size=(8, 12, 12, 1)).astype("float32")
    x2 = rng.uniform(size=(8, 12, 12, 1)).astype("float32")
    y = rng.integers(0, 2, (8,)).astype("float32")
    siamese.compile(loss=loss(margin=1), optimizer="RMSprop", metrics=["accuracy"])
    history = siamese.fit([x1, x2], y, validation_data=([x1[:4], x2[:4]], y[:4]),
                          batch_size=4, epochs=2, verbose=0, shuffle=False)
    # TF 2.21's history (keys in its order) and results
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    np.testing.assert_allclose(history.history["loss"], [0.2325, 0.231], atol=1e-4)
    np.testing.assert_allclose(history.history["val_loss"], [0.3487, 0.3487], atol=1e-4)
    np.testing.assert_allclose(history.history["accuracy"], [0.625, 0.625])
    np.testing.assert_allclose(siamese.evaluate([x1, x2], y, verbose=0), [0.2344, 0.625],
                               atol=1e-4)
    predictions = siamese.predict([x1, x2], verbose=0)
    assert predictions.shape == (8, 1)
    np.testing.assert_allclose(predictions[:3, 0], [0.6543, 0.6528, 0.6526], atol=1e-4)


def test_lambda_config_has_keras_3_keys():
    # TF 2.21: output_shape and mask appear only when given
    plain = layers.Lambda(euclidean_distance).get_config()
    assert sorted(plain) == ["arguments", "dtype", "function", "name", "trainable"]
    shaped = layers.Lambda(euclidean_distance, output_shape=(1,)).get_config()
    assert sorted(shaped) == ["arguments", "dtype", "function", "name", "output_shape",
                              "trainable"]
    assert shaped["output_shape"] == [1]
    again = layers.Lambda.from_config(shaped)
    assert again.compute_output_shape([(None, 5), (None, 5)]) == (None, 1)


def test_distance_gradient_is_zero_at_the_epsilon_floor():
    same = tf.Variable(np.ones((2, 3), "float32"))
    with tf.GradientTape() as tape:
        distance = euclidean_distance([same, tf.constant(np.ones((2, 3), "float32"))])
    # TF 2.21: the maximum picks epsilon, so no gradient reaches the towers
    np.testing.assert_allclose(distance.numpy(), np.full((2, 1), np.sqrt(1e-7)), rtol=1e-5)
    np.testing.assert_array_equal(tape.gradient(distance, same).numpy(), np.zeros((2, 3)))
