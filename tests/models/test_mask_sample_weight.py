"""Sample weights on a loss per step, with and without a mask on the output, against Keras
3.15 (tests/fixtures/make_mask_sample_weight.py): Keras multiplies the weights into the
masked per-step losses as they are given (`convnp.losses.keras_weights`): ``(n, 1)`` weighs
every step of an example, ``(n, steps)`` each step. A flat ``(n,)`` weight fails in Keras
(TensorFlow's "Incompatible shapes: [4] vs. [4,5]") unless a batch holds as many examples as
steps, where it weighs the steps; convnp gives it tf.keras 2's meaning at every batch size,
one weight per example: the ``(n, 1)`` numbers. ``evaluate`` losses, one epoch of ``fit``
and its weights."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from tests.helpers import load_fixture

keras = tf.keras
layers = keras.layers
Z = load_fixture("mask_sample_weight.npz")
CASES = sorted({k.split("/")[-2] for k in Z if k.endswith("/batch")})


def make(mask_zero: bool):
    inp = keras.Input((5,), dtype="int32")
    h = layers.Embedding(7, 3, mask_zero=mask_zero)(inp)
    h = layers.LSTM(4, return_sequences=True)(h)
    model = keras.Model(inp, layers.Dense(3, activation="softmax")(h))
    model.set_weights([Z[f"w/{i}"] for i in range(len(model.get_weights()))])
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("prefix", ["", "plain/"], ids=["masked", "unmasked"])
@pytest.mark.parametrize("name", CASES)
def test_evaluate_and_fit_as_keras(prefix, name):
    key = f"{prefix}{name}"
    sw = Z.get(f"{key}/weight")
    batch = int(Z[f"{key}/batch"])
    model = make(prefix == "")
    if name.startswith("flat_"):
        # Keras fails (4 examples, 5 steps) or weighs the steps (5 and 5); convnp: per example
        if f"{key}/error" in Z:
            assert "Incompatible shapes" in str(Z[f"{key}/message"])
        key = key.replace("flat_", "column_")
    loss = model.evaluate(Z["x"], Z["y"], sample_weight=sw, batch_size=batch, verbose=0)
    np.testing.assert_allclose(loss, Z[f"{key}/eval"], rtol=2e-6)
    if f"{key}/fit_loss" in Z:
        history = model.fit(Z["x"], Z["y"], sample_weight=sw, batch_size=batch, epochs=1,
                            shuffle=False, verbose=0)
        np.testing.assert_allclose(history.history["loss"], Z[f"{key}/fit_loss"], rtol=2e-6)
        for i, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(w, Z[f"{key}/after/{i}"], rtol=1e-5, atol=1e-6)


def test_train_and_test_on_batch_and_datasets_follow_the_same_rule():
    model = make(True)
    x, y, sw = Z["x"][:4], Z["y"][:4], Z["sw"][:4]
    column = model.test_on_batch(x, y, sample_weight=sw[:, None])
    np.testing.assert_allclose(model.test_on_batch(x, y, sample_weight=sw), column, rtol=1e-6)
    np.testing.assert_allclose(model.evaluate(x, y, sample_weight=sw[:, None], batch_size=4,
                                              verbose=0), column, rtol=1e-6)
    for weights in (sw, sw[:, None]):
        data = tf.data.Dataset.from_tensor_slices((x, y, weights)).batch(4)
        np.testing.assert_allclose(model.evaluate(data, verbose=0), column, rtol=1e-6)
    with pytest.raises(ValueError, match=r"sample_weight shape \(4, 3\) does not match the "
                                         r"output's mask of shape \(4, 5\)"):
        model.test_on_batch(x, y, sample_weight=np.ones((4, 3)))
    # class_weight gives one weight per example: it weighs all of the example's steps
    by_class = {0: 1.0, 1: 2.0, 2: 0.5}
    before = model.get_weights()
    model.fit(x, y, class_weight=by_class, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_sample_weight_shapes_checked_before_any_work():
    model = make(True)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(5,\).*got \(4, 1\)"):
        model.evaluate(Z["x"], Z["y"], sample_weight=Z["sw"][:4, None], verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(5,\).*got \(\)"):
        model.evaluate(Z["x"], Z["y"], sample_weight=np.float32(2.0), verbose=0)


def test_validation_split_keeps_the_weights_shape():
    model = make(True)
    history = model.fit(Z["x"], Z["y"], sample_weight=Z["sw"][:, None], validation_split=0.2,
                        batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["val_loss"][0])
