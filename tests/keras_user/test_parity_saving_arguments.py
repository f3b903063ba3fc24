"""The arguments of Model.save, keras.saving.save_model and load_weights as TF 2.21 (Keras
3.15.1) takes them; the expected types and results were printed by TF 2.21 for the same
programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    return model


def test_keras_2_save_format_is_ignored_when_the_extension_says_it(tmp_path):
    # TF 2.21: save(..., save_format="h5") with a .h5 path saves (deprecation warning);
    # save_format="tf" with a path of no such extension is a ValueError
    model = _model()
    with pytest.warns(DeprecationWarning, match="save_format"):
        model.save(tmp_path / "m.h5", save_format="h5")
    assert (tmp_path / "m.h5").exists()
    with pytest.raises(ValueError, match="save_format"):
        model.save(tmp_path / "saved", save_format="tf")
    assert not (tmp_path / "saved").exists()


def test_unknown_save_arguments_are_value_errors(tmp_path):
    # TF 2.21: ValueError "The following argument(s) are not supported: ['bogus']"; and
    # zipped=False with a .keras path is a ValueError
    model = _model()
    with pytest.raises(ValueError, match="bogus"):
        model.save(tmp_path / "m.keras", bogus=1)
    with pytest.raises(ValueError, match="zipped"):
        model.save(tmp_path / "m.keras", zipped=False)
    model.save(tmp_path / "m.keras", zipped=True)
    assert list(tmp_path.iterdir()) == [tmp_path / "m.keras"]
    with pytest.raises(ValueError, match="bogus"):
        model.load_weights(tmp_path / "m.keras", bogus=1)


def test_keras_saving_save_model_returns_none(tmp_path):
    # TF 2.21: keras.saving.save_model and keras.models.save_model return None and take
    # Model.save's arguments
    model = _model()
    assert keras.saving.save_model(model, tmp_path / "a.keras") is None
    assert keras.models.save_model(model, str(tmp_path / "b.keras")) is None
    with pytest.raises(ValueError, match="bogus"):
        keras.saving.save_model(model, tmp_path / "c.keras", bogus=1)
    again = keras.models.load_model(tmp_path / "a.keras")
    np.testing.assert_array_equal(again.get_weights()[0], model.get_weights()[0])


@pytest.mark.parametrize("name", ["u.keras", "u.h5"])
def test_a_model_never_built_saves_its_architecture(tmp_path, name):
    # TF 2.21: save() of a Sequential with no input shape (or a subclassed model never
    # called) writes the .keras file with a warning ("You are saving a model that has not
    # yet been built"), and a legacy .h5 file too; load_model gives it unbuilt, compiled as
    # it was, and fit builds it
    model = keras.Sequential([keras.layers.Dense(3, activation="relu", name="a"),
                              keras.layers.Dense(1, name="b")], name="u")
    model.compile("adam", "mse")
    if name.endswith(".keras"):
        with pytest.warns(UserWarning, match="not yet been built"):
            model.save(tmp_path / name)
    else:
        model.save(tmp_path / name)
    again = keras.models.load_model(tmp_path / name)
    assert (type(again).__name__, again.name, again.built) == ("Sequential", "u", False)
    assert [layer.name for layer in again.layers] == ["a", "b"]
    history = again.fit(np.ones((4, 5)), np.ones((4, 1)), verbose=0)
    assert list(history.history) == ["loss"]
    assert [w.shape for w in again.get_weights()] == [(5, 3), (3,), (3, 1), (1,)]


class _Sub(keras.Model):
    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.d = keras.layers.Dense(units)

    def call(self, x):
        return self.d(x)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_a_subclassed_model_never_called_saves_its_config(tmp_path):
    # TF 2.21: saved with the warning; loaded unbuilt, with its units, and callable
    with pytest.warns(UserWarning, match="not yet been built"):
        _Sub(4).save(tmp_path / "s.keras")
    again = keras.models.load_model(tmp_path / "s.keras", custom_objects={"_Sub": _Sub})
    assert type(again) is _Sub and not again.built and again.units == 4
    assert again(np.ones((1, 3), np.float32)).shape == (1, 4)


def test_keras_saving_save_weights_and_load_weights(tmp_path):
    # TF 2.21: keras.saving.save_weights(model, path) / load_weights(model, path) are the
    # function forms of the model's methods; an unknown keyword is a ValueError
    model = _model()
    keras.saving.save_weights(model, tmp_path / "w.weights.h5")
    other = _model()
    keras.saving.load_weights(other, tmp_path / "w.weights.h5")
    for a, b in zip(other.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="bogus"):
        keras.saving.load_weights(other, tmp_path / "w.weights.h5", bogus=1)


def test_a_file_that_is_not_hdf5_or_zip_is_tfs_error_type_too(tmp_path):
    # TF 2.21: load_model / load_weights of a file that is not HDF5 raise OSError (h5py's),
    # load_weights of a ".keras" file that is not a zip zipfile.BadZipFile; convnp's errors
    # are ValueErrors too (their type before)
    import zipfile

    model = _model()
    for name in ("j.h5", "j.weights.h5"):
        (tmp_path / name).write_bytes(b"junk" * 10)
        with pytest.raises(OSError):
            model.load_weights(tmp_path / name)
        with pytest.raises(ValueError):
            model.load_weights(tmp_path / name)
    with pytest.raises(OSError):
        keras.models.load_model(tmp_path / "j.h5")
    (tmp_path / "j.keras").write_bytes(b"junk" * 10)
    with pytest.raises(zipfile.BadZipFile):
        model.load_weights(tmp_path / "j.keras")
    with pytest.raises(ValueError):
        keras.models.load_model(tmp_path / "j.keras")
