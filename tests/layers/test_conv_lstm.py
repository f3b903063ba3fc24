"""`ConvLSTM1D` / `ConvLSTM2D` / `ConvLSTM3D` against Keras 3.15's numbers
(tests/fixtures/make_conv_lstm.py): outputs (sequences, states, backwards, strides, valid
padding, dilation, other activations, 1-D and 3-D), tape gradients w.r.t. the input and the
weights, Keras's initial forget-gate bias; float64 central differences; configs; bad
arguments; and keras.io's next-frame prediction model (a Keras-written file loaded, trained
as Keras trains it, and the program's own steps on a tiny dataset)."""

from __future__ import annotations

import io
import json
import zipfile
from contextlib import redirect_stdout

import numpy as np
import pytest

import convnp as tf
from tests.fixtures.conv_lstm_cases import CASES
from tests.helpers import FIXTURES, load_fixture, numerical_gradient, rel_error
from tests.layers.harness import check_case, check_taped_outputs_and_gradients

keras = tf.keras
layers = keras.layers


@pytest.fixture(scope="module")
def expected():
    return load_fixture("conv_lstm_expected.npz")


def keras_case(name, expected):
    """The case's layer with Keras's weights, and its input."""
    cls, kwargs, _ = CASES[name]
    layer = getattr(layers, cls)(**kwargs)
    x = expected[f"{name}/x"]
    layer(x)
    count = len([k for k in expected if k.startswith(f"{name}/w/")])
    layer.set_weights([expected[f"{name}/w/{i}"] for i in range(count)])
    return layer, x


@pytest.mark.parametrize("name", sorted(CASES))
def test_outputs_and_gradients_match_keras(name, expected):
    layer, x = keras_case(name, expected)
    outs = check_taped_outputs_and_gradients(name, layer, x, layer.trainable_weights,
                                             expected)
    # the symbolic call gives Keras's shapes
    shapes = layer.compute_output_shape((None, *x.shape[1:]))
    shapes = shapes if isinstance(shapes, list) else [shapes]
    assert [s[1:] for s in shapes] == [expected[f"{name}/out/{i}"].shape[1:]
                                      for i in range(len(outs))]


@pytest.mark.parametrize("name", ["valid_last", "one_d", "three_d"])
def test_initial_weights_as_keras_makes_them(name, expected):
    cls, kwargs, shape = CASES[name]
    layer = getattr(layers, cls)(**kwargs)
    layer(np.zeros(shape, dtype="float32"))
    kernel, recurrent, bias = layer.weights
    assert [v.name for v in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
    np.testing.assert_array_equal(bias.numpy(), expected[f"{name}/init_bias"])  # 0, 1, 0, 0
    # orthogonal recurrent kernel: as a (prod(shape[:-1]), 4 * filters) matrix
    matrix = recurrent.numpy().reshape(-1, recurrent.shape[-1])
    small = min(matrix.shape)
    gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)
    assert kernel.shape[-2:] == (shape[-1], 4 * kwargs["filters"])


def test_use_bias_and_unit_forget_bias():
    layer = layers.ConvLSTM2D(2, 3, use_bias=False, unit_forget_bias=True)
    layer(np.zeros((1, 2, 4, 4, 1), dtype="float32"))
    assert [v.name for v in layer.weights] == ["kernel", "recurrent_kernel"]
    layer = layers.ConvLSTM2D(2, 3, unit_forget_bias=False, bias_initializer="ones")
    layer(np.zeros((1, 2, 4, 4, 1), dtype="float32"))
    np.testing.assert_array_equal(layer.cell.bias.numpy(), np.ones(8))


# -- float64 central differences, config round trip --------------------------------------------

GRADIENT_CASES = [
    (layers.ConvLSTM2D, {"filters": 2, "kernel_size": 2}, (2, 3, 4, 4, 1), (2, 3, 3, 2)),
    (layers.ConvLSTM2D, {"filters": 2, "kernel_size": (2, 3), "padding": "same",
                         "return_sequences": True}, (2, 3, 3, 4, 1), (2, 3, 3, 4, 2)),
    (layers.ConvLSTM2D, {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same",
                         "go_backwards": True, "return_sequences": True},
     (1, 3, 4, 5, 2), (1, 3, 2, 3, 2)),
    (layers.ConvLSTM2D, {"filters": 2, "kernel_size": 2, "dilation_rate": 2,
                         "activation": "relu", "recurrent_activation": "hard_sigmoid",
                         "use_bias": False}, (1, 3, 5, 5, 1), (1, 3, 3, 2)),
    (layers.ConvLSTM1D, {"filters": 2, "kernel_size": 3, "padding": "same",
                         "return_sequences": True}, (2, 3, 5, 2), (2, 3, 5, 2)),
    (layers.ConvLSTM3D, {"filters": 2, "kernel_size": 2}, (1, 2, 3, 3, 3, 1), (1, 2, 2, 2, 2)),
]


@pytest.mark.parametrize("cls, kwargs, shape, out_shape", GRADIENT_CASES)
def test_float64_gradients_and_config(cls, kwargs, shape, out_shape):
    n_weights = 3 if kwargs.get("use_bias", True) else 2
    check_case(cls, kwargs, shape, out_shape, n_weights)


def test_dropout_gradients_and_masks():
    kwargs = {"filters": 2, "kernel_size": 2, "padding": "same", "dropout": 0.4,
              "recurrent_dropout": 0.3, "return_sequences": True}
    check_case(layers.ConvLSTM2D, kwargs, (2, 3, 3, 3, 1), (2, 3, 3, 3, 2), 3, random=True)
    layer = layers.ConvLSTM2D(**kwargs, seed=5)
    plain = layers.ConvLSTM2D(**{**kwargs, "dropout": 0.0, "recurrent_dropout": 0.0})
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 5, 1)).astype("float32")
    layer(x)
    plain(x)
    plain.set_weights(layer.get_weights())
    # inference: no dropout at all
    np.testing.assert_array_equal(layer(x).numpy(), plain(x).numpy())
    trained = layer(x, training=True).numpy()
    assert not np.allclose(trained, plain(x).numpy())
    # the seed's generator is the layer's own: a fresh twin draws the same masks
    twin = layers.ConvLSTM2D(**kwargs, seed=5)
    twin(x)
    twin.set_weights(layer.get_weights())
    np.testing.assert_array_equal(twin(x, training=True).numpy(), trained)


def test_dropout_masks_follow_keras_rules():
    """Four masks per call (one per gate), each kept for every step; 0 or 1 / (1 - rate)."""
    layer = layers.ConvLSTM2D(2, 2, dropout=0.5, seed=1)
    masks = layer._masks(0.5, (3, 4, 4, 1), True)
    assert len(masks) == 4
    for mask in masks:
        assert set(np.unique(mask)) <= {0.0, 2.0}
    assert not all(np.array_equal(masks[0], m) for m in masks[1:])
    assert layer._masks(0.5, (3, 4, 4, 1), False) is None
    assert layers.ConvLSTM2D(2, 2, dropout=1.0)._masks(1.0, (1, 2), True) is None


def test_return_state_float64_gradients():
    """The tape's gradient of sum(out * r + h * s + c * t) with return_state, against
    central differences, w.r.t. the input and each weight."""
    layer = layers.ConvLSTM2D(2, 2, padding="same", return_sequences=True, return_state=True,
                              dtype="float64")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 3, 3, 3, 1))
    cotangents = [rng.standard_normal(o.shape) for o in layer(x)]

    def total():
        return sum(np.sum(np.asarray(o) * r) for o, r in zip(layer(x), cotangents))

    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        summed = sum(tf.reduce_sum(o * r) for o, r in zip(layer(xt), cotangents))
    grads = tape.gradient(summed, [xt, *layer.trainable_weights])
    for value, grad in zip([x] + [v.value for v in layer.trainable_weights], grads):
        assert rel_error(np.asarray(grad), numerical_gradient(total, value, np.ones(()))) < 1e-6


def test_output_shapes_on_keras_tensors():
    x = keras.Input((None, 8, 6, 3))
    assert layers.ConvLSTM2D(4, 3)(x).shape == (None, 6, 4, 4)
    assert layers.ConvLSTM2D(4, 3, strides=2, padding="same",
                             return_sequences=True)(x).shape == (None, None, 4, 3, 4)
    out, h, c = layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True,
                                  return_state=True)(x)
    assert (out.shape, h.shape, c.shape) == ((None, None, 8, 6, 4), (None, 8, 6, 4),
                                              (None, 8, 6, 4))
    assert layers.ConvLSTM1D(2, 3)(keras.Input((5, 7, 1))).shape == (None, 5, 2)
    assert layers.ConvLSTM3D(2, 2)(keras.Input((5, 3, 4, 4, 1))).shape == (None, 2, 3, 3, 2)


def test_time_axis_may_change_spatial_sizes_may_not():
    layer = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True)
    assert layer(np.zeros((1, 4, 6, 6, 1), dtype="float32")).shape == (1, 4, 6, 6, 2)
    assert layer(np.zeros((2, 7, 6, 6, 1), dtype="float64")).shape == (2, 7, 6, 6, 2)
    with pytest.raises(ValueError, match="axis 2"):
        layer(np.zeros((1, 4, 5, 6, 1), dtype="float32"))
    with pytest.raises(ValueError, match="axis 4"):
        layer(np.zeros((1, 4, 6, 6, 2), dtype="float32"))


def test_regularizers_and_constraints():
    layer = layers.ConvLSTM2D(2, 2, kernel_regularizer=keras.regularizers.L2(0.1),
                              recurrent_regularizer=keras.regularizers.L1(0.2),
                              bias_regularizer=keras.regularizers.L2(0.3),
                              recurrent_constraint="non_neg")
    layer(np.zeros((1, 2, 3, 3, 1), dtype="float32"))
    kernel, recurrent, bias = (v.numpy() for v in layer.weights)
    want = 0.1 * np.sum(kernel ** 2) + 0.2 * np.sum(np.abs(recurrent)) + 0.3 * np.sum(bias ** 2)
    assert len(layer.losses) == 3
    np.testing.assert_allclose(sum(float(loss) for loss in layer.losses), want, rtol=1e-5)
    model = keras.Sequential([keras.Input((2, 3, 3, 1)), layer, layers.Flatten(),
                              layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).standard_normal((4, 2, 3, 3, 1)).astype("float32")
    model.fit(x, np.ones((4, 1)), epochs=1, verbose=0)
    assert layer.cell.recurrent_kernel.numpy().min() >= 0.0
    config = layer.get_config()
    assert config["recurrent_constraint"]["class_name"] == "NonNeg"
    assert config["recurrent_regularizer"]["class_name"] == "L1"


def test_not_trainable_freezes_the_cell():
    layer = layers.ConvLSTM2D(2, 2)
    layer(np.zeros((1, 2, 3, 3, 1), dtype="float32"))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 3


# -- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, match", [
    ({"data_format": "channels_first"}, ValueError, "channels_last"),
    ({"filters": 0}, ValueError, "filters must be a positive int"),
    ({"filters": 2.5}, TypeError, "filters must be a positive int"),
    ({"kernel_size": (3, 3, 3)}, ValueError, "kernel_size"),
    ({"padding": "causal"}, ValueError, "padding must be 'valid' or 'same'"),
    ({"strides": 2, "dilation_rate": 2}, ValueError, "dilation_rate > 1"),
    ({"dropout": 1.5}, ValueError, "dropout must be"),
    ({"recurrent_dropout": -0.1}, ValueError, "recurrent_dropout must be"),
    ({"return_sequences": "yes"}, TypeError, "return_sequences must be True or False"),
    ({"activation": "no_such_thing"}, ValueError, "no_such_thing"),
    ({"recurrent_initializer": "no_such_thing"}, ValueError, "no_such_thing"),
    ({"seed": 1.5}, TypeError, "seed must be an int"),
    ({"mystery": 1}, TypeError, "mystery"),
])
def test_bad_arguments_are_refused(kwargs, error, match):
    arguments = {"filters": 2, "kernel_size": 3, **kwargs}
    with pytest.raises(error, match=match):
        layers.ConvLSTM2D(**arguments)


def test_bad_inputs_are_refused_before_any_work():
    with pytest.raises(ValueError, match=r"rank 5 \(batch, time, rows, cols, channels\)"):
        layers.ConvLSTM2D(2, 3)(np.zeros((1, 4, 6, 6), dtype="float32"))
    with pytest.raises(ValueError, match="spatial sizes of the input must be known"):
        layers.ConvLSTM2D(2, 3)(keras.Input((4, None, 6, 1)))
    with pytest.raises(ValueError, match="larger than the input"):
        layers.ConvLSTM2D(2, 5)(np.zeros((1, 2, 3, 3, 1), dtype="float32"))
    with pytest.raises(ValueError, match="no time steps"):
        layers.ConvLSTM2D(2, 3, padding="same")(np.zeros((1, 0, 3, 3, 1), dtype="float32"))
    with pytest.raises(ValueError, match=r"rank 4 \(batch, time, steps, channels\)"):
        layers.ConvLSTM1D(2, 3)(np.zeros((1, 4, 6, 6, 1), dtype="float32"))
    with pytest.raises(TypeError, match="use ConvLSTM1D, ConvLSTM2D or ConvLSTM3D"):
        from convnp.layers.conv_lstm import ConvLSTM

        ConvLSTM(2, 3)


def test_initial_state_matches_keras(expected, tmp_path):
    """``initial_state=[h0, c0]``: outputs and gradients w.r.t. the input, both states and
    the weights as Keras's; a Keras-written model taking the states as inputs."""
    layer = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, return_state=True,
                              go_backwards=True)
    x, h0, c0 = (expected[f"init/{k}"] for k in ("x", "h0", "c0"))
    layer(x, initial_state=[h0, c0])
    layer.set_weights([expected[f"init/w/{i}"] for i in range(3)])
    sources = [tf.constant(a) for a in (x, h0, c0)]
    with tf.GradientTape() as tape:
        tape.watch(sources)
        outs = layer(sources[0], initial_state=sources[1:])
        total = sum(tf.reduce_sum(o * expected[f"init/r/{i}"]) for i, o in enumerate(outs))
    for i, o in enumerate(outs):
        np.testing.assert_allclose(np.asarray(o), expected[f"init/out/{i}"], rtol=1e-5,
                                   atol=1e-6)
    for i, grad in enumerate(tape.gradient(total, [*sources, *layer.trainable_weights])):
        np.testing.assert_allclose(np.asarray(grad), expected[f"init/grad/{i}"], rtol=1e-4,
                                   atol=1e-5)
    pytest.importorskip("h5py")
    model = keras.models.load_model(FIXTURES / "conv_lstm_state.keras")
    inputs = [expected[f"init/model_in/{i}"] for i in range(3)]
    for i, out in enumerate(model.predict(inputs, verbose=0)):
        np.testing.assert_allclose(out, expected[f"init/model_out/{i}"], rtol=1e-5, atol=1e-6)
    for suffix in ("keras", "convnp"):
        model.save(tmp_path / f"again.{suffix}")
        again = keras.models.load_model(tmp_path / f"again.{suffix}")
        for ours, theirs in zip(again.predict(inputs, verbose=0),
                                model.predict(inputs, verbose=0)):
            np.testing.assert_array_equal(ours, theirs)


def test_initial_state_gradients_float64_and_in_fit():
    layer = layers.ConvLSTM2D(2, 2, padding="same", dtype="float64")
    rng = np.random.default_rng(6)
    x, h0, c0 = (rng.standard_normal(s) for s in ((1, 2, 3, 3, 1), (1, 3, 3, 2),
                                                    (1, 3, 3, 2)))
    r = rng.standard_normal((1, 3, 3, 2))

    def total():
        return np.sum(np.asarray(layer(x, initial_state=[h0, c0])) * r)

    sources = [tf.constant(a) for a in (x, h0, c0)]
    with tf.GradientTape() as tape:
        tape.watch(sources)
        summed = tf.reduce_sum(layer(sources[0], initial_state=sources[1:]) * r)
    grads = tape.gradient(summed, [*sources, *layer.trainable_weights])
    for value, grad in zip([x, h0, c0] + [v.value for v in layer.trainable_weights], grads):
        assert rel_error(np.asarray(grad), numerical_gradient(total, value, np.ones(()))) < 1e-6
    # a model feeding the states: fit trains through them
    frames, h_in, c_in = keras.Input((2, 3, 3, 1)), keras.Input((3, 3, 2)), keras.Input((3, 3, 2))
    out = layers.ConvLSTM2D(2, 2, padding="same")(frames, initial_state=[h_in, c_in])
    model = keras.Model([frames, h_in, c_in], layers.Flatten()(out))
    model.compile("adam", "mse")
    data = [a.astype("float32") for a in (x, h0, c0)]
    history = model.fit([np.repeat(d, 4, axis=0) for d in data], np.zeros((4, 18)), epochs=5,
                        verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_bad_initial_states_are_refused():
    layer = layers.ConvLSTM2D(2, 3, padding="same")
    x = np.zeros((1, 2, 4, 4, 1), dtype="float32")
    with pytest.raises(ValueError, match=r"initial state c must have shape \(1, 4, 4, 2\)"):
        layer(x, initial_state=[np.zeros((1, 4, 4, 2)), np.zeros((1, 4, 4, 3))])
    with pytest.raises(ValueError, match=r"must be a list \[h, c\] .*, got a list of 1"):
        layer(x, initial_state=[np.zeros((1, 4, 4, 2))])
    # masks: tests/layers/test_conv_lstm_masks.py


def test_in_a_model_under_a_gradient_tape(expected):
    """A model holding the layer, differentiated by a user's tape, gives the lone layer's
    Keras gradients (the weights'), and fit's backward agrees with the tape."""
    layer, x = keras_case("same_seq", expected)
    model = keras.Sequential([keras.Input(x.shape[1:]), layer])
    r = expected["same_seq/r/0"]
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(model(x) * r)
    for i, grad in enumerate(tape.gradient(total, model.trainable_weights), start=1):
        np.testing.assert_allclose(np.asarray(grad), expected[f"same_seq/grad/{i}"],
                                   rtol=1e-4, atol=1e-5)
    layer(x)
    layer.backward(r)
    for i, variable in enumerate(layer.trainable_weights, start=1):
        np.testing.assert_allclose(variable.grad, expected[f"same_seq/grad/{i}"], rtol=1e-4,
                                   atol=1e-5)


def test_config_matches_what_keras_writes(tmp_path):
    """Every entry of Keras's ConvLSTM2D config, with the same values, in a .keras file
    convnp writes (initializers as Keras's objects)."""
    with zipfile.ZipFile(FIXTURES / "conv_lstm.keras") as archive:
        theirs = json.loads(archive.read("config.json"))["config"]["layers"][1]
    model = keras.Sequential([keras.Input((None, 16, 16, 1)), layers.ConvLSTM2D(
        filters=4, kernel_size=(5, 5), padding="same", return_sequences=True,
        activation="relu", name=theirs["config"]["name"])])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        ours = json.loads(archive.read("config.json"))["config"]["layers"][-1]

    # without the ids Keras gives shared objects, and the fan axes Keras 3.15's
    # VarianceScaling configs carry (None here; convnp's initializers write no such entry)
    left_out = {"shared_object_id", "input_axes", "output_axes"}

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if k not in left_out}
        return value

    assert ours["class_name"] == theirs["class_name"] == "ConvLSTM2D"
    assert list(ours["config"]) == list(theirs["config"])
    assert plain(ours["config"]) == plain(theirs["config"])
    clone = layers.ConvLSTM2D.from_config(layers.ConvLSTM2D(2, 3).get_config())
    assert clone.get_config()["recurrent_initializer"] == "orthogonal"


def test_keras_layout_of_the_weights_file(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = keras.Sequential([keras.Input((3, 5, 5, 1)), layers.ConvLSTM2D(2, 3)])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        archive.extract("model.weights.h5", tmp_path)
    with h5py.File(tmp_path / "model.weights.h5", "r") as f:
        assert len(f["layers/conv_lstm2d/vars"]) == 0
        group = f["layers/conv_lstm2d/cell/vars"]
        assert [group[k].shape for k in ("0", "1", "2")] == [(3, 3, 1, 8), (3, 3, 2, 8), (8,)]


def test_legacy_h5_files_both_ways(expected, tmp_path):
    """Keras's legacy .h5 file loads and predicts as Keras; convnp's .h5 of the model holds
    the same datasets under the same paths as Keras's."""
    h5py = pytest.importorskip("h5py")
    model = keras.models.load_model(FIXTURES / "conv_lstm_legacy.h5", compile=False)
    np.testing.assert_allclose(model.predict(expected["h5/x"], verbose=0), expected["h5/pred"],
                               rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "ours.h5")

    def datasets(path):
        found = []
        with h5py.File(path, "r") as f:
            f["model_weights"].visititems(
                lambda name, item: found.append((name, item.shape))
                if isinstance(item, h5py.Dataset) else None)
        return sorted(found)

    assert datasets(tmp_path / "ours.h5") == datasets(FIXTURES / "conv_lstm_legacy.h5")
    again = keras.models.load_model(tmp_path / "ours.h5", compile=False)
    np.testing.assert_array_equal(again.predict(expected["h5/x"], verbose=0),
                                  model.predict(expected["h5/x"], verbose=0))


# -- keras.io's next-frame video prediction --------------------------------------------------


def test_keras_written_next_frame_model_predicts_and_trains_as_keras(expected, tmp_path):
    pytest.importorskip("h5py")
    model = keras.models.load_model(FIXTURES / "conv_lstm.keras")
    # compiled as Keras compiled it: the loss was given as the function
    # keras.losses.binary_crossentropy, which the file names as a "builtins" function
    assert model.loss is keras.losses.binary_crossentropy
    x, y = expected["model/x"], expected["model/y"]
    np.testing.assert_allclose(model.predict(x, verbose=0), expected["model/before"],
                               rtol=1e-5, atol=1e-6)
    assert [layer.count_params() for layer in model.layers] == list(expected["model/params"])
    assert [tuple(-1 if d is None else d for d in layer.output.shape)
            for layer in model.layers] == [tuple(s) for s in expected["model/shapes"]]
    history = model.fit(x, y, epochs=2, batch_size=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected["model/loss"], rtol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected["model/after"],
                               rtol=1e-4, atol=1e-5)
    for suffix in ("keras", "convnp"):
        model.save(tmp_path / f"again.{suffix}")
        again = keras.models.load_model(tmp_path / f"again.{suffix}")
        np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def moving_squares(count: int, frames: int, rng) -> np.ndarray:
    """uint8 clips of a bright square moving one pixel right per frame (16x16)."""
    clips = np.zeros((count, frames, 16, 16, 1), dtype=np.uint8)
    for clip in range(count):
        row, col = rng.integers(0, 16 - 4 - frames, size=2)
        for t in range(frames):
            clips[clip, t, row:row + 4, col + t:col + t + 4] = 255
    return clips


def test_next_frame_prediction_program(tmp_path):
    """keras.io's program, step by step, on 4-frame clips of 16x16 moving squares."""
    rng = np.random.default_rng(0)
    tf.keras.utils.set_random_seed(1)
    dataset = moving_squares(12, 5, rng)
    train_dataset, val_dataset = dataset[:9] / 255, dataset[9:] / 255  # float64, as there
    x_train, y_train = train_dataset[:, :-1], train_dataset[:, 1:]
    x_val, y_val = val_dataset[:, :-1], val_dataset[:, 1:]

    inp = layers.Input(shape=(None, *x_train.shape[2:]))
    x = layers.ConvLSTM2D(filters=8, kernel_size=(5, 5), padding="same",
                          return_sequences=True, activation="relu")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(filters=8, kernel_size=(3, 3), padding="same",
                          return_sequences=True, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(filters=8, kernel_size=(1, 1), padding="same",
                          return_sequences=True, activation="relu")(x)
    x = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid",
                      padding="same")(x)
    model = keras.models.Model(inp, x)
    model.compile(loss=keras.losses.binary_crossentropy,
                  optimizer=keras.optimizers.Adam(0.01))

    text = io.StringIO()
    with redirect_stdout(text):
        model.summary(line_length=100)  # wide enough for each row to fit on one line
    summary = text.getvalue()
    # Keras 3.15's counts for this model (printed by Keras: [0, 7232, 32, 4640, 32, 544, 217])
    assert [layer.count_params() for layer in model.layers] == [0, 7232, 32, 4640, 32, 544,
                                                                 217]
    for count in ("7,232", "4,640", "544", "217", "32", "Total params: 12,697"):
        assert count in summary, summary
    rows = [line for line in summary.splitlines() if "(ConvLSTM2D)" in line]
    assert len(rows) == 3 and all("(None, None, 16, 16, 8)" in row for row in rows), summary

    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10)
    reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=5)
    history = model.fit(x_train, y_train, batch_size=3, epochs=6,
                        validation_data=(x_val, y_val), callbacks=[early_stopping, reduce_lr],
                        verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 6 and set(history.history) >= {"loss", "val_loss"}
    assert losses[-1] < 0.6 * losses[0], losses

    # the program's frame prediction: the clip grows by the predicted frame each time
    frames = val_dataset[0][:2]
    for _ in range(3):
        new_prediction = np.squeeze(model.predict(np.expand_dims(frames, axis=0),
                                                  verbose=0), axis=0)
        predicted_frame = np.expand_dims(new_prediction[-1, ...], axis=0)
        frames = np.concatenate((frames, predicted_frame), axis=0)
    assert frames.shape == (5, 16, 16, 1)
    assert np.all((frames[2:] >= 0) & (frames[2:] <= 1))

