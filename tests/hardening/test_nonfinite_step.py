"""A training step with a non-finite loss, gradient or statistic changes nothing (issue 16,
defect 3): BatchNormalization's moving statistics included, through fit and train_on_batch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import convnp.layers as L
from tests.hardening import crafted


def _model():
    return crafted.binary_model(3, L.BatchNormalization(), optimizer="adam")


def _data(n=8):
    return crafted.binary_data(n, 3)


def _snapshot(model):
    return [w.copy() for w in model.get_weights()]


def _assert_unchanged(model, before):
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_nan_batch_in_fit_leaves_moving_statistics(capsys):
    model = _model()
    x, y = _data()
    model.fit(x, y, epochs=1, verbose=0)
    before = _snapshot(model)
    clean = model.predict(x, verbose=0)
    bad = x.copy()
    bad[0, 0] = np.nan
    model.fit(bad, y, epochs=1, batch_size=8, verbose=1, shuffle=False)
    assert "Invalid loss" in capsys.readouterr().out
    _assert_unchanged(model, before)
    np.testing.assert_array_equal(model.predict(x, verbose=0), clean)


def test_nan_batch_in_train_on_batch_leaves_every_variable():
    model = _model()
    x, y = _data()
    model.train_on_batch(x, y)
    before = _snapshot(model)
    bad = x.copy()
    bad[3, 1] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's inf - inf inside the batch norm stays quiet
        loss = model.train_on_batch(bad, y)
    assert not np.isfinite(np.ravel(loss)[0])
    _assert_unchanged(model, before)
    assert np.isfinite(model.predict(x, verbose=0)).all()


def test_overflowing_batch_cannot_put_inf_in_moving_variance():
    # values near float32's limit: the batch variance overflows to inf while the loss (of a
    # normalized, hence tiny, output) stays finite
    model = _model()
    x, y = _data()
    model.train_on_batch(x, y)
    before = _snapshot(model)
    huge = x * np.float32(1e30)
    with pytest.warns(RuntimeWarning, match="non-finite"):
        model.train_on_batch(huge, y)
    _assert_unchanged(model, before)
    assert model.stop_training


def test_finite_steps_still_update_moving_statistics():
    model = _model()
    x, y = _data()
    before = _snapshot(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.train_on_batch(x, y)
    after = model.get_weights()
    assert not np.array_equal(after[4], before[4])  # moving_mean moved


def test_nan_batch_leaves_the_statistics_of_a_nested_model():
    from convnp.models import Input, Model, Sequential

    base = Sequential([L.Dense(4, input_shape=(3,)), L.BatchNormalization()])
    inputs = Input(shape=(3,))
    outputs = L.Dense(1, activation="sigmoid")(base(inputs))
    model = Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x, y = _data()
    model.train_on_batch(x, y)
    before = _snapshot(model)
    bad = x.copy()
    bad[0, 0] = np.nan
    model.train_on_batch(bad, y)
    _assert_unchanged(model, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_check_sees_every_nan_and_infinity_and_no_huge_value(dtype):
    """The step's check (a sum of squares by BLAS, each value tested only when that
    overflows): one NaN or infinity anywhere in a long array is found, big finite values
    whose squares overflow are not taken for one, and no warning is raised either way."""
    from convnp.models.engine import _all_finite

    rng = np.random.default_rng(0)
    base = rng.standard_normal(100_003).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _all_finite([base, None, base[:0], base.reshape(-1, 1)[::7]])
        huge = base * dtype(np.finfo(dtype).max / 8)
        assert _all_finite([huge])
        for bad in (np.nan, np.inf, -np.inf):
            for where in (0, 4_321, base.size - 1):
                broken = base.copy()
                broken[where] = bad
                assert not _all_finite([base, broken]), (bad, where)
                broken = huge.copy()
                broken[where] = bad
                assert not _all_finite([broken]), (bad, where)


def test_step_with_huge_but_finite_gradients_still_updates():
    """Gradients whose squares overflow float32 are finite: the step goes through."""
    model = crafted.binary_model(3, L.Activation("linear"), optimizer="sgd")
    x, y = _data()
    before = _snapshot(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.train_on_batch(x * np.float32(1e22), y)
    assert not model.stop_training
    assert any(not np.array_equal(a, b) for a, b in zip(model.get_weights(), before))


def test_batch_statistics_of_a_batch_with_infinities_are_quiet():
    """A batch holding inf and NaN, large enough to share the batch norm's sums between
    threads: the layer's statistics come out non-finite (a training step then refuses them)
    without NumPy's warnings, in the pool's thread too (it takes the caller's error state)."""
    x = np.random.default_rng(1).standard_normal((50_000, 8)).astype(np.float32)
    x[10, 0], x[-10, 1], x[25_000, 2] = np.inf, -np.inf, np.nan
    x[-5, 0] = np.inf  # inf - inf on the way
    layer = L.BatchNormalization(momentum=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x, training=True)
    mean, var = layer.moving_mean.numpy(), layer.moving_variance.numpy()
    assert not np.isfinite(mean[:3]).any() and not np.isfinite(var[:3]).any()
    assert np.isfinite(mean[3:]).all() and np.isfinite(var[3:]).all()


def test_layer_and_model_calls_on_non_finite_data_are_quiet():
    """An infinity in the data gives NaN outputs without NumPy's warnings from inside the
    kernels, as TensorFlow: a layer called on it, a model called, predict and evaluate."""
    from convnp.models import Sequential

    rng = np.random.default_rng(2)
    x = rng.random((64, 12, 12, 3)).astype("f4")
    x[5, 3, 3, 1] = np.inf
    y = (rng.random((64, 1)) > 0.5).astype("f4")
    model = Sequential([L.Conv2D(4, 3, input_shape=(12, 12, 3)), L.BatchNormalization(),
                        L.GlobalAveragePooling2D(), L.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        direct = L.Conv2D(4, 3)(x).numpy()
        predicted = model.predict(x, verbose=0)
        loss = model.evaluate(x, y, verbose=0)
        called = model(x, training=True).numpy()  # (its moving statistics take the NaN)
    assert np.isnan(direct[5]).any() and np.isfinite(direct[:5]).all()
    assert np.isnan(predicted[5]).all() and np.isfinite(predicted[:5]).all()
    assert np.isnan(loss)
    assert np.isnan(called).all()  # the batch statistics carry the NaN to every example
