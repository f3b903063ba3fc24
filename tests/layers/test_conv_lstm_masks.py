"""`ConvLSTM1D` / `ConvLSTM2D` / `ConvLSTM3D` given a time-step mask, against Keras 3.15's
numbers (tests/fixtures/make_conv_lstm_masks.py): a masked step keeps the states and outputs
the step before's output (zeros before the first kept step; zeros with
``zero_output_for_mask``), forwards and with ``go_backwards``; tape gradients w.r.t. the
input and the weights; a `Masking` layer feeding two stacked layers in a model (its mask per
frame position); `compute_mask`; float64 central differences; bad masks."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from tests.fixtures.conv_lstm_mask_cases import CASES, MASK
from tests.helpers import load_fixture, numerical_gradient, rel_error
from tests.layers.harness import check_taped_outputs_and_gradients

keras = tf.keras
layers = keras.layers


@pytest.fixture(scope="module")
def expected():
    return load_fixture("conv_lstm_masks.npz")


def _count(expected, prefix: str) -> int:
    return len([k for k in expected if k.startswith(prefix)])


@pytest.mark.parametrize("name", sorted(CASES))
def test_masked_calls_match_keras(name, expected):
    cls, kwargs, _ = CASES[name]
    layer = getattr(layers, cls)(**kwargs)
    x = expected[f"{name}/x"]
    layer(x)
    layer.set_weights([expected[f"{name}/w/{i}"] for i in range(_count(expected, f"{name}/w/"))])
    mask = np.array(MASK)
    check_taped_outputs_and_gradients(name, lambda v: layer(v, mask=mask), x,
                                layer.trainable_weights, expected)


def test_a_fully_masked_sequence_outputs_zeros_and_keeps_its_initial_state(expected):
    layer = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, return_state=True)
    x = expected["seq/x"]
    rng = np.random.default_rng(3)
    h0, c0 = (rng.standard_normal((3, 4, 4, 2)).astype("float32") for _ in range(2))
    out, h, c = layer(x, initial_state=[h0, c0], mask=np.array(MASK))
    np.testing.assert_array_equal(np.asarray(out)[2], 0.0)  # the previous output: zeros
    np.testing.assert_array_equal(np.asarray(h)[2], h0[2])
    np.testing.assert_array_equal(np.asarray(c)[2], c0[2])
    # the last step of sequence 0 is masked: its output and states are step 3's
    np.testing.assert_array_equal(np.asarray(out)[0, 4], np.asarray(out)[0, 3])
    np.testing.assert_array_equal(np.asarray(h)[0], np.asarray(out)[0, 3])


def masked_model():
    inp = keras.Input((5, 4, 4, 2))
    masking = layers.Masking()
    first = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    out = layers.ConvLSTM2D(2, 2, padding="same", go_backwards=True)(first(masking(inp)))
    return keras.Model(inp, out), masking, first


def test_masking_layer_in_a_model_matches_keras(expected):
    model, masking, first = masked_model()
    model.set_weights([expected[f"model/w/{i}"] for i in range(_count(expected, "model/w/"))])
    x = expected["model/x"]
    check_taped_outputs_and_gradients("model", model, x, model.trainable_weights, expected)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected["model/out/0"],
                               rtol=1e-5, atol=1e-6)
    # eagerly, the first layer hands on Masking's mask (one per frame position), as Keras
    hidden = first(masking(x))
    np.testing.assert_array_equal(np.asarray(hidden._keras_mask), expected["model/mask1"])


def test_masked_model_trains_and_fit_backward_agrees_with_the_tape(expected):
    model, _, _ = masked_model()
    model.set_weights([expected[f"model/w/{i}"] for i in range(_count(expected, "model/w/"))])
    x = expected["model/x"]
    r = expected["model/r/0"]
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(model(x) * r)
    for i, grad in enumerate(tape.gradient(total, model.trainable_weights), start=1):
        np.testing.assert_allclose(np.asarray(grad), expected[f"model/grad/{i}"], rtol=1e-4,
                                   atol=1e-5)
    model.compile("adam", "mse")
    history = model.fit(x, np.zeros((3, 4, 4, 2), dtype="float32"), epochs=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("kwargs", [
    {"return_sequences": True},
    {"return_sequences": True, "go_backwards": True, "return_state": True},
    {"zero_output_for_mask": True, "return_sequences": True},
])
def test_float64_gradients_by_central_differences(kwargs):
    layer = layers.ConvLSTM1D(2, 2, padding="same", dtype="float64", **kwargs)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 4, 3, 1))
    mask = np.array([[False, True, True, False], [True, False, True, True],
                     [True, True, True, True]])
    out = layer(x, mask=mask)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    rs = [rng.standard_normal(np.shape(o)) for o in outs]

    def total():
        out = layer(x, mask=mask)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        return sum(np.sum(np.asarray(o) * r) for o, r in zip(outs, rs))

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt, mask=mask)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        summed = sum(tf.reduce_sum(o * r) for o, r in zip(outs, rs))
    grads = tape.gradient(summed, [xt, *layer.trainable_weights])
    for value, grad in zip([x] + [v.value for v in layer.trainable_weights], grads):
        assert rel_error(np.asarray(grad), numerical_gradient(total, value, np.ones(()))) < 1e-6


def test_compute_mask_as_keras():
    mask = np.array(MASK)
    x = np.zeros((3, 5, 4, 4, 2), dtype="float32")
    seq = layers.ConvLSTM2D(2, 3, return_sequences=True)
    assert seq.compute_mask(x, mask) is mask
    assert layers.ConvLSTM2D(2, 3).compute_mask(x, mask) is None
    both = layers.ConvLSTM2D(2, 3, return_sequences=True, return_state=True)
    assert both.compute_mask(x, mask)[0] is mask and both.compute_mask(x, mask)[1:] == [None] * 2
    # symbolically: the sequence output carries the mask on, the last output none
    inp = keras.Input((5, 4, 4, 2))
    masked = layers.Masking()(inp)
    assert layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)(
        masked)._keras_mask is not None
    assert getattr(layers.ConvLSTM2D(2, 3, padding="same")(masked), "_keras_mask",
                   None) is None
    # eagerly
    out = seq(x, mask=mask)
    np.testing.assert_array_equal(np.asarray(out._keras_mask), mask)


def test_an_unmasked_call_is_unchanged_by_an_all_true_mask(expected):
    layer = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, go_backwards=True)
    x = expected["back_seq/x"]
    plain = np.asarray(layer(x))
    np.testing.assert_array_equal(np.asarray(layer(x, mask=np.ones((3, 5), bool))), plain)


def test_bad_masks_are_refused():
    layer = layers.ConvLSTM2D(2, 3, return_sequences=True)  # valid padding: 4x4 -> 2x2
    x = np.zeros((3, 5, 4, 4, 2), dtype="float32")
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, time\) = \(3, 5\)"):
        layer(x, mask=np.ones((3, 4), bool))
    with pytest.raises(ValueError, match=r"mask must have shape .*got \(3,\)"):
        layer(x, mask=np.ones((3,), bool))
    with pytest.raises(ValueError, match=r"does not fit the states of shape \(3, 2, 2, 2\)"):
        layer(x, mask=np.ones((3, 5, 4, 4), bool))
    # Masking on frames masks positions: the output must keep the frames' sizes (Keras
    # fails in its loop when the model runs; here when it is made)
    with pytest.raises(ValueError, match="padding \"same\", strides 1"):
        layers.ConvLSTM2D(2, 3)(layers.Masking()(x))
    with pytest.raises(ValueError, match="padding \"same\", strides 1"):
        layers.ConvLSTM2D(2, 3)(layers.Masking()(keras.Input((5, 4, 4, 2))))
