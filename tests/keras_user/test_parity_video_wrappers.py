"""TensorFlow parity of the wrappers video programs use: ``TimeDistributed`` over a whole
feature-extractor model (a small CNN run on every frame before a GRU), and the exception
types of misuse. The expected behaviour written here is TF 2.21's (Keras 3)."""

import json
import zipfile

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers


def _frame_model(name="feature_extractor"):
    inp = keras.Input((8, 8, 3))
    y = layers.Conv2D(4, 3, activation="relu")(inp)
    y = layers.GlobalAveragePooling2D()(y)
    return keras.Model(inp, y, name=name)


def _video_model(frame_model):
    inp = keras.Input((3, 8, 8, 3))
    x = layers.TimeDistributed(frame_model)(inp)
    x = layers.GRU(4)(x)
    out = layers.Dense(2, activation="softmax")(x)
    return keras.Model(inp, out)


def _clips(n=4):
    return np.random.default_rng(0).random((n, 3, 8, 8, 3)).astype("float32")


def test_time_distributed_runs_a_functional_model_on_every_frame():
    # TF 2.21: TimeDistributed(model) is accepted (a model is a layer); the symbolic output
    # is (None, 3, 4), the wrapper counts the model's 112 parameters
    keras.backend.clear_session()
    frame_model = _frame_model()
    td = layers.TimeDistributed(frame_model)
    out = td(keras.Input((3, 8, 8, 3)))
    assert tuple(out.shape) == (None, 3, 4)
    assert td.count_params() == 112
    assert [w.name for w in td.weights] == ["kernel", "bias"]
    x = _clips(2)
    y = np.asarray(td(x))
    assert y.shape == (2, 3, 4)
    for t in range(3):
        np.testing.assert_allclose(y[:, t], np.asarray(frame_model(x[:, t])),
                                   rtol=1e-5, atol=1e-6)


def test_time_distributed_over_a_sequential_model():
    # TF 2.21: a Sequential model works too; its output shape comes from its last layer
    keras.backend.clear_session()
    inner = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(2, 3),
                              layers.GlobalMaxPooling2D()])
    td = layers.TimeDistributed(inner)
    assert tuple(td(_clips(2)).shape) == (2, 3, 2)
    assert td.count_params() == 56
    stacked = keras.Sequential([keras.Input((3, 8, 8, 3)), td, layers.Flatten()])
    assert stacked.output_shape == (None, 6)


def test_training_through_a_wrapped_model_matches_the_same_layers_unwrapped():
    # the wrapped model's weights train: one SGD step gives the weights of the same network
    # written as TimeDistributed(Conv2D), TimeDistributed(GlobalAveragePooling2D)
    keras.backend.clear_session()
    wrapped = _video_model(_frame_model())
    inp = keras.Input((3, 8, 8, 3))
    x = layers.TimeDistributed(layers.Conv2D(4, 3, activation="relu"))(inp)
    x = layers.TimeDistributed(layers.GlobalAveragePooling2D())(x)
    x = layers.GRU(4)(x)
    plain = keras.Model(inp, layers.Dense(2, activation="softmax")(x))
    plain.set_weights(wrapped.get_weights())
    x, y = _clips(), np.array([0, 1, 1, 0])
    for model in (wrapped, plain):
        model.compile(loss="sparse_categorical_crossentropy",
                      optimizer=keras.optimizers.SGD(0.5))
        model.fit(x, y, epochs=1, batch_size=4, verbose=0, shuffle=False)
    for a, b in zip(wrapped.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(wrapped.get_weights()[0], _video_model(_frame_model())
                           .get_weights()[0])


def test_wrapped_model_config_and_keras_file_round_trip(tmp_path):
    # TF 2.21: get_config()["layer"] is the model's entry (class_name "Functional"); the
    # .keras file holds the model inline and its weights under
    # layers/time_distributed/layer/layers/<name>/vars
    keras.backend.clear_session()
    model = _video_model(_frame_model())
    td = model.layers[1]
    config = td.get_config()
    assert sorted(config) == ["dtype", "layer", "name", "trainable"]
    assert config["layer"]["class_name"] == "Functional"
    copy = layers.TimeDistributed.from_config(config)
    assert type(copy.layer).__name__ == "Functional"
    path = tmp_path / "video.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        written = json.loads(archive.read("config.json"))
    inner = written["config"]["layers"][1]["config"]["layer"]
    assert inner["class_name"] == "Functional"
    assert inner["config"]["layers"][1]["inbound_nodes"][0]["args"][0]["class_name"] \
        == "__keras_tensor__"
    loaded = keras.models.load_model(path)
    assert type(loaded.layers[1].layer).__name__ == "Functional"
    x = _clips(2)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: layers.TimeDistributed(3),
    lambda: layers.TimeDistributed("dense"),
    lambda: layers.Bidirectional(3),
    lambda: layers.Wrapper(3),
])
def test_a_wrapper_of_something_not_a_layer_is_a_value_error(make):
    # TF 2.21: "... isn't a supported layer type" is a ValueError
    with pytest.raises(ValueError, match="Layer instance or a model"):
        make()


@pytest.mark.parametrize("make", [
    lambda: layers.Conv3D(2, (3, 3)),
    lambda: layers.Conv3D(2, 3.5),
    lambda: layers.Conv3D(2, None),
    lambda: layers.Conv3D(2, 3, strides=(1, 1)),
    lambda: layers.Conv3DTranspose(2, (3, 3, 3, 3)),
    lambda: layers.MaxPooling3D((2, 2)),
    lambda: layers.AveragePooling3D(2.5),
    lambda: layers.UpSampling3D((2, 2)),
    lambda: layers.ConvLSTM3D(2, (3, 3)),
    lambda: layers.ConvLSTM2D(2, (3, 3, 3)),
    lambda: layers.ConvLSTM1D(2, (3, 3)),
    lambda: layers.ConvLSTM1D(2, 3.5),
    lambda: layers.ConvLSTM1D(2, 3, strides=(1, 1)),
])
def test_a_window_argument_of_the_wrong_form_is_a_value_error(make):
    # TF 2.21: Keras's tuple check raises ValueError for a wrong length or a non-integer
    with pytest.raises(ValueError, match="must be"):
        make()
