"""tf.image functions against TensorFlow's numbers (tests/fixtures/make_tf_image.py)."""

from pathlib import Path

import numpy as np
import pytest

import convnp as tf

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tf_image.npz"
Z = np.load(FIXTURE, allow_pickle=False)
x, y, u8, hsv = Z["in/x"], Z["in/y"], Z["in/u8"], Z["in/hsv"]
big_x, big_y = Z["in/big_x"], Z["in/big_y"]
img = tf.image

CASES = {
    "rgb_to_hsv": lambda: img.rgb_to_hsv(x),
    "hsv_to_rgb": lambda: img.hsv_to_rgb(hsv),
    "rgb_to_yuv": lambda: img.rgb_to_yuv(x),
    "yuv_to_rgb": lambda: img.yuv_to_rgb(hsv - 0.5),
    "adjust_saturation_0.4": lambda: img.adjust_saturation(x, 0.4),
    "adjust_saturation_2.5": lambda: img.adjust_saturation(x, 2.5),
    "adjust_saturation_u8": lambda: img.adjust_saturation(u8, 1.7),
    "adjust_hue_0.3": lambda: img.adjust_hue(x, 0.3),
    "adjust_hue_-0.7": lambda: img.adjust_hue(x, -0.7),
    "adjust_contrast_1.7": lambda: img.adjust_contrast(x, 1.7),
    "adjust_contrast_u8": lambda: img.adjust_contrast(u8, 1.7),
    "adjust_brightness_u8": lambda: img.adjust_brightness(u8, 0.3),
    "adjust_gamma_u8": lambda: img.adjust_gamma(u8, 0.5, 1.2),
    "adjust_gamma": lambda: img.adjust_gamma(x, 2.2, 0.9),
    "per_image_standardization": lambda: img.per_image_standardization(x),
    "per_image_standardization_u8": lambda: img.per_image_standardization(u8),
    "per_image_standardization_flat": lambda: img.per_image_standardization(
        np.ones((4, 4, 2), "f4")),
    "central_crop_0.5": lambda: img.central_crop(x, 0.5),
    "central_crop_0.33": lambda: img.central_crop(x[0], 0.33),
    "resize_with_pad_10_6": lambda: img.resize_with_pad(x, 10, 6),
    "resize_with_pad_4_12": lambda: img.resize_with_pad(x[0], 4, 12),
    "resize_with_crop_or_pad_4_12": lambda: img.resize_with_crop_or_pad(x, 4, 12),
    "resize_with_crop_or_pad_10_5": lambda: img.resize_with_crop_or_pad(x[0], 10, 5),
    "rot90_1": lambda: img.rot90(x, 1),
    "rot90_3": lambda: img.rot90(x[0], 3),
    "transpose": lambda: img.transpose(x),
    "extract_patches_same": lambda: img.extract_patches(x, [1, 3, 2, 1], [1, 2, 3, 1],
                                                        [1, 1, 2, 1], "SAME"),
    "extract_patches_valid": lambda: img.extract_patches(x, [1, 2, 3, 1], [1, 1, 2, 1],
                                                         [1, 2, 1, 1], "VALID"),
    "total_variation": lambda: img.total_variation(x),
    "total_variation_single": lambda: img.total_variation(x[0]),
    "sobel_edges": lambda: img.sobel_edges(x),
    "image_gradients_dy": lambda: img.image_gradients(x)[0],
    "image_gradients_dx": lambda: img.image_gradients(x)[1],
    "psnr": lambda: img.psnr(x, y, 1.0),
    "psnr_u8": lambda: img.psnr(u8, (y * 255).round().astype(np.uint8), 255),
    "ssim": lambda: img.ssim(big_x, big_y, 1.0),
    "ssim_filter5": lambda: img.ssim(big_x, big_y, 1.0, filter_size=5, filter_sigma=0.8,
                                     k1=0.02, k2=0.04),
    "ssim_map": lambda: img.ssim(big_x, big_y, 1.0, filter_size=7, return_index_map=True),
    "grayscale_to_rgb": lambda: img.grayscale_to_rgb(x[..., :1]),
}


def test_every_fixture_case_is_checked():
    assert sorted(CASES) == sorted(Z["cases"].tolist())


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_tensorflow(case):
    want = Z[f"out/{case}"]
    got = CASES[case]()
    got = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    if want.dtype.kind in "iu":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5)
