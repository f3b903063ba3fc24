"""Users' layers whose ``call`` takes more than one tensor or an option (``call(self, query,
value)``, ``call(self, x, factor=2.0)``), called on arrays and tensors, alone, under a tape,
inside a subclassed model trained by fit and in functional models (saved in every format, and
read from a Keras-written file); and tf.Variables given as inputs, which a caller's tape must
follow through users' layers and subclassed models."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from tests.helpers import numerical_gradient, rel_error


class Gate(keras.layers.Layer):
    """``a * sigmoid(b @ w) * scale``: two tensors and an option."""

    def build(self, a_shape, b_shape):
        self.w = self.add_weight(shape=(b_shape[-1], a_shape[-1]), initializer="glorot_uniform")

    def call(self, a, b, scale=1.0, training=None):
        return a * tf.sigmoid(tf.matmul(b, self.w)) * scale


def test_two_tensors_and_an_option_on_arrays_and_under_a_tape():
    rng = np.random.default_rng(0)
    a0, b0 = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    layer = Gate(dtype="float64")
    out = layer(a0, b0, scale=2.0)
    assert tuple(layer.w.shape) == (5, 3)  # build(a_shape, b_shape) got both, by name
    w = layer.w.numpy()
    np.testing.assert_allclose(out.numpy(), a0 / (1 + np.exp(-(b0 @ w))) * 2.0, rtol=1e-12)
    np.testing.assert_allclose(layer(a0, b0, 3.0).numpy(), out.numpy() * 1.5, rtol=1e-12)
    dy = rng.normal(size=(4, 3))
    a, b = tf.Variable(a0), tf.constant(b0)
    with tf.GradientTape() as tape:
        tape.watch(b)
        loss = tf.reduce_sum(layer(a, b, scale=2.0, training=True) * dy)
    da, db, dw = tape.gradient(loss, [a, b, layer.w])
    for value, got in ((a0, da), (b0, db), (layer.w.value, dw)):
        x = value.copy() if value is not layer.w.value else value

        def f(x=x, value=value):
            args = (x, b0) if value is a0 else (a0, x) if value is b0 else (a0, b0)
            return np.asarray(layer(*args, scale=2.0))

        assert rel_error(np.asarray(got), numerical_gradient(f, x, dy)) < 1e-8


class Blend(keras.Model):
    def __init__(self):
        super().__init__()
        self.left = keras.layers.Dense(3)
        self.right = keras.layers.Dense(3)
        self.gate = Gate()
        self.head = keras.layers.Dense(1)

    def call(self, x):
        return self.head(self.gate(self.left(x), self.right(x), scale=0.5))


def test_inside_a_subclassed_model_trained_by_fit():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = x[:, :1] * 0.5 - x[:, 1:2]
    model = Blend()
    model.compile(keras.optimizers.Adam(0.02), "mse")
    hist = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    assert tuple(model.gate.w.shape) == (3, 3)


def test_what_cannot_take_extra_arguments_says_so():
    x = keras.Input((3,))
    with pytest.raises(TypeError, match="takes its input and training"):
        keras.layers.Dense(2)(x, x)
    with pytest.raises(TypeError, match="layer 'g2'.*unexpected keyword"):
        Gate(name="g2")(x, x, colour=1)
    with pytest.raises(TypeError, match="extra arguments"):
        keras.layers.Dense(2)(np.ones((1, 3)), np.ones((1, 3)))
    with pytest.raises(TypeError, match="gate"):
        Gate(name="gate")(np.ones((1, 3)), np.ones((1, 3)), np.ones(1), 1, 2)
    # Keras 2 code passes training positionally to built-in layers: still understood
    assert np.count_nonzero(keras.layers.Dropout(0.5)(np.ones((1, 400)), True)) < 400
    assert np.count_nonzero(keras.layers.Dropout(0.5)(np.ones((1, 400)), False)) == 400


class Triple(keras.layers.Layer):
    def call(self, x):
        return x * 3.0


class Doubler(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        return self.dense(x) * 2.0


def test_a_variable_input_gets_its_gradient_through_users_layers_and_models():
    """Neural style transfer writes ``model(image_variable)``: the tape must reach the
    variable through a user's layer or subclassed model (it got None)."""
    image = tf.Variable(np.ones((1, 3), np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(Triple()(image))
    np.testing.assert_allclose(tape.gradient(loss, image).numpy(), [[3.0, 3.0, 3.0]])
    model = Doubler()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(image))
    np.testing.assert_allclose(tape.gradient(loss, image).numpy()[0],
                               2.0 * model.dense.kernel.numpy().sum(axis=1), rtol=1e-6)


def test_training_given_positionally_on_symbolic_tensors():
    x = keras.Input((400,))
    model = keras.Model(x, keras.layers.Dropout(0.5)(x, True))
    assert np.count_nonzero(model.predict(np.ones((1, 400)), verbose=0)) < 400


# -- in functional models ------------------------------------------------------------------------


class AttentionGate(keras.layers.Layer):
    """Attention U-Net's gate: ``x * sigmoid(psi(relu(conv(x) + conv(g)))) * scale``."""

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels
        self.on_x = keras.layers.Conv2D(channels, 1)
        self.on_g = keras.layers.Conv2D(channels, 1)
        self.psi = keras.layers.Conv2D(1, 1)

    def call(self, x, g, scale=1.0, training=None):
        joined = keras.ops.relu(self.on_x(x) + self.on_g(g))
        return x * keras.ops.sigmoid(self.psi(joined)) * scale

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


def gated_model():
    x, g = keras.Input((8, 8, 3), name="x"), keras.Input((8, 8, 5), name="g")
    first = AttentionGate(4, name="gate")(x, g, scale=2.0)
    second = AttentionGate(4, name="gate2")(first, g=g)  # the tensor as a keyword
    return keras.Model([x, g], second)


def gate_data():
    rng = np.random.default_rng(2)
    return [rng.random((2, 8, 8, 3)).astype(np.float32),
            rng.random((2, 8, 8, 5)).astype(np.float32)]


def test_functional_call_with_several_tensor_arguments():
    keras.utils.set_random_seed(0)
    model = gated_model()
    assert [layer.name for layer in model.layers] == ["x", "g", "gate", "gate2"]
    x, g = gate_data()
    gate, gate2 = model.get_layer("gate"), model.get_layer("gate2")
    direct = gate2(gate(x, g, scale=2.0), g=g)
    np.testing.assert_allclose(model.predict([x, g], verbose=0), np.asarray(direct), rtol=1e-6)
    # gradients w.r.t. both tensors and the weights, as the direct calls give them
    grads = []
    for run in (lambda gt: model([x, gt]), lambda gt: gate2(gate(x, gt, scale=2.0), g=gt)):
        with tf.GradientTape() as tape:
            gt = tf.constant(g)
            tape.watch(gt)
            loss = tf.reduce_sum(run(gt) ** 2)
        grads.append(tape.gradient(loss, [gt, *model.trainable_variables]))
    assert len(grads[0]) == 13
    for a, b in zip(*grads):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-7)
    model.compile("adam", "mse")
    before = gate.on_g.kernel.numpy().copy()
    model.fit([x, g], np.zeros((2, 8, 8, 3)), epochs=1, verbose=0)
    assert not np.array_equal(before, gate.on_g.kernel.numpy())


@pytest.mark.parametrize("suffix", ["keras", "h5", "convnp"])
def test_calls_with_several_arguments_survive_files_and_clone(suffix, tmp_path):
    if suffix != "convnp":
        pytest.importorskip("h5py")
    keras.utils.set_random_seed(0)
    model = gated_model()
    data = gate_data()
    path = tmp_path / f"gated.{suffix}"
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"AttentionGate": AttentionGate})
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), model.predict(data, verbose=0))
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(data, verbose=0), model.predict(data, verbose=0))


def test_keras_written_call_with_several_arguments_loads():
    pytest.importorskip("h5py")
    from tests.helpers import FIXTURES, load_fixture

    expected = load_fixture("multi_output_expected.npz")
    model = keras.models.load_model(FIXTURES / "gated.keras",
                                    custom_objects={"AttentionGate": AttentionGate})
    got = model.predict([expected["gated/x"], expected["gated/g"]], verbose=0)
    np.testing.assert_allclose(got, expected["gated/out"], rtol=1e-5, atol=1e-6)


def test_convnp_writes_calls_with_several_arguments_as_keras(tmp_path):
    """Keras 3 writes ``layer(x, g, scale=2.0)`` as one inbound node with its args and kwargs
    (tensors inline), as in tests/fixtures/gated.keras."""
    pytest.importorskip("h5py")
    import json
    import zipfile

    keras.utils.set_random_seed(0)
    model = gated_model()
    path = tmp_path / "gated.keras"
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))["config"]
    nodes = {entry["name"]: entry["inbound_nodes"] for entry in config["layers"]}

    def history(arg):
        return arg["config"]["keras_history"]

    # the layout Keras 3.15 gives these two calls (checked against its own file)
    assert [history(a) for a in nodes["gate"][0]["args"]] == [["x", 0, 0], ["g", 0, 0]]
    assert nodes["gate"][0]["kwargs"] == {"scale": 2.0}
    assert [history(a) for a in nodes["gate2"][0]["args"]] == [["gate", 0, 0]]
    assert history(nodes["gate2"][0]["kwargs"]["g"]) == ["g", 0, 0]


def test_a_crafted_call_template_is_refused():
    keras.utils.set_random_seed(0)
    config = gated_model().get_config()
    entry = next(e for e in config["layers"] if e["name"] == "gate")
    entry["call_template"] = {"__tuple__": [{"__tensor__": 0}, {"__tuple__": [{"__tensor__": 7}]},
                                            {"__dict__": {}}]}
    with pytest.raises(ValueError, match="unreadable call_template"):
        keras.Model.from_config(config, custom_objects={"AttentionGate": AttentionGate})
