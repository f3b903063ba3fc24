"""``predict_step`` overrides, as keras.io's EDSR writes one (clip, round and cast the
super-resolved image to uint8): in TF 2.21 (Keras 3) ``model.predict`` and
``predict_on_batch`` call the model's ``predict_step`` on each batch and join what it returns
along the batch axis, in its structure; ``super().predict_step(data)`` is the model's output.

What TF 2.21 passes as ``data`` (recorded): the inputs alone for arrays and for a Dataset of
inputs, ``(x, y)`` for a Dataset of pairs, ``(x,)`` in ``predict_on_batch``."""

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
KERNEL = np.arange(6, dtype="float32").reshape(3, 2) / 10
BIAS = np.array([0.1, -0.2], "float32")
X = np.linspace(0, 1, 15, dtype="float32").reshape(5, 3)
# TF 2.21's predict of the uint8 model below
UINT8 = [[17, 0], [30, 9], [43, 28], [56, 47], [69, 66]]
SEEN = []  # what Uint8Model's step was handed, batch by batch


def _build(cls):
    inputs = keras.Input((3,))
    model = cls(inputs, keras.layers.Dense(2)(inputs))
    model.set_weights([KERNEL, BIAS])
    return model


class Uint8Model(keras.Model):
    """EDSR's step: the prediction clipped, rounded and cast to uint8."""

    def predict_step(self, data):
        SEEN.append(type(data).__name__ if isinstance(data, tuple) else "tensor")
        x = data[0] if isinstance(data, tuple) else data
        y = self(x, training=False)
        return tf.cast(tf.round(tf.clip_by_value(y * 100, 0, 255)), tf.uint8)


@pytest.fixture
def uint8_model():
    SEEN.clear()
    return _build(Uint8Model)


def test_predict_returns_what_the_step_returns(uint8_model):
    out = uint8_model.predict(X, batch_size=2, verbose=0)
    assert type(out) is np.ndarray and out.dtype == np.uint8 and out.shape == (5, 2)
    assert out.tolist() == UINT8
    assert SEEN == ["tensor"] * 3  # the inputs alone, three batches


def test_datasets_hand_over_inputs_or_pairs(uint8_model):
    out = uint8_model.predict(tf.data.Dataset.from_tensor_slices(X).batch(2), verbose=0)
    assert out.tolist() == UINT8 and SEEN == ["tensor"] * 3
    SEEN.clear()
    pairs = tf.data.Dataset.from_tensor_slices((X, X[:, :2])).batch(4)
    out = uint8_model.predict(pairs, verbose=0)
    assert out.tolist() == UINT8 and SEEN == ["tuple"] * 2


def test_predict_on_batch_hands_over_a_tuple(uint8_model):
    out = uint8_model.predict_on_batch(X)
    assert out.dtype == np.uint8 and out.tolist() == UINT8
    assert SEEN == ["tuple"]


def test_callbacks_see_the_steps_results(uint8_model):
    seen = []

    class Outputs(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            seen.append((batch, logs["outputs"].dtype, logs["outputs"].shape))

    uint8_model.predict(X, batch_size=4, verbose=0, callbacks=[Outputs()])
    assert seen == [(0, np.uint8, (4, 2)), (1, np.uint8, (1, 2))]


def test_super_predict_step_and_structured_results():
    class Labels(keras.Model):
        def predict_step(self, data):
            y = super().predict_step(data)
            return {"raw": y, "label": tf.argmax(y, axis=-1)}

    out = _build(Labels).predict(X, batch_size=2, verbose=0)
    assert isinstance(out, dict) and list(out) == ["raw", "label"]
    assert out["raw"].dtype == np.float32 and out["raw"].shape == (5, 2)
    assert out["label"].dtype == np.int64 and out["label"].shape == (5,)
    np.testing.assert_allclose(out["raw"], X @ KERNEL + BIAS, rtol=1e-6)

    class Pair(keras.Model):
        def predict_step(self, data):
            y = self(data, training=False)
            return y, y * 2

    out = _build(Pair).predict(X, batch_size=2, verbose=0)
    assert isinstance(out, tuple) and [o.shape for o in out] == [(5, 2), (5, 2)]
    np.testing.assert_allclose(out[1], 2 * (X @ KERNEL + BIAS), rtol=1e-6)


def test_a_sequential_subclass_and_the_default_step():
    class Shifted(keras.Sequential):
        def predict_step(self, data):
            return super().predict_step(data) + 1.0

    model = Shifted([keras.Input((3,)), keras.layers.Dense(2)])
    model.set_weights([KERNEL, BIAS])
    want = X @ KERNEL + BIAS + 1.0
    np.testing.assert_allclose(model.predict(X, verbose=0), want, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(X), want, rtol=1e-6)
    plain = _build(keras.Model)
    # the default step, called by hand: the outputs, for x or (x,)
    np.testing.assert_allclose(plain.predict_step(X), X @ KERNEL + BIAS, rtol=1e-6)
    np.testing.assert_allclose(plain.predict_step((X,)), X @ KERNEL + BIAS, rtol=1e-6)


def test_edsr_step_on_a_batch_fails_as_in_tensorflow():
    # keras.io's EDSR step adds a batch axis itself: meant for model.predict_step(image);
    # through model.predict the model meets 5-D inputs, a ValueError in TF 2.21 too
    class EDSRStep(keras.Model):
        def predict_step(self, x):
            x = tf.cast(tf.expand_dims(x, axis=0), tf.float32)
            return self(x, training=False)

    model = _build(EDSRStep)
    with pytest.raises(ValueError):
        model.predict(X, verbose=0)
    assert model.predict_step(X[0:1, :][0]).shape == (1, 2)
