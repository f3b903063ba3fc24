"""tf.image.decode_jpeg/decode_image against TensorFlow's pixels (tests/fixtures/jpeg_decode.npz):
exactly TensorFlow's dct_method="INTEGER_ACCURATE"; TensorFlow's default fast IDCT differs by a
few levels, as the docstring says."""

import os

import numpy as np
import pytest

import convnp as tf

pytest.importorskip("PIL")
FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "jpeg_decode.npz")


def test_decode_jpeg_is_tensorflow_s_accurate_idct():
    z = np.load(FIXTURE, allow_pickle=False)
    data = z["jpeg"].tobytes()
    for decoded in (tf.image.decode_jpeg(data, channels=3), tf.image.decode_image(data),
                    tf.image.decode_jpeg(data, dct_method="INTEGER_ACCURATE")):
        assert decoded.dtype == tf.uint8 and decoded.shape == (20, 28, 3)
        np.testing.assert_array_equal(np.asarray(decoded), z["accurate"])
    gap = np.abs(np.asarray(tf.image.decode_jpeg(data)).astype(int) - z["default"].astype(int))
    assert 0 < gap.max() <= 4
