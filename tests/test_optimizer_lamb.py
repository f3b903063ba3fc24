"""Lamb against Keras 3.15's trajectories (``tests/fixtures/optimizers_keras315.npz``, written
by ``make_optimizers_keras315.py``): five steps on fixed gradients (a zero variable included:
trust ratio 1), its config, its slots in Keras' variable order, by name in fit and through a
``.keras`` file."""

import json

import numpy as np
import pytest

import convnp as tf
from tests.helpers import load_fixture

O = tf.keras.optimizers
Z = load_fixture("optimizers_keras315.npz")
CASES = {
    "lamb": lambda: O.Lamb(),
    "lamb_args": lambda: O.Lamb(learning_rate=0.05, beta_1=0.8, beta_2=0.95, epsilon=1e-5,
                                weight_decay=0.1, name="lamb_1"),
}
NAMES = ["w0", "w1", "zero"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_five_steps_follow_keras(case):
    opt = CASES[case]()
    variables = [tf.Variable(Z[f"in/{name}"]) for name in NAMES]
    for step in range(5):
        opt.apply_gradients((Z[f"in/g{step}/{i}"], variables[i]) for i in range(3))
        for i in range(3):
            np.testing.assert_allclose(variables[i].numpy(), Z[f"{case}/w{i}/{step}"],
                                       rtol=1e-5, atol=1e-6)
    keras_config = json.loads(str(Z[f"{case}/config"]))
    config = opt.get_config()
    for key in ("name", "beta_1", "beta_2", "epsilon", "weight_decay"):
        assert config[key] == keras_config[key]
    assert config["learning_rate"] == pytest.approx(keras_config["learning_rate"])
    again = O.deserialize(O.serialize(opt))
    assert type(again) is O.Lamb and again.get_config() == config


def test_a_big_variable_takes_the_norm_of_the_whole_variable():
    # more numbers than one update block: the trust ratio still reads the whole variable
    rng = np.random.default_rng(0)
    w = rng.normal(size=(300, 300)).astype(np.float32)
    g = rng.normal(size=w.shape).astype(np.float32)
    variable = tf.Variable(w)
    O.Lamb(learning_rate=0.1).apply_gradients([(g, variable)])
    update = g / (np.abs(g) + np.float32(1e-7))  # first step: m_hat / sqrt(v_hat) = sign(g)
    ratio = np.linalg.norm(w) / np.linalg.norm(update)
    np.testing.assert_allclose(variable.numpy(), w - 0.1 * ratio * update, rtol=1e-5,
                               atol=1e-6)


def test_slot_order_in_a_keras_file_is_keras_order():
    from convnp.io.keras_format import _keras_optimizer_layout

    opt = O.Lamb()
    opt.build([Z[f"in/{name}"] for name in NAMES])
    keras_order = [path.split("/", 1)[1] for path in Z["lamb/paths"]]
    ours = [f"{NAMES[int(key.split('/')[1])]}_0_{key.split('/')[0]}" if "/" in key else key
            for key in _keras_optimizer_layout(opt, 3)]
    assert ["iteration"] + ours == keras_order


def test_by_name_in_fit_and_resumed_from_a_keras_file(tmp_path):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(3)
    x, y = rng.random((16, 3)).astype(np.float32), rng.random((16, 1)).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.Input((3,)),
                                 tf.keras.layers.Dense(2, activation="relu"),
                                 tf.keras.layers.Dense(1)])
    model.compile(optimizer="lamb", loss="mse")
    assert isinstance(model.optimizer, O.Lamb)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = tf.keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is O.Lamb
    model.train_on_batch(x, y)
    loaded.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="beta_1"):
        O.Lamb(beta_1=1.5)
    with pytest.raises(ValueError, match="epsilon"):
        O.Lamb(epsilon=-1.0)
    with pytest.raises(TypeError, match="unexpected arguments"):
        O.Lamb(momentum=0.9)
