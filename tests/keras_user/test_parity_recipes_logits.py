"""A model ending in softmax (or sigmoid) compiled with a crossentropy told
``from_logits=True``, the classic slip in training recipes: TensorFlow 2.21 warns and computes
the loss from the activation's own logits (its ``_keras_logits``), so the model trains as if
the flag were right. convnp read the probabilities as logits (a flatter loss, other weights).

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras

# evaluate warns again (as TensorFlow does when it traces its test step)
pytestmark = pytest.mark.filterwarnings("ignore:.*received `from_logits=True`:UserWarning")


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 4)).astype("float32")
    y = rng.integers(0, 3, 10)
    return x, y, np.eye(3, dtype="float32")[y]


def _model(activation):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(3, activation=activation)])
    model.set_weights([np.round(np.cos(np.arange(w.size).reshape(w.shape) * 0.7) * 0.4, 4)
                       .astype("float32") for w in model.get_weights()])
    return model


@pytest.mark.parametrize("loss, sparse", [
    (keras.losses.CategoricalCrossentropy(from_logits=True), False),
    (keras.losses.SparseCategoricalCrossentropy(from_logits=True), True),
])
def test_softmax_output_with_from_logits_trains_on_the_logits(loss, sparse):
    # TF 2.21: history loss [1.1393, 1.066], evaluate 0.9839 (convnp had [1.1047, 1.0947]
    # and 1.0814, the probabilities taken as logits)
    x, y, one_hot = _data()
    model = _model("softmax")
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss)
    with pytest.warns(UserWarning, match="from_logits=True"):
        history = model.fit(x, y if sparse else one_hot, epochs=2, batch_size=5, verbose=0,
                            shuffle=False)
    assert history.history["loss"] == pytest.approx([1.1393, 1.066], abs=1e-4)
    assert model.evaluate(x, y if sparse else one_hot, verbose=0) == pytest.approx(0.9839,
                                                                                   abs=1e-4)


def test_sigmoid_output_with_binary_from_logits_trains_on_the_logits():
    # TF 2.21: history loss [0.7447, 0.7092], evaluate 0.6826 (convnp: [0.8258, 0.8221], 0.8189)
    x, _, one_hot = _data()
    model = _model("sigmoid")
    model.compile(optimizer=keras.optimizers.SGD(0.5),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    with pytest.warns(UserWarning, match="sigmoid activation"):
        history = model.fit(x, one_hot, epochs=2, batch_size=5, verbose=0, shuffle=False)
    assert history.history["loss"] == pytest.approx([0.7447, 0.7092], abs=1e-4)
    assert model.evaluate(x, one_hot, verbose=0) == pytest.approx(0.6826, abs=1e-4)


def test_a_loss_on_predicted_probabilities_still_reads_them_as_logits():
    # TF 2.21: an array from predict carries no logits: 1.0515 after the training above
    x, _, one_hot = _data()
    model = _model("softmax")
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss)
    with pytest.warns(UserWarning):
        model.fit(x, one_hot, epochs=2, batch_size=5, verbose=0, shuffle=False)
    assert float(loss(one_hot, model.predict(x, verbose=0))) == pytest.approx(1.0515, abs=1e-4)
