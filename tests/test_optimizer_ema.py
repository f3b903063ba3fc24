"""``use_ema`` (ema_momentum, ema_overwrite_frequency) and ``loss_scale_factor`` on the
optimizers, against Keras 3.15's trajectories (tests/optimizer_family.py): the moving averages
step by step, with and without overwriting, with gradient accumulation; the averages as
optimizer variables in Keras's order; ``finalize_variable_values`` at the end of ``fit``;
configs, files and bad arguments."""

import numpy as np
import pytest

import convnp as tf
from tests.optimizer_family import Z, check_config, check_layout, replay

O = tf.keras.optimizers

EMA_CASES = {
    "sgd_ema": lambda: O.SGD(learning_rate=0.1, momentum=0.9, use_ema=True),
    "adam_ema_overwrite": lambda: O.Adam(learning_rate=0.05, use_ema=True, ema_momentum=0.8,
                                         ema_overwrite_frequency=2),
    "rmsprop_ema_accumulate": lambda: O.RMSprop(learning_rate=0.01, use_ema=True,
                                                ema_momentum=0.5,
                                                gradient_accumulation_steps=2),
    "adamw_ema_overwrite_accumulate": lambda: O.AdamW(
        learning_rate=0.02, use_ema=True, ema_overwrite_frequency=2,
        gradient_accumulation_steps=2),
}
SCALE_CASES = {
    "adam_loss_scale": lambda: O.Adam(learning_rate=0.05, loss_scale_factor=3.0),
    "sgd_loss_scale_clip": lambda: O.SGD(learning_rate=0.1, loss_scale_factor=128.0,
                                         clipnorm=0.5),
}


def _average(opt, i):
    return opt.get_state()[f"average/{i}"]


@pytest.mark.parametrize("case", sorted(EMA_CASES))
def test_moving_averages_follow_keras(case):
    opt = EMA_CASES[case]()
    replay(opt, case, average=_average)
    check_layout(opt, case)
    check_config(opt, case)
    again = O.deserialize(O.serialize(opt))
    assert again.get_config() == opt.get_config()


@pytest.mark.parametrize("case", sorted(SCALE_CASES))
def test_loss_scale_factor_divides_the_gradients_as_keras(case):
    opt = SCALE_CASES[case]()
    # the fixture's gradients, divided by the factor (then clipped) as Keras does
    replay(opt, case)
    check_layout(opt, case)
    check_config(opt, case)
    assert opt.scale_loss(2.0) == 2.0 * opt.loss_scale_factor
    assert O.Adam().scale_loss(2.0) == 2.0


def test_the_averages_are_optimizer_variables_that_assign():
    w = tf.Variable(np.ones(3, "f4"), name="w")
    opt = O.SGD(learning_rate=0.5, use_ema=True, ema_momentum=0.5)
    opt.apply_gradients([(np.ones(3, "f4"), w)])
    average = [v for v in opt.variables if v.path.endswith("w_average")]
    assert len(average) == 1
    np.testing.assert_allclose(average[0].numpy(), w.numpy())  # first step: the variable
    average[0].assign(np.zeros(3, "f4"))
    opt.apply_gradients([(np.ones(3, "f4"), w)])
    np.testing.assert_allclose(opt.get_state()["average/0"], 0.5 * w.numpy())


def test_finalize_variable_values_copies_the_averages():
    w = tf.Variable(np.zeros(2, "f4"), name="w")
    opt = O.SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.5)
    for g in ([-2.0, -2.0], [-4.0, 0.0]):
        opt.apply_gradients([(np.array(g, "f4"), w)])
    # w: 2,2 then 6,2; average: 2,2 then 4,2
    np.testing.assert_allclose(w.numpy(), [6.0, 2.0])
    opt.finalize_variable_values([w])
    np.testing.assert_allclose(w.numpy(), [4.0, 2.0])
    other = tf.Variable(np.zeros(2, "f4"), name="other")
    with pytest.raises(ValueError, match="other"):
        opt.finalize_variable_values([other])
    plain = O.SGD()
    plain.apply_gradients([(np.ones(2, "f4"), other)])
    plain.finalize_variable_values([other])  # no EMA: nothing to do
    np.testing.assert_allclose(other.numpy(), [-0.01, -0.01])


FIT = {
    "adam_ema": lambda: O.Adam(learning_rate=0.05, use_ema=True, ema_momentum=0.7),
    "adam_loss_scale": lambda: O.Adam(learning_rate=0.05, loss_scale_factor=1000.0),
}


def fit_model(make, callbacks=()):
    """Keras's fit case (make_optimizer_family.fit_cases): its model, data and start."""
    model = tf.keras.Sequential([tf.keras.Input((4,)),
                                 tf.keras.layers.Dense(3, activation="relu"),
                                 tf.keras.layers.Dense(1)])
    model.set_weights([Z[f"fit/start/{k}"] for k in range(4)])
    model.compile(optimizer=make(), loss="mse")
    history = model.fit(Z["fit/x"], Z["fit/y"], batch_size=4, epochs=2, shuffle=False,
                        verbose=0, validation_data=(Z["fit/xv"], Z["fit/yv"]),
                        callbacks=list(callbacks))
    return model, history


def check_fit(case, model, history):
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, Z[f"fit/{case}/w{k}"], rtol=1e-5, atol=1e-6,
                                   err_msg=f"{case}: weight {k}")
    np.testing.assert_allclose(history.history["loss"], Z[f"fit/{case}/loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["val_loss"], Z[f"fit/{case}/val_loss"],
                               rtol=1e-5)


@pytest.mark.parametrize("case", sorted(FIT))
def test_fit_ends_where_keras_does(case):
    # use_ema: the weights after fit are the averages (finalize_variable_values), as Keras;
    # the validation loss is that of the raw weights (no SwapEMAWeights)
    check_fit(case, *fit_model(FIT[case]))


def test_ema_state_survives_keras_and_convnp_files(tmp_path):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 3)).astype("f4"), rng.random((8, 1)).astype("f4")
    for suffix in (".keras", ".convnp", ".h5"):
        model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2),
                                     tf.keras.layers.Dense(1)])
        model.compile(optimizer=O.Adam(use_ema=True, ema_momentum=0.9,
                                       ema_overwrite_frequency=5), loss="mse")
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)
        path = tmp_path / f"m{suffix}"
        model.save(path)
        loaded = tf.keras.models.load_model(path)
        opt = loaded.optimizer
        assert opt.use_ema and opt.ema_momentum == 0.9 and opt.ema_overwrite_frequency == 5
        ours, theirs = model.optimizer.get_state(), opt.get_state()
        assert sorted(ours) == sorted(theirs) and "average/0" in theirs, suffix
        for key in ours:
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
        model.train_on_batch(x, y)
        loaded.train_on_batch(x, y)
        for a, b in zip(model.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_loss_scale_factor_through_a_tape_step():
    # a model whose compute_loss is its own: the default train_step differentiates
    # scale_loss(loss) on the tape, the optimizer divides again
    class Net(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = tf.keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
            return tf.reduce_mean(tf.square(y_pred - y))

    rng = np.random.default_rng(1)
    x, y = rng.random((6, 2)).astype("f4"), rng.random((6, 1)).astype("f4")
    results = []
    for factor in (None, 64.0):
        tf.keras.utils.set_random_seed(3)
        net = Net()
        net.compile(optimizer=O.SGD(0.1, loss_scale_factor=factor))
        net.fit(x, y, batch_size=3, epochs=1, verbose=0)
        results.append(net.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"use_ema": True, "ema_momentum": 1.5}, ValueError, "ema_momentum"),
    ({"use_ema": True, "ema_momentum": -0.1}, ValueError, "ema_momentum"),
    ({"ema_momentum": float("nan")}, ValueError, "ema_momentum"),
    ({"use_ema": True, "ema_overwrite_frequency": -1}, ValueError, "ema_overwrite_frequency"),
    ({"use_ema": True, "ema_overwrite_frequency": 2.5}, ValueError,
     "ema_overwrite_frequency"),
    ({"use_ema": "yes"}, TypeError, "use_ema"),
    ({"loss_scale_factor": 0.0}, ValueError, "loss_scale_factor"),
    ({"loss_scale_factor": -2.0}, ValueError, "loss_scale_factor"),
    ({"loss_scale_factor": float("inf")}, ValueError, "loss_scale_factor"),
    ({"loss_scale_factor": "big"}, TypeError, "loss_scale_factor"),
])
def test_bad_arguments_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        O.Adam(**kwargs)
