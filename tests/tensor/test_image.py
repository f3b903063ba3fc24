"""tf.image: gradients (finite differences), random augmentation, coding and bad input.

Values against TensorFlow are in test_image_tf.py."""

import numpy as np
import pytest

import convnp as tf
from tests.tensor.gradcheck import check

img = tf.image
RNG = np.random.default_rng(3)
X = RNG.random((2, 4, 5, 3))


# -- gradients ---------------------------------------------------------------------------------

WEIGHTS = {}


def _weighted(f):
    """A scalar from ``f``'s output, weighted so every output element matters differently."""
    def scalar(t):
        out = f(t)
        if isinstance(out, tuple):
            out = out[0] * 1.5 + out[1]
        key = tuple(np.shape(out))
        if key not in WEIGHTS:
            WEIGHTS[key] = np.random.default_rng(len(WEIGHTS)).normal(size=key)
        return tf.reduce_sum(out * WEIGHTS[key])
    return scalar


DIFFERENTIABLE = {
    "flip_left_right": lambda t: img.flip_left_right(t),
    "rot90": lambda t: img.rot90(t, 3),
    "transpose": lambda t: img.transpose(t),
    "crop_to_bounding_box": lambda t: img.crop_to_bounding_box(t, 1, 2, 2, 3),
    "pad_to_bounding_box": lambda t: img.pad_to_bounding_box(t, 1, 0, 6, 7),
    "central_crop": lambda t: img.central_crop(t, 0.6),
    "resize_with_crop_or_pad": lambda t: img.resize_with_crop_or_pad(t, 6, 3),
    # the float64 twins of the measures and resizers (the public ones give float32, as
    # TensorFlow, too coarse for finite differences)
    "resize_with_pad": lambda t: img._resize_with_pad(t, 6, 6),
    "random_crop": lambda t: img.stateless_random_crop(t, [2, 3, 3, 3], seed=(4, 5)),
    "random_flip": lambda t: img.stateless_random_flip_left_right(t, seed=(1, 2)),
    "adjust_brightness": lambda t: img.adjust_brightness(t, 0.2),
    "adjust_contrast": lambda t: img.adjust_contrast(t, 1.7),
    "adjust_saturation": lambda t: img.adjust_saturation(t, 0.6),
    "adjust_saturation_clipped": lambda t: img.adjust_saturation(t, 5.0),
    "adjust_gamma": lambda t: img.adjust_gamma(t + 0.5, 1.5, 0.8),
    "per_image_standardization": lambda t: img.per_image_standardization(t),
    "grayscale_to_rgb": lambda t: img.grayscale_to_rgb(t[..., :1]),
    "rgb_to_yuv": lambda t: img.rgb_to_yuv(t),
    "extract_patches": lambda t: img.extract_patches(t, [1, 2, 3, 1], [1, 2, 1, 1],
                                                     [1, 1, 1, 1], "SAME"),
    "total_variation": lambda t: img.total_variation(t),
    "total_variation_single": lambda t: img.total_variation(t[0]),
    "image_gradients": lambda t: img.image_gradients(t),
    "sobel_edges": lambda t: img.sobel_edges(t),
    "psnr": lambda t: img._psnr(t, X * 0.5 + 0.2, 1.0),
    "ssim": lambda t: img._ssim(t, X[::-1], 1.0, filter_size=3),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_gradient_matches_finite_differences(name):
    check(_weighted(DIFFERENTIABLE[name]), X)


def test_hsv_and_hue_have_no_gradient_like_tensorflow():
    t = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(t)
        out = tf.reduce_sum(img.adjust_hue(t, 0.1))
    with pytest.raises(LookupError, match="adjust_hue"):
        tape.gradient(out, t)


# -- formulas and geometry ---------------------------------------------------------------------


def test_flips_and_rotations_by_hand():
    a = np.arange(6, dtype=np.float32).reshape(2, 3, 1)
    # counter-clockwise: the top row's last pixel becomes the top-left one
    np.testing.assert_array_equal(img.rot90(a)[..., 0], [[2, 5], [1, 4], [0, 3]])
    np.testing.assert_array_equal(img.rot90(a, k=4), a)
    np.testing.assert_array_equal(img.transpose(a)[..., 0], [[0, 3], [1, 4], [2, 5]])
    np.testing.assert_array_equal(img.pad_to_bounding_box(a, 1, 1, 3, 5)[..., 0],
                                  [[0, 0, 0, 0, 0], [0, 0, 1, 2, 0], [0, 3, 4, 5, 0]])


def test_adjust_brightness_and_contrast_formulas():
    np.testing.assert_allclose(img.adjust_brightness(X, -0.25), X - 0.25)
    mean = X.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(img.adjust_contrast(X, 0.5), (X - mean) * 0.5 + mean)
    # uint8 images are saturated when converted back
    np.testing.assert_array_equal(img.adjust_brightness(np.array([[[250]]], np.uint8), 0.5),
                                  [[[255]]])


def test_saturation_zero_is_grey_and_one_is_identity():
    grey = img.adjust_saturation(X, 0.0).numpy()
    np.testing.assert_allclose(grey, np.repeat(X.max(-1, keepdims=True), 3, -1))
    np.testing.assert_allclose(img.adjust_saturation(X, 1.0), X, atol=1e-12)


def test_hsv_round_trip_and_hue_full_turn():
    np.testing.assert_allclose(img.hsv_to_rgb(img.rgb_to_hsv(X)), X, atol=1e-12)
    np.testing.assert_allclose(img.adjust_hue(X, 1.0), X, atol=1e-12)
    np.testing.assert_allclose(img.yuv_to_rgb(img.rgb_to_yuv(X)), X, atol=1e-6)


def test_psnr_and_ssim_of_identical_images():
    assert np.all(np.isinf(img.psnr(X, X, 1.0).numpy()))
    np.testing.assert_allclose(img.ssim(X, X, 1.0, filter_size=3), [1.0, 1.0])
    # mse 0.01 on a peak of 1 is 20 dB
    np.testing.assert_allclose(img.psnr(X, X + 0.1, 1.0), [20.0, 20.0], rtol=1e-6)


def test_per_image_standardization_gives_mean_zero_std_one():
    out = img.per_image_standardization(X).numpy()
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1, rtol=1e-10)


# -- random ------------------------------------------------------------------------------------


def test_random_flip_flips_each_image_of_a_batch_on_its_own():
    batch = RNG.random((64, 2, 3, 1))
    out = img.random_flip_left_right(batch, seed=5).numpy()
    flipped = [np.array_equal(o, b[:, ::-1]) for o, b in zip(out, batch)]
    kept = [np.array_equal(o, b) for o, b in zip(out, batch)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 10 < sum(flipped) < 54
    up = img.random_flip_up_down(batch, seed=5).numpy()
    assert all(np.array_equal(o, b) or np.array_equal(o, b[::-1]) for o, b in zip(up, batch))


def test_random_adjustments_stay_in_their_ranges():
    for _ in range(5):
        delta = img.random_brightness(X, 0.2).numpy() - X
        assert np.ptp(delta) < 1e-12 and abs(delta.flat[0]) <= 0.2
        out = img.random_contrast(X, 0.3, 0.6).numpy()
        mean = X.mean(axis=(1, 2), keepdims=True)
        factor = (out - mean) / (X - mean)
        assert 0.3 <= factor.min() and factor.max() < 0.6 and np.ptp(factor) < 1e-9
    hsv_in = img.rgb_to_hsv(X).numpy()
    hsv_out = img.rgb_to_hsv(img.random_saturation(X, 0.5, 0.9)).numpy()
    ratio = hsv_out[..., 1] / hsv_in[..., 1]
    assert 0.5 <= ratio.min() and ratio.max() < 0.9
    np.testing.assert_allclose(hsv_out[..., 2], hsv_in[..., 2], atol=1e-12)
    hue_shift = (img.rgb_to_hsv(img.random_hue(X, 0.1)).numpy()[..., 0] - hsv_in[..., 0]) % 1
    shift = np.minimum(hue_shift, 1 - hue_shift)
    assert shift.max() <= 0.1 + 1e-9


def test_random_crop_is_a_window_of_the_input():
    a = np.arange(5 * 6 * 2).reshape(5, 6, 2)
    for seed in range(6):
        out = img.random_crop(a, [3, 4, 2], seed=seed).numpy()
        top, left = divmod(int(out[0, 0, 0]) // 2, 6)
        np.testing.assert_array_equal(out, a[top:top + 3, left:left + 4])
    with pytest.raises(ValueError, match="does not fit"):
        img.random_crop(a, [6, 4, 2])
    with pytest.raises(ValueError, match="one entry per axis"):
        img.random_crop(a, [3, 4])


def test_stateless_functions_repeat_for_a_seed_and_differ_across_seeds():
    for fn in (lambda s: img.stateless_random_brightness(X, 0.5, s),
               lambda s: img.stateless_random_contrast(X, 0.2, 1.8, s),
               lambda s: img.stateless_random_saturation(X, 0.2, 1.8, s),
               lambda s: img.stateless_random_hue(X, 0.4, s),
               lambda s: img.stateless_random_crop(X, [2, 2, 2, 3], s)):
        np.testing.assert_array_equal(fn((1, 2)), fn((1, 2)))
        assert not np.array_equal(fn((1, 2)), fn((2, 1)))
    outs = {img.stateless_random_flip_up_down(X, (i, 0)).numpy().tobytes() for i in range(8)}
    assert len(outs) > 1


def test_op_seed_gives_a_sequence_that_restarts_with_the_global_seed():
    tf.random.set_seed(11)
    first = [img.random_brightness(X, 0.5, seed=3).numpy() for _ in range(2)]
    assert not np.array_equal(first[0], first[1])
    tf.random.set_seed(11)
    again = [img.random_brightness(X, 0.5, seed=3).numpy() for _ in range(2)]
    np.testing.assert_array_equal(first, again)


def test_augmentation_in_a_dataset_pipeline():
    ds = tf.data.Dataset.from_tensor_slices((X.astype(np.float32), np.arange(2)))

    def augment(image, label):
        image = img.random_flip_left_right(image)
        image = img.random_brightness(image, 0.1)
        image = img.random_contrast(image, 0.8, 1.2)
        return img.resize_with_crop_or_pad(image, 6, 6), label

    batches = list(ds.map(augment).batch(2))
    assert batches[0][0].shape == (2, 6, 6, 3)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, match", [
    (lambda: img.random_brightness(X, -0.1), ValueError, "max_delta"),
    (lambda: img.random_contrast(X, 0.9, 0.5), ValueError, "upper must be > lower"),
    (lambda: img.random_saturation(X, -0.5, 0.5), ValueError, "lower must be non-negative"),
    (lambda: img.random_hue(X, 0.6), ValueError, r"\[0, 0.5\]"),
    (lambda: img.adjust_hue(X, 1.5), ValueError, "delta"),
    (lambda: img.adjust_gamma(X, -1), ValueError, "gamma"),
    (lambda: img.central_crop(X, 0.0), ValueError, "central_fraction"),
    (lambda: img.crop_to_bounding_box(X, 2, 0, 3, 5), ValueError, "does not fit"),
    (lambda: img.pad_to_bounding_box(X, 0, 0, 3, 5), ValueError, "does not fit"),
    (lambda: img.crop_to_bounding_box(X, 0.5, 0, 3, 5), TypeError, "offset_height"),
    (lambda: img.rot90(X[0, 0]), ValueError, r"\(h, w, c\)"),
    (lambda: img.rgb_to_hsv(X[..., :2]), ValueError, "3 channels"),
    (lambda: img.rgb_to_hsv((X * 255).astype(np.uint8)), TypeError, "float"),
    (lambda: img.grayscale_to_rgb(X), ValueError, "1 channel"),
    (lambda: img.image_gradients(X[0]), ValueError, r"\(m, h, w, c\)"),
    (lambda: img.ssim(X, X, 1.0), ValueError, "filter_size"),
    (lambda: img.psnr(X, X[:, :2], 1.0), ValueError, "same shape"),
    (lambda: img.extract_patches(X, [2, 2], [1, 1, 1, 1], [1, 1, 1, 1], "SAME"), ValueError,
     "sizes"),
    (lambda: img.extract_patches(X, [1, 2, 2, 1], [1, 1, 1, 1], [1, 1, 1, 1], "FULL"),
     ValueError, "padding"),
    (lambda: img.stateless_random_flip_left_right(X, seed=3), ValueError, "shape \\[2\\]"),
    (lambda: img.encode_png(X[0]), TypeError, "uint8"),
])
def test_bad_input_is_refused_with_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- coding ------------------------------------------------------------------------------------


def test_encode_png_round_trips_through_decode_png(tmp_path):
    pytest.importorskip("PIL")
    pixels = (RNG.random((5, 7, 3)) * 255).astype(np.uint8)
    for image in (pixels, pixels[..., :1], np.concatenate([pixels, pixels[..., :1]], -1)):
        data = img.encode_png(image)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        np.testing.assert_array_equal(img.decode_png(data), image)
    tf.io.write_file(str(tmp_path / "a.png"), img.encode_png(pixels))
    np.testing.assert_array_equal(img.decode_png(tf.io.read_file(str(tmp_path / "a.png"))),
                                  pixels)


def test_encode_jpeg_is_close_to_the_image():
    pytest.importorskip("PIL")
    smooth = np.tile(np.linspace(0, 255, 16, dtype=np.uint8)[None, :, None], (16, 1, 3))
    data = img.encode_jpeg(smooth, quality=95)
    assert data[:2] == b"\xff\xd8"
    back = img.decode_jpeg(data).numpy().astype(int)
    assert np.abs(back - smooth).max() <= 8


def test_resize_method_names():
    assert img.ResizeMethod.BILINEAR == "bilinear"
    assert img.resize(X, (2, 2), method=img.ResizeMethod.NEAREST_NEIGHBOR).shape == (2, 2, 2, 3)
    assert img.resize(X, (2, 2), method=img.ResizeMethod.BICUBIC).shape == (2, 2, 2, 3)
    with pytest.raises(ValueError):
        img.resize(X, (2, 2), method="cubic")
