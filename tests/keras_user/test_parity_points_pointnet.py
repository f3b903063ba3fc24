"""keras.io's PointNet T-net: a Dense whose ``activity_regularizer`` is the user's
``OrthogonalRegularizer(keras.regularizers.Regularizer)``. TF 2.21 keeps that regularizer
through a ``.keras`` file (the Dense entry carries it, by the user's class name with no Keras
module) and the loaded model adds the same penalty to ``model.losses``. Expected values and
entries are what TF 2.21 gave for the same programs."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers


class OrthogonalRegularizer(keras.regularizers.Regularizer):
    def __init__(self, num_features, l2reg=0.001):
        self.num_features = num_features
        self.l2reg = l2reg
        self.eye = tf.eye(num_features)

    def __call__(self, x):
        x = tf.reshape(x, (-1, self.num_features, self.num_features))
        xxt = tf.tensordot(x, x, axes=(2, 2))
        xxt = tf.reshape(xxt, (-1, self.num_features, self.num_features))
        return tf.reduce_sum(self.l2reg * tf.square(xxt - self.eye))

    def get_config(self):
        return {"num_features": self.num_features, "l2reg": self.l2reg}


_X = (np.arange(24, dtype="float32").reshape(2, 4, 3) % 5 - 2) / 4


def _tnet(k=3):
    keras.backend.clear_session()
    inputs = keras.Input((4, k))
    x = layers.Conv1D(4, 1, activation="relu", kernel_initializer="ones")(inputs)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(k * k, kernel_initializer=keras.initializers.Constant(0.05),
                     bias_initializer=keras.initializers.Constant(np.eye(k).flatten()),
                     activity_regularizer=OrthogonalRegularizer(k))(x)
    transform = layers.Reshape((k, k))(x)
    outputs = layers.Dot(axes=(2, 1))([inputs, transform])
    return keras.Model(inputs, outputs)


def _dense_entries(path):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return [entry for entry in config["config"]["layers"] if entry["class_name"] == "Dense"]


def test_user_activity_regularizer_is_written_as_keras_writes_it(tmp_path):
    model = _tnet()
    model.save(tmp_path / "tnet.keras")
    (entry,) = _dense_entries(tmp_path / "tnet.keras")
    # TF 2.21's entry: the user's class by name and module (None for __main__'s), never
    # keras.regularizers (Keras would load its own OrthogonalRegularizer)
    assert entry["config"]["activity_regularizer"] == {
        "module": __name__, "class_name": "OrthogonalRegularizer",
        "config": {"num_features": 3, "l2reg": 0.001},
        "registered_name": "OrthogonalRegularizer"}


def test_dense_without_activity_regularizer_still_leaves_the_key_out(tmp_path):
    # TF 2.21's Dense config has no activity_regularizer key when there is none
    keras.backend.clear_session()
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(2)(inputs))
    model.save(tmp_path / "plain.keras")
    (entry,) = _dense_entries(tmp_path / "plain.keras")
    assert "activity_regularizer" not in entry["config"]


def test_loaded_tnet_keeps_its_penalty(tmp_path):
    model = _tnet()
    model(_X)
    # TF 2.21 gave this penalty for these weights and inputs
    np.testing.assert_allclose([float(v) for v in model.losses], [0.009105], rtol=1e-3)
    model.save(tmp_path / "tnet.keras")
    loaded = keras.models.load_model(
        tmp_path / "tnet.keras", custom_objects={"OrthogonalRegularizer": OrthogonalRegularizer})
    dense = next(layer for layer in loaded.layers if isinstance(layer, layers.Dense))
    assert type(dense.activity_regularizer) is OrthogonalRegularizer
    assert dense.activity_regularizer.get_config() == {"num_features": 3, "l2reg": 0.001}
    np.testing.assert_allclose(loaded(_X), model(_X), atol=1e-6)
    np.testing.assert_allclose([float(v) for v in loaded.losses], [0.009105], rtol=1e-3)


def test_user_kernel_regularizer_and_constraint_are_written_by_class(tmp_path):
    class Small(keras.constraints.Constraint):
        def __call__(self, w):
            return tf.clip_by_value(w, -1.0, 1.0)

        def get_config(self):
            return {}

    keras.backend.clear_session()
    inputs = keras.Input((3,))
    outputs = layers.Dense(2, kernel_regularizer=OrthogonalRegularizer(1),
                           kernel_constraint=Small())(inputs)
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "dense.keras")
    (entry,) = _dense_entries(tmp_path / "dense.keras")
    # TF 2.21 writes both by the user's class name and module
    assert entry["config"]["kernel_regularizer"]["module"] == __name__
    assert entry["config"]["kernel_regularizer"]["registered_name"] == "OrthogonalRegularizer"
    assert entry["config"]["kernel_constraint"]["module"] == __name__
    assert entry["config"]["kernel_constraint"]["class_name"] == "Small"


def test_a_users_regularizer_loads_by_its_registered_name_and_unknown_is_typeerror(
        tmp_path, clean_registry):
    @keras.utils.register_keras_serializable(package="pkg")
    class Cubic(keras.regularizers.Regularizer):
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, x):
            return self.rate * tf.reduce_sum(tf.abs(x) ** 3)

        def get_config(self):
            return {"rate": self.rate}

    keras.backend.clear_session()
    inputs = keras.Input((3,))
    outputs = layers.Dense(2, kernel_regularizer=Cubic(0.5),
                           bias_regularizer=OrthogonalRegularizer(1))(inputs)
    keras.Model(inputs, outputs).save(tmp_path / "m.keras")
    (entry,) = _dense_entries(tmp_path / "m.keras")
    # TF 2.21 writes the package-qualified name as the registered name
    assert entry["config"]["kernel_regularizer"]["class_name"] == "Cubic"
    assert entry["config"]["kernel_regularizer"]["registered_name"] == "pkg>Cubic"
    # TF 2.21 raises TypeError for a user's class it cannot find
    with pytest.raises(TypeError, match="OrthogonalRegularizer"):
        keras.models.load_model(tmp_path / "m.keras")
    loaded = keras.models.load_model(
        tmp_path / "m.keras", custom_objects={"OrthogonalRegularizer": OrthogonalRegularizer})
    assert type(loaded.layers[1].kernel_regularizer) is Cubic
    assert loaded.layers[1].kernel_regularizer.rate == 0.5
    assert type(loaded.layers[1].bias_regularizer) is OrthogonalRegularizer


def test_tnet_bias_initializer_of_the_wrong_size_is_invalid_argument():
    # keras.io's T-net bias: Constant(np.eye(k).flatten()) for k * k units; a Dense of
    # another size is TF 2.21's InvalidArgumentError (convnp's is a ValueError too)
    bias = keras.initializers.Constant(np.eye(3).flatten())
    np.testing.assert_array_equal(bias(shape=(9,)), np.eye(3).flatten())
    dense = layers.Dense(5, bias_initializer=bias)
    with pytest.raises(tf.errors.InvalidArgumentError):
        dense.build((None, 4))
    with pytest.raises(ValueError):
        bias(shape=(5,))


def test_a_regularizer_whose_config_its_class_does_not_take_is_a_typeerror(tmp_path):
    # keras.io's segmentation T-net regularizer writes "l2reg_strength" where its __init__
    # takes l2reg: TF 2.21 saves the model and raises TypeError loading it back
    class Renamed(OrthogonalRegularizer):
        def get_config(self):
            return {"num_features": self.num_features, "l2reg_strength": self.l2reg}

    keras.backend.clear_session()
    inputs = keras.Input((4,))
    outputs = layers.Dense(9, activity_regularizer=Renamed(3))(inputs)
    keras.Model(inputs, outputs).save(tmp_path / "seg.keras")
    with pytest.raises(TypeError, match="l2reg_strength") as caught:
        keras.models.load_model(tmp_path / "seg.keras", custom_objects={"Renamed": Renamed})
    assert isinstance(caught.value, ValueError)  # convnp's type before, kept


def test_legacy_h5_tnet_needs_its_regularizer_class_typeerror(tmp_path):
    # Keras 2 programs save PointNet as .h5: TF 2.21 loads the T-net's regularizer by name,
    # and raises TypeError without it
    model = _tnet()
    model.save(tmp_path / "tnet.h5")
    with pytest.raises(TypeError, match="OrthogonalRegularizer") as caught:
        keras.models.load_model(tmp_path / "tnet.h5")
    assert isinstance(caught.value, ValueError)  # convnp's type before, kept
    loaded = keras.models.load_model(
        tmp_path / "tnet.h5", custom_objects={"OrthogonalRegularizer": OrthogonalRegularizer})
    loaded(_X)
    np.testing.assert_allclose([float(v) for v in loaded.losses], [0.009105], rtol=1e-3)


def test_model_from_config_finds_the_tnet_regularizer_in_custom_objects():
    # TF 2.21 rebuilds the T-net from get_config() with the class in custom_objects
    model = _tnet()
    rebuilt = keras.Model.from_config(
        model.get_config(), custom_objects={"OrthogonalRegularizer": OrthogonalRegularizer})
    dense = next(layer for layer in rebuilt.layers if isinstance(layer, layers.Dense))
    assert type(dense.activity_regularizer) is OrthogonalRegularizer
    rebuilt.set_weights(model.get_weights())
    rebuilt(_X)
    np.testing.assert_allclose([float(v) for v in rebuilt.losses], [0.009105], rtol=1e-3)


def _two_dense():
    keras.backend.clear_session()
    inputs = keras.Input((4,))
    hidden = layers.Dense(3, activity_regularizer=keras.regularizers.l2(0.1))(inputs)
    model = keras.Model(inputs, layers.Dense(2)(hidden))
    model.set_weights([np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3),
                       np.zeros(3, "float32"),
                       np.linspace(0, 1, 6, dtype="float32").reshape(3, 2),
                       np.zeros(2, "float32")])
    return model


@pytest.mark.parametrize(("kind", "kernel", "bias"), [
    # TF 2.21's gradients of the first Dense (first three entries) for each loss
    ("out", [-0.1714, -0.8571, -1.5429], [0.4, 2.0, 3.6]),
    ("both", [-0.2857, -0.9239, -1.5622], [0.5558, 2.1558, 3.7558]),
    ("reg", [-0.1143, -0.0668, -0.0193], [0.1558, 0.1558, 0.1558]),
    ("scaled", [-0.5143, -1.0575, -1.6007], [0.8675, 2.4675, 4.0675]),
])
def test_activity_penalty_gradient_follows_what_the_tape_differentiates(kind, kernel, bias):
    # a custom loop (or train_step) with the T-net's activity penalty: TF 2.21 differentiates
    # model.losses only when the loss holds them, and by the weight they are given
    model = _two_dense()
    x = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    with tf.GradientTape() as tape:
        y = model(x, training=True)
        if kind == "out":
            loss = tf.reduce_sum(y)
        elif kind == "both":
            loss = tf.reduce_sum(y) + tf.add_n(model.losses)
        elif kind == "reg":
            loss = tf.add_n(model.losses)
        else:
            loss = tf.reduce_sum(y) + 3.0 * model.losses[0]
    grads = tape.gradient(loss, model.trainable_variables)
    np.testing.assert_allclose(np.reshape(grads[0], -1)[:3], kernel, atol=1e-4)
    np.testing.assert_allclose(np.reshape(grads[1], -1)[:3], bias, atol=1e-4)
    np.testing.assert_allclose([float(v) for v in model.losses], [0.2167], atol=1e-4)


def test_fit_still_trains_on_the_activity_penalty():
    model = _two_dense()
    x = np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)
    model.compile("sgd", "mse")
    history = model.fit(x, x[:, :2], epochs=2, verbose=0, shuffle=False)
    np.testing.assert_allclose(history.history["loss"], [2.39777, 2.13508], atol=1e-4)  # TF's
