"""convnp.plot.probe: saliency and Grad-CAM numbers against central differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp.plot import probe
from tests.helpers import numerical_gradient, rel_error

tfl = tf.keras.layers
F64 = "float64"


def _tiny(output="softmax", classes=3):
    """Conv -> BN -> ReLU -> conv -> pool -> dense, float64, random weights."""
    tf.keras.utils.set_random_seed(3)
    units = 1 if output == "sigmoid" else classes
    model = tf.keras.Sequential([
        tfl.Conv2D(4, 3, padding="same", input_shape=(7, 6, 2), dtype=F64, name="c1"),
        tfl.BatchNormalization(dtype=F64),
        tfl.ReLU(dtype=F64),
        tfl.Conv2D(3, 3, dtype=F64, name="c2"),
        tfl.MaxPooling2D(2, dtype=F64),
        tfl.Flatten(dtype=F64),
        tfl.Dense(units, activation=output, dtype=F64, name="out"),
    ])
    # non-trivial moving statistics, so inference-mode BN is not the identity
    bn = model.layers[1]
    bn.set_weights([np.full(4, 1.3), np.full(4, -0.2), np.linspace(-0.5, 0.5, 4),
                    np.linspace(0.5, 2.0, 4)])
    return model


def _logit_model(model):
    """The same layers without the output activation: a twin Dense sharing the weights."""
    twin = tf.keras.Sequential([tfl.InputLayer(input_shape=model.input_shape[1:], dtype=F64)]
                               + model.layers[:-1]
                               + [tfl.Dense(model.layers[-1].units, dtype=F64)])
    twin.layers[-1].set_weights(model.layers[-1].get_weights())
    return twin


@pytest.mark.parametrize("output", ["softmax", "sigmoid", None])
def test_input_gradient_matches_central_differences(output):
    model = _tiny(output or "linear")
    x = np.random.default_rng(0).normal(size=(2, 7, 6, 2))
    result = probe.score_gradient(model, x, class_index=[2, 0] if output != "sigmoid" else 0)
    logits = _logit_model(model)
    d_scores = np.zeros((2, model.layers[-1].units))
    d_scores[np.arange(2), result.class_index] = 1.0
    numeric = numerical_gradient(lambda: np.asarray(logits.predict(x, verbose=0)), x, d_scores)
    assert rel_error(result.gradient, numeric) < 1e-6
    assert result.gradient.shape == x.shape


def test_layer_gradient_matches_central_differences():
    model = _tiny()
    x = np.random.default_rng(1).normal(size=(1, 7, 6, 2))
    result = probe.score_gradient(model, x, layer="c2", class_index=1)
    # the rest of the network after c2, run on perturbed activations
    logits = _logit_model(model)
    tail = tf.keras.Sequential([tfl.InputLayer(input_shape=result.values.shape[1:], dtype=F64)]
                               + logits.layers[4:])
    acts = result.values.copy()
    d_scores = np.zeros((1, 3))
    d_scores[0, 1] = 1.0
    numeric = numerical_gradient(lambda: np.asarray(tail.predict(acts, verbose=0)), acts,
                                 d_scores)
    assert rel_error(result.gradient, numeric) < 1e-6


def test_saliency_and_gradcam_values_follow_their_definitions():
    model = _tiny()
    x = np.random.default_rng(2).normal(size=(7, 6, 2))
    sal, classes = probe.saliency_values(model, x)
    grad = probe.score_gradient(model, x).gradient[0]
    np.testing.assert_allclose(sal[0], np.abs(grad).max(axis=-1))
    assert classes[0] == np.argmax(model.predict(x[None], verbose=0)[0])

    cams, _ = probe.gradcam_values(model, x)  # last conv layer: c2, 5x4 maps
    result = probe.score_gradient(model, x, layer="c2")
    weights = result.gradient[0].mean(axis=(0, 1))
    expected = np.maximum((result.values[0] * weights).sum(axis=-1), 0)
    assert cams.shape == (1, 7, 6)
    np.testing.assert_allclose(probe.resize_bilinear(expected[None], 7, 6), cams)


def test_probe_leaves_training_unchanged():
    """A probe between fit calls changes no weight and the next fit still trains."""
    model = _tiny()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x = np.random.default_rng(3).normal(size=(8, 7, 6, 2))
    y = np.eye(3)[np.arange(8) % 3]
    model.fit(x, y, epochs=1, verbose=0)
    before = [w.copy() for w in model.get_weights()]
    probe.saliency_values(model, x[:2])
    probe.gradcam_values(model, x[:2], layer="c1")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    flags = [getattr(layer, "needs_input_gradient", None) for layer in model.layers]
    history = model.fit(x, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert flags[0] is not True  # the first conv still skips its input gradient


def test_resize_bilinear_keeps_constants_and_corners():
    maps = np.arange(6, dtype=float).reshape(1, 2, 3)
    out = probe.resize_bilinear(maps, 4, 6)
    assert out.shape == (1, 4, 6)
    assert out[0, 0, 0] == maps[0, 0, 0] and out[0, -1, -1] == maps[0, -1, -1]
    np.testing.assert_allclose(probe.resize_bilinear(np.full((1, 3, 3), 2.5), 9, 5), 2.5)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"layer": "nope"}, ValueError, "no layer named 'nope'"),
    ({"layer": 99}, ValueError, "out of range"),
    ({"class_index": 5}, ValueError, "[0, 2]"),
    ({"class_index": 1.5}, TypeError, "class_index"),
    ({"layer": "out"}, ValueError, "nothing after"),
])
def test_bad_arguments_are_named(kwargs, error, words):
    model = _tiny()
    with pytest.raises(error, match=__import__("re").escape(words)):
        probe.score_gradient(model, np.zeros((7, 6, 2)), **kwargs)


def test_bad_images_are_refused():
    model = _tiny()
    with pytest.raises(ValueError, match=r"takes images of shape \(7, 6, 2\)"):
        probe.as_batch(model, np.zeros((6, 6, 2)))
    with pytest.raises(ValueError, match="NaN"):
        probe.as_batch(model, np.full((7, 6, 2), np.nan))
    with pytest.raises(TypeError, match="real numbers"):
        probe.as_batch(model, np.array([["a"] * 2] * 6 * 7).reshape(7, 6, 2))


def test_layer_gradient_inside_a_residual_block():
    """The shortcut around the probed layer is a fixed side input of the rest of the graph."""
    tf.keras.utils.set_random_seed(4)
    inputs = tf.keras.Input((5, 5, 2), dtype=F64)
    stem = tfl.Conv2D(3, 3, padding="same", dtype=F64)
    inner = tfl.Conv2D(3, 3, padding="same", dtype=F64, name="inner")
    add = tfl.Add(dtype=F64)
    flat = tfl.Flatten(dtype=F64)
    head = tfl.Dense(2, dtype=F64)
    s = stem(inputs)
    model = tf.keras.Model(inputs, head(flat(add([inner(tfl.ReLU(dtype=F64)(s)), s]))))
    x = np.random.default_rng(5).normal(size=(1, 5, 5, 2))
    result = probe.score_gradient(model, x, layer="inner", class_index=0)

    a_in = tf.keras.Input((5, 5, 3), dtype=F64)
    s_in = tf.keras.Input((5, 5, 3), dtype=F64)
    tail = tf.keras.Model([a_in, s_in], head(flat(add([a_in, s_in]))))
    shortcut = np.asarray(probe.layer_outputs(model, x, [stem])[0])
    acts = result.values.copy()
    numeric = numerical_gradient(
        lambda: np.asarray(tail.predict([acts, shortcut], verbose=0)), acts,
        np.array([[1.0, 0.0]]))
    assert rel_error(result.gradient, numeric) < 1e-6
