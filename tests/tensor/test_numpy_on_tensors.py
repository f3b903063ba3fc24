"""NumPy functions on convnp's eager tensors give what they give TensorFlow 2.21 users (plain
NumPy values: ``np.argmax(t)`` is an ``np.int64``, ``np.sum(t)`` an ``np.float32``), while
operators keep giving tensors and ``.numpy()``/tensor methods keep working. Expected types
come from TensorFlow (tests/fixtures/make_numpy_on_tensors.py -> numpy_on_tensors.json)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import convnp as tf

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _script():
    spec = importlib.util.spec_from_file_location(
        "make_numpy_on_tensors", FIXTURES / "make_numpy_on_tensors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()
EXPECTED = json.loads((FIXTURES / "numpy_on_tensors.json").read_text())["cases"]
CASES = {name: fn for table in SCRIPT.cases(tf, np).values() for name, fn in table.items()}
# np.exp(t) and other ufuncs called directly: TensorFlow gives an ndarray, convnp a tensor
# (its operators and NumPy's ufuncs share one protocol; see docs)
UFUNC_DIFFERENCE = {name for name, case in EXPECTED.items() if case["kind"] == "ufunc"}


def test_fixture_and_script_agree():
    assert set(CASES) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - UFUNC_DIFFERENCE))
def test_result_type_is_tensorflows(name):
    assert SCRIPT.describe(CASES[name](), np) == EXPECTED[name]["result"]


@pytest.mark.parametrize("name", sorted(UFUNC_DIFFERENCE))
def test_ufuncs_give_tensors_of_the_same_values(name):
    expected = EXPECTED[name]["result"].replace("ndarray", "tensor")
    assert SCRIPT.describe(CASES[name](), np) == expected


def test_values_are_numpys():
    t = tf.constant([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    assert np.argmax(t) == 3 and type(np.argmax(t)) is np.int64
    assert np.sum(t) == np.float32(18.0)
    np.testing.assert_array_equal(np.concatenate([t, t]), np.concatenate([t.numpy()] * 2))
    labels = ["a", "b", "c"]
    assert labels[np.argmax(t[1])] == "a"
    assert f"{np.max(t):.1f}" == "7.0" and str(np.argmax(t)) == "3"
    assert json.dumps({"best": int(np.argmax(t))}) == '{"best": 3}'


def test_tensor_methods_and_ops_still_give_tensors():
    t = tf.constant([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    for value in (t * 2, t[0], t.reshape(3, 2), t.T, t.astype("float64"), tf.reduce_sum(t),
                  tf.argmax(t, axis=1), tf.concat([t, t], 0), t + np.ones(3, np.float32)):
        # .numpy() is an ndarray, or TensorFlow's NumPy scalar for a 0-d tensor
        assert isinstance(value, tf.Tensor) and isinstance(value.numpy(), (np.ndarray,
                                                                           np.generic))
    assert type(t.numpy()) is np.ndarray


def test_under_a_tape_numpy_functions_still_record():
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        y = np.sum(x * x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2.0, 4.0, 6.0])


def test_out_argument_writes_into_the_tensor():
    t = tf.constant([1.0, 2.0])
    out = np.zeros(2, np.float32).view(type(t))
    result = np.clip(t, 1.5, 2.0, out=out)
    np.testing.assert_array_equal(out.numpy(), [1.5, 2.0])
    assert np.shares_memory(result, out)
