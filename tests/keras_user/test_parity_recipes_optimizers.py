"""keras.io's gradient centralization: an optimizer subclass that centres each kernel's
gradient in `apply_gradients` (or Keras 3's `apply`), used by `fit` and by a custom loop; what
the calls return, as TensorFlow 2.21 returns it.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


class GCAdam(keras.optimizers.Adam):
    def apply_gradients(self, grads_and_vars, *args, **kwargs):
        centred = []
        for grad, variable in grads_and_vars:
            if len(grad.shape) > 1:
                grad = grad - tf.reduce_mean(grad, axis=list(range(len(grad.shape) - 1)),
                                             keepdims=True)
            centred.append((grad, variable))
        return super().apply_gradients(centred, *args, **kwargs)


class GCSGD(keras.optimizers.SGD):
    def apply(self, grads, trainable_variables=None):
        centred = []
        for grad in grads:
            if len(grad.shape) > 1:
                grad = grad - keras.ops.mean(grad, axis=tuple(range(len(grad.shape) - 1)),
                                             keepdims=True)
            centred.append(grad)
        return super().apply(centred, trainable_variables)


def _model():
    model = keras.Sequential([
        keras.Input((6, 6, 1)), keras.layers.Conv2D(3, 3, activation="relu"),
        keras.layers.Flatten(), keras.layers.Dense(4, activation="relu"),
        keras.layers.Dense(2, activation="softmax")])
    model.set_weights([np.round(np.cos(np.arange(w.size).reshape(w.shape) * 0.7) * 0.4, 4)
                       .astype("float32") for w in model.get_weights()])
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(8, 6, 6, 1)).astype("float32"), rng.integers(0, 2, 8)


@pytest.mark.parametrize("optimizer, losses, kernel", [
    (lambda: GCAdam(1e-2), [0.64759, 0.57148, 0.50025], [0.45716, 0.24712, 0.12359]),
    (lambda: GCSGD(0.1), [0.65774, 0.62745, 0.59275], [0.45297, 0.25871, 0.10627]),
])
def test_fit_goes_through_the_centring_override(optimizer, losses, kernel):
    # TF 2.21's losses over three epochs and first kernel entries afterwards
    x, y = _data()
    model = _model()
    opt = optimizer()
    model.compile(loss="sparse_categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0, shuffle=False)
    assert history.history["loss"] == pytest.approx(losses, abs=1e-5)
    assert model.get_weights()[0].ravel()[:3] == pytest.approx(kernel, abs=1e-5)
    assert int(opt.iterations) == 6


def test_custom_loop_return_values():
    # TF 2.21: apply_gradients returns the iterations variable, apply returns None; the
    # weights after two steps as below (convnp returned the count as an int from both)
    x, y = _data()
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    model, opt = _model(), GCAdam(1e-2)
    for _ in range(2):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)
        returned = opt.apply_gradients(zip(grads, model.trainable_weights))
    assert isinstance(returned, tf.Variable)
    assert int(returned) == 2
    assert float(loss) == pytest.approx(0.61422, abs=1e-5)
    assert model.get_weights()[0].ravel()[:3] == pytest.approx([0.42001, 0.28595, 0.08801],
                                                               abs=1e-5)
    model, opt = _model(), GCSGD(0.1)
    for _ in range(2):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        returned = opt.apply(grads, model.trainable_variables)
    assert returned is None
    assert int(opt.iterations) == 2
    assert float(loss) == pytest.approx(0.6399, abs=1e-4)
    assert model.get_weights()[0].ravel()[:3] == pytest.approx([0.41707, 0.28968, 0.08027],
                                                               abs=1e-5)


def test_optimizers_take_keras_3_automatic_names():
    # TF 2.21 (fresh session): sgd, sgd_1; rm_sprop; adam_w; the recipe's subclass gc_adam;
    # compile("adam") makes another Adam. convnp gave "SGD" always, rmsprop, adamw, and a
    # subclass its base's name
    keras.backend.clear_session()
    assert [keras.optimizers.SGD().name, keras.optimizers.SGD().name] == ["sgd", "sgd_1"]
    assert keras.optimizers.RMSprop().name == "rm_sprop"
    assert keras.optimizers.AdamW().name == "adam_w"
    assert GCAdam().name == "gc_adam"
    assert GCAdam().get_config()["name"] == "gc_adam_1"
    assert keras.optimizers.Adam(name="mine").name == "mine"
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    assert model.optimizer.name == "adam"
    assert model.optimizer.iterations.path == "adam/iteration"
    assert keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD()).name == \
        "loss_scale_optimizer"
