"""`model(x)` with `training` left out on keras.io's resize-first convnets (FixRes, Learning
to Resize: Resizing or CenterCrop, then convolutions and BatchNormalization).

TF 2.21 (Keras 3) keeps one mode for a whole model call: a call whose own `training`
default is set (Resizing, CenterCrop and the augmentation layers: True; Dropout: False)
sets it, and a call whose default is None (BatchNormalization, a user's layer, a nested
model) takes it. So `model(x)` runs a BatchNormalization after a Resizing with batch
statistics and updates its moving ones; `predict` and `model(x, training=False)` do not.
The expected numbers are TF 2.21's for the same programs (run side by side).
"""

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers

X = (np.arange(2 * 4 * 4 * 2, dtype="float32").reshape(2, 4, 4, 2) % 7) / 7.0 + 1.0
# TF 2.21 after one call in training mode: momentum 0.99 from 5.0 towards the batch mean
MOVED = [4.9643, 4.9642]
KEPT = [5.0, 5.0]
INFERENCE_MEAN = -1.7888  # (x - 5) / 2 over X


def _run(build):
    """model(X) of Input -> build(...) with a BatchNormalization whose moving mean is 5 and
    moving variance 4; returns the output's mean and the moving mean after the call."""
    keras.backend.clear_session()
    inputs = keras.Input((4, 4, 2))
    norm = layers.BatchNormalization()
    model = keras.Model(inputs, build(inputs, norm))
    norm.set_weights([np.ones(2, "float32"), np.zeros(2, "float32"),
                      np.full(2, 5.0, "float32"), np.full(2, 4.0, "float32")])
    out = np.asarray(model(X))
    return float(out.mean()), np.asarray(norm.moving_mean).tolist(), model


class Doubling(layers.Layer):
    """A user's layer whose call takes training=None (as keras.io's StochasticDepth)."""

    def call(self, x, training=None):
        return x * (2.0 if training else 1.0)


class DoublingOffByDefault(layers.Layer):
    def call(self, x, training=False):
        return x * (2.0 if training else 1.0)


@pytest.mark.parametrize("build", [
    lambda x, norm: norm(layers.Resizing(4, 4)(x)),
    lambda x, norm: norm(layers.CenterCrop(2, 2)(x)),
    lambda x, norm: norm(layers.RandomFlip("horizontal", seed=3)(x)),
    lambda x, norm: norm(keras.Sequential([layers.Resizing(4, 4)])(x)),  # nested
    lambda x, norm: Doubling()(norm(layers.Resizing(4, 4)(x))),
], ids=["resizing", "center_crop", "random_flip", "nested_sequential", "then_user_layer"])
def test_batch_norm_after_a_resize_trains_in_a_direct_call(build):
    mean, moving, _ = _run(build)
    assert abs(mean) < 1e-5  # TF 2.21: batch statistics
    np.testing.assert_allclose(moving, MOVED, atol=5e-4)


@pytest.mark.parametrize("build", [
    lambda x, norm: norm(x),
    lambda x, norm: layers.Resizing(4, 4)(norm(x)),  # before the resize: nothing set yet
    lambda x, norm: norm(layers.Dropout(0.5)(layers.Resizing(4, 4)(x))),  # Dropout: False
    lambda x, norm: norm(DoublingOffByDefault()(layers.Resizing(4, 4)(x))),
    lambda x, norm: norm(layers.Rescaling(1.0)(x)),  # Rescaling's call takes no training
    lambda x, norm: norm(layers.Resizing(4, 4)(x), training=False),
], ids=["alone", "before_resizing", "after_dropout", "after_user_false", "rescaling",
        "fixed_false"])
def test_batch_norm_stays_in_inference_otherwise(build):
    mean, moving, _ = _run(build)
    assert mean == pytest.approx(INFERENCE_MEAN, abs=1e-4)  # TF 2.21
    assert moving == KEPT


def test_predict_and_training_false_never_train():
    _, _, model = _run(lambda x, norm: norm(layers.Resizing(4, 4)(x)))
    norm = model.layers[-1]
    norm.set_weights([np.ones(2, "float32"), np.zeros(2, "float32"),
                      np.full(2, 5.0, "float32"), np.full(2, 4.0, "float32")])
    assert float(np.asarray(model(X, training=False)).mean()) == pytest.approx(INFERENCE_MEAN,
                                                                             abs=1e-4)
    assert float(model.predict(X, verbose=0).mean()) == pytest.approx(INFERENCE_MEAN, abs=1e-4)
    assert np.asarray(norm.moving_mean).tolist() == KEPT


def test_a_users_layer_after_a_resize_gets_training():
    keras.backend.clear_session()
    inputs = keras.Input((4, 4, 2))
    model = keras.Model(inputs, Doubling()(layers.Resizing(4, 4)(inputs)))
    np.testing.assert_allclose(np.asarray(model(X)), 2.0 * X, rtol=1e-6)  # TF 2.21
    np.testing.assert_allclose(np.asarray(model(X, training=False)), X, rtol=1e-6)


def test_dropout_after_a_resize_still_passes_through():
    keras.backend.clear_session()
    inputs = keras.Input((4, 4, 2))
    model = keras.Model(inputs, layers.Dropout(0.5)(layers.Resizing(4, 4)(inputs)))
    np.testing.assert_allclose(np.asarray(model(X)), X, rtol=1e-6)  # TF 2.21: no dropout


def _norm_at_five():
    norm = layers.BatchNormalization()
    norm.build((None, 4, 4, 2))
    norm.set_weights([np.ones(2, "float32"), np.zeros(2, "float32"),
                      np.full(2, 5.0, "float32"), np.full(2, 4.0, "float32")])
    return norm


class Resized(keras.Model):
    """A subclassed model whose call runs its layers in the order ``order`` (r: Resizing,
    d: Dropout, b: BatchNormalization), as keras.io's subclassed resizers do."""

    def __init__(self, order, **kwargs):
        super().__init__(**kwargs)
        self.order = order
        self.resize = layers.Resizing(4, 4)
        self.drop = layers.Dropout(0.5)
        self.norm = _norm_at_five()

    def call(self, x):
        for step in self.order:
            x = {"r": self.resize, "d": self.drop, "b": self.norm}[step](x)
        return x


def test_subclassed_model_calls_share_the_context():
    keras.backend.clear_session()
    model = Resized("rb")
    first, second = np.asarray(model(X)), np.asarray(model(X))
    # TF 2.21: both calls train the BatchNormalization (moving mean moved twice)
    assert abs(float(first.mean())) < 1e-5 and abs(float(second.mean())) < 1e-5
    np.testing.assert_allclose(np.asarray(model.norm.moving_mean), [4.9289, 4.9287], atol=5e-4)
    before = np.asarray(model.norm.moving_mean).copy()
    model(X, training=False)
    np.testing.assert_array_equal(np.asarray(model.norm.moving_mean), before)


def test_subclassed_model_dropout_after_a_resize_drops():
    keras.backend.clear_session()
    model = Resized("rd")
    # TF 2.21: the Dropout called in the user's call takes the Resizing's mode
    assert any((np.asarray(model(X)) == 0).any() for _ in range(3))
    model = Resized("drb")  # Dropout first leaves inference: nothing trains
    out = np.asarray(model(X))
    assert float(out.mean()) == pytest.approx(INFERENCE_MEAN, abs=1e-3)
    assert np.asarray(model.norm.moving_mean).tolist() == KEPT


class ResizeBlock(layers.Layer):
    """A user's layer resizing then normalizing in its call (Learning to Resize's block)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.resize = layers.Resizing(4, 4)
        self.norm = _norm_at_five()

    def call(self, x):
        return self.norm(self.resize(x))


def test_layers_a_users_layer_runs_share_the_context():
    keras.backend.clear_session()
    inputs = keras.Input((4, 4, 2))
    block = ResizeBlock()
    model = keras.Model(inputs, block(inputs))
    block.norm.set_weights([np.ones(2, "float32"), np.zeros(2, "float32"),
                            np.full(2, 5.0, "float32"), np.full(2, 4.0, "float32")])
    assert abs(float(np.asarray(model(X)).mean())) < 1e-5  # TF 2.21: batch statistics
    np.testing.assert_allclose(np.asarray(block.norm.moving_mean), MOVED, atol=5e-4)


def test_layers_called_outside_a_model_keep_their_defaults():
    norm = _norm_at_five()
    out = np.asarray(norm(layers.Resizing(4, 4)(X)))
    assert float(out.mean()) == pytest.approx(INFERENCE_MEAN, abs=1e-4)  # TF 2.21
