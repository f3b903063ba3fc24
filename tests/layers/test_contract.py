"""The layer contract: what the model's graph reads from every call is declared on
`LayerContract` (inherited by `Layer` and `Model`), with a default, and read directly."""

import ast
import pathlib

import numpy as np
import pytest

import convnp as tf
from convnp.layers.base import Layer, LayerContract
from convnp.models.model import Model

SRC = pathlib.Path(tf.__file__).parent
FLAGS = {
    "_cache": None,
    "needs_input_gradient": True,
    "fuses_activation": False,
    "commutes_with_max_pooling": False,
    "activity_regularizer": None,
    "_fixed_training": None,
    "_graph": None,
    "_autodiff": False,
}


def test_every_flag_has_its_default_on_the_contract():
    for name, default in FLAGS.items():
        assert name in vars(LayerContract), name
        assert vars(LayerContract)[name] is default, name
    assert issubclass(Layer, LayerContract) and issubclass(Model, LayerContract)


def test_plain_layer_gets_the_defaults_without_setting_them():
    class Plain(Layer):
        def call(self, inputs, training=False):
            self._cache = inputs.shape
            return inputs

        def backward(self, dy):
            self.take_cache()
            return dy

    layer = Plain()
    for name, default in FLAGS.items():
        assert getattr(layer, name) is default, name
    assert "_cache" not in vars(layer) and "needs_input_gradient" not in vars(layer)
    layer.call(np.ones((2, 3)))
    layer.backward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="forward call first"):
        layer.backward(np.ones((2, 3)))  # one backward per forward


def test_opt_in_flags_of_builtin_layers():
    layers = tf.keras.layers
    for cls in (layers.Dense, layers.Conv2D, layers.Activation, layers.Conv1D,
                layers.Conv2DTranspose, layers.Conv1DTranspose, layers.Conv3D,
                layers.Conv3DTranspose):
        assert cls.fuses_activation is True, cls
    for cls in (layers.Flatten, layers.BatchNormalization, layers.MaxPooling2D,
                layers.MaxPooling3D):
        assert cls.fuses_activation is False, cls
    assert layers.ReLU().commutes_with_max_pooling is True
    assert layers.ReLU(max_value=6.0).commutes_with_max_pooling is False  # only the plain one
    assert layers.ReLU(negative_slope=0.1).commutes_with_max_pooling is False
    assert layers.Dense(2).commutes_with_max_pooling is False


def test_call_state_round_trip_for_a_layer_and_a_nested_model():
    dense = tf.keras.layers.Dense(2)
    dense(np.ones((1, 3), dtype="float32"))
    dense._cache = "state"
    state = dense.capture_call_state()
    dense.clear_call_state()
    assert dense._cache is None
    dense.restore_call_state(state)
    assert dense._cache == "state"

    inputs = tf.keras.Input(shape=(3,))
    inner = tf.keras.Model(inputs, tf.keras.layers.Dense(2)(inputs))
    inner.call(np.ones((4, 3), dtype="float32"), training=True)
    saved = inner.capture_call_state()
    assert isinstance(saved, list) and saved[-1] is not None
    inner.clear_call_state()
    assert inner.layers[-1]._cache is None
    inner.restore_call_state(saved)
    assert inner.layers[-1]._cache is not None


def _probes(tree: ast.AST):
    """(line, attribute) of each getattr/hasattr call on a name the contract declares."""
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr") and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant) and node.args[1].value in FLAGS):
            found.append((node.lineno, node.args[1].value))
    return found


def test_no_probe_stands_in_for_the_contract_in_models_and_layers():
    probes = {}
    for folder in ("models", "layers"):
        for path in sorted((SRC / folder).rglob("*.py")):
            hits = _probes(ast.parse(path.read_text(), filename=str(path)))
            if hits:
                probes[str(path.relative_to(SRC))] = hits
    assert probes == {}


def test_the_probe_finder_finds_a_probe():
    tree = ast.parse("x = getattr(layer, 'needs_input_gradient', True)\n"
                     "y = hasattr(layer, '_graph')\nz = getattr(layer, 'name', None)\n")
    assert _probes(tree) == [(1, "needs_input_gradient"), (2, "_graph")]


def test_fixed_rank_layers_build_by_checking_the_rank():
    import numpy as np

    from convnp.layers.fixed_rank import FixedRankLayer

    class Halve(FixedRankLayer):
        input_rank = 3
        input_layout = "(batch, steps, channels)"

        def compute_output_shape(self, input_shape):
            self.check_rank(input_shape)
            return tuple(input_shape)

        def call(self, inputs, training=False):
            return np.asarray(inputs) / 2

    layer = Halve()
    assert layer(np.ones((2, 5, 3), dtype="float32")).shape == (2, 5, 3)
    with pytest.raises(ValueError, match=r"Halve expects input of rank 3 \(batch, steps"):
        Halve()(np.ones((2, 5), dtype="float32"))
    with pytest.raises(ValueError, match="rank"):
        layer(np.ones((2, 5, 3, 1), dtype="float32"))
    with pytest.raises(TypeError, match="single input"):
        Halve().compute_output_shape([(None, 5, 3), (None, 5, 3)])
