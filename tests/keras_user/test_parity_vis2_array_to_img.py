"""``keras.utils.array_to_img`` as Grad-CAM's superimposition uses it: the array is converted
to float32 (Keras's floatx) and scaled in float32 before the pixels are truncated, so values
just under an integer stay under it; one channel beyond 255 (``scale=False``) is a 32-bit "I"
image. The pixels below are TF 2.21's (Keras 3)."""

import numpy as np
import pytest

from convnp import keras

pytest.importorskip("PIL")


def test_scaling_happens_in_float32_as_keras():
    a = np.array([0.0, 0.9, 1.3, 25.5, 0.0, 0.0]).reshape(1, 2, 3)  # float64 input
    assert np.asarray(keras.utils.array_to_img(a)).tolist() == [[[0, 8, 12], [255, 0, 0]]]
    # a float64 dtype asked for scales in float64
    assert np.asarray(keras.utils.array_to_img(a, dtype="float64")).tolist() == \
        [[[0, 9, 13], [255, 0, 0]]]


def test_gradcam_superimposition_pixels():
    heat = np.array([[0.0, 0.5], [1.0, 0.25]])
    t = np.linspace(0, 1, 256)
    colors = np.stack([t, 1 - t, np.abs(0.5 - t)], axis=1)  # a stand-in for jet's colors
    jet = keras.utils.array_to_img(colors[np.uint8(255 * heat)]).resize((4, 4))
    jet = keras.utils.img_to_array(jet)
    img = np.arange(48, dtype="float32").reshape(4, 4, 3) * 5
    superimposed = keras.utils.array_to_img(jet * 0.4 + img)
    assert np.asarray(superimposed).ravel().tolist() == [
        0, 86, 52, 14, 95, 52, 56, 77, 38, 83, 75, 44, 65, 117, 100, 81, 125, 101, 104, 126,
        92, 122, 132, 96, 161, 117, 147, 165, 138, 152, 153, 173, 150, 153, 198, 155, 226, 148,
        195, 231, 168, 202, 202, 221, 203, 193, 255, 209]


def test_one_channel_beyond_255_is_an_int32_image():
    g = np.array([[[0.0], [300.0]], [[70000.0], [5.0]]])
    image = keras.utils.array_to_img(g, scale=False)
    assert image.mode == "I"
    assert np.asarray(image).tolist() == [[0, 300], [70000, 5]]
    back = keras.utils.img_to_array(image)
    assert back.dtype == np.float32 and back[:, :, 0].tolist() == [[0, 300], [70000, 5]]
