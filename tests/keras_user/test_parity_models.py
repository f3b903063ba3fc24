"""Building, compiling and inspecting models as TensorFlow 2.21 (Keras 3.15) does: what a
user's program reads back (history keys, model attributes, exception types). Each expected
value below is what TF 2.21 gave for the same program."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
L = keras.layers
X = np.linspace(0.0, 1.0, 12, dtype=np.float32).reshape(4, 3)
Y = np.array([[1.0], [0.0], [1.0], [0.0]], np.float32)


def _dense_model(units=1, activation="sigmoid"):
    return keras.Sequential([keras.Input((3,)), L.Dense(units, activation=activation)])


# -- metrics given by a string log under that string ---------------------------------------

@pytest.mark.parametrize("identifier", ["AUC", "Precision", "Recall", "BinaryAccuracy", "MSE",
                                        "MAE", "MeanSquaredError", "TruePositives",
                                        "binary_accuracy", "mae", "acc"])
def test_string_metric_logs_under_the_string(identifier):
    # TF 2.21: metrics=["AUC"] logs "AUC" and "val_AUC" (not "auc"); the same for every string
    model = _dense_model()
    model.compile("sgd", "binary_crossentropy", metrics=[identifier])
    history = model.fit(X, Y, verbose=0, validation_data=(X, Y))
    assert sorted(history.history) == sorted(["loss", identifier, "val_loss", f"val_{identifier}"])
    assert sorted(model.evaluate(X, Y, verbose=0, return_dict=True)) == sorted(["loss", identifier])


def test_string_metric_per_output_is_prefixed_with_the_output_name():
    # TF 2.21: metrics={"out1": "AUC"} logs "out1_AUC"
    inputs = keras.Input((3,))
    out1 = L.Dense(1, activation="sigmoid", name="out1")(inputs)
    out2 = L.Dense(1, name="out2")(inputs)
    model = keras.Model(inputs, [out1, out2])
    model.compile("sgd", ["binary_crossentropy", "mse"], metrics={"out1": "AUC", "out2": "MSE"})
    logs = model.evaluate(X, [Y, Y], verbose=0, return_dict=True)
    assert sorted(logs) == ["loss", "out1_AUC", "out1_loss", "out2_MSE", "out2_loss"]


def test_metric_objects_keep_their_own_names():
    tf.keras.backend.clear_session()  # metric names as in a fresh session (Keras numbers them)
    # TF 2.21: an object logs under its name ("auc" by default, or the name given)
    model = _dense_model()
    model.compile("sgd", "binary_crossentropy",
                  metrics=[keras.metrics.AUC(), keras.metrics.Precision(name="prec")])
    assert sorted(model.evaluate(X, Y, verbose=0, return_dict=True)) == ["auc", "loss", "prec"]
    assert keras.metrics.get("AUC").name.startswith("auc")  # standalone: the class's name


# -- compile's execution options are the model's attributes --------------------------------

def test_compile_options_are_attributes_before_and_after_compile():
    # TF 2.21: False, False, 1, False before compile; compile's values after
    model = _dense_model()
    assert (model.run_eagerly, model.jit_compile, model.steps_per_execution,
            model.compiled) == (False, False, 1, False)
    model.compile("sgd", "mse")
    assert (model.run_eagerly, model.jit_compile, model.steps_per_execution,
            model.compiled) == (False, False, 1, True)
    model.compile("sgd", "mse", run_eagerly=True, steps_per_execution=3, jit_compile="auto")
    assert (model.run_eagerly, model.jit_compile, model.steps_per_execution) == (True, False, 3)
    model.run_eagerly = False  # settable, as in Keras
    assert model.run_eagerly is False
    assert list(model.fit(X, Y, verbose=0, batch_size=1).history) == ["loss"]


def test_compile_accepts_auto_scale_loss():
    # TF 2.21: compile(auto_scale_loss=...) is one of compile's arguments
    model = _dense_model()
    model.compile("sgd", "mse", auto_scale_loss=True)
    assert model.compiled


def test_compile_rejects_a_bad_steps_per_execution():
    with pytest.raises(ValueError, match="steps_per_execution"):
        _dense_model().compile("sgd", "mse", steps_per_execution=0)


def test_get_compile_config_and_compile_from_config(tmp_path):
    # TF 2.21: get_compile_config() is None before compile, then records compile's arguments
    # (not later assignments to the attributes); a .keras file loads with them
    model = _dense_model()
    assert model.get_compile_config() is None
    model.compile("adam", "binary_crossentropy", metrics=["AUC"], run_eagerly=True,
                  steps_per_execution=2)
    model.run_eagerly = False
    config = model.get_compile_config()
    assert (config["loss"], config["run_eagerly"], config["steps_per_execution"],
            config["jit_compile"]) == ("binary_crossentropy", True, 2, False)
    assert config["optimizer"]["class_name"] == "Adam"
    twin = _dense_model()
    twin.compile_from_config(config)
    assert twin.compiled and type(twin.optimizer).__name__ == "Adam"
    assert (twin.run_eagerly, twin.steps_per_execution) == (True, 2)
    assert sorted(twin.evaluate(X, Y, verbose=0, return_dict=True)) == ["AUC", "loss"]
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert (loaded.run_eagerly, loaded.steps_per_execution) == (True, 2)
    with pytest.raises(TypeError, match="get_compile_config"):
        twin.compile_from_config("adam")


# -- an unbuilt model has no inputs, outputs or shapes yet: AttributeError -----------------

@pytest.mark.parametrize("attribute", ["input", "output", "inputs", "outputs", "input_shape",
                                       "output_shape"])
def test_unbuilt_sequential_lacks_the_graph_attributes(attribute):
    # TF 2.21: AttributeError, so hasattr() answers False (convnp raised ValueError, and
    # hasattr let it through); after build() they are there
    model = keras.Sequential([L.Dense(2), L.Dense(1)])
    with pytest.raises(AttributeError, match="build"):
        getattr(model, attribute)
    assert not hasattr(model, attribute)
    assert not hasattr(keras.Sequential(), attribute)
    model.build((None, 3))
    assert hasattr(model, attribute)
    assert model.input_shape == (None, 3) and model.output_shape == (None, 1)


def test_unbuilt_subclassed_model_lacks_input_shape():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    assert not hasattr(net, "input_shape") and not hasattr(net, "inputs")  # TF 2.21


# -- Sequential misuse: exception types that Keras 3 and Keras 2 programs both catch -------

@pytest.mark.parametrize("item", ["dense", 3, None])
def test_sequential_add_of_a_non_layer_is_a_value_error_and_a_type_error(item):
    # TF 2.21 (Keras 3): ValueError; Keras 2: TypeError
    for error in (ValueError, TypeError):
        with pytest.raises(error, match="Layer"):
            keras.Sequential().add(item)
        with pytest.raises(error, match="Layer"):
            keras.Sequential([L.Dense(1), item])


def test_sequential_add_of_a_computed_tensor_is_a_value_error():
    computed = L.Dense(2)(keras.Input((3,)))
    with pytest.raises(ValueError, match="computed by layers"):  # TF 2.21: ValueError
        keras.Sequential().add(computed)


def test_sequential_pop_without_layers_is_an_index_error_and_a_type_error():
    # TF 2.21 (Keras 3): IndexError, also with only an Input; Keras 2: TypeError
    for model in (keras.Sequential(), keras.Sequential([keras.Input((3,))])):
        for error in (IndexError, TypeError):
            with pytest.raises(error, match="no layers"):
                model.pop()
    model = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    assert isinstance(model.pop(), L.Dense)
    with pytest.raises(IndexError):
        model.pop()


# -- load_model of a missing file ----------------------------------------------------------

@pytest.mark.parametrize("name", ["nope.keras", "nope", "nope.convnp"])
def test_load_model_of_a_missing_file_is_a_value_error(tmp_path, name):
    # TF 2.21: ValueError ("File not found"); Keras 2 raised an OSError: both are caught
    for error in (ValueError, FileNotFoundError):
        with pytest.raises(error, match="no such model file"):
            keras.models.load_model(tmp_path / name)


def test_load_model_of_a_missing_h5_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):  # TF 2.21: FileNotFoundError (from h5py)
        keras.models.load_model(tmp_path / "nope.h5")


# -- a subclassed model's own build() and add_weight ---------------------------------------

class _Scaled(keras.Model):
    """A subclassed model with variables of its own, made in its build()."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = L.Dense(units, kernel_initializer="ones")
        self.built_with = []

    def build(self, input_shape):
        self.built_with.append(tuple(input_shape))
        self.temperature = self.add_weight(shape=(), initializer="ones", name="temperature")
        self.offset = self.add_weight(shape=(self.units,), initializer="zeros",
                                      trainable=False, name="offset")

    def call(self, x):
        return self.dense(x) * self.temperature + self.offset

    def get_config(self):
        return {"units": self.units, **super().get_config()}


def test_subclassed_model_build_runs_once_and_add_weight_makes_its_variables():
    # TF 2.21: the first call runs build() with that call's input shape; the model's own
    # variables come first in weights, then its layers'; count_params counts them
    model = _Scaled()
    out = model(X)
    model(X)
    assert model.built_with == [(4, 3)]
    assert np.asarray(out).shape == (4, 2)
    assert [w.name for w in model.weights] == ["temperature", "offset", "kernel", "bias"]
    assert [w.name for w in model.trainable_weights] == ["temperature", "kernel", "bias"]
    assert [w.name for w in model.non_trainable_weights] == ["offset"]
    assert [w.name for w in model.non_trainable_variables] == ["offset"]
    assert model.count_params() == 1 + 2 + 3 * 2 + 2
    assert len(model.get_weights()) == 4


def test_subclassed_model_trains_its_own_variables():
    model = _Scaled()
    model(X)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(X, np.zeros((4, 2), np.float32), epochs=1, batch_size=4, verbose=0)
    assert float(np.asarray(model.temperature)) < 1.0  # a gradient step moved it down
    assert np.allclose(np.asarray(model.offset), 0.0)  # not trainable: untouched


def test_explicit_build_of_a_subclassed_model_runs_the_users_build(tmp_path):
    model = _Scaled()
    model.build((None, 3))
    assert model.built and model.built_with == [(None, 3)]
    model.temperature.assign(2.0)
    expected = model.predict(X, verbose=0)
    np.testing.assert_allclose(expected, 2.0 * X.sum(axis=1, keepdims=True) * np.ones((1, 2)),
                               rtol=1e-6)
    model.save_weights(tmp_path / "m.weights.h5")
    twin = _Scaled()
    twin(X)
    twin.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(twin.predict(X, verbose=0), expected, rtol=1e-6)


def test_non_trainable_variables_of_layers_and_models():
    # TF 2.21: non_trainable_variables is non_trainable_weights (layers and models)
    model = keras.Sequential([keras.Input((3,)), L.Dense(2), L.BatchNormalization()])
    names = ["moving_mean", "moving_variance"]
    assert [v.name for v in model.non_trainable_variables] == names
    assert [v.name for v in model.layers[1].non_trainable_variables] == names
    model.trainable = False
    assert len(model.non_trainable_variables) == 6


# -- a one-input model takes its data as a list (or tuple) of one array --------------------

@pytest.mark.parametrize("listed_input", [True, False])
def test_one_input_model_takes_a_list_of_one_array(listed_input):
    # TF 2.21: Model([inp], out) and Model(inp, out) both take [x] / (x,) in predict, fit,
    # evaluate, the *_on_batch methods and a direct call, and [y] as one output's targets
    inputs = keras.Input((3,))
    model = keras.Model([inputs] if listed_input else inputs, L.Dense(2)(inputs))
    model.compile("sgd", "mse")
    targets = np.ones((4, 2), np.float32)
    expected = model.predict(X, verbose=0)
    np.testing.assert_allclose(model.predict([X], verbose=0), expected)
    np.testing.assert_allclose(model.predict((X,), verbose=0), expected)
    np.testing.assert_allclose(np.asarray(model([X])), expected, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch([X]), expected, rtol=1e-6)
    assert np.isclose(model.evaluate([X], [targets], verbose=0),
                      model.evaluate(X, targets, verbose=0))
    assert list(model.fit([X], [targets], verbose=0, validation_data=([X], [targets]))
                .history) == ["loss", "val_loss"]
    assert np.isfinite(model.train_on_batch((X,), targets))
    # a list of numbers (rows) is still the data itself
    assert model.predict([[1.0, 2.0, 3.0]], verbose=0).shape == (1, 2)


def test_sequential_takes_a_list_of_one_array():
    model = keras.Sequential([keras.Input((3,)), L.Dense(2)])  # TF 2.21: as above
    np.testing.assert_allclose(model.predict([X], verbose=0), model.predict(X, verbose=0))


# -- Model([inp], [out]): input/output keep the list ---------------------------------------

@pytest.mark.parametrize("container", [list, tuple])
def test_one_tensor_given_in_a_list_comes_back_in_it(container):
    # TF 2.21: model.input / model.output / a call on a tensor keep the container; predict,
    # a call on data and the shapes give the bare value
    inputs = keras.Input((3,))
    outputs = L.Dense(2)(inputs)
    model = keras.Model(container([inputs]), container([outputs]))
    assert type(model.input) is container and model.input[0] is inputs
    assert type(model.output) is container and model.output[0] is outputs
    called = model(keras.Input((3,)))
    assert type(called) is container and tuple(called[0].shape) == (None, 2)
    assert (model.input_shape, model.output_shape) == ((None, 3), (None, 2))
    assert isinstance(model.predict(X, verbose=0), np.ndarray)
    bare = keras.Model(inputs, outputs)
    assert bare.input is inputs and bare.output is outputs
    assert not isinstance(bare(keras.Input((3,))), (list, tuple))


# -- BackupAndRestore cleans up after a finished fit ---------------------------------------

def test_backup_and_restore_removes_its_directory_after_a_finished_fit(tmp_path):
    # TF 2.21: the backup directory is gone once fit ends normally (delete_checkpoint=True)
    backup = tmp_path / "backup"
    model = _dense_model()
    model.compile("sgd", "binary_crossentropy")
    model.fit(X, Y, epochs=2, verbose=0,
              callbacks=[keras.callbacks.BackupAndRestore(str(backup))])
    assert not backup.exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")  # something of the user's: the directory stays
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(str(kept))])
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[
        keras.callbacks.BackupAndRestore(str(backup), delete_checkpoint=False)])
    assert backup.exists() and any(backup.iterdir())


# -- built and unbuilt: layer.build(), count_params() --------------------------------------

class _WithBuild(L.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale


def test_a_users_build_called_by_hand_leaves_the_layer_built():
    # TF 2.21: built is True after layer.build(shape), and the first call does not build it
    # again (convnp made the weight twice: 2 weights, 6 parameters)
    layer = _WithBuild()
    layer.build((None, 3))
    assert layer.built
    layer(X)
    assert len(layer.weights) == 1 and layer.count_params() == 3


@pytest.mark.parametrize("make", [lambda: L.Dense(2), lambda: L.Flatten(),
                                  lambda: L.BatchNormalization(), lambda: L.Conv2D(2, 3),
                                  lambda: _WithBuild(),
                                  lambda: keras.Sequential([L.Dense(2)]),
                                  lambda: keras.Sequential()])
def test_count_params_of_an_unbuilt_layer_or_model_is_a_value_error(make):
    with pytest.raises(ValueError, match="not built"):  # TF 2.21: ValueError
        make().count_params()


@pytest.mark.parametrize("make", [lambda: L.ReLU(), lambda: L.Dropout(0.5),
                                  lambda: L.MaxPooling2D(), lambda: L.GlobalAveragePooling2D(),
                                  lambda: L.Activation("relu")])
def test_count_params_of_layers_keras_builds_when_made_is_zero(make):
    assert make().count_params() == 0  # TF 2.21: these are built when made


def test_count_params_of_built_models_counts_each_variable_once():
    shared = L.Dense(3)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, shared(shared(inputs)))
    assert model.count_params() == 12  # TF 2.21
    sequential = keras.Sequential([L.Dense(2), L.Dense(1)])
    sequential.build((None, 3))
    assert sequential.count_params() == 8 + 3


# -- to_json writes what TensorFlow's model_from_json reads --------------------------------

def test_to_json_writes_keras_3s_layout_and_reads_back():
    # TF 2.21's to_json keys; its model_from_json needs "module" (it refused convnp's JSON
    # with "Could not locate class 'Sequential'")
    import json

    model = keras.Sequential([keras.Input((3,)), L.Dense(2, name="d"), L.Dropout(0.1, name="drop")],
                             name="sq")
    written = json.loads(model.to_json())
    # (an empty compile_config for a model never compiled, as TF 2.21 writes it)
    assert sorted(written) == ["build_config", "class_name", "compile_config", "config",
                               "module", "registered_name"]
    assert written["compile_config"] == {}
    assert (written["module"], written["class_name"]) == ("keras", "Sequential")
    assert "\n" in model.to_json(indent=2)  # json.dumps arguments, as Keras passes them on
    model.compile("sgd", "mse")
    assert json.loads(model.to_json())["compile_config"]["loss"] == "mse"
    twin = keras.models.model_from_json(model.to_json())
    twin.set_weights(model.get_weights())
    assert twin.name == "sq" and [layer.name for layer in twin.layers] == ["d", "drop"]
    np.testing.assert_allclose(twin.predict(X, verbose=0), model.predict(X, verbose=0))


def test_to_json_of_a_model_keras_cannot_rebuild_keeps_convnps_layout():
    import json

    unbuilt = keras.Sequential([L.Dense(2)])
    assert sorted(json.loads(unbuilt.to_json())) == ["class_name", "config"]
    assert isinstance(keras.models.model_from_json(unbuilt.to_json()), keras.Sequential)


# -- load_weights(by_name=True), Keras 2's transfer-learning recipe -------------------------

def test_load_weights_by_name_from_a_legacy_h5_file(tmp_path):
    # TF 2.21: by_name loads a legacy .h5 file's layers into the layers of the same name
    # (others untouched; a shape mismatch is a ValueError, or skipped with skip_mismatch);
    # for a .weights.h5 or .keras file it is a ValueError (convnp: TypeError, no by_name)
    rng = np.random.default_rng(0)
    source = keras.Sequential([keras.Input((3,)), L.Dense(4, name="feat"),
                               L.Dense(2, name="head")])
    source.set_weights([rng.normal(size=w.shape).astype("f4") for w in source.get_weights()])
    source.save(tmp_path / "m.h5")
    source.save_weights(tmp_path / "m.weights.h5")
    target = keras.Sequential([keras.Input((3,)), L.Dense(4, name="feat"),
                               L.Dense(5, name="new_head"), L.Dense(1, name="out")])
    kept = target.layers[1].get_weights()[0].copy()
    target.load_weights(tmp_path / "m.h5", by_name=True)
    np.testing.assert_array_equal(target.layers[0].get_weights()[0],
                                  source.layers[0].get_weights()[0])
    np.testing.assert_array_equal(target.layers[1].get_weights()[0], kept)
    clash = keras.Sequential([keras.Input((3,)), L.Dense(4, name="feat"),
                              L.Dense(5, name="head")])
    with pytest.raises(ValueError, match="head"):
        clash.load_weights(tmp_path / "m.h5", by_name=True)
    with pytest.warns(UserWarning, match="skipped"):
        clash.load_weights(tmp_path / "m.h5", by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(clash.layers[0].get_weights()[0],
                                  source.layers[0].get_weights()[0])
    with pytest.raises(ValueError, match="by_name"):
        target.load_weights(tmp_path / "m.weights.h5", by_name=True)
    with pytest.raises(TypeError, match="by_name"):
        target.load_weights(tmp_path / "m.h5", by_name="yes")


# -- a model with several outputs, called on a tensor, keeps their structure ---------------

def test_symbolic_call_of_a_dict_or_tuple_output_model_keeps_the_structure():
    # TF 2.21: a dict by key and a tuple (convnp gave a list, so out["p"] was a TypeError)
    inputs = keras.Input((3,))
    a, b = L.Dense(2)(inputs), L.Dense(1)(inputs)
    by_key = keras.Model(inputs, {"p": a, "q": b})
    out = by_key(keras.Input((3,)))
    assert isinstance(out, dict) and sorted(out) == ["p", "q"]
    assert tuple(out["p"].shape) == (None, 2)
    head = keras.Model(inputs, L.Dense(1)(by_key(inputs)["q"]))
    assert head.predict(X, verbose=0).shape == (4, 1)
    assert isinstance(keras.Model(inputs, (a, b))(keras.Input((3,))), tuple)
    assert isinstance(keras.Model(inputs, [a, b])(keras.Input((3,))), list)
