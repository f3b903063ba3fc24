"""`keras.models.clone_model` as Keras 3.15 (expected values from TensorFlow 2.21's Keras)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers


def _dropout_rate_to(rate):
    def clone_function(layer):
        config = layer.get_config()
        if isinstance(layer, layers.Dropout):
            config["rate"] = rate
        return type(layer).from_config(config)
    return clone_function


def _functional_with_shared_layer():
    keras.backend.clear_session()
    inp = keras.Input((3,), name="i")
    shared = layers.Dense(3, name="shared")
    y = layers.Dropout(0.2, name="drop")(shared(shared(inp)))
    return keras.Model(inp, layers.Dense(1, name="o")(y), name="f")


def test_functional_clone_function_changes_dropout_and_keeps_sharing():
    model = _functional_with_shared_layer()
    model.compile("adam", "mse")
    clone = keras.models.clone_model(model, clone_function=_dropout_rate_to(0.7))
    # Keras 3.15: Functional ['i', 'shared', 'drop', 'o'], rates [0.7], compiled with a new
    # Adam, 4 weights (the shared Dense counted once), name 'f'
    assert type(clone).__name__ == "Functional" and clone.name == "f"
    assert [layer.name for layer in clone.layers] == ["i", "shared", "drop", "o"]
    assert [layer.rate for layer in clone.layers if isinstance(layer, layers.Dropout)] == [0.7]
    assert model.get_layer("drop").rate == 0.2
    assert len(clone.weights) == 4
    assert clone._compiled and clone.optimizer is not model.optimizer
    assert type(clone.optimizer).__name__ == "Adam"
    # new layers, fresh weights: the shared kernel is not the original's
    assert clone.get_layer("shared") is not model.get_layer("shared")
    assert not np.allclose(clone.get_layer("shared").kernel.numpy(),
                           model.get_layer("shared").kernel.numpy())
    # the one Dense is called twice in the clone too
    assert sum(node.layer is clone.get_layer("shared") for node in clone._graph.nodes) == 2
    clone.set_weights(model.get_weights())  # copied weights give the same predictions
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_default_clone_has_fresh_weights_and_same_outputs_once_copied():
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, name="a"),
                              layers.Dropout(0.3, name="dr"), layers.Dense(2, name="b")],
                             name="seq")
    clone = keras.models.clone_model(model)
    assert type(clone).__name__ == "Sequential" and clone.name == "seq"
    assert [layer.name for layer in clone.layers] == ["a", "dr", "b"]
    assert all(c is not o for c, o in zip(clone.layers, model.layers))
    assert not np.allclose(clone.get_layer("a").kernel.numpy(),
                           model.get_layer("a").kernel.numpy())
    assert not clone._compiled  # the original was not compiled
    changed = keras.models.clone_model(model, clone_function=_dropout_rate_to(0.9))
    assert changed.get_layer("dr").rate == 0.9 and model.get_layer("dr").rate == 0.3


def test_sequential_on_given_input_tensors():
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="a")], name="seq")
    new_in = keras.Input((3,), name="new_in")
    clone = keras.models.clone_model(model, input_tensors=new_in)
    # Keras 3.15: layers ['a'], inputs [new_in]
    assert [layer.name for layer in clone.layers] == ["a"]
    assert clone.inputs[0] is new_in
    with pytest.raises(ValueError, match="one input tensor"):
        keras.models.clone_model(model, input_tensors=[new_in, keras.Input((3,))])
    with pytest.raises(ValueError, match="call_function"):
        keras.models.clone_model(model, call_function=lambda layer, *a, **k: layer(*a, **k))


def test_functional_input_tensors_replace_the_inputs():
    model = _functional_with_shared_layer()
    z = keras.Input((3,), name="z")
    clone = keras.models.clone_model(model, input_tensors=z)
    assert [layer.name for layer in clone.layers] == ["z", "shared", "drop", "o"]  # Keras
    assert clone.input is z
    # Keras: "`input_tensors` must have the same structure as model.input"
    with pytest.raises(ValueError, match="structure"):
        keras.models.clone_model(model, input_tensors=[z])
    with pytest.raises(ValueError, match="KerasTensors"):
        keras.models.clone_model(model, input_tensors=np.ones((1, 3)))
    with pytest.raises(ValueError, match="unexpected"):
        keras.models.clone_model(model, foo=1)
    with pytest.raises(TypeError, match="callable"):
        keras.models.clone_model(model, clone_function=3)


def test_two_inputs_by_list_and_by_dict():
    keras.backend.clear_session()
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    model = keras.Model([a, b], layers.Add(name="add")([layers.Dense(3, name="da")(a), b]))
    p, q = keras.Input((3,), name="p"), keras.Input((3,), name="q")
    clone = keras.models.clone_model(model, input_tensors=[p, q])
    assert clone.inputs[0] is p and clone.inputs[1] is q
    keyed = keras.Model({"x": a, "y": b}, model.output)
    clone = keras.models.clone_model(keyed, input_tensors={"x": p, "y": q})
    x = {"x": np.ones((2, 3), np.float32), "y": np.zeros((2, 3), np.float32)}
    assert clone.predict(x, verbose=0).shape == (2, 3)
    with pytest.raises(ValueError, match="keys"):
        keras.models.clone_model(keyed, input_tensors=[p, q])


def test_call_function_adds_layers_and_identity_clone_reuses_them():
    model = _functional_with_shared_layer()

    def call_function(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        if layer.name == "o":
            out = layers.Activation("sigmoid", name="sig")(out)
        return out

    clone = keras.models.clone_model(model, clone_function=lambda layer: layer,
                                     call_function=call_function)
    # Keras 3.15: ['i', 'shared', 'drop', 'o', 'sig'], the same 'o' layer object
    assert [layer.name for layer in clone.layers] == ["i", "shared", "drop", "o", "sig"]
    assert clone.get_layer("o") is model.get_layer("o")
    out = clone.predict(np.ones((2, 3), np.float32), verbose=0)
    assert np.all((out > 0) & (out < 1))


def test_recursive_reaches_the_layers_of_nested_models():
    keras.backend.clear_session()
    inner = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="a"),
                              layers.Dropout(0.3, name="dr")], name="inner")
    x = keras.Input((3,))
    outer = keras.Model(x, inner(x))
    # Keras 3.15: recursive -> 0.7 inside a new Sequential; not recursive -> 0.3
    deep = keras.models.clone_model(outer, clone_function=_dropout_rate_to(0.7),
                                    recursive=True)
    assert type(deep.layers[1]).__name__ == "Sequential"
    assert deep.layers[1].layers[1].rate == 0.7 and deep.layers[1] is not inner
    shallow = keras.models.clone_model(outer, clone_function=_dropout_rate_to(0.7))
    assert shallow.layers[1].layers[1].rate == 0.3 and shallow.layers[1] is not inner


def test_subclassed_models_clone_from_their_config_only():
    class Sub(keras.Model):
        def __init__(self, units=2, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.d = layers.Dense(units)

        def call(self, x):
            return self.d(x)

    class WithConfig(Sub):
        def get_config(self):
            return {"units": self.units}

    model = WithConfig(units=4)
    model(np.ones((1, 3), np.float32))
    clone = keras.models.clone_model(model)  # Keras 3.15: WithConfig, units 4
    assert type(clone) is WithConfig and clone.units == 4 and clone is not model
    # Keras: "Arguments `clone_function` and `input_tensors` are only supported for
    # Sequential models or Functional models"
    with pytest.raises(ValueError, match="subclassed"):
        keras.models.clone_model(model, clone_function=lambda layer: layer)
    with pytest.raises(ValueError, match="subclassed"):
        keras.models.clone_model(model, input_tensors=keras.Input((3,)))
    # without get_config of its own, the config is Keras's base one with the constructor's
    # arguments (TF 2.21 clones it too, built, with fresh weights)
    plain = Sub()
    plain(np.ones((1, 3), np.float32))
    twin = keras.models.clone_model(plain)
    assert type(twin) is Sub and twin.units == 2 and twin.built and len(twin.weights) == 2
    with pytest.raises(TypeError, match="Model"):
        keras.models.clone_model(layers.Dense(2))
