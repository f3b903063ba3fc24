"""Calls that return several tensors in a functional model: a model with several outputs used
as a layer (TensorFlow's segmentation tutorial, ``skips = down_stack(inputs)``), a user's layer
returning a tuple, and ``tf.split`` / ``tf.unstack`` on a KerasTensor.

Each is checked against the same computation written without such a call (the flat twin, on
the same layer objects), against Keras's own numbers (a Keras-written file in
tests/fixtures), and through every model file format.
"""

from __future__ import annotations

import io
import json
import zipfile
from contextlib import redirect_stdout

import numpy as np
import pytest

import convnp as tf
from tests.helpers import FIXTURES, load_fixture

keras = tf.keras
layers = tf.keras.layers


@pytest.fixture(autouse=True)
def fresh_names():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


def two_output_base():
    """``base``: an early conv map and a later, strided one, both outputs."""
    inner = keras.Input((8, 8, 3))
    early = layers.Conv2D(4, 3, padding="same", activation="relu", name="early")(inner)
    late = layers.Conv2D(6, 3, strides=2, padding="same", name="late")(early)
    late = layers.BatchNormalization(name="bn")(late)
    return keras.Model(inner, [early, late], name="base"), inner, early, late


def head_on(first, second, name="head"):
    joined = layers.Concatenate()([layers.MaxPooling2D()(first), second])
    return layers.Dense(2, name=name)(layers.GlobalAveragePooling2D()(joined))


def data(m=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((m, 8, 8, 3)).astype(np.float32), rng.random((m, 2)).astype(np.float32)


def nested_and_flat():
    """The model with ``base`` called as a layer, and the same network on base's own tensors
    (same layer objects, so the same weights)."""
    base, inner, early, late = two_output_base()
    image = keras.Input((8, 8, 3), name="image")
    first, second = base(image)
    nested = keras.Model(image, head_on(first, second))
    flat = keras.Model(inner, head_on(early, late, name="flat_head"))
    flat.get_layer("flat_head").set_weights(nested.get_layer("head").get_weights())
    return nested, flat


def test_model_with_several_outputs_is_a_layer_returning_each():
    base, *_ = two_output_base()
    image = keras.Input((8, 8, 3))
    outputs = base(image)
    assert isinstance(outputs, list) and len(outputs) == 2
    assert [o.shape for o in outputs] == [(None, 8, 8, 4), (None, 4, 4, 6)]
    assert base.output_shape == [(None, 8, 8, 4), (None, 4, 4, 6)]  # Keras 2's spelling
    model = keras.Model(image, head_on(*outputs))
    # the outputs' picks are bookkeeping, not layers
    assert [layer.name for layer in model.layers] == [
        model.layers[0].name, "base", "max_pooling2d", "concatenate",
        "global_average_pooling2d", "head"]
    assert len(base.output) == len(base.get_output_at(0)) == 2


def test_nested_model_computes_and_trains_as_its_flat_twin():
    nested, flat = nested_and_flat()
    x, y = data()
    np.testing.assert_array_equal(nested.predict(x, verbose=0), flat.predict(x, verbose=0))
    grads = []
    for model in (nested, flat):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x, training=True) - y) ** 2)
        grads.append([np.asarray(g) for g in tape.gradient(loss, model.trainable_variables)])
    assert len(grads[0]) == len(grads[1]) == 8
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    # and through fit: the same steps give the same weights (a second pair, since each pair
    # shares its layers, with the first pair's weights)
    twin = nested_and_flat()[1]
    twin.set_weights(flat.get_weights())
    for model in (nested, twin):
        model.compile(keras.optimizers.SGD(0.1), "mse")
        model.fit(x, y, epochs=2, batch_size=2, shuffle=False, verbose=0)
    for a, b in zip(nested.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_an_output_nothing_reads_gets_no_update():
    base, *_ = two_output_base()
    image = keras.Input((8, 8, 3))
    first, _unused = base(image)
    model = keras.Model(image, layers.Dense(2)(layers.GlobalAveragePooling2D()(first)))
    model.compile("adam", "mse")
    late = base.get_layer("late")
    before = [w.copy() for w in late.get_weights()]
    model.fit(*data(), epochs=1, verbose=0)
    for a, b in zip(before, late.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(model.layers[-1].get_weights()[0], 0)


def test_outputs_of_a_nested_call_as_model_outputs_train_per_output():
    base, *_ = two_output_base()
    image = keras.Input((8, 8, 3))
    first, second = base(image)
    model = keras.Model(image, [head_on(first, second), second])
    assert model.output_names == ["head", "base"]  # the layer that made each, as in Keras
    model.compile("adam", ["mse", "mse"])
    x, y = data()
    history = model.fit(x, [y, np.zeros((4, 4, 4, 6))], epochs=1, verbose=0)
    assert sorted(history.history) == ["base_loss", "head_loss", "loss"]
    # a tape sees the read-inside output and the head: the gradient flows through both
    with tf.GradientTape() as tape:
        head, inner = model(x)
        tape.watch(inner)
        total = tf.reduce_sum(head)
    assert tape.gradient(total, inner) is not None


def test_shared_model_with_several_outputs_sums_both_calls_gradients():
    base = two_output_base()[0]
    a, b = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    (a1, a2), (b1, b2) = base(a), base(b)
    total = layers.Add()([head_on(a1, a2, "head_a"), head_on(b1, b2, "head_b")])
    nested = keras.Model([a, b], total)
    # the flat twin calls base's layers on both inputs directly
    def tower(x):
        e = base.get_layer("early")(x)
        return e, base.get_layer("bn")(base.get_layer("late")(e))
    fa, fb = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    (f1, f2), (g1, g2) = tower(fa), tower(fb)
    flat = keras.Model([fa, fb], layers.Add()([head_on(f1, f2, "flat_a"),
                                                head_on(g1, g2, "flat_b")]))
    flat.get_layer("flat_a").set_weights(nested.get_layer("head_a").get_weights())
    flat.get_layer("flat_b").set_weights(nested.get_layer("head_b").get_weights())
    x1, y = data(seed=1)
    x2, _ = data(seed=2)
    grads = []
    for model in (nested, flat):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model([x1, x2], training=True) * y)
        variables = [base.get_layer("early").kernel, base.get_layer("late").kernel]
        grads.append([np.asarray(g) for g in tape.gradient(loss, variables)])
    for g, h in zip(*grads):
        np.testing.assert_allclose(g, h, rtol=1e-5, atol=1e-6)


class Pair(keras.layers.Layer):
    """A scaled copy of its input and the mean over channels (the fixture's user layer)."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

    def call(self, x):
        return x * self.scale, keras.ops.mean(x, axis=-1, keepdims=True)


def test_user_layer_returning_a_tuple_is_differentiated_through_each_output():
    image = keras.Input((8, 8, 3))
    scaled, mean = Pair(name="pair")(image)
    assert (scaled.shape, mean.shape) == ((None, 8, 8, 3), (None, 8, 8, 1))
    joined = layers.Concatenate()([scaled, mean])
    model = keras.Model(image, layers.Dense(1)(layers.Flatten()(joined)))
    pair = model.get_layer("pair")
    pair.scale.assign(np.array([0.5, 1.5, -1.0], np.float32))
    x, _ = data()

    def loss_of(m):
        return tf.reduce_sum(m(x) ** 2)

    with tf.GradientTape() as tape:
        loss = loss_of(model)
    grad = np.asarray(tape.gradient(loss, pair.scale))
    eps, numeric = 1e-2, []
    for i in range(3):
        values = pair.scale.numpy()
        for sign in (1, -1):
            shifted = values.copy()
            shifted[i] += sign * eps
            pair.scale.assign(shifted)
            numeric.append(float(loss_of(model)))
        pair.scale.assign(values)
    numeric = [(numeric[2 * i] - numeric[2 * i + 1]) / (2 * eps) for i in range(3)]
    np.testing.assert_allclose(grad, numeric, rtol=2e-3)


def test_only_one_output_of_a_user_layer_read():
    image = keras.Input((8, 8, 3))
    _, mean = Pair()(image)
    model = keras.Model(image, layers.Dense(2)(layers.Flatten()(mean)))
    model.compile("sgd", "mse")
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)  # the unread output's gradient is zeros
    np.testing.assert_array_equal(model.layers[1].scale.numpy(), np.ones(3))


def test_split_and_unstack_on_keras_tensors():
    image = keras.Input((8, 8, 3))
    parts = tf.split(image, [1, 2], axis=-1)
    assert [p.shape for p in parts] == [(None, 8, 8, 1), (None, 8, 8, 2)]
    halves = keras.ops.split(layers.Conv2D(4, 1)(image), 2, axis=-1)
    rows = tf.unstack(image, axis=1)
    assert len(rows) == 8 and rows[0].shape == (None, 8, 3)
    model = keras.Model(image, [*parts, layers.Add()(halves), rows[3]])
    x, _ = data()
    got = model.predict(x, verbose=0)
    np.testing.assert_array_equal(got[0], x[..., :1])
    np.testing.assert_array_equal(got[1], x[..., 1:])
    np.testing.assert_array_equal(got[3], x[:, 3])
    conv = model.layers[1] if model.layers[1].weights else model.get_layer("conv2d")
    expected = x @ conv.kernel.numpy()[0, 0] + conv.bias.numpy()
    # float32 sums of random signs: an absolute floor for the values that cancel
    np.testing.assert_allclose(got[2], expected[..., :2] + expected[..., 2:], rtol=1e-5,
                               atol=1e-6)
    # the gradient of a sum of parts is 1 where the part came from, 0 elsewhere
    with tf.GradientTape() as tape:
        xt = tf.constant(x)
        tape.watch(xt)
        out = model(xt)
        total = tf.reduce_sum(out[1]) + 2.0 * tf.reduce_sum(out[3])
    expected_grad = np.zeros_like(x)
    expected_grad[..., 1:] = 1.0
    expected_grad[:, 3] += 2.0
    np.testing.assert_array_equal(np.asarray(tape.gradient(total, xt)), expected_grad)


def summary_text(model) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        model.summary(line_length=200)
    return out.getvalue()


def test_summary_lists_the_call_once_with_its_shapes_and_output_indices():
    nested, _ = nested_and_flat()
    text = summary_text(nested)
    assert "[(None, 8, 8, 4), (None, 4, 4, 6)]" in text
    assert "base[0][0]" in text and "base[0][1]" in text
    assert text.count("base (Functional)") == 1
    assert "OutputPick" not in text


def test_config_round_trip_keeps_each_output():
    nested, _ = nested_and_flat()
    config = nested.get_config()
    assert ["base", 0, 1] in [ref for entry in config["layers"]
                              for ref in entry["inbound_nodes"]]
    again = keras.Model.from_config(config)
    again.set_weights(nested.get_weights())
    x, _ = data()
    np.testing.assert_array_equal(again.predict(x, verbose=0), nested.predict(x, verbose=0))
    config["layers"][-4]["inbound_nodes"] = [["base", 0, 5]]
    with pytest.raises(ValueError, match="output 5 of a call with 2 outputs"):
        keras.Model.from_config(config)


def mixed_model():
    base, *_ = two_output_base()
    image = keras.Input((8, 8, 3), name="image")
    first, second = base(image)
    scaled, mean = Pair(name="pair")(second)
    left, right = keras.ops.split(scaled, 2, axis=-1)
    joined = layers.Concatenate()([layers.MaxPooling2D()(first), right, mean])
    head = layers.Dense(2, name="head")(layers.GlobalAveragePooling2D()(joined))
    return keras.Model(image, [head, second, left])


@pytest.mark.parametrize("suffix", ["keras", "h5", "convnp"])
def test_every_file_format_keeps_multi_output_calls(suffix, tmp_path):
    if suffix != "convnp":
        pytest.importorskip("h5py")
    model = mixed_model()
    x, _ = data()
    path = tmp_path / f"model.{suffix}"
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"Pair": Pair})
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    for a, b in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)


def test_keras_file_numbers_a_nested_models_outputs_as_keras(tmp_path):
    pytest.importorskip("h5py")
    model = mixed_model()
    image = keras.Input((8, 8, 3))
    outer = keras.Model(image, model(image)[1:])  # the nested model's own outputs
    path = tmp_path / "outer.keras"
    outer.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))["config"]
    # Keras counts a nested functional model's own node in output_layers, not in refs
    assert config["output_layers"] == [[model.name, 1, 1], [model.name, 1, 2]]
    loaded = keras.models.load_model(path, custom_objects={"Pair": Pair})
    x, _ = data()
    for a, b in zip(outer.predict(x, verbose=0), loaded.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)


def test_keras_written_file_loads_and_trains_as_keras():
    pytest.importorskip("h5py")
    expected = load_fixture("multi_output_expected.npz")
    model = keras.models.load_model(FIXTURES / "multi_output.keras",
                                    custom_objects={"Pair": Pair})
    x = expected["x"]
    y = [expected[f"y/{i}"] for i in range(3)]
    for got, i in zip(model.predict(x, verbose=0), range(3)):
        np.testing.assert_allclose(got, expected[f"before/{i}"], rtol=1e-5, atol=1e-6)
    history = model.fit(x, y, epochs=2, batch_size=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected["history/loss"], rtol=1e-5)
    for got, i in zip(model.predict(x, verbose=0), range(3)):
        np.testing.assert_allclose(got, expected[f"after/{i}"], rtol=1e-4, atol=1e-5)


def test_clone_model_remakes_multi_output_calls():
    model = mixed_model()
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    x, _ = data()
    for a, b in zip(model.predict(x, verbose=0), clone.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)


def test_onnx_export_inlines_a_nested_model_with_several_outputs(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    nested, _ = nested_and_flat()
    path = tmp_path / "nested.onnx"
    tf.onnx.export(nested, path)
    session = ort.InferenceSession(str(path))
    x, _ = data()
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, nested.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_segmentation_tutorial_down_stack():
    """TensorFlow's image segmentation tutorial: a frozen encoder with five outputs taken from
    MobileNetV2's layers, called as one layer, its skips read in reverse by the decoder."""
    size = 32
    base_model = keras.applications.MobileNetV2(input_shape=[size, size, 3],
                                                include_top=False, weights=None)
    names = ["block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu",
             "block_13_expand_relu", "block_16_project"]
    down_stack = keras.Model(inputs=base_model.input,
                             outputs=[base_model.get_layer(n).output for n in names])
    down_stack.trainable = False

    def upsample(filters):
        block = keras.Sequential()
        block.add(layers.Conv2DTranspose(filters, 3, strides=2, padding="same",
                                         use_bias=False))
        block.add(layers.BatchNormalization())
        block.add(layers.ReLU())
        return block

    inputs = layers.Input(shape=[size, size, 3])
    skips = down_stack(inputs)
    x = skips[-1]
    for up, skip in zip([upsample(f) for f in (64, 32, 16, 8)], reversed(skips[:-1])):
        x = layers.Concatenate()([up(x), skip])
    outputs = layers.Conv2DTranspose(3, 3, strides=2, padding="same")(x)
    model = keras.Model(inputs, outputs)
    assert model.output_shape == (None, size, size, 3)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    images = rng.random((4, size, size, 3)).astype(np.float32)
    masks = rng.integers(0, 3, (4, size, size, 1))
    frozen = [w.copy() for w in down_stack.get_weights()]
    model.fit(images, masks, epochs=1, batch_size=2, verbose=0)
    for a, b in zip(frozen, down_stack.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.predict(images, verbose=0).shape == (4, size, size, 3)


def test_user_layer_takes_keras_base_layer_arguments():
    # Keras's base Layer takes activity_regularizer and autocast, and writes them in a user
    # layer's config: a user class without its own __init__ must load from such a file
    layer = Pair.from_config({"name": "p", "trainable": True, "dtype": "float32",
                              "activity_regularizer": {"class_name": "L2",
                                                       "config": {"l2": 0.5}},
                              "autocast": True})
    image = keras.Input((2, 2, 1))
    model = keras.Model(image, layers.Flatten()(layer(image)[0]))
    x = np.full((1, 2, 2, 1), 2.0, np.float32)
    model(x)
    assert float(sum(model.losses)) == pytest.approx(0.5 * 16.0)  # 0.5 * sum(x**2), batch 1
    with pytest.raises(TypeError, match="unexpected keyword"):
        Pair(colour="red")


class MapAndMean(keras.Model):
    """A subclassed model returning two tensors."""

    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(4, 3, padding="same")

    def call(self, x):
        y = self.conv(x)
        return y, tf.reduce_mean(y, axis=[1, 2])


def test_subclassed_model_with_several_outputs_is_a_layer():
    sub = MapAndMean()
    image = keras.Input((8, 8, 3))
    fmap, mean = sub(image)
    assert (fmap.shape, mean.shape) == ((None, 8, 8, 4), (None, 4))
    model = keras.Model(image, [layers.Dense(2, name="head")(mean), fmap])
    x, y = data()
    head, got_map = model.predict(x, verbose=0)
    direct_map, direct_mean = sub(x)
    np.testing.assert_allclose(got_map, np.asarray(direct_map), rtol=1e-6)
    np.testing.assert_allclose(head, np.asarray(model.get_layer("head")(direct_mean)),
                               rtol=1e-5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x)[0] * y)
    grad = np.asarray(tape.gradient(loss, sub.conv.kernel))
    dense = model.get_layer("head")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(dense(sub(x)[1]) * y)
    np.testing.assert_allclose(grad, np.asarray(tape.gradient(loss, sub.conv.kernel)),
                               rtol=1e-5, atol=1e-6)


def test_outputs_sharing_a_layer_name_log_apart():
    image = keras.Input((8, 8, 3))
    scaled, mean = Pair(name="pair")(image)
    model = keras.Model(image, [scaled, mean])
    assert model.output_names == ["pair", "pair"]  # as Keras names them
    model.compile("sgd", ["mse", "mae"], metrics=[["mae"], ["mse"]])
    x, _ = data()
    history = model.fit(x, [x, x[..., :1]], epochs=1, verbose=0)
    assert sorted(history.history) == ["loss", "pair_1_loss", "pair_1_mse", "pair_loss",
                                       "pair_mae"]
    logs = model.evaluate(x, [x, x[..., :1]], verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["pair_loss"] + logs["pair_1_loss"], rel=1e-5)


def test_nested_outputs_keep_their_nesting():
    """keras.io's Involution visualizes with ``Model(inputs, [layer.output for ...])`` over
    layers returning (output, kernel): outputs nested in lists."""
    image = keras.Input((8, 8, 3))
    first = Pair(name="first")(image)
    second = Pair(name="second")(layers.Concatenate()(first))
    model = keras.Model(image, [first, second])
    assert [[t.shape for t in group] for group in model.output] == [
        [(None, 8, 8, 3), (None, 8, 8, 1)], [(None, 8, 8, 4), (None, 8, 8, 1)]]
    x, _ = data()
    predicted = model.predict(x, verbose=0)
    called = model(x)
    assert [len(group) for group in predicted] == [len(group) for group in called] == [2, 2]
    np.testing.assert_allclose(predicted[0][1], x.mean(axis=-1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(called[1][0]), predicted[1][0], rtol=1e-6)
    # compile and fit take losses and targets nested the same way (or flat)
    model.compile("sgd", [["mse", "mse"], ["mse", "mae"]])
    targets = [[x, x[..., :1]], [np.zeros((4, 8, 8, 4)), np.zeros((4, 8, 8, 1))]]
    history = model.fit(x, targets, epochs=1, verbose=0)
    assert sorted(history.history) == ["first_1_loss", "first_loss", "loss", "second_1_loss",
                                       "second_loss"]
    flat = [t for group in targets for t in group]
    assert model.evaluate(x, flat, verbose=0) == pytest.approx(
        model.evaluate(x, targets, verbose=0))
    with pytest.raises(ValueError, match="nesting of the model's outputs"):
        model.fit(x, [[x], [x, x]], epochs=1, verbose=0)


@pytest.mark.parametrize("suffix", ["keras", "convnp"])
def test_nested_outputs_survive_files(suffix, tmp_path):
    if suffix == "keras":
        pytest.importorskip("h5py")
    image = keras.Input((8, 8, 3))
    scaled, mean = Pair(name="pair")(image)
    model = keras.Model(image, [[scaled, mean], layers.Flatten()(mean)])
    model.save(tmp_path / f"m.{suffix}")
    loaded = keras.models.load_model(tmp_path / f"m.{suffix}", custom_objects={"Pair": Pair})
    x, _ = data()
    (a, b), c = loaded.predict(x, verbose=0)
    (a0, b0), c0 = model.predict(x, verbose=0)
    for got, want in ((a, a0), (b, b0), (c, c0)):
        np.testing.assert_array_equal(got, want)


def test_keras_written_nested_outputs_load():
    pytest.importorskip("h5py")
    expected = load_fixture("multi_output_expected.npz")
    model = keras.models.load_model(FIXTURES / "multi_output_nested.keras",
                                    custom_objects={"Pair": Pair})
    (head, second), left = model.predict(expected["x"], verbose=0)
    for got, key in ((head, "nested/0/0"), (second, "nested/0/1"), (left, "nested/1")):
        np.testing.assert_allclose(got, expected[key], rtol=1e-5, atol=1e-6)


def test_subclassed_model_with_several_outputs_trains_one_loss_per_output():
    """Keras 3 logs a subclassed model's outputs (which have no names) by their losses and
    its metrics by theirs (Keras 3.15: loss, mse_loss, mae_loss, mae, mae_1)."""
    model = MapAndMean()
    model.compile("sgd", ["mse", "mae"], metrics=[["mae"], ["mae"]])  # before it is built
    x, _ = data()
    targets = [np.zeros((4, 8, 8, 4)), np.ones((4, 4))]
    history = model.fit(x, targets, epochs=1, verbose=0)
    assert sorted(history.history) == ["loss", "mae", "mae_1", "mae_loss", "mse_loss"]
    logs = model.evaluate(x, targets, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["mse_loss"] + logs["mae_loss"], rel=1e-5)
    fmap, mean = model(x)
    assert logs["mse_loss"] == pytest.approx(float(np.mean(np.asarray(fmap) ** 2)), rel=1e-5)
    assert logs["mae_loss"] == pytest.approx(float(np.mean(np.abs(np.asarray(mean) - 1))),
                                             rel=1e-5)
    predicted = model.predict(x, verbose=0)
    assert [p.shape for p in predicted] == [(4, 8, 8, 4), (4, 4)]
    wrong = MapAndMean()
    wrong.compile("sgd", ["mse", "mse", "mse"])  # unbuilt: found out when it is
    with pytest.raises(ValueError, match="3"):
        wrong.fit(x, targets, epochs=1, verbose=0)
