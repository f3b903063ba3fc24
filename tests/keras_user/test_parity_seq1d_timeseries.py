"""``keras.utils.timeseries_dataset_from_array`` on Python lists: TF 2.21 converts them as
``tf.convert_to_tensor`` does (floats to float32, ints to int32); convnp gave NumPy's
float64/int64 batches."""

import numpy as np

import convnp as tf


def test_python_lists_convert_as_tensorflow_converts_them():
    data = np.arange(60, dtype="float32").reshape(30, 2)
    x, y = next(iter(tf.keras.utils.timeseries_dataset_from_array(
        data.tolist(), list(range(30)), sequence_length=5, batch_size=4)))
    # TF 2.21: float32 windows, int32 targets
    assert x.dtype == tf.float32 and tuple(x.shape) == (4, 5, 2)
    assert y.dtype == tf.int32 and y.numpy().tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(x.numpy()[1], data[1:6])
    # arrays keep their dtype, as in TF (int64 data stays int64)
    ints = next(iter(tf.keras.utils.timeseries_dataset_from_array(
        np.arange(30), None, sequence_length=4)))
    assert ints.dtype == tf.int64 and tuple(ints.shape) == (27, 4)
