"""Adadelta, Lion and Ftrl against Keras 3's trajectories (``tests/fixtures/
optimizer_extras.npz``, written by ``make_optimizer_extras.py``), by name, in fit, and
through a ``.keras`` file with their slots in Keras' variable order."""

import numpy as np
import pytest

import convnp as tf
from tests.helpers import load_fixture

O = tf.keras.optimizers

CASES = {
    "adadelta": lambda: O.Adadelta(),
    "adadelta_args": lambda: O.Adadelta(learning_rate=0.5, rho=0.8, epsilon=1e-5),
    "lion": lambda: O.Lion(),
    "lion_args": lambda: O.Lion(learning_rate=0.01, beta_1=0.5, beta_2=0.9, weight_decay=0.1),
    "ftrl": lambda: O.Ftrl(learning_rate=0.1),
    "ftrl_args": lambda: O.Ftrl(
        learning_rate=0.05, learning_rate_power=-0.3, initial_accumulator_value=0.2,
        l1_regularization_strength=0.01, l2_regularization_strength=0.02,
        l2_shrinkage_regularization_strength=0.03, beta=0.5),
}


@pytest.fixture(scope="module")
def keras_numbers():
    return load_fixture("optimizer_extras.npz")


@pytest.mark.parametrize("case", sorted(CASES))
def test_six_steps_follow_keras(case, keras_numbers):
    opt = CASES[case]()
    variables = [tf.Variable(keras_numbers["in/w0"]), tf.Variable(keras_numbers["in/w1"])]
    for step in range(6):
        opt.apply_gradients((keras_numbers[f"in/g{step}/{i}"], variables[i]) for i in range(2))
        for i in range(2):
            np.testing.assert_allclose(variables[i].numpy(),
                                       keras_numbers[f"{case}/w{i}/{step}"], rtol=1e-5,
                                       atol=1e-6)
    again = O.deserialize(O.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == opt.get_config()


@pytest.mark.parametrize("case", ["adadelta", "lion", "ftrl"])
def test_slot_order_in_a_keras_file_is_keras_order(case, keras_numbers):
    from convnp.io.keras_format import _keras_optimizer_layout

    opt = CASES[case]()
    opt.build([np.zeros((3, 2), np.float32), np.zeros(4, np.float32)])
    # Keras' paths read "<opt>/w0_0_<slot>"; ours "<slot>/<variable index>"
    keras_order = [path.split("/", 1)[1] for path in keras_numbers[f"{case}/paths"]]
    ours = [key if "/" not in key else
            f"w{key.split('/')[1]}_0_{key.split('/')[0]}" for key in
            _keras_optimizer_layout(opt, 2)]
    assert ["iteration"] + ours == keras_order


@pytest.mark.parametrize("name, cls", [("adadelta", O.Adadelta), ("Lion", O.Lion),
                                       ("ftrl", O.Ftrl)])
def test_by_name_in_fit_and_resumed_from_a_keras_file(name, cls, tmp_path):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(3)
    x, y = rng.random((16, 3)).astype(np.float32), rng.random((16, 1)).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.layers.Dense(2, activation="relu", input_shape=(3,)),
                                 tf.keras.layers.Dense(1)])
    model.compile(optimizer=name, loss="mse")
    assert isinstance(model.optimizer, cls)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = tf.keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is cls
    model.train_on_batch(x, y)
    loaded.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="rho"):
        O.Adadelta(rho=1.5)
    with pytest.raises(ValueError, match="beta_1"):
        O.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="learning_rate_power"):
        O.Ftrl(learning_rate_power=0.5)
    with pytest.raises(TypeError, match="l1_regularization_strength"):
        O.Ftrl(l1_regularization_strength="a lot")
