"""Blocks that take a sublayer (or an initializer, an activation) as a constructor argument
write it with ``keras.saving.serialize_keras_object`` in ``get_config`` and read it back
with ``deserialize_keras_object`` in ``from_config``. Each expected value below is what
TF 2.21 (Keras 3.15) gave for the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
L = keras.layers
S = keras.saving


def test_entries_name_the_keras_module():
    # TF 2.21: {"module", "class_name", "config", "registered_name"}
    entry = S.serialize_keras_object(L.Dense(3))
    assert (entry["module"], entry["class_name"], entry["registered_name"]) == (
        "keras.layers", "Dense", None)
    assert entry["config"]["units"] == 3
    assert S.serialize_keras_object(keras.regularizers.L2(0.3)) == {
        "module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.3},
        "registered_name": None}
    heads = {
        "seq": (keras.Sequential([L.Dense(2)]), ("keras", "Sequential", None)),
        "adam": (keras.optimizers.Adam(), ("keras.optimizers", "Adam", None)),
        "mse": (keras.losses.MeanSquaredError(), ("keras.losses", "MeanSquaredError", None)),
        "auc": (keras.metrics.AUC(), ("keras.metrics", "AUC", None)),
        "tn": (keras.initializers.TruncatedNormal(), ("keras.initializers", "TruncatedNormal",
                                                      None)),
        "nonneg": (keras.constraints.NonNeg(), ("keras.constraints", "NonNeg", None)),
        "cos": (keras.optimizers.schedules.CosineDecay(0.1, 10),
                ("keras.optimizers.schedules", "CosineDecay", None)),
    }
    for name, (obj, head) in heads.items():
        entry = S.serialize_keras_object(obj)
        assert (entry["module"], entry["class_name"], entry["registered_name"]) == head, name
    inp = keras.Input((3,))
    entry = S.serialize_keras_object(keras.Model(inp, L.Dense(2)(inp)))
    assert (entry["module"], entry["class_name"], entry["registered_name"]) == (
        "keras.src.models.functional", "Functional", "Functional")


def test_functions_are_keras_function_entries():
    # TF 2.21: a function is {"module": "builtins", "class_name": "function", "config": name}
    for fn, name in [(keras.activations.gelu, "gelu"), (keras.activations.relu, "relu")]:
        entry = S.serialize_keras_object(fn)
        assert entry == {"module": "builtins", "class_name": "function", "config": name,
                         "registered_name": "function"}
        assert S.deserialize_keras_object(entry) is keras.activations.get(name)


@pytest.mark.parametrize("make, check", [
    (lambda: L.Dense(3, activation="gelu"), lambda o: o.units == 3),
    (lambda: L.LayerNormalization(epsilon=1e-6), lambda o: o.epsilon == 1e-6),
    (lambda: keras.Sequential([L.Dense(2)]), lambda o: type(o).__name__ == "Sequential"),
    (lambda: keras.initializers.TruncatedNormal(stddev=0.02),
     lambda o: o.get_config()["stddev"] == 0.02),
    (lambda: keras.optimizers.Adam(1e-3), lambda o: type(o).__name__ == "Adam"),
    (lambda: keras.losses.MeanSquaredError(), lambda o: type(o).__name__ == "MeanSquaredError"),
    (lambda: keras.metrics.AUC(), lambda o: type(o).__name__ == "AUC"),
])
def test_round_trip_of_builtin_objects(make, check):
    # TF 2.21: deserialize_keras_object(serialize_keras_object(obj)) is a new equal object
    # (convnp refused every built-in class: "unknown class")
    assert check(S.deserialize_keras_object(S.serialize_keras_object(make())))


def test_names_and_unknown_classes():
    # TF 2.21: a name found nowhere comes back as it is; an entry without a module whose
    # class is not registered is a TypeError
    assert S.deserialize_keras_object("relu") == "relu"
    with pytest.raises(TypeError):
        S.deserialize_keras_object({"class_name": "Dense", "config": {"units": 2}})


class Residual(L.Layer):
    """``x + inner(x)`` around any layer given to it."""

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def build(self, input_shape):
        if not self.inner.built:
            self.inner.build(input_shape)

    def call(self, x):
        return x + self.inner(x)

    def get_config(self):
        return {**super().get_config(), "inner": S.serialize_keras_object(self.inner)}

    @classmethod
    def from_config(cls, config):
        config["inner"] = S.deserialize_keras_object(config["inner"])
        return cls(**config)


def test_block_holding_a_sublayer_saves_and_clones(tmp_path, clean_registry):
    # TF 2.21: a registered block around a Sequential and a Dense saves, loads without
    # custom_objects, clones and rebuilds from its config (convnp: "unknown class")
    S.register_keras_serializable(package="blocks")(Residual)
    inp = keras.Input((5, 4))
    x = Residual(keras.Sequential([L.Dense(4, activation="relu"), L.Dense(4)]))(inp)
    model = keras.Model(inp, Residual(L.Dense(4))(x))
    assert model.count_params() == 2 * (4 * 4 + 4) + (4 * 4 + 4)
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    y = np.asarray(model(x))
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(keras.models.load_model(tmp_path / "m.keras")(x)),
                               y, atol=1e-6)
    again = keras.Model.from_config(model.get_config())
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(again(x)), y, atol=1e-6)
    assert keras.models.clone_model(model).count_params() == model.count_params()


def test_registered_name_tells_same_named_classes_apart(clean_registry):
    # TF 2.21: a model's config gives each layer's registered_name ("pkgb>ScaleBy"), and
    # from_config builds that class even when another package registers a ScaleBy too
    # (convnp wrote no registered_name and took whichever ScaleBy it found first)
    def make(factor):
        class ScaleBy(L.Layer):
            def call(self, x):
                return x * factor

        return ScaleBy

    first = S.register_keras_serializable(package="pkga")(make(2.0))
    second = S.register_keras_serializable(package="pkgb")(make(3.0))
    inp = keras.Input((2,))
    model = keras.Model(inp, second()(first()(inp)))
    names = [entry.get("registered_name") for entry in model.get_config()["layers"]]
    assert names[1:] == ["pkga>ScaleBy", "pkgb>ScaleBy"]
    again = keras.Model.from_config(model.get_config())
    np.testing.assert_allclose(np.asarray(again(np.ones((1, 2), "float32"))), [[6.0, 6.0]])
    seq = keras.Sequential([keras.Input((2,)), second(), first()])
    again = keras.Sequential.from_config(seq.get_config())
    assert [type(layer) for layer in again.layers] == [second, first]


def test_keras_layers_serialize_takes_models():
    # TF 2.21: keras.layers.serialize/deserialize take a Sequential (convnp: TypeError),
    # and a plain {"class_name", "config"} layer dict still reads back
    seq = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    entry = keras.layers.serialize(seq)
    assert (entry["module"], entry["class_name"]) == ("keras", "Sequential")
    assert type(keras.layers.deserialize(entry)).__name__ == "Sequential"
    dense = keras.layers.deserialize({"class_name": "Dense", "config": {"units": 2}})
    assert dense.units == 2
