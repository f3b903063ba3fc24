"""Non-finite or out-of-range numbers given to layer constructors raise a ValueError naming
the argument, what is expected and what was received (one validator: `_utils.number`)."""

import math

import numpy as np
import pytest

from convnp.keras import layers
from convnp.layers import _utils

NAN, INF = float("nan"), float("inf")

BAD = [
    (lambda v: layers.BatchNormalization(epsilon=v), "epsilon", [INF, NAN, 0.0, -1e-3]),
    (lambda v: layers.BatchNormalization(momentum=v), "momentum", [2, -0.1, NAN, INF]),
    (lambda v: layers.LayerNormalization(epsilon=v), "epsilon", [INF, NAN, 0]),
    (lambda v: layers.Dropout(rate=v), "rate", [NAN, INF, 1.5, -0.1]),
    (lambda v: layers.SpatialDropout2D(rate=v), "rate", [NAN, 2]),
    (lambda v: layers.SpatialDropout3D(rate=v), "rate", [INF, -0.5]),
    (lambda v: layers.GaussianNoise(stddev=v), "stddev", [NAN, INF, -1]),
    (lambda v: layers.GaussianDropout(rate=v), "rate", [1.0, NAN, -0.5]),
    (lambda v: layers.AlphaDropout(rate=v), "rate", [INF, 1]),
    (lambda v: layers.ReLU(max_value=v), "max_value", [NAN, -1]),
    (lambda v: layers.ReLU(negative_slope=v), "negative_slope", [NAN, -0.5]),
    (lambda v: layers.ReLU(threshold=v), "threshold", [NAN, -INF]),
    (lambda v: layers.LeakyReLU(negative_slope=v), "negative_slope", [INF, -1]),
    (lambda v: layers.ELU(alpha=v), "alpha", [NAN]),
    (lambda v: layers.Rescaling(scale=v), "scale", [INF]),
    (lambda v: layers.Rescaling(1.0, offset=v), "offset", [NAN]),
    (lambda v: layers.RandomRotation(v), "factor", [NAN, (0.0, INF)]),
    (lambda v: layers.RandomZoom(0.1, fill_value=v), "fill_value", [NAN]),
    (lambda v: layers.RandomContrast(0.2, value_range=(0, v)), "value_range", [INF]),
]
CASES = [(make, name, value) for make, name, values in BAD for value in values]


@pytest.mark.parametrize("make, name, value", CASES,
                         ids=[f"{name}={value!r}" for _, name, value in CASES])
def test_bad_number_is_a_value_error_naming_argument_expected_and_received(make, name, value):
    with pytest.raises(ValueError) as info:
        make(value)
    message = str(info.value)
    assert name in message
    assert "must be" in message
    received = value[-1] if isinstance(value, tuple) else value
    assert repr(received) in message or (isinstance(received, float) and math.isinf(received)
                                         and "inf" in message)


def test_good_numbers_still_build():
    assert layers.BatchNormalization(momentum=1, epsilon=np.float32(1e-5)).momentum == 1.0
    assert layers.Dropout(0).rate == 0.0 and layers.Dropout(1).rate == 1.0
    assert layers.ReLU(max_value=None, threshold=-2).threshold == -2.0
    assert layers.GaussianNoise(0).stddev == 0.0


@pytest.mark.parametrize("kwargs, expected", [
    ({}, "a finite number"),
    ({"at_least": 0, "at_most": 1}, r"in \[0, 1\]"),
    ({"above": 0, "allow_none": True}, "a finite number > 0"),
    ({"below": 2.5}, "a finite number < 2.5"),
])
def test_validator_message(kwargs, expected):
    with pytest.raises(ValueError, match=f"^L: x must be {expected}, got nan$"):
        _utils.number(NAN, "x", "L", **kwargs)
    with pytest.raises(TypeError, match="^L: x must be a number, got str: '1'$"):
        _utils.number("1", "x", "L", **kwargs)
    with pytest.raises(TypeError):
        _utils.number(True, "x", "L", **kwargs)


def test_validator_bounds():
    assert _utils.number(np.int64(3), "x", "L", at_least=3, at_most=3) == 3.0
    assert _utils.number(None, "x", "L", allow_none=True) is None
    for kwargs, value in [({"above": 0}, 0), ({"below": 1}, 1), ({"at_least": 0}, -1e-9),
                          ({"at_most": 1}, 1.0000001)]:
        with pytest.raises(ValueError):
            _utils.number(value, "x", "L", **kwargs)
    with pytest.raises(TypeError):
        _utils.number(None, "x", "L")
