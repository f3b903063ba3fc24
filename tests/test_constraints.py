"""Weight constraints against Keras 3's numbers (``tests/fixtures/constraints.npz``, written by
``make_constraints.py``): each constraint alone, and a layer's constraints applied after an
optimizer step."""

import numpy as np
import pytest

import convnp as tf
from tests.helpers import load_fixture

C = tf.keras.constraints
CASES = {
    "max_norm": lambda: C.MaxNorm(1.5),
    "max_norm_axes": lambda: C.MaxNorm(2.0, axis=[0, 1, 2]),
    "min_max_norm": lambda: C.MinMaxNorm(0.5, 1.2, rate=0.7, axis=[0, 1, 2]),
    "min_max_norm_axis3": lambda: C.MinMaxNorm(1.0, 2.0, axis=3),
    "non_neg": lambda: C.NonNeg(),
    "unit_norm": lambda: C.UnitNorm(),
    "unit_norm_axes": lambda: C.UnitNorm(axis=[0, 1]),
}


@pytest.fixture(scope="module")
def keras_numbers():
    return load_fixture("constraints.npz")


@pytest.mark.parametrize("case", sorted(CASES))
def test_constraint_matches_keras_and_round_trips(case, keras_numbers):
    constraint = CASES[case]()
    got = constraint(keras_numbers["in/w"])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, keras_numbers[case], rtol=1e-6, atol=1e-7)
    again = C.deserialize(C.serialize(constraint))
    assert type(again) is type(constraint) and again.get_config() == constraint.get_config()


def test_layer_constraints_project_after_the_update_as_keras(keras_numbers):
    z = keras_numbers
    layer = tf.keras.layers.Dense(3, kernel_constraint=C.MaxNorm(0.5), bias_constraint="NonNeg")
    model = tf.keras.Sequential([tf.keras.Input((4,)), layer])
    layer.set_weights([z["fit/kernel0"], z["fit/bias0"]])
    model.compile(tf.keras.optimizers.SGD(0.5), "mse")
    model.train_on_batch(z["fit/x"], z["fit/y"])
    np.testing.assert_allclose(layer.kernel.numpy(), z["fit/kernel1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.bias.numpy(), z["fit/bias1"], rtol=1e-5, atol=1e-6)
    assert np.all(np.linalg.norm(layer.kernel.numpy(), axis=0) <= 0.5 + 1e-6)


def test_constraints_in_configs_files_and_user_weights(tmp_path):
    conv = tf.keras.layers.Conv2D(4, 3, kernel_constraint=C.max_norm(2.0, axis=[0, 1, 2]))
    config = conv.get_config()
    assert config["kernel_constraint"] == {"class_name": "MaxNorm",
                                           "config": {"max_value": 2.0, "axis": [0, 1, 2]}}
    assert config["bias_constraint"] is None
    assert tf.keras.layers.Conv2D.from_config(config).kernel_constraint.get_config() == {
        "max_value": 2.0, "axis": [0, 1, 2]}
    model = tf.keras.Sequential([tf.keras.Input((6, 6, 2)), conv, tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(1, kernel_constraint="non_neg")])
    model.compile("adam", "mse")
    model.fit(np.random.rand(4, 6, 6, 2), np.random.rand(4, 1), epochs=2, verbose=0)
    assert np.all(model.layers[-1].kernel.numpy() >= 0)
    suffixes = [".convnp"]
    try:
        import h5py  # noqa: F401
        suffixes.append(".keras")
    except ImportError:
        pass
    for suffix in suffixes:
        model.save(tmp_path / f"m{suffix}")
        loaded = tf.keras.models.load_model(tmp_path / f"m{suffix}")
        assert isinstance(loaded.layers[-1].kernel.constraint, C.NonNeg)
        assert loaded.layers[0].kernel_constraint.get_config() == {"max_value": 2.0,
                                                                   "axis": [0, 1, 2]}

    class Scaled(tf.keras.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(shape[-1],), initializer="ones",
                                     constraint=lambda w: np.clip(w, 0.0, 1.0))

        def call(self, x):
            return x * self.w

    layer = Scaled()
    layer.build((None, 3))
    opt = tf.keras.optimizers.SGD(1.0)
    opt.apply_gradients([(np.array([-5.0, 0.5, 5.0], np.float32), layer.w)])
    np.testing.assert_allclose(layer.w.numpy(), [1.0, 0.5, 0.0])


def test_bad_constraint_arguments():
    with pytest.raises(ValueError, match="rate"):
        C.MinMaxNorm(rate=2.0)
    with pytest.raises(TypeError, match="axis"):
        C.MaxNorm(axis="rows")
    with pytest.raises(ValueError, match="did you mean|unknown"):
        C.get("max_nrm")
    with pytest.raises(ValueError, match="out of range"):
        C.UnitNorm(axis=5)(np.ones((2, 2)))
    with pytest.raises(ValueError, match="unknown constraint"):
        tf.keras.layers.DepthwiseConv2D(3, depthwise_constraint="non_nug")
    layer = tf.keras.layers.DepthwiseConv2D(3, depthwise_constraint="non_neg")
    assert isinstance(layer.depthwise_constraint, C.NonNeg)
