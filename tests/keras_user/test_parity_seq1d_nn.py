"""``tf.nn``'s 1-D ops with ``data_format="NCW"`` (channels before the steps), as TF 2.21.

TF 2.21 runs ``conv1d``, ``convolution``, ``avg_pool1d``, ``conv1d_transpose`` and
``bias_add`` on ``(batch, channels, width)`` with ``"NCW"``; convnp refused it, and
``tf.nn.convolution``/``conv_transpose`` ignored their ``data_format`` (an NWC computation on
NCW data). The numbers are TF 2.21's: the output shape, its sum and the sum of the absolute
gradient of ``sum(y ** 2)`` with respect to the input.
"""

import numpy as np
import pytest

import convnp as tf

_rs = np.random.RandomState(0)
X = _rs.randn(2, 3, 11).astype("float32")  # (batch, channels, width)
KERNEL = _rs.randn(3, 3, 4).astype("float32")
TRANSPOSED = _rs.randn(3, 4, 3).astype("float32")

CASES = {
    "conv1d": (lambda t: tf.nn.conv1d(t, KERNEL, 1, "SAME", data_format="NCW"),
               (2, 4, 11), -25.774, 1505.43),
    "conv1d_strided_valid": (lambda t: tf.nn.conv1d(t, KERNEL, 2, "VALID", data_format="NCW"),
                             (2, 4, 5), -18.108, 716.56),
    "conv1d_dilated": (
        lambda t: tf.nn.conv1d(t, KERNEL, 1, "SAME", data_format="NCW", dilations=2),
        (2, 4, 11), -24.894, 1248.89),
    "convolution": (lambda t: tf.nn.convolution(t, KERNEL, padding="SAME", data_format="NCW"),
                    (2, 4, 11), -25.774, 1505.43),
    "avg_pool1d": (lambda t: tf.nn.avg_pool1d(t, 2, 2, "VALID", data_format="NCW"),
                   (2, 3, 5), -0.313, 39.16),
    "conv1d_transpose": (
        lambda t: tf.nn.conv1d_transpose(t, TRANSPOSED, [2, 4, 22], 2, "SAME",
                                         data_format="NCW"), (2, 4, 22), 11.562, 1408.69),
    "conv_transpose": (
        lambda t: tf.nn.conv_transpose(t, TRANSPOSED, [2, 4, 22], 2, "SAME",
                                       data_format="NCW"), (2, 4, 22), 11.562, 1408.69),
    "bias_add": (lambda t: tf.nn.bias_add(t, np.ones(3, "float32"), data_format="NCW"),
                 (2, 3, 11), 66.804, 157.35),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_ncw_ops_match_tensorflow(case):
    op, shape, total, grad_sum = CASES[case]
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = op(x)
        loss = tf.reduce_sum(y * y)
    grad = tape.gradient(loss, x)
    assert tuple(y.shape) == shape
    np.testing.assert_allclose(float(tf.reduce_sum(y)), total, atol=5e-3)
    np.testing.assert_allclose(float(np.abs(np.asarray(grad)).sum()), grad_sum, rtol=1e-4)


def test_max_pool1d_ncw_is_the_nwc_pool_swapped():
    y = tf.nn.max_pool1d(X, 2, 2, "VALID", data_format="NCW")
    nwc = tf.nn.max_pool1d(np.swapaxes(X, 1, 2), 2, 2, "VALID")
    np.testing.assert_array_equal(np.asarray(y), np.swapaxes(np.asarray(nwc), 1, 2))


def test_other_formats_are_refused():
    # TF 2.21 raises ValueError for a conv1d data_format other than NWC/NCW and for a
    # bias_add format neither "N...C" nor "NC..." (its avg_pool1d fails later, in a reshape)
    with pytest.raises(ValueError, match="'NWC' or 'NCW'"):
        tf.nn.conv1d(X, KERNEL, 1, "SAME", data_format="WNC")
    with pytest.raises(ValueError, match="'NWC' or 'NCW'"):
        tf.nn.avg_pool1d(X, 2, 2, "VALID", data_format="CWN")
    with pytest.raises(ValueError, match="'N...C' or 'NC...'"):
        tf.nn.bias_add(X, np.ones(11, "float32"), data_format="WCN")
    # channels last spelled "NWC" is TF's default layout
    np.testing.assert_array_equal(
        np.asarray(tf.nn.bias_add(X, np.ones(11, "float32"), data_format="NWC")), X + 1)
