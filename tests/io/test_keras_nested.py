""".keras files of what Keras users build beyond a flat model: models used as layers (a frozen
base, a Sequential in a Sequential, one model called twice), users' layer classes and Lambda
layers of registered functions; and the clear refusals of what cannot be written.

(Real Keras reading these layouts and writing them: tests/io/test_keras_real_fixture.py.)
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

import convnp as tf
from convnp.io import keras_format as kf

K = tf.keras
L = K.layers
rng = np.random.default_rng(0)


def parts(path):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
    with h5py.File(io.BytesIO(weights), "r") as f:
        names = []
        f.visit(names.append)
        datasets = sorted(n for n in names if isinstance(f[n], h5py.Dataset))
    return config, datasets


def flags(model) -> list:
    """Every trainable flag, nested models included, in layer order."""
    out = [model.trainable]
    for layer in model.layers:
        out += flags(layer) if hasattr(layer, "layers") else [layer.trainable]
    return out


def frozen_transfer():
    base_in = K.Input((5, 5, 2))
    h = L.ReLU()(L.BatchNormalization(name="bbn")(L.Conv2D(3, 3, name="bconv")(base_in)))
    base = K.Model(base_in, L.GlobalAveragePooling2D()(h), name="base")
    base.trainable = False
    base.get_layer("bconv").trainable = True  # a flag the file keeps layer by layer
    inputs = K.Input((5, 5, 2))
    model = K.Model(inputs, L.Dense(2, name="head")(base(inputs, training=False)))
    model.compile(K.optimizers.Adam(0.01), "mse")
    return model


def test_frozen_base_round_trip_is_exact(tmp_path):
    model = frozen_transfer()
    x, y = rng.normal(size=(4, 5, 5, 2)).astype("float32"), rng.normal(size=(4, 2))
    model.fit(x, y, epochs=2, batch_size=2, verbose=0)
    model.save(tmp_path / "m.keras")
    again = K.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert flags(again) == flags(model)
    assert again.get_layer("base")._fixed_training is False
    assert again.optimizer.iterations == model.optimizer.iterations == 4
    # the optimizer state came back too: one more step ends at the same weights
    model.train_on_batch(x, y)
    again.train_on_batch(x, y)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    config, datasets = parts(tmp_path / "m.keras")
    entry = config["config"]["layers"][1]
    assert entry["inbound_nodes"][0]["kwargs"] == {"training": False}
    assert entry["config"]["trainable"] is False
    # the nested model's weights sit under its own path, as Keras writes them
    assert "layers/functional/layers/conv2d/vars/0" in datasets
    assert "layers/functional/layers/batch_normalization/vars/3" in datasets


def test_sequential_in_sequential_and_weights_file(tmp_path):
    inner = K.Sequential([L.Dense(4, activation="tanh"), L.Dense(3)], name="inner")
    innermost = K.Sequential([L.Dense(2)], name="innermost")
    model = K.Sequential([K.Input((5,)), inner, innermost, L.Dense(1)])
    x = rng.normal(size=(3, 5)).astype("float32")
    model.save(tmp_path / "m.keras")
    again = K.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [(type(la).__name__, la.name) for la in again.layers[:2]] == [
        ("Sequential", "inner"), ("Sequential", "innermost")]
    _, datasets = parts(tmp_path / "m.keras")
    assert {"layers/sequential/layers/dense/vars/0", "layers/sequential/layers/dense_1/vars/1",
            "layers/sequential_1/layers/dense/vars/0", "layers/dense/vars/0"} <= set(datasets)
    # .weights.h5 uses the same tree
    model.save_weights(tmp_path / "w.weights.h5")
    fresh = K.models.load_model(tmp_path / "m.keras")
    for v in fresh.weights:
        v.assign(np.zeros(v.shape))
    fresh.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_nested_model_called_twice_is_stored_once(tmp_path):
    a, b = K.Input((4,)), K.Input((4,))
    tower = K.Sequential([K.Input((4,)), L.Dense(3)], name="tower")
    model = K.Model([a, b], L.Subtract()([tower(a), tower(b)]))
    xs = [rng.normal(size=(2, 4)).astype("float32") for _ in range(2)]
    model.save(tmp_path / "m.keras")
    again = K.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(again.predict(xs, verbose=0), model.predict(xs, verbose=0))
    assert len(again.get_layer("tower").inbound_nodes) == 2
    config, datasets = parts(tmp_path / "m.keras")
    assert [d for d in datasets if "dense" in d] == ["layers/sequential/layers/dense/vars/0",
                                                     "layers/sequential/layers/dense/vars/1"]
    tower_entry = next(e for e in config["config"]["layers"] if e["name"] == "tower")
    assert len(tower_entry["inbound_nodes"]) == 2


def test_nested_weights_that_do_not_fit_are_refused(tmp_path):
    model = frozen_transfer()
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "a") as f:
        del f["layers/functional/layers/conv2d/vars/1"]
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match=r"'bconv'.*layers/functional/layers/conv2d/vars"):
        K.models.load_model(tmp_path / "bad.keras")


# -- users' layer classes -------------------------------------------------------------------


@tf.keras.saving.register_keras_serializable(package="kfile_tests")
class Affine(L.Layer):
    """y = x * scale + offset, with offset frozen; `power` is a constructor argument."""

    def __init__(self, power=1.0, **kwargs):
        super().__init__(**kwargs)
        self.power = power

    def build(self, input_shape):
        self.offset = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                      name="offset", trainable=False)
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="glorot_uniform",
                                     name="scale")

    def call(self, x):
        return x * self.scale * self.power + self.offset

    def get_config(self):
        return {**super().get_config(), "power": self.power}


class Forgetful(L.Layer):
    """Its get_config() leaves out the constructor's `k`."""

    def __init__(self, k, **kwargs):
        super().__init__(**kwargs)
        self.k = k

    def call(self, x):
        return x * self.k

    def get_config(self):  # written, but without k (with none at all, k would be in the
        return super().get_config()  # config, as Keras 3 makes it from the arguments)


class Holder(L.Layer):
    """A user's layer holding a Dense in an attribute."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = L.Dense(units)

    def call(self, x):
        return self.inner(x) + 1.0

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_registered_user_layer_round_trip(tmp_path):
    x_in = K.Input((3,))
    model = K.Model(x_in, Holder(4, name="holder")(Affine(2.0, name="affine")(x_in)))
    x = rng.normal(size=(2, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    config, datasets = parts(tmp_path / "m.keras")
    entry = config["config"]["layers"][1]
    assert entry["registered_name"] == "kfile_tests>Affine"
    assert entry["module"] == __name__ and entry["config"]["power"] == 2.0
    assert entry["build_config"] == {"input_shape": [None, 3]}
    # own variables trainable first (Keras's order), sub-layers under their attribute
    assert {"layers/affine/vars/0", "layers/affine/vars/1",
            "layers/holder/inner/vars/0"} <= set(datasets)
    again = K.models.load_model(tmp_path / "m.keras", custom_objects={"Holder": Holder})
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    affine = again.get_layer("affine")
    assert isinstance(affine, Affine) and affine.power == 2.0
    assert [v.trainable for v in affine.weights] == [False, True]


def test_user_layer_refusals(tmp_path):
    x_in = K.Input((3,))
    model = K.Model(x_in, Forgetful(2.0, name="forgetful")(x_in))
    with pytest.raises(ValueError, match=r"'forgetful'.*Forgetful.*\['k'\].*get_config"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
    model = K.Model(x_in, Holder(2, name="unknown")(x_in))
    model.save(tmp_path / "h.keras")
    with pytest.raises(ValueError, match=r"'unknown'.*'Holder'.*custom_objects"):
        K.models.load_model(tmp_path / "h.keras")

    class Odd(Affine):
        def get_config(self):
            return {**super().get_config(), "power": np.arange(2)}

    with pytest.raises(ValueError, match=r"'odd'.*get_config\(\) value.*not JSON"):
        K.Sequential([K.Input((3,)), Odd(name="odd")]).save(tmp_path / "o.keras")
    assert not (tmp_path / "o.keras").exists()


@tf.keras.saving.register_keras_serializable(package="kfile_tests")
class Net(K.Model):
    """A user's Model subclass: one layer in an attribute sorting before `layers`, one after."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.a = L.Dense(units, activation="tanh")
        self.z = L.Dense(1)

    def call(self, x):
        return self.z(self.a(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_subclassed_model_round_trips_nested_and_alone(tmp_path):
    x = rng.normal(size=(2, 3)).astype("float32")
    x_in = K.Input((3,))
    model = K.Model(x_in, Net(4, name="net")(x_in))
    model.save(tmp_path / "m.keras")
    config, datasets = parts(tmp_path / "m.keras")
    entry = config["config"]["layers"][1]
    assert (entry["registered_name"], entry["config"]) == (
        "kfile_tests>Net", {"name": "net", "trainable": True, "dtype": "float32", "units": 4})
    # Keras walks a subclassed model's attributes with its `layers` property among them
    assert {"layers/net/a/vars/0", "layers/net/layers/dense_1/vars/0"} <= set(datasets)
    again = K.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(again.get_layer("net"), Net) and again.get_layer("net").units == 4

    alone = Net(3, name="alone")
    alone.build((None, 3))
    alone.compile("adam", "mse")
    alone.fit(x, np.ones((2, 1)), verbose=0)
    alone.save(tmp_path / "alone.keras")
    back = K.models.load_model(tmp_path / "alone.keras")
    np.testing.assert_array_equal(back.predict(x, verbose=0), alone.predict(x, verbose=0))
    assert back.optimizer.iterations == 1


def test_subclassed_model_without_its_arguments_in_get_config_is_refused(tmp_path):
    class Bare(K.Model):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.d = L.Dense(units)

        def call(self, x):
            return self.d(x)

        def get_config(self):  # (with none of its own, the constructor's arguments are used)
            return super().get_config()

    x_in = K.Input((3,))
    model = K.Model(x_in, Bare(2, name="bare")(x_in))
    with pytest.raises(ValueError, match=r"model 'bare'.*Bare.*\['units'\]"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
    # its weights go where Keras puts a subclassed model's: under its attribute names
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        assert f["layers/bare/d/vars/0"].shape == (3, 2)


# -- Lambda ---------------------------------------------------------------------------------


@tf.keras.saving.register_keras_serializable(package="kfile_tests")
def squared_plus(x, bias=0.0):
    return x * x + bias


def test_lambda_of_registered_function_round_trips(tmp_path):
    model = K.Sequential([K.Input((3,)),
                          L.Lambda(squared_plus, arguments={"bias": 1.5}, name="sq")])
    x = rng.normal(size=(2, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    config, _ = parts(tmp_path / "m.keras")
    assert config["config"]["layers"][1]["config"]["function"] == {
        "module": "builtins", "class_name": "function", "config": "kfile_tests>squared_plus",
        "registered_name": "function"}
    for again in (K.models.load_model(tmp_path / "m.keras"),
                  K.models.model_from_json(model.to_json())):
        assert again.layers[0].function is squared_plus
        np.testing.assert_array_equal(again.predict(x, verbose=0), x * x + 1.5)
    model.save(tmp_path / "m.convnp")
    np.testing.assert_array_equal(K.models.load_model(tmp_path / "m.convnp").predict(x),
                                  x * x + 1.5)


def test_lambda_of_plain_function_is_refused_clearly(tmp_path):
    model = K.Sequential([K.Input((3,)), L.Lambda(lambda t: t * 2, name="twice")])
    with pytest.raises(ValueError, match=r"'twice'.*register_keras_serializable.*save_weights"):
        model.to_json()
    with pytest.raises(ValueError, match=r"'twice' \(Lambda\).*register_keras_serializable"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
    model.save_weights(tmp_path / "w.weights.h5")  # what works instead


def test_lambda_naming_an_unknown_function_is_refused(tmp_path):
    model = K.Sequential([K.Input((3,)), L.Lambda(squared_plus, name="sq")])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["function"]["config"] = "nowhere>evil"
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match=r"'nowhere>evil' is not a registered function"):
        kf.load_keras(tmp_path / "bad.keras")


def test_course_transfer_learning_model_round_trips(tmp_path):
    # the course's week-2 pattern: a frozen MobileNetV2 base called with training=False
    base = K.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False,
                                      weights=None, alpha=0.35)
    base.trainable = False
    inputs = K.Input((32, 32, 3))
    x = L.GlobalAveragePooling2D()(base(inputs, training=False))
    model = K.Model(inputs, L.Dense(1)(x))
    for v in model.weights:  # not the initial moving statistics: every weight must travel
        v.assign(rng.normal(scale=0.1, size=v.shape) + (1.0 if "variance" in v.name else 0.0))
    model.save(tmp_path / "m.keras")
    again = K.models.load_model(tmp_path / "m.keras")
    images = rng.random((2, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(again.predict(images, verbose=0),
                                  model.predict(images, verbose=0))
    assert flags(again) == flags(model)
    assert len(again.trainable_weights) == 2


def test_to_json_with_a_user_layer_needs_custom_objects():
    x_in = K.Input((3,))
    model = K.Model(x_in, Holder(2, name="holder")(x_in))
    text = model.to_json()
    with pytest.raises(ValueError, match="Holder"):
        K.models.model_from_json(text)
    again = K.models.model_from_json(text, custom_objects={"Holder": Holder})
    assert isinstance(again.get_layer("holder"), Holder) and again.get_layer("holder").units == 2
