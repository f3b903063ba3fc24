"""keras.optimizers.MultiOptimizer and OptimizerMap against Keras 3.15 (tests/optimizer_family.py):
an SGD for two variables matched by a pattern, an RMSprop for the embedding, Adam for the rest,
with and without a loss_scale_factor; the variables in Keras's order (its own, then each
optimizer's), config, fit, files (the inner optimizers' groups of a .keras file), EMA
through SwapEMAWeights, and errors."""

import io
import zipfile

import numpy as np
import pytest

import convnp as tf
from tests.optimizer_family import check_layout, keras_config, replay

O = tf.keras.optimizers


def _map():
    return O.OptimizerMap(O.Adam(learning_rate=0.01),
                          {"w[03]": O.SGD(learning_rate=0.1, momentum=0.5),
                           ".*embedding": O.RMSprop(learning_rate=0.02)})


CASES = {"multi": lambda: O.MultiOptimizer(_map()),
         "multi_scaled": lambda: O.MultiOptimizer(_map(), loss_scale_factor=2.0)}


@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_follow_keras(case):
    opt = CASES[case]()
    replay(opt, case)
    check_layout(opt, case)
    assert [type(o).__name__ for o in opt.optimizers] == ["SGD", "RMSprop", "Adam"]
    assert [int(o.iterations) for o in opt.optimizers] == [6, 6, 6]
    keras = keras_config(case)
    ours = opt.get_config()
    assert ours["loss_scale_factor"] == keras["loss_scale_factor"]
    assert ours["optimizer_map"]["class_name"] == keras["optimizer_map"]["class_name"]
    assert list(ours["optimizer_map"]["config"]["optimizer_map"]) == \
        list(keras["optimizer_map"]["config"]["optimizer_map"])
    again = O.deserialize(O.serialize(opt))
    assert type(again) is O.MultiOptimizer and again.get_config() == ours
    assert all(o.loss_scale_factor == ours["loss_scale_factor"] for o in again.optimizers)


def test_optimizer_map_lookup():
    adam, sgd, rms = O.Adam(), O.SGD(), O.RMSprop()
    mapping = O.OptimizerMap(default_optimizer=rms)
    mapping["encoder/layer_0/dense"] = adam
    mapping["encoder/.*"] = sgd
    mapping["decoder"] = adam
    assert mapping["decoder"] is adam and mapping["encoder/layer_0/dense"] is adam
    assert mapping["encoder/layer_0/attention/query"] is sgd
    assert mapping["decoder/layer_0/dense"] is rms  # "decoder" matches the whole path only
    assert len(mapping) == 3 and list(mapping) == ["encoder/layer_0/dense", "encoder/.*",
                                                   "decoder"]
    mapping[".*query"] = O.Adam()
    with pytest.raises(ValueError, match="Multiple optimizers"):
        mapping["encoder/layer_0/attention/query"]
    del mapping[".*query"]
    with pytest.raises(ValueError, match="already exists"):
        mapping["decoder"] = sgd
    with pytest.raises(TypeError, match="string"):
        mapping[3] = sgd
    with pytest.raises(ValueError, match="cannot be used inside"):
        mapping["x"] = O.LossScaleOptimizer(O.SGD())
    with pytest.raises(ValueError, match="regular expression"):
        mapping["("] = sgd
    with pytest.raises(TypeError, match="default_optimizer"):
        O.OptimizerMap("adam")
    with pytest.raises(TypeError, match="dict"):
        O.OptimizerMap(O.Adam(), [("a", O.SGD())])


def _model():
    # the weights' paths start with the Sequential's name ("sequential/head/kernel"), as in
    # TF 2.21: the maps below match the layer's name anywhere in the path
    return tf.keras.Sequential([tf.keras.Input((3,)),
                                tf.keras.layers.Dense(4, activation="relu", name="body"),
                                tf.keras.layers.Dense(1, name="head")])


def test_fit_gives_each_layer_its_optimizer():
    rng = np.random.default_rng(3)
    x, y = rng.random((16, 3)).astype("f4"), rng.random((16, 1)).astype("f4")
    tf.keras.utils.set_random_seed(1)
    model = _model()
    start = model.get_weights()
    head, body = O.SGD(0.1), O.Adam(0.01)
    model.compile(optimizer=O.MultiOptimizer(O.OptimizerMap(body, {".*head/.*": head})),
                  loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    assert int(model.optimizer.iterations) == 4
    assert int(head.iterations) == int(body.iterations) == 4
    assert sorted(body.get_state()) == ["iterations", "momentum/0", "momentum/1",
                                        "velocity/0", "velocity/1"]
    # the same as two optimizers stepped by hand on a tape's gradients
    manual = _model()
    manual.set_weights(start)
    sgd, adam = O.SGD(0.1), O.Adam(0.01)
    for epoch in range(2):
        for batch in range(2):
            xb, yb = x[8 * batch:8 * batch + 8], y[8 * batch:8 * batch + 8]
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(manual(xb, training=True) - yb))
            variables = manual.trainable_weights
            grads = tape.gradient(loss, variables)
            adam.apply_gradients(zip(grads[:2], variables[:2]))
            sgd.apply_gradients(zip(grads[2:], variables[2:]))
    for a, b in zip(model.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    with pytest.raises(AttributeError, match="individual optimizers"):
        model.optimizer.learning_rate  # noqa: B018


@pytest.mark.parametrize("suffix", [".keras", ".convnp", ".h5"])
def test_state_survives_files(tmp_path, suffix):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 3)).astype("f4"), rng.random((8, 1)).astype("f4")
    model = _model()
    model.compile(optimizer=O.MultiOptimizer(O.OptimizerMap(
        O.Adam(0.01, use_ema=True), {".*head/.*": O.SGD(0.1, momentum=0.9)})), loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.save(tmp_path / f"m{suffix}")
    loaded = tf.keras.models.load_model(tmp_path / f"m{suffix}")
    assert type(loaded.optimizer) is O.MultiOptimizer
    ours, theirs = model.optimizer.get_state(), loaded.optimizer.get_state()
    assert sorted(ours) == sorted(theirs)
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    model.train_on_batch(x, y)
    loaded.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    if suffix == ".keras":  # each inner optimizer's variables under its own group too
        h5py = pytest.importorskip("h5py")
        with zipfile.ZipFile(tmp_path / "m.keras") as archive:
            weights = archive.read("model.weights.h5")
        with h5py.File(io.BytesIO(weights), "r") as f:
            groups = sorted(f["optimizer/optimizers"])
            assert groups == ["adam", "sgd"]
            assert len(f["optimizer/vars"]) == 2 + len(f["optimizer/optimizers/sgd/vars"]) + \
                len(f["optimizer/optimizers/adam/vars"])


def test_swap_ema_weights_reaches_the_inner_optimizers():
    rng = np.random.default_rng(1)
    x, y = rng.random((8, 3)).astype("f4"), rng.random((8, 1)).astype("f4")
    model = _model()
    body = O.Adam(0.05, use_ema=True, ema_momentum=0.5)
    model.compile(optimizer=O.MultiOptimizer(O.OptimizerMap(body, {".*head/.*": O.SGD(0.1)})),
                  loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    model.train_on_batch(x, y)
    weights = model.get_weights()
    swap = tf.keras.callbacks.SwapEMAWeights()
    model.evaluate(x, y, verbose=0, callbacks=[swap])
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    plain = _model()
    plain.compile(optimizer=O.MultiOptimizer(O.OptimizerMap(O.SGD())), loss="mse")
    with pytest.raises(ValueError, match="none of the MultiOptimizer's optimizers"):
        plain.evaluate(x, y, verbose=0, callbacks=[swap])


def test_a_function_chooses_the_optimizers():
    made = {}

    def choose(variable):
        kind = variable.path.rsplit("/", 1)[1]
        return made.setdefault(kind, O.SGD(0.1) if kind == "bias" else O.Adam(0.01))

    rng = np.random.default_rng(2)
    x, y = rng.random((8, 3)).astype("f4"), rng.random((8, 1)).astype("f4")
    model = _model()
    model.compile(optimizer=O.MultiOptimizer(choose), loss="mse")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert [type(o).__name__ for o in model.optimizer.optimizers] == ["Adam", "SGD"]
    with pytest.raises(ValueError, match="function cannot be written"):
        model.optimizer.get_config()


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="optimizer_map"):
        O.MultiOptimizer({"a": O.SGD()})
    with pytest.raises(TypeError, match="unexpected"):
        O.MultiOptimizer(_map(), learning_rate=0.1)
    with pytest.raises(ValueError, match="loss_scale_factor"):
        O.MultiOptimizer(_map(), loss_scale_factor=-1.0)
    opt = O.MultiOptimizer(lambda v: "sgd")
    with pytest.raises(TypeError, match="must be an optimizer"):
        opt.build([tf.Variable(np.zeros(2, "f4"), name="w")])
    with pytest.raises(AttributeError, match="cannot be set"):
        O.MultiOptimizer(_map()).learning_rate = 0.1
