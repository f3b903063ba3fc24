"""keras.optimizers.LossScaleOptimizer against Keras 3.15 (tests/optimizer_family.py): the
weights, the dynamic scale and the step counter after each step, with an infinite and a NaN
gradient skipped; its variables in Keras's order (the inner optimizer's after its own),
config, files, fit (overflowing steps skipped without stopping training) and bad arguments."""

import json
import zipfile

import numpy as np
import pytest

import convnp as tf
from tests.optimizer_family import Z, check_config, check_layout, replay
from tests.test_optimizer_ema import check_fit, fit_model

O = tf.keras.optimizers
CASES = {
    "lso_sgd": lambda: O.LossScaleOptimizer(O.SGD(learning_rate=0.1, momentum=0.9),
                                            initial_scale=8.0, dynamic_growth_steps=2),
    "lso_adam_ema": lambda: O.LossScaleOptimizer(
        O.Adam(learning_rate=0.05, use_ema=True, ema_overwrite_frequency=2),
        initial_scale=2.0 ** 10, dynamic_growth_steps=3),
}
BAD = {2: (0, np.inf), 3: (1, np.nan)}  # as make_optimizer_family.py


@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_follow_keras(case):
    opt = CASES[case]()
    scales = []

    def scaled(step, grads):
        # the gradients of the loss times the current scale, one of them inf or nan
        if step in BAD:
            i, value = BAD[step]
            grads[i].flat[0] = value
        return [g * np.float32(opt.scale_loss(1.0)) for g in grads]

    def average(opt_, i):  # (read after each step: the scale and counter then too)
        if i == 0:
            scales.append((float(opt_.dynamic_scale.numpy()),
                           int(opt_.step_counter.numpy())))
        return opt_.inner_optimizer.get_state()[f"average/{i}"]

    replay(opt, case, scale=scaled, average=average if "ema" in case else None)
    if scales:
        assert scales == list(zip(Z[f"{case}/scale"].tolist(), Z[f"{case}/counter"].tolist()))
    assert float(opt.dynamic_scale.numpy()) == float(Z[f"{case}/scale"][-1])
    assert int(opt.step_counter.numpy()) == int(Z[f"{case}/counter"][-1])
    check_layout(opt, case)
    check_config(opt, case, skip=("name", "inner_optimizer"))
    inner = json.loads(str(Z[f"{case}/config"]))["inner_optimizer"]
    assert opt.get_config()["inner_optimizer"]["class_name"] == inner["class_name"]
    again = O.deserialize(O.serialize(opt))
    assert type(again) is O.LossScaleOptimizer and again.get_config() == opt.get_config()


def test_scale_and_counter_after_each_step():
    opt = CASES["lso_sgd"]()
    w = [tf.Variable(Z[f"in/{n}"].copy(), name=n) for n in ("w0", "w1", "w2", "w3",
                                                           "my_embedding")]
    for step in range(6):
        grads = [Z[f"in/g{i}"][step].copy() for i in range(5)]
        if step in BAD:
            grads[BAD[step][0]].flat[0] = BAD[step][1]
        factor = np.float32(opt.scale_loss(1.0))
        opt.apply_gradients(zip([g * factor for g in grads], w))
        assert float(opt.dynamic_scale.numpy()) == float(Z["lso_sgd/scale"][step])
        assert int(opt.step_counter.numpy()) == int(Z["lso_sgd/counter"][step])
    assert int(opt.iterations) == 4  # the inner optimizer's: two steps were skipped


def test_fit_ends_where_keras_does():
    check_fit("lso_adam", *fit_model(lambda: O.LossScaleOptimizer(
        O.Adam(learning_rate=0.05), dynamic_growth_steps=2)))


def test_overflowing_steps_are_skipped_and_training_goes_on():
    # every batch alike, gradients in the thousands: the first steps overflow, then none
    x = np.tile(np.array([[0.5, 1.0, 0.25]], "f4"), (64, 1))
    y = np.full((64, 1), 1000.0, "f4")
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    # a scale so large that the scaled gradients overflow float32: halved step by step until
    # they fit, without stopping training or changing a weight on the skipped steps
    opt = O.LossScaleOptimizer(O.SGD(1e-4), initial_scale=2.0 ** 127,
                               dynamic_growth_steps=1000)
    model.compile(optimizer=opt, loss="mse")
    start = model.get_weights()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    assert not model.stop_training
    updates = int(opt.iterations)
    skipped = 16 - updates
    assert 1 <= skipped < 16
    assert opt.dynamic_scale.numpy() == np.float32(2.0 ** (127 - skipped))
    assert int(opt.step_counter.numpy()) == updates
    # the updates of a plain SGD on the batches after the skipped ones (a power of two
    # scales and unscales exactly)
    plain = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    plain.compile(optimizer=O.SGD(1e-4), loss="mse")
    plain.set_weights(start)
    for batch in range(skipped, 16):
        plain.train_on_batch(x[4 * batch:4 * batch + 4], y[4 * batch:4 * batch + 4])
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("suffix", [".keras", ".convnp", ".h5"])
def test_state_survives_files(tmp_path, suffix):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 3)).astype("f4"), rng.random((8, 1)).astype("f4")
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2),
                                 tf.keras.layers.Dense(1)])
    model.compile(optimizer=O.LossScaleOptimizer(O.Adam(use_ema=True), initial_scale=64.0,
                                                 dynamic_growth_steps=3), loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert type(loaded.optimizer) is O.LossScaleOptimizer
    ours, theirs = model.optimizer.get_state(), loaded.optimizer.get_state()
    assert sorted(ours) == sorted(theirs)
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    model.train_on_batch(x, y)
    loaded.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert float(loaded.optimizer.dynamic_scale.numpy()) == 128.0


def test_a_keras_file_stores_the_inner_variables_twice_as_keras(tmp_path):
    h5py = pytest.importorskip("h5py")
    import io

    rng = np.random.default_rng(0)
    x, y = rng.random((8, 3)).astype("f4"), rng.random((8, 1)).astype("f4")
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer=O.LossScaleOptimizer(O.Adam()), loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        weights = archive.read("model.weights.h5")
        config = json.loads(archive.read("config.json"))
    optimizer = config["compile_config"]["optimizer"]
    assert optimizer["class_name"] == "LossScaleOptimizer"
    assert set(optimizer["config"]) == {"name", "inner_optimizer", "initial_scale",
                                        "dynamic_growth_steps"}
    assert optimizer["config"]["inner_optimizer"]["module"] == "keras.optimizers"
    with h5py.File(io.BytesIO(weights), "r") as f:
        flat = f["optimizer/vars"]
        inner = f["optimizer/inner_optimizer/vars"]
        assert len(flat) == 4 + len(inner) == 4 + 2 + 4
        assert flat["2"].dtype == np.int64 and flat["3"][()] == np.float32(2.0 ** 15)
        for i in range(len(inner)):
            np.testing.assert_array_equal(flat[str(4 + i)][()], inner[str(i)][()])


def test_learning_rate_and_iterations_are_the_inner_optimizers():
    inner = O.Adam(0.01)
    opt = O.LossScaleOptimizer(inner)
    assert opt.learning_rate == pytest.approx(0.01)
    opt.learning_rate = 0.5
    assert inner.learning_rate == pytest.approx(0.5)
    assert opt.iterations is inner.iterations
    assert opt.scale_loss(3.0) == 3.0 * 2.0 ** 15
    assert O.LossScaleOptimizer(O.SGD(loss_scale_factor=4.0)).inner_optimizer \
        .loss_scale_factor is None  # scaled once
    assert tf.keras.mixed_precision.LossScaleOptimizer is O.LossScaleOptimizer


@pytest.mark.parametrize("kwargs, error, match", [
    ({"initial_scale": 0.0}, ValueError, "initial_scale"),
    ({"initial_scale": float("inf")}, ValueError, "initial_scale"),
    ({"dynamic_growth_steps": 0}, ValueError, "dynamic_growth_steps"),
    ({"dynamic_growth_steps": 1.5}, ValueError, "dynamic_growth_steps"),
    ({"dynamic": False}, ValueError, "loss_scale_factor"),
    ({"clipnorm": 1.0}, ValueError, "inner_optimizer"),
    ({"momentum": 0.9}, TypeError, "unexpected"),
])
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        O.LossScaleOptimizer(O.SGD(), **kwargs)


def test_bad_inner_optimizers_are_refused():
    with pytest.raises(TypeError, match="inner_optimizer must be an optimizer"):
        O.LossScaleOptimizer("adam")
    with pytest.raises(TypeError, match="LossScaleOptimizer already"):
        O.LossScaleOptimizer(O.LossScaleOptimizer(O.SGD()))
    # Keras's old configs list the base options at their defaults: accepted
    assert O.LossScaleOptimizer(O.SGD(), clipnorm=None, use_ema=False).initial_scale == 2 ** 15
