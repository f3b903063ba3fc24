"""keras.optimizers.Adafactor, Muon and ScheduleFreeAdamW against Keras 3.15
(tests/optimizer_family.py): six steps on a (4, 3) and a (3, 5) matrix, a vector, a 3-D
kernel and a matrix named like an embedding (Muon's two rules; Adafactor's factored moments
and placeholders); their variables in Keras's order, names, shapes and dtypes; configs, by
name in fit, files and bad arguments."""

import numpy as np
import pytest

import convnp as tf
from tests.optimizer_family import check_config, check_layout, replay
from tests.test_optimizer_ema import check_fit, fit_model

O = tf.keras.optimizers
CASES = {
    "adafactor": lambda: O.Adafactor(),
    "adafactor_args": lambda: O.Adafactor(learning_rate=0.5, beta_2_decay=-0.5,
                                          epsilon_1=1e-20, epsilon_2=0.01,
                                          clip_threshold=0.5, weight_decay=0.1),
    "adafactor_ema": lambda: O.Adafactor(learning_rate=0.1, use_ema=True,
                                         ema_overwrite_frequency=3),
    "muon": lambda: O.Muon(),
    "muon_args": lambda: O.Muon(learning_rate=0.05, adam_beta_1=0.8, adam_beta_2=0.95,
                                adam_weight_decay=0.01, epsilon=1e-5, weight_decay=0.1,
                                exclude_layers=["w3"], exclude_embeddings=False,
                                adam_lr_ratio=0.5, momentum=0.9, ns_steps=3,
                                nesterov=False, rms_rate=None),
    "schedule_free": lambda: O.ScheduleFreeAdamW(),
    "schedule_free_args": lambda: O.ScheduleFreeAdamW(learning_rate=0.05, beta_1=0.8,
                                                      beta_2=0.95, epsilon=1e-6,
                                                      warmup_steps=3, weight_decay=0.1),
}


def _average(opt, i):
    return opt.get_state()[f"average/{i}"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_steps_follow_keras(case):
    opt = CASES[case]()
    replay(opt, case, average=_average if "ema" in case else None)
    check_layout(opt, case)
    check_config(opt, case)
    again = O.deserialize(O.serialize(opt))
    assert type(again) is type(opt) and again.get_config() == opt.get_config()


def test_muon_chooses_its_rule_per_variable():
    tf.keras.backend.clear_session()  # the automatic name is "muon" again
    opt = O.Muon(exclude_layers=["head"])
    shapes = {"dense/kernel": (4, 3), "dense/bias": (3,), "conv/kernel": (3, 3, 2, 4),
              "token_embedding/embeddings": (10, 4), "head/kernel": (3, 2),
              "mlp/kernel": (6, 5)}
    variables = []
    for path, shape in shapes.items():
        v = tf.Variable(np.ones(shape, "f4"), name=path.split("/")[1])
        v.path = path
        variables.append(v)
    opt.build(variables)
    has_velocity = {v.path: f"velocity/{i}" in opt.get_state() for i, v in enumerate(variables)}
    assert has_velocity == {"dense/kernel": False, "dense/bias": True, "conv/kernel": True,
                            "token_embedding/embeddings": True, "head/kernel": True,
                            "mlp/kernel": False}
    assert [v.path for v in opt.variables][2:5] == [
        "muon/dense_kernel_momentum", "muon/dense_bias_momentum", "muon/dense_bias_velocity"]


def test_newton_schulz_orthogonalizes():
    from convnp.optimizers.muon import newton_schulz

    rng = np.random.default_rng(0)
    for shape in ((6, 4), (4, 6)):
        x = rng.normal(size=shape).astype(np.float32)
        y = newton_schulz(x, 5, 3.4445, -4.7750, 2.0315)
        assert y.shape == shape and y.dtype == np.float32
        # the singular values land near 1 (Keras's quintic: in about [0.7, 1.2])
        s = np.linalg.svd(y, compute_uv=False)
        assert np.all((s > 0.6) & (s < 1.25)), s
        u, _, vt = np.linalg.svd(x, full_matrices=False)
        assert np.abs(np.sum(y * (u @ vt))) > 0.8 * min(shape)  # aligned with U V^T


def test_adafactor_keeps_factored_moments():
    w = tf.Variable(np.ones((2, 3, 4), "f4"), name="kernel")
    b = tf.Variable(np.ones((4,), "f4"), name="bias")
    tf.keras.backend.clear_session()  # the automatic name is "adafactor" again
    opt = O.Adafactor()
    opt.apply_gradients([(np.ones((2, 3, 4), "f4"), w), (np.ones(4, "f4"), b)])
    state = opt.get_state()
    assert state["r/0"].shape == (2, 3) and state["c/0"].shape == (2, 4)
    assert state["r/1"].shape == () and state["r/1"].dtype == np.int32  # placeholders
    assert [v.path for v in opt.variables] == [
        "adafactor/iteration", "adafactor/learning_rate", "adafactor/kernel",
        "adafactor/kernel", "adafactor/kernel_velocity", "adafactor/bias", "adafactor/bias",
        "adafactor/bias_velocity"]


def test_adafactor_placeholders_as_keras_tracks_them():
    # Keras leaves them out when a LossScaleOptimizer builds the Adafactor (its tracking is
    # off there), and keeps them under a MultiOptimizer alone
    def paths(opt):
        variables = [tf.Variable(np.ones(3, "f4"), name="b"),
                     tf.Variable(np.ones((2, 2), "f4"), name="k")]
        opt.apply_gradients(zip([np.ones(3, "f4"), np.ones((2, 2), "f4")], variables))
        return [v.path.rsplit("/", 1)[1] for v in opt.variables]

    assert paths(O.LossScaleOptimizer(O.Adafactor()))[4:] == [
        "iteration", "learning_rate", "b_velocity", "k", "k", "k_velocity"]
    assert paths(O.MultiOptimizer(O.OptimizerMap(O.Adafactor())))[2:] == [
        "iteration", "learning_rate", "b", "b", "b_velocity", "k", "k", "k_velocity"]
    assert len(paths(O.LossScaleOptimizer(O.MultiOptimizer(O.OptimizerMap(
        O.Adafactor()))))) == 12


@pytest.mark.parametrize("case, make", [
    ("adafactor", lambda: O.Adafactor(learning_rate=0.1)),
    ("muon", lambda: O.Muon(learning_rate=0.05)),
    ("schedule_free", lambda: O.ScheduleFreeAdamW(learning_rate=0.05)),
])
def test_fit_ends_where_keras_does(case, make):
    check_fit(case, *fit_model(make))


@pytest.mark.parametrize("name, cls", [("adafactor", O.Adafactor), ("muon", O.Muon),
                                       ("schedulefreeadamw", O.ScheduleFreeAdamW),
                                       ("Adafactor", O.Adafactor)])
def test_by_name_in_compile_and_through_files(tmp_path, name, cls):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(3)
    x, y = rng.random((16, 3)).astype("f4"), rng.random((16, 1)).astype("f4")
    for suffix in (".keras", ".convnp", ".h5"):
        model = tf.keras.Sequential([tf.keras.Input((3,)),
                                     tf.keras.layers.Dense(4, activation="relu"),
                                     tf.keras.layers.Dense(1)])
        model.compile(optimizer=name, loss="mse")
        assert type(model.optimizer) is cls
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        model.save(tmp_path / f"m{suffix}")
        loaded = tf.keras.models.load_model(tmp_path / f"m{suffix}")
        assert type(loaded.optimizer) is cls
        assert loaded.optimizer.get_config() == model.optimizer.get_config()
        model.train_on_batch(x, y)
        loaded.train_on_batch(x, y)
        for a, b in zip(model.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(a, b, err_msg=f"{name} {suffix}")


@pytest.mark.parametrize("make, error, match", [
    (lambda: O.Adafactor(epsilon_1=-1.0), ValueError, "epsilon_1"),
    (lambda: O.Adafactor(epsilon_2=-1e-3), ValueError, "epsilon_2"),
    (lambda: O.Adafactor(clip_threshold=0.0), ValueError, "clip_threshold"),
    (lambda: O.Adafactor(beta_2_decay=0.5), ValueError, "beta_2_decay"),
    (lambda: O.Adafactor(relative_step="no"), TypeError, "relative_step"),
    (lambda: O.Muon(epsilon=-1e-7), ValueError, "epsilon"),
    (lambda: O.Muon(momentum=1.5), ValueError, "momentum"),
    (lambda: O.Muon(ns_steps=2.5), ValueError, "ns_steps"),
    (lambda: O.Muon(ns_steps=-1), ValueError, "ns_steps"),
    (lambda: O.Muon(adam_beta_1=2.0), ValueError, "adam_beta_1"),
    (lambda: O.Muon(exclude_layers="dense"), TypeError, "exclude_layers"),
    (lambda: O.Muon(exclude_layers=["("]), ValueError, "regular expression"),
    (lambda: O.Muon(rms_rate=-0.2), ValueError, "rms_rate"),
    (lambda: O.Muon(nesterov=None), TypeError, "nesterov"),
    (lambda: O.ScheduleFreeAdamW(beta_1=0.0), ValueError, "beta_1"),
    (lambda: O.ScheduleFreeAdamW(epsilon=-1e-8), ValueError, "epsilon"),
    (lambda: O.ScheduleFreeAdamW(warmup_steps=-1), ValueError, "warmup_steps"),
    (lambda: O.ScheduleFreeAdamW(use_ema=True, ema_momentum=2.0), ValueError,
     "ema_momentum"),
    (lambda: O.Adafactor(beta_1=0.9), TypeError, "unexpected"),
])
def test_bad_arguments_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()
