"""AdamW, Nadam, Adagrad, Adamax, weight_decay on every optimizer, clipnorm / clipvalue /
global_clipnorm and learning-rate schedules, against Keras 3 trajectories (fixture made by
tests/fixtures/make_training_fixtures.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp import optimizers, schedules
from convnp.variables import Variable

FIXTURE = Path(__file__).parent / "fixtures" / "training_parity.npz"
S = tf.keras.optimizers.schedules

CASES = {
    "sgd_nesterov_wd": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True,
                                              weight_decay=0.05),
    "adam_clipnorm": lambda: optimizers.Adam(0.05, clipnorm=0.5),
    "rmsprop_clipvalue": lambda: optimizers.RMSprop(0.01, clipvalue=0.3, momentum=0.5),
    "adam_global_clipnorm": lambda: optimizers.Adam(0.05, global_clipnorm=1.0),
    "adamw": lambda: optimizers.AdamW(0.05, weight_decay=0.1),
    "nadam": lambda: optimizers.Nadam(0.05),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "adamax": lambda: optimizers.Adamax(0.05),
    "adam_exponential": lambda: optimizers.Adam(S.ExponentialDecay(
        0.1, decay_steps=2, decay_rate=0.5, staircase=True)),
    "sgd_piecewise": lambda: optimizers.SGD(S.PiecewiseConstantDecay([1, 3],
                                                                      [0.1, 0.05, 0.01])),
    "sgd_cosine_warmup": lambda: optimizers.SGD(S.CosineDecay(
        0.0, decay_steps=3, alpha=0.1, warmup_target=0.2, warmup_steps=2)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_trajectory_matches_keras(case):
    z = np.load(FIXTURE, allow_pickle=False)
    opt = CASES[case]()
    variables = [Variable(z[f"optim/w0/{i}"].copy()) for i in range(2)]
    for step in range(5):
        grads = [z[f"optim/grads/{step}/{i}"] for i in range(2)]
        opt.apply_gradients(zip(grads, variables))
        for i, v in enumerate(variables):
            np.testing.assert_allclose(v.value, z[f"optim/{case}/w{i}/{step}"], rtol=2e-6,
                                       atol=2e-6, err_msg=f"{case} step {step} var {i}")
    # the config round trip gives the same optimizer (schedule included)
    again = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(opt))))
    assert again.get_config() == opt.get_config()


def test_state_round_trip_resumes_nadam_exactly():
    rng = np.random.default_rng(0)
    grads = [[rng.normal(size=(3,)).astype("float32")] for _ in range(4)]
    a, va = optimizers.Nadam(0.1), [Variable(np.ones(3, dtype="float32"))]
    for g in grads:
        a.apply_gradients(zip(g, va))
    b, vb = optimizers.Nadam(0.1), [Variable(np.ones(3, dtype="float32"))]
    for g in grads[:2]:
        b.apply_gradients(zip(g, vb))
    c, vc = optimizers.Nadam(0.1), [Variable(vb[0].value.copy())]
    c.set_state(b.get_state())
    for g in grads[2:]:
        c.apply_gradients(zip(g, vc))
    np.testing.assert_array_equal(vc[0].value, va[0].value)


def test_schedule_values_and_errors():
    assert schedules.ExponentialDecay(1.0, 4, 0.5)(2) == pytest.approx(0.5 ** 0.5)
    pc = schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])
    assert [pc(s) for s in (0, 2, 3, 5, 6)] == [1.0, 1.0, 0.5, 0.5, 0.1]
    cd = schedules.CosineDecay(1.0, 10, alpha=0.0)
    assert cd(0) == 1.0 and cd(5) == pytest.approx(0.5) and cd(20) == pytest.approx(0.0)
    warm = schedules.CosineDecay(0.0, 10, warmup_target=1.0, warmup_steps=4)
    assert warm(2) == pytest.approx(0.5) and warm(4) == pytest.approx(1.0)
    opt = optimizers.SGD(pc)
    assert opt.learning_rate == 1.0
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate = 0.1
    with pytest.raises(ValueError, match="one more value"):
        schedules.PiecewiseConstantDecay([1], [1.0])
    with pytest.raises(ValueError, match="only one of"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.SGD(weight_decay=-1.0)


def test_names_resolve_and_fit_uses_a_schedule():
    # TF 2.21 names them as Keras 3 spells the classes (AdamW: adam_w), numbered from the
    # second of a class on
    tf.keras.backend.clear_session()
    for name, named in (("adamw", "adam_w"), ("nadam", "nadam"), ("adagrad", "adagrad"),
                        ("adamax", "adamax"), ("rmsprop", "rm_sprop"), ("sgd", "sgd")):
        assert optimizers.get(name).name == named
    assert optimizers.get("sgd").name == "sgd_1"
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(3,))])
    model.compile(tf.keras.optimizers.SGD(S.ExponentialDecay(0.1, 1, 0.5)), "mse")
    x = np.ones((8, 3), dtype="float32")
    model.fit(x, np.zeros(8), batch_size=4, epochs=1, verbose=0)
    assert model.optimizer.iterations == 2
    assert model.optimizer.learning_rate == pytest.approx(0.025)


def test_keras3_build_then_apply_with_gradients_only():
    """Keras 3's custom loops: ``optimizer.build(variables)``, then ``apply(grads)``."""
    w = Variable(np.array([1.0, 2.0], dtype=np.float32))
    b = Variable(np.array(0.5, dtype=np.float32))
    opt = optimizers.SGD(0.1)
    opt.build([w, b])
    # TF 2.21: apply returns None; the count is in iterations
    assert opt.apply([np.array([1.0, -1.0], np.float32), np.array(2.0, np.float32)]) is None
    assert int(opt.iterations) == 1
    np.testing.assert_allclose(w.numpy(), [0.9, 2.1])
    np.testing.assert_allclose(b.numpy(), 0.3)
    # apply with the variables given is apply_gradients of the pairs
    twin = optimizers.SGD(0.1)
    v = Variable(np.array([1.0, 2.0], dtype=np.float32))
    twin.apply([np.array([1.0, -1.0], np.float32)], [v])
    np.testing.assert_allclose(v.numpy(), [0.9, 2.1])
    with pytest.raises(ValueError, match="1 gradients for 2 variables"):
        opt.apply([np.zeros(2, np.float32)])
    with pytest.raises(ValueError, match="pass trainable_variables, or call optimizer.build"):
        optimizers.Adam().apply([np.zeros(2, np.float32)])


# Keras 3.15's schedules called on np.linspace(0, 100, 5) (TensorFlow 2.21; float32 tensors)
_KERAS_SCHEDULE_ARRAYS = {
    "InverseTimeDecay": [0.009999999776482582, 0.002424242440611124, 0.0013793102698400617,
                         0.0009638554183766246, 0.00074074073927477],
    "ExponentialDecay": [0.10000000149011612, 0.02500000037252903, 0.0031250000465661287,
                         0.0007812500116415322, 9.765625145519152e-05],
    "CosineDecay": [0.10000000149011612, 0.05499999597668648, 0.010000000707805157,
                    0.010000000707805157, 0.010000000707805157],
    "PiecewiseConstantDecay": [0.10000000149011612, 0.009999999776482582, 0.009999999776482582,
                               0.0010000000474974513, 0.0010000000474974513],
    "PolynomialDecay": [0.10000000149011612, 0.034687504172325134, 0.0037500006146728992,
                        0.0010000000474974513, 0.0010000000474974513],
    "CosineDecayRestarts": [0.10000000149011612, 0.09619397670030594, 0.014644661918282509,
                            0.09157347679138184, 0.04999999701976776],
}


def test_schedules_called_on_an_array_of_steps():
    # the "Overfit and underfit" tutorial plots lr_schedule(np.linspace(...))
    s = tf.keras.optimizers.schedules
    schedules = [s.InverseTimeDecay(0.01, decay_steps=8, decay_rate=1),
                 s.ExponentialDecay(0.1, 10, 0.5, staircase=True),
                 s.CosineDecay(0.1, 50, alpha=0.1),
                 s.PiecewiseConstantDecay([10, 60], [0.1, 0.01, 0.001]),
                 s.PolynomialDecay(0.1, 60, 0.001, power=2.0), s.CosineDecayRestarts(0.1, 20)]
    steps = np.linspace(0, 100, 5)
    for schedule in schedules:
        rates = schedule(steps)
        assert rates.shape == (5,) and rates.numpy().dtype == np.float32
        np.testing.assert_allclose(rates.numpy(), _KERAS_SCHEDULE_ARRAYS[type(schedule).__name__],
                                   rtol=1e-6)
        assert isinstance(schedule(3), float)  # one step: a number, as the optimizers read it
    assert schedules[0](steps.reshape(5, 1)).shape == (5, 1)
