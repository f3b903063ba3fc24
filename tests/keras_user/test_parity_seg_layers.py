"""Layers of keras.io's segmentation models: UpSampling2D with Keras's other interpolations
(DeepLabV3+ upsamples its ASPP features; Keras resizes with keras.ops.image.resize for every
method but nearest).

The expected values are TensorFlow 2.21's for the same calls (run side by side).
"""

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


@pytest.mark.parametrize("interpolation, top_left", [
    ("bicubic", [[0.6898, 0.6212, 0.4122, 0.1175], [0.7395, 0.6882, 0.5330, 0.3139]]),
    ("lanczos3", [[0.7317, 0.5836, 0.3386, 0.0572], [0.8308, 0.7190, 0.5343, 0.3174]]),
    ("lanczos5", [[0.7407, 0.5480, 0.2962, 0.0377], [0.8967, 0.7434, 0.5407, 0.3209]]),
    ("area", [[0.6370, 0.6370, 0.6370, 0.0410], [0.6370, 0.6370, 0.6370, 0.0410]]),
])
def test_upsampling_with_kerass_other_interpolations(interpolation, top_left):
    x = np.random.default_rng(0).random((1, 3, 5, 2)).astype("float32")
    y = keras.layers.UpSampling2D(size=(2, 3), interpolation=interpolation)(x)
    assert y.shape == (1, 6, 15, 2)
    np.testing.assert_allclose(np.asarray(y)[0, :2, :4, 0], top_left, atol=1e-4)


def test_upsampling_interpolation_in_any_case_and_its_gradient():
    x = np.random.default_rng(0).random((1, 3, 5, 2)).astype("float32")
    layer = keras.layers.UpSampling2D(2, interpolation="Bilinear")
    assert layer.get_config()["interpolation"] == "bilinear"  # Keras lowers it
    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = keras.layers.UpSampling2D((2, 3), interpolation="bicubic")(v)
        loss = tf.reduce_sum(y * np.arange(y.shape[2], dtype="float32")[None, None, :, None])
    grad = np.asarray(tape.gradient(loss, v))
    # TensorFlow 2.21's gradient, first row of channel 0
    np.testing.assert_allclose(grad[0, 0, :, 0], [5.722, 24.014, 42.761, 59.940, 80.633],
                               atol=2e-3)


def test_onnx_export_takes_area_and_refuses_methods_it_has_no_mode_for(tmp_path):
    from convnp import onnx

    inputs = keras.Input((4, 4, 2))
    area = keras.Model(inputs, keras.layers.UpSampling2D(2, interpolation="area")(inputs))
    onnx.export(area, str(tmp_path / "area.onnx"))  # enlarging by whole factors: nearest
    inputs = keras.Input((4, 4, 2))
    cubic = keras.Model(inputs, keras.layers.UpSampling2D(2, interpolation="bicubic")(inputs))
    with pytest.raises(ValueError, match="bicubic"):
        onnx.export(cubic, str(tmp_path / "cubic.onnx"))
