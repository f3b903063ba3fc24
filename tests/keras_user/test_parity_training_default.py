"""A user's layer called on its own, with no training argument and no caller's mode: as in
Keras 3 (TF 2.21), its call gets its own default and the layers it runs take theirs, so the
TensorFlow segmentation tutorial's ``Augment`` layer (RandomFlip inside a user's layer,
mapped over a dataset) augments."""

import numpy as np

import convnp as tf

keras = tf.keras


class _Augment(keras.layers.Layer):
    def __init__(self, seed=42):
        super().__init__()
        self.augment_inputs = keras.layers.RandomFlip(mode="horizontal", seed=seed)
        self.augment_labels = keras.layers.RandomFlip(mode="horizontal", seed=seed)

    def call(self, inputs, labels):
        return self.augment_inputs(inputs), self.augment_labels(labels)


def test_random_layers_inside_a_users_layer_augment_when_it_is_called_on_its_own():
    x = np.arange(2 * 2 * 3 * 1, dtype="float32").reshape(2, 2, 3, 1)
    augment = _Augment()
    flips = [not np.array_equal(np.asarray(augment(x, x)[0]), x) for _ in range(20)]
    assert any(flips)  # TF 2.21: flipped in some of 20 calls; convnp never did before
    ds = tf.data.Dataset.from_tensor_slices((x, x)).batch(2).map(_Augment())
    images, masks = next(iter(ds))
    assert images.shape == (2, 2, 3, 1)
    np.testing.assert_array_equal(np.asarray(images), np.asarray(masks))  # same seed


seen: list = []


class _DefaultTrue(keras.layers.Layer):
    def call(self, x, training=True):
        seen.append(("true_default", training))
        return x


class _DefaultNone(keras.layers.Layer):
    def call(self, x, training=None):
        seen.append(("none_default", training))
        return x


class _Outer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.first, self.second = _DefaultTrue(), _DefaultNone()

    def call(self, x):
        return self.second(self.first(x))


def test_a_users_call_gets_its_own_default_when_no_mode_is_given():
    x = np.ones((2, 3), "float32")
    seen.clear()
    _DefaultTrue()(x)
    _DefaultNone()(x)
    _DefaultTrue()(x, training=False)
    _DefaultNone()(x, training=True)
    _Outer()(x, training=False)
    # TF 2.21's values for these calls (its first call of a layer also traces it once)
    assert seen == [("true_default", True), ("none_default", None),
                    ("true_default", False), ("none_default", True),
                    ("true_default", False), ("none_default", False)]
    seen.clear()
    _Outer()(x)
    assert seen[0] == ("true_default", True)
