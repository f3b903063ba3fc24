"""Shared checks for layer tests: a generic `check_layer` (like Keras' run_layer_test) and
`check_gradients`, a float64 central-difference check of a layer's backward pass."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from convnp.layers import KerasTensor, deserialize, serialize
from tests.helpers import numerical_gradient, rel_error


def random_input(shape, rng: np.random.Generator, dtype="float32"):
    """Random array(s) of ``shape`` (a tuple, or a list of tuples for merge layers)."""
    if isinstance(shape, list):
        return [rng.standard_normal(s).astype(dtype) for s in shape]
    return rng.standard_normal(shape).astype(dtype)


def _symbolic(shape):
    if isinstance(shape, list):
        return [KerasTensor((None,) + tuple(s[1:])) for s in shape]
    return KerasTensor((None,) + tuple(shape[1:]))


def _shapes(value):
    return [v.shape for v in value] if isinstance(value, list) else value.shape


def check_layer(cls, init_kwargs: dict[str, Any], input_shape, expected_output_shape,
                n_trainable: int, n_non_trainable: int = 0, training: bool = True,
                seed: int = 0):
    """Build, run, serialize and symbolically call a layer; return the (first) layer.

    Checks: output shape and float32 dtype, weight counts, `backward` returns gradients of the
    input shapes without modifying the input or the upstream gradient, `get_config` is JSON-able
    and round-trips through `from_config` and `serialize`/`deserialize`, a rebuilt layer with
    the same weights gives the same output, and a call on `KerasTensor`s gives
    ``(None, *expected_output_shape[1:])``.
    """
    rng = np.random.default_rng(seed)
    layer = cls(**init_kwargs)
    x = random_input(input_shape, rng)
    x_before = [a.copy() for a in x] if isinstance(x, list) else x.copy()

    y = layer(x, training=training)
    assert y.shape == tuple(expected_output_shape)
    assert y.dtype == np.float32
    assert len(layer.trainable_weights) == n_trainable
    assert len(layer.non_trainable_weights) == n_non_trainable
    assert len(layer.weights) == n_trainable + n_non_trainable

    dy = rng.standard_normal(y.shape).astype("float32")
    dy_before = dy.copy()
    dx = layer.backward(dy)
    assert _shapes(dx) == _shapes(x)
    np.testing.assert_array_equal(dy, dy_before)
    if isinstance(x, list):
        for a, b in zip(x, x_before):
            np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_array_equal(x, x_before)
    for variable in layer.trainable_weights:
        assert variable.grad is not None and variable.grad.shape == variable.shape
        assert variable.grad.dtype == np.float32

    config = layer.get_config()
    json.dumps(config)  # must be writable to a model file
    clone = cls.from_config(config)
    assert clone.get_config() == config
    # Through JSON, as in a model file: tuples come back as lists.
    restored = deserialize(json.loads(json.dumps(serialize(layer))))
    assert type(restored) is cls
    assert json.dumps(restored.get_config()) == json.dumps(config)

    # Same weights, same output (inference mode: BatchNorm's moving stats were copied).
    clone(x, training=False)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x, training=False), layer(x, training=False),
                               rtol=1e-6, atol=1e-6)

    fresh = cls.from_config({**config, "name": config["name"] + "_symbolic"})
    out = fresh(_symbolic(input_shape))
    assert isinstance(out, KerasTensor)
    assert out.shape == (None,) + tuple(expected_output_shape[1:])
    assert out.layer is fresh
    assert fresh.compute_output_shape(
        [(None,) + tuple(s[1:]) for s in input_shape] if isinstance(input_shape, list)
        else (None,) + tuple(input_shape[1:])) == out.shape
    return layer


def check_gradients(layer, x, training: bool = True, tol: float = 1e-6, seed: int = 1,
                    before_forward=None) -> dict[str, float]:
    """Compare ``layer.backward`` with central differences, w.r.t. the input(s) and every
    trainable weight. ``layer`` must be float64. ``before_forward`` runs before each forward
    pass (e.g. to reseed dropout). Returns the relative errors by name."""
    rng = np.random.default_rng(seed)
    before = before_forward or (lambda: None)

    def forward():
        before()
        return layer(x, training=training)

    y = forward()
    assert y.dtype == np.float64
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy)
    analytic = {v.name: v.grad.copy() for v in layer.trainable_weights}

    errors = {}
    inputs = x if isinstance(x, list) else [x]
    dxs = dx if isinstance(x, list) else [dx]
    for i, (xi, dxi) in enumerate(zip(inputs, dxs)):
        errors[f"input{i}"] = rel_error(dxi, numerical_gradient(forward, xi, dy))
    for variable in layer.trainable_weights:
        numeric = numerical_gradient(forward, variable.value, dy)
        errors[variable.name] = rel_error(analytic[variable.name], numeric)
    bad = {name: err for name, err in errors.items() if not err < tol}
    assert not bad, f"gradient check failed for {layer.name}: {errors}"
    return errors


def check_case(cls, init_kwargs: dict[str, Any], input_shape, expected_output_shape,
               n_trainable: int, n_non_trainable: int = 0, random: bool = False,
               seed: int = 0) -> None:
    """`check_layer`, then `check_gradients` on a float64 twin. A ``random`` layer (dropout,
    noise) is checked at inference by `check_layer`, and its gradients in training with its
    own generator reseeded before every forward (the same draw each time)."""
    check_layer(cls, init_kwargs, input_shape, expected_output_shape, n_trainable,
                n_non_trainable, training=not random, seed=seed)
    layer = cls(dtype="float64", **init_kwargs)
    # not the seed check_gradients draws dy from: x == dy would hide some wrong gradients
    x = random_input(input_shape, np.random.default_rng(seed + 7), dtype="float64")
    if random:
        check_gradients(layer, x, before_forward=lambda: setattr(
            layer, "_generator", np.random.default_rng(3)))
    else:
        check_gradients(layer, x)


def check_file_round_trip(model, x, path):
    """Save ``model`` to the ``.convnp`` file ``path``, load it back, check the layer classes
    and the predictions on ``x`` are the same; return the loaded model."""
    from convnp.io import saving

    saving.save_model(model, path)
    loaded = saving.load_model(path)
    assert [type(layer).__name__ for layer in loaded.layers] == \
        [type(layer).__name__ for layer in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-7)
    return loaded


def check_keras_written_model(name: str, tmp_path):
    """Load the Keras-written ``tests/fixtures/<name>.keras``, check its predictions against
    ``<name>_expected.npz`` (``x``, ``pred``), then that both of convnp's formats give the
    file back: ``.keras`` again (same predictions and layer configs) and ``.convnp``.
    Returns the loaded model."""
    import convnp as tf
    from tests.helpers import FIXTURES, load_fixture

    expected = load_fixture(f"{name}_expected.npz")
    model = tf.keras.models.load_model(FIXTURES / f"{name}.keras")
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["pred"],
                               rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "again.keras")
    again = tf.keras.models.load_model(tmp_path / "again.keras")
    np.testing.assert_allclose(again.predict(expected["x"], verbose=0), expected["pred"],
                               rtol=1e-5, atol=1e-5)
    for a, b in zip(again.layers, model.layers):
        assert json.dumps(a.get_config()) == json.dumps(b.get_config())
    check_file_round_trip(model, expected["x"], tmp_path / "m.convnp")
    return model


def check_recorded_layer(z: dict, name: str, training: bool) -> None:
    """Rebuild the layer case ``name`` that a fixture script recorded with Keras
    (``make_conv_family.layer_case``: class, config, input, weights), call it, and compare
    the output, output shape, input gradient and every weight gradient of ``sum(y * r)``
    with Keras's."""
    from convnp import keras

    layer = getattr(keras.layers, str(z[f"{name}/class"]))(
        **json.loads(str(z[f"{name}/config"])))
    x = z[f"{name}/x"]
    layer(x)  # build
    layer.set_weights([z[f"{name}/w/{i}"] for i in range(len(layer.weights))])
    y = layer(x, training=training)
    np.testing.assert_allclose(y, z[f"{name}/y"], rtol=1e-5, atol=2e-5)
    assert layer.compute_output_shape((None, *x.shape[1:])) == (None, *y.shape[1:])
    dx = layer.backward(z[f"{name}/r"])
    np.testing.assert_allclose(dx, z[f"{name}/dx"], rtol=1e-4, atol=5e-5)
    assert len(layer.trainable_weights) == len([k for k in z if k.startswith(f"{name}/dw/")])
    for i, variable in enumerate(layer.trainable_weights):
        np.testing.assert_allclose(variable.grad, z[f"{name}/dw/{i}"], rtol=1e-4, atol=1e-4,
                                   err_msg=f"{name} {variable.name}")


def check_taped_outputs_and_gradients(name: str, fn, x, weights, expected) -> list:
    """``fn(x)`` (a layer call on a tensor; a list of outputs or one) against a Keras fixture:
    ``{name}/out/i`` the outputs (float32, rtol 1e-5), and, for the loss ``sum(out_i *
    {name}/r/i)``, ``{name}/grad/0`` its gradient w.r.t. ``x`` and ``{name}/grad/1..`` w.r.t.
    ``weights`` (rtol 1e-4). Returns the outputs."""
    import convnp as tf

    def count(prefix):
        return len([k for k in expected if k.startswith(prefix)])

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = fn(xt)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        total = sum(tf.reduce_sum(o * expected[f"{name}/r/{i}"]) for i, o in enumerate(outs))
    assert len(outs) == count(f"{name}/out/")
    for i, o in enumerate(outs):
        assert o.dtype == np.float32
        np.testing.assert_allclose(np.asarray(o), expected[f"{name}/out/{i}"], rtol=1e-5,
                                   atol=1e-6)
    grads = tape.gradient(total, [xt, *weights])
    assert len(grads) == count(f"{name}/grad/")
    for i, grad in enumerate(grads):
        np.testing.assert_allclose(np.asarray(grad), expected[f"{name}/grad/{i}"], rtol=1e-4,
                                   atol=1e-5)
    return outs
