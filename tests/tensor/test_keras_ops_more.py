"""``keras.ops`` functions custom Keras 3 layers and losses use (``conv``, ``pad``,
``moments``, ``take_along_axis``, the crossentropies, ...): forward values, dtypes and tape
gradients of ``sum(y * r)`` against Keras 3.15.1 on TensorFlow 2.21 in
``tests/fixtures/keras_ops_more.npz`` (made by ``make_keras_ops_more.py`` from the calls in
``keras_ops_more_cases.py``), and the exception classes Keras raises for bad arguments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.keras import ops
from tests.fixtures.keras_ops_more_cases import CASES, error_probes

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras_ops_more.npz"


@pytest.fixture(scope="module")
def golden():
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_and_gradient_match_keras(case, golden):
    inputs, diff, fn = CASES[case]
    tensors = {k: tf.constant(golden[f"{case}/in/{k}"]) for k in inputs}
    with tf.GradientTape() as tape:
        for k in diff:
            tape.watch(tensors[k])
        y = fn(ops, **tensors)
        if f"{case}/r" in golden:
            loss = tf.reduce_sum(tf.cast(y, tf.float64) * golden[f"{case}/r"])
    assert y.dtype.name == str(golden[f"{case}/dtype"])
    expected = golden[f"{case}/y"]
    assert y.shape == expected.shape
    tol = 1e-5 if expected.dtype == np.float32 else 1e-6
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(np.asarray(y), expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(np.asarray(y), expected)
    if not diff:
        return
    grads = tape.gradient(loss, [tensors[k] for k in diff])
    for k, g in zip(diff, grads):
        want = golden[f"{case}/grad/{k}"]
        if np.all(np.isnan(want)):
            assert g is None, k
        else:
            assert g is not None, f"no gradient reached {k}"
            np.testing.assert_allclose(np.asarray(g), want, rtol=tol, atol=tol, err_msg=k)


PROBES = error_probes(ops, tf.constant)


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_bad_arguments_raise_keras_exception_class(probe, golden):
    expected = str(golden[f"errors/{probe}"])
    assert expected, "Keras raised nothing for this probe"
    with pytest.raises(Exception) as info:
        PROBES[probe]()
    assert type(info.value).__name__ == expected
